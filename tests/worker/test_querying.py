"""The query loop (worker/querying.py): every mask asked once, requests ready ahead, concurrency kept, cancellation."""
import threading
from dataclasses import dataclass

import numpy as np
import pytest

from engine.errors import CancelledError, TaggerResponseError
from engine.tagger import Predictions
from worker.querying import query_masks


class Mixer:
    """Each mask's mix is its row number, so the answers can be checked."""

    def mix(self, masks: np.ndarray) -> np.ndarray:
        return masks[:, :1].astype(np.float32)[:, :, np.newaxis]


@dataclass
class Spec:
    batch_size: int
    concurrency: int


class Client:
    """A tagger client whose `send` blocks until the test releases answers (unit test: no HTTP here)."""

    def __init__(self, batch_size: int, concurrency: int, fail_batch: int | None = None):
        self.spec = Spec(batch_size, concurrency)
        self.events: list[tuple[str, int]] = []
        self.in_flight = self.most_in_flight = 0
        self.release = threading.Semaphore(0)
        self.fail_batch = fail_batch
        self._lock = threading.Lock()

    def encode(self, mixes: np.ndarray):
        self._log("encode", int(mixes[0, 0, 0]))
        return mixes

    def send(self, mixes: np.ndarray) -> Predictions:
        first = int(mixes[0, 0, 0])
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self._log("send", first)
        self.release.acquire()
        with self._lock:
            self.in_flight -= 1
        if first == self.fail_batch:
            raise TaggerResponseError("nonsense")
        return Predictions(("row",), mixes[:, 0, :].astype(np.float64))

    def _log(self, what: str, first: int) -> None:
        with self._lock:
            self.events.append((what, first))


def masks(n: int) -> np.ndarray:
    return np.arange(n)[:, np.newaxis] * np.ones((1, 3))


def run(client: Client, n: int, keep_going=lambda: True, releases: int = 10**6) -> dict:
    answers = {}

    def on_answer(rows, predictions):
        for row, score in zip(rows, predictions.scores[:, 0]):
            assert row not in answers
            answers[row] = score

    def releaser():
        for _ in range(releases):
            client.release.release()

    threading.Thread(target=releaser, daemon=True).start()
    query_masks(Mixer(), masks(n), list(range(n)), client, on_answer, keep_going)
    return answers


def test_every_mask_is_answered_once_with_its_own_answer():
    client = Client(batch_size=4, concurrency=3)
    answers = run(client, 50)
    assert answers == {row: float(row) for row in range(50)}
    assert sorted(first for what, first in client.events if what == "send") == list(range(0, 50, 4))


def test_never_more_requests_in_flight_than_the_concurrency():
    client = Client(batch_size=2, concurrency=3)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (run(client, 40, releases=0), done.set()), daemon=True)
    worker.start()
    _wait_for(lambda: client.in_flight == 3)  # no answer released: the loop must stop at three
    threading.Event().wait(0.3)
    assert client.most_in_flight == 3
    for _ in range(20):
        client.release.release()
    worker.join(10)
    assert done.is_set() and client.most_in_flight == 3


def test_requests_are_encoded_ahead_so_a_burst_of_answers_is_refilled_at_once():
    client = Client(batch_size=1, concurrency=3)
    answered = threading.Event()
    worker = threading.Thread(target=lambda: (run(client, 12, releases=0), answered.set()), daemon=True)
    worker.start()
    _wait_for(lambda: client.events.count(("encode", 5)) == 1)  # 3 in flight, 3 more encoded, waiting
    assert [e for e in client.events if e[0] == "send"] == [("send", 0), ("send", 1), ("send", 2)]
    for _ in range(3):  # the three answers arrive together
        client.release.release()
    _wait_for(lambda: ("send", 5) in client.events)
    sends = [e for e in client.events if e[0] == "send"]
    assert sends[3:6] == [("send", 3), ("send", 4), ("send", 5)]
    for _ in range(12):
        client.release.release()
    worker.join(10)
    assert answered.is_set()


def test_a_cancelled_job_sends_nothing_more():
    client = Client(batch_size=2, concurrency=2)
    asked = []

    def keep_going():
        asked.append(1)
        return len(asked) <= 3

    with pytest.raises(CancelledError):
        run(client, 40, keep_going)
    # three were let go (the last may be withdrawn before it starts); none after the "no"
    assert 2 <= len([e for e in client.events if e[0] == "send"]) <= 3
    assert len(asked) == 4


def test_a_failing_batch_is_named_in_the_error():
    client = Client(batch_size=5, concurrency=2, fail_batch=15)
    with pytest.raises(TaggerResponseError) as caught:
        run(client, 40)
    assert caught.value.batch == 3


def _wait_for(condition, seconds: float = 5.0) -> None:
    done = threading.Event()
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not reached")
