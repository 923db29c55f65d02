"""Verified parts and the baseline: the search on oracles with known answers, then explanations of
synthetic taggers whose sufficient and necessary sets, and whose answer to silence, are known."""
import itertools

import numpy as np

import pytest

from engine import ExplainSettings, FunctionTagger, explain
from engine.settings import VerificationSettings
from engine.verification import search
from tests.synthetic import SAMPLE_RATE, TIMED, rule_scores, stems

SECONDS, SEGMENTS = 4.0, 4


def drive(oracle, order, n=12, max_size=3, budget=32, pool=8):
    """Run a search against `oracle(set) -> (succeeded, objective)`; (found, every set asked, in order)."""
    asked = []
    generator = search(order, n, max_size, budget, pool)
    try:
        trials = next(generator)
        while True:
            asked.extend(trials)
            trials = generator.send([oracle(set(t)) for t in trials])
    except StopIteration as stop:
        return stop.value, asked


def needs(*members):
    """An oracle: a set succeeds when it holds all of `members`; closer the more of them it holds."""
    return lambda s: (set(members) <= s, len(set(members) & s) - 0.01 * len(s))


def test_a_ranking_that_is_right_is_verified_by_its_prefixes_and_one_component_is_minimal_at_once():
    found, asked = drive(needs(4), order=[4, 1, 7])
    assert found.best == (4,) and found.proven
    assert asked == [(4,), (1, 4), (1, 4, 7)]  # the top-1…3 mixes only: what the self-check asks anyway


def test_two_needed_together_are_found_by_the_prefixes_and_proven_by_every_single_one():
    found, asked = drive(needs(4, 1), order=[4, 1, 7])
    assert found.best == (1, 4) and found.proven
    singles = [t for t in asked if len(t) == 1]
    assert sorted(singles) == [(i,) for i in range(12)]  # each asked once, none succeeded


def test_a_wrong_ranking_is_repaired_by_the_greedy_search_over_the_pool():
    order = [0, 1, 2, 3, 4, 5, 6, 7, 8]
    found, asked = drive(needs(6, 2), order=order)
    assert found.best == (2, 6)
    assert all(len(t) <= 3 for t in asked) and len(asked) <= 3 + 32


def test_the_budget_bounds_the_search_and_then_the_set_is_minimal_only_among_those_tried():
    found, asked = drive(needs(6, 2, 3), order=list(range(9)), n=40, budget=12)
    assert len(asked) <= 3 + 12
    if found.best is not None:
        assert not found.proven
    found, _ = drive(needs(39), order=[0, 1, 2], n=40, budget=5)  # 39 is not even positive
    assert found.best is None and not found.proven


def test_no_set_of_at_most_k_is_proven_only_when_every_such_set_was_asked():
    found, asked = drive(needs(0, 1, 2, 3), order=[0, 1, 2, 3], n=5, max_size=2, budget=64)
    assert found.best is None and found.proven
    every = {t for k in (1, 2) for t in itertools.combinations(range(5), k)}
    assert every <= set(asked)


# -- through explain(): synthetic taggers with known parts -------------------------------------------

def run(rules, **settings):
    sources = stems(SECONDS)
    tagger = FunctionTagger(lambda mixes: rule_scores(rules, mixes), list(rules), SAMPLE_RATE)
    return explain(sources.mixture(), SAMPLE_RATE, tagger, ExplainSettings(segments=SEGMENTS, **{**TIMED, **settings}),
                   sources=sources)


def index(result, source, segment):
    return next(c.index for c in result.components if c.source == source and c.segment == segment)


TOGETHER = {"duet": {"all": [[440, 1, 2], [110, 2, 3]], "scale": 4.0}, "floor": {"constant": 0.2}}
ANY_TWO = {"chorus": {"any": [[1250, 0, 1, 1.0], [1250, 1, 2, 1.0], [1250, 2, 3, 1.0]]}, "floor": {"constant": 0.45}}
SILENT_ROCK = {"rock": {"constant": 0.2, "any": [[440, 1, 2, 0.5]]}, "jazz": {"constant": 0.1, "any": [[110, 0, 4, 0.3]]}}


def test_a_tag_that_needs_two_components_together_has_both_as_its_sufficient_set_verified_and_minimal():
    result = run(TOGETHER)
    duet = result.tag("duet")
    pair = sorted([index(result, "drums", 1), index(result, "bass", 2)])
    sufficient = duet.sufficient
    assert sufficient["components"] == pair and sufficient["minimal"] == "proven"
    assert sufficient["rank"] == 1 and sufficient["top_tag"] == "duet" and sufficient["same_as_ranking"]
    assert not duet.self_check[0].still_top and duet.self_check[1].still_top  # neither alone, both together
    # without either of them the duet is silent: one is necessary, and one is the smallest there is
    assert duet.necessary["size"] == 1 and duet.necessary["components"][0] in pair
    assert duet.necessary["minimal"] == "proven" and duet.necessary["top_tag"] == "floor"
    assert not duet.baseline["confounded"] and duet.baseline["score"] == pytest.approx(0.0, abs=1e-6)


