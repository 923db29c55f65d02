"""The regression-adjusted estimate of the surrogate's weights: the same weights, from fewer masks.

What an explanation estimates is LIME's fit with unlimited masks: the kernel-weighted linear
projection β* of the tagger over uniformly drawn masks. The plain fit's error comes from what the
linear surrogate misfits, and on real taggers that misfit is components acting together, mostly
where they are near in time. So the estimate is split in two (model-assisted estimation, as in survey sampling and
double machine learning):

    β̂ = P(g) + LS(y − g)

g is a ridge fit of the answers on the components and interactions of them (neighbourhoods():
the set chosen per tag); P(g) is its projection over *every* mask, computed exactly from the
kernel's moments (the masks are uniform and the kernel depends only on how many components are
on, so every expectation is a sum over that count, for a term of any order); LS is
the plain kernel-weighted fit of what g leaves. P is linear and exact, so β̂ estimates β* whatever
g is; only the residual part is sampled, and its error is the misfit of g, not of a line.

g is fitted on seven eighths of the units (independent draws, or pairs) and corrects the eighth
left out, eight times over (cross-fitting, FOLDS): g never fits the answers it corrects, so its own
noise does not leak into the estimate to first order. The corrected answers are pooled into one plain fit, so
the covariance of β̂ is that fit's cluster-robust sandwich — the same law stability.py claims from.
Its residuals are each from a g that did not see them, so they carry g's own error; what the
sandwich misses is second order (measured over 40–60 seeds of 128 and 256 masks: standard errors
1.0–1.08 times the error on MSD_musicnn at 2 × 6 and on a tagger that hears windows; the earlier
two halves, each g fitted on half the units, left 1.2–2.6 times this squared error on musicnn and
20–35 times on the windowed tagger, and four folds 6–10 % more than eight at 2 × 6). The folds cost
little more than one fit: each candidate's sums are taken once per fold, and the g that leaves a
fold out solves from the total minus that fold. g's interactions and ridge penalty are chosen per tag by
generalised cross-validation on its own folds.
"""
from __future__ import annotations

import itertools
from math import comb

import numpy as np
from scipy import linalg

from .stability import Fit, ridge_with_covariance
from .surrogate import SurrogateFit, kernel_weights, weighted_r2

FOLDS = 8  # g is fitted on seven eighths of the units and corrects the eighth left, eight times
PENALTIES = np.array([1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0, 100.0])  # × the mean eigenvalue of g's weighted Gram


def adjusted_with_covariance(masks: np.ndarray, rows: np.ndarray, units: np.ndarray, scores: np.ndarray,
                             kernel: np.ndarray, alpha: float, kernel_width: float,
                             candidates: list[Terms] | None = None) -> tuple[Fit, np.ndarray]:
    """(Fit, intercepts (T,)) of the regression-adjusted estimate; the arguments as ridge_with_covariance's,
    and the interaction sets g may choose among (neighbourhoods(); None: every pair)."""
    masks = np.asarray(masks, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64).reshape(len(masks), -1)
    folds = units % FOLDS
    if (int(units.max()) + 1 if len(units) else 0) < 2 * FOLDS or len(np.unique(folds)) < FOLDS:
        plain = ridge_with_covariance(masks, rows, units, scores, kernel, alpha)  # too few to fold
        return plain, _intercept(masks, rows, kernel, scores, plain.weights)
    candidates = candidates or every_pair(masks.shape[1])
    fitted = Interactions.fit_folds(masks, rows, folds, FOLDS, scores, kernel, candidates)
    # each draw's residual is from the g that did not see its fold: a mask drawn in two folds is two rows
    pairs, fold_rows = np.unique(rows * FOLDS + folds, return_inverse=True)
    held, fold_of = pairs // FOLDS, pairs % FOLDS
    residual = scores[held].copy()
    for k, g in enumerate(fitted):
        residual[fold_of == k] -= g.predict(masks[held[fold_of == k]])
    fit = ridge_with_covariance(masks[held], fold_rows, units, residual, kernel[held], alpha)
    projection = Projection(masks.shape[1], kernel_width)
    projected = [projection.of(g) for g in fitted]
    intercepts = np.mean([p[0] for p in projected], axis=0) + _intercept(
        masks[held], fold_rows, kernel[held], residual, fit.weights)
    weights = np.mean([p[1] for p in projected], axis=0) + fit.weights
    # the pooled residuals carry each g's own error (no g saw the fold it corrects): the sandwich holds it
    return Fit(weights, fit.covariance, fit.df), intercepts


