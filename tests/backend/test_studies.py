"""StudyRequest: an explanation request validated as POST /explanations validates it, plus the
comparisons and the earlier explanations a study asks for; clip names and counts."""
from __future__ import annotations

import pytest

from backend.config import Settings
from backend.job_request import JobRequest, LimitError
from backend.studies import StudyRequest, check_clip_count, check_clip_names
from engine.errors import InvalidOptionError

URL = "http://tagger.example/predict"
LIMITS = Settings(max_study_clips=3, max_samples=4096)
ID = "0123456789abcdef0123456789abcdef"


def study(**fields) -> StudyRequest:
    return StudyRequest.from_dict({"tagger": {"url": URL}, "separator": "hpss", **fields}, LIMITS)


def test_without_comparisons_each_clip_gets_the_explanation_request_as_is():
    request = study(samples=64, targets={"tags": ["low"]})
    plain = JobRequest.from_dict({"tagger": {"url": URL}, "separator": "hpss", "samples": 64,
                                  "targets": {"tags": ["low"]}}, LIMITS)
    assert request.explanation == plain
    assert (request.comparison, request.random, request.explanations) == (None, None, ())
    assert request.job_requests() == [plain]
    assert request.to_dict() == {**plain.to_dict(), "comparisons": {}, "explanations": []}


def test_the_random_comparison_asks_each_explanation_for_deletion_and_random_draws():
    request = study(comparisons={"random": 20})
    assert request.random == 20
    assert request.explanation.settings.faithfulness.to_dict() == {"random": 20, "deletion": True}
    assert request.to_dict()["faithfulness"] == {"random": 20, "deletion": True}
    assert request.to_dict()["comparisons"] == {"random": 20}


def test_a_comparison_separator_is_a_second_job_with_only_the_separator_replaced():
    request = study(comparisons={"random": 5, "separator": "slime"}, segments=4, seed=7)
    main, other = request.job_requests()
    assert (main.separator, other.separator) == ("hpss", "slime")
    assert {**other.to_dict(), "separator": "hpss"} == main.to_dict()
    assert other.settings.faithfulness.random_draws == 5
    assert request.to_dict()["comparisons"] == {"random": 5, "separator": "slime"}


def test_the_separator_defaults_as_for_an_explanation():
    request = StudyRequest.from_dict({"tagger": {"url": URL}}, LIMITS)
    assert request.explanation.separator == "spleeter:2stems"


def test_null_comparisons_and_explanations_are_none_asked():
    request = study(comparisons=None, explanations=None)
    assert (request.comparison, request.random, request.explanations) == (None, None, ())
    assert study(comparisons={"random": None}).random is None


@pytest.mark.parametrize("fields, says", [
    ({"comparisons": {"bogus": 1}}, "unknown comparisons ['bogus']; known: ['random', 'separator']"),
    ({"comparisons": "random"}, "`comparisons` must be an object"),
    ({"comparisons": {"random": 0}}, "`comparisons.random` must be a positive number"),
    ({"comparisons": {"random": -3}}, "`comparisons.random` must be a positive number"),
    ({"comparisons": {"random": 2.5}}, "`comparisons.random` must be a positive number"),
    ({"comparisons": {"random": True}}, "`comparisons.random` must be a positive number"),
    ({"comparisons": {"random": "5"}}, "`comparisons.random` must be a positive number"),
    ({"comparisons": {"separator": 3}}, "`comparisons.separator` must be a separator's name"),
    ({"comparisons": {"separator": None}}, "`comparisons.separator` must be a separator's name"),
    ({"comparisons": {"separator": "hpss"}}, "the study's own separator"),
    ({"comparisons": {"separator": "provided"}}, "`comparisons.separator` is 'provided'"),
    ({"separator": "provided"}, "`separator` is 'provided': a study separates each clip itself"),
    ({"comparisons": {"random": 5}, "faithfulness": {"random": 2}}, "not both"),
    ({"explanations": ID}, "`explanations` must be a list of explanation ids"),
    ({"explanations": [ID, 3]}, "`explanations` must be a list of explanation ids"),
    ({"explanations": ["ABCDEF0123456789abcdef0123456789"]}, "is not an explanation id"),
    ({"explanations": [ID, ID]}, "names the same explanation twice"),
    ({"tagger": {"url": URL}, "bogus": 1}, "unknown request fields ['bogus']"),
])
def test_bad_study_fields_are_refused_saying_what_is_wrong(fields, says):
    with pytest.raises(InvalidOptionError) as refused:
        study(**fields)
    assert says in str(refused.value)
    assert not isinstance(refused.value, LimitError)


def test_an_unknown_comparison_separator_is_refused_as_an_unknown_separator():
    with pytest.raises(InvalidOptionError, match="nope"):
        study(comparisons={"separator": "nope"})


def test_the_explanation_request_is_validated_as_for_post_explanations():
    with pytest.raises(InvalidOptionError, match="`tagger` is required"):
        StudyRequest.from_dict({"separator": "hpss"}, LIMITS)
    with pytest.raises(LimitError, match="samples is 5000"):
        study(samples=5000)
    with pytest.raises(LimitError, match="faithfulness.random is 101"):
        study(comparisons={"random": 101})
    with pytest.raises(InvalidOptionError, match="must be a JSON object"):
        StudyRequest.from_dict([], LIMITS)


def test_a_faithfulness_field_of_its_own_is_taken_as_for_an_explanation():
    request = study(faithfulness={"deletion": True})
    assert request.explanation.settings.faithfulness.to_dict() == {"random": 0, "deletion": True}
    assert request.random is None


def test_earlier_explanations_are_kept_in_order():
    other = "f" * 32
    request = study(explanations=[other, ID])
    assert request.explanations == (other, ID)
    assert request.to_dict()["explanations"] == [other, ID]


def test_the_clip_count_is_limited_earlier_explanations_included():
    check_clip_count(3, LIMITS)
    with pytest.raises(LimitError, match="4 clips; this service takes at most 3 clips per study"):
        check_clip_count(4, LIMITS)
    with pytest.raises(LimitError, match="AUDIOLIME_MAX_STUDY_CLIPS"):
        study(explanations=[f"{i:032x}" for i in range(4)])


def test_clip_names_are_printable_file_names_unique_in_the_study():
    check_clip_names(["a.wav", "b.wav", "with space and ünïcode.flac", "x" * 255, ID])
    for bad, says in [("", "1 to 255 characters"), ("tab\there.wav", "without control characters"),
                      ("x" * 256, "1 to 255"), ("nul\x00.wav", "control characters"), ("del\x7f", "control")]:
        with pytest.raises(InvalidOptionError, match=says):
            check_clip_names(["ok.wav", bad])
    with pytest.raises(InvalidOptionError, match="two clips are named 'a.wav'"):
        check_clip_names(["a.wav", "b.wav", "a.wav"])
