"""How sure an explanation is: the weights' covariance, and what can be claimed about the top-k.

The covariance is the cluster-robust sandwich of the kernel-weighted ridge fit. The
sampler's draws are independent (or independent pairs, mask and complement), so
the fitted weights are a smooth function of i.i.d. units and are asymptotically
normal around the weights the sampler would settle on with unlimited samples,
with covariance A⁻¹ B A⁻¹ (A the weighted, penalised Gram matrix, B the sum over
units of their outer score products). The tagger being deterministic does not
matter: the randomness is in which masks are drawn. A small-sample factor
C / (C − p) and Student-t quantiles with C − p degrees of freedom (C units,
p = d' + 1 parameters) keep small runs honest.

The claim about a tag is a set of statements, each a linear inequality in the weights. A strict
claim (the default): every claimed component is above every other one (or tied with it within the
tolerance); a tolerant one: no component left out is above a claimed one by more than the
tolerance, w_i − w_j + τ > 0 (whether a close pair is an order or a tie is not claimed, so a pair
half a tolerance apart costs a margin of 1.5 τ instead of 0.5 τ). Either, when fewer than k
components matter, adds that no other one does. How sure the claim is depends on
`sampling.inference`: by default, the statements are tested together from their joint normal
law (simultaneous.py: step-down max-t, paying for the weak statements and barely for the many
nearly certain ones) and the looks an adaptive run may take are paid by the chance of crossing at
any of them (sequential.py); `bonferroni` is the older, more conservative bound, 1 − L·Σp, a union
bound over the statements and Bonferroni over the L looks of the schedule.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from .sequential import Inference, Looks
from .simultaneous import marginal_p, step_down_p

Z95 = 1.959964  # two-sided 95 % pointwise intervals of single weights
SHARE_DRAWS = 400  # draws from the weights' normal approximation for the share intervals


@dataclass(frozen=True, eq=False)
class Fit:
    """A weighted ridge fit of several tags on the same masks, with what the covariance needs."""
    weights: np.ndarray  # (T, d')
    covariance: np.ndarray  # (T, d', d'); zeros when the masks are the whole population
    df: float  # degrees of freedom of the t quantiles (inf: exact)


def ridge_with_covariance(masks: np.ndarray, rows: np.ndarray, units: np.ndarray, scores: np.ndarray,
                          kernel: np.ndarray, alpha: float, exhaustive: bool = False) -> Fit:
    """Weights and their sandwich covariance.

    masks (U, d') the distinct masks, scores (U, T) their answers, kernel (U,) LIME's weights;
    rows (N,) the distinct mask of each draw, units (N,) the independent unit of each draw.
    """
    x = masks.astype(np.float64)
    counts = np.bincount(rows, minlength=len(masks)).astype(np.float64)
    omega = kernel * counts
    centre = omega @ x / omega.sum()
    xc = x - centre
    gram = xc.T @ (omega[:, None] * xc) + alpha * np.eye(x.shape[1])
    target = scores - (omega @ scores / omega.sum())
    weights = np.linalg.solve(gram, xc.T @ (omega[:, None] * target)).T  # (T, d')
    if exhaustive:
        return Fit(weights, np.zeros((len(weights), x.shape[1], x.shape[1])), np.inf)
    residuals = target - xc @ weights.T  # (U, T)
    n_units = int(units.max()) + 1 if len(units) else 0
    params = x.shape[1] + 1
    if n_units <= params:  # fewer units than parameters: nothing can be claimed
        return Fit(weights, np.full((len(weights), x.shape[1], x.shape[1]), np.inf), 1.0)
    membership = sparse.csr_matrix((np.ones(len(rows)), (units, rows)), shape=(n_units, len(masks)))
    inverse = np.linalg.inv(gram)
    factor = n_units / (n_units - params)
    covariance = np.empty((len(weights), x.shape[1], x.shape[1]))
    for tag in range(len(weights)):
        unit_scores = membership @ ((kernel * residuals[:, tag])[:, None] * xc)  # (units, d')
        meat = unit_scores.T @ unit_scores * factor
        covariance[tag] = inverse @ meat @ inverse
    return Fit(weights, covariance, float(n_units - params))


@dataclass(frozen=True)
class Claim:
    """What can be said about one tag's top-k, and how sure."""
    top_k: int
    claimed: list[int]  # the components claimed to be the top (best first); fewer than k when fewer matter
    tied: list[int]  # components tied at the border of the claim: which of them belong is not claimed
    confidence: float
    converged: bool
    tie_pairs: tuple = ()  # (claimed, other) pairs settled as equal within the tolerance
    settled: int = 0  # the confident prefix: how many of the claimed, best first, are already certain

    def to_dict(self) -> dict:
        return {"top_k": self.top_k, "claimed": len(self.claimed), "components": self.claimed,
                "tied": self.tied, "confidence": self.confidence, "converged": self.converged,
                "settled": self.settled}


@dataclass
class _Statements:
    """The claim's statements, each a row c·w + b > 0 (a tie: its weaker half, see _settle_pair)."""
    size: int
    budget: float  # the largest p-value a single statement may have at one look
    rows: list[np.ndarray] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)
    p: list[float] = field(default_factory=list)  # per statement
    owner: list[int] = field(default_factory=list)  # the claimed component each row is about
    tied: set[int] = field(default_factory=set)
    pairs: list[tuple[int, int]] = field(default_factory=list)

    def add(self, row: np.ndarray, offset: float, p: float, owner: int) -> bool:
        self.rows.append(row)
        self.offsets.append(offset)
        self.owner.append(owner)
        self.p.append(float(p))
        return p <= self.budget

    def unit(self, i: int, sign: float = 1.0) -> np.ndarray:
        row = np.zeros(self.size)
        row[i] = sign
        return row

    def difference(self, i: int, j: int) -> np.ndarray:
        row = self.unit(i)
        row[j] -= 1.0
        return row