def describe() -> str:
    """The adjusted estimate in a phrase, as a result names its method."""
    return ("regression-adjusted weighted ridge (interactions of components near in time, or every pair, as "
            f"cross-validation prefers, fitted on {FOLDS - 1} of {FOLDS} folds of the draws and projected over "
            f"every mask, the fold left out corrected by it, {FOLDS} times over, the corrected answers fitted "
            "together)")


def adjusted_fits(masks: np.ndarray, scores: np.ndarray, counts: np.ndarray, weights: np.ndarray,
                  intercepts: np.ndarray, kernel_width: float) -> list[SurrogateFit]:
    """The surrogates the adjusted estimate describes, as the plain fit reports them: weights,
    intercept, the weighted R² on the answered masks, and the prediction for the original."""
    omega = kernel_weights(masks.astype(np.float64), kernel_width) * counts
    predicted = intercepts + masks.astype(np.float64) @ weights.T
    return [SurrogateFit(weights[t].copy(), float(intercepts[t]), weighted_r2(scores[:, t], predicted[:, t], omega),
                         float(intercepts[t] + weights[t].sum()), list(range(masks.shape[1])))
            for t in range(scores.shape[1])]


Terms = tuple[np.ndarray, ...]  # interactions by order: (F_r, r) component indices, r = 2, 3, …
MAX_TERMS = 600  # interactions a candidate may hold: g is refitted at every look


def neighbourhoods(n_sources: int, n_segments: int) -> list[Terms]:
    """The interaction sets g chooses among, from the fewest: pairs of one segment's sources; pairs
    at most one segment apart; every interaction up to three components, then of any order, within
    a window of two neighbouring segments; pairs at most two segments apart; every pair.

    Why time: a tagger hears a clip through windows a few seconds long and pools their answers, so
    components interact where some window holds them all, in any order there; components far apart
    in time mostly do not (MSD_musicnn, example clip, 2 × 6: interactions within two neighbouring
    segments leave 4–14 % of the plain fit's squared error at 256 masks, their pairs alone 13–46 %).
    Fewer features leave g less to learn from a few hundred masks; generalised cross-validation picks,
    per tag, the set that predicts best (every pair when the tagger hears far)."""
    def segment(c):
        return c % n_segments  # component = source × n_segments + segment

    d = n_sources * n_segments
    i, j = np.triu_indices(d, 1)
    apart = np.abs(segment(i) - segment(j))
    window = {}
    for first in range(max(n_segments - 1, 1)):  # two neighbouring segments (one, if that is all)
        members = [c for c in range(d) if segment(c) in (first, first + 1)]
        for order in range(2, len(members) + 1):
            window.setdefault(order, set()).update(itertools.combinations(members, order))
    candidates = [_pairs(i, j, apart <= 0), _pairs(i, j, apart <= 1),
                  _terms({r: t for r, t in window.items() if r <= 3}), _terms(window),
                  _pairs(i, j, apart <= 2), *every_pair(d)]
    kept, seen = [], set()
    for terms in candidates:
        size = sum(len(t) for t in terms)
        key = tuple(t.tobytes() for t in terms)
        if 0 < size <= MAX_TERMS and key not in seen:
            kept.append(terms)
            seen.add(key)
    return kept


def every_pair(d: int) -> list[Terms]:
    i, j = np.triu_indices(d, 1)
    return [(np.column_stack([i, j]),)]


def _pairs(i, j, keep) -> Terms:
    return (np.column_stack([i[keep], j[keep]]),)


def _terms(by_order: dict[int, set]) -> Terms:
    return tuple(np.array(sorted(by_order[r]), dtype=np.int64).reshape(-1, r) for r in sorted(by_order))


def _intercept(masks, rows, kernel, residual, weights) -> np.ndarray:
    """The residual fit's intercept: its weighted mean minus the weights at the weighted mean mask."""
    omega = kernel * np.bincount(rows, minlength=len(masks))
    centre = omega @ masks.astype(np.float64) / omega.sum()
    return omega @ residual / omega.sum() - weights @ centre


