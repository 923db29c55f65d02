"""A finished job on disk: result.json, sources/, the top-k mixes (and components/ if asked).

    out/result.json                      the job document (request, result, stats…)
    out/sources/<source>.wav             every separated (or provided) source
    out/explanation-<tag>-top<k>.wav     the mix of the tag's top-k positive components, per tag
    out/components/<index>-<name>.wav    every component, when asked for
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from audiolime_client.errors import raise_for_outcome
from audiolime_client.models import Job

if TYPE_CHECKING:
    from audiolime_client.client import Client

RESULT_FILE = "result.json"


def slug(text: str) -> str:
    """A file-name-safe form of a tag or source name ("female vocalists" -> "female-vocalists")."""
    return re.sub(r"[^A-Za-z0-9._]+", "-", text).strip("-.") or "unnamed"


PARTS = ("result", "sources", "explanation", "components")


def save_job_files(client: "Client", job: Job, out_dir: Path, *, parts: Iterable[str] = PARTS[:3],
                   tags: Iterable[str] | None = None, k: int = 3, audio_format: str = "wav") -> dict[str, Path]:
    """The chosen parts of a finished job ({what: path}); JobFailed / JobCancelled if it did not finish.
    `tags` limits the explanation mixes to those tags (default: every explained tag)."""
    result = raise_for_outcome(job).result
    if result is None:
        raise ValueError(f"job {job.id} has no result yet")
    parts = set(parts)
    unknown = parts - set(PARTS)
    if unknown:
        raise ValueError(f"unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}")
    written = {"result": save_result(job, out_dir)} if "result" in parts else {}
    if "sources" in parts:
        for name in result.sources:
            written[f"source:{name}"] = client.download_source(
                job, name, out_dir / "sources" / f"{slug(name)}.{audio_format}", format=audio_format)
    if "explanation" in parts:
        for tag in result.tag_names if tags is None else [result.tag(t).tag for t in tags]:
            written[f"explanation:{tag}"] = client.download_explanation(
                job, tag, k, out_dir / f"explanation-{slug(tag)}-top{k}.{audio_format}", format=audio_format)
    if "components" in parts:
        for component in result.components:
            target = out_dir / "components" / f"{component.index:03d}-{slug(component.name)}.{audio_format}"
            written[f"component:{component.index}"] = client.download_component(
                job, component.index, target, format=audio_format)
    return written


def save_result(job: Job, out_dir: Path) -> Path:
    """The job document as the API gave it (tagger header values already "[redacted]" there)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULT_FILE
    path.write_text(json.dumps(job.raw, indent=2, ensure_ascii=False) + "\n")
    return path
