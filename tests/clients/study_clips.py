"""The studies' known-answer clips for the client tests (tests/integration/test_studies.py's).

Each clip: clicks throughout (HPSS's `percussive`) and a 110 Hz tone in the middle second only
(`harmonic`). Told only low, mid and high, the reference tagger's `low` is then explained by
harmonic × segment 1 in every clip, and that component alone keeps `low` on top.
"""
from __future__ import annotations

from pathlib import Path

from tests.integration.test_studies import RATE, clip_audio

SEGMENTS, SAMPLES = 3, 64


def write_clips(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"clip-{i}.wav"
        path.write_bytes(clip_audio(i))
        paths.append(path)
    return paths


def request(tagger_url: str, **overrides) -> dict:
    """submit_study's keywords for the known answer."""
    settings = dict(tagger={"url": tagger_url, "sample_rate": RATE, "batch_size": 16}, separator="hpss",
                    segments=SEGMENTS, fixed=SAMPLES, tags=["low"])
    settings.update(overrides)
    return settings
