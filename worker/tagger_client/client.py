"""The remote tagger as an engine Tagger: one protocol, retries with backoff, call accounting.

Retried: connection errors and timeouts, 429 (honouring Retry-After) and 5xx
other than 501/505. Not retried: other 4xx (the request itself is wrong) and
answers that do not fit the protocol (asking again gives the same nonsense).
A 503 saying the model is still loading is waited out apart from the retries
(worker/tagger_client/loading.py).
"""
from __future__ import annotations

import http.client
import random
import socket
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import numpy as np
import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError, ReadTimeoutError

from engine.errors import TaggerError, TaggerUnreachableError
from engine.tagger import Predictions, quote
from backend.tagger.netguard import refused_cause
from backend.tagger.protocols import PROTOCOLS
from backend.tagger.protocols.base import FilledPredictions, Outgoing
from worker.tagger_client.loading import LOAD_WAIT, LoadingWait, ModelLoading, OnLoading, loading_estimate
from worker.tagger_client.shaping import merge, shape
from worker.tagger_client.stats import CallStats
from backend.tagger.spec import TaggerSpec
from backend.tagger.transport import PhaseTimeout, RequestSendError, SendTimeoutError, causes

BACKOFF_BASE = 0.5  # seconds before the first retry
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 120.0
NOT_RETRIED_5XX = (501, 505)


@dataclass(frozen=True)
class Batch:
    """One request's worth of mixes, encoded for the protocol."""
    outgoing: Outgoing
    owners: np.ndarray  # the mix each clip sent belongs to (several with windowing)
    n_mixes: int


