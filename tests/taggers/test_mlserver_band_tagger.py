"""The band tagger on a real MLServer 1.7.1 (its own venv), spoken to with plain requests.

One server for the module, started as `.venv-mlserver/bin/python -m taggers.mlserver.serve --port 0`.
Besides the scores, these tests pin down what MLServer does with the binary tensor extension
(nothing, on REST) and how it answers bad requests: taggers/mlserver/README.md relies on them.
"""
from __future__ import annotations

import json
import math
import select
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
import requests

from taggers.reference import band_levels

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MLSERVER_PYTHON = ROOT / ".venv-mlserver" / "bin" / "python"
MODEL_URL = "/v2/models/band-tagger"
LABELS = ["low", "mid", "high", "loud"]
RATE = 16000
STARTUP_SECONDS = 90
STOP_SECONDS = 15
TIMEOUT = 30


def start_server(log_path: Path) -> tuple[subprocess.Popen, str]:
    """Start the launcher (MLServer's log goes to log_path) and return it with its URL."""
    if not MLSERVER_PYTHON.exists():
        pytest.fail(f"{MLSERVER_PYTHON.relative_to(ROOT)} is missing: run `make mlserver-venv`")
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(MLSERVER_PYTHON), "-m", "taggers.mlserver.serve", "--port", "0"],
                                   cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, text=True)
    ready, _, _ = select.select([process.stdout], [], [], STARTUP_SECONDS)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("listening on http://"):
        stop_server(process)
        pytest.fail(f"MLServer did not start: printed {line!r}, exit status {process.returncode}; "
                    f"log:\n{log_path.read_text(errors='replace')[-3000:]}")
    return process, line.split()[-1]


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    process, address = start_server(tmp_path_factory.mktemp("mlserver") / "mlserver.log")
    yield address
    stop_server(process)


def tone(freq: float, amplitude: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def infer_body(waveforms: np.ndarray, **extra) -> dict:
    tensor = {"name": "waveform", "shape": list(waveforms.shape), "datatype": "FP32",
              "data": waveforms.ravel().tolist()}
    return {"inputs": [tensor], **extra}


def scores_of(answer: requests.Response) -> np.ndarray:
    assert answer.status_code == 200, answer.text
    (output,) = answer.json()["outputs"]
    assert (output["name"], output["datatype"]) == ("scores", "FP32")
    return np.asarray(output["data"], dtype=np.float64).reshape(output["shape"])


def binary_body(waveforms: np.ndarray) -> tuple[bytes, dict]:
    """An infer body in the binary tensor extension's layout: JSON header, then raw little-endian FP32."""
    raw = waveforms.astype("<f4").tobytes()
    tensor = {"name": "waveform", "shape": list(waveforms.shape), "datatype": "FP32",
              "parameters": {"binary_data_size": len(raw)}}
    header = json.dumps({"inputs": [tensor]}).encode()
    return header + raw, {"Inference-Header-Content-Length": str(len(header))}


def test_model_metadata_declares_the_tensors_and_labels(url):
    metadata = requests.get(url + MODEL_URL, timeout=TIMEOUT).json()
    assert metadata["name"] == "band-tagger"
    assert metadata["inputs"] == [{"name": "waveform", "datatype": "FP32", "shape": [-1, -1],
                                   "parameters": {"sample_rate": RATE, "channels": 1}}]
    assert metadata["outputs"] == [{"name": "scores", "datatype": "FP32", "shape": [-1, 4],
                                    "parameters": {"labels": LABELS}}]


def test_server_metadata_advertises_no_binary_extension(url):
    server = requests.get(url + "/v2", timeout=TIMEOUT).json()
    assert server["name"] == "mlserver" and server["version"] == "1.7.1"
    assert "binary_tensor_data" not in server["extensions"]


def test_a_110_hz_tone_is_all_low(url):
    scores = scores_of(requests.post(url + MODEL_URL + "/infer", json=infer_body(tone(110, 0.5)[None]),
                                     timeout=TIMEOUT))
    assert scores.shape == (1, 4)
    low, mid, high, loud = scores[0]
    assert low == pytest.approx(0.5 / math.sqrt(2), rel=1e-2)
    assert loud == pytest.approx(0.5 / math.sqrt(2), rel=1e-2)
    assert mid < 1e-5 and high < 1e-5


def test_a_batch_answers_one_row_per_waveform_in_order(url):
    batch = np.stack([tone(110, 0.5), tone(1000, 0.3), tone(4000, 0.2)])
    scores = scores_of(requests.post(url + MODEL_URL + "/infer", json=infer_body(batch), timeout=TIMEOUT))
    expected = np.array([[0.5, 0, 0, 0.5], [0, 0.3, 0, 0.3], [0, 0, 0.2, 0.2]]) / math.sqrt(2)
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)


