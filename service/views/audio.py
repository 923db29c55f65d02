"""Listening to an explanation: the original, stems, components and the top-k mix, as WAV (default) or FLAC."""
from __future__ import annotations

from flask import Blueprint, request

from engine.codec import decode
from service.problems import Problem
from service.rendering import audio_response, factorization, mix_of, top_k_mix
from backend.store import Stage
from service.views.explanations import finished, int_arg, not_cancelled, owned, services

blueprint = Blueprint("audio", __name__)
PARTS = ("sufficient", "necessary")  # the verified sets a listener can play (engine/verification.py)


@blueprint.get("/explanations/<job_id>/original")
def original(job_id: str):
    """The clip as the service stored it, re-encoded like every other download (whatever was uploaded)."""
    owned(job_id)
    return _stored(services().store.audio(job_id), "original",
                   "the audio of this explanation was deleted (it was cancelled or has expired)")


@blueprint.get("/explanations/<job_id>/sources/<name>")
def source(job_id: str, name: str):
    record = not_cancelled(job_id, "sources")
    data = services().store.stem(job_id, name)
    if data is None:
        names = sorted(services().store.stems(job_id))
        if not names and record["stage"] in (Stage.QUEUED.value, Stage.SEPARATING.value):
            raise Problem(409, "Not ready", "the stems of this explanation are not available yet")
        return _stored(None, name, f"no source {name!r}; this explanation has {names or 'no stems'}")
    return _stored(data, name, "")


def _stored(data: bytes | None, filename: str, missing: str):
    if data is None:
        raise Problem(404, "Not found", missing)
    waveform, sample_rate = decode(data)
    return audio_response(waveform, sample_rate, filename)


@blueprint.get("/explanations/<job_id>/components/<int:index>")
def component(job_id: str, index: int):
    f = factorization(services().store, owned(job_id))
    if not 0 <= index < f.n_components:
        raise Problem(404, "Not found", f"component index must be 0..{f.n_components - 1}, got {index}")
    return audio_response(f.component_audio(index), f.sample_rate, f.components[index].name)


@blueprint.get("/explanations/<job_id>/audio")
def explanation(job_id: str):
    """The top-k mix of a tag, or (`part`) its verified sufficient set alone or the mix without its
    verified necessary set: each exactly what the tagger heard."""
    record = finished(job_id, "mixes")
    result = services().store.result(job_id)
    if result is None:  # deleted between reading the record and reading the result
        raise Problem(404, "Not found", f"no explanation {job_id!r} for this API key (it may have expired)")
    tags = {t["tag"]: t for t in result["tags"]}
    tag = request.args.get("tag") or result["tags"][0]["tag"]
    if tag not in tags:
        raise Problem(404, "Not found", f"tag {tag!r} was not explained; explained: {sorted(tags)}")
    f = factorization(services().store, record)
    part = request.args.get("part")
    if part is not None:
        return _part_mix(f, record, tags[tag], part)
    k = int_arg("k", 3, 1, 1000)
    mix, chosen = top_k_mix(f, tags[tag]["weights"], k, record["request"])
    response = audio_response(mix, f.sample_rate, f"{tag}-top{k}")
    response.headers["X-Components"] = ",".join(map(str, chosen))
    return response


def _part_mix(f, record: dict, explained: dict, part: str):
    if part not in PARTS:
        raise Problem(400, "Invalid parameter", f"`part` must be one of {sorted(PARTS)}, got {part!r}")
    found = explained.get(part)
    if not found or not found.get("found"):
        said = f": {found['statement']}" if found else " (no check phase ran)"
        raise Problem(404, "Not found", f"tag {explained['tag']!r} has no verified {part} set{said}")
    components = found["components"]
    mix = mix_of(f, components, record["request"], keep=part == "sufficient")
    response = audio_response(mix, f.sample_rate, f"{explained['tag']}-{part}")
    response.headers["X-Components"] = ",".join(map(str, components))
    return response
