"""Interpretable components: every source cut into every time segment.

Component i is source i // τ in segment i % τ. Segment windows overlap by a
short raised-cosine crossfade and sum to one everywhere, so switching a
component off never clicks and all components on give back Σ sources exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidOptionError
from .segments import Segment, rescale
from .sources import Sources

DEFAULT_FADE_SECONDS = 0.005
MAX_FADE_SECONDS = 0.1


@dataclass(frozen=True)
class Component:
    index: int
    source: str
    segment: int
    start: float  # seconds
    end: float

    @property
    def name(self) -> str:
        return f"{self.source}[{self.start:.2f}-{self.end:.2f}s]"

    def to_dict(self) -> dict:
        return {"index": self.index, "name": self.name, "source": self.source,
                "segment": self.segment, "start": self.start, "end": self.end}


@dataclass(frozen=True, eq=False)
class Block:
    """The windowed audio of all sources over one segment's span (with fades)."""
    segment: int
    start: int
    stop: int
    audio: np.ndarray  # (C, stop - start, channels)


class Factorization:
    """Sources × segments, ready to be mixed under masks."""

    def __init__(self, sources: Sources, segments: list[Segment], fade_seconds: float = DEFAULT_FADE_SECONDS):
        if not segments:
            raise InvalidOptionError("at least one segment is needed")
        if segments[0].start != 0 or segments[-1].end != sources.n_samples:
            raise InvalidOptionError("segments must cover the sources from first to last sample")
        if not 0.0 <= fade_seconds <= MAX_FADE_SECONDS:
            raise InvalidOptionError(f"fade must be 0 to {MAX_FADE_SECONDS} s, got {fade_seconds}")
        self.sources = sources
        self.segments = list(segments)
        self.fade_seconds = fade_seconds
        self.components = [
            Component(s * len(segments) + seg.index, name, seg.index, seg.start_seconds, seg.end_seconds)
            for s, name in enumerate(sources.names)
            for seg in segments
        ]
        self.blocks = self._build_blocks()

    @property
    def n_components(self) -> int:
        return len(self.components)

    @property
    def sample_rate(self) -> int:
        return self.sources.sample_rate

    def columns(self, segment: int) -> np.ndarray:
        """Indices of the components that live in one segment (one per source)."""
        return np.arange(len(self.sources.names)) * len(self.segments) + segment

    def conform(self, sample_rate: int, channels: int) -> "Factorization":
        sources = self.sources.conform(sample_rate, channels)
        segments = rescale(self.segments, sources.n_samples, sample_rate)
        return Factorization(sources, segments, self.fade_seconds)

    def component_audio(self, index: int) -> np.ndarray:
        """One component as a full-length waveform, silent outside its segment."""
        if not 0 <= index < self.n_components:
            raise InvalidOptionError(f"component index must be 0..{self.n_components - 1}, got {index}")
        source, segment = divmod(index, len(self.segments))
        block = self.blocks[segment]
        out = np.zeros((self.sources.n_samples, self.sources.channels), dtype=np.float32)
        out[block.start:block.stop] = block.audio[source]
        return out

    def _build_blocks(self) -> list[Block]:
        half_fades = self._half_fades()
        blocks = []
        for seg in self.segments:
            left, right = half_fades[seg.index], half_fades[seg.index + 1]
            start, stop = seg.start - left, seg.end + right
            window = np.ones(stop - start, dtype=np.float32)
            if left:
                window[: 2 * left] = _fade_in(2 * left)
            if right:
                window[-2 * right:] = _fade_in(2 * right)[::-1]
            audio = self.sources.waveforms[:, start:stop] * window[None, :, None]
            blocks.append(Block(seg.index, start, stop, np.ascontiguousarray(audio)))
        return blocks

    def _half_fades(self) -> list[int]:
        """Half the crossfade length at each boundary (0 at the clip's two ends)."""
        wanted = round(self.fade_seconds * self.sample_rate / 2)
        inner = [
            min(wanted, (a.end - a.start) // 2, (b.end - b.start) // 2)
            for a, b in zip(self.segments, self.segments[1:])
        ]
        return [0] + inner + [0]


def _fade_in(length: int) -> np.ndarray:
    """sin² ramp; with its mirror image it sums to exactly one."""
    phase = (np.arange(length, dtype=np.float64) + 0.5) / length
    return np.sin(0.5 * np.pi * phase).astype(np.float32) ** 2
