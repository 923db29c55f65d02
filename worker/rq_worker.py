"""The RQ worker class for explanations: `rq worker -w worker.rq_worker.ExplanationWorker`.

A SimpleWorker runs jobs in its own process, so the Spleeter model and the
HTTP session, built once, serve every job (RQ's default worker spawns a new
interpreter per job). A background thread reaps jobs whose worker died.
"""
from __future__ import annotations

import logging
import threading

import redis
from rq.worker import SimpleWorker

from engine.errors import ExplanationError

from worker.context import WorkerContext
from worker.recovery import reap

log = logging.getLogger(__name__)


class ExplanationWorker(SimpleWorker):
    def work(self, *args, **kwargs):
        context = WorkerContext.current()
        self._preload(context)
        stop = threading.Event()
        reaper = threading.Thread(target=self._reap_forever, args=(context, stop), name="reaper", daemon=True)
        reaper.start()
        try:
            return super().work(*args, **kwargs)
        finally:
            stop.set()

    def _preload(self, context: WorkerContext) -> None:
        """Load models before taking jobs, so the first job does not pay for it."""
        for name in context.settings.preload_separators:
            try:
                context.separator(name).separator.load()
            except ExplanationError as exc:  # a worker without the model still serves `provided` stems
                log.warning("%s not preloaded: %s", name, exc)

    def _reap_forever(self, context: WorkerContext, stop: threading.Event) -> None:
        interval = max(context.settings.lease_seconds / 3, 1.0)
        while not stop.wait(interval):
            try:
                for job_id in reap(context.store, self.queues[0], context.settings.job_attempts):
                    log.warning("explanation %s taken over from a lost worker", job_id)
            except redis.RedisError as exc:  # Redis away for a moment: the next pass tries again
                log.warning("reaper pass failed (%s); retrying in %.0f s", exc, interval)
