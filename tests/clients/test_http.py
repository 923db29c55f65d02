"""The client's HTTP layer against real loopback servers that answer from a script:
what is retried (503 with Retry-After, connection errors), what is not (4xx, 500, a POST whose
request may have arrived), and how error answers become exceptions."""
import threading
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from audiolime_client import (
    ApiError, BadRequest, Client, ConnectionFailed, NotFound, ServerError, ServiceUnavailable, UnexpectedResponse,
    Unprocessable,
)
from audiolime_client.http import RetryPolicy, parse_retry_after
from tests.clients.scripted_server import DROP, TRUNCATE, Answer, ScriptedServer, free_port, job_document

UNAVAILABLE = {"type": "about:blank", "title": "Service unavailable", "status": 503,
               "detail": "the job store (Redis) is not reachable; try again shortly"}


def test_503_twice_then_success_is_retried_honouring_retry_after():
    script = [Answer(503, UNAVAILABLE, {"Retry-After": "1"})] * 2 + [Answer(200, job_document("j1"))]
    with ScriptedServer(script) as server:
        # backoff 0.01 s: the waits of about 1 s below can only come from Retry-After
        job = Client(server.base, retries=3, backoff=0.01).get("j1")
    assert job.id == "j1" and [s.path for s in server.seen] == ["/explanations/j1"] * 3
    gaps = [b.at - a.at for a, b in zip(server.seen, server.seen[1:])]
    assert all(0.9 <= gap < 2.0 for gap in gaps), gaps


def test_a_submission_answered_503_is_sent_again_whole():
    submitted = {"id": "j9", "status": "queued", "stage": "queued", "status_url": "/explanations/j9",
                 "ttl_seconds": 60}
    with ScriptedServer([Answer(503, UNAVAILABLE, {"Retry-After": "0"}), Answer(202, submitted)]) as server:
        result = Client(server.base, retries=2, backoff=0.01).submit(b"RIFF-not-really", tagger="http://t/p")
    assert result.id == "j9" and result.status_url == "/explanations/j9"
    first, second = server.seen
    assert first.method == second.method == "POST" and b"RIFF-not-really" in second.body
    assert without_boundary(first) == without_boundary(second)  # the same parts, each time a new boundary


def without_boundary(seen) -> bytes:
    boundary = seen.headers["Content-Type"].split("boundary=")[1].encode()
    return seen.body.replace(boundary, b"")


def test_503_that_persists_raises_after_the_retries():
    with ScriptedServer([Answer(503, UNAVAILABLE, {"Retry-After": "0"})]) as server:
        with pytest.raises(ServiceUnavailable) as caught:
            Client(server.base, retries=2, backoff=0.01).get("j1")
    assert len(server.seen) == 3  # the first try and two retries
    error = caught.value
    assert (error.status, error.title, error.detail) == (503, UNAVAILABLE["title"], UNAVAILABLE["detail"])
    assert error.retry_after == 0.0 and error.method == "GET" and error.url == f"{server.base}/explanations/j1"


@pytest.mark.parametrize(("status", "kind"), [(400, BadRequest), (404, NotFound), (422, Unprocessable)])
def test_a_4xx_is_not_retried_and_carries_the_problem_fields(status, kind):
    problem = {"type": "https://audiolime.example/problems/limit", "title": "Over a limit", "status": status,
               "detail": "4096 samples asked; this service takes at most 2048", "limit": 2048}
    with ScriptedServer([Answer(status, problem), Answer(200, job_document())]) as server:
        with pytest.raises(kind) as caught:
            Client(server.base, retries=3, backoff=0.01).get("j1")
    assert len(server.seen) == 1
    error = caught.value
    assert isinstance(error, ApiError) and error.status == status and error.title == "Over a limit"
    assert error.detail == problem["detail"] and error.type == problem["type"] and error.extras == {"limit": 2048}
    assert str(error) == f"{status} Over a limit: {problem['detail']}"


def test_a_500_is_not_retried():
    problem = {"type": "about:blank", "title": "Internal server error", "status": 500, "detail": "logged"}
    with ScriptedServer([Answer(500, problem), Answer(200, job_document())]) as server:
        with pytest.raises(ServerError) as caught:
            Client(server.base, retries=3, backoff=0.01).get("j1")
    assert len(server.seen) == 1 and not isinstance(caught.value, ServiceUnavailable)


