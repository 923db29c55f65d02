"""A claim's statements tested together: never below the marginal evidence, never above Holm,
and paying for correlation only as much as it costs."""
import numpy as np
from scipy.stats import norm

from engine.simultaneous import marginal_p, step_down_p


def statements(n):
    return np.eye(n), np.zeros(n)


def test_one_statement_is_its_own_p_value():
    p = step_down_p(np.array([[1.0, -1.0]]), np.zeros(1), np.array([0.3, 0.1]), np.eye(2) * 0.01, np.inf)
    assert p == 0.0  # df = inf: every mask asked, nothing uncertain
    p = step_down_p(np.array([[1.0, -1.0]]), np.zeros(1), np.array([0.3, 0.1]), np.eye(2) * 0.01, 10**6)
    assert np.isclose(p, norm.sf(0.2 / np.sqrt(0.02)), rtol=1e-3)


def test_independent_statements_of_equal_strength_cost_like_their_count():
    """m independent statements at p each: the conjunction fails with chance 1 − (1 − p)^m."""
    contrasts, offsets = statements(8)
    weights = np.full(8, 2.5)
    p = step_down_p(contrasts, offsets, weights, np.eye(8), 10**6)
    single = norm.sf(2.5)
    assert 0.8 * (1 - (1 - single) ** 8) < p <= 8 * single


def test_perfectly_correlated_statements_cost_one():
    contrasts, offsets = statements(6)
    weights = np.full(6, 2.0)
    p = step_down_p(contrasts, offsets, weights, np.ones((6, 6)) + 1e-12 * np.eye(6), 10**6)
    assert norm.sf(2.0) * 0.999 <= p < norm.sf(2.0) * 1.12  # one statement, up to the simulation's noise


def test_statements_sharing_a_weight_cost_far_less_than_their_sum():
    """ "0 above j" for 40 others share the estimate of weight 0: the union bound sums 40 p-values as
    if each could fail alone; their joint law knows they fail together."""
    contrasts = np.zeros((40, 41))
    contrasts[:, 0] = 1.0
    contrasts[np.arange(40), np.arange(1, 41)] = -1.0
    weights = np.concatenate([[3.0], np.zeros(40)])
    p = step_down_p(contrasts, np.zeros(40), weights, np.eye(41), 10**6)
    single = norm.sf(3.0 / np.sqrt(2))
    assert single * 0.999 <= p < 0.5 * 40 * single


def test_a_wrong_side_statement_makes_the_claim_unsure():
    contrasts, offsets = statements(3)
    p = step_down_p(contrasts, offsets, np.array([3.0, 3.0, -0.5]), np.eye(3), 10**6)
    assert p >= 0.69  # at least the wrong-side statement's own p-value, sf(−0.5)


def test_too_few_masks_claim_nothing():
    contrasts, offsets = statements(2)
    assert step_down_p(contrasts, offsets, np.ones(2), np.full((2, 2), np.inf), 1.0) == 1.0


def test_the_same_statements_get_the_same_answer():
    rng = np.random.default_rng(3)
    root = rng.normal(size=(5, 5))
    covariance = root @ root.T / 50
    contrasts, offsets = statements(5)
    weights = np.array([0.5, 0.4, 0.6, 0.7, 0.45])
    assert step_down_p(contrasts, offsets, weights, covariance, 200) == step_down_p(
        contrasts, offsets, weights, covariance, 200)


def test_the_conjunction_is_wrong_no_more_often_than_its_p_value_says():
    """Simulated fits of 12 correlated statements whose truths sit exactly at the boundary (the
    hardest case): a claim made when its p-value is at most 0.05 is wrong in at most about 5 %."""
    rng = np.random.default_rng(11)
    root = rng.normal(size=(12, 12))
    covariance = root @ root.T / 12 + 0.5 * np.eye(12)
    chol = np.linalg.cholesky(covariance)
    truth = np.concatenate([[0.0], np.full(11, 3.0)])  # one statement at its boundary, the rest sure
    contrasts, offsets = statements(12)
    wrong = 0
    runs = 600
    for _ in range(runs):
        estimate = truth + chol @ rng.standard_normal(12)
        wrong += step_down_p(contrasts, offsets, estimate, covariance, 10**6) <= 0.05
    assert wrong / runs <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / runs)
