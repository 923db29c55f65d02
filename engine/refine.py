"""A separator that refines another: one of the base's sources is split again.

`Refined(spleeter_2stems, "accompaniment", HPSS())` gives vocals, harmonic and
percussive: Spleeter's vocals as they are, its accompaniment split by median
filtering, so the drums of the band can be switched apart from its chords. The
parts take the split source's place in the base's order. They sum to the
split source within the splitter's own bound, so the whole still sums to the
base's sum within it (HPSS: float32 rounding, below 1e-6 of the stem's RMS).
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .errors import InvalidOptionError, SeparationError
from .separation import Separator
from .sources import Sources

SOURCE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a source name is a URL path segment and a file name


class Refined:
    """Separates with `base`, then splits its source `source` with `splitter` into parts named `names`."""

    def __init__(self, base: Separator, source: str, splitter: Separator, names: Sequence[str] | None = None):
        self.base = base
        self.source = _check_name(source)
        self.splitter = splitter
        self.names = None if names is None else _check_names(names)
        own = getattr(splitter, "source_names", None)  # known before separating for HPSS; not for every splitter
        if self.names is not None and isinstance(own, tuple) and len(own) != len(self.names):
            raise InvalidOptionError(f"{len(self.names)} names {list(self.names)} for the {len(own)} sources "
                                     f"{list(own)} of {splitter.model_id}")

    @property
    def model_id(self) -> str:
        """Both models, the source split and what its parts are called (it keys the separation cache)."""
        renamed = "" if self.names is None else "->" + ",".join(self.names)
        return f"{self.base.model_id}+{self.splitter.model_id}[{self.source}{renamed}]"

    def separate(self, waveform: np.ndarray, sample_rate: int) -> Sources:
        sources = self.base.separate(waveform, sample_rate)
        if self.source not in sources.names:
            raise InvalidOptionError(f"{self.base.model_id} has no source {self.source!r} to split; "
                                     f"it has {list(sources.names)}")
        parts = self.splitter.separate(sources[self.source], sources.sample_rate)
        self._check_parts(parts, sources)
        return self._replace(sources, parts)

    def _check_parts(self, parts: Sources, sources: Sources) -> None:
        # A splitter that changes rate or length would no longer add up to the stem it split.
        if parts.sample_rate != sources.sample_rate or parts.waveforms.shape[1:] != sources.waveforms.shape[1:]:
            raise SeparationError(f"{self.splitter.model_id} gave {parts.waveforms.shape[1:]} at "
                                  f"{parts.sample_rate} Hz for a {sources.waveforms.shape[1:]} stem at "
                                  f"{sources.sample_rate} Hz; parts must match the stem they split")
        if self.names is not None and len(self.names) != len(parts.names):
            raise InvalidOptionError(f"{len(self.names)} names {list(self.names)} for the {len(parts.names)} "
                                     f"sources {list(parts.names)} of {self.splitter.model_id}")

    def _replace(self, sources: Sources, parts: Sources) -> Sources:
        at = sources.names.index(self.source)
        kept = sources.names[:at] + sources.names[at + 1:]
        part_names = self.names if self.names is not None else parts.names
        clash = sorted(set(kept) & set(part_names))
        if clash:
            raise InvalidOptionError(f"the parts of {self.source!r} would be named like the base's other "
                                     f"sources {clash}; pass other `names`")
        names = sources.names[:at] + tuple(part_names) + sources.names[at + 1:]
        waveforms = np.concatenate([sources.waveforms[:at], parts.waveforms, sources.waveforms[at + 1:]])
        return Sources(names, waveforms, sources.sample_rate)


def _check_name(name) -> str:
    if not isinstance(name, str) or not SOURCE_NAME.fullmatch(name):
        raise InvalidOptionError(f"a source name is 1 to 64 letters, digits, '_' or '-', got {name!r}")
    return name


def _check_names(names) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise InvalidOptionError(f"names must be a non-empty list of source names, got {names!r}")
    checked = tuple(_check_name(name) for name in names)
    if len(set(checked)) != len(checked):
        raise InvalidOptionError(f"names must be distinct, got {list(checked)}")
    return checked
