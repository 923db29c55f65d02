"""The file_upload protocol through TaggerClient, against three kinds of upload API on loopback.

A commercial-style tagging API (tests/servers/commercial_api.py) wants a multipart upload, an API
key and a model field, answers nested JSON and enforces a per-second rate limit. Hugging Face
audio classification (tests/servers/huggingface.py) and TorchServe (tests/servers/torchserve.py)
take the clip as the raw body and answer only their top five of eight labels. All score with the
reference tagger's band levels, so tones have known answers.
"""
from __future__ import annotations

import random
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.worker.conftest import Recorder
import requests

from engine.codec import encode
from engine.errors import InvalidOptionError, TaggerResponseError, TaggerUnreachableError
from taggers.reference import LABELS
from tests.integration.harness import start_server
from tests.servers.top_labels import LABELS as TOP_LABELS, clip_scores, top
from worker.tagger_client.client import TaggerClient
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


# -- options ----------------------------------------------------------------------------------------------


def spec_with(**options) -> TaggerSpec:
    return TaggerSpec(url="http://tagger.example/upload", protocol="file_upload", options={"scores_path": "@", **options})


def test_the_body_is_multipart_by_default_and_raw_on_request():
    assert spec_with().options == {"scores_path": "@", "body": "multipart", "field": "file", "filename": "clip.wav",
                                   "form": {}, "name_key": "name", "score_key": "score"}
    assert spec_with(body="raw").options == {"scores_path": "@", "body": "raw", "name_key": "name",
                                             "score_key": "score"}
    with pytest.raises(InvalidOptionError, match=r"body must be one of \['multipart', 'raw'\], got 'json'"):
        spec_with(body="json")


def test_form_fields_are_refused_with_a_raw_body():
    with pytest.raises(InvalidOptionError, match=r"\['field', 'form'\] are form fields of a multipart body"):
        spec_with(body="raw", field="audio", form={"model": "x"})


@pytest.mark.parametrize("labels", [[], ["low", "low"], "low", [1, 2]])
def test_labels_must_be_a_list_of_distinct_names(labels):
    with pytest.raises(InvalidOptionError, match="tagger.options.labels"):
        spec_with(labels=labels)


# -- a raw body: Hugging Face audio classification ---------------------------------------------------------

HF_TOKEN = "hf_test_5bq2"
HF_OPTIONS = {"body": "raw", "scores_path": "@", "name_key": "label", "score_key": "score",
              "labels": list(TOP_LABELS)}


@pytest.fixture
def huggingface(processes):
    def start(*options: str) -> str:
        return start_server(processes, "huggingface", "--token", HF_TOKEN, *options) + "/models/audiolime/bands"
    return start


def hf_client(session, url: str, options=HF_OPTIONS, token: str = HF_TOKEN, **settings) -> TaggerClient:
    spec = TaggerSpec(url=url, protocol="file_upload", options=options, headers={"Authorization": f"Bearer {token}"},
                      sample_rate=RATE, **settings)
    return TaggerClient(spec, session, sleep=Recorder(), rng=random.Random(0))


def expected_row(waveform: np.ndarray) -> np.ndarray:
    """The eight scores, with those outside the top five at 0, as a top-5 answer means them."""
    scores = clip_scores(waveform[0], RATE)
    named = dict(top(scores))
    return np.array([named.get(label, 0.0) for label in TOP_LABELS])


def served(url: str) -> dict:
    return requests.get(url.split("/models/")[0].split("/predictions/")[0] + "/stats", timeout=5).json()


@pytest.mark.parametrize("encoding, media_type", [("wav16", "audio/wav"), ("flac", "audio/flac")])
def test_a_raw_body_is_the_clip_with_its_encodings_content_type(huggingface, session, encoding, media_type):
    url = huggingface()
    client = hf_client(session, url, encoding=encoding)
    for waveform, _ in CASES:
        np.testing.assert_allclose(client.predict(waveform).scores, [expected_row(waveform)], atol=TOLERANCE)
    assert served(url)["content_types"] == {media_type: len(CASES)}
    assert client.stats.bytes_sent == sum(len(encode(w[0], RATE, encoding)) for w, _ in CASES)  # no form around it


