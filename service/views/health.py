"""Operations: /healthz for load balancers, /metrics for Prometheus."""
from __future__ import annotations

import redis
from flask import Blueprint, Response

from service.views.explanations import services
from backend import separators

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    s = services()
    missing = {kind.name: kind.missing(s.settings) for kind in separators.kinds()}
    # An optional separator not installed is information, not a fault: listed by name, the reason
    # left to the 422 that a request for it gets; only the default's absence is a fault, with its reason.
    checks = {"redis": _redis_ok(s.store), "workers": 0, "model": missing[separators.DEFAULT] or "ok",
              "separators": {"available": [name for name, why in missing.items() if why is None],
                             "not_installed": [name for name, why in missing.items() if why is not None]}}
    if checks["redis"] == "ok":  # heartbeats the workers renew: a killed one drops out within a lease
        checks["workers"] = s.store.live_workers()
    # The default separator must be there; the others are the operator's choice (4stems needs GitHub).
    healthy = checks["redis"] == "ok" and checks["workers"] > 0 and checks["model"] == "ok"
    return {"status": "ok" if healthy else "degraded", "checks": checks}, 200 if healthy else 503


def _redis_ok(store) -> str:
    try:
        store.ping()
    except redis.RedisError as exc:
        return f"unreachable: {exc}"
    return "ok"


@blueprint.get("/metrics")
def metrics():
    s = services()
    counters = s.store.metrics()
    lines = []
    _family(lines, "audiolime_jobs_total", "counter", "Explanation jobs by how they ended (or were submitted).",
            [({"event": event}, value) for event, value in sorted(counters.jobs.items())])
    _family(lines, "audiolime_jobs_active", "gauge", "Jobs queued or running, by stage.",
            [({"stage": stage}, count) for stage, count in s.store.active_by_stage().items()])
    for name, help_text in (("requests", "Requests sent to taggers."), ("retries", "Tagger requests retried."),
                            ("errors", "Tagger requests that failed."), ("bytes_sent", "Bytes sent to taggers.")):
        _family(lines, f"audiolime_tagger_{name}_total", "counter", help_text,
                [({}, counters.tagger.get(name, 0.0))])
    for part, family, kind in (("sum", counters.stage_seconds, "seconds"), ("count", counters.stage_runs, "runs")):
        _family(lines, f"audiolime_stage_seconds_{part}", "counter", f"Time in each stage ({kind}).",
                [({"stage": stage}, value) for stage, value in sorted(family.items())])
    _family(lines, "audiolime_queue_length", "gauge", "Runs waiting, over every key's queue.",
            [({}, s.queues.waiting())])
    return Response("\n".join(lines) + "\n", mimetype="text/plain", content_type="text/plain; version=0.0.4")


def _family(lines: list[str], name: str, kind: str, help_text: str, samples) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        lines.append(f"{name}{{{label_text}}} {value:.15g}" if label_text else f"{name} {value:.15g}")
