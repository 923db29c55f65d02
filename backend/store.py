"""The one place that knows how explanations are laid out in Redis.

Per job (all expire with the job's TTL):
  {p}:job:{id}              hash   record: owner, stage, progress, timestamps, error, attempt token…
  {p}:job:{id}:secret       string tagger headers (auth); deleted as soon as the job ends
  {p}:job:{id}:audio        string the uploaded file, as sent
  {p}:job:{id}:stems        hash   source name → FLAC
  {p}:job:{id}:predictions  hash   mask key → scores (float64 bytes), "labels"; the resume checkpoint
  {p}:job:{id}:samples      string the masks, counts and scores the explanation was fitted on (NPZ)
  {p}:job:{id}:result       string the explanation, JSON
  {p}:job:{id}:lease        string the running worker's token; short TTL, refreshed while it works
  {p}:job:{id}:reaping      string one reaper's claim on a lost job (a lease long)
Across jobs:
  {p}:owner:{owner}:jobs    zset   job ids by creation time (listing)
  {p}:owner:{owner}:active  set    the owner's jobs queued or running (quota)
  {p}:owner:{owner}:bytes   hash   job id → bytes its audio, stems and result keep (quota)
  {p}:owner:{owner}:answers:{context}  hash  mask key → scores, "labels": every answer the owner's jobs
                                   got for one context (audio, components, tagger and a keyed digest of
                                   its headers); later jobs reuse them once a few, asked again, agree
  {p}:active                set    jobs queued or running (for the reaper and the metrics)
  {p}:metrics               hash   counters for /metrics
  {p}:workers               zset   live workers: name → when its heartbeat lapses (Redis clock)
  {p}:separations:{key}     hash   cached stems of one (audio, model), FLAC
Per study (expire with the study's TTL; its jobs are ordinary jobs, above, of the same owner):
  {p}:study:{id}            hash   record: owner, created_at, expires_at, request, clips (names), explanations
                                   and comparisons (job ids, one per clip; comparisons [] or one per clip),
                                   creating (while its jobs are being created); once every job has ended:
                                   status, finished_at, progress, outcome (each clip's status and error)
  {p}:study:{id}:report     string the report (backend.study_report), JSON; written once, when the study ends
Across studies:
  {p}:owner:{owner}:studies         zset  study ids by creation time (listing)
  {p}:owner:{owner}:studies:active  set   the owner's studies with a job queued or running (quota)
"""
from __future__ import annotations

import json
import time
import uuid

import numpy as np
import redis

from backend import redis_scripts
from backend.monitoring import Monitoring
from backend.stages import Stage
from backend.study_records import StudyRecords
from backend.quotas import ADMIT_REFUSED_ACTIVE, Quota, active_quota_error, bytes_quota_error, check_room

