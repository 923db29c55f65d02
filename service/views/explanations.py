"""Submitting, reading, listing and deleting explanation jobs."""
from __future__ import annotations

import json
import re
from typing import Callable

from flask import Blueprint, Response, current_app, request, url_for

from service.auth import current_owner
from service.lru import LRU
from service.problems import Problem
from service.status import document, summary
from service.submission import read_submission
from backend.queueing import enqueue_run, job_timeout
from backend.quotas import Quota
from backend.store import Stage

blueprint = Blueprint("explanations", __name__)
MAX_PAGE = 100
MAX_OFFSET = 10**9  # openapi.yaml states it too: a bound the contract and the service share
JOB_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex, as the store makes them


_finished_documents: LRU[bytes] = LRU(256)


def services():
    return current_app.extensions["audiolime"]


def owned(job_id: str) -> dict:
    """The caller's job, or 404 (another key's job looks exactly like a missing one)."""
    owner = current_owner()
    if not JOB_ID.fullmatch(job_id):  # not even the shape of an id: no lookup, and no long echo
        shown = job_id if len(job_id) <= 40 else job_id[:40] + "…"
        raise Problem(404, "Not found", f"no explanation {shown!r} for this API key: explanation ids are 32 "
                      "hexadecimal characters")
    record = services().store.owned_record(job_id, owner)
    if record is None:
        raise Problem(404, "Not found", f"no explanation {job_id!r} for this API key (it may have expired)")
    return record


def not_cancelled(job_id: str, what: str) -> dict:
    """The caller's job (404 as `owned`), unless cancelled: what it had is deleted then, and every
    resource of it answers the same 404 (one state, one answer)."""
    record = owned(job_id)
    if record["stage"] == Stage.CANCELLED.value:
        raise Problem(404, "Not found", f"the explanation was cancelled, and what it had ({what}) was deleted")
    return record


def finished(job_id: str, what: str) -> dict:
    """The caller's finished job, or 409 while it is not (404 as `owned`, and once cancelled: what
    a cancelled job had is deleted, and its audio, spectrogram and waveforms answer 404 too)."""
    record = not_cancelled(job_id, what)
    if record["stage"] != Stage.FINISHED.value:
        raise Problem(409, "Not ready", f"the explanation is {record['stage']}; its {what} exist once it is finished")
    return record


@blueprint.post("/explanations")
def submit():
    owner = current_owner()
    s = services()
    submission = read_submission(request, s.settings, s.policy)
    public = submission.request.to_dict()
    timeout = job_timeout(public, submission.duration, s.settings.tagger_load_wait)
    quota = Quota(s.settings.quota_active_jobs, s.settings.quota_stored_bytes)
    job_id = s.store.create(owner, public, submission.audio, submission.stems, submission.secret, timeout, quota)
    s.store.set_stage(job_id, Stage.QUEUED, rq_job_id=enqueue_run(s.queues.for_owner(owner), job_id, timeout))
    location = url_for("explanations.status", job_id=job_id)
    body = {"id": job_id, "status": "queued", "stage": "queued", "status_url": location,
            "ttl_seconds": s.settings.result_ttl}
    return body, 202, {"Location": location}


@blueprint.get("/explanations")
def list_jobs():
    return listing_page("explanations.list_jobs", services().store.list_jobs, summary)


@blueprint.get("/explanations/<job_id>")
def status(job_id: str):
    record = owned(job_id)
    s = services()
    if record["stage"] != Stage.FINISHED.value:
        return document(record, None, s.settings.result_ttl)
    # A finished job's document never changes (deletion is caught by `owned` above), so it is
    # rendered once per process: polling clients then cost one small Redis read each.
    body = _finished_documents.get(job_id)
    if body is None:
        body = json.dumps(document(record, s.store.result(job_id), s.settings.result_ttl)).encode()
        _finished_documents.put(job_id, body)
    return Response(body, mimetype="application/json")


@blueprint.delete("/explanations/<job_id>")
def delete(job_id: str):
    owned(job_id)
    services().store.delete(job_id, current_owner())
    return "", 204


def listing_page(endpoint: str, list_owned: Callable[[str, int, int], tuple[list, int]],
                 item: Callable[[dict], dict]) -> dict:
    """One page of the caller's records (`limit`, `offset` from the query), newest first, with the
    URL of the next page of `endpoint` while there is one."""
    limit = int_arg("limit", 20, 1, MAX_PAGE)
    offset = int_arg("offset", 0, 0, MAX_OFFSET)
    records, total = list_owned(current_owner(), offset, limit)
    following = offset + limit
    next_url = url_for(endpoint, limit=limit, offset=following) if following < total else None
    return {"items": [item(record) for record in records], "total": total, "limit": limit, "offset": offset,
            "next": next_url}


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Problem(400, "Invalid parameter", f"`{name}` must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise Problem(400, "Invalid parameter", f"`{name}` must be {low}..{high}, got {value}")
    return value
