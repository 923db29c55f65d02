"""The JSON a client sees for one job: status, progress, and the result when there is one."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import url_for

from worker.store import Stage


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def coarse_status(stage: Stage) -> str:
    return stage.value if stage.done or stage is Stage.QUEUED else "running"


def summary(record: dict) -> dict:
    stage = Stage(record["stage"])
    done, total = record["done"], record["total"]
    percent = 100.0 if stage is Stage.FINISHED else round(100.0 * done / total, 1) if total else 0.0
    return {
        "id": record["id"],
        "status": coarse_status(stage),
        "stage": stage.value,
        "progress": {"done": done, "total": total, "percent": percent},
        "created_at": iso(record["created_at"]),
        "started_at": iso(record.get("started_at")),
        "finished_at": iso(record.get("finished_at")),
        "expires_at": iso(record["expires_at"]),
        "links": {"self": url_for("explanations.status", job_id=record["id"])},
    }


def document(record: dict, result: dict | None, ttl_seconds: int) -> dict:
    body = summary(record)
    body.update({"ttl_seconds": ttl_seconds, "attempts": record["attempts"], "request": record["request"],
                 "error": record["error"], "result": result})
    if result is not None:
        body["links"].update(_audio_links(record["id"], result))
    return body


def _audio_links(job_id: str, result: dict) -> dict:
    first_tag = result["tags"][0]["tag"] if result["tags"] else None
    return {
        "sources": {name: url_for("audio.source", job_id=job_id, name=name) for name in result["sources"]},
        "components": [url_for("audio.component", job_id=job_id, index=c["index"]) for c in result["components"]],
        "explanation_audio": url_for("audio.explanation", job_id=job_id, tag=first_tag, k=3),
    }