class Store(Monitoring, StudyRecords):
    def __init__(self, connection: redis.Redis, prefix: str, ttl: int, lease_seconds: int = 15):
        self.redis = connection
        self.prefix = prefix
        self.ttl = ttl
        self.lease_seconds = lease_seconds
        self._hset_if_exists = connection.register_script(redis_scripts.HSET_IF_EXISTS)
        self._hset_if_owner = connection.register_script(redis_scripts.HSET_IF_OWNER)
        self._hset_all_if_owner = connection.register_script(redis_scripts.HSET_ALL_IF_OWNER)
        self._admit = connection.register_script(redis_scripts.ADMIT)
        self._beat = connection.register_script(redis_scripts.BEAT)
        self._live = connection.register_script(redis_scripts.LIVE)
        self._admit_study = connection.register_script(redis_scripts.ADMIT_STUDY)
        self._end_study = connection.register_script(redis_scripts.END_STUDY)

    # -- keys ---------------------------------------------------------------
    def key(self, job_id: str, part: str | None = None) -> str:
        return f"{self.prefix}:job:{job_id}" + (f":{part}" if part else "")

    def owner_key(self, owner: str, part: str = "jobs") -> str:
        return f"{self.prefix}:owner:{owner}:{part}"

    @property
    def active_key(self) -> str:
        return f"{self.prefix}:active"

    @property
    def workers_key(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def metrics_key(self) -> str:
        return f"{self.prefix}:metrics"

    def separation_key(self, cache_key: str) -> str:
        return f"{self.prefix}:separations:{cache_key}"

    # -- the separation cache ------------------------------------------------------
    def separation(self, cache_key: str) -> tuple[dict[str, bytes], int] | None:
        """Cached stems of one (audio, separator) as FLAC by source, and their sample rate."""
        raw = self.redis.hgetall(self.separation_key(cache_key))
        if not raw:
            return None
        rate = int(raw.pop(b"sample_rate"))
        return {k.decode(): v for k, v in raw.items()}, rate

    def save_separation(self, cache_key: str, stems: dict[str, bytes], sample_rate: int, ttl: int) -> None:
        key = self.separation_key(cache_key)
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping={"sample_rate": sample_rate, **stems})
            pipe.expire(key, ttl)
            pipe.execute()

    # -- creation and reading ----------------------------------------------------
    def create(self, owner: str, request: dict, audio: bytes, stems: dict[str, bytes],
               secret: dict | None, timeout: int, quota: Quota | None = None, job_id: str | None = None) -> str:
        """Store a new job, if its owner's quota and the store's room allow (QuotaExceeded,
        StorageFull otherwise; nothing is written then). A study names its jobs' ids beforehand."""
        quota = quota or Quota()
        size = len(audio) + sum(map(len, stems.values()))
        check_room(self.redis, size)
        job_id = job_id or new_id()
        now = time.time()
        record = {"id": job_id, "owner": owner, "stage": Stage.QUEUED.value, "created_at": now,
                  "request": json.dumps(request), "done": 0, "total": 0, "attempts": 0,
                  "expires_at": now + self.ttl, "timeout": timeout}
        keys = [self.key(job_id), self.owner_key(owner, "active"), self.owner_key(owner, "bytes"),
                self.owner_key(owner), self.active_key, self.metrics_key]
        active = -1 if quota.active_jobs is None else quota.active_jobs  # -1: a study's job, not counted
        args = [job_id, self.key(""), active, quota.stored_bytes, size, self.ttl, now]
        refused, amount = self._admit(keys=keys, args=args + [x for item in record.items() for x in item])
        if refused == ADMIT_REFUSED_ACTIVE:
            raise active_quota_error(int(amount))
        if refused:
            oldest = self.redis.zrange(self.owner_key(owner), 0, 0, withscores=True)
            expires = oldest[0][1] + self.ttl if oldest else None
            raise bytes_quota_error(int(amount), size, quota.stored_bytes, expires)
        try:
            self._store_data(job_id, audio, stems, secret)
        except redis.RedisError:
            self._discard(job_id, owner)  # a job without its audio would fail later: none at all
            raise
        return job_id

    def _store_data(self, job_id: str, audio: bytes, stems: dict[str, bytes], secret: dict | None) -> None:
        with self.redis.pipeline() as pipe:
            pipe.set(self.key(job_id, "audio"), audio, ex=self.ttl)
            if stems:
                pipe.hset(self.key(job_id, "stems"), mapping=stems)
                pipe.expire(self.key(job_id, "stems"), self.ttl)
            if secret:
                pipe.set(self.key(job_id, "secret"), json.dumps(secret), ex=self.ttl)
            pipe.execute()

    def _discard(self, job_id: str, owner: str, pipe=None) -> None:
        """Take back a job that was never queued: as if it had not been created."""
        batch = pipe if pipe is not None else self.redis.pipeline()
        batch.delete(*(self.key(job_id, part) for part in (None, "audio", "stems", "secret")))
        batch.srem(self.owner_key(owner, "active"), job_id)
        batch.hdel(self.owner_key(owner, "bytes"), job_id)
        batch.zrem(self.owner_key(owner), job_id)
        batch.srem(self.active_key, job_id)
        if pipe is None:
            batch.execute()

    def record(self, job_id: str) -> dict | None:
        raw = self.redis.hgetall(self.key(job_id))
        if not raw:
            return None
        record = {k.decode(): v.decode() for k, v in raw.items()}
        for name in ("created_at", "started_at", "finished_at", "expires_at"):
            if name in record:
                record[name] = float(record[name])
        for name in ("done", "total", "attempts", "timeout"):
            record[name] = int(record.get(name, 0))
        if "confidence" in record:
            record["confidence"] = float(record["confidence"])
        if "settled" in record:
            record["settled"] = int(record["settled"])
        record["request"] = json.loads(record["request"])
        record["error"] = json.loads(record["error"]) if "error" in record else None
        return record

    def owned_record(self, job_id: str, owner: str) -> dict | None:
        """The record if it exists and belongs to `owner` (anything else looks like absence)."""
        record = self.record(job_id)
        return record if record and record["owner"] == owner else None

    def list_jobs(self, owner: str, offset: int, limit: int) -> tuple[list[dict], int]:
        ids = [i.decode() for i in self.redis.zrevrange(self.owner_key(owner), offset, offset + limit - 1)]
        records = [self.record(i) for i in ids]
        stale = [i for i, r in zip(ids, records) if r is None]
        if stale:
            self.redis.zrem(self.owner_key(owner), *stale)
        return [r for r in records if r], self.redis.zcard(self.owner_key(owner))

    def audio(self, job_id: str) -> bytes | None:
        return self.redis.get(self.key(job_id, "audio"))

    def secret(self, job_id: str) -> dict:
        raw = self.redis.get(self.key(job_id, "secret"))
        return json.loads(raw) if raw else {}

    def stems(self, job_id: str) -> dict[str, bytes]:
        return {k.decode(): v for k, v in self.redis.hgetall(self.key(job_id, "stems")).items()}

    def stem(self, job_id: str, name: str) -> bytes | None:
        return self.redis.hget(self.key(job_id, "stems"), name)

    def result(self, job_id: str) -> dict | None:
        raw = self.redis.get(self.key(job_id, "result"))
        return json.loads(raw) if raw else None

    # -- running -------------------------------------------------------------------
    def start_attempt(self, job_id: str, rq_job_id: str) -> str | None:
        """Claim the job for one run; returns the attempt token (None if the job is gone or over)."""
        record = self.record(job_id)
        if record is None or Stage(record["stage"]).done:
            return None
        token = new_id()
        self._update(job_id, {"token": token, "rq_job_id": rq_job_id, "attempts": record["attempts"] + 1,
                              "started_at": record.get("started_at", time.time())})
        self.renew_lease(job_id, token)
        return token

    def renew_lease(self, job_id: str, token: str) -> None:
        self.redis.set(self.key(job_id, "lease"), token, ex=self.lease_seconds)

    def lease_alive(self, job_id: str) -> bool:
        return bool(self.redis.exists(self.key(job_id, "lease")))

    def owns(self, job_id: str, token: str) -> bool:
        """Whether this run still owns the job (not cancelled, deleted or taken over)."""
        values = self.redis.hmget(self.key(job_id), "token", "stage")
        return values[0] is not None and values[0].decode() == token and not Stage(values[1].decode()).done

    def set_stage(self, job_id: str, stage: Stage, **fields) -> None:
        self._update(job_id, {"stage": stage.value, **{k: v for k, v in fields.items() if v is not None}})

    def set_progress(self, job_id: str, done: int, total: int, confidence: float | None = None,
                     settled: int | None = None) -> None:
        fields = {"done": done, "total": total}
        if confidence is not None:
            fields["confidence"] = confidence
        if settled is not None:
            fields["settled"] = settled
        self._update(job_id, fields)

    def _update(self, job_id: str, mapping: dict, pipe=None) -> None:
        self._hset_if_exists(keys=[self.key(job_id)], args=[x for item in mapping.items() for x in item],
                             client=pipe or self.redis)

    def save_stems(self, job_id: str, token: str, stems: dict[str, bytes]) -> bool:
        saved = self._owned_hset(job_id, token, "stems", stems)
        if saved:
            self._count_bytes(job_id, sum(map(len, stems.values())))
        return saved

    def _count_bytes(self, job_id: str, size: int) -> None:
        owner = self._owner(job_id)
        if owner is not None:
            self.redis.hincrby(self.owner_key(owner, "bytes"), job_id, size)

    def _owner(self, job_id: str) -> str | None:
        owner = self.redis.hget(self.key(job_id), "owner")
        return owner.decode() if owner is not None else None

    def _owned_hset(self, job_id: str, token: str, part: str, mapping: dict) -> bool:
        args = [token, self.ttl] + [x for item in mapping.items() for x in item]
        return bool(self._hset_if_owner(keys=[self.key(job_id), self.key(job_id, part)], args=args))

    def answers_key(self, owner: str, context: str) -> str:
        return self.owner_key(owner, f"answers:{context}")

    def save_answers(self, job_id: str, token: str, shared: str | None, keys: list[bytes], scores: np.ndarray,
                     labels: tuple[str, ...]) -> bool:
        """Checkpoint answered masks (a retry resumes instead of asking again), and add them to the
        owner's shared answers for the same context (`shared`, a key from `answers_key`)."""
        mapping = {"labels": json.dumps(list(labels))}
        mapping.update((key, np.asarray(row, dtype="<f8").tobytes()) for key, row in zip(keys, scores))
        targets = [self.key(job_id, "predictions")] + ([shared] if shared else [])
        args = [token, self.ttl] + [x for item in mapping.items() for x in item]
        return bool(self._hset_all_if_owner(keys=[self.key(job_id)] + targets, args=args))

    def load_answers(self, key: str) -> tuple[dict[bytes, np.ndarray], tuple[str, ...] | None]:
        """The answers in a checkpoint (`key(job_id, "predictions")`) or a shared hash, by mask key."""
        raw = self.redis.hgetall(key)
        labels = raw.pop(b"labels", None)
        scores = {k: np.frombuffer(v, dtype="<f8") for k, v in raw.items()}
        return scores, tuple(json.loads(labels)) if labels else None

    def drop_answers(self, key: str) -> bool:
        """Forget the answers kept for one context (stale, or replaced by a job that asks afresh);
        whether there were any."""
        return bool(self.redis.delete(key))

    def samples(self, job_id: str) -> bytes | None:
        return self.redis.get(self.key(job_id, "samples"))

    def finish(self, job_id: str, result: dict, samples: bytes = b"") -> None:
        text = json.dumps(result)
        owner = self._owner(job_id)
        with self.redis.pipeline() as pipe:
            pipe.set(self.key(job_id, "result"), text, ex=self.ttl)
            if samples:
                pipe.set(self.key(job_id, "samples"), samples, ex=self.ttl)
            pipe.delete(self.key(job_id, "predictions"))
            self._end(pipe, job_id, owner, Stage.FINISHED)
            pipe.execute()
        self._count_bytes(job_id, len(text) + len(samples))

    def fail(self, job_id: str, error: dict) -> None:
        # The checkpoint goes first, on its own: when Redis is full, deleting is what still
        # works, and it makes the room that recording the failure needs.
        self.redis.delete(self.key(job_id, "predictions"))  # a failed job is never resumed
        owner = self._owner(job_id)
        with self.redis.pipeline() as pipe:
            self._failed(pipe, job_id, owner, error)
            pipe.execute()

    def _failed(self, pipe, job_id: str, owner: str | None, error: dict) -> None:
        self._update(job_id, {"error": json.dumps(error)}, pipe)
        self._end(pipe, job_id, owner, Stage.FAILED)

    def _end(self, pipe, job_id: str, owner: str | None, stage: Stage) -> None:
        self._update(job_id, {"stage": stage.value, "finished_at": time.time()}, pipe)
        pipe.hdel(self.key(job_id), "waiting")  # what a running job waited for is over when it ends
        pipe.delete(self.key(job_id, "secret"), self.key(job_id, "lease"))
        pipe.srem(self.active_key, job_id)
        if owner is not None:
            pipe.srem(self.owner_key(owner, "active"), job_id)
        pipe.hincrby(self.metrics_key, f"jobs:{stage.value}", 1)

    def delete(self, job_id: str, owner: str) -> Stage:
        """Delete the job's data. A job still queued or running is cancelled and its record
        kept (stage `cancelled`) until it expires; an ended job goes entirely."""
        record = self.record(job_id)
        data = ("audio", "stems", "predictions", "result", "samples", "secret", "lease")
        with self.redis.pipeline() as pipe:
            pipe.delete(*(self.key(job_id, p) for p in data))
            if record and record.get("answers_key"):  # answers derived from the deleted audio go too
                pipe.delete(record["answers_key"])
            pipe.hdel(self.owner_key(owner, "bytes"), job_id)
            if record and not Stage(record["stage"]).done:
                self._end(pipe, job_id, owner, Stage.CANCELLED)
                ended = Stage.CANCELLED
            else:
                pipe.delete(self.key(job_id))
                pipe.zrem(self.owner_key(owner), job_id)
                ended = Stage(record["stage"]) if record else Stage.CANCELLED
            pipe.execute()
        return ended

    def forget_active(self, job_id: str) -> None:
        """A job whose record expired is no longer active (its TTL ended it, not an event)."""
        self.redis.srem(self.active_key, job_id)

    def seize(self, job_id: str, seen: dict, lease_lost: bool, error: dict | None = None) -> bool:
        """Take a lost job from the run a reaper saw, only if it is still as seen (stage and
        token) and, when it was lost by its lease, the lease is still gone — atomically: a run
        that finished (or renewed, or a reaper that acted) in between leaves it alone. The job
        is then put back as queued, with no run and no queue entry (the caller enqueues it), or
        failed with `error`. Returns whether it was taken."""
        record, lease = self.key(job_id), self.key(job_id, "lease")
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(record, lease)
                stage, token = pipe.hmget(record, "stage", "token")
                unchanged = (stage is not None and stage.decode() == seen["stage"]
                             and (token or b"").decode() == seen.get("token", ""))
                if not unchanged or (lease_lost and pipe.exists(lease)):
                    return False
                owner = pipe.hget(record, "owner")
                pipe.multi()
                if error is None:
                    pipe.hset(record, mapping={"stage": Stage.QUEUED.value, "token": "", "rq_job_id": ""})
                else:
                    pipe.delete(self.key(job_id, "predictions"))  # a failed job is never resumed
                    self._failed(pipe, job_id, owner.decode() if owner is not None else None, error)
                pipe.execute()
                return True
            except redis.WatchError:
                return False

    def enqueued(self, job_id: str, rq_job_id: str) -> bool:
        """Record the queue entry of a seized job, if it is still queued (a run that finished after
        it was seized keeps its end; the entry then finds it done and does nothing)."""
        record = self.key(job_id)
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(record)
                stage = pipe.hget(record, "stage")
                if stage is None or stage.decode() != Stage.QUEUED.value:
                    return False
                pipe.multi()
                pipe.hset(record, "rq_job_id", rq_job_id)
                pipe.execute()
                return True
            except redis.WatchError:
                return False

    def claim_reaping(self, job_id: str) -> bool:
        """Only one reaper acts on a lost job, however many workers notice it."""
        return bool(self.redis.set(self.key(job_id, "reaping"), 1, nx=True, ex=self.lease_seconds))

    def active_jobs(self) -> list[str]:
        return [i.decode() for i in self.redis.smembers(self.active_key)]


def new_id() -> str:
    """A job's, a study's or a run's id: 32 hexadecimal characters."""
    return uuid.uuid4().hex