class RateLimiter:
    """At most `rate` request starts per second, shared by a job's concurrent requests."""

    def __init__(self, rate: float | None, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


class TaggerClient:
    """The remote tagger, as an engine Tagger, through one protocol module."""

    def __init__(self, spec: TaggerSpec, session: requests.Session, stats: CallStats | None = None,
                 sleep=time.sleep, rng: random.Random | None = None, on_loading: OnLoading | None = None,
                 load_wait: float = LOAD_WAIT, clock=time.monotonic):
        self.spec = spec
        self.session = session
        self.stats = stats or CallStats()
        self.protocol = PROTOCOLS[spec.protocol]
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._limiter = RateLimiter(spec.max_rps, sleep=sleep)
        self._loading = LoadingWait(load_wait, sleep=sleep, clock=clock, on_loading=on_loading)
        # The guarded session's pools apply `send` while the request is written (backend/tagger/transport.py).
        self._timeout = PhaseTimeout(connect=spec.connect_timeout, read=spec.read_timeout,
                                     send=spec.send_timeout or spec.read_timeout)
        self._prepared = None
        self._prepare_lock = threading.Lock()

    @property
    def sample_rate(self) -> int:
        return self.spec.sample_rate

    @property
    def channels(self) -> int:
        return self.spec.channels

    def predict(self, mixes: np.ndarray) -> Predictions:
        return self.send(self.encode(mixes))

    def encode(self, mixes: np.ndarray) -> Batch:
        """Shape the mixes to the tagger's input and build the request (CPU work, done ahead)."""
        clips, owners = shape(mixes, self.spec.sample_rate, self.spec.input_seconds, self.spec.input_policy)
        return Batch(self.protocol.build_request(clips, self.spec, self.prepared()), owners, len(mixes))

    def send(self, batch: Batch) -> Predictions:
        response, attempts = self._exchange(batch.outgoing)
        try:
            predictions = self.protocol.parse_response(response, len(batch.owners), self.spec, self.prepared())
        except TaggerError as exc:
            exc.http_status, exc.attempts = response.status_code, attempts
            self.stats.add(errors=1)
            raise
        self.stats.add(clips=len(batch.owners))
        if isinstance(predictions, FilledPredictions):
            self.stats.count_missing(predictions.labels, predictions.missing)
        return Predictions(predictions.labels, merge(predictions.scores, batch.owners, batch.n_mixes))

    def prepared(self):
        """What the protocol learns once per job (e.g. model metadata), learned on first use."""
        with self._prepare_lock:
            if self._prepared is None:
                self._prepared = (self.protocol.prepare(self.spec, self.exchange),)
            return self._prepared[0]

    def exchange(self, outgoing: Outgoing, accept: tuple[int, ...] = (200,)) -> requests.Response:
        """One HTTP exchange answered with an accepted status, with retries; raises TaggerError otherwise.
        Protocols probing optional endpoints accept 404 too: an answer, not an error."""
        return self._exchange(outgoing, accept)[0]

    def _exchange(self, outgoing: Outgoing, accept: tuple[int, ...] = (200,)) -> tuple[requests.Response, int]:
        attempt = 1  # failed attempts count against `retries`; answers that the model is loading do not
        while True:
            try:
                response = self._attempt(outgoing, attempt, accept)
            except ModelLoading as loading:
                self.stats.add(loading_answers=1)
                self._wait_for_model(loading, attempt)
                continue
            except TaggerError as exc:
                self.stats.add(errors=1)  # final on the first try: a 4xx, a redirect
                exc.attempts = attempt
                raise
            except _Retryable as retry:
                self.stats.add(errors=1)
                if attempt > self.spec.retries:
                    retry.error.attempts = attempt
                    raise retry.error from retry.__cause__
                self.stats.add(retries=1)
                self._sleep(retry.delay)
                attempt += 1
                continue
            self.stats.add(load_wait_seconds=self._loading.answered())
            return response, attempt

    def _wait_for_model(self, loading: ModelLoading, attempt: int) -> None:
        try:
            self._loading.wait(loading)
        except TaggerError as exc:  # it never finished loading
            self.stats.add(errors=1)
            exc.attempts = attempt
            raise

    def _attempt(self, outgoing: Outgoing, attempt: int, accept: tuple[int, ...]) -> requests.Response:
        url = self.spec.url.rstrip("/") + outgoing.path if outgoing.path else self.spec.url
        headers = {**self.spec.headers, **outgoing.headers}
        if outgoing.content_type:
            headers["Content-Type"] = outgoing.content_type
        self._limiter.wait()
        self.stats.add(requests=1, bytes_sent=len(outgoing.body))
        try:
            response = self.session.request(outgoing.method, url, data=outgoing.body or None, headers=headers,
                                            allow_redirects=False, timeout=self._timeout)
        except requests.RequestException as exc:
            refused = refused_cause(exc)
            if refused is not None:
                raise refused from exc
            raise _Retryable(TaggerUnreachableError(_failure(outgoing.method, url, exc, self.spec)),
                             self._backoff(attempt)) from exc
        status = response.status_code
        if status in accept:
            return response
        detail = f"tagger answered HTTP {status} to {outgoing.method} {url}: {quote(response.text)}"
        estimate = loading_estimate(response) if self._loading.budget > 0 else None
        if estimate is not None:
            raise ModelLoading(detail, estimate)
        if status == 429 or (status >= 500 and status not in NOT_RETRIED_5XX):
            raise _Retryable(TaggerUnreachableError(detail, http_status=status),
                             max(self._backoff(attempt), _retry_after(response)))
        if 300 <= status < 400:
            detail = (f"tagger redirected (HTTP {status}) to {response.headers.get('Location')!r}; "
                      "redirects are not followed")
        raise TaggerUnreachableError(detail, http_status=status)

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


def _failure(method: str, url: str, exc: requests.RequestException, spec: TaggerSpec) -> str:
    connecting, reason = _reason(exc, spec)
    if connecting:
        return f"could not reach the tagger at {url} {reason}"
    return f"tagger request {method} {url} failed {reason}"


def _reason(exc: requests.RequestException, spec: TaggerSpec) -> tuple[bool, str]:
    """(whether it failed while connecting, in which phase it failed and how). The phase is in
    the exceptions behind `exc`: requests wraps urllib3's, which wrap the socket's."""
    chain = list(causes(exc))

    def seen(*kinds) -> bool:
        return any(isinstance(cause, kinds) for cause in chain)

    if seen(SendTimeoutError):
        setting = "send_timeout" if spec.send_timeout else "send_timeout, as read_timeout"
        return False, (f"while sending the request: timed out, the tagger took none of it for "
                       f"{spec.send_timeout or spec.read_timeout:g} s ({setting}): it is busy with other "
                       "requests, or reads slowly")
    if seen(RequestSendError):
        return False, "while sending the request: the connection was reset or closed (the server closed or reset it)"
    if seen(NameResolutionError, socket.gaierror):
        return True, "while connecting: DNS name not resolved"
    if seen(ConnectionRefusedError):
        return True, "while connecting: connection refused"
    if seen(NewConnectionError):  # before ConnectTimeoutError, which urllib3 makes it a subclass of
        return True, f"while connecting: {_os_error(chain) or 'the connection failed'}"
    if seen(ConnectTimeoutError, requests.ConnectTimeout):
        return True, f"while connecting: timed out after connect_timeout {spec.connect_timeout:g} s"
    if seen(requests.exceptions.SSLError):
        return True, f"while connecting: the TLS handshake failed ({_os_error(chain) or 'SSL error'})"
    if seen(ReadTimeoutError, requests.ReadTimeout):
        return False, f"while waiting for the answer: timed out after read_timeout {spec.read_timeout:g} s"
    if seen(requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError,
            http.client.IncompleteRead):
        return False, "while reading the answer: the connection broke mid-answer (reset or closed)"
    if seen(ConnectionError):  # the socket's (RemoteDisconnected is one), not requests'
        return False, "while waiting for the answer: the connection was reset or closed before an answer came"
    if seen(http.client.HTTPException):
        return False, "while reading the answer: it is not HTTP (a bad status line or header)"
    return False, f"({type(exc).__name__}: {exc})"


def _os_error(chain: list) -> str | None:
    """The socket's own words (e.g. "[Errno 101] Network is unreachable"), if an OSError is behind it all."""
    errors = [c for c in chain if isinstance(c, OSError) and not isinstance(c, requests.RequestException)]
    return str(next((e for e in errors if e.errno), errors[0])) if errors else None
