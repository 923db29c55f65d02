"""A study's report: what the explanations of many clips say together, and how faithful they are
(the audioLIME paper's Figure 2: how often the top-k components alone keep the tag on top,
against k random positive components and another separator's explanations), and how often the
tagger itself verified a sufficient set, or a necessary one, of at most k components (issue 16's
verified parts), and in how many clips the tag is confounded by the tagger's answer to silence.

Pure (numpy only): it reads finished explanation results as the API returns them. Clips are
grouped by the tag each explained; a clip that explained several tags counts in each.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import sqrt

import numpy as np

Z95 = 1.959963984540054  # the normal quantile of a two-sided 95 % interval
PARTS = ("sufficient", "necessary")


def wilson_interval(successes: int, trials: int, z: float = Z95) -> list[float] | None:
    """The Wilson score interval of a proportion (None for no trials): honest at 0 and n."""
    if trials <= 0:
        return None
    p, z2 = successes / trials, z * z
    centre = p + z2 / (2 * trials)
    spread = z * sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    low, high = (centre - spread) / (1 + z2 / trials), (centre + spread) / (1 + z2 / trials)
    # At 0 and n the bound is exactly p, but the formula leaves a rounding error (3e-17 above 0 for
    # 0 of 6): the interval must hold its own share, or an error bar drawn from it has negative length.
    return [0.0 if successes == 0 else min(p, max(0.0, low)), 1.0 if successes == trials else max(p, min(1.0, high))]


@dataclass
class _Explained:
    """One clip's explanation of one tag, as the report needs it."""
    clip: str
    sources: dict[str, float] | None  # share of the positive weight per source; None: no positive weight
    segments: dict[str, float] | None
    top: tuple[str, int] | None  # the first-ranked component, when its weight is positive
    kept: dict[int, bool] = field(default_factory=dict)  # k -> the self-check's still_top
    dropped: dict[int, bool] = field(default_factory=dict)  # k -> deletion's dropped
    random_keep: dict[int, float] = field(default_factory=dict)  # k -> share of random draws kept on top
    random_drop: dict[int, float] = field(default_factory=dict)  # k -> share of random removals that dropped
    k_max: int = 0
    parts: dict[str, int | None] = field(default_factory=dict)  # part -> size of the verified set (None: none)
    confounded: bool | None = None  # by the all-off mix (None: no baseline)


def _shares(result: dict, tag: dict, weights: np.ndarray) -> tuple[dict | None, dict | None]:
    positive = np.clip(weights, 0.0, None)
    if positive.sum() <= 0:
        return None, None
    groups = tag.get("groups")
    if groups:
        return ({g["name"]: float(g["positive_share"]) for g in groups["sources"]},
                {str(g["name"]): float(g["positive_share"]) for g in groups["segments"]})
    sources, segments = {}, {}  # a result without groups: the same shares, from the weights
    for component, share in zip(result["components"], positive / positive.sum()):
        sources[component["source"]] = sources.get(component["source"], 0.0) + float(share)
        segments[str(component["segment"])] = segments.get(str(component["segment"]), 0.0) + float(share)
    return sources, segments


def _explained(clip: str, result: dict, tag: dict) -> _Explained:
    weights = np.asarray(tag["weights"], dtype=np.float64)
    sources, segments = _shares(result, tag, weights)
    first = int(np.argsort(-weights, kind="stable")[0]) if len(weights) else None
    top = None
    if first is not None and weights[first] > 0:
        top = (result["components"][first]["source"], int(result["components"][first]["segment"]))
    explained = _Explained(clip, sources, segments, top)
    explained.kept = {int(r["k"]): bool(r["still_top"]) for r in tag.get("self_check") or []}
    explained.k_max = max(explained.kept, default=0)
    faithfulness = tag.get("faithfulness")
    if faithfulness:
        explained.k_max = max(explained.k_max, int(faithfulness["k_max"]))
        explained.dropped = {int(r["k"]): bool(r["dropped"]) for r in faithfulness.get("remove") or []}
        random = faithfulness.get("random") or {}
        explained.random_keep = {k: float(s) for k, s in enumerate(random.get("keep", []), start=1)}
        explained.random_drop = {k: float(s) for k, s in enumerate(random.get("remove", []), start=1)}
    for part in PARTS:
        found = tag.get(part)
        if found and not found.get("error"):  # a search that ended (one that failed says nothing)
            explained.parts[part] = found["size"] if found["found"] else None
            explained.k_max = max(explained.k_max, int(found.get("max_size") or 0))
    if tag.get("baseline"):
        explained.confounded = bool(tag["baseline"]["confounded"])
    return explained


def _by_tag(clips: list[dict]) -> tuple[dict[str, list[_Explained]], dict[str, int]]:
    """Each tag's fitted explanations over the clips, and how many clips' fits of it failed."""
    explained: dict[str, list[_Explained]] = {}
    unfitted: dict[str, int] = {}
    for item in clips:
        for tag in item["result"]["tags"]:
            if (tag.get("error") or {}).get("stage") == "fitting":  # zero weights that mean nothing
                unfitted[tag["tag"]] = unfitted.get(tag["tag"], 0) + 1
                continue
            explained.setdefault(tag["tag"], []).append(_explained(item["clip"], item["result"], tag))
    return explained, unfitted