class Interactions:
    """g: the answers as a ridge fit on the components and interactions of them (products of their
    on/off), the interaction set and the penalty chosen per tag by generalised cross-validation
    among candidates (neighbourhoods())."""

    def __init__(self, d: int, intercepts: np.ndarray, linear: np.ndarray, terms: list[Terms],
                 coefficients: list[tuple[np.ndarray, ...]]):
        # per tag t: intercepts[t], linear[t] (d,), terms[t] by order, coefficients[t] by order
        self.d, self.intercepts, self.linear, self.terms, self.coefficients = d, intercepts, linear, terms, coefficients

    @staticmethod
    def features(masks: np.ndarray, terms: Terms) -> np.ndarray:
        x = masks.astype(np.float64)
        return np.concatenate([x] + [x[:, t].prod(axis=2) for t in terms], axis=1)

    @classmethod
    def fit_folds(cls, masks: np.ndarray, rows: np.ndarray, folds: np.ndarray, n_folds: int, scores: np.ndarray,
                  kernel: np.ndarray, candidates: list[Terms]) -> list["Interactions"]:
        """g once per fold k < n_folds, on every draw outside it (folds: each draw's fold). Each
        candidate's features are built and summed once per fold; a fit leaving one out is the total
        minus that fold's sums, so the folds cost one Gram matrix and an eigendecomposition each, not
        a Gram each."""
        counts = np.stack([np.bincount(rows[folds == k], minlength=len(masks)) for k in range(n_folds)])
        omega = kernel * counts  # (n_folds, masks)
        used = omega.sum(axis=0) > 0
        x, y, omega = masks[used], scores[used], omega[:, used]
        outside = omega.sum(axis=0) - omega  # (n_folds, masks): each fit's weights
        y_shift = y.mean(axis=0)  # sums are taken about these, so that removing a fold cancels little
        fits = [_Fit(y, w) for w in outside]
        for terms in candidates:
            z = cls.features(x, terms)
            z_shift = z.mean(axis=0)
            parts = [_Moments.of(z - z_shift, y - y_shift, w) for w in omega]
            total = _Moments.sum(parts)
            for k, fit in enumerate(fits):
                fit.consider(terms, total.minus(parts[k]), z_shift, y_shift)
        return [fit.interactions(masks.shape[1]) for fit in fits]

    def predict(self, masks: np.ndarray) -> np.ndarray:
        x = masks.astype(np.float64)
        out = self.intercepts + x @ self.linear.T
        for t, (terms, coefficients) in enumerate(zip(self.terms, self.coefficients)):
            for indices, c in zip(terms, coefficients):
                out[:, t] += x[:, indices].prod(axis=2) @ c
        return out


class _Moments:
    """Weighted sums over some draws of features z and answers y: all a weighted ridge fit needs, and
    additive over disjoint draws."""

    def __init__(self, weight, z, y, zz, zy, yy):
        self.weight, self.z, self.y, self.zz, self.zy, self.yy = weight, z, y, zz, zy, yy

    @classmethod
    def of(cls, z: np.ndarray, y: np.ndarray, w: np.ndarray) -> "_Moments":
        kept = w > 0
        z, y, w = z[kept], y[kept], w[kept]
        weighted = w[:, None] * z
        return cls(w.sum(), weighted.sum(axis=0), w @ y, z.T @ weighted, weighted.T @ y, w @ y ** 2)

    @classmethod
    def sum(cls, parts: list["_Moments"]) -> "_Moments":
        return cls(*(sum(values) for values in zip(*(p._fields() for p in parts))))

    def minus(self, other: "_Moments") -> "_Moments":
        return _Moments(*(a - b for a, b in zip(self._fields(), other._fields())))

    def _fields(self) -> tuple:
        return self.weight, self.z, self.y, self.zz, self.zy, self.yy


class _Fit:
    """One g being chosen: per tag, the candidate interaction set and penalty with the best GCV score."""

    def __init__(self, y: np.ndarray, w: np.ndarray):
        answers = y[w > 0]
        self.n = len(answers)  # distinct masks the fit sees
        self.moving = np.ptp(answers, axis=0) > 0  # a tag the answers never move: exactly nothing to fit
        self.constant = answers[0]
        self.best, self.chosen = np.full(y.shape[1], np.inf), [None] * y.shape[1]

    def consider(self, terms: Terms, moments: _Moments, z_shift: np.ndarray, y_shift: np.ndarray) -> None:
        for t, (gcv, coefficients, intercept) in enumerate(_ridge_gcv(moments, self.n)):
            if not self.moving[t]:
                gcv, coefficients, intercept = 0.0, np.zeros_like(coefficients), self.constant[t]
            else:
                intercept += y_shift[t] - coefficients @ z_shift  # back from the shifted sums
            if self.chosen[t] is None or gcv < self.best[t]:
                self.best[t], self.chosen[t] = gcv, (terms, coefficients, intercept)

    def interactions(self, d: int) -> "Interactions":
        chosen = self.chosen
        sizes = [np.cumsum([d] + [len(t) for t in terms]) for terms, _, _ in chosen]
        return Interactions(d, np.array([c[2] for c in chosen]), np.stack([c[1][:d] for c in chosen]),
                            [c[0] for c in chosen],
                            [tuple(np.split(c[1], size)[1:-1]) for c, size in zip(chosen, sizes)])


