"""TaggerClient against the real reference tagger on loopback: answers, retries, backoff, errors;
and against a Hugging Face-style host that is still loading its model.

Backoff is observed, not waited for: the client gets a `sleep` that records the delays
and a seeded random generator, so the jittered delays are known in advance.
"""
from __future__ import annotations

import json
import random
import socket
import threading

import numpy as np
import pytest

import requests

from engine.errors import CancelledError, TaggerResponseError, TaggerUnreachableError
from engine.tagger import QUOTE_LIMIT
from tests.integration.harness import start_server, start_tagger
from tests.servers.top_labels import LABELS as TOP_LABELS
from tests.worker.conftest import Recorder
from worker.tagger_client.client import BACKOFF_BASE, CallStats, TaggerClient
from worker.tagger_client.loading import LOAD_POLL_MAX, LoadingWait, ModelLoading
from backend.tagger.netguard import NetworkPolicy, RefusedAddressError, guarded_session
from backend.tagger.protocols import json_batch
from backend.tagger.spec import REDACTED, TaggerSpec

RATE = 16000
AMPLITUDE = 0.5
LOW_HZ, MID_HZ = 100.0, 1000.0  # whole periods in one second: level exactly A/√2 in its band
LEVEL = AMPLITUDE / np.sqrt(2)
TOLERANCE = 1e-3  # 16-bit quantisation moves levels by ~1e-5
SECRET = "Bearer s3cret"


def tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return AMPLITUDE * np.sin(2 * np.pi * freq * t)


def batch(*waves: np.ndarray) -> np.ndarray:
    """(batch, samples, 1) float32 mixes, as the engine hands them to a tagger."""
    return np.stack(waves)[:, :, np.newaxis].astype(np.float32)


MIXES = batch(tone(LOW_HZ), tone(MID_HZ), tone(LOW_HZ) + tone(MID_HZ))


@pytest.fixture
def make_client(session, sleep):
    def build(url: str, stats: CallStats | None = None, **spec_options) -> TaggerClient:
        spec = TaggerSpec(url=url, sample_rate=RATE, **spec_options)
        return TaggerClient(spec, session, stats=stats, sleep=sleep, rng=random.Random(0))
    return build


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- answers ---------------------------------------------------------------------------------


def test_a_batch_gets_band_levels_in_clip_order(processes, make_client, sleep):
    tagger = start_tagger(processes)
    predictions = make_client(tagger.url).predict(MIXES)

    assert predictions.labels == ("low", "mid", "high", "loud")
    assert predictions.scores.dtype == np.float64
    expected = [[LEVEL, 0, 0, LEVEL],
                [0, LEVEL, 0, LEVEL],
                [LEVEL, LEVEL, 0, AMPLITUDE]]  # two tones: loud = sqrt(2 · A²/2)
    np.testing.assert_allclose(predictions.scores, expected, atol=TOLERANCE)
    assert sleep.delays == []
    assert tagger.stats()["batches"] == [3]


def test_call_stats_count_requests_retries_errors_and_bytes(processes, make_client):
    tagger = start_tagger(processes, "--fail-first", "1")
    stats = CallStats()
    client = make_client(tagger.url, stats=stats)
    client.predict(MIXES)  # one 500, then an answer
    client.predict(MIXES[:1])

    body_sizes = [len(json_batch.build_request(m, client.spec).body) for m in (MIXES, MIXES[:1])]
    assert stats.to_dict() == {"requests": 3, "retries": 1, "errors": 1,
                               "bytes_sent": 2 * body_sizes[0] + body_sizes[1]}
    assert tagger.stats()["requests"] == 3


def test_call_stats_are_shared_safely_between_threads():
    stats = CallStats()

    def work():
        for _ in range(2000):
            stats.add(requests=1, bytes_sent=3)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (stats.requests, stats.bytes_sent, stats.retries, stats.errors) == (16000, 48000, 0, 0)


# -- retries -----------------------------------------------------------------------------------


