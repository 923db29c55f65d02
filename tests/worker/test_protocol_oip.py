"""The oip protocol through TaggerClient, against a minimal Open Inference Protocol server on loopback.

The server (tests/servers/oip.py) serves one model, `bands`, with the reference tagger's band
levels, in JSON and with the binary tensor extension; its metadata drives the client.
"""
from __future__ import annotations

import json
import random
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from engine.errors import TaggerResponseError, TaggerUnreachableError
from taggers.reference import LABELS
from tests.integration.harness import start_server
from worker.tagger_client.client import TaggerClient
from backend.tagger.protocols import oip
from backend.tagger.spec import TaggerSpec

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
AMPLITUDE = 0.5
LOW_HZ, MID_HZ, HIGH_HZ = 110.0, 1000.0, 3000.0  # whole periods in one second
LEVEL = AMPLITUDE / np.sqrt(2)  # a tone filling the clip, in its band
TOLERANCE = 1e-5  # FP32 samples and scores
JSON_TENSORS = {"model": "bands", "binary": False, "binary_output": False}


def tone(freq: float, seconds: float = 1.0, start: float = 0.0, end: float | None = None) -> np.ndarray:
    """A tone over `seconds`, sounding in [start, end) only."""
    t = np.arange(int(seconds * RATE)) / RATE
    return AMPLITUDE * np.sin(2 * np.pi * freq * t) * ((t >= start) & (t < (end or seconds)))


def batch(*waves: np.ndarray) -> np.ndarray:
    return np.stack(waves)[:, :, None].astype(np.float32)


MIXES = batch(tone(LOW_HZ), tone(MID_HZ), tone(HIGH_HZ), tone(LOW_HZ) + tone(MID_HZ))
EXPECTED = [[LEVEL, 0, 0, LEVEL],
            [0, LEVEL, 0, LEVEL],
            [0, 0, LEVEL, LEVEL],
            [LEVEL, LEVEL, 0, AMPLITUDE]]  # two tones: loud = sqrt(2 · A²/2)
TWO_SECONDS = batch(tone(LOW_HZ, 2.0, end=1.0) + tone(MID_HZ, 2.0, start=1.0),  # low, then mid
                    tone(LOW_HZ, 2.0),
                    tone(HIGH_HZ, 2.0, end=1.0))  # high, then silence


@pytest.fixture
def server(processes):
    """Start the OIP server with options; its base URL."""
    def start(*options: str) -> str:
        return start_server(processes, "oip", *options)
    return start


@pytest.fixture
def make_client(session, sleep):
    def build(url: str, options: dict | None = None, **spec_settings) -> TaggerClient:
        spec = TaggerSpec(url=url, protocol="oip", options=options or {"model": "bands"}, sample_rate=RATE,
                          **spec_settings)
        return TaggerClient(spec, session, sleep=sleep, rng=random.Random(0))
    return build


def stats(url: str) -> dict:
    return requests.get(url + "/stats", timeout=5).json()


def infers(url: str) -> list[tuple]:
    """(binary input, binary output asked, shape, status) of each inference request the server got."""
    log = requests.get(url + "/infers", timeout=5).json()["infers"]
    return [(i["binary"], i["binary_output"], i["shape"], i["status"]) for i in log]


PROBE = (True, True, [1, RATE], 200)  # one second of silence, binary both ways: the server speaks it
REFUSED_PROBE = (True, True, [1, RATE], 400)
BINARY_BATCH = (True, True, [len(MIXES), RATE], 200)
JSON_BATCH = (False, False, [len(MIXES), RATE], 200)


# -- answers -------------------------------------------------------------------------------------------


def test_json_and_binary_tensors_give_the_same_band_levels(server, make_client):
    url = server()
    as_json = make_client(url, JSON_TENSORS)
    as_binary = make_client(url)  # the defaults: binary both ways, as the server lists the extension
    from_json, from_binary = as_json.predict(MIXES), as_binary.predict(MIXES)

    assert from_json.labels == from_binary.labels == LABELS  # from the metadata: no labels given
    np.testing.assert_allclose(from_binary.scores, from_json.scores, rtol=0, atol=1e-6)
    np.testing.assert_allclose(from_binary.scores, EXPECTED, atol=TOLERANCE)
    assert as_binary.stats.bytes_sent < as_json.stats.bytes_sent / 2.5  # 4 bytes of FP32 against 12 of text
    assert (as_binary.stats.errors, as_json.stats.errors) == (0, 0)
    # JSON: model metadata, infer; binary: model metadata, server metadata (its extensions), infer
    assert stats(url) == {"requests": 5, "clips": 2 * len(MIXES)}


