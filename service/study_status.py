"""The JSON a client sees for one study: each clip's state from its jobs, the study's from its clips.

A clip is `failed` when one of its jobs failed (or is gone), `cancelled` when one was cancelled,
`finished` when all finished; before that `running` once one has started, else `queued`. The
study is `finished` once every clip has ended and one finished, `failed` when every clip failed,
`cancelled` when none finished and not all failed.
"""
from __future__ import annotations

from flask import request

from backend.stages import Stage
from service.status import iso

ENDED = ("finished", "failed", "cancelled")


def clip_states(record: dict, states: list[dict | None]) -> list[dict]:
    """Each clip with its jobs and their combined status; `states` are the jobs' (explanations, then
    comparisons), as `Store.job_states` reads them."""
    clips, main_ids, comparison_ids = record["clips"], record["explanations"], record["comparisons"]
    main, comparison = states[:len(clips)], states[len(clips):]
    rows = []
    for i, name in enumerate(clips):
        jobs = [(main_ids[i], main[i])] + ([(comparison_ids[i], comparison[i])] if comparison_ids else [])
        status, error = _combined(jobs)
        rows.append({"clip": name, "explanation": main_ids[i],
                     "comparison": comparison_ids[i] if comparison_ids else None, "status": status, "error": error})
    return rows


def _combined(jobs: list[tuple[str, dict | None]]) -> tuple[str, dict | None]:
    for job_id, state in jobs:
        if state is None:
            return "failed", {"title": "Explanation gone", "detail": f"explanation {job_id} no longer exists (it "
                              "expired or was deleted)", "explanation": job_id}
        if state["stage"] == Stage.FAILED.value:
            return "failed", {**(state["error"] or {"title": "Failed", "detail": "the explanation failed"}),
                              "explanation": job_id}
    for job_id, state in jobs:
        if state["stage"] == Stage.CANCELLED.value:
            return "cancelled", {"title": "Cancelled", "detail": f"explanation {job_id} was cancelled",
                                 "explanation": job_id}
    stages = [state["stage"] for _, state in jobs]
    if all(stage == Stage.FINISHED.value for stage in stages):
        return "finished", None
    return ("queued" if all(stage == Stage.QUEUED.value for stage in stages) else "running"), None


def study_status(clips: list[dict]) -> str:
    statuses = [clip["status"] for clip in clips]
    if not all(status in ENDED for status in statuses):
        return "queued" if all(status == "queued" for status in statuses) else "running"
    if "finished" in statuses:
        return "finished"
    return "failed" if all(status == "failed" for status in statuses) else "cancelled"


def progress(clips: list[dict], states: list[dict | None]) -> dict:
    """Clips ended (failed and cancelled ones included) of all, and the tagger calls of every job."""
    done = sum(clip["status"] in ENDED for clip in clips)
    known = [state for state in states if state is not None]
    return {"done": done, "failed": sum(clip["status"] == "failed" for clip in clips),
            "cancelled": sum(clip["status"] == "cancelled" for clip in clips), "total": len(clips),
            "percent": round(100.0 * done / len(clips), 1) if clips else 100.0,
            "tagger_calls": {"done": sum(s["done"] for s in known), "total": sum(s["total"] for s in known)}}


def summary(record: dict, status: str, progress_now: dict) -> dict:
    return {"id": record["id"], "status": status, "progress": progress_now,
            "created_at": iso(record["created_at"]), "finished_at": iso(record.get("finished_at")),
            "expires_at": iso(record["expires_at"]), "links": {"self": study_path(record["id"])}}


def document(record: dict, status: str, progress_now: dict, clips: list[dict], report: dict | None,
             ttl_seconds: int) -> dict:
    body = summary(record, status, progress_now)
    body.update({"ttl_seconds": ttl_seconds, "request": record["request"], "clips": clips, "report": report})
    return body


def study_path(study_id: str) -> str:
    return f"{request.script_root}/studies/{study_id}"
