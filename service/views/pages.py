"""The listening pages: HTML shells whose script reads everything from the API with the caller's key.

A browser navigation cannot send `Authorization`, so the shells themselves carry no data and need
no key; the key stays in the browser's storage and goes to the API only as a header.
"""
from __future__ import annotations

from flask import Blueprint, render_template

blueprint = Blueprint("pages", __name__)

# Scripts and styles from this origin only, no inline code; audio plays, and a study's figure shows,
# from blob: URLs that the script makes of authorized fetches (connect-src allows reading them back,
# for downloads and tests).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                               "media-src blob:; connect-src 'self' blob:; form-action 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _page(template: str, **context):
    return render_template(template, **context), 200, SECURITY_HEADERS


@blueprint.get("/")
def index():
    return _page("index.html")


@blueprint.get("/explanations/<job_id>/view")
def view(job_id: str):
    return _page("view.html", job_id=job_id)


@blueprint.get("/studies/<study_id>/view")
def study_view(study_id: str):
    return _page("study.html", study_id=study_id)
