"""The reference tagger as a real process on loopback: known levels for tones, faults, accounting."""
from __future__ import annotations

import base64
import math
import select
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests

from engine.codec import decode, encode

ROOT = Path(__file__).resolve().parents[2]
RATE = 16000
AMPLITUDE = 0.5
STARTUP_SECONDS = 30
TIMEOUT = 10


def start(*options: str) -> tuple[subprocess.Popen, str]:
    """Start `python -m taggers.reference --port 0 …` and return it with its URL."""
    process = subprocess.Popen([sys.executable, "-m", "taggers.reference", "--port", "0", *options],
                               cwd=ROOT, stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([process.stdout], [], [], STARTUP_SECONDS)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("listening on http://"):
        stop(process)
        pytest.fail(f"reference tagger did not start: printed {line!r}, exit status {process.returncode}")
    return process, line.split()[-1]


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()


@pytest.fixture
def serve():
    """Start reference taggers with given options; every one is terminated after the test."""
    processes = []

    def start_with(*options: str) -> str:
        process, url = start(*options)
        processes.append(process)
        return url

    yield start_with
    for process in processes:
        stop(process)


@pytest.fixture(scope="module")
def url():
    """One well-behaved tagger shared by the tests that neither inject faults nor read /stats."""
    process, address = start()
    yield address
    stop(process)


def tone(freq: float, seconds: float = 1.0, start: float = 0.0, end: float | None = None) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    wave = AMPLITUDE * np.sin(2 * np.pi * freq * t)
    wave[(t < start) | (t >= (seconds if end is None else end))] = 0.0
    return wave


def clip(waveform: np.ndarray, sample_rate: int = RATE) -> str:
    return base64.b64encode(encode(waveform, sample_rate)).decode("ascii")


def predict(address: str, *waveforms: np.ndarray, channels: int = 1, **options) -> requests.Response:
    body = {"sample_rate": RATE, "channels": channels, "clips": [clip(w) for w in waveforms]}
    return requests.post(f"{address}/predict", json=body, **{"timeout": TIMEOUT, **options})


def levels(response: requests.Response) -> list[dict[str, float]]:
    assert response.status_code == 200, response.text
    answer = response.json()
    return [dict(zip(answer["labels"], row)) for row in answer["scores"]]


def assert_problem(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "about:blank" and problem["status"] == status and problem["title"]
    return problem


def stats(address: str) -> dict:
    response = requests.get(f"{address}/stats", timeout=TIMEOUT)
    assert response.status_code == 200
    return response.json()


def test_prints_the_real_port_and_answers_healthz(url):
    assert not url.endswith(":0")
    response = requests.get(f"{url}/healthz", timeout=TIMEOUT)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize("freq, band", [(110.0, "low"), (1000.0, "mid"), (4000.0, "high")])
def test_a_full_clip_tone_is_heard_in_its_band_only(url, freq, band):
    [scores] = levels(predict(url, tone(freq)))
    assert list(scores) == ["low", "mid", "high", "loud"]
    assert scores[band] == pytest.approx(AMPLITUDE / math.sqrt(2), rel=1e-2)
    assert scores["loud"] == pytest.approx(AMPLITUDE / math.sqrt(2), rel=1e-2)
    for other in {"low", "mid", "high"} - {band}:
        assert 0.0 <= scores[other] < 1e-3


def test_a_tone_in_half_the_clip_is_scaled_by_sqrt_of_the_fraction(url):
    [scores] = levels(predict(url, tone(110.0, seconds=2.0, start=1.0, end=2.0)))
    assert scores["low"] == pytest.approx(AMPLITUDE / math.sqrt(2) * math.sqrt(0.5), rel=1e-2)
    assert scores["mid"] < 1e-2 * scores["low"] and scores["high"] < 1e-2 * scores["low"]


def test_bands_add_up_to_loud_which_is_the_rms(url):
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, RATE // 2 + 1)  # odd length: no Nyquist bin
    [scores] = levels(predict(url, noise))
    samples = decode(encode(noise, RATE))[0][:, 0].astype(np.float64)  # what the server decodes
    assert scores["low"] ** 2 + scores["mid"] ** 2 + scores["high"] ** 2 == pytest.approx(scores["loud"] ** 2, rel=1e-9)
    assert scores["loud"] == pytest.approx(np.sqrt(np.mean(samples**2)), rel=1e-9)


def test_two_clips_give_two_rows_in_request_order(url):
    rows = levels(predict(url, tone(1000.0), tone(110.0), tone(4000.0)))
    assert [max(("low", "mid", "high"), key=row.get) for row in rows] == ["mid", "low", "high"]


def test_stereo_is_down_mixed_to_mono(url):
    stereo = np.stack([tone(110.0), np.zeros(RATE)], axis=1)
    [scores] = levels(predict(url, stereo, channels=2))
    assert scores["low"] == pytest.approx(AMPLITUDE / 2 / math.sqrt(2), rel=1e-2)


def body_with(**fields) -> dict:
    return {"sample_rate": RATE, "channels": 1, "clips": [clip(tone(110.0))], **fields}


@pytest.mark.parametrize("options, says", [
    ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, "body is not JSON"),
    ({"data": b"[1, 2]", "headers": {"Content-Type": "application/json"}}, "JSON object"),
    ({"json": {"sample_rate": RATE, "channels": 1}}, "`clips` must be a non-empty list"),
    ({"json": body_with(clips=[])}, "`clips` must be a non-empty list"),
    ({"json": body_with(sample_rate=None)}, "`sample_rate` must be a positive integer"),
    ({"json": body_with(channels=True)}, "`channels` must be a positive integer"),
    ({"json": body_with(clips=[clip(tone(110.0)), "%%% not base64"])}, "clips[1] is not valid base64"),
    ({"json": body_with(clips=[42])}, "clips[0] must be a base64 string, got int"),
    ({"json": body_with(clips=[base64.b64encode(b"RIFF but not audio").decode()])}, "clips[0] is not an audio file"),
    ({"json": body_with(clips=[clip(tone(110.0), sample_rate=8000)])}, "clips[0] has sample rate 8000 Hz"),
    ({"json": body_with(channels=2)}, "clips[0] has 1 channels, the request says 2"),
    ({"data": b"{}", "headers": {"Content-Type": "text/plain"}}, "Content-Type must be application/json"),
])
def test_malformed_requests_get_400_problems_that_say_what_is_wrong(url, options, says):
    response = requests.post(f"{url}/predict", timeout=TIMEOUT, **options)
    assert says in assert_problem(response, 400)["detail"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_paths_get_404_problems(url, method):
    response = requests.request(method, f"{url}/nowhere", json={}, timeout=TIMEOUT)
    assert "/nowhere" in assert_problem(response, 404)["detail"]


def test_one_keep_alive_session_survives_errors(url):
    # an unread body would be taken for the next request on the same connection
    calls = [("/nowhere", {"big": "x" * 100_000}), ("/predict", {"clips": "nope"}), ("/predict", body_with())]
    with requests.Session() as session:
        for path, body in calls:
            session.post(f"{url}{path}", json=body, timeout=TIMEOUT)
        assert levels(session.post(f"{url}/predict", json=body_with(), timeout=TIMEOUT))[0]["low"] > 0.3


def test_fail_first_answers_500_then_normally(serve):
    address = serve("--fail-first", "2")
    responses = [predict(address, tone(110.0)) for _ in range(4)]
    assert [r.status_code for r in responses] == [500, 500, 200, 200]
    assert_problem(responses[0], 500)
    assert levels(responses[2])[0]["low"] == pytest.approx(AMPLITUDE / math.sqrt(2), rel=1e-2)


def test_status_sequence_is_played_in_order_with_retry_after(serve):
    address = serve("--status-sequence", "503,429,200,500")
    responses = [predict(address, tone(110.0)) for _ in range(5)]
    assert [r.status_code for r in responses] == [503, 429, 200, 500, 200]
    assert [r.headers.get("Retry-After") for r in responses] == ["1", "1", None, None, None]
    for response in responses[:2] + responses[3:4]:
        assert_problem(response, response.status_code)


def test_nan_fault_makes_the_first_score_of_every_row_nan(serve):
    response = predict(serve("--fault", "nan"), tone(110.0), tone(1000.0))
    assert "NaN" in response.text
    for row in response.json()["scores"]:
        assert math.isnan(row[0]) and all(math.isfinite(score) for score in row[1:])


def test_wrong_count_fault_returns_one_row_fewer(serve):
    answer = predict(serve("--fault", "wrong-count"), tone(110.0), tone(1000.0), tone(4000.0)).json()
    assert len(answer["scores"]) == 2 and answer["labels"] == ["low", "mid", "high", "loud"]


def test_missing_tag_fault_drops_loud_from_the_second_answer_on(serve):
    address = serve("--fault", "missing-tag")
    answers = [predict(address, tone(110.0), tone(1000.0)).json() for _ in range(3)]
    assert answers[0]["labels"] == ["low", "mid", "high", "loud"]
    for answer in answers[1:]:
        assert answer["labels"] == ["low", "mid", "high"]
        assert [len(row) for row in answer["scores"]] == [3, 3]


def test_html_fault_answers_200_with_an_html_page(serve):
    response = predict(serve("--fault", "html"), tone(110.0))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.lstrip().lower().startswith("<!doctype html")
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_delay_slows_predict_but_not_healthz(serve):
    address = serve("--delay", "0.5")
    began = time.monotonic()
    assert predict(address, tone(110.0)).status_code == 200
    assert time.monotonic() - began >= 0.5
    began = time.monotonic()
    requests.get(f"{address}/healthz", timeout=TIMEOUT)
    assert time.monotonic() - began < 0.5


def test_a_request_that_timed_out_on_the_client_is_counted(serve):
    address = serve("--delay", "2")
    with pytest.raises(requests.ReadTimeout):
        predict(address, tone(110.0), timeout=0.3)
    assert stats(address)["requests"] == 1


def test_require_header_answers_401_without_it(serve):
    address = serve("--require-header", "Authorization: Bearer secret")
    assert "Authorization" in assert_problem(predict(address, tone(110.0)), 401)["detail"]
    assert_problem(predict(address, tone(110.0), headers={"Authorization": "Bearer wrong"}), 401)
    assert levels(predict(address, tone(110.0), headers={"Authorization": "Bearer secret"}))[0]["low"] > 0.3


def test_refuse_louder_than_answers_400_to_a_batch_with_a_loud_clip_only(serve):
    address = serve("--refuse-louder-than", "0.3")
    quiet, loud = 0.2 * tone(110.0) / AMPLITUDE, tone(110.0)  # RMS 0.141 and 0.354
    assert levels(predict(address, quiet, quiet))[0]["loud"] == pytest.approx(0.2 / math.sqrt(2), rel=1e-2)
    problem = assert_problem(predict(address, quiet, loud), 400)
    assert problem["title"] == "Clip refused" and "clips[1] is too loud: RMS 0.35" in problem["detail"]
    assert "above 0.3" in problem["detail"]
    assert levels(predict(address, quiet))[0]["low"] > 0.1  # the next quiet batch is scored again


def test_labels_answers_only_those_tags_in_that_order(serve):
    answer = predict(serve("--labels", "high,low"), tone(110.0), tone(4000.0)).json()
    assert answer["labels"] == ["high", "low"]
    assert answer["scores"][0][1] == pytest.approx(AMPLITUDE / math.sqrt(2), rel=1e-2) and answer["scores"][0][0] < 1e-3
    assert answer["scores"][1][0] == pytest.approx(AMPLITUDE / math.sqrt(2), rel=1e-2) and answer["scores"][1][1] < 1e-3


def test_stats_count_requests_clips_and_batch_sizes(serve):
    address = serve()
    assert stats(address) == {"requests": 0, "clips": 0, "batches": [], "last_request_at": None}
    began = time.time()
    predict(address, tone(110.0), tone(1000.0))
    predict(address, tone(110.0), tone(1000.0), tone(4000.0))
    requests.post(f"{address}/predict", data=b"not json", timeout=TIMEOUT)
    counted = stats(address)
    assert (counted["requests"], counted["clips"], counted["batches"]) == (3, 5, [2, 3])
    assert began <= counted["last_request_at"] <= time.time()
    reset = requests.post(f"{address}/stats/reset", timeout=TIMEOUT)
    assert reset.status_code == 200
    assert stats(address) == {"requests": 0, "clips": 0, "batches": [], "last_request_at": None}


def test_stats_count_failed_requests_too(serve):
    address = serve("--fail-first", "1", "--require-header", "X-Key: k")
    predict(address, tone(110.0))  # 401
    predict(address, tone(110.0), tone(1000.0), headers={"X-Key": "k"})  # injected 500
    predict(address, tone(110.0), tone(1000.0), headers={"X-Key": "k"})  # 200
    assert {k: v for k, v in stats(address).items() if k != "last_request_at"} == \
        {"requests": 3, "clips": 5, "batches": [1, 2, 2]}


def test_stats_are_exact_under_concurrent_requests(serve):
    address = serve("--delay", "0.05")
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda _: predict(address, tone(110.0, seconds=0.1)).status_code, range(36)))
    assert statuses == [200] * 36
    counted = stats(address)
    assert (counted["requests"], counted["clips"], counted["batches"]) == (36, 36, [1] * 36)


@pytest.mark.parametrize("options", [
    ["--status-sequence", "503,abc"], ["--status-sequence", "42"], ["--require-header", "Authorization"],
    ["--fault", "bogus"], ["--delay", "-1"], ["--fail-first", "-2"], ["--refuse-louder-than", "loud"],
    ["--labels", "low,bass"], ["--labels", "low,low"],
])
def test_bad_options_are_refused(options):
    done = subprocess.run([sys.executable, "-m", "taggers.reference", "--port", "0", *options],
                          cwd=ROOT, capture_output=True, text=True, timeout=STARTUP_SECONDS)
    assert done.returncode == 2 and "listening" not in done.stdout
    assert "error" in done.stderr
