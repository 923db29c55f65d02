"""Nothing is left stuck: leases for running jobs, and a reaper that takes over lost ones.

A running job holds a lease key that its worker refreshes every few seconds. If
the worker dies (kill -9, OOM, machine lost) the lease expires, and any live
worker's reaper puts the job back on the queue; the next run resumes from the
checkpointed predictions. After `job_attempts` runs the job fails with a reason.
"""
from __future__ import annotations

import logging
import threading
import time

from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

from worker.queueing import enqueue_run
from worker.store import Stage, Store

log = logging.getLogger(__name__)
ENQUEUE_GRACE_SECONDS = 60


class LeaseKeeper:
    """Refreshes a job's lease from a background thread while the job runs."""

    def __init__(self, store: Store, job_id: str, token: str):
        self.store, self.job_id, self.token = store, job_id, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id[:8]}", daemon=True)

    def __enter__(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        interval = max(self.store.lease_seconds / 3, 0.5)
        while not self._stop.wait(interval):
            if self.store.owns(self.job_id, self.token):
                self.store.renew_lease(self.job_id, self.token)


def reap(store: Store, queue: Queue, max_attempts: int) -> list[str]:
    """Requeue (or fail) every job whose worker went silent; returns the ids acted on."""
    acted = []
    for job_id in store.active_jobs():
        record = store.record(job_id)
        if record is None:
            store.redis.srem(store.active_key, job_id)
            continue
        stage = Stage(record["stage"])
        lost = stage.running and not store.lease_alive(job_id)
        orphaned = stage is Stage.QUEUED and not _rq_job_pending(queue, record)
        if (lost or orphaned) and _claim(store, job_id):
            reason = "its worker stopped responding" if lost else "its queue entry was lost"
            take_over(store, queue, record, reason, max_attempts)
            acted.append(job_id)
    return acted


def take_over(store: Store, queue: Queue, record: dict, reason: str, max_attempts: int) -> None:
    job_id = record["id"]
    if record["attempts"] >= max_attempts:
        store.fail(job_id, {"title": "Worker lost", "detail": f"the job was run {record['attempts']} times and "
                            f"{reason} each time; giving up", "stage": record["stage"]})
        return
    log.warning("explanation %s: %s; putting it back on the queue", job_id, reason)
    timeout = int(record.get("timeout", 3600))
    store.set_stage(job_id, Stage.QUEUED, rq_job_id=enqueue_run(queue, job_id, timeout), token="")


def _claim(store: Store, job_id: str) -> bool:
    """Only one reaper acts on a lost job, however many workers notice it."""
    return bool(store.redis.set(store.key(job_id, "reaping"), 1, nx=True, ex=store.lease_seconds))


def _rq_job_pending(queue: Queue, record: dict) -> bool:
    rq_job_id = record.get("rq_job_id")
    if not rq_job_id:  # the API is enqueueing it right now, unless it died doing so
        return time.time() - record["created_at"] < ENQUEUE_GRACE_SECONDS
    try:
        return Job.fetch(rq_job_id, connection=queue.connection).get_status() in ("queued", "started", "deferred", "scheduled")
    except NoSuchJobError:
        return False