@pytest.mark.parametrize("server_options", [("--no-binary-extension",),
                                            ("--no-server-metadata", "--no-binary-extension")])
def test_a_server_that_refuses_the_binary_probe_gets_json(server, make_client, server_options):
    url = server(*server_options)  # lists no extension, or has no GET /v2; binary tensors get 400
    client = make_client(url)
    predictions = client.predict(MIXES)

    np.testing.assert_allclose(predictions.scores, EXPECTED, atol=TOLERANCE)
    assert (client.prepared().binary, client.prepared().binary_output) == (False, False)
    assert infers(url) == [REFUSED_PROBE, JSON_BATCH]
    assert stats(url)["requests"] == 4  # model metadata, server metadata, probe, batch
    assert client.stats.errors == 0  # a refused probe is an answer, not an error
    forced = make_client(url, {"model": "bands", "binary": True, "binary_output": True})
    with pytest.raises(TaggerUnreachableError, match="HTTP 400 .*does not speak the binary_tensor_data"):
        forced.predict(MIXES)


def test_without_server_metadata_a_probe_finds_binary_tensors(server, make_client):
    url = server("--no-server-metadata")  # GET /v2 is 404, yet binary tensors are spoken
    client = make_client(url)
    predictions = client.predict(MIXES)

    np.testing.assert_allclose(predictions.scores, EXPECTED, atol=TOLERANCE)
    assert (client.prepared().binary, client.prepared().binary_output) == (True, True)
    assert infers(url) == [PROBE, BINARY_BATCH]
    assert client.stats.errors == 0
    probe_bytes = RATE * 4 + 300  # raw FP32 and a JSON header
    assert client.stats.bytes_sent < probe_bytes + len(MIXES) * RATE * 4 + 300


def test_a_server_that_reads_binary_but_answers_json_gets_binary_requests_only(server, make_client):
    url = server("--no-server-metadata", "--no-binary-output")
    client = make_client(url)
    predictions = client.predict(MIXES)

    np.testing.assert_allclose(predictions.scores, EXPECTED, atol=TOLERANCE)
    assert (client.prepared().binary, client.prepared().binary_output) == (True, False)
    assert [(binary, status) for binary, _, _, status in infers(url)] == [(True, 200), (True, 200)]


def test_the_probe_is_made_once_per_tagger_by_the_jobs_of_a_worker(server, make_client):
    speaks, refuses = server("--no-server-metadata"), server("--no-server-metadata", "--no-binary-extension")
    for _ in range(2):  # two jobs each: a new client, as the worker makes per job
        for url in (speaks, refuses):
            make_client(url).predict(MIXES)

    assert infers(speaks) == [PROBE, BINARY_BATCH, BINARY_BATCH]
    assert infers(refuses) == [REFUSED_PROBE, JSON_BATCH, JSON_BATCH]
    assert stats(speaks)["requests"] == 2 + 1 + 1 + 2  # model metadata twice; server metadata, probe once; 2 batches


