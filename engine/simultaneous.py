"""The chance that a claim made of several statements is wrong, from their joint normal law.

A claim about a tag's top-k is a conjunction of linear statements about the weights, each of the
form c·w + b > 0 (i above j; i within the tolerance of j, as two halves; j within the tolerance of
zero). Their estimates c·ŵ + b are jointly normal with the covariance C Σ Cᵀ (Σ the sandwich
covariance of the weights), and strongly correlated: "1 above 5" and "1 above 6" share the
estimate of weight 1. A union bound sums their p-values as if every one could fail on its own.

Here the statements are tested together by the step-down max-t procedure (Westfall and Young;
Hothorn, Bretz and Westfall's simultaneous inference): sorted from the weakest, the r-th is judged
against the maximum of the r weakest statistics' joint law, so a claim pays for its weak
statements and barely for the many nearly certain ones. That law is simulated (multivariate t
with the fit's degrees of freedom) from a fixed seed, so the same fit always gets the same answer.
Each step's p-value is kept between its exact marginal p-value (below which no joint law can go)
and Holm's bound r·p (which needs no law at all), so simulation noise can neither claim more than
the marginal evidence nor less than Holm would. The result is a p-value for the whole claim with
strong control of the chance that any of its statements is wrong.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import t as student_t

DRAWS = 16384  # simulated statistics: p-values near 0.01 come with about 8 % relative noise
SEED = 4_096_001
NEGLIGIBLE = 1e-12  # statements this sure are paid by Holm's bound alone (they sort last anyway)


def marginal_p(margins: np.ndarray, se: np.ndarray, df: float) -> np.ndarray:
    """p-value per statement that the truth is not on its claimed side (margin > 0 is claimed)."""
    margins, se = np.asarray(margins, dtype=np.float64), np.asarray(se, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = student_t.sf(margins / se, df) if np.isfinite(df) else np.where(margins > 0, 0.0, 1.0)
    exact = se == 0
    return np.where(exact, np.where(margins > 0, 0.0, 1.0), np.nan_to_num(p, nan=1.0))


def step_down_p(contrasts: np.ndarray, offsets: np.ndarray, weights: np.ndarray, covariance: np.ndarray,
                df: float) -> float:
    """The p-value of the conjunction of the statements contrasts·w + offsets > 0."""
    if not len(contrasts):
        return 0.0
    contrasts = np.asarray(contrasts, dtype=np.float64)
    margins = contrasts @ weights + offsets
    if not np.all(np.isfinite(covariance)):  # too few masks to estimate the law: nothing is sure
        return 1.0
    joint = contrasts @ covariance @ contrasts.T
    se = np.sqrt(np.clip(np.diag(joint), 0.0, None))
    p = marginal_p(margins, se, df)
    if not np.isfinite(df):  # every mask asked: no uncertainty at all
        return float(min(1.0, p.max()))
    order = np.argsort(-p, kind="stable")  # weakest first
    p, margins, se = p[order], margins[order], se[order]
    holm = np.minimum(1.0, np.arange(1, len(p) + 1) * p)
    uncertain = np.flatnonzero((p > NEGLIGIBLE) & (se > 0))
    if len(uncertain) < 2:
        return float(holm.max())
    # the uncertain statements are the weakest, so they are a prefix of the order
    m = int(uncertain[-1]) + 1
    z = margins[:m] / np.where(se[:m] > 0, se[:m], 1.0)
    simulated = _cumulative_max_tail(joint[np.ix_(order[:m], order[:m])], se[:m], z, df)
    steps = np.minimum(holm[:m], np.maximum(p[:m], simulated))
    return float(max(steps.max(), holm[m:].max(initial=0.0)))


def _cumulative_max_tail(joint: np.ndarray, se: np.ndarray, z: np.ndarray, df: float) -> np.ndarray:
    """P(max of the first r statistics ≥ z_r) for each r, under their joint t law."""
    scale = np.where(se > 0, se, 1.0)
    correlation = joint / np.outer(scale, scale)
    values, vectors = np.linalg.eigh((correlation + correlation.T) / 2)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    rng = np.random.default_rng(SEED)
    statistics = rng.standard_normal((DRAWS, len(z))) @ root.T
    statistics /= np.sqrt(rng.chisquare(df, size=(DRAWS, 1)) / df)
    running = np.maximum.accumulate(statistics, axis=1)
    return (running >= z).mean(axis=0)
