"""Masks → audio: a batch of masks times the component matrix, region by region.

The clip is tiled into regions that each depend on few components: the core of
a segment (one component per source) and the crossfade between two segments
(two per source). Each region of a whole batch is then a single small matrix
product written straight into the output, so mixing costs about C multiply-adds
per output sample, not d' = C × τ.

What "off" sounds like (`Off`): by default a switched-off component is digital
silence, audioLIME's choice. Silence is not neutral to every tagger (MSD_musicnn
tags it *rock*), and a mix of a few components is then mostly silence. With
`cut`, a segment whose every source is off is cut out of the mix instead: the
segments left play back to back, crossfaded where they join, and loop until the
clip's length, so the tagger hears only what is on, for as long as the clip. For
a tagger that averages over time (musicnn and most CNN taggers) that is the kept
music alone; a source switched off inside a kept segment is still silent there,
which is source removal. The all-off mix stays silence (nothing is left to loop).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterator

import numpy as np

from .components import Factorization
from .errors import InvalidOptionError


class Off(str, Enum):
    SILENCE = "silence"  # a switched-off component is digital silence
    CUT = "cut"  # a segment with every source off is cut out; what is left loops to the clip's length

    @classmethod
    def parse(cls, value) -> "Off":
        try:
            return cls(value)
        except ValueError:
            raise InvalidOptionError(f"unknown off {value!r}; use one of {', '.join(m.value for m in cls)}") from None


@dataclass(frozen=True, eq=False)
class Region:
    start: int
    stop: int
    columns: np.ndarray  # the components audible here
    audio: np.ndarray  # (len(columns), (stop - start) * channels): their windowed audio, flattened


class Mixer:
    """Mixes masks over one factorization, at the factorization's rate and layout."""

    def __init__(self, factorization: Factorization, off: Off | str = Off.SILENCE):
        self.factorization = factorization
        self.off = Off.parse(off)
        self.regions = _regions(factorization)

    @property
    def n_samples(self) -> int:
        return self.factorization.sources.n_samples

    @property
    def channels(self) -> int:
        return self.factorization.sources.channels

    def mix(self, masks: np.ndarray) -> np.ndarray:
        """(B, d') masks → (B, samples, channels) float32 mixes."""
        masks = self._check(masks)
        mixes = np.empty((masks.shape[0], self.n_samples, self.channels), dtype=np.float32)
        flat = mixes.reshape(masks.shape[0], -1)
        ch = self.channels
        for region in self.regions:
            np.matmul(masks[:, region.columns], region.audio, out=flat[:, region.start * ch: region.stop * ch])
        if self.off is Off.CUT:
            for mask, mix in zip(masks, mixes):
                _cut(self.factorization, mask > 0, mix)
        return mixes

    def batches(self, masks: np.ndarray, batch_size: int) -> Iterator[tuple[slice, np.ndarray]]:
        """Stream mixes batch by batch; only one batch is ever held in memory."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise InvalidOptionError(f"batch size must be a positive integer, got {batch_size!r}")
        for start in range(0, len(masks), batch_size):
            rows = slice(start, min(start + batch_size, len(masks)))
            yield rows, self.mix(masks[rows])

    def _check(self, masks: np.ndarray) -> np.ndarray:
        masks = np.asarray(masks)
        n = self.factorization.n_components
        if masks.ndim != 2 or masks.shape[1] != n:
            raise InvalidOptionError(f"masks must have shape (batch, {n}), got {masks.shape}")
        return masks.astype(np.float32, copy=False)


class Mixers:
    """One factorization's mixers, one per way of switching off, each built when first asked for."""

    def __init__(self, factorization: Factorization):
        self.factorization, self._mixers = factorization, {}

    def __call__(self, off: Off) -> Mixer:
        if off not in self._mixers:
            self._mixers[off] = Mixer(self.factorization, off)
        return self._mixers[off]


