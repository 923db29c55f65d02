"""Operations: /healthz for load balancers, /metrics for Prometheus."""
from __future__ import annotations

import redis
from flask import Blueprint, Response

from engine.errors import ModelMissingError
from service.views.explanations import services
from worker.spleeter_models import check_model
from worker.store import Stage

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    s = services()
    checks = {"redis": _redis_ok(s.store.redis), "workers": 0, "model": _model_ok(s.settings.model_dir)}
    if checks["redis"] == "ok":  # heartbeats the workers renew: a killed one drops out within a lease
        checks["workers"] = s.store.live_workers()
    healthy = checks["redis"] == "ok" and checks["workers"] > 0 and checks["model"] == "ok"
    return {"status": "ok" if healthy else "degraded", "checks": checks}, 200 if healthy else 503


def _redis_ok(connection) -> str:
    try:
        connection.ping()
    except redis.RedisError as exc:
        return f"unreachable: {exc}"
    return "ok"


def _model_ok(model_dir) -> str:
    try:
        check_model(model_dir, "2stems")
    except ModelMissingError as exc:
        return str(exc)
    return "ok"


@blueprint.get("/metrics")
def metrics():
    s = services()
    counters = s.store.metrics()
    lines = []
    _family(lines, "audiolime_jobs_total", "counter", "Explanation jobs by how they ended (or were submitted).",
            [({"event": name[5:-6]}, value) for name, value in sorted(counters.items())
             if name.startswith("jobs_") and name.endswith("_total")])
    _family(lines, "audiolime_jobs_active", "gauge", "Jobs queued or running, by stage.",
            [({"stage": stage}, count) for stage, count in _active_by_stage(s.store).items()])
    for name, help_text in (("requests", "Requests sent to taggers."), ("retries", "Tagger requests retried."),
                            ("errors", "Tagger requests that failed."), ("bytes_sent", "Bytes sent to taggers.")):
        _family(lines, f"audiolime_tagger_{name}_total", "counter", help_text,
                [({}, counters.get(f"tagger_{name}_total", 0.0))])
    for part, kind in (("sum", "seconds"), ("count", "runs")):
        _family(lines, f"audiolime_stage_seconds_{part}", "counter", f"Time in each stage ({kind}).",
                [({"stage": name.split(":", 1)[1]}, value) for name, value in sorted(counters.items())
                 if name.startswith(f"stage_seconds_{part}:")])
    _family(lines, "audiolime_queue_length", "gauge", "Runs waiting in the queue.", [({}, len(s.queue))])
    return Response("\n".join(lines) + "\n", mimetype="text/plain", content_type="text/plain; version=0.0.4")


def _active_by_stage(store) -> dict[str, int]:
    counts = {stage.value: 0 for stage in Stage if not stage.done}
    for job_id in store.active_jobs():
        stage = store.redis.hget(store.key(job_id), "stage")
        if stage is not None and stage.decode() in counts:
            counts[stage.decode()] += 1
    return counts


def _family(lines: list[str], name: str, kind: str, help_text: str, samples) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        lines.append(f"{name}{{{label_text}}} {value:.15g}" if label_text else f"{name} {value:.15g}")