def test_a_probe_takes_the_models_fixed_input_length(server, make_client):
    url = server("--no-server-metadata", "--fixed-samples", str(RATE // 2))
    client = make_client(url, input_seconds=0.5, input_policy="window")
    client.predict(MIXES)
    assert infers(url)[0] == (True, True, [1, RATE // 2], 200)
    assert (client.prepared().binary, client.prepared().binary_output) == (True, True)


def test_a_probe_that_fails_fails_the_job_and_is_not_remembered(server, make_client, sleep):
    url = server("--no-server-metadata", "--fault", "binary-500")
    for _ in range(2):
        with pytest.raises(TaggerUnreachableError, match="HTTP 500") as caught:
            make_client(url, retries=1).predict(MIXES)
        assert caught.value.attempts == 2
    assert [status for *_, status in infers(url)] == [500] * 4  # each job probed again, with its retry
    assert len(sleep.delays) == 2


def test_probe_outcomes_expire():
    now = [0.0]
    cache = oip.ProbeCache(ttl=oip.PROBE_TTL, clock=lambda: now[0])
    cache.put(("http://t", "/v2/models/m/infer", ("auto", "auto")), (True, False))
    now[0] = oip.PROBE_TTL - 1
    assert cache.get(("http://t", "/v2/models/m/infer", ("auto", "auto"))) == (True, False)
    now[0] = oip.PROBE_TTL
    assert cache.get(("http://t", "/v2/models/m/infer", ("auto", "auto"))) is None
    assert oip.PROBE_TTL == 3600


def test_labels_given_in_the_options_name_the_columns(server, make_client):
    url = server()
    predictions = make_client(url, {"model": "bands", "labels": ["bass", "body", "air", "level"]}).predict(MIXES)
    assert predictions.labels == ("bass", "body", "air", "level")
    np.testing.assert_allclose(predictions.scores, EXPECTED, atol=TOLERANCE)


def test_the_input_name_comes_from_the_metadata(server, make_client):
    url = server("--input-name", "audio")
    predictions = make_client(url).predict(MIXES)
    np.testing.assert_allclose(predictions.scores, EXPECTED, atol=TOLERANCE)


def test_an_input_name_the_model_lacks_is_named_with_the_ones_it_has(server, make_client):
    url = server("--input-name", "audio")
    with pytest.raises(TaggerResponseError, match=r"no input 'waveform'; it has \['audio'\]"):
        make_client(url, {"model": "bands", "input_name": "waveform"}).predict(MIXES)
    assert stats(url) == {"requests": 1, "clips": 0}  # the metadata only


# -- fixed input lengths ----------------------------------------------------------------------------------


def test_a_fixed_input_length_asks_for_input_seconds(server, make_client):
    url = server("--fixed-samples", str(RATE))
    with pytest.raises(TaggerResponseError, match=r"takes 16000 samples .* mixes have 32000; "
                                                  r"set tagger\.input_seconds to 1 "):
        make_client(url).predict(TWO_SECONDS)
    assert stats(url) == {"requests": 2, "clips": 0}  # the metadata only: refused before sending


def test_windows_of_the_fixed_length_are_scored_and_averaged(server, make_client):
    url = server("--fixed-samples", str(RATE))
    client = make_client(url, input_seconds=1.0, input_policy="window")
    predictions = client.predict(TWO_SECONDS)

    # Each one-second window holds whole tones: LEVEL in its band; the mix gets the windows' mean.
    # (The whole 2 s clip would give low A·sqrt(1/4) = 0.25 for the first mix, not LEVEL/2 ≈ 0.177.)
    expected = [[LEVEL / 2, LEVEL / 2, 0, LEVEL],
                [LEVEL, 0, 0, LEVEL],
                [0, 0, LEVEL / 2, LEVEL / 2]]
    np.testing.assert_allclose(predictions.scores, expected, atol=TOLERANCE)
    assert stats(url) == {"requests": 3, "clips": 2 * len(TWO_SECONDS)}  # 2 metadata, 1 infer


# -- answers that do not fit, and errors ---------------------------------------------------------------------


def test_more_output_columns_than_labels_are_rejected(server, make_client, sleep):
    url = server("--fault", "wrong-labels")
    with pytest.raises(TaggerResponseError, match=r"output has shape \[4, 5\] for 4 clips × 4 labels") as caught:
        make_client(url).predict(MIXES)
    assert (caught.value.http_status, caught.value.attempts) == (200, 1)
    assert sleep.delays == []


def test_an_unknown_model_is_a_404_not_retried(server, make_client, sleep):
    url = server()
    with pytest.raises(TaggerUnreachableError, match=r"HTTP 404 to GET .*/v2/models/drums") as caught:
        make_client(url, {"model": "drums"}, retries=4).predict(MIXES)
    assert (caught.value.http_status, caught.value.attempts) == (404, 1)
    assert stats(url)["requests"] == 1
    assert sleep.delays == []


def test_a_slow_model_times_out(server, make_client, sleep):
    url = server("--delay", "10")
    client = make_client(url, read_timeout=1, retries=0)
    started = time.monotonic()
    with pytest.raises(TaggerUnreachableError, match="timed out") as caught:
        client.predict(MIXES)

    assert time.monotonic() - started < 5
    assert (caught.value.http_status, caught.value.attempts) == (None, 1)
    assert sleep.delays == []


def test_the_server_answers_oip_errors_for_tensors_that_do_not_fit(server):
    """The test server itself: what a client that skipped the metadata would meet."""
    url = server("--fixed-samples", "4")
    infer = url + "/v2/models/bands/infer"

    def send(tensor: dict) -> requests.Response:
        return requests.post(infer, data=json.dumps({"inputs": [tensor]}), timeout=5)

    good = {"name": "waveform", "datatype": "FP32", "shape": [1, 4], "data": [0.0, 0.5, 0.0, -0.5]}
    assert send(good).status_code == 200
    for bad, words in [({**good, "name": "audio"}, "unexpected inference input 'audio'"),
                       ({**good, "shape": [2, 4]}, "has shape [2, 4] but 4 values"),
                       ({**good, "shape": [2, 2]}, "takes [-1, 4]")]:
        response = send(bad)
        assert response.status_code == 400 and words in response.json()["error"]
