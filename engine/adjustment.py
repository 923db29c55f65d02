"""The regression-adjusted estimate of the surrogate's weights: the same weights, from fewer masks.

What an explanation estimates is LIME's fit with unlimited masks: the kernel-weighted linear
projection β* of the tagger over uniformly drawn masks. The plain fit's error comes from what the
linear surrogate misfits, and on real taggers most of that misfit is pairs of components acting
together (MSD_musicnn on the example clip: 84–98 % of it, kernel-weighted, over all 4,096 masks of
2 × 6). So the estimate is split in two (model-assisted estimation, as in survey sampling and
double machine learning):

    β̂ = P(g) + LS(y − g)

g is a ridge fit of the answers on the components and their pairs; P(g) is its projection over
*every* mask, computed exactly from the kernel's moments (the masks are uniform and the kernel
depends only on how many components are on, so every expectation is a sum over that count); LS is
the plain kernel-weighted fit of what g leaves. P is linear and exact, so β̂ estimates β* whatever
g is; only the residual part is sampled, and its error is the misfit of g, not of a line.

g is fitted on one half of the units (independent draws, or pairs) and its residual regressed on
the other half, and the halves swap (cross-fitting): g never fits the answers it corrects, so
its own noise does not leak into the estimate to first order. The covariance of β̂ is the
average of the halves' cluster-robust sandwiches — the same law stability.py claims from — plus
what g's own error may move in the other half's fit (second order in theory, but not small when g
has hundreds of features and a half a hundred units): estimated as the sandwich of the two halves'
g apart, which differ by about √2 times that error. g's ridge penalty is chosen per tag by
generalised cross-validation on its own half.
"""
from __future__ import annotations

from math import comb

import numpy as np

from .stability import Fit, ridge_with_covariance
from .surrogate import SurrogateFit, kernel_weights, weighted_r2

PENALTIES = np.array([1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0, 100.0])  # × the mean eigenvalue of g's weighted Gram


def adjusted_with_covariance(masks: np.ndarray, rows: np.ndarray, units: np.ndarray, scores: np.ndarray,
                             kernel: np.ndarray, alpha: float, kernel_width: float) -> tuple[Fit, np.ndarray]:
    """(Fit, intercepts (T,)) of the regression-adjusted estimate; the arguments as ridge_with_covariance's."""
    masks = np.asarray(masks, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64).reshape(len(masks), -1)
    halves = [units % 2 == 0, units % 2 == 1]
    if (int(units.max()) + 1 if len(units) else 0) < 4 or not all(h.any() for h in halves):
        plain = ridge_with_covariance(masks, rows, units, scores, kernel, alpha)  # too few to halve
        return plain, _intercept(masks, rows, kernel, scores, plain.weights)
    fitted = [Pairs.fit(masks, rows[h], scores, kernel) for h in halves]
    predictions = [g.predict(masks) for g in fitted]
    # what g's own error may add: the two halves' g differ by about √2 times it
    wobble = (predictions[0] - predictions[1]) / np.sqrt(2.0)
    projection = Projection(masks.shape[1], kernel_width)
    weights, intercepts, covariance, df = [], [], 0.0, 0.0
    for corrected, g, predicted in ((halves[1], fitted[0], predictions[0]), (halves[0], fitted[1], predictions[1])):
        _, corrected_units = np.unique(units[corrected], return_inverse=True)
        residual = scores - predicted
        fit = ridge_with_covariance(masks, rows[corrected], corrected_units, residual, kernel, alpha)
        error = ridge_with_covariance(masks, rows[corrected], corrected_units, wobble, kernel, alpha)
        g_intercept, g_weights = projection.of(g)
        weights.append(g_weights + fit.weights)
        intercepts.append(g_intercept + _intercept(masks, rows[corrected], kernel, residual, fit.weights))
        covariance = covariance + (fit.covariance + error.covariance) / 4.0
        df += fit.df
    return Fit(np.mean(weights, axis=0), covariance, df), np.mean(intercepts, axis=0)


def adjusted_fits(masks: np.ndarray, scores: np.ndarray, counts: np.ndarray, weights: np.ndarray,
                  intercepts: np.ndarray, kernel_width: float) -> list[SurrogateFit]:
    """The surrogates the adjusted estimate describes, as the plain fit reports them: weights,
    intercept, the weighted R² on the answered masks, and the prediction for the original."""
    omega = kernel_weights(masks.astype(np.float64), kernel_width) * counts
    predicted = intercepts + masks.astype(np.float64) @ weights.T
    return [SurrogateFit(weights[t].copy(), float(intercepts[t]), weighted_r2(scores[:, t], predicted[:, t], omega),
                         float(intercepts[t] + weights[t].sum()), list(range(masks.shape[1])))
            for t in range(scores.shape[1])]


