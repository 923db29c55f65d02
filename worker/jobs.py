"""The RQ job: one explanation run, stage by stage, resumable.

Every step is the engine's; this module adds what a service needs around them:
the job record's stages and progress, the Redis checkpoint of answered masks,
cancellation, leases and failure reports a user can act on.
"""
from __future__ import annotations

import logging
import time
import traceback
from dataclasses import replace

import numpy as np
import redis
from rq import get_current_job

from engine.codec import decode
from engine.errors import CancelledError, ExplanationError, TaggerError
from engine.explainer import Explainer
from engine.mixing import Mixers
from engine.pipeline import factorize
from engine.settings import ExplainSettings
from worker.answering import Answerer
from worker.reuse import answers_context
from backend.stems import flac_round_trip, sources_from_flac
from worker.context import WorkerContext
from backend.job_request import PROVIDED, settings_from_public
from worker.recovery import LeaseKeeper, take_over
from backend.samples import samples_npz
from worker.redaction import Redactor, header_secrets, redacting
from backend.store import Stage
from worker.tagger_client.client import CallStats, TaggerClient
from backend.tagger.spec import TaggerSpec

log = logging.getLogger(__name__)


def run_explanation(job_id: str) -> None:
    """RQ entry point (enqueued by dotted path)."""
    rq_job = get_current_job()
    ExplanationRun(WorkerContext.current(), job_id, rq_job.id if rq_job else "inline").run()


class RunCrashed(Exception):
    """An unexpected error of a run, its text redacted: RQ logs and stores what escapes a job."""


def on_run_failure(rq_job, connection, exc_type, exc_value, traceback) -> None:
    """RQ calls this when a run dies of something unexpected (timeout, crash, lost worker)."""
    context = WorkerContext.current()
    record = context.store.record(rq_job.args[0])
    if record is None or record.get("rq_job_id") != rq_job.id or Stage(record["stage"]).done:
        return  # an older run of a job that has moved on
    if exc_type.__name__ == "AbandonedJobError":
        take_over(context.store, context.queues, record, "its worker stopped responding",
                  context.settings.job_attempts)
        return
    context.store.fail(record["id"], {"title": "Internal error" if exc_type.__name__ != "JobTimeoutException"
                                      else "Timed out", "detail": f"{exc_type.__name__}: {exc_value}",
                                      "stage": record["stage"]})


