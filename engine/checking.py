"""The check phase, after sampling: what the tagger is asked about the explanation, step by step.

Step one asks, in one query, every tag's self-check mixes (selfcheck.py), the faithfulness mixes
when asked (faithfulness.py), the baseline (baseline.py: all off, each source alone) and the first
sets of each tag's two searches for verified parts (verification.py: the ranking's prefixes, kept
alone and removed). Each later step asks what the searches still want, all tags together, until
every search has ended. A check that cannot be filled in is an error on its tag alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import baseline, faithfulness
from .errors import TaggerError
from .mixing import Off
from .explanation import TagExplanation
from .perturbations import mask_key
from .selfcheck import check_masks, evaluate, top_components
from .settings import VERIFICATION_POOL, ExplainSettings
from .verification import Part, PartSearch, goal_rank, report

CHECK_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError, KeyError)
NO_POSITIVE = "no component has a positive weight: there is no top-k mix to check"


def most_masks(settings: ExplainSettings, tags: int, n_sources: int) -> int:
    """The most masks a check phase may ask: per tag, K top-k mixes, K × the faithfulness ones and
    the two searches; once, the baseline."""
    k = settings.self_check_k
    if k == 0:
        return 0
    per_tag = k * (1 + settings.faithfulness.masks_per_k()) + settings.verification.most_masks(k)
    return per_tag * tags + 1 + n_sources


@dataclass(frozen=True)
class Layout:
    """What the checks need to know of the components."""
    sources: tuple[str, ...]
    n_segments: int
    names: tuple[str, ...]  # every component's name, by index
    off: Off = Off.SILENCE  # what a switched-off component sounds like

    @property
    def n_components(self) -> int:
        return len(self.names)


@dataclass(eq=False)
class Checks:
    """The check phase's masks, per explained tag, and the state of its searches."""
    self_checks: list[np.ndarray]  # per tag, (≤ K, d') the top-k mixes
    plans: list[faithfulness.FaithfulnessPlan | None]  # per tag; None when not asked
    searches: list[dict[Part, PartSearch]]  # per tag; empty when no check phase runs
    layout: Layout
    baseline: bool  # whether the baseline mixes are asked

    @classmethod
    def plan(cls, tags: list[TagExplanation], targets: list[int], original: np.ndarray,
             settings: ExplainSettings, layout: Layout) -> "Checks":
        k = settings.self_check_k
        return cls([check_masks(np.asarray(t.weights), k) for t in tags],
                   [faithfulness.plan(np.asarray(t.weights), k, settings.faithfulness, settings.seed, t.tag)
                    for t in tags],
                   [_searches(t, target, original, settings, layout) for t, target in zip(tags, targets)],
                   layout, baseline=k > 0)

    @classmethod
    def none(cls, tags: list[TagExplanation], layout: Layout) -> "Checks":
        """No check phase ran: empty self-checks, no faithfulness, no baseline, no searches."""
        return cls([check_masks(np.asarray(t.weights), 0) for t in tags], [None] * len(tags),
                   [{} for _ in tags], layout, baseline=False)

    # -- the masks ---------------------------------------------------------------------------------
    def self_check_masks(self) -> np.ndarray:
        return self._stack(self.self_checks)

    def faithfulness_masks(self) -> np.ndarray:
        return self._stack([p.masks() for p in self.plans if p is not None])

    def baseline_masks(self) -> np.ndarray:
        """The baseline's mixes, and the original beside them (heard again when the check phase
        switches off otherwise than the sampling: the same audio, but its answer is looked up there)."""
        if not self.baseline:
            return self._stack([])
        original = np.ones((1, self.layout.n_components), dtype=bool)
        return np.concatenate([original, baseline.masks(len(self.layout.sources), self.layout.n_segments)])

    def search_masks(self, every: bool = False) -> np.ndarray:
        """The sets the searches want now; with `every`, all they have wanted so far too."""
        return self._stack([s.all_masks() if every else s.masks() for tag in self.searches for s in tag.values()])

    def masks(self) -> np.ndarray:
        """Every mask of the current step (earlier steps' masks included: the explainer dedupes)."""
        return np.concatenate([self.self_check_masks(), self.faithfulness_masks(), self.baseline_masks(),
                               self.search_masks()])

    def advance(self, answers: dict, labels: tuple[str, ...]) -> bool:
        """The current step is answered: move every search on; whether any wants more."""
        more = [s.advance(answers, labels) for tag in self.searches for s in tag.values()]
        return any(more)

    # -- the record ----------------------------------------------------------------------------------
    def fill(self, tags: list[TagExplanation], answers: dict, labels: tuple[str, ...],
             tagger_error: TaggerError | None, free: set[bytes]) -> dict | None:
        """Each tag's checks into its record; the explanation's baseline overview (None: not asked)."""
        overview = self._overview(answers, labels, tagger_error)
        for tag, masks, plan, searches in zip(tags, self.self_checks, self.plans, self.searches):
            fill(tag, masks, answers, labels, tagger_error)
            fill_faithfulness(tag, plan, answers, labels, tagger_error)
            if overview is not None and tag.error is None:
                tag.baseline = baseline.for_tag(answers, labels, self.layout.sources, self.layout.n_segments,
                                                labels.index(tag.tag))
            for part, found in searches.items():
                setattr(tag, part.value, self._part(found, tag, free, tagger_error))
        return overview

    def _overview(self, answers: dict, labels, tagger_error: TaggerError | None) -> dict | None:
        if not self.baseline or _missing(self.baseline_masks(), answers, tagger_error):
            return None
        return baseline.overview(answers, labels, self.layout.sources, self.layout.n_segments)

    def _part(self, found: PartSearch, tag: TagExplanation, free: set[bytes],
              tagger_error: TaggerError | None) -> dict | None:
        if tag.error is not None:
            return None
        calls = len({mask_key(m) for m in found.all_masks()} - free)
        trivial = self.layout.off is Off.SILENCE and bool(tag.baseline) and _off_keeps(tag.baseline)
        if not found.done:
            return {"found": False, "components": None, "error": f"the tagger failed during the search: "
                    f"{tagger_error}", "statement": "the search could not finish: the tagger failed",
                    "tried": len(found.outcomes), "calls": calls}
        return {**report(found, tag.tag, self.layout.names, calls, trivial), "error": None}

    def _stack(self, parts: list) -> np.ndarray:
        rows = [m for masks in parts for m in masks]
        return np.array(rows, dtype=bool).reshape(-1, self.layout.n_components)


def _off_keeps(baseline: dict) -> bool:
    """Whether the all-off mix holds the tag at its place on the original (or higher)."""
    return baseline["rank"] <= baseline["original_rank"]


def _searches(tag: TagExplanation, target: int, original: np.ndarray, settings: ExplainSettings,
              layout: Layout) -> dict[Part, PartSearch]:
    k = settings.self_check_k
    if tag.error is not None or k == 0:
        return {}
    goal = goal_rank(original, target)
    # a tag last on the original keeps its place on any mix: there is nothing to search for
    order = top_components(np.asarray(tag.weights), layout.n_components) if goal < len(original) else []
    return {part: PartSearch(part, target, goal, order, layout.n_components, k, settings.verification.budget,
                             VERIFICATION_POOL, len(original)) for part in Part}


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
