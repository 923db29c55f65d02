"""The scores of the top-k test servers (huggingface.py, torchserve.py): eight labels, top five answered.

The first four are the reference tagger's band levels (taggers/reference.py: low, mid, high,
loud), so tone stems keep their known answers; the other four are small fixed scores, as a
classifier gives the classes it does not hear. Answering only the top five of the eight then
leaves out whatever band is (nearly) silent: `low` is missing from every answer to a mix without
the bass, and present whenever the bass sounds (0.1 and more, above every fixed score).
"""
from __future__ import annotations

import io
import threading
from collections import Counter

import numpy as np
import soundfile

from taggers.reference import LABELS as BANDS, band_levels

FIXED = {"speech": 0.04, "noise": 0.03, "birdsong": 0.02, "applause": 0.01}
LABELS = (*BANDS, *FIXED)
TOP_K = 5


class NotAudio(ValueError):
    """The body is not an audio file libsndfile reads."""


def scores(audio: bytes) -> dict[str, float]:
    """Every label's score for one audio file (any format libsndfile reads)."""
    try:
        waveform, sample_rate = soundfile.read(io.BytesIO(audio), dtype="float64", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError, TypeError) as exc:
        raise NotAudio(f"not an audio file: {exc}") from exc
    if not len(waveform):
        raise NotAudio("the audio file has no samples")
    return {**dict(zip(BANDS, band_levels(waveform.mean(axis=1), sample_rate))), **FIXED}


def top(all_scores: dict[str, float], k: int = TOP_K) -> list[tuple[str, float]]:
    """The k best (label, score) pairs, best first (ties in label order)."""
    ranked = sorted(enumerate(all_scores.items()), key=lambda item: (-item[1][1], item[0]))
    return [pair for _, pair in ranked[:k]]


class Counts:
    """What /stats reports: requests, answered clips, and per label the answers that left it out."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests = self.clips = 0
        self.statuses: Counter = Counter()
        self.content_types: Counter = Counter()
        self.left_out: Counter = Counter()

    def arrive(self, content_type: str | None) -> None:
        with self._lock:
            self.requests += 1
            self.content_types[content_type or ""] += 1

    def answered(self, status: int, named: list[str] | None = None) -> None:
        with self._lock:
            self.statuses[str(status)] += 1
            if named is not None:
                self.clips += 1
                self.left_out.update(label for label in LABELS if label not in named)

    def snapshot(self) -> dict:
        with self._lock:
            return {"requests": self.requests, "clips": self.clips, "statuses": dict(self.statuses),
                    "content_types": dict(self.content_types), "left_out": dict(self.left_out)}


def clip_scores(waveform: np.ndarray, sample_rate: int) -> dict[str, float]:
    """`scores` of a waveform, for tests that compute the expected answer."""
    buffer = io.BytesIO()
    soundfile.write(buffer, waveform, sample_rate, format="WAV", subtype="FLOAT")
    return scores(buffer.getvalue())
