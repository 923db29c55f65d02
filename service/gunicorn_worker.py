"""gunicorn's own error answers as application/problem+json, like every other answer of the API.

gunicorn answers a request it cannot parse (a request line over `limit_request_line`, header
fields over `limit_request_fields` or `limit_request_field_size`, a malformed request line or
header…) itself, before the app sees it, in HTML (`Worker.handle_error` → `util.write_error`).
`ProblemWorker` is gunicorn's threaded worker with that one method replaced: the same status
codes and logging, a problem+json body whose detail says what is wrong and the limit, and
`Connection: close`, since gunicorn closes the connection after such an answer.

Only gunicorn and the standard library are imported here: gunicorn's master process loads this
class, and importing the app there would pin its code in the master (a HUP would not reload it).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from ssl import SSLError
from typing import Callable, NamedTuple, Union

from gunicorn import util
from gunicorn.http import errors
from gunicorn.http.message import DEFAULT_MAX_HEADERFIELD_SIZE, MAX_HEADERS, MAX_REQUEST_LINE
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.gthread import ThreadWorker

MEDIA_TYPE = "application/problem+json"  # service.problems.MEDIA_TYPE, not imported: see above
UNEXPECTED = "an unexpected error occurred; it has been logged"
FAST_PARSER_LINE_LIMIT = 1024 * 1024  # gunicorn_h1c's request-line cap when the setting is 0 (none)
# RFC 9110's reason phrases, where Python 3.11's HTTPStatus still has RFC 7231's ("Request-URI Too Long").
REASONS = {414: "URI Too Long"}


@dataclass(frozen=True)
class Limits:
    """The request limits gunicorn's parser enforces, computed from its settings as it does."""
    request_line: int  # bytes: method, target and HTTP version
    header_fields: int  # fields in one request
    header_field_size: int  # bytes of one field: name, colon, value and CRLF

    @classmethod
    def from_config(cls, cfg) -> Limits:
        line = cfg.limit_request_line  # 0 means none, but gunicorn_h1c still stops at 1 MiB
        line = MAX_REQUEST_LINE if line >= MAX_REQUEST_LINE else line or FAST_PARSER_LINE_LIMIT
        fields = cfg.limit_request_fields
        fields = fields if 0 < fields <= MAX_HEADERS else MAX_HEADERS
        size = cfg.limit_request_field_size
        return cls(line, fields, size if size > 0 else DEFAULT_MAX_HEADERFIELD_SIZE)

    @property
    def header_section(self) -> int:
        """The most bytes gunicorn buffers for the header section."""
        return self.header_fields * (self.header_field_size + 2) + 4


class Answer(NamedTuple):
    status: int
    detail: str

    @property
    def reason(self) -> str:
        return REASONS.get(self.status) or HTTPStatus(self.status).phrase

    def body(self) -> bytes:
        return json.dumps({"type": "about:blank", "title": self.reason, "status": self.status,
                           "detail": self.detail}).encode()

    def response(self, body: bytes, head_only: bool = False) -> bytes:
        """The whole HTTP response; `head_only` (a HEAD request) leaves the body out, not its length."""
        head = (f"HTTP/1.1 {self.status} {self.reason}\r\nConnection: close\r\n"
                f"Content-Type: {MEDIA_TYPE}\r\nContent-Length: {len(body)}\r\n\r\n").encode("latin-1")
        return head if head_only else head + body


def _request_line_too_long(exc: errors.LimitRequestLine, limits: Limits) -> str:
    limit = exc.max_size if isinstance(exc.max_size, int) else limits.request_line
    # gunicorn stops reading at the limit, so the size it reports may be only what it read.
    size = f"{exc.size:,} bytes or more" if isinstance(exc.size, int) else f"over {limit:,} bytes"
    return (f"the request line (method, URL and HTTP version) is {size}; this service takes at most "
            f"{limit:,}")


def _header_fields_too_large(exc: errors.LimitRequestHeaders, limits: Limits) -> str:
    fields, size = limits.header_fields, limits.header_field_size
    return {
        "limit request headers fields": f"the request has more than {fields:,} header fields; this "
                                        f"service takes at most {fields:,}",
        "limit request headers fields size": f"a header field is over {size:,} bytes; this service takes "
                                             f"at most {size:,} per field (name, colon, value and CRLF)",
    }.get(str(exc), f"the header section is over {limits.header_section:,} bytes; this service takes at "
                    f"most {fields:,} header fields of at most {size:,} bytes each")


def _invalid_header(exc: errors.InvalidHeader, limits: Limits) -> str:
    return {
        "CONTENT-LENGTH": "the Content-Length header is invalid: it must be sent once, as a non-negative "
                          "integer, and never with Transfer-Encoding",
        "TRANSFER-ENCODING": "the Transfer-Encoding header is invalid: it must end with chunked, name "
                             "chunked once, and needs HTTP/1.1",
        "bare LF as line terminator": "a header line ends in a bare LF; every line must end in CRLF",
    }.get(exc.hdr, "a header field is malformed: each must be `Name: value` on one line ending in CRLF, "
                   "with no control characters in the value, and Host and Content-Type at most once")


