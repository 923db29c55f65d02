"""HTTP to the API: one requests.Session, retries with backoff, problem+json errors as exceptions.

Retried: 503 (the API's answer while Redis is away, with Retry-After) and the 502/504 a proxy in
front of it gives while it restarts; connection errors and timeouts. Never retried: any other
4xx or 5xx, which would only fail again. A POST is retried on a connection error only when the
connection was never made, so a submission is never queued twice.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable, TypeVar
from urllib.parse import urljoin

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from audiolime_client import __version__
from audiolime_client.defaults import DEFAULT_BACKOFF, DEFAULT_HTTP_TIMEOUT, DEFAULT_MAX_DELAY, DEFAULT_RETRIES
from audiolime_client.errors import ApiError, ConnectionFailed, UnexpectedResponse

RETRY_STATUSES = frozenset({502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
PROBLEM_MEDIA_TYPES = ("application/problem+json", "application/json")
CHUNK_BYTES = 1 << 16
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to try again."""
    retries: int = DEFAULT_RETRIES  # attempts after the first one
    backoff: float = DEFAULT_BACKOFF  # seconds before the first retry, doubled before each next one
    max_delay: float = DEFAULT_MAX_DELAY  # cap on any one wait, Retry-After included

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (0-based); the server's Retry-After wins."""
        wanted = retry_after if retry_after is not None else self.backoff * 2 ** retry
        return max(0.0, min(self.max_delay, wanted))


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


def never_connected(error: requests.RequestException) -> bool:
    """True when the request cannot have reached the server (refused, or connecting timed out)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    return isinstance(_cause(error), (NewConnectionError, ConnectTimeoutError))


class Transport:
    """Sends requests to one API base URL; the API key goes in `Authorization: Bearer`."""

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = DEFAULT_HTTP_TIMEOUT,
                 retry: RetryPolicy = RetryPolicy(), session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.timeout, self.retry, self._sleep = timeout, retry, sleep
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = f"audiolime-client/{__version__}"
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def __repr__(self) -> str:  # never the key
        return f"Transport({self.base_url!r})"

    def url(self, path: str) -> str:
        """A path of ours ("explanations/ID") under the base URL, or a link the API gave ("/…")."""
        if path.startswith(("http://", "https://", "/")):
            return urljoin(self.base_url + "/", path)
        return f"{self.base_url}/{path}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The response of a successful request (status < 400), or ApiError / ConnectionFailed."""
        url, retry = self.url(path), 0
        while True:
            try:
                response = self.session.request(method, url, timeout=self.timeout, allow_redirects=False, **kwargs)
            except requests.RequestException as exc:
                if retry >= self.retry.retries or not self._may_retry(method, exc):
                    raise ConnectionFailed(f"{method} {url}: {_reason(exc)} (attempts: {retry + 1})",
                                           url=url, attempts=retry + 1) from exc
                self._sleep(self.retry.delay(retry))
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in RETRY_STATUSES or retry >= self.retry.retries:
                    raise problem(method, url, response)
                response.close()
                self._sleep(self.retry.delay(retry, parse_retry_after(response.headers.get("Retry-After"))))
            retry += 1

    def document(self, method: str, path: str, parse: Callable[[Any], T], **kwargs: Any) -> T:
        """A JSON answer read by `parse` (a from_json); UnexpectedResponse if it is not the API's."""
        response = self.request(method, path, **kwargs)
        try:
            return parse(response.json())
        except (ValueError, KeyError, TypeError) as exc:
            media_type = response.headers.get("Content-Type", "?")
            raise UnexpectedResponse(f"{method} {response.url}: HTTP {response.status_code} {media_type} is not "
                                     f"an audioLIME API answer ({type(exc).__name__}: {exc}); is the base URL "
                                     "right?", url=response.url, status=response.status_code) from exc

    def stream_to(self, response: requests.Response, write: Callable[[Iterable[bytes]], T]) -> T:
        """Hand the body's chunks to `write`; a connection lost midway is ConnectionFailed."""
        with response:
            try:
                return write(response.iter_content(CHUNK_BYTES))
            except requests.RequestException as exc:
                raise ConnectionFailed(f"GET {response.url}: the download broke off: {_reason(exc)}",
                                       url=response.url) from exc

    def close(self) -> None:
        self.session.close()

    @staticmethod
    def _may_retry(method: str, error: requests.RequestException) -> bool:
        transient = isinstance(error, (requests.ConnectionError, requests.Timeout))
        return transient and (method.upper() in IDEMPOTENT_METHODS or never_connected(error))


def problem(method: str, url: str, response: requests.Response) -> ApiError:
    """The exception for an error response, with its problem+json fields."""
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    body: Any = response.text[:2000]
    if media_type in PROBLEM_MEDIA_TYPES:
        try:
            body = response.json()
        except ValueError:
            pass
    return ApiError.from_problem(response.status_code, body, method=method, url=url,
                                 retry_after=parse_retry_after(response.headers.get("Retry-After")))


def _cause(error: requests.RequestException) -> Any:
    """urllib3's underlying error, which requests wraps as its first argument (None if it did not)."""
    return getattr(error.args[0], "reason", None) if error.args else None


def _reason(error: requests.RequestException) -> str:
    """The innermost reason, e.g. "Connection refused", not urllib3's pool wording."""
    text = str(_cause(error) or error)
    return text.split(": ", 1)[-1] if "Failed to establish a new connection" in text else text
