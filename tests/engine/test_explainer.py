"""The stepwise explainer: adaptive stops with known answers, ties, determinism and replay; the
faithfulness checks of its check phase."""
import numpy as np
import pytest

from engine import ExplainSettings, FunctionTagger, SamplingSettings, explain
from engine.errors import TaggerUnreachableError
from engine.explainer import Explainer, Phase
from engine.faithfulness import random_subsets
from engine.mixing import Mixer
from engine.perturbations import mask_key
from engine.pipeline import factorize
from engine.settings import FaithfulnessSettings
from engine.tagger import Predictions
from tests.synthetic import SAMPLE_RATE, TIMED, TONES, listening_tagger, stems, tone_level

SECONDS, SEGMENTS, CAP = 4.0, 4, 2048


def run(rules, **settings):
    sources = stems(SECONDS)
    tagger = FunctionTagger(listening_tagger(rules, SEGMENTS, SECONDS), list(rules), SAMPLE_RATE)
    result = explain(sources.mixture(), SAMPLE_RATE, tagger, ExplainSettings(segments=SEGMENTS, **{**TIMED, **settings}),
                     sources=sources)
    return result, tagger


def component(result, source, segment):
    return next(c.index for c in result.components if c.source == source and c.segment == segment)


def test_one_strong_and_one_weak_driver_stop_early_sure_and_right():
    result, tagger = run({"mixed": [("vocals", 1, 1.0), ("bass", 3, 0.4)]})
    stability = result.tag("mixed").stability
    assert result.stats["strategy"] == "adaptive" and result.stats["stop_reason"] == "converged"
    assert result.stats["samples"] <= CAP // 4 and tagger.calls <= CAP // 4 + 3
    assert stability["confidence"] >= 0.95 and stability["converged"]
    # Two components matter; the claim covers those two, in order, and says so.
    assert stability["claimed"] == 2 and stability["tied"] == []
    assert stability["components"] == [component(result, "vocals", 1), component(result, "bass", 3)]


def test_an_exact_tie_is_named_whole_or_left_unsettled_never_a_single_winner():
    rules = {"tie": [("drums", 1, 1.0), ("bass", 2, 1.0), ("vocals", 3, 1.0)]}
    result, _ = run(rules, sampling=SamplingSettings(top_k=1))
    stability = result.tag("tie").stability
    tied = sorted([component(result, "drums", 1), component(result, "bass", 2), component(result, "vocals", 3)])
    if stability["converged"]:
        assert stability["tied"] == tied
    else:
        assert result.stats["stop_reason"] == "max_samples" and stability["confidence"] < 0.95


def close_pair_with_interactions(mixes):
    """vocals 1 at 1.0 and bass 2 at 0.95 (half a tolerance apart), and interactions elsewhere that
    make the fit's weights noisy, so settling the close pair costs masks."""
    span = SECONDS / SEGMENTS

    def on(source, segment):
        return tone_level(mixes, SAMPLE_RATE, TONES[source], segment * span, (segment + 1) * span) / 0.3

    knot = on("drums", 0) * on("drums", 3) + on("vocals", 0) * on("bass", 3) - on("vocals", 2) * on("drums", 1)
    return (1.0 * on("vocals", 1) + 0.95 * on("bass", 2) + 0.6 * knot)[:, None]


def test_a_tolerant_claim_settles_a_close_pair_with_fewer_masks_and_claims_one_of_it():
    # LIME's plain fit, which the knot makes noisy: the adjusted estimate reads the knot's pairs and
    # settles either claim at its first look, leaving nothing for the tolerant claim to save
    sources = stems(SECONDS)
    for seed in range(3):
        results = {}
        for kind in ("strict", "tolerant"):
            tagger = FunctionTagger(close_pair_with_interactions, ["close"], SAMPLE_RATE)
            results[kind] = explain(sources.mixture(), SAMPLE_RATE, tagger,
                                    ExplainSettings(segments=SEGMENTS, seed=seed, **TIMED,
                                                    sampling=SamplingSettings(top_k=1, claim=kind,
                                                                              estimator="plain")),
                                    sources=sources)
        tolerant = results["tolerant"].tag("close").stability
        pair = {component(results["tolerant"], "vocals", 1), component(results["tolerant"], "bass", 2)}
        assert tolerant["converged"] and tolerant["kind"] == "tolerant" and tolerant["tied"] == []
        assert len(tolerant["components"]) == 1 and set(tolerant["components"]) <= pair
        assert results["tolerant"].stats["samples"] < results["strict"].stats["samples"]
        assert results["strict"].tag("close").stability["kind"] == "strict"