def test_server_errors_are_retried_with_jittered_exponential_backoff(processes, make_client, sleep):
    tagger = start_tagger(processes, "--fail-first", "2")
    client = make_client(tagger.url, retries=4)
    predictions = client.predict(MIXES)

    assert predictions.scores.shape == (3, 4)
    assert tagger.stats()["requests"] == 3
    assert (client.stats.requests, client.stats.retries, client.stats.errors) == (3, 2, 2)
    limits = [BACKOFF_BASE * 2 ** (n - 1) for n in (1, 2)]
    assert all(0 <= delay <= limit for delay, limit in zip(sleep.delays, limits))
    seeded = random.Random(0)  # full jitter: uniform(0, limit), drawn from the client's rng
    assert sleep.delays == pytest.approx([seeded.uniform(0, limit) for limit in limits])


def test_retry_after_is_honoured(processes, make_client, sleep):
    tagger = start_tagger(processes, "--status-sequence", "429,200")
    client = make_client(tagger.url)
    client.predict(MIXES)

    assert len(sleep.delays) == 1
    assert sleep.delays[0] >= 1.0  # Retry-After: 1, above the first backoff's 0.5 s at most
    assert client.stats.retries == 1


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])


def test_retried_statuses(processes, make_client, sleep, status):
    tagger = start_tagger(processes, "--status-sequence", f"{status},200")
    make_client(tagger.url).predict(MIXES)
    assert tagger.stats()["requests"] == 2
    assert len(sleep.delays) == 1


def test_gives_up_after_the_retries_with_the_last_status(processes, make_client, sleep):
    tagger = start_tagger(processes, "--status-sequence", "503,503,503,503,503,503")
    client = make_client(tagger.url, retries=2)
    with pytest.raises(TaggerUnreachableError) as caught:
        client.predict(MIXES)

    assert caught.value.http_status == 503
    assert caught.value.attempts == 3
    assert "503" in str(caught.value)
    assert tagger.stats()["requests"] == 3
    assert len(sleep.delays) == 2
    assert (client.stats.retries, client.stats.errors) == (2, 3)


@pytest.mark.parametrize("status", [400, 404, 501, 505])


def test_other_error_statuses_are_not_retried(processes, make_client, sleep, status):
    tagger = start_tagger(processes, "--status-sequence", f"{status},200")
    with pytest.raises(TaggerUnreachableError) as caught:
        make_client(tagger.url).predict(MIXES)

    assert (caught.value.http_status, caught.value.attempts) == (status, 1)
    assert tagger.stats()["requests"] == 1
    assert sleep.delays == []


# -- authentication ------------------------------------------------------------------------------


def test_unauthorised_is_not_retried(processes, make_client, sleep):
    tagger = start_tagger(processes, "--require-header", f"Authorization: {SECRET}")
    with pytest.raises(TaggerUnreachableError) as caught:
        make_client(tagger.url, retries=4).predict(MIXES)

    assert caught.value.http_status == 401
    assert caught.value.attempts == 1
    assert "401" in str(caught.value)
    assert tagger.stats()["requests"] == 1
    assert sleep.delays == []


def test_a_failure_that_is_not_retried_still_counts_as_an_error(processes, make_client):
    tagger = start_tagger(processes, "--require-header", f"Authorization: {SECRET}")
    client = make_client(tagger.url)
    with pytest.raises(TaggerUnreachableError):
        client.predict(MIXES)
    assert (client.stats.requests, client.stats.errors) == (1, 1)


def test_spec_headers_are_sent(processes, make_client):
    tagger = start_tagger(processes, "--require-header", f"Authorization: {SECRET}")
    predictions = make_client(tagger.url, headers={"Authorization": SECRET}).predict(MIXES)
    np.testing.assert_allclose(predictions.scores[0], [LEVEL, 0, 0, LEVEL], atol=TOLERANCE)


def test_spec_never_shows_header_values():
    spec = TaggerSpec(url="http://tagger.example/predict", headers={"Authorization": SECRET, "X-Key": "k-42"})
    for text in (repr(spec), str(spec), json.dumps(spec.public())):
        assert "s3cret" not in text and "k-42" not in text
        assert "Authorization" in text  # the names stay, to say what was configured
    assert spec.public()["headers"] == {"Authorization": REDACTED, "X-Key": REDACTED}
    assert spec.headers["Authorization"] == SECRET  # the client still has the value to send


