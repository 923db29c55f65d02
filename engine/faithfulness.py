"""The paper's faithfulness experiment (its Figure 2), per explanation, beyond the self-check.

The self-check keeps only the top-k positive components and asks whether the tag stays on
top. Two more tests say how much that means:

- **deletion**: every component but the top-k positive ones. If the explanation is right,
  the tag should fall from the top.
- **random baselines**: k components drawn at random among the positive ones, R times per k,
  kept alone and removed. The paper's baseline: an explanation is worth something when its
  top-k keep the tag more often than k random positive components do.

The draws come from a generator seeded by the run's seed, the tag and k, over the positive
components in index order, so a resumed run (whose weights are the same) asks the same masks.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .perturbations import mask_key
from .selfcheck import top_components
from .settings import FaithfulnessSettings


@dataclass(frozen=True, eq=False)
class FaithfulnessPlan:
    """The masks one tag's faithfulness checks need, k = 1…K' (K' = min(K, positive components))."""
    k_max: int  # K, as asked (self_check_k)
    positive: list[int]  # the positive components, by index
    draws: int  # R
    removals: np.ndarray  # (K', d') every component but the top-k; (0, d') when deletion was not asked
    random_keep: np.ndarray  # (K', R, d') the random k-subsets alone
    deletion: bool

    @property
    def random_remove(self) -> np.ndarray:
        return ~self.random_keep

    def masks(self) -> np.ndarray:
        """Every mask of the plan, in a fixed order (duplicates included: the explainer dedupes)."""
        d = self.removals.shape[1]
        return np.concatenate([self.removals, self.random_keep.reshape(-1, d), self.random_remove.reshape(-1, d)])


def tag_seed(seed: int, tag: str, k: int) -> np.random.Generator:
    """The generator of one tag's random k-subsets: the same for the same run seed, tag and k."""
    digest = int.from_bytes(hashlib.sha256(tag.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng([seed, digest, k])


def random_subsets(positive: list[int], k: int, draws: int, seed: int, tag: str) -> list[list[int]]:
    """R subsets of k components drawn uniformly from the positive ones (each draw on its own)."""
    rng = tag_seed(seed, tag, k)
    pool = np.asarray(sorted(positive), dtype=np.int64)
    return [sorted(int(i) for i in rng.choice(pool, size=k, replace=False)) for _ in range(draws)]


def plan(weights: np.ndarray, k_max: int, settings: FaithfulnessSettings, seed: int,
         tag: str) -> FaithfulnessPlan | None:
    """The tag's extra masks, or None when no faithfulness check was asked."""
    if not settings.asked:
        return None
    weights = np.asarray(weights, dtype=np.float64)
    d = len(weights)
    positive = sorted(int(i) for i in np.flatnonzero(weights > 0))
    ks = range(1, min(k_max, len(positive)) + 1)
    removals = np.ones((len(ks) if settings.deletion else 0, d), dtype=bool)
    for row in range(len(removals)):
        removals[row, top_components(weights, row + 1)] = False
    keep = np.zeros((len(ks), settings.random_draws, d), dtype=bool)
    for k in ks:
        for draw, subset in enumerate(random_subsets(positive, k, settings.random_draws, seed, tag)):
            keep[k - 1, draw, subset] = True
    return FaithfulnessPlan(k_max, positive, settings.random_draws, removals, keep, settings.deletion)


def evaluate(plan: FaithfulnessPlan, weights: np.ndarray, tag: int, labels: tuple[str, ...],
             answers: Mapping[bytes, np.ndarray]) -> dict:
    """The tag's `faithfulness` record from the tagger's answers (by mask key) to the plan's masks."""
    weights = np.asarray(weights, dtype=np.float64)
    remove = []
    for k, mask in enumerate(plan.removals, start=1):
        row = _scores(answers, mask, len(labels))
        top = int(np.argmax(row))
        remove.append({"k": k, "components": top_components(weights, k), "score": float(row[tag]),
                       "top_tag": labels[top], "dropped": top != tag})
    # "dropped" means off the top; for a tag that was not on top of the original, it says little
    original = _on_top(answers, np.ones(len(weights), dtype=bool), tag, len(labels))
    record = {"k_max": plan.k_max, "positive": len(plan.positive), "top_on_original": original,
              "remove": remove if plan.deletion else None, "random": None}
    if plan.draws:
        keep_counts = [sum(_on_top(answers, m, tag, len(labels)) for m in masks) for masks in plan.random_keep]
        remove_counts = [sum(not _on_top(answers, ~m, tag, len(labels)) for m in masks)
                         for masks in plan.random_keep]
        record["random"] = {"draws": plan.draws, "keep": [c / plan.draws for c in keep_counts],
                            "remove": [c / plan.draws for c in remove_counts],
                            "keep_counts": keep_counts, "remove_counts": remove_counts}
    return record


def _scores(answers: Mapping[bytes, np.ndarray], mask: np.ndarray, n_labels: int) -> np.ndarray:
    return np.asarray(answers[mask_key(mask)], dtype=np.float64).reshape(n_labels)


def _on_top(answers: Mapping[bytes, np.ndarray], mask: np.ndarray, tag: int, n_labels: int) -> bool:
    return int(np.argmax(_scores(answers, mask, n_labels))) == tag
