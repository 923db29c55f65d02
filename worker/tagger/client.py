"""The remote tagger as an engine Tagger: one protocol, retries with backoff, call accounting.

Retried: connection errors and timeouts, 429 (honouring Retry-After) and 5xx
other than 501/505. Not retried: other 4xx (the request itself is wrong) and
answers that do not fit the protocol (asking again gives the same nonsense).
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import numpy as np
import requests

from engine.errors import TaggerError, TaggerUnreachableError
from engine.tagger import Predictions, quote
from worker.tagger.netguard import refused_cause
from worker.tagger.protocols import PROTOCOLS
from worker.tagger.spec import TaggerSpec

BACKOFF_BASE = 0.5  # seconds before the first retry
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 120.0
NOT_RETRIED_5XX = (501, 505)


@dataclass
class CallStats:
    """Counts shared by the threads that call one tagger for one job."""
    requests: int = 0
    retries: int = 0
    errors: int = 0
    bytes_sent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **amounts: int) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def to_dict(self) -> dict:
        return {"requests": self.requests, "retries": self.retries, "errors": self.errors,
                "bytes_sent": self.bytes_sent}


class TaggerClient:
    def __init__(self, spec: TaggerSpec, session: requests.Session, stats: CallStats | None = None,
                 sleep=time.sleep, rng: random.Random | None = None):
        self.spec = spec
        self.session = session
        self.stats = stats or CallStats()
        self.protocol = PROTOCOLS[spec.protocol]
        self._sleep = sleep
        self._rng = rng or random.Random()

    @property
    def sample_rate(self) -> int:
        return self.spec.sample_rate

    @property
    def channels(self) -> int:
        return self.spec.channels

    def predict(self, mixes: np.ndarray) -> Predictions:
        outgoing = self.protocol.build_request(mixes, self.spec)
        return self.send(outgoing, len(mixes))

    def send(self, outgoing, n_clips: int) -> Predictions:
        for attempt in range(1, self.spec.retries + 2):
            try:
                return self._attempt(outgoing, n_clips, attempt)
            except TaggerError:
                self.stats.add(errors=1)  # final on the first try: a 4xx, nonsense, a refused address
                raise
            except _Retryable as retry:
                self.stats.add(errors=1)
                if attempt > self.spec.retries:
                    retry.error.attempts = attempt
                    raise retry.error from retry.__cause__
                self.stats.add(retries=1)
                self._sleep(retry.delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(self, outgoing, n_clips: int, attempt: int) -> Predictions:
        url = self.spec.url.rstrip("/") + outgoing.path if outgoing.path else self.spec.url
        headers = {**self.spec.headers, "Content-Type": outgoing.content_type}
        self.stats.add(requests=1, bytes_sent=len(outgoing.body))
        try:
            response = self.session.post(url, data=outgoing.body, headers=headers, allow_redirects=False,
                                         timeout=(self.spec.connect_timeout, self.spec.read_timeout))
        except requests.RequestException as exc:
            refused = refused_cause(exc)
            if refused is not None:
                raise refused from exc
            error = TaggerUnreachableError(f"could not reach the tagger at {self.spec.url}: {_reason(exc)}")
            raise _Retryable(error, self._backoff(attempt)) from exc
        status = response.status_code
        if status == 200:
            return self._parse(response, n_clips, attempt)
        detail = f"tagger answered HTTP {status}: {quote(response.text)}"
        if status == 429 or (status >= 500 and status not in NOT_RETRIED_5XX):
            error = TaggerUnreachableError(detail, http_status=status)
            raise _Retryable(error, max(self._backoff(attempt), _retry_after(response)))
        if 300 <= status < 400:
            detail = (f"tagger redirected (HTTP {status}) to {response.headers.get('Location')!r}; "
                      "redirects are not followed")
        raise TaggerUnreachableError(detail, http_status=status, attempts=attempt)

    def _parse(self, response: requests.Response, n_clips: int, attempt: int) -> Predictions:
        try:
            return self.protocol.parse_response(response, n_clips)
        except TaggerError as exc:
            exc.http_status, exc.attempts = response.status_code, attempt
            raise

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so many workers do not retry in step."""
        return self._rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))


class _Retryable(Exception):
    """A failed attempt worth repeating after `delay` seconds."""

    def __init__(self, error: TaggerError, delay: float):
        super().__init__(str(error))
        self.error = error
        self.delay = delay


def _retry_after(response: requests.Response) -> float:
    value = response.headers.get("Retry-After")
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return 0.0
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed (refused, reset or DNS failure)"
    return type(exc).__name__

