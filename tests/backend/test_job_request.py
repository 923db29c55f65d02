"""JobRequest: the explanation request as the API validates it and the worker reads it back."""
from __future__ import annotations

import dataclasses
import json

import pytest

from engine.errors import InvalidOptionError
from engine.pipeline import ExplainSettings
from engine.settings import FaithfulnessSettings
from engine.surrogate import SurrogateOptions
from backend.config import Settings
from backend.job_request import JobRequest, LimitError, settings_from_public
from backend.tagger.spec import REDACTED, TaggerSpec

URL = "http://tagger.example/predict"
MINIMAL = {"tagger": {"url": URL}}
LIMITS = Settings(max_samples=4096, max_segments=4, max_self_check_k=5, max_batch_size=32, max_concurrency=2,
                  max_tags=3)  # the defaults of a request fit within these


def request(**fields) -> dict:
    return {**MINIMAL, **fields}


def test_a_minimal_request_gets_the_defaults():
    job = JobRequest.from_dict(MINIMAL, Settings())
    assert job.tagger == TaggerSpec(url=URL)
    assert job.separator == "spleeter:2stems"
    assert job.settings == ExplainSettings()
    assert (job.settings.samples, job.settings.segments, job.settings.residual, job.settings.top_k) == (
        None, None, False, 1)
    plan = job.settings.sampling_plan()  # no `samples`: adaptive, up to 2048
    assert (plan.strategy.value, plan.max_samples, plan.confidence, plan.top_k) == ("adaptive", 2048, 0.95, 3)


def test_samples_alone_still_means_exactly_that_many():
    plan = JobRequest.from_dict(request(samples=300), Settings()).settings.sampling_plan()
    assert (plan.strategy.value, plan.max_samples) == ("fixed", 300)


def test_samples_is_the_cap_of_an_adaptive_run_without_max_samples():
    plan = JobRequest.from_dict(request(samples=300, sampling={"confidence": 0.99}), Settings()).settings
    assert (plan.sampling_plan().strategy.value, plan.sampling_plan().max_samples) == ("adaptive", 300)


@pytest.mark.parametrize(("sampling", "message"), [
    ({"strategy": "greedy"}, "unknown sampling strategy"), ({"confidence": 1.5}, "sampling.confidence"),
    ({"min_samples": 600, "max_samples": 500}, "over max_samples"), ({"rounds": 3}, "unknown sampling settings"),
    ({"max_samples": 10**6}, "sampling.max_samples is 1000000, over"),
    ({"claim": "loose"}, "unknown sampling claim 'loose'; use one of strict, tolerant"),
    ({"estimator": "fancy"}, "unknown sampling estimator 'fancy'; use one of plain, adjusted"),
])
def test_bad_sampling_settings_are_refused(sampling, message):
    with pytest.raises(InvalidOptionError, match=message):
        JobRequest.from_dict(request(sampling=sampling), Settings())


def test_a_full_request_is_read():
    data = request(separator="provided", segments=[1.0, 2.5], samples=64, seed=9, residual=True,
                   targets={"tags": ["rock", "jazz"]}, self_check_k=1, fade_seconds=0,
                   surrogate={"kernel_width": 0.5, "alpha": 0.1, "feature_selection": "highest_weights",
                              "num_features": 2},
                   tagger={"url": URL, "batch_size": 4, "headers": {"Authorization": "Bearer s3cret"}})
    job = JobRequest.from_dict(data, Settings())
    assert job.separator == "provided"
    assert job.tagger.batch_size == 4
    assert job.settings == ExplainSettings(
        samples=64, seed=9, segments=(1.0, 2.5), residual=True, fade_seconds=0.0, tags=("rock", "jazz"),
        surrogate=SurrogateOptions(kernel_width=0.5, alpha=0.1, feature_selection="highest_weights",
                                   num_features=2),
        self_check_k=1)


