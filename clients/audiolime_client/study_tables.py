"""A study's report as terminal tables: per tag the clips, source shares and top component; then per
tag the faithfulness table and, when the explanations searched for them, the verified parts table.
The cells are worded as the study page words them (shares in percent, intervals as "51–100 %", "—"
where a share has no clips).
"""
from __future__ import annotations

from audiolime_client.numbers import percent, percent_range
from audiolime_client.study_models import (
    FaithfulnessRow, Study, StudyClip, StudyReport, StudyTag, TopComponent, VerifiedShare,
)
from audiolime_client.phrases import plural
from audiolime_client.tables import table

NONE = "—"
TAGS_HEADER = ("tag", "clips", "source shares: median (quartiles)", "top component")
FAITHFULNESS_HEADER = ("k", "kept", "share", "95 % interval", "random", "comparison", "dropped", "dropped share",
                       "95 % interval", "random dropped")
VERIFIED_HEADER = ("k", "sufficient ≤ k", "share", "95 % interval", "necessary ≤ k", "share", "95 % interval")
CLIPS_HEADER = ("clip", "status", "explanation", "comparison", "error")


def share_text(share: float | None) -> str:
    return NONE if share is None else f"{percent(share)} %"


def interval_text(interval: tuple[float, float] | None) -> str:
    return NONE if interval is None else percent_range(*interval)


def source_shares_text(tag: StudyTag) -> str:
    """"harmonic 100 % (99–100 %), percussive 0 % (0–0.4 %)", largest median first."""
    names = sorted(tag.source_shares, key=lambda name: -tag.source_shares[name])
    return ", ".join(f"{name} {share_text(tag.source_shares[name])} "
                     f"({interval_text(_outer(tag.source_quartiles.get(name)))})" for name in names) or NONE


def _outer(quartiles: tuple[float, float, float] | None) -> tuple[float, float] | None:
    return None if quartiles is None else (quartiles[0], quartiles[2])


def top_component_text(tag: StudyTag) -> str:
    """The most frequent first-ranked component: "harmonic × segment 1 (6 of 6 clips)"."""
    if not tag.top_components:
        return NONE
    top = tag.top_components[0]
    return f"{component_name(top)} ({top.clips} of {plural(tag.clips, 'clip')})"


def component_name(top: TopComponent) -> str:
    return f"{top.source} × segment {top.segment}"


def faithfulness_cells(row: FaithfulnessRow) -> list[str]:
    """One k: kept of clips, its share and interval, the random baseline, the comparison, then deletion."""
    kept = f"{row.kept}/{row.clips}" if row.clips else NONE
    dropped = f"{row.dropped}/{row.deletion_clips}" if row.deletion_clips and row.dropped is not None else NONE
    return [str(row.k), kept, share_text(row.share), interval_text(row.share_interval), share_text(row.random_share),
            share_text(row.comparison_share), dropped, share_text(row.dropped_share),
            interval_text(row.dropped_interval), share_text(row.random_dropped_share)]


def verified_cells(row: FaithfulnessRow) -> list[str]:
    """One k: per part, the clips with a verified set of at most k components of the clips searched, the
    share and its interval."""
    return [str(row.k), *_verified_cells(row.sufficient), *_verified_cells(row.necessary)]


def _verified_cells(part: VerifiedShare) -> list[str]:
    found = f"{part.found}/{part.clips}" if part.clips and part.found is not None else NONE
    return [found, share_text(part.share), interval_text(part.interval)]


def searched(tag: StudyTag) -> bool:
    """Whether any clip's explanation of the tag ended a search for verified parts (verification on)."""
    return any(row.sufficient.clips or row.necessary.clips for row in tag.faithfulness)


def source_share_cells(tag: StudyTag, name: str) -> list[str]:
    return [name, share_text(tag.source_shares[name]), interval_text(_outer(tag.source_quartiles.get(name)))]


def segment_share_cells(tag: StudyTag, segment: int) -> list[str]:
    return [str(segment), share_text(tag.segment_shares[segment]),
            interval_text(_outer(tag.segment_quartiles.get(segment)))]


def top_component_cells(tag: StudyTag, top: TopComponent) -> list[str]:
    return [top.source, str(top.segment), f"{top.clips} of {tag.clips}"]


def tags_table(report: StudyReport) -> str:
    rows = [(tag.tag, tag.clips if not tag.unfitted else f"{tag.clips} (+{tag.unfitted} unfitted)",
             source_shares_text(tag), top_component_text(tag)) for tag in report.tags]
    return table(TAGS_HEADER, rows, right=(1,))


def faithfulness_table(tag: StudyTag) -> str:
    if not tag.faithfulness:
        return "  (no self-check rows: self_check_k was 0)"
    return table(FAITHFULNESS_HEADER, (faithfulness_cells(row) for row in tag.faithfulness), right=(0, 1, 6))


def verified_table(tag: StudyTag) -> str:
    return table(VERIFIED_HEADER, (verified_cells(row) for row in tag.faithfulness), right=(0, 1, 4))


def report_text(study: Study) -> str:
    """What `audiolime study` prints once the study has ended."""
    report = study.report
    if report is None:
        return f"study {study.id} has no report yet ({study.status})"
    if not report.tags:
        return "no clip's explanation finished: no statistics"
    parts = [tags_table(report), "", legend(study.comparison), ""]
    for tag in report.tags:
        parts += [f"“{tag.tag}”: faithfulness over {plural(tag.clips, 'clip')}", faithfulness_table(tag), ""]
        if searched(tag):
            parts += [f"“{tag.tag}”: verified by the tagger", verified_table(tag), ""]
    return "\n".join(parts).rstrip("\n")


def legend(comparison: str | None) -> str:
    against = f"the top-k of {comparison}'s explanations" if comparison else "none asked (--compare)"
    return ("faithfulness per k — kept: the top-k alone keep the tag on top (share of the clips, 95 % interval);\n"
            "  dropped: removing the top-k drops it; random: k random positive components instead;\n"
            f"  comparison: {against}\n"
            "verified per k — sufficient: the tagger keeps the tag in its place on a mix of at most k components\n"
            "  alone; necessary: it takes the tag from there on the mix without at most k (of the clips searched)")


def failed_lines(clips: tuple[StudyClip, ...]) -> list[str]:
    return [f"  {clip.clip}: {clip.error_text}" for clip in clips if clip.status in ("failed", "cancelled")]


def clip_cells(clip: StudyClip) -> list[str]:
    return [clip.clip, clip.status, clip.explanation, clip.comparison or NONE, clip.error_text or ""]


def status_lines(study: Study) -> str:
    progress = study.progress
    lines = [f"id        {study.id}",
             f"status    {study.status}",
             f"progress  {progress.done}/{progress.total} clips ended ({progress.percent:.1f}%), {progress.failed} "
             f"failed, {progress.cancelled} cancelled; tagger calls {progress.tagger_calls_done}/"
             f"{progress.tagger_calls_total}",
             f"created   {study.created_at:%Y-%m-%d %H:%M:%S %Z}"]
    if study.finished_at is not None:
        lines.append(f"ended     {study.finished_at:%Y-%m-%d %H:%M:%S %Z}")
    lines.append(f"expires   {study.expires_at:%Y-%m-%d %H:%M:%S %Z}")
    if study.clips:
        lines += ["", table(CLIPS_HEADER, (clip_cells(clip) for clip in study.clips), indent="")]
    return "\n".join(lines)
