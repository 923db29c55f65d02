"""The three phases of one HTTP exchange with a tagger: connecting, sending the request, waiting for the answer.

urllib3 has two timeouts and keeps the connect timeout on the socket while the request is
written; the read timeout starts only once it is sent. A big batch to a busy, synchronous
tagger (one that takes the body only when done with the previous one) was aborted after
connect_timeout (5 s), and reported as a failure to connect. Here sending gets a timeout of
its own (`PhaseTimeout.send`), and a failure while sending says so (`RequestSendError`).

The send timeout bounds a stall, not the whole upload: Python's sendall() gives its timeout
to the whole call, so a steady but slow upload of a big body would be cut off too. Bodies
are written in blocks of SEND_BLOCK bytes, each with the full timeout.
"""
from __future__ import annotations

import errno
from collections.abc import Iterator
from http.client import HTTPException

from urllib3.exceptions import ProtocolError
from urllib3.util.timeout import _DEFAULT_TIMEOUT, Timeout

# What urllib3 swallows while sending, to read an answer the server may have sent before
# it closed (a 413, say); see HTTPConnectionPool._make_request.
EARLY_ANSWER_ERRNOS = frozenset({errno.EPIPE, errno.ECONNRESET, errno.EPROTOTYPE})
SEND_BLOCK = 256 * 1024  # bytes per sendall(), each with the whole send timeout (a stall: less than this in it)
_UNSET = object()


class PhaseTimeout(Timeout):
    """urllib3's Timeout with a third phase: `send`, the socket timeout while the request is
    written (None: as `read`). requests passes a Timeout given as `timeout=` to the pool as is."""

    def __init__(self, connect=_DEFAULT_TIMEOUT, read=_DEFAULT_TIMEOUT, send=None, total=None):
        super().__init__(total=total, connect=connect, read=read)
        self.send = None if send is None else self._validate_timeout(send, "send")

    def clone(self) -> PhaseTimeout:  # urllib3 clones per request; keep the third phase
        return PhaseTimeout(connect=self._connect, read=self._read, send=self.send, total=self.total)

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, send={self.send!r})"


def send_timeout_of(timeout: Timeout) -> float | None:
    send = getattr(timeout, "send", None)
    if send is not None:
        return send
    timeout.start_connect()  # read_timeout needs it when a total is set
    return timeout.read_timeout


class RequestSendError(ProtocolError):
    """The connection failed while the request was written: the server reset or closed it.
    A ProtocolError, so urllib3 and requests pass it on wrapped in their own, not rewritten."""

    def __init__(self, message: str = "the connection was reset or closed while the request was sent"):
        super().__init__(message)


class SendTimeoutError(RequestSendError):
    """The server took no more of the request for `timeout` seconds (busy, or reading slowly)."""

    def __init__(self, timeout: float | None):
        super().__init__(f"timed out sending the request (stalled for {timeout} s, the send timeout)")
        self.timeout = timeout


class PhasedConnectionMixin:
    """Writes the request under `send_timeout`, which the pool sets for each request."""

    send_timeout = _UNSET  # unset: urllib3's behaviour, the connect timeout
    _send_failure: OSError | None = None

    def request(self, method, url, body=None, headers=None, **kwargs) -> None:
        if self.sock is None:  # http.client would connect lazily, inside request(), under the same timeout
            self.connect()
        if self.send_timeout is not _UNSET:
            self.timeout = self.send_timeout  # urllib3's request() puts self.timeout on the socket
        self._send_failure = None
        try:
            super().request(method, url, body=body, headers=headers, **kwargs)
        except TimeoutError as exc:
            raise SendTimeoutError(self.timeout) from exc
        except OSError as exc:
            if exc.errno not in EARLY_ANSWER_ERRNOS:
                raise RequestSendError(f"sending the request failed: {exc}") from exc
            self._send_failure = exc  # urllib3 goes on to read an early answer; if none comes, this was the cause
            raise

    def send(self, data) -> None:
        """http.client's send (one sendall), block by block for a big body: see SEND_BLOCK."""
        if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) <= SEND_BLOCK:
            super().send(data)
            return
        view = memoryview(data).cast("B")
        for start in range(0, len(view), SEND_BLOCK):
            super().send(view[start:start + SEND_BLOCK])

    def getresponse(self):
        try:
            return super().getresponse()
        except (OSError, HTTPException) as exc:
            if self._send_failure is None:
                raise
            raise RequestSendError() from self._send_failure


class PhasedPoolMixin:
    """Hands each request's send timeout to its connection (urllib3's pools know only two phases)."""

    def _make_request(self, conn, method, url, body=None, headers=None, retries=None, timeout=_DEFAULT_TIMEOUT,
                      **kwargs):
        conn.send_timeout = send_timeout_of(self._get_timeout(timeout))
        return super()._make_request(conn, method, url, body, headers, retries, timeout, **kwargs)


def causes(exc: BaseException | None) -> Iterator[BaseException]:
    """`exc` and every exception behind it: the cause/context chain, urllib3's `reason`,
    requests' and urllib3's `args` (where they keep the exception they wrap)."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue  # None, or a `reason` that is a plain string (ssl.SSLError's is)
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        pending += list(current.args)
