"""`explain()`: every step of audioLIME composed, for in-process use.

Each step is also a function of its own, so the worker can run them apart
(checkpointing predictions, sending batches concurrently).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Sequence

import numpy as np

from .audio import as_waveform, check_sample_rate
from .components import DEFAULT_FADE_SECONDS, MAX_FADE_SECONDS, Factorization
from .errors import InvalidOptionError, InvalidSourcesError, TaggerError
from .explanation import Explanation, TagExplanation
from .mixing import Mixer
from .perturbations import Perturbations, mask_key, perturb
from .segments import Segment, equal_segments, segments_from_boundaries
from .selfcheck import check_masks, evaluate
from .separation import Separator
from .sources import Sources
from .surrogate import SurrogateOptions, fit_surrogates
from .tagger import Predictions, Tagger, check_predictions
from .targets import resolve_targets

Progress = Callable[[int, int], None]  # (done, total) tagger calls


@dataclass(frozen=True)
class ExplainSettings:
    samples: int = 2048
    seed: int = 0
    segments: int | tuple[float, ...] | None = None  # a count, inner boundaries in s, or ~1/s up to 10
    residual: bool = False
    fade_seconds: float = DEFAULT_FADE_SECONDS
    tags: tuple[str, ...] = ()
    top_k: int = 1
    surrogate: SurrogateOptions = field(default_factory=SurrogateOptions)
    self_check_k: int = 3
    batch_size: int = 32

    def __post_init__(self):
        for name in ("samples", "self_check_k", "batch_size", "top_k"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "self_check_k" else 1):
                raise InvalidOptionError(f"{name} must be a {'non-negative' if name == 'self_check_k' else 'positive'} integer, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidOptionError(f"seed must be a non-negative integer, got {self.seed!r}")
        if isinstance(self.fade_seconds, bool) or not isinstance(self.fade_seconds, (int, float)) \
                or not 0.0 <= self.fade_seconds <= MAX_FADE_SECONDS:
            raise InvalidOptionError(f"fade_seconds must be 0 to {MAX_FADE_SECONDS} s, got {self.fade_seconds!r}")
        if self.samples < 2:
            raise InvalidOptionError(f"samples must be at least 2 (the original and one more), got {self.samples}")
        if isinstance(self.segments, list):
            object.__setattr__(self, "segments", tuple(self.segments))
        if isinstance(self.surrogate, dict):
            object.__setattr__(self, "surrogate", SurrogateOptions(**self.surrogate))
        object.__setattr__(self, "tags", tuple(self.tags))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["surrogate"] = self.surrogate.to_dict()
        data["segments"] = list(self.segments) if isinstance(self.segments, tuple) else self.segments
        data["tags"] = list(self.tags)
        return data


def factorize(waveform: np.ndarray, sample_rate: int, sources: Sources,
              settings: ExplainSettings) -> Factorization:
    """Sources × segments at the sources' rate, with the residual when asked for."""
    waveform, sample_rate = as_waveform(waveform), check_sample_rate(sample_rate)
    if settings.residual:
        sources = sources.with_residual(waveform, sample_rate)
    elif sources.sample_rate == sample_rate:
        sources.check_fits(waveform)
    return Factorization(sources, segments_for(settings, sources.n_samples, sources.sample_rate),
                         settings.fade_seconds)


def segments_for(settings: ExplainSettings, n_samples: int, sample_rate: int) -> list[Segment]:
    """The settings' segments for audio of this length (also how the API checks them up front)."""
    if isinstance(settings.segments, tuple):
        return segments_from_boundaries(settings.segments, n_samples, sample_rate)
    return equal_segments(n_samples, sample_rate, settings.segments)


def predict_masks(mixer: Mixer, masks: np.ndarray, tagger: Tagger, batch_size: int,
                  progress: Progress | None = None, labels: Sequence[str] | None = None) -> Predictions:
    """The tagger's scores for every mask, mixed and sent batch by batch."""
    parts, done = [], 0
    for rows, mixes in mixer.batches(masks, batch_size):
        predictions = check_predictions(tagger.predict(mixes), len(mixes), labels)
        labels = predictions.labels
        parts.append(predictions.scores)
        done += len(mixes)
        if progress:
            progress(done, len(masks))
    return Predictions(tuple(labels), np.concatenate(parts))


def explain_tags(factorization: Factorization, perturbations: Perturbations, predictions: Predictions,
                 targets: list[int], settings: ExplainSettings) -> list[TagExplanation]:
    """Surrogates for the target tags from the predictions of the unique masks.

    All tags are fitted together (one ridge solve); should that fail, each tag is
    fitted alone, so one tag that cannot be fitted is reported on that tag only.
    """
    scores = predictions.scores[:, targets]
    try:
        fits = fit_surrogates(perturbations.unique, scores, settings.surrogate, counts=perturbations.counts)
    except FIT_ERRORS:
        fits = [_fit_one(perturbations, scores[:, [column]], settings) for column in range(len(targets))]
    return [_tag_explanation(predictions, t, fit, factorization.n_components) for t, fit in zip(targets, fits)]


