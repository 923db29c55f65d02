"""The phases of a tagger exchange, against real servers on loopback: sending has a timeout of
its own, and a failure says whether it came while connecting, sending or waiting for the answer.

The servers: tests/servers/oip.py made busy (it takes a request's body only after a few seconds,
as a synchronous tagger still working on the previous request), and tests/servers/rude.py, which
breaks off at one chosen phase.
"""
from __future__ import annotations

import random
import socket
import time

import numpy as np
import pytest

from engine.errors import TaggerUnreachableError
from tests.integration.harness import start_server
from worker.tagger_client.client import TaggerClient
from backend.tagger.spec import TaggerSpec
from backend.tagger.transport import PhaseTimeout

RATE = 16000
BUSY_SECONDS = 2.5  # the busy server's pause before it reads a body: well past connect_timeout
BINARY = {"model": "bands", "binary": True, "binary_output": True}
# 12 one-minute clips of FP32: 46 MB, far more than loopback socket buffers take in while the
# server does not read (a few MB: the sender's tcp_wmem and the receiver's initial window).
BIG = np.full((12, 60 * RATE, 1), 0.25, dtype=np.float32)
# For the rude server (json protocol, 16-bit WAV in base64): 20 MB, also well past the buffers.
LONG = np.full((8, 60 * RATE, 1), 0.25, dtype=np.float32)


@pytest.fixture
def make_client(session, sleep):
    def build(url: str, **settings) -> TaggerClient:
        spec = TaggerSpec(url=url, sample_rate=RATE, retries=0, **settings)
        return TaggerClient(spec, session, sleep=sleep, rng=random.Random(0))
    return build


def failure(client: TaggerClient, mixes: np.ndarray) -> tuple[str, float]:
    """The message of the error the client raises for `mixes`, and how long it took to come."""
    started = time.monotonic()
    with pytest.raises(TaggerUnreachableError) as caught:
        client.predict(mixes)
    assert caught.value.http_status is None and caught.value.attempts == 1
    return str(caught.value), time.monotonic() - started


def rude(processes, behaviour: str) -> str:
    return start_server(processes, "rude", "--behaviour", behaviour) + "/predict"


# -- sending has its own timeout ------------------------------------------------------------------


@pytest.mark.parametrize("threading", ["--single-threaded", "--threaded"])
def test_a_big_request_waits_for_a_busy_tagger_beyond_the_connect_timeout(processes, make_client, threading):
    # Single-threaded: each request on a new connection. Threaded: the batch goes on the keep-alive
    # connection the metadata request opened (the socket's timeout is set again for it).
    options = ("--single-threaded",) if threading == "--single-threaded" else ()
    url = start_server(processes, "oip", "--read-delay", str(BUSY_SECONDS), *options)
    client = make_client(url, protocol="oip", options=BINARY, connect_timeout=1)
    started = time.monotonic()
    predictions = client.predict(BIG)

    assert time.monotonic() - started > BUSY_SECONDS  # it did wait for the server to take the body
    np.testing.assert_allclose(predictions.scores[:, 3], 0.25, atol=1e-4)  # `loud`: the level of 0.25
    assert client.stats.bytes_sent > BIG.nbytes and client.stats.errors == 0


def test_a_tagger_that_does_not_take_the_request_fails_it_after_the_send_timeout(processes, make_client):
    client = make_client(rude(processes, "never-read"), send_timeout=0.5, read_timeout=30)
    message, seconds = failure(client, LONG)

    assert "while sending the request: timed out, the tagger took none of it for 0.5 s (send_timeout)" in message
    assert "busy" in message and "connect" not in message
    assert 0.4 < seconds < 5  # the send timeout, neither the read timeout nor a connect failure


def test_the_send_timeout_defaults_to_the_read_timeout(processes, make_client):
    client = make_client(rude(processes, "never-read"), read_timeout=1)
    message, seconds = failure(client, LONG)
    assert "took none of it for 1 s (send_timeout, as read_timeout)" in message
    assert 0.9 < seconds < 5


def test_the_send_timeout_bounds_a_stall_not_the_whole_upload(processes, session):
    # The server takes 64 KiB every 10 ms: 20 MB take about 3 s, and it never stalls for 0.5 s.
    url = start_server(processes, "rude", "--behaviour", "read-slowly")
    started = time.monotonic()
    response = session.post(url, data=bytes(20_000_000), timeout=PhaseTimeout(connect=1, read=5, send=0.5))
    assert (response.status_code, response.text) == (200, "ok")
    assert time.monotonic() - started > 1.0  # well beyond the send timeout, in steady progress


# -- each phase says what failed ------------------------------------------------------------------


def test_a_reset_while_sending_names_the_sending(processes, make_client):
    message, _ = failure(make_client(rude(processes, "reset-while-sending")), LONG)
    assert message.startswith("tagger request POST http://127.0.0.1:")
    assert "while sending the request: the connection was reset or closed (the server closed or reset it)" in message


def test_a_close_before_the_answer_names_the_wait(processes, make_client):
    message, _ = failure(make_client(rude(processes, "close-before-answer")), LONG[:1, :RATE])
    assert "while waiting for the answer: the connection was reset or closed before an answer came" in message


def test_a_reset_mid_answer_names_the_reading(processes, make_client):
    message, _ = failure(make_client(rude(processes, "reset-mid-answer")), LONG[:1, :RATE])
    assert "while reading the answer: the connection broke mid-answer" in message


def test_a_slow_answer_names_the_read_timeout(processes, make_client):
    url = start_server(processes, "oip", "--delay", "3")
    message, seconds = failure(make_client(url, protocol="oip", options=BINARY, read_timeout=0.5), LONG[:1, :RATE])
    assert "while waiting for the answer: timed out after read_timeout 0.5 s" in message
    assert seconds < 2.5


def test_a_full_listen_queue_names_the_connect_timeout(processes, make_client):
    url = rude(processes, "never-accept")
    message, seconds = failure(make_client(url, connect_timeout=1), LONG[:1, :RATE])
    assert message == f"could not reach the tagger at {url} while connecting: timed out after connect_timeout 1 s"
    assert 0.9 < seconds < 3


def test_a_refused_connection_names_the_connecting(make_client):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}/predict"  # bound, not listening: refused
        message, _ = failure(make_client(url), LONG[:1, :RATE])
    assert message == f"could not reach the tagger at {url} while connecting: connection refused"


def test_an_unknown_host_names_the_dns_lookup(make_client):
    url = "http://no-such-host.invalid/predict"
    message, _ = failure(make_client(url), LONG[:1, :RATE])
    assert message == f"could not reach the tagger at {url} while connecting: DNS name not resolved"


# -- PhaseTimeout ----------------------------------------------------------------------------------


def test_phase_timeout_keeps_the_send_timeout_through_urllib3s_clones():
    timeout = PhaseTimeout(connect=1, read=60, send=30)
    copy = timeout.clone().clone()
    assert (copy.connect_timeout, copy.read_timeout, copy.send) == (1, 60, 30)
    assert "send=30" in repr(copy)
    with pytest.raises(ValueError):
        PhaseTimeout(connect=1, read=60, send=-1)
