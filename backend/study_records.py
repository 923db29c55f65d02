"""Studies in the store: admission, records, listing, the ending and deletion (part of `Store`).

A study's jobs are ordinary jobs (`Store.create`), named beforehand so that the study's record
lists them from its first moment; the keys are the store's (see backend/store.py).
"""
from __future__ import annotations

import json
import time

from backend.quotas import active_studies_error

CREATING_GRACE_SECONDS = 60  # a study whose jobs are still being created holds its place this long at most
LISTS = ("clips", "explanations", "comparisons")  # JSON lists in the record, one entry per clip
DOCUMENTS = ("request", "progress", "outcome")  # JSON documents in the record


class StudyRecords:
    """Store methods for studies; `self.redis`, `self.prefix`, `self.ttl` and the jobs' methods are the store's."""

    # -- keys -----------------------------------------------------------------------
    def study_key(self, study_id: str, part: str | None = None) -> str:
        return f"{self.prefix}:study:{study_id}" + (f":{part}" if part else "")

    def studies_key(self, owner: str, part: str | None = None) -> str:
        return self.owner_key(owner, "studies" + (f":{part}" if part else ""))

    # -- creation -------------------------------------------------------------------
    def admit_study(self, owner: str, study_id: str, request: dict, clips: list[str], explanations: list[str],
                    comparisons: list[str], max_active: int) -> None:
        """Record a new study if its owner has fewer than `max_active` studies running (0: no limit;
        QuotaExceeded otherwise, and nothing is written). Its jobs are created next, then
        `study_created`; `discard_study` takes everything back if that fails."""
        now = time.time()
        record = {"id": study_id, "owner": owner, "created_at": now, "expires_at": now + self.ttl,
                  "request": json.dumps(request), "clips": json.dumps(clips),
                  "explanations": json.dumps(explanations), "comparisons": json.dumps(comparisons),
                  "creating": now}
        keys = [self.study_key(study_id), self.studies_key(owner, "active"), self.studies_key(owner)]
        args = [self.study_key(""), self.key(""), max_active, self.ttl, now, CREATING_GRACE_SECONDS, study_id]
        active = self._admit_study(keys=keys, args=args + [x for item in record.items() for x in item])
        if active >= 0:
            raise active_studies_error(int(active))

    def study_created(self, study_id: str) -> None:
        """Every job of the study exists: from now on their stages say whether it is active."""
        self.redis.hdel(self.study_key(study_id), "creating")

    def discard_study(self, study_id: str, owner: str) -> None:
        """Take back a study whose jobs could not all be created (none is queued yet): nothing stays."""
        record = self.study(study_id)
        with self.redis.pipeline() as pipe:
            for job_id in study_jobs(record) if record else []:
                self._discard(job_id, owner, pipe)
            self._forget_study(pipe, study_id, owner)
            pipe.execute()

    def _forget_study(self, pipe, study_id: str, owner: str) -> None:
        pipe.delete(self.study_key(study_id), self.study_key(study_id, "report"))
        pipe.srem(self.studies_key(owner, "active"), study_id)
        pipe.zrem(self.studies_key(owner), study_id)

    # -- reading --------------------------------------------------------------------
    def study(self, study_id: str) -> dict | None:
        raw = self.redis.hgetall(self.study_key(study_id))
        if not raw:
            return None
        record = {k.decode(): v.decode() for k, v in raw.items()}
        for name in ("created_at", "expires_at", "finished_at", "creating"):
            if name in record:
                record[name] = float(record[name])
        for name in LISTS + DOCUMENTS:
            if name in record:
                record[name] = json.loads(record[name])
        return record

    def owned_study(self, study_id: str, owner: str) -> dict | None:
        """The study if it exists and belongs to `owner` (anything else looks like absence)."""
        record = self.study(study_id)
        return record if record and record["owner"] == owner else None

    def list_studies(self, owner: str, offset: int, limit: int) -> tuple[list[dict], int]:
        key = self.studies_key(owner)
        ids = [i.decode() for i in self.redis.zrevrange(key, offset, offset + limit - 1)]
        records = [self.study(i) for i in ids]
        stale = [i for i, r in zip(ids, records) if r is None]
        if stale:
            self.redis.zrem(key, *stale)
        return [r for r in records if r], self.redis.zcard(key)

    def job_states(self, job_ids: list[str]) -> list[dict | None]:
        """Stage, progress and error of each job, in one round trip (None for a job that is gone)."""
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hmget(self.key(job_id), "stage", "done", "total", "error")
            rows = pipe.execute()
        return [None if stage is None else
                {"stage": stage.decode(), "done": int(done or 0), "total": int(total or 0),
                 "error": json.loads(error) if error else None}
                for stage, done, total, error in rows]

    def results(self, job_ids: list[str]) -> list[dict | None]:
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.get(self.key(job_id, "result"))
            return [json.loads(raw) if raw else None for raw in pipe.execute()]

    def study_report(self, study_id: str) -> dict | None:
        raw = self.redis.get(self.study_key(study_id, "report"))
        return json.loads(raw) if raw else None

    # -- the ending and deletion ----------------------------------------------------------
    def end_study(self, study_id: str, owner: str, status: str, progress: dict, outcome: list[dict],
                  report: dict) -> bool:
        """Write the study's ending once (whoever comes second keeps the first's); frees its place
        in the owner's active studies. False if it was written before or the study is gone."""
        fields = {"status": status, "finished_at": time.time(), "progress": json.dumps(progress),
                  "outcome": json.dumps(outcome)}
        keys = [self.study_key(study_id), self.study_key(study_id, "report"), self.studies_key(owner, "active")]
        args = [study_id, json.dumps(report)] + [x for item in fields.items() for x in item]
        return self._end_study(keys=keys, args=args) == 1

    def delete_study(self, study_id: str, owner: str) -> None:
        """Cancel every job of the study still queued or running, delete the ended ones (`delete`
        of each), and the study itself."""
        record = self.study(study_id)
        for job_id in study_jobs(record) if record else []:
            self.delete(job_id, owner)
        with self.redis.pipeline() as pipe:
            self._forget_study(pipe, study_id, owner)
            pipe.execute()


def study_jobs(record: dict) -> list[str]:
    """Every job of a study: each clip's explanation, then the comparisons."""
    return list(record["explanations"]) + list(record["comparisons"])
