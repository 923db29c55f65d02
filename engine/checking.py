"""Filling in a tag's checks from the answers to its check masks: the self-check (selfcheck.py)
and, when asked, the faithfulness checks (faithfulness.py). A check that cannot be filled in is
an error on its tag alone."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import faithfulness
from .errors import TaggerError
from .explanation import TagExplanation
from .perturbations import mask_key
from .selfcheck import check_masks, evaluate
from .settings import ExplainSettings

CHECK_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError, KeyError)
NO_POSITIVE = "no component has a positive weight: there is no top-k mix to check"


def most_masks(settings: ExplainSettings, tags: int) -> int:
    """The most masks a check phase may ask: per tag, K top-k mixes and K × the faithfulness ones."""
    return settings.self_check_k * (1 + settings.faithfulness.masks_per_k()) * tags


@dataclass(frozen=True, eq=False)
class Checks:
    """The check phase's masks, per explained tag: its self-check mixes and its faithfulness plan."""
    self_checks: list[np.ndarray]  # per tag, (≤ K, d') the top-k mixes
    plans: list[faithfulness.FaithfulnessPlan | None]  # per tag; None when not asked
    n_components: int

    @classmethod
    def plan(cls, tags: list[TagExplanation], settings: ExplainSettings, n_components: int) -> "Checks":
        k = settings.self_check_k
        return cls([check_masks(np.asarray(t.weights), k) for t in tags],
                   [faithfulness.plan(np.asarray(t.weights), k, settings.faithfulness, settings.seed, t.tag)
                    for t in tags], n_components)

    @classmethod
    def none(cls, tags: list[TagExplanation], n_components: int) -> "Checks":
        """No check phase ran: empty self-checks, no faithfulness."""
        return cls([check_masks(np.asarray(t.weights), 0) for t in tags], [None] * len(tags), n_components)

    def self_check_masks(self) -> np.ndarray:
        return self._stack(self.self_checks)

    def faithfulness_masks(self) -> np.ndarray:
        return self._stack([p.masks() for p in self.plans if p is not None])

    def masks(self) -> np.ndarray:
        """Every mask of the phase: the self-checks first (duplicates included: the explainer dedupes)."""
        return np.concatenate([self.self_check_masks(), self.faithfulness_masks()])

    def fill(self, tags: list[TagExplanation], answers: dict, labels: tuple[str, ...],
             tagger_error: TaggerError | None) -> None:
        for tag, masks, plan in zip(tags, self.self_checks, self.plans):
            fill(tag, masks, answers, labels, tagger_error)
            fill_faithfulness(tag, plan, answers, labels, tagger_error)

    def _stack(self, parts: list[np.ndarray]) -> np.ndarray:
        rows = [m for masks in parts for m in masks]
        return np.array(rows, dtype=bool).reshape(-1, self.n_components)


def fill(tag: TagExplanation, masks: np.ndarray, answers: dict, labels: tuple[str, ...],
         tagger_error: TaggerError | None) -> None:
    """The tag's self-check table, or a note (nothing to check) or an error on this tag alone."""
    if tag.error is not None or masks is None:
        return
    if len(masks) == 0:
        tag.self_check_note = NO_POSITIVE
        return
    if _missing(masks, answers, tagger_error):
        tag.fail("checking", f"the tagger could not score the self-check mixes: {tagger_error}")
        return
    try:
        keys = [mask_key(m) for m in masks]
        scores = np.array([answers[k] for k in keys]).reshape(len(masks), len(labels))
        tag.self_check = evaluate(np.asarray(tag.weights), labels.index(tag.tag), labels, scores)
    except CHECK_ERRORS as exc:
        tag.fail("checking", f"the self-check could not be evaluated: {type(exc).__name__}: {exc}")


def fill_faithfulness(tag: TagExplanation, plan: faithfulness.FaithfulnessPlan | None, answers: dict,
                      labels: tuple[str, ...], tagger_error: TaggerError | None) -> None:
    """The tag's faithfulness record (null when not asked), or an error on this tag alone."""
    if tag.error is not None or plan is None:
        return
    if _missing(plan.masks(), answers, tagger_error):
        tag.fail("checking", f"the tagger could not score the faithfulness mixes: {tagger_error}")
        return
    try:
        tag.faithfulness = faithfulness.evaluate(plan, tag.weights, labels.index(tag.tag), labels, answers)
    except CHECK_ERRORS as exc:
        tag.fail("checking", f"the faithfulness checks could not be evaluated: {type(exc).__name__}: {exc}")


def _missing(masks: np.ndarray, answers: dict, tagger_error: TaggerError | None) -> bool:
    """Whether the tagger failed before answering all of these masks."""
    return tagger_error is not None and any(mask_key(m) not in answers for m in masks)