def _medians(shares: list[dict[str, float]], order) -> tuple[dict, dict]:
    medians, quartiles = {}, {}
    for name in order:
        values = [s[name] for s in shares if name in s]
        if values:
            q1, median, q3 = (float(q) for q in np.percentile(values, [25, 50, 75]))
            medians[name], quartiles[name] = median, [q1, median, q3]
    return medians, quartiles


def _names(shares: list[dict[str, float]], key=None) -> list[str]:
    names = list(dict.fromkeys(name for s in shares for name in s))
    return sorted(names, key=key) if key else names


def _top_components(group: list[_Explained]) -> list[dict]:
    counts: dict[tuple[str, int], int] = {}
    for e in group:
        if e.top is not None:
            counts[e.top] = counts.get(e.top, 0) + 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0][0], item[0][1]))
    return [{"source": source, "segment": segment, "clips": n} for (source, segment), n in ranked]


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _share(hits: list[bool]) -> tuple[int | None, float | None, list[float] | None]:
    if not hits:
        return None, None, None
    return sum(hits), sum(hits) / len(hits), wilson_interval(sum(hits), len(hits))


def _verified(k: int, group: list[_Explained]) -> dict:
    """Per part, the clips whose search found a verified set of at most k components."""
    row = {}
    for part in PARTS:
        searched = [e.parts[part] for e in group if part in e.parts]
        hits, share, interval = _share([size is not None and size <= k for size in searched])
        row.update({f"{part}_clips": len(searched), part: hits, f"{part}_share": share,
                    f"{part}_interval": interval})
    return row


def _confounded(group: list[_Explained]) -> dict:
    flags = [e.confounded for e in group if e.confounded is not None]
    hits, share, interval = _share(flags)
    return {"clips": len(flags), "confounded": hits, "share": share, "interval": interval}


def _faithfulness_row(k: int, group: list[_Explained], compared: list[_Explained]) -> dict:
    kept = [e.kept[k] for e in group if k in e.kept]
    dropped = [e.dropped[k] for e in group if k in e.dropped]
    compared_kept = [e.kept[k] for e in compared if k in e.kept]
    n_kept, share, interval = _share(kept)
    n_dropped, dropped_share, dropped_interval = _share(dropped)
    return {"k": k, "clips": len(kept), "kept": n_kept or 0, "share": share, "share_interval": interval,
            "random_share": _mean([e.random_keep[k] for e in group if k in e.random_keep]),
            "comparison_share": _share(compared_kept)[1], "comparison_clips": len(compared_kept),
            "deletion_clips": len(dropped), "dropped": n_dropped, "dropped_share": dropped_share,
            "dropped_interval": dropped_interval,
            "random_dropped_share": _mean([e.random_drop[k] for e in group if k in e.random_drop]),
            **_verified(k, group)}


def _tag_report(tag: str, group: list[_Explained], compared: list[_Explained], unfitted: int,
                k_max: int | None) -> dict:
    sources = [e.sources for e in group if e.sources is not None]
    segments = [e.segments for e in group if e.segments is not None]
    source_shares, source_quartiles = _medians(sources, _names(sources))
    segment_shares, segment_quartiles = _medians(segments, _names(segments, key=int))
    clips = {e.clip for e in group}
    compared = [e for e in compared if e.clip in clips]  # the comparison on the same clips only
    depth = k_max if k_max is not None else max((e.k_max for e in group), default=0)
    return {"tag": tag, "clips": len(group), "unfitted": unfitted, "source_shares": source_shares,
            "source_share_quartiles": source_quartiles, "segment_shares": segment_shares,
            "segment_share_quartiles": segment_quartiles, "top_components": _top_components(group),
            "confounded": _confounded(group),
            "faithfulness": [_faithfulness_row(k, group, compared) for k in range(1, depth + 1)]}


def _calls(clips: list[dict], name: str) -> int:
    return int(sum(item["result"].get("stats", {}).get(name) or 0 for item in clips))


def build_report(clips: list[dict], comparison: list[dict] | None = None, k_max: int | None = None,
                 failed: list[dict] | None = None) -> dict:
    """The study's report from its finished clips ({"clip", "result"}), the comparison separator's
    finished clips (the same form, or None), and the failed clips ({"clip", "error"})."""
    comparison = comparison or []
    explained, unfitted = _by_tag(clips)
    compared, _ = _by_tag(comparison)
    order = sorted(set(explained) | set(unfitted), key=lambda t: (-len(explained.get(t, [])), t))
    return {"clips": len(clips),
            "failed": [{"clip": f["clip"], "error": f.get("error")} for f in failed or []],
            "tags": [_tag_report(t, explained.get(t, []), compared.get(t, []), unfitted.get(t, 0), k_max)
                     for t in order],
            "calls": {"explanations": _calls(clips, "tagger_calls"),
                      "faithfulness": _calls(clips, "faithfulness_calls"),
                      "verification": _calls(clips, "verification_calls"),
                      "comparison": _calls(comparison, "tagger_calls")}}
