"""Property-based tests of the whole HTTP API against openapi.yaml, with schemathesis.

Every operation in the spec gets generated requests (positive and negative; schemathesis's
coverage and fuzzing phases, plus requests with HTTP methods the spec does not list), sent over
real HTTP to the real app: `service.create_app` in a werkzeug server on a loopback port, with
real Redis. Every response must pass these checks:

- `not_a_server_error`: no 5xx. The one exception is GET /healthz: with no worker running, its
  documented answer is 503 `degraded`. There the test asserts that exact answer instead.
- `status_code_conformance`, `content_type_conformance` and `response_schema_conformance`: the
  status, media type and body must be the ones openapi.yaml documents for the operation.

Generated input seldom reaches the interesting code, so each generated case is also sent in
a few derived forms (`_derived`):

- Operations on one job: generated ids almost never exist. A few real jobs are seeded first
  (two queued jobs with provided stems and one cancelled job). Each case is sent again once
  per seeded id, and for sources also with a stem name the job really has. GET and DELETE
  on `/explanations/{id}`, sources, components and the explanation audio therefore also run
  on existing jobs.
- POST /explanations: the generated `request` part almost always fails first (typically an
  empty tagger URL). So each case is also sent with the tagger URL replaced by a loopback
  one, which lets the other generated settings and the random audio through to validation.
  It is also sent with valid settings and the generated audio; with valid settings and valid
  audio plus the generated parts as `stem.*` files; and with valid stems under the generated
  part names. Random bytes as audio or stems must give 4xx problem+json, never 5xx.

Nothing generated can reach a tagger:
- No worker runs, so nothing that gets queued is ever executed.
- Submission only resolves the tagger host. The test settings refuse non-public addresses
  other than loopback.
- Here that resolution stays off the network (`offline_dns`): host names fail to resolve,
  and IP literals resolve as usual.
- The seeded jobs name a loopback port that nothing listens on.

The run is bounded: MAX_EXAMPLES per operation in the fuzzing phase, no shrinking, no example
database. It is also deterministic: derandomized Hypothesis and a fixed seed.
"""
from __future__ import annotations

import copy
import json
import socket
import types

import hypothesis
import numpy as np
import pytest
import redis
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.transport.serialization import Binary

from tests.integration.harness import ROOT, Api, wav_bytes
from backend.tagger import netguard

MAX_EXAMPLES = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

SCHEMA = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=schemathesis.Config.from_dict({
    "seed": 20240611,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "no-shrink": True, "database": "none"},
}))

RATE, SECONDS = 8000, 1.0
TAGGER_URL = "http://127.0.0.1:9/predict"  # loopback, allowed by the test settings; nothing listens, no worker runs


# -- valid input and seeded jobs ---------------------------------------------------------------

def _stems() -> dict[str, np.ndarray]:
    t = np.arange(int(SECONDS * RATE)) / RATE
    stems = {"low": 0.3 * np.sin(2 * np.pi * 110 * t), "high": 0.2 * np.sin(2 * np.pi * 2000 * t)}
    return {name: w.astype(np.float32)[:, None] for name, w in stems.items()}


def _valid_audio() -> bytes:
    return wav_bytes(sum(_stems().values()), RATE)


def _valid_request() -> dict:
    return {"tagger": {"url": TAGGER_URL, "sample_rate": RATE}, "separator": "provided", "segments": 2,
            "samples": 64, "targets": {"top_k": 1}}


@pytest.fixture
def seeded(served) -> dict[str, list[str]]:
    """Real jobs, mapped to the stem names a listener could ask for: two queued, one cancelled."""
    api = Api(served.base)

    def submit() -> str:
        stems = {name: wav_bytes(w, RATE) for name, w in _stems().items()}
        response = api.submit(_valid_audio(), _valid_request(), stems)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    jobs = {submit(): sorted(_stems()) for _ in range(2)}
    cancelled = submit()
    assert api.call("DELETE", f"/explanations/{cancelled}").status_code == 204
    assert api.call("GET", f"/explanations/{cancelled}").json()["stage"] == "cancelled"
    jobs[cancelled] = sorted(_stems())  # deleted with the job's data: asking for one must be a 404
    return jobs


# -- no DNS --------------------------------------------------------------------------------------

