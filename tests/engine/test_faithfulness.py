"""The faithfulness checks' masks and records, with weights and answers whose outcome is known."""
import itertools

import numpy as np
import pytest

from engine import ExplainSettings
from engine.errors import InvalidOptionError
from engine.faithfulness import evaluate, plan, random_subsets
from engine.perturbations import mask_key
from engine.settings import FaithfulnessSettings

WEIGHTS = np.array([0.5, -0.1, 0.0, 0.2, 0.05, 0.3])  # positive: 0, 3, 4, 5; ranked 0, 5, 3, 4
LABELS = ("hit", "floor")


def answers_for(masks, hears=0):
    """A tagger whose `hit` (0.9 vs `floor` 0.5) is on top exactly when component `hears` is on."""
    masks = list(masks) + [np.ones(len(WEIGHTS), dtype=bool)]  # the original, which sampling always asks
    return {mask_key(m): np.array([0.9 if m[hears] else 0.1, 0.5]) for m in masks}


def test_nothing_asked_is_no_plan_and_no_cost():
    assert plan(WEIGHTS, 3, FaithfulnessSettings(), seed=0, tag="hit") is None
    assert not FaithfulnessSettings().asked and FaithfulnessSettings().masks_per_k() == 0
    assert FaithfulnessSettings(20, True).masks_per_k() == 41


def test_deletion_removes_the_top_k_positive_components_from_the_whole():
    checks = plan(WEIGHTS, 3, FaithfulnessSettings(deletion=True), seed=0, tag="hit")
    assert checks.positive == [0, 3, 4, 5] and checks.random_keep.shape == (3, 0, 6)
    np.testing.assert_array_equal(checks.removals, [[0, 1, 1, 1, 1, 1], [0, 1, 1, 1, 1, 0], [0, 1, 1, 0, 1, 0]])


def test_random_subsets_are_k_positive_components_and_the_removals_their_complements():
    checks = plan(WEIGHTS, 3, FaithfulnessSettings(random_draws=50), seed=0, tag="hit")
    assert checks.random_keep.shape == (3, 50, 6) and checks.removals.shape == (0, 6)
    for k, masks in enumerate(checks.random_keep, start=1):
        assert (masks.sum(axis=1) == k).all()
        assert not masks[:, [1, 2]].any()  # never a component without a positive weight
        np.testing.assert_array_equal(checks.random_remove[k - 1], ~masks)
    # 50 draws of one of four: each component is drawn, not only the top ones
    assert set(np.flatnonzero(checks.random_keep[0].any(axis=0))) == {0, 3, 4, 5}


def test_the_draws_depend_on_the_seed_the_tag_and_k_only():
    draws = random_subsets([4, 0, 5, 3], 2, 30, seed=7, tag="rock")
    assert draws == random_subsets([0, 3, 4, 5], 2, 30, seed=7, tag="rock")  # the pool's order does not matter
    assert draws != random_subsets([0, 3, 4, 5], 2, 30, seed=8, tag="rock")
    assert draws != random_subsets([0, 3, 4, 5], 2, 30, seed=7, tag="pop")
    assert all(len(d) == 2 and set(d) <= {0, 3, 4, 5} for d in draws)
    first = plan(WEIGHTS, 3, FaithfulnessSettings(random_draws=30), seed=7, tag="rock")
    again = plan(WEIGHTS * 1.5, 3, FaithfulnessSettings(random_draws=30), seed=7, tag="rock")
    np.testing.assert_array_equal(first.masks(), again.masks())  # same positive set, same masks


def test_fewer_positive_components_than_k_stop_the_checks_early():
    weights = np.array([0.4, -0.2, 0.1, 0.0])
    checks = plan(weights, 3, FaithfulnessSettings(random_draws=5, deletion=True), seed=0, tag="hit")
    assert len(checks.removals) == 2 and checks.random_keep.shape == (2, 5, 4)
    assert (checks.random_keep[1] == [True, False, True, False]).all()  # k = 2 of two: always both
    record = evaluate(checks, weights, 0, LABELS, {mask_key(m): np.array([0.9 if m[0] else 0.1, 0.5])
                                                   for m in [*checks.masks(), np.ones(4, dtype=bool)]})
    assert record["k_max"] == 3 and record["positive"] == 2 and [r["k"] for r in record["remove"]] == [1, 2]
    assert record["random"]["keep_counts"][1] == 5


