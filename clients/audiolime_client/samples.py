"""What an explanation was fitted on (`GET /explanations/{id}/samples`): to refit, audit or reproduce it.

Each distinct mask once, with how often it was drawn (`counts`) and the tagger's scores for it
(one column per label). LIME's kernel-weighted ridge (`kernel_width`, `alpha`) on the masks,
with the counts as sample weights and one label's column, gives that tag's reported weights.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np

FORMATS = ("json", "npz")  # how they travel: ?format=…


@dataclass(frozen=True, eq=False)  # arrays: compare them with numpy, not ==
class Samples:
    labels: tuple[str, ...]  # every label the tagger answered, in the scores' column order
    masks: np.ndarray  # (U, components) bool, row 0 the original (all on)
    counts: np.ndarray  # (U,) how often each mask was drawn
    scores: np.ndarray  # (U, labels)
    exhaustive: bool  # every mask once: the weights are exact
    kernel_width: float
    alpha: float

    @classmethod
    def from_json(cls, data: dict) -> "Samples":
        return cls.of(data["labels"], data["masks"], data["counts"], data["scores"], data)

    @classmethod
    def from_npz(cls, content: bytes) -> "Samples":
        with np.load(io.BytesIO(content), allow_pickle=False) as arrays:
            settings = json.loads(str(arrays["settings"])) if "settings" in arrays.files else {}
            return cls.of(arrays["labels"].tolist(), arrays["masks"], arrays["counts"], arrays["scores"], settings)

    @classmethod
    def of(cls, labels, masks, counts, scores, settings: dict) -> "Samples":
        arrays = [np.array(masks, dtype=bool), np.array(counts, dtype=np.int64), np.array(scores, dtype=np.float64)]
        for array in arrays:
            array.setflags(write=False)
        masks, counts, scores = arrays
        return cls(tuple(labels), masks, counts, scores.reshape(len(masks), len(labels)),
                   bool(settings.get("exhaustive", False)), float(settings.get("kernel_width", 0.25)),
                   float(settings.get("alpha", 1.0)))

    @property
    def samples(self) -> int:
        """Masks drawn, repeats included (the result's stats.samples)."""
        return int(self.counts.sum())

    def scores_for(self, label: str) -> np.ndarray:
        """One label's scores, a column per mask."""
        try:
            return self.scores[:, self.labels.index(label)]
        except ValueError:
            raise KeyError(f"no label {label!r}; labels: {list(self.labels)}") from None