def test_a_tag_that_survives_any_single_removal_but_not_two_has_a_necessary_set_of_two():
    result = run(ANY_TWO)
    chorus = result.tag("chorus")
    voices = {index(result, "vocals", s) for s in (0, 1, 2)}
    necessary = chorus.necessary
    assert necessary["size"] == 2 and set(necessary["components"]) <= voices
    assert necessary["minimal"] == "proven" and necessary["top_tag"] == "floor"
    assert chorus.sufficient["size"] == 2 and set(chorus.sufficient["components"]) <= voices
    assert "no smaller set does" in necessary["statement"]


def test_a_tagger_whose_answer_to_silence_is_the_explained_tag_is_flagged_and_another_is_not():
    result = run(SILENT_ROCK)
    rock = result.tag("rock")
    assert rock.baseline["confounded"] and rock.baseline["rank"] == 1
    assert rock.baseline["score"] == pytest.approx(0.2, abs=1e-6)
    assert rock.baseline["statement"].startswith("confounded")
    assert result.baseline["top_tags"][0] == {"tag": "rock", "score": pytest.approx(0.2, abs=1e-6)}
    drums = next(s for s in rock.baseline["sources"] if s["source"] == "drums")
    assert drums["top_tag"] == "rock" and drums["score"] == pytest.approx(0.35, abs=0.01)
    # silence keeps rock on top, so with silence for "off" any part would: its sufficient set says so
    assert rock.sufficient["trivial"] and rock.sufficient["statement"].startswith("the all-off mix alone")
    cut = run(SILENT_ROCK, off="cut", check_off="cut").tag("rock")
    assert cut.baseline["confounded"] and not cut.sufficient["trivial"]  # no silence in a cut mix of a part
    duet = run(TOGETHER).tag("duet")
    assert not duet.baseline["confounded"] and not duet.sufficient["trivial"]


def test_the_searches_cost_nothing_more_when_the_ranking_is_right_and_are_counted_when_not():
    right = run({"drummy": {"any": [[440, 2, 3, 1.0]]}, "floor": {"constant": 0.1}})
    verifying = right.stats["verification_calls"]
    # 1 + 3 baseline mixes (all off is drawn anyway by paired sampling) and the K removal prefixes at most
    assert verifying <= 3 + 3
    assert right.tag("drummy").sufficient["calls"] == 0
    together = run(TOGETHER)
    sufficient = together.tag("duet").sufficient
    # to prove two are needed, every single component is asked: 3 prefixes + the 11 singles not among them;
    # each is a call unless the sampling happened to draw it
    assert sufficient["tried"] == 3 + 11 and 0 < sufficient["calls"] <= 11
    assert together.stats["verification_calls"] >= together.tag("duet").sufficient["calls"]


def test_a_budget_of_zero_asks_only_the_ranking_s_own_mixes():
    result = run(TOGETHER, verification=VerificationSettings(budget=0))
    sufficient = result.tag("duet").sufficient
    assert sufficient["size"] == 2 and sufficient["minimal"] == "among_tried" and sufficient["tried"] == 3
    assert result.to_dict()["settings"]["verification"] == {"budget": 0}


def test_the_checks_can_hear_their_mixes_cut_while_the_sampling_hears_silence():
    sources = stems(SECONDS)
    heard = []  # per mix: the share of 100 ms windows that are silent

    def listening(mixes):
        windows = mixes[:, : mixes.shape[1] // 800 * 800, 0].reshape(len(mixes), -1, 800)
        heard.extend((np.abs(windows).max(axis=2) < 1e-6).mean(axis=1))
        return rule_scores(SILENT_ROCK, mixes)

    tagger = FunctionTagger(listening, list(SILENT_ROCK), SAMPLE_RATE)
    settings = ExplainSettings(segments=SEGMENTS, check_off="cut")
    result = explain(sources.mixture(), SAMPLE_RATE, tagger, settings, sources=sources)
    rock = result.tag("rock")
    sampled = result.stats["unique_masks"]
    # the sampled mixes have silent stretches (segments switched off), the checked ones have none but
    # the all-off mix (the baseline's, silence whatever the way of switching off)
    assert max(heard[:sampled]) > 0.2 and sorted(heard[sampled:])[-2] == 0.0
    assert not rock.sufficient["trivial"] and rock.baseline["confounded"]
    # a self-check mix the sampling also drew is asked again, cut: its answer is another mix's
    assert result.stats["tagger_calls"] == tagger.calls == len(heard)
    assert result.to_dict()["settings"]["check_off"] == "cut" and result.to_dict()["settings"]["off"] == "silence"


def test_a_tag_no_component_raises_has_no_part_to_verify_and_says_so():
    result = run({"floor": {"constant": 0.3}, "drummy": {"any": [[440, 2, 3, 1.0]]}}, tags=("floor",))
    floor = result.tag("floor")
    for part in (floor.sufficient, floor.necessary):
        assert part["found"] is False and part["tried"] == 0 and part["calls"] == 0
        assert part["statement"] == "no component has a positive weight: there is no part to verify"


def test_a_tag_last_of_the_tagger_s_tags_keeps_its_place_on_any_mix_so_nothing_is_searched():
    result = run({"loud": {"constant": 0.5}, "drummy": {"any": [[440, 0, 4, 1.0]]}}, tags=("drummy",))
    drummy = result.tag("drummy")  # 0.3 on the clip, under the constant 0.5: last of two
    assert drummy.sufficient["goal_rank"] == 2 == drummy.sufficient["labels"]
    assert drummy.sufficient["tried"] == 0 and "is last of the tagger's 2 tags" in drummy.sufficient["statement"]
