"""Reading `POST /explanations`: everything is checked here, before anything is queued."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from flask import Request

from engine.audio import check_sample_rate
from engine.codec import AudioInfo, AudioTooLongError, header_info, probe
from engine.pipeline import segments_for
from engine.errors import InvalidAudioError, InvalidOptionError, InvalidSourcesError
from service.problems import Problem
from backend.config import Settings
from backend.job_request import PROVIDED, JobRequest, LimitError
from backend import separators
from backend.tagger.netguard import NetworkPolicy, check_url

STEM_PREFIX = "stem."
STEM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a stem name is a link path segment and a file name
MAX_CHANNELS = 2  # what separators and taggers take (stereo is down-mixed for mono taggers)
MAX_JSON_DEPTH = 32  # objects and arrays within one another in `request`; real requests use 3


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
    job_request = JobRequest.from_dict(read_request_json(http), settings)
    headers = dict(job_request.tagger.headers)
    check_url(job_request.tagger.url, policy)
    audio = _file(http, "audio")
    info = audio_info(audio, settings)
    check_fits_audio(job_request, info)
    stems = _stems(http, job_request.separator, info, settings)
    if job_request.separator != PROVIDED:
        check_separator_model(job_request.separator, settings)
    return Submission(job_request, audio, stems, info.seconds, {"headers": headers} if headers else {})


def audio_info(audio: bytes, settings: Settings) -> AudioInfo:
    """Length, rate and channels, read through once in constant memory: the API never holds the samples,
    and a header promising more than the duration limit is refused before anything is decoded."""
    _check_format(header_info(audio), settings)
    try:
        info = probe(audio, settings.max_duration_seconds)
    except AudioTooLongError as exc:
        raise LimitError(str(exc)) from exc
    if info.seconds < settings.min_duration_seconds:
        raise InvalidAudioError(f"the audio is {info.seconds:.3g} s long; this service needs at least "
                                f"{settings.min_duration_seconds:g} s")
    return info


def _check_format(header: AudioInfo, settings: Settings) -> None:
    """Rate and channels bound what the worker must hold (duration × rate × channels): refused from the
    header, before the file is read through."""
    if header.sample_rate > settings.max_sample_rate:
        raise LimitError(f"the audio's sample rate is {header.sample_rate} Hz; this service takes at most "
                         f"{settings.max_sample_rate} Hz (resample it first)")
    if header.channels > MAX_CHANNELS:
        raise LimitError(f"the audio has {header.channels} channels; this service takes mono or stereo")


def check_fits_audio(job_request: JobRequest, info: AudioInfo) -> None:
    """What the worker would refuse about this audio, refused now instead."""
    try:
        check_sample_rate(info.sample_rate)
    except InvalidOptionError as exc:
        raise InvalidAudioError(f"the audio's sample rate is not supported: {exc}") from exc
    segments_for(job_request.settings, info.frames, info.sample_rate)


def read_request_json(http: Request) -> dict:
    """The `request` part (a file or a form field), parsed: 400 when missing, malformed or nested too deeply."""
    part = http.files.get("request")
    raw = part.read() if part else http.form.get("request")
    if not raw:
        raise Problem(400, "Missing request", "the multipart part `request` (JSON settings: tagger, separator, "
                      "samples…) is required")
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:  # deeper than the parser goes
        raise _nested_too_deeply() from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "Malformed JSON", f"the `request` part is not valid JSON: {exc}") from exc
    if _depth(data) > MAX_JSON_DEPTH:
        raise _nested_too_deeply()
    return data


def _nested_too_deeply() -> Problem:
    return Problem(400, "Request nested too deeply", f"the `request` part is nested too deeply: at most "
                   f"{MAX_JSON_DEPTH} levels of objects and arrays are allowed")


def _depth(value) -> int:
    """How many objects and arrays deep `value` goes, counted without recursion (and up to the limit + 1)."""
    deepest, pending = 0, [(value, 1)]
    while pending and deepest <= MAX_JSON_DEPTH:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _file(http: Request, name: str) -> bytes:
    upload = http.files.get(name)
    if upload is None:
        raise Problem(400, "Missing audio", f"the multipart file `{name}` is required")
    return upload.read()


def _stems(http: Request, separator: str, mixture: AudioInfo, settings: Settings) -> dict[str, bytes]:
    names = [n for n in http.files if n.startswith(STEM_PREFIX)]
    if separator != PROVIDED:
        if names:
            raise InvalidOptionError(f"stems ({', '.join(names)}) are only used with separator 'provided'")
        return {}
    if not names:
        raise InvalidSourcesError("separator 'provided' needs at least one stem file, as parts named `stem.<name>`")
    if len(names) > settings.max_stems:
        raise LimitError(f"{len(names)} stems sent; this service takes at most {settings.max_stems}")
    for name in names:
        if not STEM_NAME.fullmatch(name[len(STEM_PREFIX):]):
            raise InvalidSourcesError(f"stem part {name!r}: a stem name (after `stem.`) must be 1 to 64 letters, "
                                      "digits, `_` or `-`, as in `stem.vocals`")
    return {name[len(STEM_PREFIX):]: _stem(name, http.files[name].read(), mixture, settings) for name in names}


def _stem(name: str, data: bytes, mixture: AudioInfo, settings: Settings) -> bytes:
    """One stem, read through like the mixture; it must match the mixture exactly."""
    try:
        _check_format(header_info(data), settings)
        stem = probe(data, settings.max_duration_seconds)
    except InvalidAudioError as exc:
        raise InvalidSourcesError(f"stem {name!r}: {exc}") from exc
    if stem != mixture:
        raise InvalidSourcesError(
            f"stem {name!r} is {stem.frames} frames × {stem.channels} channels at {stem.sample_rate} Hz; the "
            f"mixture is {mixture.frames} × {mixture.channels} at {mixture.sample_rate} Hz; stems must match it "
            "exactly")
    return data


def check_separator_model(separator: str, settings: Settings) -> None:
    missing = separators.kind(separator).missing(settings)
    if missing:
        raise Problem(422, "Separator not available", missing)
