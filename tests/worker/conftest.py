"""Fixtures shared by the tagger client and protocol tests: real servers, a guarded session, a fake sleep."""
import threading
import time

import pytest

from tests.integration.harness import Processes
from backend.tagger.netguard import NetworkPolicy, guarded_session
from backend.tagger.protocols import oip


class Recorder:
    """Stands in for time.sleep: keeps the delays the client asks for, and waits them if `real`."""

    def __init__(self, real: bool = False):
        self.delays: list[float] = []
        self.real = real
        self._lock = threading.Lock()  # concurrent requests retry from several threads

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.delays.append(seconds)
        if self.real:
            time.sleep(seconds)


@pytest.fixture
def processes(tmp_path):
    group = Processes(tmp_path)
    yield group
    group.stop_all()


@pytest.fixture
def session():
    session = guarded_session(NetworkPolicy.from_string("127.0.0.0/8"))
    yield session
    session.close()


@pytest.fixture
def sleep() -> Recorder:
    return Recorder()


@pytest.fixture(autouse=True)
def forget_oip_probes():
    """Each test starts with no remembered OIP probe: a port reused by a later test's server
    must not inherit what an earlier server answered."""
    oip.PROBED.clear()
    yield
    oip.PROBED.clear()
