"""The file_upload protocol through TaggerClient, against a commercial-style tagging API on loopback.

The server (tests/servers/commercial_api.py) wants a multipart upload, an API key and a model
field, answers nested JSON and enforces a per-second rate limit; it scores with the reference
tagger's band levels, so tones have known answers.
"""
from __future__ import annotations

import random
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.worker.conftest import Recorder
import requests

from engine.errors import InvalidOptionError, TaggerResponseError, TaggerUnreachableError
from taggers.reference import LABELS
from tests.integration.harness import start_server
from worker.tagger.client import TaggerClient
from backend.tagger.spec import TaggerSpec

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
AMPLITUDE = 0.5
LOW_HZ, MID_HZ, HIGH_HZ = 110.0, 1000.0, 3000.0  # whole periods in one second
LEVEL = AMPLITUDE / np.sqrt(2)  # a tone filling the clip, in its band
TOLERANCE = 1e-4  # 16-bit quantisation moves levels by ~1e-5
API_KEY = "ck_live_7f3a"
OPTIONS = {"scores_path": "result.tags", "field": "audio_file", "form": {"model": "genre-v2"},
           "name_key": "label", "score_key": "confidence"}


def tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return AMPLITUDE * np.sin(2 * np.pi * freq * t)


def mix(*waves: np.ndarray) -> np.ndarray:
    """One (1, samples, 1) float32 mix: this protocol sends one clip per request."""
    return sum(waves)[None, :, None].astype(np.float32)


CASES = [(mix(tone(LOW_HZ)), [LEVEL, 0, 0, LEVEL]),
         (mix(tone(HIGH_HZ)), [0, 0, LEVEL, LEVEL]),
         (mix(tone(LOW_HZ), tone(MID_HZ)), [LEVEL, LEVEL, 0, AMPLITUDE])]


@pytest.fixture
def server(processes):
    """Start the commercial-style API with options; its upload URL."""
    def start(*options: str) -> str:
        return start_server(processes, "commercial_api", "--api-key", API_KEY, *options) + "/v1/analyze"
    return start


@pytest.fixture
def make_client(session):
    def build(url: str, sleep=None, options=OPTIONS, api_key: str = API_KEY, **spec_settings) -> TaggerClient:
        spec = TaggerSpec(url=url, protocol="file_upload", options=options, headers={"X-Api-Key": api_key},
                          sample_rate=RATE, **spec_settings)
        return TaggerClient(spec, session, sleep=sleep or Recorder(), rng=random.Random(0))
    return build


def stats(url: str) -> dict:
    return requests.get(url.rsplit("/v1/", 1)[0] + "/stats", timeout=5).json()


# -- answers --------------------------------------------------------------------------------------------


def test_uploads_get_band_levels_from_the_nested_answer(server, make_client):
    url = server()
    client = make_client(url)
    for waveform, expected in CASES:
        predictions = client.predict(waveform)
        assert predictions.labels == LABELS
        np.testing.assert_allclose(predictions.scores, [expected], atol=TOLERANCE)
    assert stats(url) == {"requests": len(CASES), "clips": len(CASES), "rejected_429": 0}
    assert client.stats.retries == 0


def test_a_scores_path_that_picks_nothing_is_rejected_quoting_the_answer(server, make_client):
    url = server()
    with pytest.raises(TaggerResponseError) as caught:
        make_client(url, options={**OPTIONS, "scores_path": "result.labels"}).predict(CASES[0][0])

    message = str(caught.value)
    assert "`result.labels` picks None" in message
    assert "'request_id'" in message  # the answer, quoted
    assert (caught.value.http_status, caught.value.attempts) == (200, 1)
    assert stats(url)["requests"] == 1


def test_missing_form_field_is_a_400_not_retried(server, make_client):
    url = server()
    options = {key: value for key, value in OPTIONS.items() if key != "form"}
    with pytest.raises(TaggerUnreachableError, match=r"HTTP 400 .*form field `model` must be") as caught:
        make_client(url, options=options).predict(CASES[0][0])
    assert (caught.value.http_status, caught.value.attempts) == (400, 1)
    assert stats(url)["requests"] == 1


def test_one_clip_per_request_so_batches_are_refused():
    with pytest.raises(InvalidOptionError, match="batch_size"):
        TaggerSpec(url="http://tagger.example/v1/analyze", protocol="file_upload", options=OPTIONS, batch_size=2)


# -- authentication and rate limits ----------------------------------------------------------------------


def test_a_wrong_api_key_is_401_and_not_retried(server, make_client):
    url = server()
    sleep = Recorder()
    client = make_client(url, sleep=sleep, api_key="ck_live_wrong", retries=4)
    with pytest.raises(TaggerUnreachableError, match="HTTP 401") as caught:
        client.predict(CASES[0][0])

    assert (caught.value.http_status, caught.value.attempts) == (401, 1)
    assert "ck_live_wrong" not in str(caught.value)
    assert stats(url)["requests"] == 1
    assert sleep.delays == []


def test_a_burst_over_the_rate_limit_waits_out_429s(server, make_client):
    url = server("--rps", "2")
    sleep = Recorder(real=True)
    client = make_client(url, sleep=sleep, concurrency=6)
    results: dict[int, object] = {}

    def call(index: int) -> None:
        waveform, _ = CASES[index % len(CASES)]
        try:
            results[index] = client.predict(waveform)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[index] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    for index, outcome in sorted(results.items()):
        assert not isinstance(outcome, Exception), f"call {index}: {outcome!r}"
        np.testing.assert_allclose(outcome.scores, [CASES[index % len(CASES)][1]], atol=TOLERANCE)
    assert len(results) == 6
    served = stats(url)
    assert served["rejected_429"] > 0  # 6 at once, 2 a second: at least 2 over the limit
    assert served["clips"] == 6 and served["requests"] == 6 + served["rejected_429"]
    assert client.stats.retries == served["rejected_429"]  # each 429 retried once it may
    assert sleep.delays and min(sleep.delays) >= 1.0  # Retry-After: 1, above the first backoffs
