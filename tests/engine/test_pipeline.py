"""Ground truth for the whole engine: taggers whose right explanation is known."""
import numpy as np
import pytest

from engine import ExplainSettings, FunctionTagger, InvalidSourcesError, explain
from engine.errors import InvalidOptionError, TaggerUnreachableError
from engine.sources import Sources
from tests.synthetic import SAMPLE_RATE, TIMED, listening_tagger, stems

SECONDS, SEGMENTS = 4.0, 4


def run(rules, samples=512, seed=0, **settings):
    sources = stems(SECONDS)
    tagger = FunctionTagger(listening_tagger(rules, SEGMENTS, SECONDS), list(rules), SAMPLE_RATE)
    result = explain(sources.mixture(), SAMPLE_RATE, tagger,
                     ExplainSettings(samples=samples, seed=seed, segments=SEGMENTS, **{**TIMED, **settings}), sources=sources)
    return result, tagger


def component(result, source, segment):
    return next(c.index for c in result.components if c.source == source and c.segment == segment)


def test_one_relevant_component_ranks_first_and_the_rest_weigh_nothing():
    result, _ = run({"drummy": [("drums", 2, 1.0)]})
    tag = result.tag("drummy")
    target = component(result, "drums", 2)
    weights = np.array(tag.weights)
    assert tag.ranking()[0] == target
    assert weights[target] == pytest.approx(0.3, rel=0.05)  # the tone's amplitude, shrunk a little by ridge
    assert np.max(np.abs(np.delete(weights, target))) < 0.001
    assert tag.score > 0.99
    assert tag.self_check[0].k == 1 and tag.self_check[0].components == [target]
    assert tag.self_check[0].still_top


def test_two_relevant_components_rank_in_order_of_strength():
    result, _ = run({"mixed": [("vocals", 1, 1.0), ("bass", 3, 0.4)]}, samples=1024)
    ranking = result.tag("mixed").ranking()
    assert ranking[:2] == [component(result, "vocals", 1), component(result, "bass", 3)]
    weights = np.array(result.tag("mixed").weights)
    assert weights[ranking[0]] == pytest.approx(2.5 * weights[ranking[1]], rel=0.05)


def test_same_seed_same_explanation_other_seed_same_answer():
    rules = {"drummy": [("drums", 2, 1.0)]}
    first, second, other = run(rules, seed=7)[0], run(rules, seed=7)[0], run(rules, seed=8)[0]
    assert first.to_dict() == second.to_dict()
    assert first.tag("drummy").weights != other.tag("drummy").weights
    assert other.tag("drummy").ranking()[0] == first.tag("drummy").ranking()[0]


def test_duplicate_masks_are_sent_once():
    # 3 stems × 3 segments = 9 components = 512 distinct masks; 400 draws repeat some.
    result, tagger = run_with_segments(3, samples=400)
    assert result.stats["samples"] == 400
    assert not result.stats["exhaustive"]
    assert result.stats["unique_masks"] < 400
    assert tagger.calls == result.stats["tagger_calls"]
    assert tagger.calls <= result.stats["unique_masks"] + 3 + result.stats["verification_calls"]


def run_with_segments(segments, samples, self_check_k=3):
    sources = stems(SECONDS)
    rules = {"drummy": [("drums", 1, 1.0)]}
    tagger = FunctionTagger(listening_tagger(rules, segments, SECONDS), list(rules), SAMPLE_RATE)
    settings = ExplainSettings(samples=samples, segments=segments, self_check_k=self_check_k, **TIMED)
    return explain(sources.mixture(), SAMPLE_RATE, tagger, settings, sources=sources), tagger


def test_exhaustive_enumeration_when_every_mask_fits_the_budget():
    # 3 × 2 = 6 components → 64 masks ≤ 2048 samples: each is asked exactly once, self-check included.
    result, tagger = run_with_segments(2, samples=2048)
    assert result.stats["exhaustive"]
    assert result.stats["unique_masks"] == 64
    assert tagger.calls == 64