def claim(weights: np.ndarray, covariance: np.ndarray, df: float, top_k: int, tolerance: float,
          confidence: float, looks: Looks | None = None, tolerant: bool = False) -> Claim:
    """The claim about one tag's top-k components at the requested confidence (tolerant: each claimed
    component is within the tolerance of, or above, every one left out; strict: above, or proven tied)."""
    looks = looks or Looks.single()
    weights = np.asarray(weights, dtype=np.float64)
    se = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    if not np.any(weights) and not np.any(se):  # a tag no mix moves: nothing matters, surely
        return Claim(top_k, [], [], 1.0, True)
    tau = tolerance * float(np.max(np.abs(weights)))
    statements = _Statements(len(weights), looks.nominal(1.0 - confidence))
    material = _material(weights, se, tau, df, statements.budget)
    order = [int(i) for i in np.argsort(-weights, kind="stable")]
    claimed = order[:min(top_k, int(material.sum()))]
    others = [i for i in order if i not in claimed]
    for i in claimed:
        for j in others:
            if tolerant:
                _within_tolerance(statements, weights, covariance, i, j, tau, df)
            else:
                _settle_pair(statements, weights, covariance, i, j, tau, df)
    if len(claimed) < top_k:  # fewer matter than asked for: claim too that the rest do not
        for j in others:
            statements.add(statements.unit(j, -1.0), tau, float(marginal_p(tau - weights[j], se[j], df)), -1)
    level = _level(statements, weights, covariance, df, looks)
    converged = level >= confidence
    slack = tau if tolerant else 0.0
    settled = len(claimed) if converged else _settled(statements, claimed, weights, covariance, df, looks,
                                                      confidence, slack)
    return Claim(top_k, claimed, sorted(statements.tied), level, converged, tuple(statements.pairs), settled)


def _level(statements: _Statements, weights, covariance, df, looks: Looks, rows=None) -> float:
    """1 − what the claim's statements (or those `rows`) being wrong costs over the looks."""
    if looks.inference is Inference.BONFERRONI:
        p = float(np.sum(statements.p))  # the union bound over statements
    else:
        keep = slice(None) if rows is None else rows
        p = step_down_p(np.array(statements.rows).reshape(-1, len(weights))[keep],
                        np.array(statements.offsets)[keep], weights, covariance, df)
    return max(0.0, 1.0 - looks.adjust(p))


def _settled(statements: _Statements, claimed: list[int], weights, covariance, df, looks: Looks,
             confidence: float, slack: float = 0.0) -> int:
    """The longest prefix of the claimed components that is already certain to be the top, best
    first: "component 4 is the top one; the second and third are still open" (up to `slack`, the
    tolerance of a tolerant claim)."""
    if looks.inference is Inference.BONFERRONI or len(claimed) < 2 or statements.tied:
        return 0
    settled = 0
    for size in range(1, len(claimed)):
        prefix = set(claimed[:size])
        rows = [r for r, owner in enumerate(statements.owner) if owner in prefix]
        # the prefix above the claimed components after it too: those rows are not in the claim
        extra = [(statements.difference(i, j), slack) for i in claimed[:size] for j in claimed[size:]]
        contrasts = np.array([statements.rows[r] for r in rows] + [row for row, _ in extra])
        offsets = np.array([statements.offsets[r] for r in rows] + [b for _, b in extra])
        p = step_down_p(contrasts, offsets, weights, covariance, df)
        if 1.0 - looks.adjust(p) < confidence:
            break
        settled = size
    return settled