class ExplanationRun:
    def __init__(self, context: WorkerContext, job_id: str, rq_job_id: str):
        self.context, self.store, self.job_id, self.rq_job_id = context, context.store, job_id, rq_job_id
        self.stats = CallStats()
        self._stage_started = time.monotonic()
        self._stage = Stage.QUEUED

    def run(self) -> None:
        token = self.store.start_attempt(self.job_id, self.rq_job_id)
        if token is None:
            log.info("explanation %s is gone or over; nothing to run", self.job_id)
            return
        self.token = token
        secret = self.store.secret(self.job_id)
        self.redactor = Redactor(header_secrets(secret.get("headers", {})))
        with redacting(self.redactor), LeaseKeeper(self.store, self.job_id, token) as self.lease:
            try:
                self._run(secret)
            except CancelledError:
                log.info("explanation %s cancelled or taken over; stopped", self.job_id)
            except ExplanationError as exc:
                self._fail(exc)
            except redis.OutOfMemoryError:
                self._fail_storage_full()
            except Exception as exc:
                self._escape(exc)
            finally:
                self._count_calls()

    def _run(self, secret: dict) -> None:
        record = self.store.record(self.job_id)
        request = record["request"]
        settings = self._named_as_heard(settings_from_public(request))
        spec = TaggerSpec.from_dict({**request["tagger"], **secret})
        waveform, sample_rate = decode(self.store.audio(self.job_id), self.context.settings.max_duration_seconds)
        self._enter(Stage.SEPARATING)
        sources = self._sources(request["separator"], waveform, sample_rate)
        factorization = factorize(waveform, sample_rate, sources, settings)
        mixers = Mixers(factorization.conform(spec.sample_rate, spec.channels))
        client = TaggerClient(spec, self.context.session, self.stats, sleep=self.lease.wait,
                              on_loading=self._waiting, load_wait=self.context.settings.tagger_load_wait)
        context = answers_context(factorization, spec, self.context.settings.reuse_secret)
        shared = self.store.answers_key(record["owner"], context) if context else None
        self.store.set_stage(self.job_id, Stage.SEPARATING, answers_key=shared)
        answerer = Answerer(self.store, self.job_id, self.token, shared, mixers, client, self.lease.keep_going,
                            self._enter_once, self._progress, reuse=request.get("reuse", True),
                            redactor=self.redactor)
        explainer = Explainer(factorization, settings)
        resumed, reused = answerer.preload(explainer)
        if resumed:
            log.info("explanation %s resumes: %d masks already answered", self.job_id, resumed)
        explanation = explainer.run(answerer)  # fitting happens between its rounds: no stage of its own
        used = explanation.stats["tagger_calls"] + explanation.stats["reused"]
        self._progress(used, used, explainer.confidence, explainer.settled)
        explanation.stats["tagger"] = self.stats.report()
        explanation.stats["reuse"] = answerer.report.to_dict()
        explanation.provenance = {"separator": self._model_id(request["separator"]),
                                  "tagger_labels": list(explainer.labels), "tagger_url": spec.url,
                                  "tagger_protocol": spec.protocol}
        result = self.redactor.data(explanation.to_dict())
        self._enter(Stage.FINISHED)
        self._guard()
        self.store.finish(self.job_id, result, samples_npz(explainer.samples()))

    def _named_as_heard(self, settings: ExplainSettings) -> ExplainSettings:
        """The tags asked for, redacted as the tagger's labels are when they arrive (a header value
        may be part of a tag's name), so that they are found among them."""
        return replace(settings, tags=tuple(self.redactor.text(tag) for tag in settings.tags))

    def _waiting(self, status: str | None) -> None:
        """What the job waits for, shown in its status (the tagger loading its model); None: nothing."""
        self.store.set_stage(self.job_id, self._stage, waiting=status or "")

    def _enter_once(self, stage: Stage) -> None:
        if stage is not self._stage:
            self._enter(stage)

    # -- stages ---------------------------------------------------------------------
    def _enter(self, stage: Stage) -> None:
        """Move to the next stage, accounting the time spent in the previous one."""
        self._guard()
        now = time.monotonic()
        if self._stage.running:
            self.store.count_stage(self._stage, now - self._stage_started)
        self._stage, self._stage_started = stage, now
        if not stage.done:
            self.store.set_stage(self.job_id, stage)

    def _progress(self, done: int, total: int, confidence: float | None = None, settled: int | None = None) -> None:
        """Progress in the job record (what the API reports) and in the RQ job's meta (for RQ tools)."""
        self.store.set_progress(self.job_id, done, total, confidence, settled)
        rq_job = get_current_job()
        if rq_job is not None:
            rq_job.meta.update(stage=self._stage.value, done=done, total=total, confidence=confidence,
                               settled=settled)
            rq_job.save_meta()

    def _guard(self) -> None:
        if not self.lease.keep_going() or not self.store.owns(self.job_id, self.token):
            raise CancelledError("the explanation was cancelled, deleted or taken over")

    def _sources(self, separator: str, waveform: np.ndarray, sample_rate: int):
        stored = self.store.stems(self.job_id)
        if stored:  # provided by the user, or separated by an earlier run of this job
            return sources_from_flac(stored)
        sources, stems = flac_round_trip(self.context.separator(separator).separate(waveform, sample_rate))
        if not self.store.save_stems(self.job_id, self.token, stems):
            raise CancelledError("the explanation was cancelled during separation")
        return sources

    def _model_id(self, separator: str) -> str:
        return PROVIDED if separator == PROVIDED else self.context.separator(separator).model_id

    # -- endings ------------------------------------------------------------------------
    def _fail(self, exc: ExplanationError) -> None:
        error = {"title": exc.title, "detail": self.redactor.text(str(exc)), "stage": self._stage.value}
        if isinstance(exc, TaggerError):
            error.update({k: v for k, v in (("http_status", exc.http_status), ("attempts", exc.attempts),
                                             ("batch", exc.batch)) if v is not None})
        log.warning("explanation %s failed at %s: %s", self.job_id, self._stage.value, error["title"])
        if self.store.owns(self.job_id, self.token):
            self.store.fail(self.job_id, error)

    def _fail_storage_full(self) -> None:
        """Redis refuses writes (maxmemory, noeviction): say so, rather than crash the run."""
        log.warning("explanation %s failed at %s: the job store is full", self.job_id, self._stage.value)
        if self.store.owns(self.job_id, self.token):
            self.store.fail(self.job_id, {"title": "Storage full", "stage": self._stage.value,
                                          "detail": "the service's job store (Redis) is full, so this "
                                                    "explanation could not be kept; submit it again later"})

    def _escape(self, exc: Exception) -> None:
        """Let RQ see the crash (on_run_failure records it), with no secret in its text."""
        text = "".join(traceback.format_exception(exc))
        if self.redactor and self.redactor.text(text) != text:
            raise RunCrashed(self.redactor.text(f"{type(exc).__name__}: {exc}")) from None
        raise exc

    def _count_calls(self) -> None:
        self.store.count_tagger(self.stats.to_dict())
