"""Time segments: the τ axis of the interpretable components."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .errors import InvalidOptionError

MAX_DEFAULT_SEGMENTS = 10


@dataclass(frozen=True)
class Segment:
    index: int
    start: int  # first sample
    end: int  # one past the last sample
    sample_rate: int

    @property
    def start_seconds(self) -> float:
        return self.start / self.sample_rate

    @property
    def end_seconds(self) -> float:
        return self.end / self.sample_rate


def default_segment_count(n_samples: int, sample_rate: int) -> int:
    """About one segment per second, at most ten (audioLIME's own default)."""
    return max(1, min(MAX_DEFAULT_SEGMENTS, round(n_samples / sample_rate)))


def equal_segments(n_samples: int, sample_rate: int, count: int | None = None) -> list[Segment]:
    if count is None:
        count = default_segment_count(n_samples, sample_rate)
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise InvalidOptionError(f"segment count must be a positive integer, got {count!r}")
    if count > n_samples:
        raise InvalidOptionError(f"cannot cut {n_samples} samples into {count} segments")
    edges = [round(i * n_samples / count) for i in range(count + 1)]
    return [Segment(i, edges[i], edges[i + 1], sample_rate) for i in range(count)]


def segments_from_boundaries(
    boundaries: Sequence[float], n_samples: int, sample_rate: int
) -> list[Segment]:
    """Segments cut at the given inner boundaries, in seconds (0 and the end are implied)."""
    duration = n_samples / sample_rate
    inner = [float(b) for b in boundaries]
    if any(not 0.0 < b < duration for b in inner):
        raise InvalidOptionError(
            f"segment boundaries must lie strictly inside the audio (0, {duration:.3f}) s, got {inner}"
        )
    if any(later <= earlier for earlier, later in zip(inner, inner[1:])):
        raise InvalidOptionError(f"segment boundaries must be strictly increasing, got {inner}")
    edges = [0] + [round(b * sample_rate) for b in inner] + [n_samples]
    if any(b <= a for a, b in zip(edges, edges[1:])):
        raise InvalidOptionError("segment boundaries are closer than one sample")
    return [Segment(i, edges[i], edges[i + 1], sample_rate) for i in range(len(edges) - 1)]


def rescale(segments: Sequence[Segment], n_samples: int, sample_rate: int) -> list[Segment]:
    """The same time spans at another sample rate (for a tagger that wants one)."""
    edges = [0] + [round(s.end_seconds * sample_rate) for s in segments[:-1]] + [n_samples]
    return [Segment(s.index, edges[i], edges[i + 1], sample_rate) for i, s in enumerate(segments)]