def _material(weights, se, tau, df, budget) -> np.ndarray:
    """Components surely positive and not surely within the tolerance of zero."""
    positive = marginal_p(weights, se, df) <= budget
    negligible = np.maximum(marginal_p(tau - weights, se, df), marginal_p(tau + weights, se, df)) <= budget
    return positive & ~negligible


def _settle_pair(statements: _Statements, weights, covariance, i: int, j: int, tau: float, df: float) -> None:
    """i above j, or i and j equal within the tolerance: whichever is surer (a tie first, when both are)."""
    gap = weights[i] - weights[j]
    se = _difference_se(covariance, i, j)
    p_tie = float(max(marginal_p(tau - gap, se, df), marginal_p(tau + gap, se, df)))
    p_order = float(marginal_p(gap, se, df))
    difference = statements.difference(i, j)
    if p_tie <= statements.budget or p_tie <= p_order:
        # a tie holds when both halves do (|gap| < tau); its least favourable case is the weaker half at
        # its boundary with the other far inside, so the weaker half alone carries the statement
        weaker = -difference if gap > 0 else difference
        if statements.add(weaker, tau, p_tie, i):
            statements.tied |= {i, j}
            statements.pairs.append((i, j))
    else:
        statements.add(difference, 0.0, p_order, i)


def _within_tolerance(statements: _Statements, weights, covariance, i: int, j: int, tau: float,
                      df: float) -> None:
    """j (left out) is not above i (claimed) by more than the tolerance: w_i − w_j + τ > 0."""
    p = float(marginal_p(weights[i] - weights[j] + tau, _difference_se(covariance, i, j), df))
    statements.add(statements.difference(i, j), tau, p, i)


def _difference_se(covariance: np.ndarray, i: int, j: int) -> float:
    """The standard error of w_i − w_j."""
    return float(np.sqrt(max(covariance[i, i] + covariance[j, j] - 2 * covariance[i, j], 0.0)))


def weight_errors(covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors and the half-widths of pointwise 95 % intervals of each weight."""
    se = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    return se, Z95 * se


def group_shares(weights: np.ndarray, covariance: np.ndarray, groups: dict[str, list[int]],
                 seed: int = 0) -> list[dict]:
    """Per group (a source, a segment): summed weight with its 95 % interval, and its share of the
    positive weight with a 95 % interval from draws of the weights' normal approximation."""
    weights = np.asarray(weights, dtype=np.float64)
    draws = _draws(weights, covariance, seed)
    positive = np.clip(draws, 0.0, None)
    totals = positive.sum(axis=1)
    point_total = np.clip(weights, 0.0, None).sum()
    out = []
    for name, members in groups.items():
        members = list(members)
        summed = float(weights[members].sum())
        se = float(np.sqrt(max(covariance[np.ix_(members, members)].sum(), 0.0)))
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(totals > 0, positive[:, members].sum(axis=1) / totals, 0.0)
        share = float(np.clip(weights[members], 0.0, None).sum() / point_total) if point_total > 0 else 0.0
        out.append({"name": name, "components": members, "weight": summed,
                    "weight_interval": _interval(summed, se), "positive_share": share,
                    "positive_share_interval": [float(np.percentile(shares, 2.5)),
                                                float(np.percentile(shares, 97.5))]})
    return out


def _interval(centre: float, se: float) -> list[float] | None:
    """The 95 % interval, or None when the error cannot be estimated (too few masks): not [-inf, inf],
    which is no JSON."""
    return [centre - Z95 * se, centre + Z95 * se] if np.isfinite(se) else None


def _draws(weights: np.ndarray, covariance: np.ndarray, seed: int) -> np.ndarray:
    if not np.all(np.isfinite(covariance)):
        return np.tile(weights, (SHARE_DRAWS, 1))
    values, vectors = np.linalg.eigh((covariance + covariance.T) / 2)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    normal = np.random.default_rng(seed).standard_normal((SHARE_DRAWS, len(weights)))
    return weights + normal @ root.T
