"""Waiting for a tagger that is still loading its model, apart from the retries meant for failures.

A host that loads models on demand (Hugging Face's Inference API and Inference Endpoints, and
servers imitating them) answers `503` with `{"error": "… is currently loading", "estimated_time": 20.0}`
until the model is up. That is not a failure: the client waits the estimate (at least
LOAD_POLL_MIN, at most LOAD_POLL_MAX seconds a time) and asks again, without spending
`tagger.retries`, for at most `budget` seconds in all per job (wall-clock time during which some
request of the job was waiting for the model, however many requests waited side by side).
A 503 without `estimated_time` (TorchServe's "no worker", a proxy scaling up) is an ordinary
failure, retried within `tagger.retries`.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable

import requests

from backend.config import Settings
from engine.errors import TaggerUnreachableError

LOAD_WAIT = Settings.tagger_load_wait  # the config's default (AUDIOLIME_TAGGER_LOAD_WAIT): one number, one home
LOAD_POLL_MIN = 0.5  # an estimate of 0 would otherwise ask again at once
LOAD_POLL_MAX = 120.0  # as Retry-After's cap: a long estimate is checked on now and then

OnLoading = Callable[[str | None], None]  # a status line while waiting; None once the tagger answers


def loading_estimate(response: requests.Response) -> float | None:
    """The seconds a 503 says the model needs to load, or None if it is not a loading answer."""
    if response.status_code != 503:
        return None
    try:
        document = response.json()
    except ValueError:
        return None
    estimate = document.get("estimated_time") if isinstance(document, dict) else None
    if isinstance(estimate, bool) or not isinstance(estimate, (int, float)) or not math.isfinite(estimate):
        return None
    return max(float(estimate), 0.0)


class ModelLoading(Exception):
    """An attempt answered "still loading": wait `estimate` seconds and ask again."""

    def __init__(self, detail: str, estimate: float):
        super().__init__(detail)
        self.detail, self.estimate = detail, estimate


class LoadingWait:
    """The job's budget of waiting for the model, shared by its concurrent requests."""

    def __init__(self, budget: float = LOAD_WAIT, sleep=time.sleep, clock=time.monotonic,
                 on_loading: OnLoading | None = None):
        self.budget = budget
        self._sleep, self._clock, self._on_loading = sleep, clock, on_loading
        self._since: float | None = None  # when the current loading began (first loading answer)
        self._waited = 0.0  # seconds of loading that ended before the current one
        self._lock = threading.Lock()

    @property
    def waited(self) -> float:
        with self._lock:
            return self._waited + (self._clock() - self._since if self._since is not None else 0.0)

    def wait(self, loading: ModelLoading) -> None:
        """Sleep until the model may be up; TaggerUnreachableError once the budget is spent.
        The sleep is the job's: cancelling the job ends it (CancelledError). The status goes out
        under the lock, so the last one the job hears matches the last change (loading or over)."""
        with self._lock:
            now = self._clock()
            self._since = now if self._since is None else self._since
            waited = self._waited + now - self._since
            if waited >= self.budget:
                raise TaggerUnreachableError(
                    f"the tagger's model never finished loading: waited {waited:.0f} s (at most {self.budget:g} s "
                    f"a job), and it still answers that it is loading ({loading.detail})", http_status=503)
            delay = min(max(loading.estimate, LOAD_POLL_MIN), LOAD_POLL_MAX, self.budget - waited)
            self._notify(f"waiting for the tagger to load its model: it estimates {loading.estimate:g} s; "
                         f"waited {waited:.0f} s of at most {self.budget:g} s")
        self._sleep(delay)

    def answered(self) -> float:
        """The tagger answered: any loading is over. The seconds that loading took (0 if there was none)."""
        with self._lock:
            if self._since is None:
                return 0.0
            took = self._clock() - self._since
            self._waited += took
            self._since = None
            self._notify(None)
        return took

    def _notify(self, status: str | None) -> None:
        if self._on_loading is not None:
            self._on_loading(status)
