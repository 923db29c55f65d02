"""Which queue a key's runs go to, and which queues a worker finds, against the real Redis on a
spare database (AUDIOLIME_TEST_STORE_DB)."""
from __future__ import annotations

import os
import uuid

import pytest
import redis
from rq import Queue

from backend.queueing import RunQueues, enqueue_run, job_timeout

TEST_DB = int(os.environ.get("AUDIOLIME_TEST_STORE_DB", "15"))
OWNER, OTHER = "key:0123456789abcdef01234567", "key:fedcba9876543210fedcba98"


@pytest.fixture
def connection():
    client = redis.Redis(host="127.0.0.1", port=6379, db=TEST_DB)
    yield client


@pytest.fixture
def queues(connection):
    base = f"test-queueing-{uuid.uuid4().hex[:12]}"
    yield RunQueues(connection, base)
    for queue in RunQueues(connection, base).all():  # only this test's queues: the database may be shared
        queue.delete(delete_jobs=True)


def test_each_owner_has_a_queue_named_from_a_digest_never_the_owner_id(queues):
    mine, theirs = queues.for_owner(OWNER), queues.for_owner(OTHER)
    assert mine.name != theirs.name and mine.name == queues.for_owner(OWNER).name
    for name in (mine.name, theirs.name):
        assert name.startswith(queues.base + ":") and "0123456789abcdef" not in name and "fedcba" not in name


def test_a_worker_finds_the_base_queue_and_every_owners_queue_once_a_run_is_queued_there(queues):
    assert [queue.name for queue in queues.all()] == [queues.base]
    enqueue_run(queues.for_owner(OWNER), "job-1", 600)
    enqueue_run(queues.for_owner(OTHER), "job-2", 600)
    found = [queue.name for queue in queues.all()]
    assert found[0] == queues.base
    assert sorted(found[1:]) == sorted([queues.for_owner(OWNER).name, queues.for_owner(OTHER).name])
    assert queues.waiting() == 2


def test_queues_of_another_base_are_not_found(queues, connection):
    enqueue_run(queues.for_owner(OWNER), "job-1", 600)
    other = RunQueues(connection, queues.base + "-other")
    enqueue_run(other.for_owner(OWNER), "job-2", 600)
    try:
        assert [queue.name for queue in queues.all()] == [queues.base, queues.for_owner(OWNER).name]
    finally:
        for queue in other.all():
            queue.delete(delete_jobs=True)


def test_with_fair_turns_off_every_owner_shares_the_base_queue(connection, queues):
    fifo = RunQueues(connection, queues.base, fair_turns=False)
    assert fifo.for_owner(OWNER).name == fifo.for_owner(OTHER).name == queues.base
    assert isinstance(fifo.for_owner(OWNER), Queue)


def test_a_runs_time_limit_allows_for_the_whole_wait_for_the_taggers_model():
    request = {"tagger": {"url": "https://tagger.example/predict"}, "samples": 256}
    base = job_timeout(request, 30.0, load_wait=600.0)
    assert job_timeout(request, 30.0, load_wait=3600.0) == base + 3000
    assert job_timeout(request, 30.0, load_wait=10 ** 6) == 24 * 3600  # capped at a day
