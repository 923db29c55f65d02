"""What one job's calls to its tagger came to: the counts a result reports and the metrics add up."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np


@dataclass
class CallStats:
    """Counts shared by the threads that call one tagger for one job."""
    requests: int = 0
    retries: int = 0
    errors: int = 0
    bytes_sent: int = 0
    clips: int = 0  # clips the tagger answered
    loading_answers: int = 0  # 503s saying the model is loading: waited out, not retries
    load_wait_seconds: float = 0.0
    missing: dict = field(default_factory=dict)  # label -> answers that lacked it (top-k taggers)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **amounts: float) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def count_missing(self, labels: tuple[str, ...], missing: np.ndarray) -> None:
        counts = missing.sum(axis=0)
        with self._lock:
            for label, count in zip(labels, counts.tolist()):
                if count:
                    self.missing[label] = self.missing.get(label, 0) + count

    def to_dict(self) -> dict:
        """The counters the service's metrics add up."""
        return {"requests": self.requests, "retries": self.retries, "errors": self.errors,
                "bytes_sent": self.bytes_sent}

    def report(self) -> dict:
        """What a result says about its tagger calls (`stats.tagger`)."""
        with self._lock:
            missing = dict(sorted(self.missing.items()))
        return {**self.to_dict(), "clips": self.clips, "missing_labels": missing,
                "loading_answers": self.loading_answers, "load_wait_seconds": round(self.load_wait_seconds, 3)}
