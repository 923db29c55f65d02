"""Separators turn a mixture into Sources; separations are cached by content."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol

import numpy as np

from .audio import as_waveform, content_hash
from .sources import Sources


class Separator(Protocol):
    model_id: str  # names model and weights, for provenance and cache keys

    def separate(self, waveform: np.ndarray, sample_rate: int) -> Sources: ...


class SourcesCache(Protocol):
    def get(self, key: str) -> Sources | None: ...

    def put(self, key: str, sources: Sources) -> None: ...


class MemoryCache:
    """A small in-process LRU of separations, bounded by bytes held."""

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Sources] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Sources | None:
        with self._lock:
            sources = self._entries.get(key)
            if sources is not None:
                self._entries.move_to_end(key)
            return sources

    def put(self, key: str, sources: Sources) -> None:
        with self._lock:
            self._entries[key] = sources
            self._entries.move_to_end(key)
            while len(self._entries) > 1 and self._held() > self.max_bytes:
                self._entries.popitem(last=False)

    def _held(self) -> int:
        return sum(s.waveforms.nbytes for s in self._entries.values())


class CachingSeparator:
    """Separates each distinct (audio, model) once: another tagger or tag reuses the stems."""

    def __init__(self, separator: Separator, cache: SourcesCache | None = None):
        self.separator = separator
        self.cache = cache if cache is not None else MemoryCache()
        self.misses = 0

    @property
    def model_id(self) -> str:
        return self.separator.model_id

    def key(self, waveform: np.ndarray, sample_rate: int) -> str:
        return f"{self.model_id}|{content_hash(as_waveform(waveform), sample_rate)}"

    def separate(self, waveform: np.ndarray, sample_rate: int) -> Sources:
        key = self.key(waveform, sample_rate)
        sources = self.cache.get(key)
        if sources is None:
            self.misses += 1
            sources = self.separator.separate(waveform, sample_rate)
            self.cache.put(key, sources)
        return sources
