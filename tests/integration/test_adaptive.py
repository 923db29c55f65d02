"""Adaptive sampling through the real stack: known answers, ties, determinism, resumes, samples, reuse."""
import io
import os
import signal
import time

import numpy as np
import pytest

from engine import explain
from engine.sources import Sources
from engine.surrogate import SurrogateOptions, fit_surrogates
from tests.integration.harness import start_tagger, start_worker, wav_bytes
from tests.integration.test_explain_end_to_end import RATE, SECONDS, submit_tones, tone_stems
from tests.integration.test_faults import wait_for_progress
from backend.stems import source_order
from backend.job_request import settings_from_public
from worker.tagger_client.client import TaggerClient
from backend.tagger.netguard import NetworkPolicy, guarded_session
from backend.tagger.spec import TaggerSpec

CAP = 2048


def adaptive(**sampling) -> dict:
    """A request without `samples`: adaptive, the cap 2048."""
    return {"samples": None, "sampling": sampling}


def component(result, source, segment):
    return next(c["index"] for c in result["components"] if c["source"] == source and c["segment"] == segment)


def tag(result, name):
    return next(t for t in result["tags"] if t["tag"] == name)


def test_a_clear_answer_stops_early_sure_and_right(api, tagger, worker):
    body = api.wait(submit_tones(api, tagger, **adaptive()).json()["id"])
    assert body["stage"] == "finished", body["error"]
    result = body["result"]
    low = tag(result, "low")
    stability = low["stability"]
    assert result["stats"]["stop_reason"] == "converged" and result["stats"]["strategy"] == "adaptive"
    assert result["stats"]["samples"] <= CAP // 4 and stability["samples_used"] == result["stats"]["samples"]
    assert stability["converged"] and stability["confidence"] >= 0.95
    assert stability["components"][0] == component(result, "bass", 2) == low["ranking"][0]
    assert stability["claimed"] == 1 and stability["tied"] == []  # only the bass of segment 2 matters for `low`
    assert len(low["weight_se"]) == len(low["weights"]) == len(low["weight_interval"])
    bass = next(g for g in low["groups"]["sources"] if g["name"] == "bass")
    assert bass["positive_share"] > 0.95 and bass["positive_share_interval"][0] > 0.9
    assert body["progress"]["confidence"] >= 0.95
    assert body["progress"]["settled"] == stability["settled"] == 1  # the confident prefix: all it claims
    assert tagger.stats()["clips"] == result["stats"]["tagger_calls"]


def tied_stems():
    """`low` hears a 110 Hz tone that sounds in every segment alike: four components, one weight."""
    t = np.arange(int(SECONDS * RATE)) / RATE
    stems = {"bass": 0.3 * np.sin(2 * np.pi * 110 * t), "drums": 0.2 * np.sin(2 * np.pi * 440 * t)}
    return {name: w.astype(np.float32)[:, None] for name, w in stems.items()}


def submit_tied(api, server, **overrides):
    stems = tied_stems()
    request = {"tagger": {"url": server.url, "sample_rate": RATE, "batch_size": 32, "concurrency": 1},
               "separator": "provided", "segments": 4, "targets": {"tags": ["low"]},
               "sampling": {"top_k": 1}, **overrides}
    response = api.submit(wav_bytes(sum(stems.values()), RATE), request,
                          {n: wav_bytes(w, RATE) for n, w in stems.items()})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_components_that_tie_exactly_are_named_as_a_tie_never_a_single_winner(api, tagger, worker):
    body = api.wait(submit_tied(api, tagger), timeout=300)
    assert body["stage"] == "finished", body["error"]
    result = body["result"]
    stability = tag(result, "low")["stability"]
    basses = sorted(component(result, "bass", s) for s in range(4))
    if stability["converged"]:
        assert stability["tied"] == basses  # every tied component named, none left out
    else:
        assert result["stats"]["stop_reason"] == "max_samples" and stability["confidence"] < 0.95


def test_a_tolerant_claim_on_an_exact_tie_names_one_of_it_up_to_the_tolerance(api, tagger, worker):
    body = api.wait(submit_tied(api, tagger, sampling={"top_k": 1, "claim": "tolerant"}), timeout=300)
    assert body["stage"] == "finished", body["error"]
    assert body["request"]["sampling"]["claim"] == "tolerant"
    result = body["result"]
    stability = tag(result, "low")["stability"]
    basses = {component(result, "bass", s) for s in range(4)}
    # no component left out is above the claimed one by more than the tolerance: true of any of the four,
    # and the claim says that is all it says (kind), so naming one is no winner
    assert stability["kind"] == "tolerant" and stability["converged"] and stability["tied"] == []
    assert len(stability["components"]) == 1 and set(stability["components"]) <= basses