def _intercept(masks, rows, kernel, residual, weights) -> np.ndarray:
    """The residual fit's intercept: its weighted mean minus the weights at the weighted mean mask."""
    omega = kernel * np.bincount(rows, minlength=len(masks))
    centre = omega @ masks.astype(np.float64) / omega.sum()
    return omega @ residual / omega.sum() - weights @ centre


class Pairs:
    """g: the answers as a ridge fit on the components and every pair of them (one penalty per tag)."""

    def __init__(self, d: int, intercepts: np.ndarray, linear: np.ndarray, pairs: np.ndarray):
        self.d, self.intercepts, self.linear, self.pairs = d, intercepts, linear, pairs  # (T,), (T, d), (T, d, d)

    @staticmethod
    def features(masks: np.ndarray) -> np.ndarray:
        x = masks.astype(np.float64)
        i, j = np.triu_indices(x.shape[1], 1)
        return np.concatenate([x, x[:, i] * x[:, j]], axis=1)

    @classmethod
    def fit(cls, masks: np.ndarray, rows: np.ndarray, scores: np.ndarray, kernel: np.ndarray) -> "Pairs":
        d = masks.shape[1]
        omega = kernel * np.bincount(rows, minlength=len(masks))
        used = omega > 0
        z, y, w = cls.features(masks[used]), scores[used], omega[used]
        z_mean, y_mean = w @ z / w.sum(), w @ y / w.sum()
        root = np.sqrt(w)[:, None]
        left, values, right = np.linalg.svd(root * (z - z_mean), full_matrices=False)
        projected = left.T @ (root * (y - y_mean))  # (r, T)
        squares = values ** 2
        scale = squares.sum() / z.shape[1] or 1.0  # the penalties' unit (1 when every mask is the same)
        best = None
        for penalty in PENALTIES * scale:  # generalised cross-validation, per tag
            shrink = squares / (squares + penalty)
            residual = root * (y - y_mean) - left @ (shrink[:, None] * projected)
            room = 1.0 - shrink.sum() / len(w)  # an all but interpolating fit is not a candidate
            gcv = (residual ** 2).sum(axis=0) / room ** 2 if room > 0.05 else np.full(y.shape[1], np.inf)
            if best is None:
                best, chosen = gcv, np.full(y.shape[1], penalty)
            else:
                better = gcv < best
                best, chosen = np.where(better, gcv, best), np.where(better, penalty, chosen)
        coefficients = np.stack([right.T @ (values / (squares + p) * projected[:, t]) for t, p in enumerate(chosen)])
        intercepts = y_mean - coefficients @ z_mean
        i, j = np.triu_indices(d, 1)
        pairs = np.zeros((y.shape[1], d, d))
        pairs[:, i, j] = coefficients[:, d:]
        return cls(d, intercepts, coefficients[:, :d], pairs)

    def predict(self, masks: np.ndarray) -> np.ndarray:
        x = masks.astype(np.float64)
        return self.intercepts + x @ self.linear.T + np.einsum("ni,tij,nj->nt", x, self.pairs, x)


class Projection:
    """The kernel-weighted linear projection over all 2^d masks, exactly, of a function of pairs.

    The kernel depends only on the count s of components on, so E[k · x_i1 ⋯ x_ir] is the same for
    every r distinct components: m_r = Σ_s κ(s) C(d − r, s − r) / 2^d."""

    def __init__(self, d: int, kernel_width: float):
        counts = (np.arange(d)[None, :] < np.arange(d + 1)[:, None])  # row s: s components on
        kappa = kernel_weights(counts.astype(np.float64), kernel_width)
        self.d = d
        self.m = [sum(kappa[s] * comb(d - r, s - r) for s in range(r, d + 1)) / 2.0 ** d for r in range(4)]
        m0, m1, m2, _ = self.m
        gram = np.full((d + 1, d + 1), m2)
        gram[0, :], gram[:, 0] = m1, m1
        gram[0, 0] = m0
        gram[np.arange(1, d + 1), np.arange(1, d + 1)] = m1
        self._gram = gram

    def of(self, g: Pairs) -> tuple[np.ndarray, np.ndarray]:
        """(intercepts (T,), weights (T, d)) of g's projection."""
        m0, m1, m2, m3 = self.m
        c = g.pairs + np.transpose(g.pairs, (0, 2, 1))  # symmetric, zero diagonal
        pair_total = g.pairs.sum(axis=(1, 2))  # Σ over pairs
        with_l = c.sum(axis=2)  # Σ over the pairs holding l
        linear_total = g.linear.sum(axis=1)
        rhs = np.empty((len(g.intercepts), self.d + 1))
        rhs[:, 0] = g.intercepts * m0 + m1 * linear_total + m2 * pair_total
        rhs[:, 1:] = (g.intercepts[:, None] * m1 + m1 * g.linear + m2 * (linear_total[:, None] - g.linear)
                      + m2 * with_l + m3 * (pair_total[:, None] - with_l))
        solved = np.linalg.solve(self._gram, rhs.T).T
        return solved[:, 0], solved[:, 1:]