def _regions(factorization: Factorization) -> list[Region]:
    """Tile the clip by which blocks (windowed segments) overlap where."""
    blocks = factorization.blocks
    edges = sorted({0, factorization.sources.n_samples} | {b.start for b in blocks} | {b.stop for b in blocks})
    regions = []
    for start, stop in zip(edges, edges[1:]):
        here = [b for b in blocks if b.start <= start and stop <= b.stop]
        columns = np.concatenate([factorization.columns(b.segment) for b in here])
        audio = np.concatenate([b.audio[:, start - b.start: stop - b.start] for b in here])
        regions.append(Region(start, stop, columns, np.ascontiguousarray(audio.reshape(len(columns), -1))))
    return regions


def _cut(factorization: Factorization, mask: np.ndarray, mix: np.ndarray) -> None:
    """Rewrite a silence-off mix in place: the segments with something on, back to back, looped.

    Each run of consecutive kept segments is taken with its fades (the halves of the segment
    windows that reach into its switched-off neighbours) and added into a circular buffer as long
    as the kept segments, its nominal start where the kept audio before it ends: a run's fade-out
    overlaps the next run's fade-in, a crossfade that sums to one. The loop's own join (the last
    run into the first) is crossfaded the same way when both sides have fades; when one side is an
    end of the clip, which has none, both sides are taken unfaded and meet as the clip's own end
    and start do. The mix is that buffer, repeated.
    """
    kept = [s for s in range(len(factorization.segments)) if mask[factorization.columns(s)].any()]
    if len(kept) in (0, len(factorization.segments)):
        return  # nothing to cut (all kept), or nothing to loop (all off: silence)
    segments = factorization.segments
    runs = _runs(kept)
    hard = runs[0][0] == 0 or runs[-1][-1] == len(segments) - 1  # the loop's join meets a clip end
    loop = np.zeros((sum(segments[s].end - segments[s].start for s in kept), mix.shape[1]), dtype=np.float32)
    position = 0
    for n, run in enumerate(runs):
        lead, audio = _piece(factorization, mask, mix, run, hard and n == 0, hard and n == len(runs) - 1)
        _add_circular(loop, position - lead, audio)
        position += segments[run[-1]].end - segments[run[0]].start
    mix[:] = np.tile(loop, (-(-len(mix) // len(loop)), 1))[:len(mix)]


def _piece(factorization: Factorization, mask: np.ndarray, mix: np.ndarray, run: list[int],
           hard_start: bool, hard_end: bool) -> tuple[int, np.ndarray]:
    """A run's audio from the silence-off mix, with its fades reaching beyond it, or (a hard edge)
    cut at its nominal edge and unfaded there; and how many samples it starts before its start."""
    first, last = factorization.segments[run[0]], factorization.segments[run[-1]]
    block_start, block_stop = factorization.blocks[run[0]].start, factorization.blocks[run[-1]].stop
    start, stop = (first.start if hard_start else block_start), (last.end if hard_end else block_stop)
    audio = mix[start:stop].copy()
    fade_in, fade_out = first.start - block_start, block_stop - last.end
    if hard_start and fade_in:
        audio[:fade_in] = _unfaded(factorization, mask, run[0], first.start, first.start + fade_in)
    if hard_end and fade_out:
        audio[len(audio) - fade_out:] = _unfaded(factorization, mask, run[-1], last.end - fade_out, last.end)
    return first.start - start, audio


def _unfaded(factorization: Factorization, mask: np.ndarray, segment: int, start: int, stop: int) -> np.ndarray:
    """The switched-on sources of one segment between two samples, without the segment's window."""
    on = mask[factorization.columns(segment)]
    return factorization.sources.waveforms[on, start:stop].sum(axis=0)


def _runs(kept: list[int]) -> list[list[int]]:
    """Consecutive segment indices grouped: [0, 1, 4, 5, 6] -> [[0, 1], [4, 5, 6]]."""
    runs: list[list[int]] = []
    for segment in kept:
        if runs and runs[-1][-1] == segment - 1:
            runs[-1].append(segment)
        else:
            runs.append([segment])
    return runs


def _add_circular(loop: np.ndarray, start: int, piece: np.ndarray) -> None:
    """loop[(start + i) mod len(loop)] += piece[i], in contiguous chunks."""
    done = 0
    while done < len(piece):
        at = (start + done) % len(loop)
        size = min(len(loop) - at, len(piece) - done)
        loop[at:at + size] += piece[done:done + size]
        done += size