def test_top_five_answers_are_read_onto_the_whole_label_set_and_counted(huggingface, session):
    url = huggingface()
    client = hf_client(session, url)
    for waveform, _ in CASES:
        predictions = client.predict(waveform)
        assert predictions.labels == TOP_LABELS
        np.testing.assert_allclose(predictions.scores, [expected_row(waveform)], atol=TOLERANCE)
    report = client.stats.report()
    # what the server left out of its answers is exactly what the client counts as missing
    assert report["missing_labels"] == served(url)["left_out"]
    assert report["missing_labels"]["low"] == 1  # only the high tone's answer lacks `low`
    assert report["clips"] == len(CASES) and sum(report["missing_labels"].values()) == 3 * len(CASES)


def test_a_label_outside_options_labels_is_an_error_never_another_label(huggingface, session):
    url = huggingface()
    options = {**HF_OPTIONS, "labels": [label for label in TOP_LABELS if label != "speech"]}
    with pytest.raises(TaggerResponseError, match=r"not in tagger.options.labels: \['speech'\]") as caught:
        hf_client(session, url, options=options).predict(CASES[0][0])
    assert (caught.value.http_status, caught.value.attempts) == (200, 1)


def test_without_labels_answers_naming_other_tags_ask_for_the_label_set(huggingface, session):
    url = huggingface()
    client = hf_client(session, url, options={k: v for k, v in HF_OPTIONS.items() if k != "labels"})
    first = client.predict(CASES[0][0])  # low tone: low, loud and three fixed scores
    assert len(first.labels) == 5
    with pytest.raises(TaggerResponseError, match=r"answers only its top few. Give its whole label set as "
                                                  r"tagger.options.labels"):
        client.predict(CASES[1][0])  # high tone: `high` instead of `low`


def test_a_wrong_token_is_401_and_not_retried(huggingface, session):
    url = huggingface()
    with pytest.raises(TaggerUnreachableError, match="HTTP 401") as caught:
        hf_client(session, url, token="hf_wrong", retries=4).predict(CASES[0][0])
    assert (caught.value.http_status, caught.value.attempts) == (401, 1)
    assert "hf_wrong" not in str(caught.value)


def test_a_multipart_body_is_not_what_the_host_takes(huggingface, session):
    url = huggingface()
    with pytest.raises(TaggerUnreachableError, match=r"HTTP 400 .*is not audio") as caught:
        hf_client(session, url, options={**HF_OPTIONS, "body": "multipart"}).predict(CASES[0][0])
    assert caught.value.attempts == 1


# -- a raw body: TorchServe ---------------------------------------------------------------------------------

TS_KEY = "poZXAlqe"
TS_OPTIONS = {"body": "raw", "scores_path": "@", "labels": list(TOP_LABELS)}


@pytest.fixture
def torchserve(processes):
    def start(*options: str) -> str:
        return start_server(processes, "torchserve", "--token", TS_KEY, *options) + "/predictions/bands"
    return start


def ts_client(session, url: str, key: str = TS_KEY, sleep=None, **settings) -> TaggerClient:
    spec = TaggerSpec(url=url, protocol="file_upload", options=TS_OPTIONS, headers={"Authorization": f"Bearer {key}"},
                      sample_rate=RATE, **settings)
    return TaggerClient(spec, session, sleep=sleep or Recorder(), rng=random.Random(0))


def test_torchserve_top_five_object_is_read_onto_the_label_set(torchserve, session):
    url = torchserve()
    client = ts_client(session, url, encoding="flac")
    for waveform, _ in CASES:
        np.testing.assert_allclose(client.predict(waveform).scores, [expected_row(waveform)], atol=TOLERANCE)
    assert client.stats.report()["missing_labels"] == served(url)["left_out"]
    assert served(url)["content_types"] == {"audio/flac": len(CASES)}


def test_torchserve_refuses_a_wrong_key_with_400_not_retried(torchserve, session):
    url = torchserve()
    with pytest.raises(TaggerUnreachableError, match="HTTP 400 .*Token Authorization failed") as caught:
        ts_client(session, url, key="wrong", retries=4).predict(CASES[0][0])
    assert caught.value.attempts == 1


def test_torchserve_503_without_an_estimate_spends_the_retries(torchserve, session):
    url = torchserve("--starting-seconds", "60")
    sleep = Recorder()
    client = ts_client(session, url, sleep=sleep, retries=2)
    with pytest.raises(TaggerUnreachableError, match="HTTP 503 .*has no worker") as caught:
        client.predict(CASES[0][0])
    assert (caught.value.http_status, caught.value.attempts) == (503, 3)
    assert (client.stats.retries, client.stats.loading_answers, len(sleep.delays)) == (2, 0, 2)
