"""The `sampling` part of a request: what is sent for each way of asking, and what is refused before sending."""
import pytest

from audiolime_client.errors import UsageError
from audiolime_client.sampling import Sampling, sampling_request
from audiolime_client.settings import explanation_request


def test_nothing_asked_sends_nothing_so_the_service_samples_adaptively():
    assert sampling_request() == (None, None)
    assert "sampling" not in explanation_request("http://t/p") and "samples" not in explanation_request("http://t/p")


def test_the_settings_one_by_one_or_as_an_object_go_where_openapi_says():
    body = explanation_request("http://t/p", confidence=0.99, claim_k=2, tolerance=0.05, min_samples=64,
                               max_samples=1024, round_size=32, design="paired", claim="tolerant", top_k=4,
                               estimator="adjusted")
    assert body["sampling"] == {"confidence": 0.99, "top_k": 2, "tolerance": 0.05, "min_samples": 64,
                                "max_samples": 1024, "round_size": 32, "design": "paired", "claim": "tolerant",
                                "estimator": "adjusted"}
    assert body["targets"] == {"top_k": 4}  # top_k stays the tagger's top tags; claim_k is the claim's
    as_object = explanation_request("http://t/p", sampling=Sampling(confidence=0.99, top_k=2), max_samples=1024)
    assert as_object["sampling"] == {"confidence": 0.99, "top_k": 2, "max_samples": 1024}
    as_dict = explanation_request("http://t/p", sampling={"strategy": "adaptive"}, samples=600)
    assert (as_dict["samples"], as_dict["sampling"]) == (600, {"strategy": "adaptive"})  # samples: the cap


def test_fixed_n_is_the_fixed_strategy_with_n_samples():
    assert sampling_request(fixed=64) == (64, {"strategy": "fixed"})
    body = explanation_request("http://t/p", fixed=64, confidence=0.9, claim_k=2)  # the claim it reports
    assert (body["samples"], body["sampling"]) == (64, {"strategy": "fixed", "confidence": 0.9, "top_k": 2})
    assert sampling_request(samples=64) == (64, None)  # samples alone: fixed, as before adaptive sampling


@pytest.mark.parametrize(("asked", "message"), [
    (dict(fixed=64, samples=64), "give fixed=N or samples=N, not both"),
    (dict(fixed=64, sampling={"strategy": "adaptive"}), "fixed=N is a fixed run"),
    (dict(fixed=64, sampling={"max_samples": 128}), "max_samples is for adaptive runs"),
    (dict(samples=64, sampling={"round_size": 8}), r"round_size is for adaptive runs.*samples without a strategy"),
    (dict(sampling={"strategy": "fixed", "min_samples": 8}), "min_samples is for adaptive runs"),
    (dict(sampling={"strategy": "greedy"}), "strategy must be one of adaptive, fixed"),
    (dict(sampling={"design": "sobol"}), "design must be one of independent, paired"),
    (dict(sampling={"claim": "exact"}), "claim must be one of strict, tolerant"),
    (dict(sampling={"estimator": "fancy"}), "estimator must be one of plain, adjusted"),
    (dict(sampling={"confidence": 1.5}), "confidence is a fraction from 0 to 1"),
    (dict(sampling={"top_k": 0}), "top_k must be a positive integer"),
    (dict(sampling={"top-k": 3}), "unknown sampling settings"),
])
def test_contradictions_and_mistakes_are_refused_before_sending(asked, message):
    with pytest.raises(UsageError, match=message):
        sampling_request(**asked)


def test_the_same_setting_given_twice_differently_is_refused():
    with pytest.raises(UsageError, match="top_k given twice: 3 and 2"):
        explanation_request("http://t/p", sampling={"top_k": 3}, claim_k=2)
    assert explanation_request("http://t/p", sampling={"top_k": 2}, claim_k=2)["sampling"] == {"top_k": 2}
