"""Reading `POST /studies`: the study request and every clip checked, before anything is stored.

Each clip is checked as an upload to POST /explanations is (service.submission), one at a time
in constant memory: the parser keeps large uploads in temporary files, and a clip's bytes are
read into memory only while it is checked, and again while its jobs are created.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Request
from werkzeug.datastructures import FileStorage

from backend.config import Settings
from backend.store import Store
from backend.studies import StudyRequest, check_clip_count, check_clip_names
from backend.tagger.netguard import NetworkPolicy, check_url
from engine.errors import InvalidInputError
from service.problems import Problem
from service.submission import audio_info, check_fits_audio, check_separator_model, read_request_json

PARTS = ("request", "clips")


@dataclass(frozen=True)
class Clip:
    name: str  # its part's file name, or the id of the earlier explanation it comes from
    size: int  # bytes
    seconds: float
    read: Callable[[], bytes | None]  # its audio again (None: an earlier explanation's audio went meanwhile)


@dataclass(frozen=True)
class StudySubmission:
    request: StudyRequest
    clips: list[Clip]
    secret: dict  # the tagger headers, kept apart from everything stored in the clear

    @property
    def size(self) -> int:
        return sum(clip.size for clip in self.clips)


def read_study(http: Request, settings: Settings, policy: NetworkPolicy, store: Store, owner: str) -> StudySubmission:
    if http.mimetype != "multipart/form-data":
        raise Problem(415, "Unsupported media type", "send multipart/form-data with a `request` JSON part and "
                      "one `clips` file part per clip")
    _check_parts(http)
    study = StudyRequest.from_dict(read_request_json(http), settings)
    check_url(study.explanation.tagger.url, policy)
    for job_request in study.job_requests():
        check_separator_model(job_request.separator, settings)
    uploads = http.files.getlist("clips")
    if not uploads and not study.explanations:
        raise Problem(400, "Missing clips", "a study needs at least one clip: send one `clips` file part per clip "
                      "(its file name names the clip), or name earlier explanations in `explanations`")
    check_clip_count(len(uploads) + len(study.explanations), settings)
    check_clip_names([upload.filename or "" for upload in uploads] + list(study.explanations))
    clips = [_upload(upload, study, settings) for upload in uploads]
    clips += [_earlier(job_id, study, settings, store, owner) for job_id in study.explanations]
    headers = dict(study.explanation.tagger.headers)
    return StudySubmission(study, clips, {"headers": headers} if headers else {})


def _check_parts(http: Request) -> None:
    if "clips" in http.form:
        raise Problem(400, "Invalid clips", "each `clips` part must be a file, with a file name that names the clip "
                      "(Content-Disposition: form-data; name=\"clips\"; filename=\"…\")")
    unknown = sorted((set(http.files) | set(http.form)) - set(PARTS))
    if unknown:
        raise Problem(400, "Unknown parts", f"unknown multipart parts {unknown}: a study takes a `request` part and "
                      "one `clips` file part per clip")


def _upload(upload: FileStorage, study: StudyRequest, settings: Settings) -> Clip:
    name, stream = upload.filename, upload.stream
    stream.seek(0, 2)
    size = stream.tell()
    if size > settings.max_upload_bytes:
        raise Problem(413, "Clip too large", f"clip {name!r} is {size:,} bytes; a clip may be at most "
                      f"{settings.max_upload_bytes:,} bytes (AUDIOLIME_MAX_UPLOAD_BYTES), as an upload to "
                      "POST /explanations")
    seconds = _checked(name, _read(upload), study, settings)
    return Clip(name, size, seconds, lambda: _read(upload))


def _read(upload: FileStorage) -> bytes:
    upload.stream.seek(0)
    return upload.stream.read()


def _earlier(job_id: str, study: StudyRequest, settings: Settings, store: Store, owner: str) -> Clip:
    audio = store.audio(job_id) if store.owned_record(job_id, owner) else None
    if audio is None:
        raise Problem(422, "Explanation not available", f"`explanations`: {job_id!r} is not an explanation of this "
                      "API key whose audio is still stored (it may have expired, been cancelled or deleted)")
    seconds = _checked(job_id, audio, study, settings)
    return Clip(job_id, len(audio), seconds, lambda: store.audio(job_id))


def _checked(name: str, audio: bytes, study: StudyRequest, settings: Settings) -> float:
    """What POST /explanations would refuse about this audio, refused naming the clip; its duration."""
    try:
        info = audio_info(audio, settings)
        for job_request in study.job_requests():
            check_fits_audio(job_request, info)
    except InvalidInputError as exc:
        raise type(exc)(f"clip {name!r}: {exc}") from exc
    return info.seconds