Detail = Union[str, Callable[[Exception, Limits], str]]
CHUNKED_BODY = "the chunked request body is malformed (RFC 9112 section 7.1)"
PROXY_HEADER = "the PROXY protocol header is malformed"
# What each parse error gunicorn raises means to the client; a class not named here is the server's fault.
CLIENT_ERRORS: dict[type, tuple[int, Detail]] = {
    errors.LimitRequestLine: (414, _request_line_too_long),
    errors.LimitRequestHeaders: (431, _header_fields_too_large),
    errors.InvalidRequestLine: (400, "the request line is malformed: it must be a method, a space, the "
                                "target (a path from /, printable ASCII, anything else percent-encoded), "
                                "a space and HTTP/1.1, ending in CRLF"),
    errors.InvalidRequestMethod: (400, "the request method is not valid: 3 to 20 characters, no "
                                  "lowercase letters, such as GET, POST or DELETE"),
    errors.InvalidHTTPVersion: (400, "the HTTP version is not supported: this service speaks HTTP/1.0 "
                                "and HTTP/1.1"),
    errors.InvalidHeaderName: (400, "a header field name is not valid: letters, digits and "
                               "!#$%&'*+-.^_`|~ only, with no space before the colon"),
    errors.InvalidHeader: (400, _invalid_header),
    errors.ObsoleteFolding: (400, "a header field continues on the next line (obsolete line folding); "
                             "send each header field on one line"),
    errors.UnsupportedTransferCoding: (501, "the request's Transfer-Encoding is not supported: send the "
                                       "body with Content-Length or Transfer-Encoding: chunked"),
    errors.ExpectationFailed: (417, "the Expect header can only be 100-continue"),
    errors.InvalidSchemeHeaders: (400, "the request's forwarded-scheme headers contradict each other"),
    errors.InvalidChunkSize: (400, CHUNKED_BODY),
    errors.ChunkMissingTerminator: (400, CHUNKED_BODY),
    errors.InvalidChunkExtension: (400, CHUNKED_BODY),
    errors.InvalidProxyLine: (400, PROXY_HEADER),
    errors.InvalidProxyHeader: (400, PROXY_HEADER),
    errors.ForbiddenProxyRequest: (403, "this client may not send a PROXY protocol header"),
    errors.InvalidH2CPreface: (400, "this port expects HTTP/2 from this client, starting with the "
                               "connection preface"),
    SSLError: (403, "the TLS handshake failed"),
}
# Subclasses of client errors that are the server's: a response header the app tried to send.
SERVER_FAULTS = (errors.InvalidResponseHeader, errors.InvalidResponseHeaderName)


def client_answer(exc: BaseException, limits: Limits) -> Answer | None:
    """The answer to a request gunicorn refused, or None when the fault is not the client's."""
    if isinstance(exc, SERVER_FAULTS):
        return None
    for cls in type(exc).__mro__:
        if cls in CLIENT_ERRORS:
            status, detail = CLIENT_ERRORS[cls]
            return Answer(status, detail if isinstance(detail, str) else detail(exc, limits))
    return None


class ProblemWorker(ThreadWorker):
    """gunicorn's gthread worker whose own error answers are application/problem+json."""

    def handle_error(self, req, client, addr, exc):
        started = datetime.now()
        addr = addr or ("", -1)  # a unix socket
        answer = client_answer(exc, Limits.from_config(self.cfg))
        if answer is None:
            what = f"{req.method} {req.uri}" if getattr(req, "uri", None) else "(no URI read)"
            self.log.exception("Error handling request %s", what)
            answer = Answer(500, UNEXPECTED)
        else:
            self.log.warning("Invalid request from ip=%s: %s", addr[0], exc)
            if req is None and isinstance(exc, errors.InvalidHeader):
                req = exc.req  # the request, when gunicorn had parsed its head: for the access log
        body = answer.body()
        head_only = getattr(req, "method", None) == "HEAD"
        if req is not None:
            self._log_access(req, client, addr, answer, 0 if head_only else len(body), datetime.now() - started)
        try:
            util.write_nonblock(client, answer.response(body, head_only))
        except OSError:
            self.log.debug("Failed to send error message.")

    def _log_access(self, req, client, addr, answer: Answer, sent: int, request_time) -> None:
        environ = default_environ(req, client, self.cfg)
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = addr[0], str(addr[1])
        response = Response(req, client, self.cfg)
        response.status = f"{answer.status} {answer.reason}"
        response.response_length = response.sent = sent
        self.log.access(response, req, environ, request_time)
