"""The one explanation loop: rounds of masks, a refit and a stability estimate after each, a
decision to stop, then the checks (checking.py: the self-check, the tagger's baseline and the
searches for verified sufficient and necessary parts, with deletion and random baselines when
asked), step by step until every search has ended. In process (`explain`) and in the service (the RQ job)
alike, a driver only answers the explainer's queries:

    explainer = Explainer(factorization, settings)
    explanation = explainer.run(ask)       # ask(query) -> Predictions for query.masks

The driver owns how masks are heard (batches in flight, a checkpoint, cancellation);
the explainer owns which masks, in which order, and when it is enough. Answers the
driver already has (a checkpoint, an earlier job's) go in first with `remember`: the
explainer then asks only for what it lacks, so a resumed run replays the same rounds,
reaches the same stop, and never asks a mask twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable, Mapping

import numpy as np

from .components import Factorization
from .errors import TaggerError
from .explanation import Explanation, TagExplanation
from .mixing import Off
from .perturbations import Heard, answer_key, draw_rows, mask_key
from .adjustment import adjusted_fits, adjusted_with_covariance, describe as describe_adjustment, neighbourhoods
from .sampling import ClaimKind, Estimator, MaskStream, StopReason, Strategy, all_masks, exhaustive_fits, schedule
from .sequential import Inference, Looks
from .settings import ExplainSettings
from .stability import claim, group_shares, ridge_with_covariance, weight_errors
from .surrogate import FeatureSelection, fit_surrogates, kernel_weights
from .tagger import Predictions, check_predictions
from .targets import resolve_targets
from . import checking


FIT_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError)


def _fit_one(masks, scores, options, counts):
    try:
        return fit_surrogates(masks, scores, options, counts=counts)[0]
    except FIT_ERRORS as exc:
        return exc


def _unfitted(tag: str, original: float, n_components: int, error: Exception) -> TagExplanation:
    explained = TagExplanation(tag, original, [0.0] * n_components, original, 0.0, original)
    explained.fail("fitting", f"the surrogate could not be fitted: {type(error).__name__}: {error}")
    return explained


class Phase(str, Enum):
    SAMPLING = "sampling"
    CHECKING = "checking"


@dataclass(frozen=True, eq=False)
class Query:
    """Masks the tagger must score next, and where the run stands."""
    masks: np.ndarray  # (n, d') bool, distinct, none answered yet
    phase: Phase
    answered: int  # distinct masks answered so far (asked, resumed or reused)
    cap: int  # the most distinct masks this run may need, the self-check aside
    confidence: float | None  # the lowest claim confidence over the explained tags, after the last round
    off: Off = Off.SILENCE  # how to switch components off in these masks' mixes
    keys: tuple[bytes, ...] = ()  # the key each mask's answer is remembered by (answer_key)
    settled: int | None = None  # the confident prefix every explained tag has reached (Claim.settled)


Ask = Callable[[Query], Predictions]


class Explainer:
    def __init__(self, factorization: Factorization, settings: ExplainSettings):
        self.factorization, self.settings = factorization, settings
        self.plan = settings.sampling_plan()
        d = factorization.n_components
        self._answers: dict[bytes, np.ndarray] = {}
        self._reused: set[bytes] = set()
        self._asked_aside: set[bytes] = set()  # answers the driver asked outside the queries
        self.labels: tuple[str, ...] | None = None
        self.exhaustive = exhaustive_fits(d, self.plan.max_samples)
        self._stream = MaskStream(d, settings.seed, self.plan.design)
        self._looks = [2 ** d] if self.exhaustive else schedule(self.plan)
        self._look = 0
        self._cap: int | None = None
        self.phase: Phase | None = Phase.SAMPLING
        self.stop_reason: StopReason | None = None
        self.targets: list[int] | None = None
        self.claims: list = []
        self.trace: list[tuple[int, float]] = []  # (draws, lowest confidence) after each round
        self._off = {Phase.SAMPLING: settings.off, Phase.CHECKING: settings.check_off}
        self._layout = checking.Layout(tuple(factorization.sources.names), len(factorization.segments),
                                       tuple(c.name for c in factorization.components), self._off[Phase.CHECKING])
        self._checks = checking.Checks.none([], self._layout)
        self.check_error: TaggerError | None = None
        # the interaction sets the adjusted estimate's g chooses among: fixed by the layout, built once
        self._interactions = (neighbourhoods(len(factorization.sources.names), len(factorization.segments))
                              if self._adjusted else None)

    # -- what the driver has -------------------------------------------------------------------
    def remember(self, answers: Mapping[bytes, np.ndarray], labels, reused: bool = False,
                 asked: bool = False) -> None:
        """Answers the driver already holds, by answer key (a checkpoint, or an earlier job's).
        `asked`: the driver asked the tagger for them itself in this run (re-asking reused answers
        to check them), so they count as this run's tagger calls whether the run uses them or not."""
        if not answers:
            return
        self._check_labels(tuple(labels))
        keys = list(answers)
        # answers kept under another order of the same tags are aligned, column by column
        aligned = check_predictions(Predictions(tuple(labels), np.stack([answers[k] for k in keys])), len(keys),
                                    self.labels)
        self._answers.update(zip(keys, aligned.scores))
        if reused:
            self._reused |= set(keys)
        if asked:
            self._asked_aside |= set(keys)

    def answer(self, masks: np.ndarray, predictions: Predictions, off: Off | None = None) -> None:
        """The tagger's answers to these masks' mixes, made with `off` (default: the phase's)."""
        predictions = check_predictions(predictions, len(masks), self.labels)
        self._check_labels(predictions.labels)
        off = off or self._off[self.phase or Phase.CHECKING]
        for mask, scores in zip(masks, predictions.scores):
            self._answers[answer_key(mask, off)] = np.asarray(scores, dtype=np.float64)

    def _check_labels(self, labels: tuple[str, ...]) -> None:
        if self.labels is None:
            self.labels = labels
        elif set(labels) != set(self.labels):
            raise TaggerError(f"the tagger's tags changed between answers: {sorted(set(labels) ^ set(self.labels))}")

    # -- the loop ------------------------------------------------------------------------------
    def run(self, ask: Ask) -> Explanation:
        while (query := self.next_query()) is not None:
            try:
                predictions = ask(query)
            except TaggerError as exc:
                if query.phase is not Phase.CHECKING:
                    raise
                self.check_error = exc  # the weights are paid for: keep them, say the check failed
                self.phase = None
                break
            self.answer(query.masks, predictions, query.off)
        return self.explanation()

    def next_query(self) -> Query | None:
        """The next masks to score, or None when the explanation is complete."""
        while self.phase is not None:
            wanted, answered = self._wanted()
            if len(wanted):
                # the most still to come: during sampling, the cap and every check mix it may need
                tags = len(self.targets or self.settings.tags or [None] * self.settings.top_k)
                most = checking.most_masks(self.settings, tags, len(self._layout.sources))
                cap = self.cap + most if self.phase is Phase.SAMPLING else answered + len(wanted)
                off = self._off[self.phase]
                return Query(wanted, self.phase, answered, cap, self.confidence, off,
                             tuple(answer_key(m, off) for m in wanted), self.settled)
            self._advance()
        return None

    def _wanted(self) -> tuple[np.ndarray, int]:
        """This phase's distinct masks not answered yet, and how many of the run's masks are answered."""
        parts = [(self._round_masks(), self._off[Phase.SAMPLING])]
        if self.phase is Phase.CHECKING:
            parts.append((self._checks.masks(), self._off[Phase.CHECKING]))
        seen, wanted, answered = set(), [], 0
        for masks, off in parts:
            for mask in masks:
                key = answer_key(mask, off)
                if key in seen:
                    continue
                seen.add(key)
                if key in self._answers:
                    answered += 1
                else:
                    wanted.append(mask)
        return np.array(wanted, dtype=bool).reshape(-1, self.factorization.n_components), answered

    def _advance(self) -> None:
        if self.phase is Phase.SAMPLING:
            self._evaluate_round()
        elif not self._checks.advance(self._heard(), self.labels):  # a search may want another step
            self.phase = None

    def _evaluate_round(self) -> None:
        if self.targets is None:
            original = self._answers[answer_key(np.ones(self.factorization.n_components, dtype=bool),
                                                self._off[Phase.SAMPLING])]
            self.targets = resolve_targets(self.labels, original, self.settings.tags, self.settings.top_k)
        self.claims = self._claims()
        self.trace.append((self.n_draws, self.confidence))
        last = self._look == len(self._looks) - 1
        adaptive = self.plan.strategy is Strategy.ADAPTIVE
        if self.exhaustive or last or (adaptive and all(c.converged for c in self.claims)):
            self.stop_reason = (StopReason.EXHAUSTIVE if self.exhaustive else StopReason.FIXED if not adaptive
                                else StopReason.CONVERGED if all(c.converged for c in self.claims)
                                else StopReason.MAX_SAMPLES)
            self.phase = Phase.CHECKING if self.settings.self_check_k else None
            self._checks = self._plan_checks()
        else:
            self._look += 1

    # -- the masks -----------------------------------------------------------------------------
    @property
    def n_draws(self) -> int:
        return self._looks[self._look]

    @property
    def cap(self) -> int:
        """The most distinct masks the sampling may need: those of the last look's draws."""
        if self._cap is None:
            last = all_masks(self.factorization.n_components) if self.exhaustive else self._stream.first(self._looks[-1])
            self._cap = len({mask_key(m) for m in last})
        return self._cap

    @property
    def confidence(self) -> float | None:
        return min((c.confidence for c in self.claims), default=None)

    @property
    def settled(self) -> int | None:
        """How many top components every explained tag has already settled (None before a fit)."""
        return min((c.settled for c in self.claims), default=None)

    def _round_masks(self) -> np.ndarray:
        if self.exhaustive:
            return all_masks(self.factorization.n_components)
        return self._stream.first(self.n_draws)

    def _sample(self):
        """The draws so far as distinct masks, the distinct mask of each draw, and the units."""
        draws = self._round_masks()
        distinct, rows = draw_rows(draws)
        units = np.arange(len(draws)) if self.exhaustive else self._stream.clusters(len(draws))
        scores = np.stack([self._answers[answer_key(m, self._off[Phase.SAMPLING])] for m in distinct])
        return distinct, rows, units, scores

    # -- fitting and claims ----------------------------------------------------------------------
    def _fit(self):
        distinct, rows, units, scores = self._sample()
        options = self.settings.surrogate
        kernel = kernel_weights(distinct, options.kernel_width)
        if self._adjusted:
            stats, intercepts = adjusted_with_covariance(distinct, rows, units, scores[:, self.targets], kernel,
                                                         options.alpha, options.kernel_width, self._interactions)
            return distinct, rows, scores, stats, intercepts
        stats = ridge_with_covariance(distinct, rows, units, scores[:, self.targets], kernel, options.alpha,
                                      self.exhaustive)
        return distinct, rows, scores, stats, None

    @property
    def _adjusted(self) -> bool:
        """Regression adjustment samples what interactions of components leave; every mask asked leaves nothing."""
        return self.plan.estimator is Estimator.ADJUSTED and not self.exhaustive

    def _claims(self) -> list:
        stats = self._fit()[3]
        sampling = self.plan
        tolerant = sampling.claim is ClaimKind.TOLERANT
        return [claim(stats.weights[t], stats.covariance[t], stats.df, sampling.top_k, sampling.tolerance,
                      sampling.confidence, self.looks, tolerant) for t in range(len(self.targets))]

    @property
    def looks(self) -> Looks:
        """Where the run may stop, and so what a claim made at one of them costs."""
        if self.exhaustive or self.plan.strategy is Strategy.FIXED:
            return Looks((self._looks[-1],), self.plan.inference)
        return Looks(tuple(self._looks), self.plan.inference)

    def explained(self) -> list[TagExplanation]:
        """The surrogates of the explained tags: all tags fitted together (one ridge solve); should
        that fail, each alone, so a tag that cannot be fitted is reported on that tag only."""
        distinct, rows, scores, stats, intercepts = self._fit()
        counts = np.bincount(rows, minlength=len(distinct))
        targets = scores[:, self.targets]
        if intercepts is not None:  # the adjusted estimate is the surrogate
            fits = adjusted_fits(distinct, targets, counts, stats.weights, intercepts,
                                 self.settings.surrogate.kernel_width)
        else:
            try:
                fits = fit_surrogates(distinct, targets, self.settings.surrogate, counts=counts)
            except FIT_ERRORS:
                fits = [_fit_one(distinct, targets[:, [t]], self.settings.surrogate, counts)
                        for t in range(len(self.targets))]
        tags = []
        for t, (target, fit) in enumerate(zip(self.targets, fits)):
            original = float(scores[0, target])
            if isinstance(fit, Exception):  # weights of zero, flagged: no claim is made for this tag
                tags.append(_unfitted(self.labels[target], original, distinct.shape[1], fit))
                continue
            explained = TagExplanation(self.labels[target], original, fit.weights.tolist(),
                                       fit.intercept, fit.score, fit.local_prediction)
            _attach_weight_errors(explained, fit.weights, stats.covariance[t])
            explained.stability = self._stability(t, len(rows), len(distinct))
            explained.groups = self._groups(stats.weights[t], stats.covariance[t])
            tags.append(explained)
        return tags

    def _stability(self, t: int, draws: int, distinct: int) -> dict:
        fit = describe_adjustment() if self._adjusted else "weighted ridge"
        method = ("exact: every mask asked once" if self.exhaustive else
                  f"cluster-robust sandwich covariance of the {fit} ({self.plan.design.value} draws), "
                  f"t quantiles, {self._paying()}")
        if self.settings.surrogate.feature_selection is not FeatureSelection.NONE:
            method += "; the claim is about the full ridge fit (feature selection not applied)"
        return {**self.claims[t].to_dict(), "samples_used": draws, "distinct_masks": distinct,
                "tolerance": self.plan.tolerance, "target": self.plan.confidence, "kind": self.plan.claim.value,
                "method": method}

    def _paying(self) -> str:
        if self.plan.inference is Inference.BONFERRONI:
            return f"a union bound over the statements, {self.looks.describe()}"
        return f"the statements' joint normal law (step-down max-t), {self.looks.describe()}"

    def _groups(self, weights: np.ndarray, covariance: np.ndarray) -> dict:
        f = self.factorization
        by_source = {name: [c.index for c in f.components if c.source == name] for name in f.sources.names}
        by_segment = {str(s.index): [c.index for c in f.components if c.segment == s.index] for s in f.segments}
        segments = group_shares(weights, covariance, by_segment, self.settings.seed)
        for entry, segment in zip(segments, f.segments):
            entry.update(start=segment.start_seconds, end=segment.end_seconds)
        return {"sources": group_shares(weights, covariance, by_source, self.settings.seed), "segments": segments}

    # -- the checks: self-check, baseline, verified parts; faithfulness when asked ----------------
    def _plan_checks(self) -> checking.Checks:
        self._final = self.explained()
        original = self._answers[answer_key(np.ones(self.factorization.n_components, dtype=bool),
                                            self._off[Phase.SAMPLING])]
        return checking.Checks.plan(self._final, self.targets, original, self.settings, self._layout)

    def explanation(self) -> Explanation:
        if not hasattr(self, "_final"):
            self._final = self.explained()
            self._checks = checking.Checks.none(self._final, self._layout)
        # what the searches found already answered: the self-check's mixes, and the sampled ones when
        # they were made the same way
        free = {mask_key(m) for m in self._checks.self_check_masks()}
        if self._off[Phase.SAMPLING] is self._off[Phase.CHECKING]:
            free |= {mask_key(m) for m in self._round_masks()}
        overview = self._checks.fill(self._final, self._heard(), self.labels, self.check_error, free)
        return Explanation(
            components=self.factorization.components,
            sources=list(self.factorization.sources.names),
            segments=[(s.start_seconds, s.end_seconds) for s in self.factorization.segments],
            residual=self.settings.residual, tags=self._final, settings=self.settings.to_dict(),
            stats=self.stats(), provenance={}, baseline=overview)

    def samples(self) -> dict:
        """What the explanation was fitted on: distinct masks, how often each was drawn, and the
        tagger's scores for every label (so it can be refitted, audited or reproduced elsewhere)."""
        distinct, rows, units, scores = self._sample()
        return {"masks": distinct, "counts": np.bincount(rows, minlength=len(distinct)), "scores": scores,
                "draws": rows, "units": units,  # the adjusted estimate folds the draws by unit
                "labels": list(self.labels), "exhaustive": self.exhaustive,
                "estimator": "adjusted" if self._adjusted else "plain",
                "kernel_width": self.settings.surrogate.kernel_width, "alpha": self.settings.surrogate.alpha}

    def _heard(self) -> Heard:
        """The answers to the check phase's mixes, by mask key."""
        return Heard(self._answers, self._off[Phase.CHECKING])

    def stats(self) -> dict:
        sampled, checked = self._off[Phase.SAMPLING], self._off[Phase.CHECKING]
        sample_keys = {answer_key(m, sampled) for m in self._round_masks()}
        check_keys = {answer_key(m, checked) for m in self._checks.self_check_masks()}
        verifying = {answer_key(m, checked) for m in np.concatenate([self._checks.baseline_masks(),
                                                                     self._checks.search_masks(every=True)])}
        verifying -= sample_keys | check_keys
        # a faithfulness mask the sampling, the self-check or the searches needed anyway is not extra
        extra = ({answer_key(m, checked) for m in self._checks.faithfulness_masks()}
                 - sample_keys - check_keys - verifying)
        asked = set(self._answers) - self._reused
        used = (sample_keys | check_keys | extra | verifying) & set(self._answers)
        return {"samples": self.n_draws, "unique_masks": len(sample_keys), "exhaustive": self.exhaustive,
                "strategy": self.plan.strategy.value, "design": self.plan.design.value,
                "stop_reason": self.stop_reason.value if self.stop_reason else None,
                "rounds": len(self.trace), "confidence_trace": [[n, c] for n, c in self.trace],
                "tagger_calls": len(used & asked) + len(self._asked_aside - used),
                "reused": len(used & self._reused),
                "faithfulness_calls": len(extra & asked), "verification_calls": len(verifying & asked)}


def _attach_weight_errors(explained: TagExplanation, weights: np.ndarray, covariance: np.ndarray) -> None:
    """Standard errors and intervals of the weights, or null with the reason: with fewer independent
    masks than parameters the covariance is infinite, and Infinity is no JSON number."""
    se, half = weight_errors(covariance)
    if not np.all(np.isfinite(se)):
        explained.weight_se_note = ("fewer independent masks than components + 1: the weights' standard "
                                    "errors cannot be estimated; ask for more samples")
        return
    explained.weight_se = se.tolist()
    explained.weight_interval = np.stack([weights - half, weights + half], axis=1).tolist()
