"""The surrogate: kernel-weighted ridge regression on the masks, one per tag."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np
from sklearn.linear_model import Ridge, lars_path

from .errors import InvalidOptionError

ROUNDING_ZERO = 1e-10  # of the tag's largest score: below it a weight is floating-point noise
AUTO_FORWARD_SELECTION_MAX = 6  # LIME's threshold between forward selection and highest weights


class FeatureSelection(str, Enum):
    NONE = "none"
    HIGHEST_WEIGHTS = "highest_weights"
    FORWARD_SELECTION = "forward_selection"
    LASSO_PATH = "lasso_path"
    AUTO = "auto"

    @classmethod
    def parse(cls, value) -> "FeatureSelection":
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise InvalidOptionError(f"unknown feature selection {value!r}; use one of {allowed}") from None


@dataclass(frozen=True)
class SurrogateOptions:
    kernel_width: float = 0.25
    alpha: float = 1.0
    feature_selection: FeatureSelection = FeatureSelection.NONE
    num_features: int | None = None  # None: every component

    def __post_init__(self):
        object.__setattr__(self, "feature_selection", FeatureSelection.parse(self.feature_selection))
        for name in ("kernel_width", "alpha"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidOptionError(f"{name} must be a number, got {value!r}")
        if self.num_features is not None and (isinstance(self.num_features, bool)
                                              or not isinstance(self.num_features, int)):
            raise InvalidOptionError(f"num_features must be an integer or null, got {self.num_features!r}")
        if not self.kernel_width > 0:
            raise InvalidOptionError(f"kernel_width must be positive, got {self.kernel_width}")
        if not self.alpha >= 0:
            raise InvalidOptionError(f"alpha must be zero or positive, got {self.alpha}")
        if self.num_features is not None and (isinstance(self.num_features, bool) or self.num_features < 1):
            raise InvalidOptionError(f"num_features must be a positive integer, got {self.num_features}")

    def to_dict(self) -> dict:
        return {"kernel_width": self.kernel_width, "alpha": self.alpha,
                "feature_selection": self.feature_selection.value, "num_features": self.num_features}


@dataclass(frozen=True)
class SurrogateFit:
    weights: np.ndarray  # (d',) zero for components not selected
    intercept: float
    score: float  # weighted R² on the samples
    local_prediction: float  # the surrogate's prediction for the original (all on)
    selected: list[int] = field(default_factory=list)


def kernel_weights(masks: np.ndarray, width: float) -> np.ndarray:
    """LIME's exponential kernel over the cosine distance to the all-on mask."""
    on = masks.sum(axis=1, dtype=np.float64)
    distance = 1.0 - np.sqrt(on / masks.shape[1])  # cosine distance to all-on; 1 for all-off
    return np.sqrt(np.exp(-(distance ** 2) / width ** 2))


def fit_surrogates(masks: np.ndarray, scores: np.ndarray, options: SurrogateOptions,
                   counts: np.ndarray | None = None) -> list[SurrogateFit]:
    """Fit one surrogate per column of `scores` (N, T); `counts` weighs repeated masks."""
    masks = np.asarray(masks, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64).reshape(len(masks), -1)
    weights = kernel_weights(masks, options.kernel_width)
    if counts is not None:
        weights = weights * counts
    n_features = min(options.num_features or masks.shape[1], masks.shape[1])
    mode = _resolve_mode(options.feature_selection, n_features, masks.shape[1])
    if mode is FeatureSelection.NONE:
        return _fit_selected(masks, scores, weights, list(range(masks.shape[1])), options.alpha)
    return [
        _fit_selected(masks, scores[:, [t]], weights,
                      _select(mode, masks, scores[:, t], weights, n_features, options.alpha), options.alpha)[0]
        for t in range(scores.shape[1])
    ]


