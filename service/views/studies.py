"""Studies: one explanation request run on many clips. Submitting, reading, listing, deleting, the figure.

A study is one ordinary explanation job per clip (and per comparison separator), created and
queued as POST /explanations creates and queues one, so any worker anywhere takes them; the
study is admitted as one against the key's quota of active studies, and its jobs count against
the key's bytes. Once every job has ended, the report is computed once and kept with the study.
"""
from __future__ import annotations

from flask import Blueprint, Response, request, url_for

from backend import study_figure
from backend.queueing import enqueue_run, job_timeout
from backend.quotas import Quota, QuotaExceeded, study_bytes_quota_error
from backend.stages import Stage
from backend.store import new_id
from backend.studies import JOB_ID
from backend.study_records import study_jobs
from backend.study_report import build_report
from service.auth import current_owner
from service.lru import LRU
from service.problems import Problem
from service.study_status import ENDED, clip_states, document, progress, study_status, summary
from service.study_submission import Clip, StudySubmission, read_study
from service.views.explanations import listing_page, services

blueprint = Blueprint("studies", __name__)
NOT_YET_CREATED = {"stage": Stage.QUEUED.value, "done": 0, "total": 0, "error": None}
# A report never changes once stored, so neither does its figure: cacheable like the audio. The SVG
# is served from the API's origin, so it may run nothing even when opened by itself.
FIGURE_HEADERS = {"Cache-Control": "private, max-age=3600", "Vary": "Authorization",
                  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
                  "X-Content-Type-Options": "nosniff"}
_FIGURES: LRU[bytes] = LRU(8)  # the page asks for the PNG once per view; a download asks again


@blueprint.before_request
def upload_limit():
    """The app's MAX_CONTENT_LENGTH is the larger of the two upload limits; a study has its own."""
    limit = services().settings.max_study_bytes
    request.max_content_length = limit  # what the parser enforces when no Content-Length is sent
    sent = request.content_length
    if sent is not None and sent > limit:
        raise Problem(413, "Upload too large", f"{sent:,} bytes were sent; this service takes at most {limit:,} bytes "
                      "per study (AUDIOLIME_MAX_STUDY_BYTES: every clip and the request together)")


def owned_study(study_id: str) -> dict:
    """The caller's study, or 404 (another key's study looks exactly like a missing one)."""
    shown = study_id if len(study_id) <= 40 else study_id[:40] + "…"
    record = services().store.owned_study(study_id, current_owner()) if JOB_ID.fullmatch(study_id) else None
    if record is None:
        raise Problem(404, "Not found", f"no study {shown!r} for this API key (study ids are 32 hexadecimal "
                      "characters; it may have expired or been deleted)")
    return record


@blueprint.post("/studies")
def submit():
    owner = current_owner()
    s = services()
    submission = read_study(request, s.settings, s.policy, s.store, owner)
    study_id, clips = _create(owner, submission)
    location = url_for("studies.status", study_id=study_id)
    body = {"id": study_id, "status": "queued", "status_url": location, "ttl_seconds": s.settings.result_ttl,
            "clips": clips}
    return body, 202, {"Location": location}


def _create(owner: str, submission: StudySubmission) -> tuple[str, list[dict]]:
    """The study's record, then its jobs (taken back, all of them, if one cannot be stored), then their runs."""
    s = services()
    study, clips = submission.request, submission.clips
    study_id = new_id()
    ids = {"explanations": [new_id() for _ in clips],
           "comparisons": [new_id() for _ in clips] if study.comparison else []}
    s.store.admit_study(owner, study_id, study.to_dict(), [c.name for c in clips], ids["explanations"],
                        ids["comparisons"], s.settings.quota_active_studies)
    requests = [job_request.to_dict() for job_request in study.job_requests()]  # the same for every clip
    runs = []
    try:
        for i, clip in enumerate(clips):
            job_ids = [ids["explanations"][i]] + ids["comparisons"][i:i + 1]
            runs += _create_jobs(owner, submission, clip, list(zip(job_ids, requests)))
    except QuotaExceeded as exc:
        s.store.discard_study(study_id, owner)
        raise study_bytes_quota_error(len(clips), submission.size, s.settings.quota_stored_bytes,
                                      exc.retry_after) from exc
    except BaseException:
        s.store.discard_study(study_id, owner)
        raise
    s.store.study_created(study_id)
    for job_id, timeout in runs:
        s.store.set_stage(job_id, Stage.QUEUED, rq_job_id=enqueue_run(s.queues.for_owner(owner), job_id, timeout))
    listed = [{"clip": clip.name, "explanation": ids["explanations"][i],
               "comparison": ids["comparisons"][i] if ids["comparisons"] else None} for i, clip in enumerate(clips)]
    return study_id, listed