REJECTED = {
    "not an object": ([MINIMAL], "JSON object"),
    "unknown field": (request(colour="blue"), "unknown request fields ['colour']"),
    "no tagger": ({"samples": 64}, "`tagger` is required"),
    "unknown tagger setting": (request(tagger={"url": URL, "token": "x"}), "unknown tagger settings ['token']"),
    "non-string header": (request(tagger={"url": URL, "headers": {"X-Key": 42}}), "headers"),
    "unknown separator": (request(separator="demucs"), "unknown separator 'demucs'"),
    "targets a list": (request(targets=["rock"]), "`targets`"),
    "targets both": (request(targets={"tags": ["rock"], "top_k": 2}), "`targets`"),
    "targets unknown key": (request(targets={"genre": "rock"}), "`targets`"),
    "tags a string": (request(targets={"tags": "rock"}), "`targets.tags`"),
    "tags not strings": (request(targets={"tags": ["rock", 7]}), "`targets.tags`"),
    "top_k a string": (request(targets={"top_k": "3"}), "top_k"),
    "top_k zero": (request(targets={"top_k": 0}), "top_k"),
    "segments a boolean": (request(segments=True), "`segments`"),
    "segments a string": (request(segments="4"), "`segments`"),
    "segments an object": (request(segments={"count": 4}), "`segments`"),
    "segment boundaries strings": (request(segments=["1.0", "2.0"]), "boundaries"),
    "segment boundaries booleans": (request(segments=[True]), "boundaries"),
    "residual a string": (request(residual="yes"), "`residual`"),
    "residual a number": (request(residual=1), "`residual`"),
    "surrogate a list": (request(surrogate=["alpha"]), "`surrogate`"),
    "surrogate unknown key": (request(surrogate={"width": 0.3}), "unknown surrogate settings ['width']"),
    "surrogate alpha a string": (request(surrogate={"alpha": "big"}), "alpha"),
    "fade a string": (request(fade_seconds="short"), "`fade_seconds`"),
    "samples a string": (request(samples="64"), "samples"),
    "faithfulness a list": (request(faithfulness=["random"]), "`faithfulness` must be an object"),
    "faithfulness unknown key": (request(faithfulness={"random": 3, "k": 2}), "unknown faithfulness settings ['k']"),
    "faithfulness random a string": (request(faithfulness={"random": "20"}), "faithfulness.random"),
    "faithfulness random a float": (request(faithfulness={"random": 2.0}), "faithfulness.random"),
    "faithfulness random a boolean": (request(faithfulness={"random": True}), "faithfulness.random"),
    "faithfulness random negative": (request(faithfulness={"random": -1}), "faithfulness.random"),
    "faithfulness deletion a number": (request(faithfulness={"deletion": 1}), "faithfulness.deletion"),
    "faithfulness without a self-check": (request(self_check_k=0, faithfulness={"deletion": True}),
                                          "self_check_k must be at least 1"),
    "reuse a string": (request(reuse="no"), "`reuse` must be true or false"),
    "reuse a number": (request(reuse=0), "`reuse` must be true or false"),
}


@pytest.mark.parametrize("data, message", REJECTED.values(), ids=REJECTED.keys())
def test_malformed_requests_are_rejected(data, message):
    with pytest.raises(InvalidOptionError) as caught:
        JobRequest.from_dict(data, Settings())
    assert message in str(caught.value)
    assert not isinstance(caught.value, LimitError)


@pytest.mark.parametrize("data", [
    request(targets=[]), request(targets=""), request(targets={"tags": ""}), request(surrogate=[]),
    request(surrogate=0),
], ids=["targets []", "targets ''", "tags ''", "surrogate []", "surrogate 0"])
def test_falsy_values_of_the_wrong_type_are_rejected(data):
    with pytest.raises(InvalidOptionError):
        JobRequest.from_dict(data, Settings())


@pytest.mark.parametrize("count", [0, -3])
def test_a_segment_count_below_one_is_rejected(count):
    with pytest.raises(InvalidOptionError):
        JobRequest.from_dict(request(segments=count), Settings())


OVER_LIMITS = {
    "samples": (request(samples=4097), "samples is 4097", "limit of 4096"),
    "segments": (request(segments=5), "segments is 5", "limit of 4"),
    "segment boundaries": (request(segments=[1, 2, 3, 4]), "segments is 5", "limit of 4"),
    "self_check_k": (request(self_check_k=6), "self_check_k is 6", "limit of 5"),
    "tags": (request(targets={"tags": ["a", "b", "c", "d"]}), "targets is 4", "limit of 3"),
    "top_k": (request(targets={"top_k": 4}), "targets is 4", "limit of 3"),
    "batch_size": (request(tagger={"url": URL, "batch_size": 33}), "tagger.batch_size is 33", "limit of 32"),
    "concurrency": (request(tagger={"url": URL, "concurrency": 3}), "tagger.concurrency is 3", "limit of 2"),
    "faithfulness.random": (request(faithfulness={"random": 101}), "faithfulness.random is 101", "limit of 100"),
}