def test_scores_match_the_reference_tagger_on_noise(url):
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, size=(2, 4001)).astype(np.float32)  # odd length
    scores = scores_of(requests.post(url + MODEL_URL + "/infer", json=infer_body(noise), timeout=TIMEOUT))
    expected = [band_levels(row.astype(np.float64), RATE) for row in noise]
    np.testing.assert_allclose(scores, expected, rtol=1e-5)


def test_nested_data_is_accepted(url):
    batch = np.stack([tone(110, 0.5), tone(1000, 0.3)])
    body = infer_body(batch)
    body["inputs"][0]["data"] = batch.tolist()
    np.testing.assert_allclose(scores_of(requests.post(url + MODEL_URL + "/infer", json=body, timeout=TIMEOUT)),
                               scores_of(requests.post(url + MODEL_URL + "/infer", json=infer_body(batch),
                                                       timeout=TIMEOUT)))


def test_binary_request_is_refused_as_invalid_json(url):
    body, headers = binary_body(tone(110, 0.5)[None])
    answer = requests.post(url + MODEL_URL + "/infer", data=body, timeout=TIMEOUT,
                           headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert error["type"] == "json_invalid" and error["msg"] == "JSON decode error"


def test_binary_request_as_octet_stream_is_a_500(url):
    body, headers = binary_body(tone(110, 0.5)[None])  # raw bytes that are not UTF-8
    answer = requests.post(url + MODEL_URL + "/infer", data=body, timeout=TIMEOUT,
                           headers={**headers, "Content-Type": "application/octet-stream"})
    assert (answer.status_code, answer.text) == (500, "Internal Server Error")


def test_binary_request_header_alone_lacks_data(url):
    body, headers = binary_body(tone(110, 0.5)[None])
    header = body[:int(headers["Inference-Header-Content-Length"])]
    answer = requests.post(url + MODEL_URL + "/infer", data=header, timeout=TIMEOUT,
                           headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert (error["type"], error["loc"]) == ("missing", ["body", "inputs", 0, "data"])


@pytest.mark.parametrize("extra", [{"outputs": [{"name": "scores", "parameters": {"binary_data": True}}]},
                                   {"parameters": {"binary_data_output": True}}],
                         ids=["binary_data", "binary_data_output"])
def test_binary_output_requests_are_answered_in_json(url, extra):
    waveforms = tone(110, 0.5)[None]
    answer = requests.post(url + MODEL_URL + "/infer", json=infer_body(waveforms, **extra), timeout=TIMEOUT)
    assert answer.headers["Content-Type"] == "application/json"
    assert "Inference-Header-Content-Length" not in answer.headers
    np.testing.assert_allclose(scores_of(answer), [band_levels(waveforms[0].astype(np.float64), RATE)], rtol=1e-5)


@pytest.mark.parametrize("tensor, message", [
    ({"name": "audio", "shape": [1, 8]}, "band-tagger takes exactly one input named 'waveform', got ['audio']"),
    ({"name": "waveform", "shape": [8]}, "input 'waveform' must have shape [batch, samples] with both ≥ 1, got [8]"),
    ({"name": "waveform", "shape": [2, 8]}, "input 'waveform' has 8 values, its shape [2, 8] needs 16"),
    ({"name": "waveform", "shape": [1, 8], "datatype": "FP64"}, "input 'waveform' must be FP32, got FP64"),
], ids=["wrong-name", "wrong-rank", "wrong-count", "wrong-datatype"])
def test_bad_inputs_are_400_with_the_reason(url, tensor, message):
    body = {"inputs": [{"datatype": "FP32", "data": [0.0] * 8, **tensor}]}
    answer = requests.post(url + MODEL_URL + "/infer", json=body, timeout=TIMEOUT)
    assert (answer.status_code, answer.json()) == (400, {"error": message})


def test_a_missing_field_is_a_422_from_mlserver(url):
    body = {"inputs": [{"name": "waveform", "datatype": "FP32", "data": [0.0] * 8}]}
    answer = requests.post(url + MODEL_URL + "/infer", json=body, timeout=TIMEOUT)
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert (error["type"], error["loc"], error["msg"]) == ("missing", ["body", "inputs", 0, "shape"], "Field required")


def test_an_unknown_model_is_a_404(url):
    answer = requests.post(url + "/v2/models/nope/infer", json=infer_body(np.zeros((1, 8))), timeout=TIMEOUT)
    assert (answer.status_code, answer.json()) == (404, {"error": "Model nope not found"})


def test_terminating_the_launcher_stops_mlserver(tmp_path):
    process, address = start_server(tmp_path / "mlserver.log")
    (mlserver,) = children(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STOP_SECONDS) == 0
    process.stdout.close()
    assert not Path(f"/proc/{mlserver}").exists(), f"MLServer (pid {mlserver}) outlived its launcher"
    with pytest.raises(requests.ConnectionError):
        requests.get(address + "/v2/health/ready", timeout=TIMEOUT)
