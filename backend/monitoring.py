"""What the store tells operators: worker heartbeats and the service's counters (part of `Store`)."""
from __future__ import annotations

from dataclasses import dataclass

from backend.stages import Stage


class Monitoring:
    """Store methods for liveness and metrics; the keys are the store's (`workers_key`, `metrics_key`)."""

    # -- worker liveness --------------------------------------------------------------
    def beat(self, worker: str) -> None:
        """A worker is alive for one more lease period."""
        self._beat(keys=[self.workers_key], args=[worker, self.lease_seconds])

    def worker_gone(self, worker: str) -> None:
        self.redis.zrem(self.workers_key, worker)

    def live_workers(self) -> int:
        """Workers whose last heartbeat is younger than a lease period."""
        return int(self._live(keys=[self.workers_key]))

    # -- metrics ---------------------------------------------------------------------
    def count_stage(self, stage: Stage, seconds: float) -> None:
        with self.redis.pipeline() as pipe:
            pipe.hincrbyfloat(self.metrics_key, f"stage_seconds:{stage.value}", seconds)
            pipe.hincrbyfloat(self.metrics_key, f"stage_runs:{stage.value}", 1)
            pipe.execute()

    def count_tagger(self, amounts: dict[str, int]) -> None:
        with self.redis.pipeline() as pipe:
            for name, amount in amounts.items():
                pipe.hincrbyfloat(self.metrics_key, f"tagger:{name}", amount)
            pipe.execute()

    def metrics(self) -> "Metrics":
        families: dict[str, dict[str, float]] = {name: {} for name in Metrics.FAMILIES}
        for field, value in self.redis.hgetall(self.metrics_key).items():
            family, _, label = field.decode().partition(":")
            if family in families:
                families[family][label] = float(value)
        return Metrics(**families)

    def active_by_stage(self) -> dict[str, int]:
        """Jobs queued or running, by stage."""
        counts = {stage.value: 0 for stage in Stage if not stage.done}
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in self.active_jobs():
                pipe.hget(self.key(job_id), "stage")
            stages = pipe.execute()
        for stage in stages:
            if stage is not None and stage.decode() in counts:
                counts[stage.decode()] += 1
        return counts

    def ping(self) -> bool:
        return bool(self.redis.ping())


@dataclass(frozen=True)
class Metrics:
    """The service's counters, by family: labels are stages, events or tagger call kinds."""
    FAMILIES = ("jobs", "tagger", "stage_seconds", "stage_runs")
    jobs: dict[str, float]  # submitted, finished, failed, cancelled
    tagger: dict[str, float]  # requests, retries, errors, bytes_sent
    stage_seconds: dict[str, float]
    stage_runs: dict[str, float]
