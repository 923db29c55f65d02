"""A tagger whose exact explanation sits at a claim's boundary, where a confidence is earned or not.

Far from every boundary any valid claim is right more often than its confidence says; only where
the truth sits at a statement's boundary does a claim at c have to be wrong in about 1 − c of runs.
This tagger's answer to a mask over 2 sources × 10 segments is linear in the mask plus noise fixed
per mask (it is deterministic, as a real tagger is) whose kernel-weighted linear part is projected
out: the exact explanation, LIME's fit on all 2^20 masks, is the weights themselves, and a claim's
border can be put where it is hardest, its third and fourth weights `gap` tolerances apart.

    weights, score = border_tagger(0.02)     # score: masks (n, 20) -> answers (n, 2): "border", "other"
    claim_right(claim, weights)              # does a claim hold against known weights (the benchmark's score)
"""
from __future__ import annotations

import numpy as np

from engine.components import Factorization
from engine.sampling import all_masks
from engine.segments import equal_segments
from engine.sources import Sources
from engine.surrogate import SurrogateOptions, kernel_weights

WEIGHTS = (1.0, 0.75, 0.5, 0.5, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05,  # the first source's 10 segments
           0.0, 0.0, -0.05, -0.1, 0.02, 0.03, 0.04, 0.0, 0.01, -0.02)  # the second's
NOISE = 0.25  # the answers' spread around the linear part: claims take a few hundred calls, as musicnn's
LABELS = ("border", "other")


def border_tagger(gap: float, tolerance: float = 0.1, seed: int = 10**6):
    """(weights, score): the third and fourth weights `gap` tolerances apart (0.02: a near tie, where
    either order is a statement at its boundary; 1.05: just not a tie, where a tie is)."""
    weights = np.array(WEIGHTS)
    weights[3] = weights[2] - gap * tolerance * np.max(np.abs(weights))
    masks = all_masks(len(weights))
    design = np.column_stack([np.ones(len(masks)), masks]).astype(np.float64)
    root = np.sqrt(kernel_weights(masks.astype(np.float64), SurrogateOptions().kernel_width))
    noise = np.random.default_rng(seed).standard_normal(len(masks)) * NOISE
    linear = np.linalg.lstsq(design * root[:, None], noise * root, rcond=None)[0]
    table = np.empty(len(masks))
    table[_index(masks)] = noise - design @ linear  # no linear reading of the noise is left

    def score(drawn: np.ndarray) -> np.ndarray:
        answer = 0.2 + drawn.astype(np.float64) @ weights + table[_index(drawn)]
        return np.column_stack([answer, np.full(len(drawn), 0.1)])

    return weights, score


def _index(masks: np.ndarray) -> np.ndarray:
    return masks.astype(np.int64) @ (1 << np.arange(masks.shape[1], dtype=np.int64))


def layout(sources: list[str], segments: int) -> Factorization:
    """Silent sources of a layout: the explainer needs components, not audio, when answers come from masks."""
    rate, n = 1000, 1000 * segments
    stems = Sources.from_mapping({s: np.zeros((n, 1), np.float32) for s in sources}, rate)
    return Factorization(stems, equal_segments(n, rate, segments), 0.0)


def claim_right(claim, reference: np.ndarray, tolerant: bool = False, tolerance: float = 0.1) -> bool:
    """Whether a claim holds against known weights: strict, the claimed top components are the
    reference's, up to the ties claimed (each within the tolerance); tolerant, no weight left out is
    above a claimed one by more than the tolerance; either, when fewer than k are claimed, no other
    weight is above the tolerance."""
    tau = tolerance * float(np.max(np.abs(reference)))
    claimed, tied = set(claim.claimed), set(claim.tied)
    if tolerant:
        left_out = [reference[j] for j in range(len(reference)) if j not in claimed]
        if claimed and left_out and min(reference[i] for i in claimed) < max(left_out) - tau:
            return False
        if len(claimed) < claim.top_k:
            return all(w <= tau for w in left_out)
        return True
    ranked = list(np.argsort(-reference, kind="stable"))
    truth = set(ranked[:len(claimed)])
    if not (claimed - tied) <= truth <= (claimed | tied):
        return False
    if any(abs(reference[i] - reference[j]) > tau for i, j in claim.tie_pairs):
        return False
    if len(claimed) < claim.top_k:  # the claim says no other component matters
        return all(reference[j] <= tau for j in range(len(reference)) if j not in claimed)
    return True
