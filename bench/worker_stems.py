"""Stems as a worker makes them, for the benchmarks that ask the real tagger about real clips.

The separator is built from the registry as a worker builds it (backend/separators.py and
worker/separators.py: `spleeter:2stems+hpss` refines the process's own 2stems), and its stems
go through FLAC and back as the worker stores them, so a benchmark's mixes are the service's.
Spleeter is the slow part: the stems are kept in bench/output/stems by the clip's samples and
the separator's name, and a rerun reads them back.

    sources, stems = worker_stems(waveform, rate, "spleeter:2stems+hpss")   # stems: name -> FLAC bytes
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STEMS = ROOT / "bench" / "output" / "stems"
MODEL_DIR = Path(os.environ.get("AUDIOLIME_MODEL_DIR", ROOT / "models")).resolve()


def worker_stems(waveform: np.ndarray, rate: int, separator: str = "spleeter:2stems"):
    """(Sources, {name: FLAC bytes}) of the clip, separated as a worker would."""
    from backend.stems import flac_round_trip, sources_from_flac  # noqa: PLC0415

    cache = STEMS / f"{separator.replace(':', '-')}-{_digest(waveform, rate, separator)}.npz"
    if cache.is_file():
        with np.load(cache) as data:
            stems = {name: data[name].tobytes() for name in data.files}
        return sources_from_flac(stems), stems
    sources, stems = flac_round_trip(_separator(separator).separate(waveform, rate))
    STEMS.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **{name: np.frombuffer(data, dtype=np.uint8) for name, data in stems.items()})
    return sources, stems


def _digest(waveform: np.ndarray, rate: int, separator: str) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(waveform, dtype=np.float32).tobytes())
    digest.update(f"{rate}:{separator}".encode())
    return digest.hexdigest()[:16]


def _separator(name: str):
    os.environ.setdefault("MODEL_PATH", str(MODEL_DIR))  # spleeter reads it at import time
    from backend import separators  # noqa: PLC0415
    from backend.config import Settings  # noqa: PLC0415

    settings, built = replace(Settings.from_env(), model_dir=MODEL_DIR), {}

    def separator(other: str):
        if other not in built:
            built[other] = separators.factory(other)(settings, other, separator)
        return built[other]

    return separator(name)