def knotted(mixes):
    """Two components alone and two that count only together: a misfit no line reads, all pairs."""
    span = SECONDS / SEGMENTS

    def on(source, segment):
        return tone_level(mixes, SAMPLE_RATE, TONES[source], segment * span, (segment + 1) * span) / 0.3

    return (1.0 * on("vocals", 1) + 0.6 * on("bass", 2) + 0.8 * on("drums", 0) * on("drums", 3))[:, None]


def test_an_adjusted_run_claims_the_same_drivers_from_fewer_masks_and_reports_what_it_claims_about():
    sources = stems(SECONDS)

    def run_knotted(estimator, **sampling):
        tagger = FunctionTagger(knotted, ["knot"], SAMPLE_RATE)
        return explain(sources.mixture(), SAMPLE_RATE, tagger,
                       ExplainSettings(segments=SEGMENTS, **TIMED,
                                       sampling=SamplingSettings(top_k=2, estimator=estimator, **sampling)),
                       sources=sources)

    results = {estimator: run_knotted(estimator) for estimator in ("plain", "adjusted")}
    adjusted, plain = results["adjusted"].tag("knot"), results["plain"].tag("knot")
    drivers = [component(results["adjusted"], "vocals", 1), component(results["adjusted"], "bass", 2)]
    for tag in (adjusted, plain):
        assert tag.stability["converged"] and tag.stability["components"] == drivers
    assert results["adjusted"].stats["samples"] < results["plain"].stats["samples"]  # 128 against 192
    # on the same 256 masks the errors are a third of the plain fit's
    same = [run_knotted(estimator, min_samples=256, max_samples=256).tag("knot") for estimator in ("plain", "adjusted")]
    assert np.median(same[1].weight_se) < 0.5 * np.median(same[0].weight_se)
    assert "regression-adjusted" in adjusted.stability["method"] and "adjusted" not in plain.stability["method"]
    assert list(np.argsort(-np.asarray(adjusted.weights))[:2]) == drivers
    assert adjusted.local_prediction == pytest.approx(adjusted.intercept + sum(adjusted.weights))


def test_same_seed_same_masks_same_stop_same_explanation():
    rules = {"mixed": [("vocals", 1, 1.0), ("bass", 3, 0.4)]}
    first, second = run(rules, seed=3)[0], run(rules, seed=3)[0]
    assert first.to_dict() == second.to_dict()
    other = run(rules, seed=4)[0]
    assert other.tag("mixed").stability["components"] == first.tag("mixed").stability["components"]


def explainer_for(rules, **settings):
    sources = stems(SECONDS)
    explain_settings = ExplainSettings(segments=SEGMENTS, **{**TIMED, **settings})
    factorization = factorize(sources.mixture(), SAMPLE_RATE, sources, explain_settings)
    predict = listening_tagger(rules, SEGMENTS, SECONDS)
    from engine.mixing import Mixer

    mixer = Mixer(factorization)
    asked: list[bytes] = []

    def ask(query):
        asked.extend(query.keys)
        return Predictions(tuple(rules), np.asarray(predict(mixer.mix(query.masks))).reshape(len(query.masks), -1))

    return Explainer(factorization, explain_settings), ask, asked