def _create_jobs(owner: str, submission: StudySubmission, clip: Clip,
                 jobs: list[tuple[str, dict]]) -> list[tuple[str, int]]:
    """One clip's jobs (its explanation, its comparison: id and public request), stored as POST
    /explanations stores one; their ids and timeouts."""
    s = services()
    audio = clip.read()
    if audio is None:
        raise Problem(422, "Explanation not available", f"`explanations`: the audio of {clip.name!r} was deleted "
                      "while the study was being created")
    quota = Quota(None, s.settings.quota_stored_bytes)  # admitted with the study, not one by one
    runs = []
    for job_id, public in jobs:
        timeout = job_timeout(public, clip.seconds, s.settings.tagger_load_wait)
        s.store.create(owner, public, audio, {}, submission.secret, timeout, quota, job_id=job_id)
        runs.append((job_id, timeout))
    return runs


@blueprint.get("/studies")
def list_studies():
    return listing_page("studies.list_studies", services().store.list_studies,
                        lambda record: summary(record, *_state(record)))


@blueprint.get("/studies/<study_id>")
def status(study_id: str):
    record, live = _ended(owned_study(study_id))
    ttl = services().settings.result_ttl
    if live is not None:
        status_now, clips, states = live
        return document(record, status_now, progress(clips, states), clips, None, ttl)
    return document(record, record["status"], record["progress"], record["outcome"],
                    services().store.study_report(study_id), ttl)


@blueprint.get("/studies/<study_id>/figure")
def figure(study_id: str):
    """The report as a figure (study_figure.py), once it exists; rendered once per process and format."""
    record = owned_study(study_id)
    fmt = request.args.get("format", "png")
    if fmt not in study_figure.FORMATS:
        raise Problem(400, "Invalid parameter", f"`format` must be one of {sorted(study_figure.FORMATS)}, got "
                      f"{fmt[:40]!r}")
    record, live = _ended(record)
    if live is not None:
        status_now, clips, states = live
        done = progress(clips, states)
        raise Problem(409, "Not ready", f"the study is {status_now} ({done['done']} of {done['total']} clips "
                      "ended): its report, and so its figure, exist once every clip's explanation has ended")
    body = _FIGURES.get(f"{study_id}:{fmt}")
    if body is None:
        report = services().store.study_report(study_id)
        if report is None:  # deleted between reading the record and reading the report
            raise Problem(404, "Not found", f"no study {study_id!r} for this API key (it was deleted)")
        body = study_figure.render(report, fmt, comparison=record["request"]["comparisons"].get("separator"))
        _FIGURES.put(f"{study_id}:{fmt}", body)
    headers = {**FIGURE_HEADERS, "Content-Disposition": f'inline; filename="study-{study_id[:8]}.{fmt}"'}
    return Response(body, mimetype=study_figure.media_type(fmt), headers=headers)


def _ended(record: dict) -> tuple[dict, tuple[str, list[dict], list[dict]] | None]:
    """The study's record, ended now (its report computed and stored) if every job has ended; while
    one still runs, with its live status, clips and job states."""
    if "status" in record:
        return record, None
    clips, states = _live(record)
    status_now = study_status(clips)
    if status_now not in ENDED:
        return record, (status_now, clips, states)
    _end(record, clips, states)
    return owned_study(record["id"]), None  # the ending as stored (another request may have written it first)


def _state(record: dict) -> tuple[str, dict]:
    """Status and progress: as stored once the study has ended, else from its jobs now."""
    if "status" in record:
        return record["status"], record["progress"]
    clips, states = _live(record)
    return study_status(clips), progress(clips, states)


def _live(record: dict) -> tuple[list[dict], list[dict]]:
    """Each clip's state from its jobs' records now, and those records."""
    states = services().store.job_states(study_jobs(record))
    if "creating" in record:  # its jobs are being created: those not there yet are not gone
        states = [state or NOT_YET_CREATED for state in states]
    return clip_states(record, states), states


def _end(record: dict, clips: list[dict], states: list[dict]) -> None:
    """The report over the clips that finished (the others listed with their errors), stored once."""
    store = services().store
    finished = [clip for clip in clips if clip["status"] == "finished"]
    results = store.results([clip["explanation"] for clip in finished])
    compared = store.results([clip["comparison"] for clip in finished]) if record["comparisons"] else None
    done, comparison = [], ([] if compared is not None else None)
    for clip, result, other in zip(finished, results, compared or [None] * len(finished)):
        if result is None or (comparison is not None and other is None):  # deleted since: as gone as expired
            clip.update(status="failed", error={"title": "Explanation gone", "detail": "an explanation of the clip "
                        "was deleted as the study ended", "explanation": clip["explanation"]})
            continue
        done.append({"clip": clip["clip"], "result": result})
        if comparison is not None:
            comparison.append({"clip": clip["clip"], "result": other})
    failed = [{"clip": clip["clip"], "error": clip["error"]} for clip in clips if clip["status"] != "finished"]
    report = build_report(done, comparison, record["request"].get("self_check_k"), failed)
    store.end_study(record["id"], record["owner"], study_status(clips), progress(clips, states), clips, report)


@blueprint.delete("/studies/<study_id>")
def delete(study_id: str):
    owned_study(study_id)
    services().store.delete_study(study_id, current_owner())
    return "", 204
