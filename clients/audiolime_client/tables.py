"""Plain-text tables for the terminal: the claim, top components, shares, the self-check, job status, lists."""
from __future__ import annotations

from typing import Iterable, Sequence

from audiolime_client.defaults import DEFAULT_ROWS
from audiolime_client.models import Component, Explanation, Job, TagExplanation
from audiolime_client.numbers import confidence_text, percent
from audiolime_client.parts import baseline_lines, part_lines
from audiolime_client.phrases import plural, reuse_text, tolerant_clause
from audiolime_client.progress import confidence_line
from audiolime_client.stability import GroupShare
from audiolime_client.stats import Stats

SEGMENTS_SHOWN = 3  # segments named in a tag's one line of segment shares
STOP_REASONS = {"converged": "converged", "max_samples": "at max_samples, not converged",
                "exhaustive": "every mask asked once (exhaustive)", "fixed": "fixed count"}


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


def label(component: Component) -> str:
    """"bass 2.00–3.00 s": a component as the report and the listening page name it."""
    return f"{component.source} {component.span}"


def top_components_table(explanation: Explanation, tag: str, rows: int) -> str:
    ranked = explanation.top_components(tag, rows)
    if explanation.tag(tag).weight_interval is None:  # a result from before intervals
        return table(("rank", "source", "time span", "weight"),
                     ((r.rank, r.component.source, r.component.span, f"{r.weight:+.4f}") for r in ranked),
                     right=(0, 2, 3))
    return table(("rank", "source", "time span", "weight", "95 % interval"),
                 ((r.rank, r.component.source, r.component.span, f"{r.weight:+.4f}",
                   interval_text(r.weight, r.interval)) for r in ranked), right=(0, 2, 3))


def interval_text(weight: float, interval: tuple[float, float]) -> str:
    """"± 0.0008" around the weight, or "+0.0001 to +0.0009" when it is not symmetric; ", spans 0" when
    the interval includes 0 (the sign of the weight is not sure)."""
    low, high = interval
    half = (high - low) / 2
    symmetric = abs((low + high) / 2 - weight) <= 1e-9 * max(1.0, abs(weight))
    text = f"± {half:.4f}" if symmetric else f"{low:+.4f} to {high:+.4f}"
    return text + (", spans 0" if low <= 0 <= high else "")


def claim_line(explanation: Explanation, explained: TagExplanation) -> str | None:
    """The claim about the tag's top components, its confidence, and the ties it cannot order."""
    claim = explained.stability
    if claim is None:
        return None
    names = [label(explanation.components[i]) for i in claim.sure]
    target = "" if claim.target is None else (
        f" (target {confidence_text(claim.target)}{'' if claim.converged else ', not reached'})")
    if claim.claimed == 0:
        return (f"no component claimed at confidence {confidence_text(claim.confidence)}{target}: "
                "none surely raises the tag")
    what = f"top {claim.claimed} claimed" if claim.claimed >= claim.top_k else \
        f"{plural(claim.claimed, 'component')} claimed (fewer than {claim.top_k} matter)"
    if claim.kind == "tolerant":  # the claim is up to the tolerance: say so where the claim is said
        what += " " + tolerant_clause(None if claim.tolerance is None else percent(claim.tolerance))
    line = f"{what} at confidence {confidence_text(claim.confidence)}{target}"
    if not claim.tied:
        return f"{line}: {', '.join(names)}"
    members = ", ".join(names)
    if claim.tie_slots > 0:
        slots = f"any {claim.tie_slots} of the {len(claim.tied)} tied components"
        members = f"{members} and {slots}" if members else slots
    tied = ", ".join(label(explanation.components[i]) for i in claim.tied)
    tolerance = "" if claim.tolerance is None else f"within {percent(claim.tolerance)} % of each other: "
    return f"{line}: {members}\n  tied: {tied} ({tolerance}which of them belong is not claimed)"