# -- answers that are not predictions --------------------------------------------------------------


def test_nan_scores_are_rejected_naming_the_tag_and_not_retried(processes, make_client, sleep):
    tagger = start_tagger(processes, "--fault", "nan")
    with pytest.raises(TaggerResponseError) as caught:
        make_client(tagger.url).predict(MIXES)

    assert "non-finite" in str(caught.value)
    assert "'low'" in str(caught.value)
    assert (caught.value.http_status, caught.value.attempts) == (200, 1)
    assert tagger.stats()["requests"] == 1
    assert sleep.delays == []


def test_wrong_number_of_predictions_is_rejected(processes, make_client):
    tagger = start_tagger(processes, "--fault", "wrong-count")
    with pytest.raises(TaggerResponseError, match="2 predictions for 3 clips"):
        make_client(tagger.url).predict(MIXES)
    assert tagger.stats()["requests"] == 1


def test_html_is_rejected_quoting_it(processes, make_client):
    tagger = start_tagger(processes, "--fault", "html")
    with pytest.raises(TaggerResponseError) as caught:
        make_client(tagger.url).predict(MIXES)

    message = str(caught.value)
    assert "not JSON" in message
    assert "text/html" in message
    assert "<!DOCTYPE html>" in message and "Bad Gateway" in message
    assert len(message) < QUOTE_LIMIT + 100  # quoted, and quotes are bounded
    assert tagger.stats()["requests"] == 1


# -- network failures --------------------------------------------------------------------------------


def test_connection_refused_is_retried_then_unreachable(make_client, sleep):
    url = f"http://127.0.0.1:{free_port()}/predict"  # nothing listens there
    client = make_client(url, retries=2)
    with pytest.raises(TaggerUnreachableError) as caught:
        client.predict(MIXES)

    assert caught.value.attempts == 3
    assert caught.value.http_status is None
    assert url in str(caught.value)
    assert len(sleep.delays) == 2
    assert (client.stats.requests, client.stats.retries, client.stats.errors) == (3, 2, 3)


def test_refused_address_sends_nothing(processes, sleep):
    tagger = start_tagger(processes)
    public_only = guarded_session(NetworkPolicy())
    try:
        client = TaggerClient(TaggerSpec(url=tagger.url, sample_rate=RATE), public_only,
                              sleep=sleep, rng=random.Random(0))
        with pytest.raises(RefusedAddressError, match="loopback"):
            client.predict(MIXES)
    finally:
        public_only.close()
    assert tagger.stats()["requests"] == 0
    assert sleep.delays == []  # a policy refusal is final


def test_a_slow_tagger_times_out(processes, make_client, sleep):
    tagger = start_tagger(processes, "--delay", "2")
    client = make_client(tagger.url, read_timeout=0.5, retries=1)
    with pytest.raises(TaggerUnreachableError, match="timed out") as caught:
        client.predict(MIXES)

    assert caught.value.attempts == 2
    assert len(sleep.delays) == 1
    assert tagger.stats()["requests"] == 2


def test_rate_limiter_spaces_request_starts():
    from worker.tagger_client.client import RateLimiter

    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.wait()
    assert slept == pytest.approx([0.25, 0.25, 0.25, 0.25])  # the first starts at once, then 4 per second
    unlimited = RateLimiter(None, clock=lambda: now[0], sleep=sleep)
    unlimited.wait()
    assert len(slept) == 4


# -- a model that is still loading -------------------------------------------------------------------

HF_TOKEN = "hf_test_load"


class FakeTime:
    """A clock and a sleep that advances it: waits measured in seconds without spending them."""

    def __init__(self):
        self.now = 1000.0
        self.delays: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.now += seconds


def loading_tagger(processes, seconds: float, estimate: float) -> str:
    return start_server(processes, "huggingface", "--token", HF_TOKEN, "--loading-seconds", str(seconds),
                        "--estimated-time", str(estimate)) + "/models/audiolime/bands"


