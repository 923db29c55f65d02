"""Putting explanation runs on RQ queues (used by the API, the workers and recovery).

Fair turns: every API key (owner) has a queue of its own, `{base}:{digest}`, named from a
digest of the owner id (never the key). Each queue is FIFO, so one key's runs start in the
order they were queued; workers take turns between the queues (RQ's round-robin dequeue),
so a key with a long backlog holds no other key's run back by more than one turn.
RQ records every queue it enqueues to in its own set of queues: that is how workers find
the queue of a key they have never seen (worker/rq_worker.py).
"""
from __future__ import annotations

import hashlib
import math

from redis import Redis
from rq import Queue
from rq.job import Callback

from engine.settings import DEFAULT_VERIFICATION_BUDGET

RUN = "worker.jobs.run_explanation"  # by dotted path: the API never imports the worker's code
ON_FAILURE = "worker.jobs.on_run_failure"
SEPARATION_ALLOWANCE = 120  # seconds: model load plus separation of a long clip on a slow CPU


def job_timeout(request: dict, duration_seconds: float, load_wait: float) -> int:
    """Seconds a run may take, from the job's size: every batch may use all its retries and timeouts,
    and the tagger may take `load_wait` seconds (Settings.tagger_load_wait) to load its model."""
    tagger = request["tagger"]
    sampling = request.get("sampling") or {}
    cap = sampling.get("max_samples") or request.get("samples") or 2048
    checks = request.get("self_check_k", 3)
    faithfulness = request.get("faithfulness") or {}
    per_tag = checks * (1 + int(bool(faithfulness.get("deletion"))) + 2 * faithfulness.get("random", 0))
    if checks:  # the two searches for verified parts (and, once, the baseline: within the slack)
        per_tag += 2 * (checks + (request.get("verification") or {}).get("budget", DEFAULT_VERIFICATION_BUDGET))
    targets = request.get("targets") or {}
    tags = len(targets.get("tags") or []) or targets.get("top_k", 1)
    unique = min(cap, 2 ** 20) + per_tag * tags
    batches = math.ceil(unique / tagger.get("batch_size", 16)) / tagger.get("concurrency", 2)
    sending = tagger.get("send_timeout") or tagger.get("read_timeout", 60)
    per_batch = (tagger.get("read_timeout", 60) + tagger.get("connect_timeout", 5) + sending) * 0.25
    estimate = SEPARATION_ALLOWANCE + load_wait + 4 * duration_seconds + batches * per_batch
    return int(min(max(estimate, 600), 24 * 3600))


class RunQueues:
    """Which queue an owner's runs go to, and every queue a worker should take runs from."""

    def __init__(self, connection: Redis, base: str, fair_turns: bool = True):
        self.connection, self.base, self.fair_turns = connection, base, fair_turns

    def for_owner(self, owner: str) -> Queue:
        if not self.fair_turns:  # one FIFO for every key (the baseline fair turns are measured against)
            return Queue(self.base, connection=self.connection)
        digest = hashlib.sha256(owner.encode()).hexdigest()[:16]
        return Queue(f"{self.base}:{digest}", connection=self.connection)

    def all(self, **queue_options) -> list[Queue]:
        """The base queue and every owner's queue RQ knows of (owners' in name order).
        The base queue stays in the list: runs queued before fair turns, or with them off, still run."""
        prefix = Queue.redis_queue_namespace_prefix + self.base + ":"
        keys = sorted(key.decode() for key in self.connection.smembers(Queue.redis_queues_keys))
        names = [key[len(Queue.redis_queue_namespace_prefix):] for key in keys
                 if key.startswith(prefix) and key.count(":") == prefix.count(":")]
        return [Queue(name, connection=self.connection, **queue_options) for name in [self.base, *names]]

    def waiting(self) -> int:
        """Runs waiting, over every queue."""
        return sum(len(queue) for queue in self.all())


def enqueue_run(queue: Queue, job_id: str, timeout: int) -> str:
    rq_job = queue.enqueue(RUN, job_id, job_timeout=timeout, result_ttl=600, failure_ttl=24 * 3600,
                           on_failure=Callback(ON_FAILURE), description=f"explanation {job_id}")
    return rq_job.id