def test_many_tags_cost_no_more_calls_than_one():
    rules = {f"tag{i}": [("drums", i % SEGMENTS, 1.0)] for i in range(50)}
    many, many_tagger = run(rules, tags=tuple(rules), self_check_k=0)
    one, one_tagger = run({"tag0": rules["tag0"]}, self_check_k=0)
    assert many_tagger.calls == one_tagger.calls
    assert len(many.tags) == 50
    assert many.tag("tag7").ranking()[0] == component(many, "drums", 3)


def test_default_target_is_the_top_tag_of_the_original():
    result, _ = run({"weak": [("bass", 0, 0.1)], "strong": [("drums", 1, 1.0)]})
    assert [t.tag for t in result.tags] == ["strong"]
    result, _ = run({"weak": [("bass", 0, 0.1)], "strong": [("drums", 1, 1.0)]}, top_k=2)
    assert [t.tag for t in result.tags] == ["strong", "weak"]


def test_unknown_target_tag_is_an_error():
    with pytest.raises(InvalidOptionError, match="no tag"):
        run({"drummy": [("drums", 2, 1.0)]}, tags=("jazz",))


def test_residual_makes_all_on_reproduce_the_original_exactly():
    sources = stems(SECONDS)
    noisy = sources.mixture() + 0.01 * np.random.default_rng(0).standard_normal((sources.n_samples, 1))
    rules = {"drummy": [("drums", 2, 1.0)]}
    tagger = FunctionTagger(listening_tagger(rules, SEGMENTS, SECONDS), list(rules), SAMPLE_RATE)
    result = explain(noisy, SAMPLE_RATE, tagger, ExplainSettings(samples=256, segments=SEGMENTS, residual=True),
                     sources=sources)
    assert result.residual and result.sources[-1] == "residual"
    assert len(result.components) == 4 * SEGMENTS


def test_exactly_one_of_sources_or_separator():
    tagger = FunctionTagger(lambda m: np.zeros((len(m), 1)), ["x"], SAMPLE_RATE)
    with pytest.raises(InvalidSourcesError, match="exactly one"):
        explain(np.zeros(800), SAMPLE_RATE, tagger)


@pytest.mark.parametrize("waveform, settings, error, message", [
    (np.full(32000, np.nan), {}, "InvalidAudioError", "NaN"),
    (np.zeros(0), {}, "InvalidAudioError", "empty"),
    (np.zeros((2, 3, 4)), {}, "InvalidAudioError", "shape"),
    (None, {"segments": 0}, "InvalidOptionError", "segment count must be a positive integer"),
    (None, {"segments": -3}, "InvalidOptionError", "segment count must be a positive integer"),
    (None, {"samples": 0}, "InvalidOptionError", "samples must be a positive integer"),
    (None, {"batch_size": 0}, "InvalidOptionError", "batch_size"),
    (None, {"surrogate": {"feature_selection": "magic"}}, "InvalidOptionError", "unknown feature selection"),
    (None, {"surrogate": {"kernel": 3}}, "TypeError", "kernel"),
    (None, {"top_k": 5}, "InvalidOptionError", "top_k must be 1..1"),
])
def test_every_input_error_is_specific_and_says_what_to_fix(waveform, settings, error, message):
    import engine.errors

    sources = stems(SECONDS)
    waveform = sources.mixture() if waveform is None else waveform
    expected = getattr(engine.errors, error, None) or TypeError
    tagger = FunctionTagger(listening_tagger({"x": [("drums", 0, 1.0)]}, SEGMENTS, SECONDS), ["x"], SAMPLE_RATE)
    with pytest.raises(expected, match=message):
        explain(waveform, SAMPLE_RATE, tagger, ExplainSettings(**settings), sources=sources)


def test_stems_that_do_not_fit_the_mixture_are_refused():
    sources = stems(SECONDS)
    tagger = FunctionTagger(lambda m: np.zeros((len(m), 1)), ["x"], SAMPLE_RATE)
    with pytest.raises(InvalidSourcesError, match="as long as the mixture"):
        explain(sources.mixture()[:-5], SAMPLE_RATE, tagger, sources=sources)


