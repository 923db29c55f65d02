"""The separator registry through the real stack: a test-only separator registered in one line, and the
separators that need no model (hpss, slime) with a known answer."""
import dataclasses

import numpy as np
import pytest

from service import create_app
from tests.integration.harness import Api, ServedApp, start_worker, wav_bytes
from tests.integration.test_explain_end_to_end import RATE, tone_stems

PLUGIN = "tests.integration.separators_plugin"


@pytest.fixture
def plugged(settings, processes):
    settings = dataclasses.replace(settings, separator_plugins=(PLUGIN,))
    server = ServedApp(create_app(settings))
    start_worker(processes, settings, f"{settings.key_prefix}-plugged")
    yield Api(server.base)
    server.close()


def mixture() -> bytes:
    return wav_bytes(sum(tone_stems().values()), RATE)


def explain(api, tagger, separator, **overrides):
    request = {"tagger": {"url": tagger.url, "sample_rate": RATE, "batch_size": 32}, "separator": separator,
               "segments": 4, "targets": {"tags": ["low"]}, "sampling": {"top_k": 1}, **overrides}
    response = api.submit(mixture(), request)
    assert response.status_code == 202, response.text
    body = api.wait(response.json()["id"], timeout=180)
    assert body["stage"] == "finished", body["error"]
    return body["result"]


def top(result, tag="low"):
    explained = next(t for t in result["tags"] if t["tag"] == tag)
    return result["components"][explained["ranking"][0]]


def test_a_separator_registered_in_one_line_works_through_the_api_the_worker_and_healthz(plugged, tagger):
    health = plugged.call("GET", "/healthz", validate=False).json()
    assert "test:split" in health["checks"]["separators"]["available"]
    result = explain(plugged, tagger, "test:split")
    assert result["sources"] == ["high", "low"] and result["provenance"]["separator"] == "test:split-1000Hz"
    assert (top(result)["source"], top(result)["segment"]) == ("low", 2)  # the 110 Hz bass sounds in 2–3 s
    low = plugged.call("GET", f"/explanations/{plugged_job(plugged)}/sources/low")
    assert low.status_code == 200


def plugged_job(api) -> str:
    return api.call("GET", "/explanations").json()["items"][0]["id"]


def test_an_unknown_separator_is_refused_at_submission(api):
    response = api.submit(mixture(), {"tagger": {"url": "http://127.0.0.1:9/predict"}, "separator": "test:nowhere"})
    assert response.status_code == 400 and "unknown separator 'test:nowhere'" in response.json()["detail"]


def test_frequency_bands_put_the_bass_in_the_lowest_band(api, tagger, worker):
    result = explain(api, tagger, "slime")
    assert result["sources"][0].startswith("band01_") and len(result["sources"]) == 8
    assert top(result)["source"] == result["sources"][0] and top(result)["segment"] == 2


def test_hpss_keeps_sustained_tones_harmonic(api, tagger, worker):
    result = explain(api, tagger, "hpss")
    assert result["sources"] == ["harmonic", "percussive"]
    assert (top(result)["source"], top(result)["segment"]) == ("harmonic", 2)
    low = next(t for t in result["tags"] if t["tag"] == "low")
    weights = np.array(low["weights"])
    percussive = [c["index"] for c in result["components"] if c["source"] == "percussive"]
    assert np.abs(weights[percussive]).max() < 0.2 * weights.max()
