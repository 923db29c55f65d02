"""A finished explanation's `stats`: how it was sampled, why sampling stopped, what it cost."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Iterator


@dataclass(frozen=True, eq=False)
class Stats(Mapping):
    """How the explanation was sampled and what it cost. Also a read-only mapping of the API's
    `stats` object (stats["tagger_calls"], stats.get(…)), as `stats` was a dict before it was typed."""
    samples: int | None = None  # masks drawn, repeats included
    unique_masks: int | None = None
    exhaustive: bool | None = None
    tagger_calls: int | None = None  # distinct masks this job asked the tagger about, self-check included
    reused: int | None = None  # answers reused from this key's earlier jobs on the same audio and tagger
    strategy: str | None = None  # adaptive | fixed
    design: str | None = None  # independent | paired
    stop_reason: str | None = None  # converged | max_samples | exhaustive | fixed
    rounds: int | None = None
    confidence_trace: tuple[tuple[int, float | None], ...] = ()  # (samples, lowest confidence) per round
    tagger: dict[str, Any] = field(default_factory=dict)  # requests, retries, errors, bytes_sent
    raw: dict = field(repr=False, default_factory=dict)

    @property
    def verification_calls(self) -> int:
        """Of the tagger calls, those of the baseline and the verified parts (0 before there were any)."""
        return int(self.raw.get("verification_calls") or 0)

    @classmethod
    def from_json(cls, data: dict) -> "Stats":
        trace = tuple((int(n), None if c is None else float(c)) for n, c in data.get("confidence_trace") or ())
        return cls(*(data.get(name) for name in ("samples", "unique_masks", "exhaustive", "tagger_calls", "reused",
                                                  "strategy", "design", "stop_reason", "rounds")),
                   trace, dict(data.get("tagger") or {}), dict(data))

    def __getitem__(self, name: str) -> Any:
        return self.raw[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)
