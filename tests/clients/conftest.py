"""One live stack for the client tests: real Redis (db 14), a real RQ worker process, the
reference tagger (a slow one, and one answering only the band tags) as real HTTP servers, and the API over HTTP with API keys on.

Built once per session, since a worker takes seconds to start; each test gets API keys of its
own, and jobs belong to their key, so listings never see another test's jobs.
"""
from __future__ import annotations

import itertools
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from audiolime_client import Client
from service import create_app
from tests.integration.conftest import redis_url  # noqa: F401 - the integration tests' Redis fixture, reused
from tests.integration.harness import Processes, ServedApp, TaggerServer, start_tagger, start_worker
from backend.config import Settings

API_KEYS = tuple(f"client-test-key-{n:03d}" for n in range(200))
BANDS = ("--labels", "low,mid,high")
SLOW_TAGGER_DELAY = "0.2"  # seconds per tagger request: jobs that run long enough to watch or cancel
CLI = Path(sys.executable).with_name("audiolime")


@dataclass
class Stack:
    base: str
    tagger: TaggerServer
    slow_tagger: TaggerServer
    bands_tagger: TaggerServer  # low, mid, high only: a band can be the top tag (the studies' known answer)
    settings: Settings
    keys: "itertools.count"

    def new_key(self) -> str:
        return API_KEYS[next(self.keys)]


@pytest.fixture(scope="session")
def stack(redis_url, tmp_path_factory):  # noqa: F811 - redis_url is the imported fixture
    prefix = f"c{uuid.uuid4().hex[:10]}"
    settings = Settings(redis_url=redis_url, key_prefix=prefix, queue_name=f"{prefix}-queue",
                        tagger_allowed_networks="127.0.0.0/8,::1/128", preload_separators=(), lease_seconds=3,
                        api_keys=API_KEYS)
    processes = Processes(tmp_path_factory.mktemp("client-stack"))
    server = None
    try:
        tagger = start_tagger(processes)
        slow = start_tagger(processes, "--delay", SLOW_TAGGER_DELAY)
        bands = start_tagger(processes, *BANDS)
        start_worker(processes, settings, f"{prefix}-w1")
        server = ServedApp(create_app(settings))
        yield Stack(server.base, tagger, slow, bands, settings, itertools.count())
    finally:
        if server is not None:
            server.close()
        processes.stop_all()


@pytest.fixture
def api_key(stack) -> str:
    return stack.new_key()


@pytest.fixture
def client(stack, api_key):
    with Client(stack.base, api_key, retries=2, backoff=0.1) as c:
        yield c


@pytest.fixture
def cli_env(stack, api_key) -> dict[str, str]:
    """The environment the `audiolime` command reads its service URL and key from."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDIOLIME_")}
    return dict(env, AUDIOLIME_URL=stack.base, AUDIOLIME_API_KEY=api_key)
