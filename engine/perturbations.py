"""Perturbations: binary masks over components, row 0 all on (the original)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping

import numpy as np

from .errors import InvalidOptionError
from .mixing import Off
from .sampling import MaskStream, all_masks, exhaustive_fits


@dataclass(frozen=True, eq=False)
class Perturbations:
    unique: np.ndarray  # (U, d') bool, row 0 all on; each mask the tagger must hear once
    counts: np.ndarray  # (U,) how often each unique mask was drawn
    exhaustive: bool

    @property
    def n_samples(self) -> int:
        return int(self.counts.sum())

    @property
    def n_components(self) -> int:
        return self.unique.shape[1]


def perturb(n_components: int, n_samples: int, seed: int | None = 0) -> Perturbations:
    """Draw masks with p(on) = 0.5 from one seeded generator, or all of them when 2^d' fits."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise InvalidOptionError(f"samples must be an integer of at least 2, got {n_samples!r}")
    if n_components < 1:
        raise InvalidOptionError("at least one component is needed")
    if exhaustive_fits(n_components, n_samples):
        rows = all_masks(n_components)
        return Perturbations(rows, np.ones(len(rows), dtype=np.int64), exhaustive=True)
    return _deduplicate(MaskStream(n_components, seed or 0).first(n_samples))


def _deduplicate(masks: np.ndarray) -> Perturbations:
    packed = np.packbits(masks, axis=1)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    # Keep the order of first appearance, so row 0 (all on) stays row 0.
    order = np.argsort(first)
    return Perturbations(masks[first[order]], counts[order], exhaustive=False)


def draw_rows(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The draws as distinct masks (in order of first appearance, so row 0 stays row 0) and the
    distinct mask of each draw: what a fit weighted by draws, or clustered by unit, needs."""
    index: dict[bytes, int] = {}
    rows = np.array([index.setdefault(mask_key(m), len(index)) for m in draws], dtype=np.int64)
    distinct = np.zeros((len(index), draws.shape[1]), dtype=bool)
    distinct[rows] = draws
    return distinct, rows


def mask_key(mask: np.ndarray) -> bytes:
    """A compact, hashable identity of one mask."""
    return np.packbits(np.asarray(mask, dtype=bool)).tobytes() + bytes([len(mask) % 8])


def answer_key(mask: np.ndarray, off: Off) -> bytes:
    """The key of the tagger's answer to a mask's mix made with `off`: the mask's own key, marked for
    every way of switching off but silence, so that answers to both mixes of one mask never mix."""
    key = mask_key(mask)
    return key if off is Off.SILENCE else key + b"/" + off.value.encode()


def parse_answer_key(key: bytes, n_components: int) -> tuple[np.ndarray, Off]:
    """The mask and the way of switching off that an answer key stands for (answer_key's inverse):
    what a driver needs to hear a kept answer's mix again."""
    size = (n_components + 7) // 8 + 1  # packed bits, then the length byte of mask_key
    packed, suffix = key[:size], key[size:]
    if len(packed) != size or packed[-1] != n_components % 8 or (suffix and not suffix.startswith(b"/")):
        raise InvalidOptionError(f"{key!r} is not the answer key of a mask of {n_components} components")
    mask = np.unpackbits(np.frombuffer(packed[:-1], dtype=np.uint8))[:n_components].astype(bool)
    return mask, Off.parse(suffix[1:].decode()) if suffix else Off.SILENCE


class Heard(Mapping):
    """The answers to the mixes made with one `off`, by mask key (what the checks look answers up by)."""

    def __init__(self, answers: Mapping[bytes, np.ndarray], off: Off):
        self.answers, self.suffix = answers, b"" if off is Off.SILENCE else b"/" + off.value.encode()

    def __getitem__(self, key: bytes) -> np.ndarray:
        return self.answers[key + self.suffix]

    def __contains__(self, key) -> bool:
        return key + self.suffix in self.answers

    def __iter__(self) -> Iterator[bytes]:
        # a plain key ends with the mask's length byte, never with a marked suffix
        marked = [b"/" + o.value.encode() for o in Off if o is not Off.SILENCE]
        for key in self.answers:
            if self.suffix:
                if key.endswith(self.suffix):
                    yield key[:-len(self.suffix)]
            elif not any(key.endswith(m) for m in marked):
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)
