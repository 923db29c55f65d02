"""Plain-text tables for the terminal: top components, the self-check, job status, job lists."""
from __future__ import annotations

from typing import Iterable, Sequence

from audiolime_client.defaults import DEFAULT_ROWS
from audiolime_client.models import Explanation, Job, TagExplanation


def table(header: Sequence[str], rows: Iterable[Sequence[object]], right: Sequence[int] = (),
          indent: str = "  ") -> str:
    """Columns padded to their widest cell; the columns listed in `right` are right-aligned."""
    cells = [list(map(str, header))] + [list(map(str, row)) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        padded = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append(indent + "  ".join(padded).rstrip())
    return "\n".join(lines)


def tag_heading(explained: TagExplanation) -> str:
    return (f"“{explained.tag}”: tag score {explained.original_score:.4f}, surrogate R² {explained.score:.3f}, "
            f"intercept {explained.intercept:+.4f}")


def top_components_table(explanation: Explanation, tag: str, rows: int) -> str:
    ranked = explanation.top_components(tag, rows)
    return table(("rank", "source", "time span", "weight"),
                 ((r.rank, r.component.source, r.component.span, f"{r.weight:+.4f}") for r in ranked),
                 right=(0, 2, 3))


def self_check_table(explanation: Explanation, tag: str) -> str:
    explained = explanation.tag(tag)
    checks = explained.self_check
    if explained.error and explained.error.get("stage") == "checking":
        return f"  (no self-check: {explained.error['detail']})"
    if not checks:
        return f"  ({explained.self_check_note or 'no self-check: self_check_k was 0'})"
    components, rows, before = explanation.components, [], set()
    for row in checks:  # each k adds the next-ranked components to those of k-1: show what it adds
        added = [components[i].name for i in row.components if i not in before]
        before |= set(row.components)
        rows.append((row.k, "+ " + ", ".join(added), f"{row.score:.4f}", row.top_tag, "yes" if row.still_top else "NO"))
    return table(("k", "adds", "tag score", "top tag", "still top"), rows, right=(0, 2))


def report(explanation: Explanation, rows: int = DEFAULT_ROWS) -> str:
    """What `explain` prints per tag: the top components, then the self-check."""
    parts = []
    for explained in explanation.tags:
        if explained.error and explained.error.get("stage") == "fitting":
            parts += [tag_heading(explained), f"  (not explained: {explained.error['detail']})", ""]
            continue
        parts += [tag_heading(explained), top_components_table(explanation, explained.tag, rows),
                  "  self-check — the tagger on the mix of the top-k positive components alone:",
                  self_check_table(explanation, explained.tag), ""]
    return "\n".join(parts)


def status_lines(job: Job) -> str:
    progress = job.progress
    lines = [f"id        {job.id}",
             f"status    {job.status} (stage {job.stage.value})",
             f"progress  {progress.percent:.1f}% ({progress.done}/{progress.total} tagger calls)",
             f"created   {job.created_at:%Y-%m-%d %H:%M:%S %Z}"]
    if job.finished_at is not None:
        lines.append(f"ended     {job.finished_at:%Y-%m-%d %H:%M:%S %Z}")
    lines.append(f"expires   {job.expires_at:%Y-%m-%d %H:%M:%S %Z}")
    if job.attempts is not None:
        lines.append(f"attempts  {job.attempts}")
    if job.error is not None:
        lines.append(f"error     {job.error}")
    if job.result is not None:
        tags = ", ".join(f"{t.tag} (R² {t.score:.2f})" for t in job.result.tags)
        lines.append(f"tags      {tags}")
    return "\n".join(lines)


def job_list(jobs: Iterable[Job]) -> str:
    return table(("id", "status", "stage", "progress", "created"),
                 ((j.id, j.status, j.stage.value, f"{j.percent:.1f}%", f"{j.created_at:%Y-%m-%d %H:%M:%S}")
                  for j in jobs), right=(3,), indent="")
