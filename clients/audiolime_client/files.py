"""A finished job on disk: result.json, sources/, the top-k mixes (and components/ if asked).

    out/result.json                      the job document (request, result, stats…)
    out/sources/<source>.wav             every separated (or provided) source
    out/explanation-<tag>-top<k>.wav     the mix of the tag's top-k positive components, per tag
    out/<tag>-sufficient.wav             its verified sufficient set alone, and the mix without its
    out/<tag>-necessary.wav              verified necessary set: each where the search found one
    out/components/<index>-<name>.wav    every component, when asked for
    out/samples.npz                      the masks, counts and scores it was fitted on, when asked for
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from audiolime_client.defaults import DEFAULT_AUDIO_FORMAT, DEFAULT_K
from audiolime_client.errors import UsageError
from audiolime_client.models import Explanation, Job

if TYPE_CHECKING:
    from audiolime_client.client import Client

RESULT_FILE = "result.json"
SAMPLES_FILE = "samples.npz"


def slug(text: str) -> str:
    """A file-name-safe form of a tag or source name ("female vocalists" -> "female-vocalists")."""
    return re.sub(r"[^A-Za-z0-9._]+", "-", text).strip("-.") or "unnamed"


PARTS = ("result", "sources", "explanation", "parts", "components", "samples")


def save_job_files(client: "Client", job: Job, out_dir: Path, *, parts: Iterable[str] = PARTS[:4],
                   tags: Iterable[str] | None = None, k: int = DEFAULT_K,
                   audio_format: str = DEFAULT_AUDIO_FORMAT) -> dict[str, Path]:
    """The chosen parts of a finished job ({what: path}); the caller has checked that it finished
    (Client.wait, Client.result, raise_for_outcome). `tags` limits the explanation mixes to those
    tags (default: every explained tag). Arguments are checked before anything is written."""
    result = job.result
    if result is None:  # a contract slip of the caller, not something a user can fix
        raise ValueError(f"job {job.id} has no result: pass a finished job")
    parts = set(parts)
    unknown = parts - set(PARTS)
    if unknown:
        raise UsageError(f"unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}")
    chosen = result.tag_names if tags is None else check_tags(result, tags)
    written = {"result": save_result(job, out_dir)} if "result" in parts else {}
    if "sources" in parts:
        for name in result.sources:
            written[f"source:{name}"] = client.download_source(
                job, name, out_dir / "sources" / f"{slug(name)}.{audio_format}", format=audio_format)
    if "explanation" in parts:
        for tag in chosen:
            written[f"explanation:{tag}"] = client.download_explanation(
                job, tag, k, out_dir / f"explanation-{slug(tag)}-top{k}.{audio_format}", format=audio_format)
    if "parts" in parts:
        written.update(_save_parts(client, job, chosen, out_dir, audio_format))
    if "components" in parts:
        for component in result.components:
            target = out_dir / "components" / f"{component.index:03d}-{slug(component.name)}.{audio_format}"
            written[f"component:{component.index}"] = client.download_component(
                job, component.index, target, format=audio_format)
    if "samples" in parts:
        written["samples"] = client.samples(job, "npz", out_dir / SAMPLES_FILE)
    return written


def _save_parts(client: "Client", job: Job, tags: list[str], out_dir: Path, audio_format: str) -> dict[str, Path]:
    """Each tag's verified parts that were found, as the tagger heard them."""
    written = {}
    for tag in tags:
        for part in job.result.tag(tag).playable_parts():
            written[f"{part.part}:{tag}"] = client.download_part(
                job, part.part, tag, out_dir / f"{slug(tag)}-{part.part}.{audio_format}", format=audio_format)
    return written


def check_tags(result: Explanation, tags: Iterable[str]) -> list[str]:
    """The tags asked for, or UsageError naming the explained ones: a typo must not leave half a folder."""
    wanted = list(tags)
    missing = [tag for tag in wanted if tag not in result.tag_names]
    if missing:
        named = "tag " + repr(missing[0]) + " was" if len(missing) == 1 else f"tags {missing} were"
        raise UsageError(f"{named} not explained; explained: {', '.join(result.tag_names)}")
    return wanted


def save_result(job: Job, out_dir: Path) -> Path:
    """The job document as the API gave it (tagger header values already "[redacted]" there)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULT_FILE
    path.write_text(json.dumps(job.raw, indent=2, ensure_ascii=False) + "\n")
    return path