@pytest.mark.parametrize("claim, estimator", [("strict", "plain"), ("tolerant", "plain"), ("strict", "adjusted")])
def test_same_seed_same_stop_and_explanation_in_process_and_through_the_service(api, tagger, worker, settings, claim,
                                                                                 estimator):
    response = submit_tones(api, tagger, **adaptive(top_k=2, claim=claim, estimator=estimator), seed=5)
    body = api.wait(response.json()["id"])
    assert body["stage"] == "finished", body["error"]
    request = body["request"]
    spec = TaggerSpec.from_dict(request["tagger"] | {"headers": {}})
    client = TaggerClient(spec, guarded_session(NetworkPolicy.from_string(settings.tagger_allowed_networks)))
    stems = Sources.from_mapping({name: tone_stems()[name] for name in source_order(tone_stems())}, RATE)
    local = explain(sum(tone_stems().values()), RATE, client, settings_from_public(request), sources=stems)
    service = body["result"]
    for key in ("stop_reason", "samples", "unique_masks", "rounds"):
        assert local.stats[key] == service["stats"][key], key
    for ours, theirs in zip(local.tags, service["tags"]):
        np.testing.assert_allclose(ours.weights, theirs["weights"], rtol=0, atol=1e-12)
        assert ours.stability["confidence"] == pytest.approx(theirs["stability"]["confidence"], abs=1e-12)
        assert (ours.stability["components"], ours.stability["kind"]) == (theirs["stability"]["components"], claim)
        assert ("regression-adjusted" in theirs["stability"]["method"]) == (estimator == "adjusted")
    assert request["sampling"]["estimator"] == estimator


def test_a_killed_worker_resumes_an_adaptive_run_without_asking_a_mask_twice(api, processes, settings):
    server = start_tagger(processes, "--delay", "0.15")
    doomed = start_worker(processes, settings, f"{settings.key_prefix}-doomed")
    job_id = submit_tied(api, server, tagger={"url": server.url, "sample_rate": RATE, "batch_size": 16,
                                              "concurrency": 1}, sampling={"top_k": 1, "max_samples": 1024})
    wait_for_progress(api, job_id, 160)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    time.sleep(0.5)  # a request already on its way reaches the tagger's counters
    answered = api.call("GET", f"/explanations/{job_id}").json()["progress"]["done"]
    asked_before = server.stats()["clips"]
    start_worker(processes, settings, f"{settings.key_prefix}-rescuer")
    body = api.wait(job_id, timeout=300)
    assert body["stage"] == "finished" and body["attempts"] == 2, body["error"]
    # The rescuer asks only what was never answered (a batch lost with the killed worker is, once more).
    assert server.stats()["clips"] - asked_before == body["result"]["stats"]["tagger_calls"] - answered


def test_samples_round_trip_to_the_reported_weights_and_stay_private(serve_keyed, tagger, processes, settings):
    api = serve_keyed
    start_worker(processes, settings, f"{settings.key_prefix}-w")
    # LIME's plain fit: its weights are a function of the samples alone (the adjusted default's also
    # need the draws' order, which the seed regenerates)
    body = api.wait(submit_tones(api, tagger, **adaptive(estimator="plain")).json()["id"])
    samples = api.call("GET", f"/explanations/{body['id']}/samples")
    assert samples.status_code == 200 and samples.headers["Content-Type"] == "application/json"
    data = samples.json()
    assert sum(data["counts"]) == body["result"]["stats"]["samples"]
    npz = api.call("GET", f"/explanations/{body['id']}/samples", params={"format": "npz"})
    with np.load(io.BytesIO(npz.content)) as arrays:
        assert np.array_equal(arrays["masks"], np.array(data["masks"]))
        assert np.array_equal(arrays["scores"], np.array(data["scores"]))
    options = SurrogateOptions(kernel_width=data["kernel_width"], alpha=data["alpha"])
    for explained in body["result"]["tags"]:
        column = data["labels"].index(explained["tag"])
        fit = fit_surrogates(np.array(data["masks"], dtype=bool), np.array(data["scores"])[:, [column]], options,
                             counts=np.array(data["counts"]))[0]
        np.testing.assert_allclose(fit.weights, explained["weights"], rtol=0, atol=1e-12)
    other = api.call("GET", f"/explanations/{body['id']}/samples", key="key-b")
    assert other.status_code == 404


def test_refining_reuses_every_answer_an_earlier_job_of_the_key_had(api, tagger, worker):
    first = api.wait(submit_tones(api, tagger, **adaptive(confidence=0.9)).json()["id"])
    asked_before = tagger.stats()["clips"]
    second = api.wait(submit_tones(api, tagger, **adaptive(confidence=0.999, top_k=2),
                                   targets={"tags": ["low", "mid", "high"]}).json()["id"])
    assert second["stage"] == "finished", second["error"]
    stats = second["result"]["stats"]
    # a few kept answers are asked again before the rest are trusted: those count as calls
    assert stats["reused"] + stats["reuse"]["checked"] >= first["result"]["stats"]["unique_masks"] - 1
    assert tagger.stats()["clips"] - asked_before == stats["tagger_calls"]  # only the new masks were asked
    assert stats["tagger_calls"] + stats["reused"] >= stats["unique_masks"]


@pytest.fixture
def serve_keyed(settings):
    import dataclasses

    from service import create_app
    from tests.integration.harness import Api, ServedApp

    server = ServedApp(create_app(dataclasses.replace(settings, api_keys=("key-a", "key-b"))))
    yield Api(server.base, key="key-a")
    server.close()