def test_no_positive_component_is_an_empty_record():
    checks = plan(np.array([-0.1, 0.0]), 3, FaithfulnessSettings(random_draws=5, deletion=True), seed=0, tag="x")
    assert checks.masks().shape == (0, 2)
    original = {mask_key(np.ones(2, dtype=bool)): np.array([0.2, 0.5])}
    assert evaluate(checks, np.array([-0.1, 0.0]), 0, LABELS, original) == {
        "k_max": 3, "positive": 0, "top_on_original": False, "remove": [],
        "random": {"draws": 5, "keep": [], "remove": [], "keep_counts": [], "remove_counts": []}}


def test_known_answers_a_tag_that_hears_its_top_component_only():
    settings = FaithfulnessSettings(random_draws=40, deletion=True)
    checks = plan(WEIGHTS, 3, settings, seed=1, tag="hit")
    record = evaluate(checks, WEIGHTS, 0, LABELS, answers_for(checks.masks(), hears=0))
    # removing the top-k always removes component 0: the tag drops every time
    assert [(r["k"], r["components"], r["dropped"], r["top_tag"]) for r in record["remove"]] == [
        (1, [0], True, "floor"), (2, [0, 5], True, "floor"), (3, [0, 5, 3], True, "floor")]
    assert record["remove"][0]["score"] == pytest.approx(0.1)
    # a random k-subset keeps the tag exactly when it holds component 0, and removing it drops the tag
    holds = [sum(0 in d for d in random_subsets([0, 3, 4, 5], k, 40, seed=1, tag="hit")) for k in (1, 2, 3)]
    random = record["random"]
    assert random["draws"] == 40 and random["keep_counts"] == holds and random["remove_counts"] == holds
    assert random["keep"] == [h / 40 for h in holds] and random["remove"] == random["keep"]
    # and that is less often than the top-k, which always hold it (about k/4 of the draws)
    assert all(share < 1.0 for share in random["keep"]) and random["keep"][0] < random["keep"][2]
    assert isinstance(random["keep_counts"][0], int) and isinstance(record["remove"][0]["dropped"], bool)
    assert record["top_on_original"] is True


def test_a_tag_that_hears_a_component_outside_the_explanation_never_drops():
    checks = plan(WEIGHTS, 2, FaithfulnessSettings(random_draws=10, deletion=True), seed=0, tag="hit")
    record = evaluate(checks, WEIGHTS, 0, LABELS, answers_for(checks.masks(), hears=1))
    assert [r["dropped"] for r in record["remove"]] == [False, False]
    assert record["random"]["keep_counts"] == [0, 0] and record["random"]["remove_counts"] == [0, 0]


def test_a_missing_answer_is_an_error_not_a_guess():
    checks = plan(WEIGHTS, 1, FaithfulnessSettings(deletion=True), seed=0, tag="hit")
    with pytest.raises(KeyError):
        evaluate(checks, WEIGHTS, 0, LABELS, {})


@pytest.mark.parametrize(("value", "message"), [
    ({"random": -1}, "faithfulness.random must be a non-negative integer"),
    ({"random": 2.5}, "faithfulness.random"), ({"random": True}, "faithfulness.random"),
    ({"deletion": "yes"}, "faithfulness.deletion must be true or false"),
    ({"draws": 3}, "unknown faithfulness settings ['draws']"), (["random"], "faithfulness must be"),
])
def test_bad_faithfulness_settings_are_refused(value, message):
    with pytest.raises(InvalidOptionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ExplainSettings(faithfulness=value)


def test_faithfulness_needs_a_self_check_depth():
    with pytest.raises(InvalidOptionError, match="self_check_k must be at least 1"):
        ExplainSettings(self_check_k=0, faithfulness=FaithfulnessSettings(deletion=True))
    assert ExplainSettings(self_check_k=0, faithfulness={"random": 0}).faithfulness == FaithfulnessSettings()


def test_the_settings_speak_the_requests_names():
    settings = ExplainSettings(faithfulness={"random": 20, "deletion": True})
    assert settings.faithfulness == FaithfulnessSettings(random_draws=20, deletion=True)
    assert settings.to_dict()["faithfulness"] == {"random": 20, "deletion": True}
    assert ExplainSettings().to_dict()["faithfulness"] == {"random": 0, "deletion": False}


def test_every_mask_of_the_plan_in_one_fixed_order():
    checks = plan(WEIGHTS, 2, FaithfulnessSettings(random_draws=3, deletion=True), seed=0, tag="hit")
    masks = checks.masks()
    assert len(masks) == 2 + 2 * 3 * 2
    np.testing.assert_array_equal(masks[:2], checks.removals)
    kept = list(itertools.chain.from_iterable(checks.random_keep))
    np.testing.assert_array_equal(masks[2:8], kept)
    np.testing.assert_array_equal(masks[8:], ~np.array(kept))
