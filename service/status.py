"""The JSON a client sees for one job: status, progress, and the result when there is one."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import quote

from flask import request

from backend.store import Stage


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
        "waiting": record.get("waiting") or None,
        "progress": {"done": done, "total": total, "percent": percent, "confidence": record.get("confidence"),
                     "settled": record.get("settled")},
        "created_at": iso(record["created_at"]),
        "started_at": iso(record.get("started_at")),
        "finished_at": iso(record.get("finished_at")),
        "expires_at": iso(record["expires_at"]),
        "links": {"self": job_path(record["id"])},
    }


def document(record: dict, result: dict | None, ttl_seconds: int) -> dict:
    body = summary(record)
    body.update({"ttl_seconds": ttl_seconds, "attempts": record["attempts"], "request": record["request"],
                 "error": record["error"], "result": result})
    if result is not None:
        body["links"].update(_audio_links(record["id"], result))
    return body


def job_path(job_id: str) -> str:
    # Plain formatting: url_for per component was a third of a status request's time.
    return f"{request.script_root}/explanations/{job_id}"


def _audio_links(job_id: str, result: dict) -> dict:
    base = job_path(job_id)
    links = {
        "samples": f"{base}/samples",
        "sources": {name: f"{base}/sources/{quote(name)}" for name in result["sources"]},
        "components": [f"{base}/components/{c['index']}" for c in result["components"]],
    }
    if result["tags"]:
        first = result["tags"][0]
        links["explanation_audio"] = f"{base}/audio?tag={quote(first['tag'])}&k=3"
        for part in ("sufficient", "necessary"):
            if (first.get(part) or {}).get("found"):
                links[f"{part}_audio"] = f"{base}/audio?tag={quote(first['tag'])}&part={part}"
    return links