def _ridge_gcv(moments: _Moments, n: int) -> list[tuple[float, np.ndarray, float]]:
    """Per tag, (GCV score, coefficients, intercept) of the weighted ridge of y on z at the penalty
    (of PENALTIES) that generalised cross-validation prefers, from the sums over the n draws it fits.

    Everything comes from the weighted Gram matrix Z'WZ of the centred features and its
    eigenvectors V (eigenvalues s²): with c = V'Z'Wy, the ridge at λ is V diag(1/(s² + λ)) c, its hat
    matrix has trace Σ s²/(s² + λ), and its residual sum of squares is
    y'Wy − Σ c² (2 − s²/(s² + λ))/(s² + λ), without the design itself (the SVD of the design gives
    the same to 1e-14, 2-3x slower where draws outnumber features)."""
    m = moments
    z_mean, y_mean = m.z / m.weight, m.y / m.weight
    gram = m.zz - np.outer(m.z, z_mean)
    squares, vectors = _eigh((gram + gram.T) / 2)
    squares = np.clip(squares, 0.0, None)  # the Gram is positive semi-definite: below zero is rounding
    projected = vectors.T @ (m.zy - np.outer(m.z, y_mean))  # (p, T)
    total = m.yy - m.y * y_mean  # (T,)
    scale = squares.sum() / len(squares) or 1.0  # the penalties' unit (1 when every mask is the same)
    best, chosen = np.full(len(total), np.inf), np.full(len(total), PENALTIES[-1] * scale)
    for penalty in PENALTIES * scale:
        shrink = squares / (squares + penalty)
        room = 1.0 - shrink.sum() / n  # an all but interpolating fit is not a candidate
        if room <= 0.05:
            continue
        explained = ((2.0 - shrink) / (squares + penalty)) @ projected ** 2
        gcv = np.clip(total - explained, 0.0, None) / room ** 2
        better = gcv < best
        best, chosen = np.where(better, gcv, best), np.where(better, penalty, chosen)
    out = []
    for t, penalty in enumerate(chosen):
        coefficients = vectors @ (projected[:, t] / (squares + penalty))
        out.append((float(best[t]), coefficients, float(y_mean[t] - coefficients @ z_mean)))
    return out


def _eigh(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The eigendecomposition of a symmetric matrix. LAPACK's divide and conquer can fail to converge
    on a rare rank-deficient design (seen with the SVD: 5 x 10 components, 384 draws, 375 features
    of rank 241, single-threaded OpenBLAS); the older QR iteration is slower and does not."""
    try:
        return np.linalg.eigh(gram)
    except np.linalg.LinAlgError:
        return linalg.eigh(gram, driver="ev")


class Projection:
    """The kernel-weighted linear projection over all 2^d masks, exactly, of a function of interactions.

    The kernel depends only on the count s of components on, so E[k · x_i1 ⋯ x_ir] is the same for
    every r distinct components: m_r = Σ_s κ(s) C(d − r, s − r) / 2^d."""

    def __init__(self, d: int, kernel_width: float):
        counts = (np.arange(d)[None, :] < np.arange(d + 1)[:, None])  # row s: s components on
        kappa = kernel_weights(counts.astype(np.float64), kernel_width)
        self.d = d
        self.m = [sum(kappa[s] * comb(d - r, s - r) for s in range(r, d + 1)) / 2.0 ** d for r in range(d + 2)]
        m0, m1, m2 = self.m[:3]
        gram = np.full((d + 1, d + 1), m2)
        gram[0, :], gram[:, 0] = m1, m1
        gram[0, 0] = m0
        gram[np.arange(1, d + 1), np.arange(1, d + 1)] = m1
        self._gram = gram

    def of(self, g: Interactions) -> tuple[np.ndarray, np.ndarray]:
        """(intercepts (T,), weights (T, d)) of g's projection: a term of r components has moment m_r
        with the constant and with each of its members, m_{r+1} with every other component."""
        m = self.m
        linear_total = g.linear.sum(axis=1)
        rhs = np.empty((len(g.intercepts), self.d + 1))
        rhs[:, 0] = m[1] * linear_total  # the constant projects onto itself: added after, exactly
        rhs[:, 1:] = m[1] * g.linear + m[2] * (linear_total[:, None] - g.linear)
        for t, (terms, coefficients) in enumerate(zip(g.terms, g.coefficients)):
            for indices, c in zip(terms, coefficients):
                r = indices.shape[1]
                holding = np.bincount(indices.ravel(), weights=np.repeat(c, r), minlength=self.d)
                rhs[t, 0] += m[r] * c.sum()
                rhs[t, 1:] += m[r] * holding + m[r + 1] * (c.sum() - holding)
        solved = np.linalg.solve(self._gram, rhs.T).T
        return g.intercepts + solved[:, 0], solved[:, 1:]
