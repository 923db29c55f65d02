"""Answers remembered across runs, for benchmarks that ask the same mixes again (--memo FILE).

musicnn is deterministic: the same waveform gets the same scores. A study or a sampling benchmark
asks thousands of mixes (about 0.25 s of CPU each here), and a rerun with the same seeds asks the
same ones, so the server can answer those from a file instead of the model. Each clip is keyed by
the SHA-256 of its float32 samples and the model's name; a mix that differs by a single bit is a
miss and goes to the model, so a replayed answer is always the model's answer to those exact samples.

The file is append-only: one record per clip, the 32-byte key and the scores as float32. A record
cut short (a run killed while writing) is ignored when loading, and later records are appended
after the last whole one. Never a cache for production use: it grows without bound.
"""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Callable

import numpy as np

KEY_BYTES = 32


class Memo:
    """Scores of waveforms already answered, from and into `path`; thread-safe."""

    def __init__(self, path: Path, model: str, labels: int):
        self.path, self.model, self.labels = path, model.encode(), labels
        self.record_bytes = KEY_BYTES + 4 * labels
        self._lock = threading.Lock()
        self._scores: dict[bytes, np.ndarray] = {}
        self.hits = self.misses = 0
        self._load()

    def _load(self) -> None:
        data = self.path.read_bytes() if self.path.is_file() else b""
        whole = len(data) - len(data) % self.record_bytes
        for start in range(0, whole, self.record_bytes):
            record = data[start:start + self.record_bytes]
            self._scores[record[:KEY_BYTES]] = np.frombuffer(record[KEY_BYTES:], dtype="<f4").copy()
        if whole != len(data):  # a torn last record: drop it, so appends stay aligned
            with open(self.path, "r+b") as file:
                file.truncate(whole)

    def __len__(self) -> int:
        return len(self._scores)

    def key(self, waveform: np.ndarray) -> bytes:
        digest = hashlib.sha256(self.model)
        digest.update(np.ascontiguousarray(waveform, dtype="<f4").tobytes())
        return digest.digest()

    def scores(self, waveforms: np.ndarray, score: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """(clips, labels): remembered rows, and `score` (the model) asked only for the others at once."""
        keys = [self.key(waveform) for waveform in waveforms]
        with self._lock:
            known = [self._scores.get(key) for key in keys]
        missing = [i for i, row in enumerate(known) if row is None]
        if missing:
            fresh = np.asarray(score(waveforms[missing]), dtype=np.float32)
            self._remember([keys[i] for i in missing], fresh)
            for i, row in zip(missing, fresh):
                known[i] = row
        with self._lock:
            self.hits += len(keys) - len(missing)
            self.misses += len(missing)
        return np.stack(known).astype(np.float32)

    def _remember(self, keys: list[bytes], rows: np.ndarray) -> None:
        records = b"".join(key + row.astype("<f4").tobytes() for key, row in zip(keys, rows))
        with self._lock:
            for key, row in zip(keys, rows):
                self._scores[key] = row.copy()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as file:
                file.write(records)