def test_a_replay_with_known_answers_asks_only_the_rest_and_ends_the_same():
    rules = {"tie": [("drums", 1, 1.0), ("bass", 2, 0.9)]}
    explainer, ask, asked = explainer_for(rules, sampling=SamplingSettings(top_k=2, min_samples=64))
    whole = explainer.run(ask)
    answers = dict(explainer._answers)
    half = dict(list(answers.items())[: len(answers) // 2])  # a run killed half way
    again, ask_again, asked_again = explainer_for(rules, sampling=SamplingSettings(top_k=2, min_samples=64))
    again.remember(half, ("tie",))
    replayed = again.run(ask_again)
    # (a mix's float32 samples may differ in the last bit with the batch it was mixed in)
    np.testing.assert_allclose(replayed.tags[0].weights, whole.tags[0].weights, rtol=0, atol=1e-9)
    assert replayed.stats["samples"] == whole.stats["samples"]
    assert replayed.tags[0].stability["components"] == whole.tags[0].stability["components"]
    assert not set(asked_again) & set(half)  # nothing known was asked again
    assert len(asked_again) + len(half) == len(asked)


def test_fixed_is_exactly_the_samples_asked_for():
    result, tagger = run({"drummy": [("drums", 2, 1.0)]}, samples=300)
    assert result.stats["stop_reason"] == "fixed" and result.stats["samples"] == 300
    assert result.stats["design"] == "independent"


def test_all_masks_once_when_they_fit_the_cap_is_exact():
    result, tagger = run({"drummy": [("drums", 2, 1.0)]}, sampling=SamplingSettings(max_samples=4096))
    assert result.stats["stop_reason"] == "exhaustive" and result.stats["unique_masks"] == 2 ** 12
    stability = result.tag("drummy").stability
    assert stability["confidence"] == 1.0 and stability["method"].startswith("exact")
    assert result.tag("drummy").weight_se == [0.0] * 12


def test_source_and_segment_shares_of_the_positive_weight():
    result, _ = run({"drummy": [("drums", 2, 1.0)]})
    groups = result.tag("drummy").groups
    drums = next(g for g in groups["sources"] if g["name"] == "drums")
    # (the other components' tiny positive weights, noise of the fit, take a few per cent)
    assert drums["positive_share"] > 0.85 and drums["positive_share_interval"][1] > drums["positive_share"]
    segment = next(g for g in groups["segments"] if g["name"] == "2")
    assert segment["weight"] == pytest.approx(0.3, rel=0.05)
    low, high = segment["weight_interval"]
    assert low <= segment["weight"] <= high


# -- the faithfulness checks -------------------------------------------------------------------------
FLOOR = 0.1  # a tag scored alike for every mix: `drummy` is on top exactly while the drums of segment 2 sound
FAITHFUL = FaithfulnessSettings(random_draws=20, deletion=True)


def drummy_and_floor(mixes):
    drummy = listening_tagger({"drummy": [("drums", 2, 1.0)]}, SEGMENTS, SECONDS)(mixes)
    return np.column_stack([drummy[:, 0], np.full(len(mixes), FLOOR)])


def run_drummy(**settings):
    sources = stems(SECONDS)
    tagger = FunctionTagger(drummy_and_floor, ["drummy", "floor"], SAMPLE_RATE)
    settings = ExplainSettings(segments=SEGMENTS, tags=("drummy",), **{**TIMED, **settings})
    return explain(sources.mixture(), SAMPLE_RATE, tagger, settings, sources=sources), tagger


def drummy_explainer(**settings):
    sources = stems(SECONDS)
    explain_settings = ExplainSettings(segments=SEGMENTS, tags=("drummy",), **{**TIMED, **settings})
    factorization = factorize(sources.mixture(), SAMPLE_RATE, sources, explain_settings)
    mixer = Mixer(factorization)
    asked: list[bytes] = []

    def ask(query):
        asked.extend(query.keys)
        return Predictions(("drummy", "floor"), drummy_and_floor(mixer.mix(query.masks)))

    return Explainer(factorization, explain_settings), ask, asked


def test_a_tag_hearing_one_component_keeps_with_it_drops_without_it_and_random_picks_keep_it_less():
    # random picks need positive weights besides the drums': the plain fit's noise gives them (the
    # adjusted estimate, the adaptive default, finds only the drums and what their fades leak)
    result, _ = run_drummy(faithfulness=FAITHFUL, sampling={"estimator": "plain"})
    tag, drums = result.tag("drummy"), component(result, "drums", 2)
    assert [row.still_top for row in tag.self_check] == [True, True, True] and tag.ranking()[0] == drums
    faithfulness = tag.faithfulness
    assert faithfulness["k_max"] == 3 and faithfulness["top_on_original"] is True
    assert [(r["k"], r["components"][0], r["dropped"], r["top_tag"]) for r in faithfulness["remove"]] == [
        (1, drums, True, "floor"), (2, drums, True, "floor"), (3, drums, True, "floor")]
    assert faithfulness["remove"][0]["score"] < 0.01  # the drums gone, drummy hears nothing
    # k random positive components keep the tag exactly when the drums are among them, and removing
    # them drops it exactly then: a known answer, draw by draw
    positive = [i for i, w in enumerate(tag.weights) if w > 0]
    assert faithfulness["positive"] == len(positive) > 3
    holds = [sum(drums in d for d in random_subsets(positive, k, 20, 0, "drummy")) for k in (1, 2, 3)]
    random = faithfulness["random"]
    assert random["keep_counts"] == holds and random["remove_counts"] == holds
    assert random["keep"] == [h / 20 for h in holds] and all(share < 1.0 for share in random["keep"])


def test_without_faithfulness_an_explanation_costs_what_it_did_and_with_it_each_extra_mask_is_counted():
    plain, plain_tagger = run_drummy()
    checked, checked_tagger = run_drummy(faithfulness=FAITHFUL)
    assert all(t.faithfulness is None for t in plain.tags) and plain.stats["faithfulness_calls"] == 0
    verifying = plain.stats["verification_calls"]
    assert plain_tagger.calls == plain.stats["tagger_calls"] <= plain.stats["unique_masks"] + 3 + verifying
    assert checked.stats["verification_calls"] == verifying  # the same searches, whatever else is asked
    assert checked.stats["samples"] == plain.stats["samples"]  # the checks come after the sampling
    extra = checked.stats["faithfulness_calls"]
    assert checked_tagger.calls == checked.stats["tagger_calls"] == plain_tagger.calls + extra
    # at most K × (1 deletion + R kept + R removed) per tag; fewer, as masks repeat (k = 1 has few choices)
    assert 3 * 2 < extra <= 3 * (1 + 2 * 20)
    assert checked.to_dict()["settings"]["faithfulness"] == {"random": 20, "deletion": True}


def test_the_checks_are_one_query_of_the_check_phase_and_the_cap_foresees_them():
    explainer, ask, _ = drummy_explainer(faithfulness=FAITHFUL)
    phases, caps = [], []

    def recording(query):
        phases.append(query.phase)
        caps.append(query.cap)
        return ask(query)

    result = explainer.run(recording)
    assert phases.count(Phase.CHECKING) == 1 and phases[-1] is Phase.CHECKING
    used = result.stats["tagger_calls"]
    assert all(cap >= used for cap in caps[:-1]) and caps[-1] == used


def test_same_seed_same_faithfulness_masks_other_seed_other_draws():
    first, ask, asked = drummy_explainer(seed=5, faithfulness=FAITHFUL)
    second, ask_second, asked_second = drummy_explainer(seed=5, faithfulness=FAITHFUL)
    one, two = first.run(ask), second.run(ask_second)
    assert asked == asked_second and one.tags[0].faithfulness == two.tags[0].faithfulness
    other, ask_other, _ = drummy_explainer(seed=6, faithfulness=FAITHFUL)
    other.run(ask_other)
    assert {mask_key(m) for m in other._checks.faithfulness_masks()} != {
        mask_key(m) for m in first._checks.faithfulness_masks()}


def test_a_replay_that_remembers_half_the_answers_asks_only_the_rest_checks_included():
    explainer, ask, asked = drummy_explainer(faithfulness=FAITHFUL)
    whole = explainer.run(ask)
    half = dict(list(explainer._answers.items())[::2])  # samples and check mixes alike
    faithfulness_keys = {mask_key(m) for m in explainer._checks.faithfulness_masks()}
    assert half.keys() & faithfulness_keys
    again, ask_again, asked_again = drummy_explainer(faithfulness=FAITHFUL)
    again.remember(half, ("drummy", "floor"))
    replayed = again.run(ask_again)
    assert not set(asked_again) & set(half)
    assert len(asked_again) + len(half) == len(asked)
    assert replayed.tags[0].faithfulness["random"] == whole.tags[0].faithfulness["random"]
    assert [r["dropped"] for r in replayed.tags[0].faithfulness["remove"]] == [True] * 3
    assert replayed.stats["tagger_calls"] == len(asked)  # the job's calls, over both of its runs
    assert replayed.stats["faithfulness_calls"] == whole.stats["faithfulness_calls"]


def test_a_tagger_failing_on_the_faithfulness_mixes_keeps_the_weights_and_the_self_check():
    explainer, ask, _ = drummy_explainer(faithfulness=FAITHFUL)
    explainer.run(ask)
    needed = {mask_key(m) for m in explainer._round_masks()} | {
        mask_key(m) for m in explainer._checks.self_check_masks()}
    known = {k: v for k, v in explainer._answers.items() if k in needed}  # sampling and self-check
    again, _, _ = drummy_explainer(faithfulness=FAITHFUL)
    again.remember(known, ("drummy", "floor"))

    def failing(query):
        raise TaggerUnreachableError("tagger went away")

    tag = again.run(failing).tags[0]
    assert tag.self_check[0].still_top and tag.faithfulness is None
    assert tag.error["stage"] == "checking" and "faithfulness mixes: tagger went away" in tag.error["detail"]


def test_fewer_masks_than_components_leaves_the_weight_errors_null_and_says_why():
    result, _ = run({"drummy": [("drums", 2, 1.0)]}, samples=4)
    tag = result.tags[0]
    assert len(tag.weights) > 4
    assert tag.weight_se is None and tag.weight_interval is None
    assert "cannot be estimated" in tag.weight_se_note
    assert tag.to_dict()["weight_se_note"] == tag.weight_se_note


def test_fewer_masks_than_components_leaves_the_group_weight_intervals_null():
    result, _ = run({"drummy": [("drums", 2, 1.0)]}, samples=4)
    groups = result.tags[0].groups
    assert all(g["weight_interval"] is None for kind in ("sources", "segments") for g in groups[kind])
