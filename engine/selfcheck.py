"""The paper's own test of an explanation, run on every one.

Mix only the top-k positively weighted components and ask the tagger again:
if the explanation is right, the explained tag should stay on top.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SelfCheckRow:
    k: int
    components: list[int]
    score: float  # the explained tag's score on the top-k mix
    top_tag: str  # what the tagger ranks first on that mix
    still_top: bool

    def to_dict(self) -> dict:
        return {"k": self.k, "components": self.components, "score": self.score,
                "top_tag": self.top_tag, "still_top": self.still_top}


def top_components(weights: np.ndarray, k: int) -> list[int]:
    """The k components with the largest positive weights (fewer if fewer are positive)."""
    order = np.argsort(-weights, kind="stable")
    return [int(i) for i in order[:k] if weights[i] > 0]


def check_masks(weights: np.ndarray, k_max: int) -> np.ndarray:
    """Masks of the top-1 … top-K mixes; stops early when positive weights run out."""
    positive = len(top_components(weights, k_max))
    masks = np.zeros((positive, len(weights)), dtype=bool)
    for k in range(1, positive + 1):
        masks[k - 1, top_components(weights, k)] = True
    return masks


def evaluate(weights: np.ndarray, tag: int, labels: tuple[str, ...], scores: np.ndarray) -> list[SelfCheckRow]:
    """Rows of the self-check table from the tagger's scores (k_max, tags) on the check masks."""
    rows = []
    for k, row in enumerate(scores, start=1):
        top = int(np.argmax(row))
        rows.append(SelfCheckRow(k, top_components(weights, k), float(row[tag]), labels[top], top == tag))
    return rows