@pytest.mark.parametrize("data, value, limit", OVER_LIMITS.values(), ids=OVER_LIMITS.keys())
def test_requests_over_the_limits_are_refused(data, value, limit):
    with pytest.raises(LimitError) as caught:
        JobRequest.from_dict(data, LIMITS)
    assert value in str(caught.value) and limit in str(caught.value)


def test_requests_at_the_limits_are_accepted():
    data = request(samples=4096, segments=[1, 2, 3], self_check_k=5, targets={"tags": ["a", "b", "c"]},
                   tagger={"url": URL, "batch_size": 32, "concurrency": 2}, faithfulness={"random": 100})
    job = JobRequest.from_dict(data, LIMITS)
    assert (job.settings.samples, job.settings.segments) == (4096, (1, 2, 3))
    assert job.settings.faithfulness.random_draws == 100
    assert JobRequest.from_dict(request(segments=4), LIMITS).settings.segments == 4


def test_the_public_form_redacts_header_values():
    data = request(tagger={"url": URL, "headers": {"Authorization": "Bearer s3cret", "X-Key": "k-42"}})
    job = JobRequest.from_dict(data, Settings())
    public = job.to_dict()

    assert public["tagger"]["headers"] == {"Authorization": REDACTED, "X-Key": REDACTED}
    text = json.dumps(public)
    assert "s3cret" not in text and "k-42" not in text
    assert job.tagger.headers["Authorization"] == "Bearer s3cret"  # the worker still gets it, apart


@pytest.mark.parametrize("data", [
    MINIMAL,
    request(segments=6, samples=512, seed=3, targets={"top_k": 2}),
    request(segments=[0.5, 1.25, 3], residual=True, fade_seconds=0.02, targets={"tags": ["rock"]},
            surrogate={"kernel_width": 0.75, "alpha": 0.0, "feature_selection": "highest_weights",
                       "num_features": 3}, self_check_k=0, separator="spleeter:4stems"),
    request(faithfulness={"random": 20, "deletion": True}, self_check_k=3),
], ids=["minimal", "count and top_k", "boundaries and tags", "faithfulness"])
def test_the_public_form_round_trips_to_the_same_settings(data):
    job = JobRequest.from_dict(data, Settings())
    stored = json.loads(json.dumps(job.to_dict()))  # as the store keeps it, every sampling choice made
    again = settings_from_public(stored)
    assert again.sampling_plan() == job.settings.sampling_plan()
    assert dataclasses.replace(again, sampling=None) == dataclasses.replace(job.settings, sampling=None)
    assert stored["separator"] == job.separator
    assert TaggerSpec.from_dict(stored["tagger"]).public() == job.tagger.public()


def test_faithfulness_is_off_unless_asked_and_read_as_asked():
    assert JobRequest.from_dict(MINIMAL, Settings()).settings.faithfulness == FaithfulnessSettings()
    assert JobRequest.from_dict(request(faithfulness=None), Settings()).settings.faithfulness == FaithfulnessSettings()
    job = JobRequest.from_dict(request(faithfulness={"random": 20, "deletion": True}), Settings())
    assert job.settings.faithfulness == FaithfulnessSettings(random_draws=20, deletion=True)
    assert job.to_dict()["faithfulness"] == {"random": 20, "deletion": True}
    assert JobRequest.from_dict(request(faithfulness={"deletion": True}), Settings()).to_dict()["faithfulness"] == {
        "random": 0, "deletion": True}
    assert JobRequest.from_dict(MINIMAL, Settings()).to_dict()["faithfulness"] == {"random": 0, "deletion": False}


def test_a_request_stored_before_faithfulness_existed_reads_as_none_asked():
    stored = JobRequest.from_dict(MINIMAL, Settings()).to_dict()
    del stored["faithfulness"]
    assert settings_from_public(stored).faithfulness == FaithfulnessSettings()


def test_adaptive_only_settings_on_a_fixed_run_are_refused_not_ignored():
    with pytest.raises(InvalidOptionError, match="apply to adaptive runs"):
        JobRequest.from_dict(request(samples=64, sampling={"strategy": "fixed", "round_size": 8}), Settings())


def test_reuse_is_on_unless_turned_off_and_kept_in_the_public_form():
    assert JobRequest.from_dict(MINIMAL, Settings()).reuse is True
    off = JobRequest.from_dict(request(reuse=False), Settings())
    assert off.reuse is False and off.to_dict()["reuse"] is False
