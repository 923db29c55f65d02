"""Reading `POST /explanations`: everything is checked here, before anything is queued."""
from __future__ import annotations

import json
from dataclasses import dataclass

from flask import Request

from engine.audio import check_sample_rate
from engine.codec import decode
from engine.pipeline import segments_for
from engine.errors import InvalidAudioError, InvalidOptionError, InvalidSourcesError, ModelMissingError
from service.problems import Problem
from worker.config import Settings
from worker.job_request import PROVIDED, JobRequest, LimitError
from worker.spleeter_models import check_model
from worker.tagger.netguard import NetworkPolicy, check_url

STEM_PREFIX = "stem."


@dataclass(frozen=True)
class Submission:
    request: JobRequest
    audio: bytes
    stems: dict[str, bytes]
    duration: float
    secret: dict  # the tagger headers, kept apart from everything stored in the clear


def read_submission(http: Request, settings: Settings, policy: NetworkPolicy) -> Submission:
    if http.mimetype != "multipart/form-data":
        raise Problem(415, "Unsupported media type", "send multipart/form-data with an `audio` file and a "
                      "`request` JSON part")
    job_request, headers = _job_request(http, settings)
    check_url(job_request.tagger.url, policy)
    audio = _file(http, "audio")
    waveform, sample_rate = decode(audio)
    _check_fits_audio(job_request, waveform, sample_rate)
    duration = len(waveform) / sample_rate
    if duration > settings.max_duration_seconds:
        raise LimitError(f"the audio is {duration:.1f} s long; this service takes at most "
                         f"{settings.max_duration_seconds:.0f} s")
    stems = _stems(http, job_request.separator, waveform, sample_rate, settings)
    if job_request.separator != PROVIDED:
        _check_separator_model(job_request.separator, settings)
    return Submission(job_request, audio, stems, duration, {"headers": headers} if headers else {})


def _check_fits_audio(job_request: JobRequest, waveform, sample_rate: int) -> None:
    """What the worker would refuse about this audio, refused now instead."""
    try:
        check_sample_rate(sample_rate)
    except InvalidOptionError as exc:
        raise InvalidAudioError(f"the audio's sample rate is not supported: {exc}") from exc
    segments_for(job_request.settings, len(waveform), sample_rate)


def _job_request(http: Request, settings: Settings) -> tuple[JobRequest, dict]:
    part = http.files.get("request")
    raw = part.read() if part else http.form.get("request")
    if not raw:
        raise Problem(400, "Missing request", "the multipart part `request` (JSON settings: tagger, separator, "
                      "samples…) is required")
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "Malformed JSON", f"the `request` part is not valid JSON: {exc}") from exc
    request = JobRequest.from_dict(data, settings)
    return request, dict(request.tagger.headers)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _file(http: Request, name: str) -> bytes:
    upload = http.files.get(name)
    if upload is None:
        raise Problem(400, "Missing audio", f"the multipart file `{name}` is required")
    return upload.read()


def _stems(http: Request, separator: str, waveform, sample_rate: int, settings: Settings) -> dict[str, bytes]:
    names = [n for n in http.files if n.startswith(STEM_PREFIX)]
    if separator != PROVIDED:
        if names:
            raise InvalidOptionError(f"stems ({', '.join(names)}) are only used with separator 'provided'")
        return {}
    if not names:
        raise InvalidSourcesError("separator 'provided' needs at least one stem file, as parts named `stem.<name>`")
    if len(names) > settings.max_stems:
        raise LimitError(f"{len(names)} stems sent; this service takes at most {settings.max_stems}")
    stems = {}
    for name in names:
        data = http.files[name].read()
        try:
            stem, rate = decode(data)
        except InvalidAudioError as exc:
            raise InvalidSourcesError(f"stem {name!r}: {exc}") from exc
        if rate != sample_rate or stem.shape != waveform.shape:
            raise InvalidSourcesError(
                f"stem {name!r} is {len(stem)} frames × {stem.shape[1]} channels at {rate} Hz; the mixture is "
                f"{len(waveform)} × {waveform.shape[1]} at {sample_rate} Hz; stems must match it exactly")
        stems[name[len(STEM_PREFIX):]] = data
    return stems


def _check_separator_model(separator: str, settings: Settings) -> None:
    try:
        check_model(settings.model_dir, separator.split(":", 1)[1])
    except ModelMissingError as exc:
        raise Problem(422, "Separator not available", str(exc)) from exc
