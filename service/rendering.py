"""Audio a listener downloads: stems, single components and top-k explanation mixes.

Rebuilt from the stored stems with the engine, so what is heard is exactly what
the tagger heard (before the tagger's own resampling).
"""
from __future__ import annotations

import numpy as np
from flask import Response, request

from engine.codec import MEDIA_TYPES, Encoding, decode, encode
from engine.components import Factorization
from engine.mixing import Mixer
from engine.pipeline import factorize
from engine.selfcheck import top_components
from service.lru import LRU
from service.problems import Problem
from backend.stems import sources_from_flac
from backend.job_request import settings_from_public
from backend.store import Stage, Store

FORMATS = {"wav": Encoding.WAV16, "flac": Encoding.FLAC}
_FACTORIZATIONS: LRU[Factorization] = LRU(4)  # a listener clicks through one job's components


def requested_encoding() -> Encoding:
    name = request.args.get("format")
    if name is None:
        name = "flac" if "audio/flac" in request.headers.get("Accept", "") else "wav"
    if name not in FORMATS:
        raise Problem(400, "Invalid parameter", f"`format` must be one of {sorted(FORMATS)}, got {name!r}")
    return FORMATS[name]


def audio_response(waveform: np.ndarray, sample_rate: int, filename: str) -> Response:
    encoding = requested_encoding()
    extension = "flac" if encoding is Encoding.FLAC else "wav"
    return Response(encode(waveform, sample_rate, encoding), mimetype=MEDIA_TYPES[encoding],
                    headers={"Content-Disposition": f'inline; filename="{filename}.{extension}"',
                             "Cache-Control": "private, max-age=3600",
                             "Vary": "Authorization, Accept"})  # each key's audio, in the format asked for


def factorization(store: Store, record: dict) -> Factorization:
    """The job's components, rebuilt once per process from its stems; none once the job was cancelled
    (its audio is deleted, and this process's copy must not outlive it)."""
    job_id = record["id"]
    if record["stage"] == Stage.CANCELLED.value:
        _FACTORIZATIONS.pop(job_id)
        raise Problem(404, "Not found", "the audio of this explanation was deleted (it was cancelled)")
    cached = _FACTORIZATIONS.get(job_id)
    if cached is None:
        stems = store.stems(job_id)
        audio = store.audio(job_id)
        if not stems or audio is None:
            raise Problem(409, "Not ready", "the stems of this explanation are not available yet")
        waveform, sample_rate = decode(audio)
        cached = factorize(waveform, sample_rate, sources_from_flac(stems), settings_from_public(record["request"]))
        _FACTORIZATIONS.put(job_id, cached)
    return cached


def mix_of(f: Factorization, components: list[int], request_settings: dict, keep: bool = True) -> np.ndarray:
    """The mix of these components alone (keep), or of every other one, switched off as the job's
    check phase did (`check_off`, read as the worker reads it): what the tagger heard of that mix."""
    mask = np.full((1, f.n_components), not keep, dtype=bool)
    mask[0, components] = keep
    return Mixer(f, settings_from_public(request_settings).check_off).mix(mask)[0]


def top_k_mix(f: Factorization, weights: list[float], k: int, request_settings: dict) -> tuple[np.ndarray, list[int]]:
    chosen = top_components(np.asarray(weights), k)
    return mix_of(f, chosen, request_settings), chosen
