"""Paying for the looks: a p-value reached at one of many looks is worth more than at one, less
than Bonferroni says, and the payment holds for a walk that really is looked at that often."""
import numpy as np
from scipy.stats import norm

from engine.sequential import Inference, Looks

SCHEDULE = tuple(range(128, 2048, 64)) + (2048,)


def test_one_look_pays_nothing_extra():
    for inference in Inference:
        assert Looks.single(inference).adjust(0.01) == 0.01
        assert Looks.single(inference).nominal(0.05) == 0.05


def test_bonferroni_pays_every_look():
    looks = Looks(SCHEDULE, Inference.BONFERRONI)
    assert np.isclose(looks.adjust(0.001), 0.031) and np.isclose(looks.nominal(0.05), 0.05 / 31)


def test_the_sequential_payment_lies_between_one_look_and_bonferroni_and_grows_with_p():
    looks = Looks(SCHEDULE)
    ps = np.geomspace(1e-7, 0.2, 60)
    paid = np.array([looks.adjust(p) for p in ps])
    assert np.all(paid >= ps) and np.all(paid <= 31 * ps + 1e-15)
    assert np.all(np.diff(paid) >= 0)
    assert looks.adjust(0.005) < 0.5 * 31 * 0.005  # correlated looks are far cheaper than 31 of them


def test_nominal_and_adjust_agree():
    looks = Looks(SCHEDULE)
    level = looks.nominal(0.05)
    assert looks.adjust(level) <= 0.05 + 1e-3 and looks.adjust(level * 1.2) > 0.05


def test_a_null_walk_crosses_the_nominal_threshold_at_some_look_no_more_often_than_paid():
    """Fresh walks (another generator than the method's): a statistic with no effect, looked at on
    the schedule, ever reaches the per-look threshold for 0.05 in about 5 % of runs, not more."""
    looks = Looks(SCHEDULE)
    threshold = norm.isf(looks.nominal(0.05))
    rng = np.random.default_rng(99)
    counts = np.asarray(SCHEDULE, dtype=float)
    steps = np.diff(np.concatenate([[0.0], counts]))
    walks = np.cumsum(rng.standard_normal((40_000, len(counts))) * np.sqrt(steps), axis=1) / np.sqrt(counts)
    crossed = (walks.max(axis=1) >= threshold).mean()
    assert 0.04 <= crossed <= 0.056