def hf_client(session, url: str, **kwargs) -> TaggerClient:
    spec = TaggerSpec(url=url, protocol="file_upload", headers={"Authorization": f"Bearer {HF_TOKEN}"},
                      sample_rate=RATE, retries=kwargs.pop("retries", 4),
                      options={"body": "raw", "scores_path": "@", "name_key": "label", "score_key": "score",
                               "labels": list(TOP_LABELS)})
    return TaggerClient(spec, session, rng=random.Random(0), **kwargs)


def served(url: str) -> dict:
    return requests.get(url.split("/models/")[0] + "/stats", timeout=5).json()


def test_a_loading_model_is_waited_out_without_spending_the_retries(processes, session):
    url = loading_tagger(processes, seconds=1.5, estimate=0.6)
    sleep, statuses = Recorder(real=True), []
    client = hf_client(session, url, retries=0, sleep=sleep, on_loading=statuses.append)  # not one retry allowed
    predictions = client.predict(MIXES[:1])

    np.testing.assert_allclose(predictions.scores[0, :4], [LEVEL, 0, 0, LEVEL], atol=TOLERANCE)
    loading = served(url)["statuses"]["503"]
    assert loading >= 3 and sleep.delays == [0.6] * loading  # the estimate, each time
    report = client.stats.report()
    assert (report["retries"], report["errors"], report["loading_answers"]) == (0, 0, loading)
    assert 1.4 <= report["load_wait_seconds"] <= 2.5
    assert statuses[0].startswith("waiting for the tagger to load its model: it estimates 0.6 s")
    assert len(statuses) == loading + 1 and statuses[-1] is None  # the job is told when it is over


def test_the_wait_for_a_model_is_capped_and_the_error_says_it_never_loaded(processes, session):
    url = loading_tagger(processes, seconds=3600, estimate=100)
    fake = FakeTime()
    client = hf_client(session, url, sleep=fake.sleep, clock=fake.clock, load_wait=250, retries=1)
    with pytest.raises(TaggerUnreachableError, match=r"model never finished loading: waited 250 s \(at most "
                                                     r"250 s a job\).*currently loading") as caught:
        client.predict(MIXES[:1])

    assert fake.delays == [100, 100, 50]  # the estimate, then what is left of the budget
    assert (caught.value.http_status, caught.value.attempts) == (503, 1)
    assert served(url)["requests"] == 4 and client.stats.retries == 0


def test_a_long_estimate_is_checked_on_every_two_minutes(processes, session):
    url = loading_tagger(processes, seconds=3600, estimate=2315.2)
    fake = FakeTime()
    with pytest.raises(TaggerUnreachableError, match="never finished loading"):
        hf_client(session, url, sleep=fake.sleep, clock=fake.clock).predict(MIXES[:1])
    assert fake.delays == [LOAD_POLL_MAX] * 5  # 600 s in all (LOAD_WAIT)


def test_cancelling_the_job_ends_a_loading_wait_at_once(processes, session):
    url = loading_tagger(processes, seconds=3600, estimate=20)

    def cancelled(seconds: float) -> None:
        raise CancelledError("the explanation was cancelled")

    with pytest.raises(CancelledError):
        hf_client(session, url, sleep=cancelled).predict(MIXES[:1])
    assert served(url)["requests"] == 1


def test_concurrent_requests_share_one_budget_of_wall_time():
    fake = FakeTime()
    wait = LoadingWait(budget=30, sleep=lambda seconds: None, clock=fake.clock)
    loading = ModelLoading("503 …is currently loading", estimate=20)
    wait.wait(loading)  # two requests of the job learn together that the model loads
    wait.wait(loading)
    fake.now += 20
    assert wait.waited == 20  # not 40: they waited side by side
    assert wait.answered() == 20 and wait.waited == 20
    wait.wait(loading)  # it unloads again later: the budget left is 10 s
    fake.now += 10
    with pytest.raises(TaggerUnreachableError, match="waited 30 s"):
        wait.wait(loading)


def test_a_503_that_is_not_json_is_an_ordinary_failure(processes, make_client, sleep):
    tagger = start_tagger(processes, "--status-sequence", "503,200")
    client = make_client(tagger.url)
    client.predict(MIXES)
    assert (client.stats.retries, client.stats.loading_answers) == (1, 0)