def _resolve_mode(mode: FeatureSelection, n_features: int, n_components: int) -> FeatureSelection:
    if mode is FeatureSelection.AUTO:
        mode = (FeatureSelection.FORWARD_SELECTION if n_features <= AUTO_FORWARD_SELECTION_MAX
                else FeatureSelection.HIGHEST_WEIGHTS)
    if mode is not FeatureSelection.NONE and n_features >= n_components:
        return FeatureSelection.NONE  # selecting every feature is no selection
    return mode


def _fit_selected(masks, scores, weights, selected: list[int], alpha: float) -> list[SurrogateFit]:
    """One ridge fit for all columns of `scores` on the selected components."""
    x = masks[:, selected]
    if selected:
        model = Ridge(alpha=alpha, fit_intercept=True).fit(x, scores, sample_weight=weights)
        coefs, intercepts = np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_)
    else:  # nothing selected (a flat target): the surrogate is its weighted mean
        coefs = np.zeros((scores.shape[1], 0))
        intercepts = np.average(scores, axis=0, weights=weights)
    coefs = _numerical_zeros(coefs, scores)
    predicted = x @ coefs.T + intercepts
    fits = []
    for t in range(scores.shape[1]):
        full = np.zeros(masks.shape[1])
        coef = coefs[t]
        full[selected] = coef
        intercept = float(intercepts[t])
        fits.append(SurrogateFit(full, intercept, weighted_r2(scores[:, t], predicted[:, t], weights),
                                 float(intercept + coef.sum()), list(selected)))
    return fits


def _numerical_zeros(coefs: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Weights within rounding error of zero, made zero: a tag the tagger scores alike for
    every mix must weigh nothing, not ±1e-17 that the self-check would take for a signal."""
    scale = np.abs(scores).max(axis=0, initial=0.0)[:, np.newaxis]  # one row of coefs per tag
    return np.where(np.abs(coefs) <= ROUNDING_ZERO * scale, 0.0, coefs)


def weighted_r2(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> float:
    mean = np.average(truth, weights=weights)
    total = np.sum(weights * (truth - mean) ** 2)
    if total == 0.0:
        return 1.0 if np.allclose(truth, predicted) else 0.0
    return float(1.0 - np.sum(weights * (truth - predicted) ** 2) / total)


def _select(mode, masks, target, weights, n_features: int, alpha: float) -> list[int]:
    if mode is FeatureSelection.FORWARD_SELECTION:
        return _forward_selection(masks, target, weights, n_features, alpha)
    if mode is FeatureSelection.HIGHEST_WEIGHTS:
        return _highest_weights(masks, target, weights, n_features, alpha)
    return _lasso_path(masks, target, weights, n_features)


def _forward_selection(masks, target, weights, n_features, alpha) -> list[int]:
    selected: list[int] = []
    for _ in range(n_features):
        candidates = [f for f in range(masks.shape[1]) if f not in selected]
        scores = [_ridge_r2(masks[:, selected + [f]], target, weights, alpha) for f in candidates]
        selected.append(candidates[int(np.argmax(scores))])
    return sorted(selected)


def _ridge_r2(x, target, weights, alpha) -> float:
    model = Ridge(alpha=alpha, fit_intercept=True).fit(x, target, sample_weight=weights)
    return weighted_r2(target, model.predict(x), weights)


def _highest_weights(masks, target, weights, n_features, alpha) -> list[int]:
    coef = Ridge(alpha=alpha, fit_intercept=True).fit(masks, target, sample_weight=weights).coef_
    return sorted(np.argsort(-np.abs(coef), kind="stable")[:n_features].tolist())


def _lasso_path(masks, target, weights, n_features) -> list[int]:
    """The last point on the lasso path that uses at most `n_features` components."""
    root = np.sqrt(weights / weights.sum())
    x = (masks - np.average(masks, axis=0, weights=weights)) * root[:, None]
    y = (target - np.average(target, weights=weights)) * root
    _, _, coefs = lars_path(x, y, method="lasso")
    for column in range(coefs.shape[1] - 1, -1, -1):
        nonzero = np.flatnonzero(coefs[:, column])
        if len(nonzero) <= n_features:
            return nonzero.tolist()
    return []