def shares_lines(explanation: Explanation, explained: TagExplanation) -> list[str]:
    """Per source, then briefly per segment: the share of the tag's positive weight, with its interval."""
    groups = explained.groups
    if groups is None:
        return []
    lines = []
    by_source = sorted(groups.sources, key=lambda g: -g.positive_share)
    if by_source:
        first, rest = by_source[0], by_source[1:]
        lines.append(f"  sources: {first.name} carries {first.share_text} of the positive weight"
                     + "".join(f"; {g.name} {g.share_text}" for g in rest))
    by_segment = sorted(groups.segments, key=lambda g: -g.positive_share)
    if by_segment:
        shown = ", ".join(f"{_segment_name(explanation, g)} {g.share_text}" for g in by_segment[:SEGMENTS_SHOWN])
        more = len(by_segment) - SEGMENTS_SHOWN
        lines.append(f"  segments: {shown}" + (f"; {plural(more, 'more segment')}" if more > 0 else ""))
    return lines


def _segment_name(explanation: Explanation, group: GroupShare) -> str:
    """A segment group's time span ("2.00–3.00 s"); the API names segment groups by their index."""
    try:
        segment = explanation.segments[int(group.name)]
    except (ValueError, IndexError):
        return group.name
    return f"{segment.start:.2f}–{segment.end:.2f} s"


def sampling_line(stats: Stats) -> str | None:
    """How the run sampled, why it stopped, and what it cost."""
    if stats.strategy is None:  # a result from before adaptive sampling
        return None
    reason = STOP_REASONS.get(stats.stop_reason, stats.stop_reason or "?")
    rounds = f" after {stats.rounds} round{'s' if stats.rounds != 1 else ''}" \
        if stats.rounds and stats.strategy == "adaptive" else ""
    reused = f", {plural(stats.reused, 'answer')} reused from earlier jobs" if stats.reused else ""
    return (f"sampling: {stats.strategy} ({stats.design}), stopped: {reason}{rounds}; {stats.samples} samples, "
            f"{stats.unique_masks} distinct masks; {plural(stats.tagger_calls, 'tagger call')}{reused}")


def reuse_line(stats: Stats) -> str | None:
    """What became of the answers kept from earlier jobs, as the page says it (phrases.reuse_text)."""
    text = reuse_text(stats.get("reuse"), stats.reused)
    return None if text is None else f"reuse: {text}"


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


def verified_lines(explained: TagExplanation) -> list[str]:
    """What the tagger said first: its baseline, and the verified sufficient and necessary parts."""
    return [*baseline_lines(explained.baseline, explained.tag), *part_lines(explained.sufficient),
            *part_lines(explained.necessary)]


def report(explanation: Explanation, rows: int = DEFAULT_ROWS) -> str:
    """What `explain` prints per tag: the baseline and the verified parts first, then the claim, the
    top components, the shares and the self-check."""
    parts = []
    for explained in explanation.tags:
        if explained.error and explained.error.get("stage") == "fitting":
            parts += [tag_heading(explained), f"  (not explained: {explained.error['detail']})", ""]
            continue
        claim = claim_line(explanation, explained)
        parts += [tag_heading(explained), *verified_lines(explained), *([f"  {claim}"] if claim else []),
                  top_components_table(explanation, explained.tag, rows), *shares_lines(explanation, explained),
                  "  self-check — the tagger on the mix of the top-k positive components alone:",
                  self_check_table(explanation, explained.tag), ""]
    return "\n".join(parts)


def status_lines(job: Job) -> str:
    progress = job.progress
    lines = [f"id        {job.id}",
             f"status    {job.status} (stage {job.stage.value})",
             f"progress  {progress.percent:.1f}% ({progress.done}/{progress.total} masks)"
             + ("" if progress.confidence is None else f", {confidence_line(job, ' of ')}"),
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
        sampling = sampling_line(job.result.stats)
        if sampling:
            lines.append(f"sampling  {sampling.removeprefix('sampling: ')}")
        reuse = reuse_line(job.result.stats)
        if reuse:
            lines.append(f"reuse     {reuse.removeprefix('reuse: ')}")
    return "\n".join(lines)


def job_list(jobs: Iterable[Job]) -> str:
    return table(("id", "status", "stage", "progress", "created"),
                 ((j.id, j.status, j.stage.value, f"{j.percent:.1f}%", f"{j.created_at:%Y-%m-%d %H:%M:%S}")
                  for j in jobs), right=(3,), indent="")