def test_a_tagger_answering_nonsense_is_reported():
    from engine.errors import TaggerResponseError

    sources = stems(SECONDS)
    for function, message in ((lambda m: np.full((len(m), 1), np.nan), "non-finite score nan for tag 'x'"),
                              (lambda m: np.zeros((len(m) + 1, 1)), "predictions for")):
        tagger = FunctionTagger(function, ["x"], SAMPLE_RATE)
        with pytest.raises(TaggerResponseError, match=message):
            explain(sources.mixture(), SAMPLE_RATE, tagger, sources=sources)


def constant_and_drummy(mixes):
    drummy = listening_tagger({"drummy": [("drums", 2, 1.0)]}, SEGMENTS, SECONDS)(mixes)
    return np.column_stack([drummy[:, 0], np.full(len(mixes), 0.1)])


def test_a_tag_the_tagger_scores_the_same_for_every_mix_is_an_honest_empty_result():
    sources = stems(SECONDS)
    tagger = FunctionTagger(constant_and_drummy, ["drummy", "always"], SAMPLE_RATE)
    result = explain(sources.mixture(), SAMPLE_RATE, tagger,
                     ExplainSettings(samples=256, segments=SEGMENTS, tags=("drummy", "always")), sources=sources)
    always, drummy = result.tag("always"), result.tag("drummy")
    assert np.max(np.abs(always.weights)) < 1e-9 and always.error is None
    assert always.self_check == [] and "no component has a positive weight" in always.self_check_note
    assert drummy.ranking()[0] == component(result, "drums", 2) and drummy.self_check[0].still_top
    assert drummy.self_check_note is None


def test_a_silent_clip_explains_to_zero_weights_without_failing():
    silent = Sources.from_mapping({n: np.zeros((int(SECONDS * SAMPLE_RATE), 1), np.float32)
                                   for n in ("drums", "bass")}, SAMPLE_RATE)
    tagger = FunctionTagger(listening_tagger({"drummy": [("drums", 2, 1.0)]}, SEGMENTS, SECONDS), ["drummy"],
                            SAMPLE_RATE)
    result = explain(silent.mixture(), SAMPLE_RATE, tagger, ExplainSettings(samples=64, segments=SEGMENTS),
                     sources=silent)
    tag = result.tag("drummy")
    assert tag.weights == [0.0] * 8 and tag.self_check == [] and tag.self_check_note is not None


def test_a_tagger_failing_on_the_self_check_keeps_the_weights_and_says_so():
    sources = stems(SECONDS)
    healthy = listening_tagger({"drummy": [("drums", 2, 1.0)]}, SEGMENTS, SECONDS)
    answered = []

    def failing_after_sampling(mixes):
        if len(answered) >= 64:
            raise TaggerUnreachableError("tagger went away")
        answered.extend(range(len(mixes)))
        return healthy(mixes)

    tagger = FunctionTagger(failing_after_sampling, ["drummy"], SAMPLE_RATE)
    result = explain(sources.mixture(), SAMPLE_RATE, tagger,
                     ExplainSettings(samples=64, segments=SEGMENTS, batch_size=64), sources=sources)
    tag = result.tag("drummy")
    assert tag.ranking()[0] == component(result, "drums", 2)
    assert tag.error["stage"] == "checking" and "tagger went away" in tag.error["detail"]
    assert tag.self_check == []


def test_a_tag_that_cannot_be_fitted_is_reported_on_that_tag_alone(monkeypatch):
    import engine.explainer as explainer

    real = explainer.fit_surrogates

    def fails_on_constant_columns(masks, scores, options, counts=None):
        if np.ptp(scores[:, -1]) == 0:
            raise np.linalg.LinAlgError("singular")
        return real(masks, scores, options, counts=counts)

    monkeypatch.setattr(explainer, "fit_surrogates", fails_on_constant_columns)
    sources = stems(SECONDS)
    tagger = FunctionTagger(constant_and_drummy, ["drummy", "always"], SAMPLE_RATE)
    result = explain(sources.mixture(), SAMPLE_RATE, tagger,
                     ExplainSettings(samples=256, segments=SEGMENTS, tags=("drummy", "always")), sources=sources)
    assert result.tag("always").error == {"stage": "fitting", "detail": "the surrogate could not be fitted: "
                                          "LinAlgError: singular"}
    assert result.tag("drummy").error is None and result.tag("drummy").self_check[0].still_top