@pytest.fixture
def offline_dns(monkeypatch):
    """The tagger host check resolves IP literals only, so no generated host name reaches a resolver.
    (Only `netguard` sees this; Redis and the HTTP client resolve as usual.)"""
    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 - socket's own names
        return socket.getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

    offline = types.SimpleNamespace(**{n: getattr(socket, n) for n in dir(socket) if not n.startswith("__")})
    offline.getaddrinfo = getaddrinfo
    monkeypatch.setattr(netguard, "socket", offline)


@pytest.fixture
def only_loopback_jobs(settings):
    """After the run: every job that was accepted names the loopback tagger (and none has started)."""
    yield
    connection = redis.Redis.from_url(settings.redis_url)
    for key in connection.scan_iter(f"{settings.key_prefix}:job:*"):
        raw = connection.hget(key, "request") if connection.type(key) == b"hash" else None
        if raw is not None:
            assert json.loads(raw)["tagger"]["url"] == TAGGER_URL, key
            assert connection.hget(key, "stage") in (b"queued", b"cancelled"), key


# -- derived cases -------------------------------------------------------------------------------

def _copy_body(body):
    """A copy safe to send: serializing a multipart body rewrites its dict in place."""
    if not isinstance(body, dict):
        return copy.deepcopy(body)
    return {name: value if isinstance(value, (Binary, bytes)) else copy.deepcopy(value) for name, value in body.items()}


def _like(case, **changes):
    """A new case: `case` with some parts replaced."""
    parts = {"method": case.method, "path_parameters": dict(case.path_parameters), "headers": dict(case.headers),
             "cookies": dict(case.cookies), "query": dict(case.query), "body": case.body,
             "media_type": case.media_type, "multipart_content_types": case.multipart_content_types}
    parts.update(changes)
    return case.operation.Case(**parts)


def _derived(case, body, seeded: dict[str, list[str]]):
    """Variants of a generated case that reach past the first check (see the module docstring).
    `body` is a copy of the case's body taken before the case was sent."""
    if case.method.upper() != case.operation.method.upper():
        return  # a method the spec does not list: the generated case alone says what is needed
    if "id" in case.path_parameters:
        for job_id, stems in seeded.items():
            yield _like(case, path_parameters={**case.path_parameters, "id": job_id})
            if "name" in case.path_parameters:
                for stem in stems:
                    yield _like(case, path_parameters={**case.path_parameters, "id": job_id, "name": stem})
    if case.operation.label == "POST /explanations" and isinstance(body, dict):
        request = body.get("request")
        if isinstance(request, dict) and isinstance(request.get("tagger"), dict):
            loopback = {**request, "tagger": {**request["tagger"], "url": TAGGER_URL}}
            yield _like(case, body={**_copy_body(body), "request": loopback})
        if "audio" in body:
            yield _like(case, body={**_copy_body(body), "request": _valid_request()})
        # Extra parts become stems. A one-element list makes schemathesis send a part with a filename:
        # it sends a lone extra part as a plain form field, and the service reads stems from files only.
        extra = {name: value for name, value in body.items() if name not in ("audio", "request")}
        valid = {"audio": _valid_audio(), "request": _valid_request()}
        if extra or "audio" in body:
            stems = {f"stem.{name}": [value] for name, value in (extra or {"generated": body["audio"]}).items()}
            yield _like(case, body={**valid, **stems})
        if extra:  # valid stems under the generated names: accepted (202) unless a limit or a name says no
            tone = wav_bytes(next(iter(_stems().values())), RATE)
            yield _like(case, body={**valid, **{f"stem.{name}": [tone] for name in extra}})


def _send(case, served) -> None:
    if case.operation.label == "GET /healthz" and case.method.upper() == "GET":
        # No worker runs here, so the documented answer is 503 `degraded`. Accept exactly that.
        response = case.call_and_validate(base_url=served.base, checks=CHECKS[1:], timeout=30)
        body = response.json()
        degraded = body["status"] == "degraded" and body["checks"]["redis"] == "ok" and body["checks"]["workers"] == 0
        assert response.status_code == 503 and degraded, body
        return
    case.call_and_validate(base_url=served.base, checks=CHECKS, timeout=30)


@SCHEMA.parametrize()
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])  # one server per operation
def test_api_conforms_to_openapi(case, served, seeded, offline_dns, only_loopback_jobs):
    body = _copy_body(case.body)
    derived = list(_derived(case, body, seeded))
    _send(case, served)
    for variant in derived:
        _send(variant, served)
