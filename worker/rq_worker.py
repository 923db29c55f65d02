"""The RQ worker class for explanations: `rq worker -w worker.rq_worker.ExplanationWorker`.

A SimpleWorker runs jobs in its own process, so the Spleeter model and the
HTTP session, built once, serve every job (RQ's default worker spawns a new
interpreter per job). Background threads beat the worker's heartbeat (what
/healthz counts) and reap jobs whose worker died. Every Redis connection of the
process, RQ's own included, waits out Redis outages instead of dying of them.

Fair turns (backend/queueing.py): each API key has a queue of its own. An RQ worker
listens to a fixed list of queues, so before every take this one lists the queues RQ
knows (a key's first run creates its queue), keeps its own turn order over the ones it
had, and puts a key it has not seen yet first; RQ's round-robin strategy then sends the
queue it just took from to the back. An idle worker blocks on the queues it knows for at
most DISCOVERY_SECONDS, then looks again, so a new key waits at most that long for it.
"""
from __future__ import annotations

import logging
import threading
import time

import redis
from rq.worker import DequeueStrategy, SimpleWorker

from engine.errors import ExplanationError

from backend import separators
from backend.connection import ride_out_outages
from worker.context import WorkerContext
from worker.recovery import RUNNING_HERE, Settling, reap
from worker.redaction import install_log_redaction

log = logging.getLogger(__name__)
DISCOVERY_SECONDS = 1  # how long an idle worker blocks before it looks for new keys' queues


class ExplanationWorker(SimpleWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ride_out_outages(self.connection)  # the queues share this client: RQ's loop waits, never quits

    def work(self, *args, **kwargs):
        kwargs["dequeue_strategy"] = DequeueStrategy.ROUND_ROBIN  # turns between keys, whatever the CLI says
        install_log_redaction()
        context = WorkerContext.current()
        self._preload(context)
        stop = threading.Event()
        for target, name in ((self._beat_forever, "heartbeat"), (self._reap_forever, "reaper")):
            threading.Thread(target=target, args=(context, stop), name=name, daemon=True).start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()
            context.store.worker_gone(self.name)

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """The next run, in turns between keys; None once stopping, idle too long, or (burst) none waits."""
        if timeout is None:  # burst: one look over every key's queue
            self._listen_to_every_key()
            return super().dequeue_job_and_maintain_ttl(None, max_idle_time)
        idle_since = time.monotonic()
        while True:
            self._listen_to_every_key()
            taken = super().dequeue_job_and_maintain_ttl(DISCOVERY_SECONDS, DISCOVERY_SECONDS)
            if taken is not None or self._stop_requested:
                return taken
            if max_idle_time is not None and time.monotonic() - idle_since >= max_idle_time:
                return None

    def _listen_to_every_key(self) -> None:
        current = WorkerContext.current().queues.all(job_class=self.job_class, serializer=self.serializer)
        names = {queue.name for queue in current}
        kept = [queue for queue in self._ordered_queues if queue.name in names]  # in this worker's turn order
        known = {queue.name for queue in kept}
        self._ordered_queues = [queue for queue in current if queue.name not in known] + kept
        self.queues = current  # RQ's upkeep (abandoned runs, registries) covers every key's queue

    def _preload(self, context: WorkerContext) -> None:
        """Load models before taking jobs, so the first job does not pay for it."""
        for name in context.settings.preload_separators:
            missing = separators.kind(name).missing(context.settings)
            if missing:  # a worker without the model still serves the others
                log.warning("%s not preloaded: %s", name, missing)
                continue
            try:
                model = context.separator(name).separator
                getattr(model, "load", lambda: None)()  # what has a model to load loads it now
            except ExplanationError as exc:
                log.warning("%s not preloaded: %s", name, exc)

    def _beat_forever(self, context: WorkerContext, stop: threading.Event) -> None:
        """Liveness on a thread of its own: a long job or a slow reaper pass never delays it."""
        interval = max(context.settings.lease_seconds / 3, 0.5)
        while True:
            try:
                context.store.beat(self.name)
            except redis.RedisError as exc:  # e.g. Redis full: the next beat tries again
                log.warning("heartbeat failed (%s)", exc)
            if stop.wait(interval):
                return

    def _reap_forever(self, context: WorkerContext, stop: threading.Event) -> None:
        interval = max(context.settings.lease_seconds / 3, 1.0)
        settling = Settling(context.settings.lease_seconds)
        while not stop.wait(interval):
            try:
                if not settling.settled(context.redis):
                    continue
                for job_id in reap(context.store, context.queues, context.settings.job_attempts,
                                   frozenset(RUNNING_HERE)):
                    log.warning("explanation %s taken over from a lost worker", job_id)
            except redis.RedisError as exc:  # e.g. Redis full: the next pass tries again
                log.warning("reaper pass failed (%s); retrying in %.0f s", exc, interval)
