"""The kserve_v1 protocol through TaggerClient, against a real KServe v1 test server on loopback.

The server (tests/servers/kserve_v1.py) scores with the reference tagger's band levels, so tone
mixes have known answers; its faults show how the client meets answers that do not fit.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import requests

from engine.errors import TaggerResponseError, TaggerUnreachableError
from taggers.reference import LABELS
from tests.integration.harness import start_server
from worker.tagger_client.client import TaggerClient
from backend.tagger.spec import TaggerSpec

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
AMPLITUDE = 0.5
LOW_HZ, MID_HZ, HIGH_HZ = 110.0, 1000.0, 3000.0  # whole periods in one second
LEVEL = AMPLITUDE / np.sqrt(2)  # a tone filling the clip, in its band
SAMPLES_TOLERANCE = 1e-6  # float32 samples sent as JSON numbers
WAV_TOLERANCE = 1e-4  # 16-bit quantisation moves levels by ~1e-5


def tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return AMPLITUDE * np.sin(2 * np.pi * freq * t)


MIXES = np.stack([tone(LOW_HZ), tone(MID_HZ), tone(HIGH_HZ), tone(LOW_HZ) + tone(MID_HZ)])[:, :, None].astype(
    np.float32)
EXPECTED = [[LEVEL, 0, 0, LEVEL],
            [0, LEVEL, 0, LEVEL],
            [0, 0, LEVEL, LEVEL],
            [LEVEL, LEVEL, 0, AMPLITUDE]]  # two tones: loud = sqrt(2 · A²/2)


@pytest.fixture
def server(processes):
    """Start a KServe v1 server with options; its predict URL."""
    def start(*options: str) -> str:
        return start_server(processes, "kserve_v1", *options) + "/v1/models/bands:predict"
    return start


@pytest.fixture
def make_client(session, sleep):
    def build(url: str, **spec_settings) -> TaggerClient:
        spec = TaggerSpec(url=url, protocol="kserve_v1", sample_rate=RATE, **spec_settings)
        return TaggerClient(spec, session, sleep=sleep, rng=random.Random(0))
    return build


def stats(url: str) -> dict:
    return requests.get(url.split("/v1/")[0] + "/stats", timeout=5).json()


# -- answers -------------------------------------------------------------------------------------------


def test_sample_instances_get_band_levels(server, make_client, sleep):
    url = server()
    predictions = make_client(url, options={"labels": list(LABELS)}).predict(MIXES)

    assert predictions.labels == LABELS
    np.testing.assert_allclose(predictions.scores, EXPECTED, atol=SAMPLES_TOLERANCE)
    assert stats(url) == {"requests": 1, "clips": len(MIXES)}
    assert sleep.delays == []


def test_b64_wav_instances_get_band_levels(server, make_client):
    url = server()
    client = make_client(url, options={"labels": list(LABELS), "input": "b64_wav"})
    predictions = client.predict(MIXES)

    np.testing.assert_allclose(predictions.scores, EXPECTED, atol=WAV_TOLERANCE)
    assert stats(url) == {"requests": 1, "clips": len(MIXES)}


def test_prediction_objects_name_their_tags(server, make_client):
    url = server("--objects")
    predictions = make_client(url).predict(MIXES)  # no labels: the objects carry them

    assert predictions.labels == LABELS
    np.testing.assert_allclose(predictions.scores, EXPECTED, atol=SAMPLES_TOLERANCE)


# -- answers that do not fit -------------------------------------------------------------------------------


def test_too_many_scores_per_row_are_rejected_and_not_retried(server, make_client, sleep):
    url = server("--fault", "wrong-labels")
    with pytest.raises(TaggerResponseError, match=r"predictions have \[5\] scores for 4 labels") as caught:
        make_client(url, options={"labels": list(LABELS)}).predict(MIXES)

    assert (caught.value.http_status, caught.value.attempts) == (200, 1)
    assert stats(url)["requests"] == 1
    assert sleep.delays == []


def test_list_predictions_without_labels_are_rejected(server, make_client):
    url = server()
    with pytest.raises(TaggerResponseError, match=r"name their columns with tagger\.options\.labels"):
        make_client(url).predict(MIXES)
    assert stats(url)["requests"] == 1


def test_an_html_error_page_is_retried_then_quoted(server, make_client, sleep):
    url = server("--fault", "html")
    client = make_client(url, options={"labels": list(LABELS)}, retries=1)
    with pytest.raises(TaggerUnreachableError) as caught:
        client.predict(MIXES)

    message = str(caught.value)
    assert "HTTP 500" in message and url in message
    assert "<!DOCTYPE html>" in message and "Internal Server Error" in message
    assert (caught.value.http_status, caught.value.attempts) == (500, 2)
    assert stats(url)["requests"] == 2
    assert len(sleep.delays) == 1


# -- the network ----------------------------------------------------------------------------------------------


def test_a_connection_reset_mid_body_is_retried_then_unreachable(server, make_client, sleep):
    url = server("--reset-mid-body")
    client = make_client(url, options={"labels": list(LABELS)}, retries=2)
    with pytest.raises(TaggerUnreachableError) as caught:
        client.predict(MIXES)

    assert caught.value.attempts == 3
    assert caught.value.http_status is None
    assert url in str(caught.value)
    assert stats(url)["requests"] == 3
    assert len(sleep.delays) == 2
    assert (client.stats.requests, client.stats.retries, client.stats.errors) == (3, 2, 3)


def test_a_reset_mid_body_is_described_as_a_broken_connection(server, make_client):
    url = server("--reset-mid-body")
    with pytest.raises(TaggerUnreachableError) as caught:
        make_client(url, options={"labels": list(LABELS)}, retries=0).predict(MIXES)
    assert "reset" in str(caught.value) or "broke" in str(caught.value)
