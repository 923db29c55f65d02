"""A reaper acts only on the job as it saw it (real Redis, spare database AUDIOLIME_TEST_STORE_DB):
a job that finished, or was taken by another run, between the reaper's look and its act is left
alone — a finished job is never put back on the queue (seen under load: a reaper read a running
job, its run finished and dropped the lease, and the reaper took the missing lease for a lost
worker and ran the job again)."""
from __future__ import annotations

import os
import uuid

import pytest
import redis

from backend.queueing import RunQueues
from backend.stages import Stage
from backend.store import Store
from worker.recovery import reap, take_over

TEST_DB = int(os.environ.get("AUDIOLIME_TEST_STORE_DB", "15"))
OWNER = "key:0123456789abcdef01234567"


@pytest.fixture
def connection():
    yield redis.Redis(host="127.0.0.1", port=6379, db=TEST_DB)


@pytest.fixture
def store(connection):
    store = Store(connection, prefix=f"test-takeover-{uuid.uuid4().hex[:12]}", ttl=600, lease_seconds=15)
    yield store
    keys = list(connection.scan_iter(match=f"{store.prefix}:*"))
    if keys:
        connection.delete(*keys)


@pytest.fixture
def queues(connection):
    base = f"test-takeover-{uuid.uuid4().hex[:12]}"
    yield RunQueues(connection, base)
    for queue in RunQueues(connection, base).all():
        queue.delete(delete_jobs=True)


def running_job(store: Store) -> str:
    job_id = store.create(OWNER, {"tagger": {"url": "http://127.0.0.1:9/predict"}}, b"audio", {}, None, timeout=900)
    token = store.start_attempt(job_id, "rq-1")
    store.set_stage(job_id, Stage.QUERYING)
    assert store.owns(job_id, token)
    return job_id


def queued_runs(queues: RunQueues) -> int:
    return sum(queue.count for queue in queues.all())


def test_a_job_that_finished_after_the_reaper_looked_is_not_requeued(store, queues):
    job_id = running_job(store)
    seen = store.record(job_id)  # the reaper's look: running
    store.finish(job_id, {"answer": 1})  # then the run finishes, and its lease goes with it
    assert not store.lease_alive(job_id)
    assert not take_over(store, queues, seen, "its worker stopped responding", 3, lease_lost=True)
    record = store.record(job_id)
    assert record["stage"] == Stage.FINISHED.value and record["attempts"] == 1
    assert store.result(job_id) == {"answer": 1} and queued_runs(queues) == 0


def test_a_job_that_finished_after_the_reaper_looked_is_not_failed_at_its_last_attempt(store, queues):
    job_id = running_job(store)
    seen = store.record(job_id)
    store.finish(job_id, {"answer": 1})
    assert not take_over(store, queues, seen, "its worker stopped responding", 1, lease_lost=True)
    assert store.record(job_id)["stage"] == Stage.FINISHED.value and not store.record(job_id).get("error")


def test_a_job_another_run_took_meanwhile_is_left_to_it(store, queues):
    job_id = running_job(store)
    seen = store.record(job_id)
    store.redis.delete(store.key(job_id, "lease"))
    token = store.start_attempt(job_id, "rq-2")  # another attempt took it (and holds a lease)
    store.redis.delete(store.key(job_id, "lease"))  # even with its lease lapsed, the token moved on
    assert not take_over(store, queues, seen, "its worker stopped responding", 3, lease_lost=True)
    assert store.owns(job_id, token) and queued_runs(queues) == 0


def test_a_lost_job_is_requeued_once_and_its_run_can_no_longer_write(store, queues):
    job_id = running_job(store)
    token = store.record(job_id)["token"]
    store.redis.delete(store.key(job_id, "lease"))  # its worker went silent
    assert reap(store, queues, max_attempts=3) == [job_id]
    record = store.record(job_id)
    assert record["stage"] == Stage.QUEUED.value and record["rq_job_id"] and queued_runs(queues) == 1
    assert not store.owns(job_id, token)
    assert reap(store, queues, max_attempts=3) == []  # queued with its queue entry: nothing more to do


def test_a_lost_job_at_its_last_attempt_fails_with_the_reason(store, queues):
    job_id = running_job(store)
    store.redis.delete(store.key(job_id, "lease"))
    assert reap(store, queues, max_attempts=1) == [job_id]
    record = store.record(job_id)
    assert record["stage"] == Stage.FAILED.value and "stopped responding" in record["error"]["detail"]
    assert job_id not in store.active_jobs() and queued_runs(queues) == 0


def test_a_run_that_finishes_after_its_job_was_seized_keeps_its_end(store, queues):
    job_id = running_job(store)
    seen = store.record(job_id)
    store.redis.delete(store.key(job_id, "lease"))  # its worker was too slow to renew
    assert store.seize(job_id, seen, lease_lost=True)
    store.finish(job_id, {"answer": 1})  # its run had passed its last ownership check already
    assert not store.enqueued(job_id, "rq-late")  # the reaper's queue entry is not recorded over the end
    record = store.record(job_id)
    assert record["stage"] == Stage.FINISHED.value and record["rq_job_id"] == ""
    assert store.result(job_id) == {"answer": 1}