def test_a_proxy_error_page_that_is_not_json_still_becomes_an_api_error():
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    with ScriptedServer([Answer(502, page, content_type="text/html")]) as server:
        with pytest.raises(ServerError) as caught:
            Client(server.base, retries=1, backoff=0.01).get("j1")
    assert len(server.seen) == 2  # 502 is retried, like 503
    assert caught.value.status == 502 and "502 Bad Gateway" in caught.value.detail


def test_connection_refused_is_retried_with_backoff_then_fails():
    base = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ConnectionFailed) as caught:
        Client(base, retries=2, backoff=0.2).get("j1")
    elapsed = time.monotonic() - started
    assert caught.value.attempts == 3 and "refused" in str(caught.value).lower()
    assert 0.6 <= elapsed < 3.0  # waited 0.2 then 0.4 s: exponential backoff


def test_connection_refused_then_the_service_comes_up():
    port = free_port()
    servers = []
    threading.Timer(0.5, lambda: servers.append(ScriptedServer([Answer(200, job_document("j7"))], port))).start()
    try:
        job = Client(f"http://127.0.0.1:{port}", retries=6, backoff=0.2).get("j7")
    finally:
        time.sleep(0.6)  # in case the timer had not fired yet
        for server in servers:
            server.close()
    assert job.id == "j7" and len(servers[0].seen) == 1


def test_a_post_that_may_have_arrived_is_never_sent_twice():
    with ScriptedServer([Answer(0, DROP)]) as server:
        with pytest.raises(ConnectionFailed) as caught:
            Client(server.base, retries=3, backoff=0.01).submit(b"audio", tagger="http://t/p")
    assert caught.value.attempts == 1 and len(server.seen) == 1  # else the job could be queued twice


def test_a_get_whose_connection_drops_is_retried():
    with ScriptedServer([Answer(0, DROP), Answer(200, job_document("j2"))]) as server:
        job = Client(server.base, retries=3, backoff=0.01).get("j2")
    assert job.id == "j2" and len(server.seen) == 2


def test_an_answer_that_is_not_the_apis_says_so():
    page = "<html><body>Welcome to nginx!</body></html>"
    with ScriptedServer([Answer(200, page, content_type="text/html")]) as server:
        with pytest.raises(UnexpectedResponse) as caught:
            Client(server.base).get("j1")
    assert caught.value.status == 200 and "not an audioLIME API answer" in str(caught.value)
    assert "base URL" in str(caught.value) and "text/html" in str(caught.value)


def test_a_download_that_breaks_off_leaves_no_file(tmp_path):
    with ScriptedServer([Answer(200, TRUNCATE)]) as server:
        with pytest.raises(ConnectionFailed, match="broke off"):
            Client(server.base).download_source("j1", "vocals", tmp_path / "vocals.wav")
    assert list(tmp_path.iterdir()) == []  # neither the file nor its .part


def test_the_api_key_is_sent_as_bearer_and_never_shown():
    with ScriptedServer([Answer(200, job_document())]) as server:
        client = Client(server.base, "s3cret-key")
        client.get("j1")
    assert server.seen[0].headers["Authorization"] == "Bearer s3cret-key"
    assert "s3cret-key" not in repr(client) and "s3cret-key" not in repr(client.transport)


def test_links_given_by_the_api_resolve_against_the_host():
    next_page = "/explanations?limit=1&offset=1"
    pages = [{"items": [job_document("a")], "total": 2, "limit": 1, "offset": 0, "next": next_page},
             {"items": [job_document("b")], "total": 2, "limit": 1, "offset": 1, "next": None}]
    with ScriptedServer([Answer(200, pages[0]), Answer(200, pages[1])]) as server:
        ids = [job.id for job in Client(server.base + "/").list(page_size=1)]
    assert ids == ["a", "b"]
    assert [s.path for s in server.seen] == ["/explanations?limit=1&offset=0", next_page]


def test_retry_after_as_seconds_or_http_date():
    assert parse_retry_after("5") == 5.0 and parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 28 <= parse_retry_after(later) <= 30


def test_backoff_doubles_and_is_capped():
    policy = RetryPolicy(retries=10, backoff=0.5, max_delay=3.0)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(0, retry_after=7.0) == 3.0 and policy.delay(3, retry_after=0.0) == 0.0
