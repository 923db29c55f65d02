"""`GET /explanations/{id}/samples`: what an explanation was fitted on, to refit, audit or reproduce it."""
from __future__ import annotations

import json

from flask import Blueprint, Response, request

from service.problems import Problem
from service.views.explanations import finished, services
from backend.samples import NPZ_MEDIA_TYPE, samples_json

blueprint = Blueprint("samples", __name__)


@blueprint.get("/explanations/<job_id>/samples")
def samples(job_id: str):
    finished(job_id, "samples")
    data = services().store.samples(job_id)
    if data is None:
        raise Problem(404, "Not found", "this explanation has no stored samples (it was deleted or has expired)")
    wanted = request.args.get("format") or ("npz" if _accepts_npz() else "json")
    if wanted not in ("json", "npz"):
        raise Problem(400, "Invalid parameter", f"`format` must be json or npz, got {wanted!r}")
    if wanted == "npz":
        response = Response(data, mimetype=NPZ_MEDIA_TYPE)
        response.headers["Content-Disposition"] = f'attachment; filename="{job_id}-samples.npz"'
    else:
        response = Response(json.dumps(samples_json(data)), mimetype="application/json")
    response.headers["Vary"] = "Authorization, Accept"
    return response


def _accepts_npz() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", NPZ_MEDIA_TYPE])
    return best == NPZ_MEDIA_TYPE