FIT_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError)
NO_POSITIVE = "no component has a positive weight: there is no top-k mix to check"


def _fit_one(perturbations: Perturbations, scores: np.ndarray, settings: ExplainSettings):
    try:
        return fit_surrogates(perturbations.unique, scores, settings.surrogate, counts=perturbations.counts)[0]
    except FIT_ERRORS as exc:
        return exc


def _tag_explanation(predictions: Predictions, target: int, fit, n_components: int) -> TagExplanation:
    original = float(predictions.scores[0, target])
    if isinstance(fit, Exception):  # weights of zero, flagged: no claim is made for this tag
        explained = TagExplanation(predictions.labels[target], original, [0.0] * n_components, original, 0.0,
                                   original)
        explained.fail("fitting", f"the surrogate could not be fitted: {type(fit).__name__}: {fit}")
        return explained
    return TagExplanation(predictions.labels[target], original, fit.weights.tolist(), fit.intercept, fit.score,
                          fit.local_prediction)


def self_check(explained: list[TagExplanation], perturbations: Perturbations, predictions: Predictions,
               predict: Callable[[np.ndarray], np.ndarray], k_max: int) -> int:
    """Fill in each tag's self-check table; masks already heard are not asked again.

    Returns the check masks asked for. A tag with no positive weight gets an empty
    table and a note; a tagger that fails on the check mixes is reported on every
    tag that needed them, and the weights, already paid for, are kept.
    """
    if k_max == 0:
        return 0
    known = {mask_key(m): i for i, m in enumerate(perturbations.unique)}
    per_tag = [check_masks(np.asarray(t.weights), k_max) if t.error is None else None for t in explained]
    wanted = {mask_key(m): m for masks in per_tag if masks is not None for m in masks if mask_key(m) not in known}
    try:
        fresh = dict(zip(wanted, predict(np.array(list(wanted.values()))))) if wanted else {}
    except TaggerError as exc:
        for tag, masks in zip(explained, per_tag):
            if masks is not None and any(mask_key(m) in wanted for m in masks):
                tag.fail("checking", f"the tagger could not score the self-check mixes: {exc}")
        fresh = {}
    for tag, masks in zip(explained, per_tag):
        if masks is not None and tag.error is None:
            _check_tag(tag, masks, known, fresh, predictions)
    return len(wanted)


def _check_tag(tag: TagExplanation, masks: np.ndarray, known: dict, fresh: dict, predictions: Predictions) -> None:
    if len(masks) == 0:
        tag.self_check_note = NO_POSITIVE
        return
    try:
        scores = np.array([fresh[k] if k in fresh else predictions.scores[known[k]] for k in map(mask_key, masks)])
        tag.self_check = evaluate(np.asarray(tag.weights), predictions.labels.index(tag.tag), predictions.labels,
                                  scores.reshape(len(masks), len(predictions.labels)))
    except FIT_ERRORS as exc:
        tag.fail("checking", f"the self-check could not be evaluated: {type(exc).__name__}: {exc}")


def assemble(factorization: Factorization, explained: list[TagExplanation], settings: ExplainSettings,
             stats: dict, provenance: dict) -> Explanation:
    return Explanation(
        components=factorization.components,
        sources=list(factorization.sources.names),
        segments=[(s.start_seconds, s.end_seconds) for s in factorization.segments],
        residual=settings.residual,
        tags=explained,
        settings=settings.to_dict(),
        stats=stats,
        provenance=provenance,
    )


def explain(waveform: np.ndarray, sample_rate: int, tagger: Tagger, settings: ExplainSettings | None = None,
            *, sources: Sources | None = None, separator: Separator | None = None,
            progress: Progress | None = None) -> Explanation:
    """Explain the tagger's prediction for one clip, in process."""
    settings = settings or ExplainSettings()
    if (sources is None) == (separator is None):
        raise InvalidSourcesError("pass exactly one of `sources` (provided stems) or `separator`")
    if sources is None:
        sources = separator.separate(as_waveform(waveform), sample_rate)
    factorization = factorize(waveform, sample_rate, sources, settings)
    mixer = Mixer(factorization.conform(tagger.sample_rate, tagger.channels))
    perturbations = perturb(factorization.n_components, settings.samples, settings.seed)
    predictions = predict_masks(mixer, perturbations.unique, tagger, settings.batch_size, progress)
    targets = resolve_targets(predictions.labels, predictions.scores[0], settings.tags, settings.top_k)
    explained = explain_tags(factorization, perturbations, predictions, targets, settings)

    def predict(masks):
        return predict_masks(mixer, masks, tagger, settings.batch_size, labels=predictions.labels).scores

    check_calls = self_check(explained, perturbations, predictions, predict, settings.self_check_k)
    stats = {"samples": perturbations.n_samples, "unique_masks": len(perturbations.unique),
             "exhaustive": perturbations.exhaustive, "tagger_calls": len(perturbations.unique) + check_calls}
    provenance = {"separator": getattr(separator, "model_id", "provided"),
                  "tagger_labels": list(predictions.labels)}
    return assemble(factorization, explained, settings, stats, provenance)
