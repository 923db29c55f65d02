"""gunicorn's own answers — requests it refuses before the app sees them — are application/problem+json
like every other answer: the right status, `Connection: close`, a `Content-Length` that matches, and a
detail that says what is wrong and the limit.

Real gunicorn with `service/gunicorn_conf.py`, on a free loopback port; raw sockets, since `requests`
will not send a malformed request.
"""
import json
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests
from gunicorn.http import errors

from service.gunicorn_conf import HEADER_FIELD_BYTES, HEADER_FIELDS, REQUEST_LINE_BYTES
from service.gunicorn_worker import Limits, client_answer
from tests.integration.conftest import free_port
from tests.integration.harness import Processes, settings_env
from backend.config import Settings

PROBLEM = "application/problem+json"


def gunicorn_command(port: int) -> list[str]:
    """The Procfile's `web` command, bound to loopback, without the control socket (tests run side by side)."""
    return [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
            "--no-control-socket", "service:create_app()"]


@pytest.fixture(scope="module")
def base(redis_url, tmp_path_factory):
    """The API under real gunicorn; its base URL."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings = Settings(redis_url=redis_url, key_prefix=prefix, queue_name=f"{prefix}-queue", preload_separators=())
    env = settings_env(settings)
    env.pop("GUNICORN_CMD_ARGS", None)
    processes, port = Processes(tmp_path_factory.mktemp("gunicorn")), free_port()
    child = processes.start(gunicorn_command(port), env, "gunicorn")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url, child)
        yield url
    finally:
        processes.stop_all()


def wait_for(url: str, child: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url + "/healthz", timeout=5)
            return
        # The master listens before its worker has imported the app: on a loaded machine a first
        # request is accepted and then waits longer than its read timeout. Both mean "not yet".
        except (requests.ConnectionError, requests.Timeout):
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {child.log_path.read_text()[-3000:]}") from None
            time.sleep(0.1)


def exchange(base: str, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `data` as is; the status, headers (names lowercased) and body, read until the server closes."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65536):  # a timeout here: the server kept the connection open
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


def request(target: str = "/explanations", headers: tuple[str, ...] = ("Host: test",), method: str = "GET",
            version: str = "HTTP/1.1") -> bytes:
    return "\r\n".join((f"{method} {target} {version}", *headers, "", "")).encode("latin-1")


def assert_problem(answer, status: int, *details: str) -> dict:
    code, headers, body = answer
    assert code == status, (code, headers, body[:300])
    assert headers["content-type"] == PROBLEM
    assert headers["connection"] == "close"
    assert int(headers["content-length"]) == len(body)
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["type"] == "about:blank"
    for fragment in details:
        assert fragment in problem["detail"], f"{fragment!r} not in detail {problem['detail']!r}"
    return problem


def target_of_line_length(length: int) -> str:
    """A target making `GET <target> HTTP/1.1` exactly `length` bytes long."""
    return "/explanations?tag=" + "a" * (length - len("GET  HTTP/1.1") - len("/explanations?tag="))


# -- the limits --------------------------------------------------------------------------------

def test_over_long_request_line_is_414_with_its_length_and_the_limit(base):
    line = 5_000
    problem = assert_problem(exchange(base, request(target_of_line_length(line))), 414,
                             f"the request line (method, URL and HTTP version) is {line:,} bytes",
                             f"at most {REQUEST_LINE_BYTES:,}")
    assert problem["title"] == "URI Too Long"


def test_much_longer_request_line_is_414_without_reading_it_all(base):
    assert_problem(exchange(base, request(target_of_line_length(20_000))), 414, "bytes or more",
                   f"at most {REQUEST_LINE_BYTES:,}")


def test_request_line_at_the_limit_reaches_the_app(base):
    code, headers, _ = exchange(base, request(target_of_line_length(REQUEST_LINE_BYTES),
                                              ("Host: test", "Connection: close")))
    assert code == 200 and headers["content-type"] == "application/json"


def test_too_many_header_fields_is_431_with_the_limit(base):
    fields = ("Host: test", *(f"X-Field-{number}: {number}" for number in range(HEADER_FIELDS)))
    problem = assert_problem(exchange(base, request(headers=fields)), 431,
                             f"more than {HEADER_FIELDS:,} header fields", f"at most {HEADER_FIELDS:,}")
    assert problem["title"] == "Request Header Fields Too Large"


def test_header_fields_up_to_the_limit_reach_the_app(base):
    fields = ("Host: test", "Connection: close", *(f"X-Field-{number}: {number}" for number in range(HEADER_FIELDS - 2)))
    code, headers, _ = exchange(base, request(headers=fields))
    assert code == 200 and headers["content-type"] == "application/json"


def test_over_long_header_field_is_431_with_the_limit(base):
    big = "X-Big: " + "v" * HEADER_FIELD_BYTES
    assert_problem(exchange(base, request(headers=("Host: test", big))), 431,
                   f"a header field is over {HEADER_FIELD_BYTES:,} bytes", f"at most {HEADER_FIELD_BYTES:,} per field")


# -- malformed requests ------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "status", "detail"), [
    pytest.param(b"GARBAGE\r\n\r\n", 400, "the request line is malformed", id="no-target-no-version"),
    pytest.param(b"GET /explanations HTTP/1.1\nHost: test\r\n\r\n", 400, "the request line is malformed",
                 id="bare-lf"),
    pytest.param(request(method="get"), 400, "the request method is not valid", id="lowercase-method"),
    pytest.param(request(version="HTTP/2.0"), 400, "HTTP/1.0 and HTTP/1.1", id="http-2-request-line"),
    pytest.param(request(headers=("Host: test", "no colon here")), 400, "a header field is malformed",
                 id="header-without-colon"),
    pytest.param(request(headers=("Host: test", "Bad Name: x")), 400, "a header field name is not valid",
                 id="space-in-header-name"),
    pytest.param(request(headers=("Host: test", "Host: again")), 400, "Host and Content-Type at most once",
                 id="host-twice"),
    pytest.param(request(headers=("Host: test", "Content-Length: ten")), 400, "the Content-Length header is invalid",
                 id="content-length-not-a-number"),
    pytest.param(request(headers=("Host: test", "Transfer-Encoding: zstd")), 501, "Transfer-Encoding is not supported",
                 id="unknown-transfer-coding"),
    pytest.param(request(headers=("Host: test", "Expect: 200-ok")), 417, "100-continue", id="expect"),
])
def test_malformed_request_is_a_problem(base, data, status, detail):
    problem = assert_problem(exchange(base, data), status, detail)
    assert data.split(b"\r\n")[0].decode("latin-1") not in problem["detail"]  # nothing sent is echoed


def test_head_answer_has_the_length_but_no_body(base):
    code, headers, body = exchange(base, request(method="HEAD", headers=("Host: test", "Content-Length: ten")))
    assert code == 400 and headers["content-type"] == PROBLEM and headers["connection"] == "close"
    assert int(headers["content-length"]) > 0 and body == b""


def test_a_response_header_the_app_got_wrong_is_not_blamed_on_the_client():
    limits = Limits(REQUEST_LINE_BYTES, HEADER_FIELDS, HEADER_FIELD_BYTES)
    assert client_answer(errors.InvalidResponseHeader("X-Bad"), limits) is None
    assert client_answer(RuntimeError("boom"), limits) is None
    assert client_answer(errors.InvalidHeader("X-Bad"), limits).status == 400


# -- the same gunicorn still serves the API ----------------------------------------------------

def test_normal_requests_still_answer_json(base):
    listing = requests.get(base + "/explanations", timeout=10)
    assert listing.status_code == 200 and listing.headers["Content-Type"] == "application/json"
    assert listing.json()["items"] == []
    health = requests.get(base + "/healthz", timeout=10)
    assert health.headers["Content-Type"] == "application/json" and "checks" in health.json()
    missing = requests.get(base + "/explanations/" + "0" * 32, timeout=10)
    assert missing.status_code == 404 and missing.headers["Content-Type"] == PROBLEM
