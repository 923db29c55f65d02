"""What an explanation was fitted on (`GET /explanations/{id}/samples`): to refit, audit or reproduce it.

Each distinct mask once, with how often it was drawn (`counts`) and the tagger's scores for it
(one column per label), and each draw in order (`draws`: its row of masks; `units`: its independent
unit). With `estimator` "plain", LIME's kernel-weighted ridge (`kernel_width`, `alpha`) on the masks,
with the counts as sample weights and one label's column, gives that tag's reported weights; with
"adjusted" (an adaptive run's default), the service's engine/adjustment.py on the draws and units does.
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
    draws: np.ndarray  # (N,) each draw's row of masks, in the order drawn
    units: np.ndarray  # (N,) each draw's independent unit
    estimator: str  # "plain" or "adjusted": how the reported weights were fitted

    @classmethod
    def from_json(cls, data: dict) -> "Samples":
        return cls.of(data["labels"], data["masks"], data["counts"], data["scores"], data,
                      data.get("draws", ()), data.get("units", ()))

    @classmethod
    def from_npz(cls, content: bytes) -> "Samples":
        with np.load(io.BytesIO(content), allow_pickle=False) as arrays:
            settings = json.loads(str(arrays["settings"])) if "settings" in arrays.files else {}
            order = [arrays[name] if name in arrays.files else () for name in ("draws", "units")]
            return cls.of(arrays["labels"].tolist(), arrays["masks"], arrays["counts"], arrays["scores"], settings,
                          *order)

    @classmethod
    def of(cls, labels, masks, counts, scores, settings: dict, draws=(), units=()) -> "Samples":
        arrays = [np.array(masks, dtype=bool), np.array(counts, dtype=np.int64), np.array(scores, dtype=np.float64),
                  np.array(draws, dtype=np.int64), np.array(units, dtype=np.int64)]
        for array in arrays:
            array.setflags(write=False)
        masks, counts, scores, draws, units = arrays
        return cls(tuple(labels), masks, counts, scores.reshape(len(masks), len(labels)),
                   bool(settings.get("exhaustive", False)), float(settings.get("kernel_width", 0.25)),
                   float(settings.get("alpha", 1.0)), draws, units, str(settings.get("estimator", "plain")))

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
