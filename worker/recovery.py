"""Nothing is left stuck: leases for running jobs, and a reaper that takes over lost ones.

A running job holds a lease key that its worker refreshes every few seconds. If
the worker dies (kill -9, OOM, machine lost) the lease expires, and any live
worker's reaper puts the job back on the queue; the next run resumes from the
checkpointed predictions. After `job_attempts` runs the job fails with a reason.
A Redis outage is not a death: workers wait for Redis, and reapers give them a
grace to renew their leases once it is back (`Settling`).
"""
from __future__ import annotations

import logging
import threading
import time

from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

from engine.errors import CancelledError
from backend.queueing import RunQueues, enqueue_run
from backend.store import Stage, Store

log = logging.getLogger(__name__)
ENQUEUE_GRACE_SECONDS = 60
PENDING = ("queued", "started", "deferred", "scheduled")  # RQ statuses of a run still to come
POP_GRACE_SECONDS = 2.0  # a run taken off its queue but not marked started after this was lost
WATCH_SECONDS = 0.25  # how soon a running job notices that it was cancelled
RUNNING_HERE: set[str] = set()  # jobs this process runs: its own reaper never takes them over


class LeaseKeeper:
    """While a job runs: refreshes its lease, and notices within WATCH_SECONDS that the
    job was cancelled, deleted or taken over, so every wait of the run (retry backoff,
    a tagger's Retry-After, answers in flight) ends at once instead of running its course.

    While Redis is away its checks simply wait (the connection rides out outages):
    an unreachable store is no evidence that the job was cancelled.
    """

    def __init__(self, store: Store, job_id: str, token: str, watch_seconds: float = WATCH_SECONDS):
        self.store, self.job_id, self.token = store, job_id, token
        self.watch_seconds = watch_seconds
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id[:8]}", daemon=True)

    def __enter__(self) -> "LeaseKeeper":
        RUNNING_HERE.add(self.job_id)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        RUNNING_HERE.discard(self.job_id)

    def keep_going(self) -> bool:
        return not self.lost.is_set()

    def wait(self, seconds: float) -> None:
        """Sleep for `seconds`, unless the job is lost first: then raise CancelledError at once."""
        if self.lost.wait(max(seconds, 0.0)):
            raise CancelledError("the explanation was cancelled, deleted or taken over")

    def _run(self) -> None:
        renew_every = max(self.store.lease_seconds / 3, 0.5)
        renewed = time.monotonic()
        while not self._stop.wait(self.watch_seconds):
            if not self.store.owns(self.job_id, self.token):
                self.lost.set()
                return
            if time.monotonic() - renewed >= renew_every:
                self.store.renew_lease(self.job_id, self.token)
                renewed = time.monotonic()


class Settling:
    """Leases say nothing while Redis was away: they expire during the outage (a restarted
    Redis replays their expiry times), though their workers are alive and waiting. So after
    an outage, seen by this reaper or told by Redis's uptime, judge no lease for a grace of
    two lease periods: every live worker renews its leases within one."""

    def __init__(self, lease_seconds: float, clock=time.monotonic):
        self.grace = 2.0 * lease_seconds
        self._clock = clock
        self._quiet_until = 0.0
        self._last_contact = None

    def settled(self, connection) -> bool:
        """Whether leases can be judged now; False during the grace after an outage."""
        before = self._clock()
        uptime = int(connection.info("server").get("uptime_in_seconds", 0))
        now = self._clock()
        cut_off = now - before > self.grace / 2 or (self._last_contact is not None
                                                    and now - self._last_contact > self.grace)
        if cut_off:  # this process waited for Redis: so, likely, did every worker
            self._quiet_until = now + self.grace
        if uptime < self.grace:  # Redis itself has just (re)started
            self._quiet_until = max(self._quiet_until, now + self.grace - uptime)
        self._last_contact = now
        return now >= self._quiet_until


def reap(store: Store, queues: RunQueues, max_attempts: int, running: frozenset[str] = frozenset()) -> list[str]:
    """Requeue (or fail) every job whose worker went silent; returns the ids acted on.
    Jobs this process is running (`running`) are alive by definition."""
    acted = []
    for job_id in store.active_jobs():
        if job_id in running:
            continue
        record = store.record(job_id)
        if record is None:
            store.forget_active(job_id)
            continue
        stage = Stage(record["stage"])
        lost = stage.running and not store.lease_alive(job_id)
        orphaned = stage is Stage.QUEUED and not _rq_job_pending(queues, record)
        if (lost or orphaned) and _claim(store, job_id):
            reason = "its worker stopped responding" if lost else "its queue entry was lost"
            if take_over(store, queues, record, reason, max_attempts, lease_lost=lost):
                acted.append(job_id)
    return acted


def take_over(store: Store, queues: RunQueues, record: dict, reason: str, max_attempts: int,
              lease_lost: bool = False) -> bool:
    """Requeue (or, after max_attempts, fail) a job as `record` saw it; nothing when it has moved
    on since (finished, renewed its lease, taken by another run): a reaper that read a running
    job just before it finished must not bring it back. Returns whether it acted."""
    job_id = record["id"]
    if record["attempts"] >= max_attempts:
        return store.seize(job_id, record, lease_lost, error={
            "title": "Worker lost", "detail": f"the job was run {record['attempts']} times and {reason} each time; "
            "giving up", "stage": record["stage"]})
    if not store.seize(job_id, record, lease_lost):
        return False
    log.warning("explanation %s: %s; putting it back on the queue", job_id, reason)
    timeout = int(record.get("timeout", 3600))
    queue = queues.for_owner(record["owner"])  # back in its key's queue: it waits its key's turn again
    # queued with no queue entry until here: if this process dies now, the next reaper finds it orphaned
    store.enqueued(job_id, enqueue_run(queue, job_id, timeout))
    return True


def _claim(store: Store, job_id: str) -> bool:
    """Only one reaper acts on a lost job, however many workers notice it."""
    return store.claim_reaping(job_id)


def _rq_job_pending(queues: RunQueues, record: dict) -> bool:
    rq_job_id = record.get("rq_job_id")
    if not rq_job_id:  # the API is enqueueing it right now, unless it died doing so
        return time.time() - record["created_at"] < ENQUEUE_GRACE_SECONDS
    try:
        rq_job = Job.fetch(rq_job_id, connection=queues.connection)
    except NoSuchJobError:
        return False
    status = rq_job.get_status()
    if status != "queued" or _on_its_queue(rq_job):
        return status in PENDING
    # Still "queued" but on no queue: a worker has taken it and marks it started within
    # milliseconds, unless it died in between. A worker taking turns between several
    # queues takes with LPOP (RQ keeps no intermediate copy then), so only this look
    # tells such a job from a lost one.
    time.sleep(POP_GRACE_SECONDS)
    return rq_job.get_status() in PENDING[1:] or _on_its_queue(rq_job)


def _on_its_queue(rq_job: Job) -> bool:
    """Whether the run waits on its queue, or on RQ's intermediate list of runs being taken."""
    key = Queue.redis_queue_namespace_prefix + rq_job.origin
    return any(rq_job.connection.lpos(k, rq_job.id) is not None for k in (key, key + ":intermediate"))
