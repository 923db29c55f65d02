"""A study's report as a figure (PNG or SVG): the audioLIME paper's Figure 2, per tag.

One row per tag, three panels: how often the top-k components alone keep the tag on top (with
the Wilson 95 % interval, against k random positive components and the comparison separator),
beside how often the tagger verified a sufficient set of at most k; how often removing them
drops it from the top (against removing k random ones), beside how often a verified necessary
set of at most k was found; and each source's median share of the positive weight over the
clips, with quartile whiskers. The row's title says in how many clips the tag is confounded by
the tagger's answer to the all-off mix.

matplotlib is imported inside `render`, so the API starts without it; the figure is drawn on
its own Agg canvas (no pyplot, no backend switch), and the few settings that must be global
(rcParams, read at save time) are set in a context under a lock, so concurrent requests never
see each other's. The same report always gives the same bytes: fixed SVG ids, no dates.
"""
from __future__ import annotations

import io
import threading

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
DPI = 100
MAX_TAGS = 12  # rows drawn; the report JSON has the others
ROW_HEIGHT, WIDTH = 3.0, 13.0  # inches
KEPT, RANDOM, COMPARISON = "#1f5f8b", "#7a7a7a", "#c26a00"  # the page's accent, grey, orange
DROPPED = "#a4161a"
SUFFICIENT, NECESSARY = "#2e7d32", "#6a3d9a"  # the verified parts: green, purple
SHARE = "#5b8db8"
RC = {"svg.hashsalt": "audiolime-study", "svg.fonttype": "none", "font.size": 9,
      "axes.spines.top": False, "axes.spines.right": False}
NO_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}
_LOCK = threading.Lock()  # rcParams are process-wide: one render at a time sets and restores them


def render(report: dict, fmt: str, *, comparison: str | None = None) -> bytes:
    """The report's figure as PNG or SVG bytes; `comparison` names the comparison separator in the legend."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {fmt!r}")
    from matplotlib import rc_context  # noqa: PLC0415 - slow to import: only when a figure is asked for
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    tags = report.get("tags") or []
    shown = tags[:MAX_TAGS]
    with _LOCK, rc_context(RC):
        figure = Figure(figsize=(WIDTH, 0.9 + ROW_HEIGHT * max(1, len(shown))), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        figure.suptitle(_title(report, len(tags) - len(shown)), fontsize=11)
        if not shown:
            _nothing(figure)
        else:
            rows = figure.subplots(len(shown), 3, squeeze=False)
            for axes, tag in zip(rows, shown):
                _tag_row(axes, tag, comparison)
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, dpi=DPI, metadata=NO_METADATA[fmt])
    return buffer.getvalue()


def media_type(fmt: str) -> str:
    return FORMATS[fmt]


def _title(report: dict, hidden: int) -> str:
    clips = report.get("clips", 0)
    failed = len(report.get("failed") or [])
    title = f"Study over {clips} clip{'' if clips == 1 else 's'}"
    if failed:
        title += f" ({failed} more failed and {'is' if failed == 1 else 'are'} left out)"
    if hidden:
        title += f"; {hidden} more tag{'' if hidden == 1 else 's'} in the report"
    return title


def _nothing(figure) -> None:
    ax = figure.subplots()
    ax.set_axis_off()
    ax.text(0.5, 0.5, "no clip's explanation finished: nothing to draw", ha="center", va="center")


def _tag_row(axes, tag: dict, comparison: str | None) -> None:
    keep, drop, shares = axes
    rows = tag.get("faithfulness") or []
    _kept_panel(keep, tag, rows, comparison)
    _dropped_panel(drop, tag, rows)
    _shares_panel(shares, tag)


def _kept_panel(ax, tag: dict, rows: list[dict], comparison: str | None) -> None:
    ax.set_title(f"“{tag['tag']}”: kept on top by its top-k alone ({_clips(tag)}{_confounded(tag)})",
                 fontsize=9, loc="left")
    if not _draw_share(ax, rows, "share", "share_interval", KEPT, "top-k of the explanation"):
        _note(ax, "no self-check rows" if tag.get("clips") else "not fitted on any clip")
        return
    _draw_share(ax, rows, "sufficient_share", "sufficient_interval", SUFFICIENT,
                "a verified sufficient set of ≤ k", offset=0.06)
    _line(ax, rows, "random_share", RANDOM, "k random positive components", "--", "s")
    if any(row.get("comparison_share") is not None for row in rows):
        _line(ax, rows, "comparison_share", COMPARISON, f"top-k with {comparison or 'the comparison separator'}",
              ":", "^", hollow=True)  # hollow: where it equals the explanation's share, both show
    _k_axis(ax, rows, "share of clips")


def _dropped_panel(ax, tag: dict, rows: list[dict]) -> None:
    ax.set_title("dropped from the top without its top-k", fontsize=9, loc="left")
    drawn = _draw_share(ax, rows, "dropped_share", "dropped_interval", DROPPED, "top-k removed")
    drawn = _draw_share(ax, rows, "necessary_share", "necessary_interval", NECESSARY,
                        "a verified necessary set of ≤ k", offset=0.06) or drawn
    if not drawn:
        _note(ax, "no deletion checks and no verified parts")
        return
    _line(ax, rows, "random_dropped_share", RANDOM, "k random positive components removed", "--", "s")
    _k_axis(ax, rows, "share of clips")


def _draw_share(ax, rows: list[dict], key: str, interval_key: str, colour: str, label: str,
                offset: float = 0.0) -> bool:
    """A share per k with its Wilson interval as error bars (shifted by `offset` along k, so that two
    series' bars stay apart); False when no row has one."""
    points = [(row["k"], row[key], row.get(interval_key)) for row in rows if row.get(key) is not None]
    if not points:
        return False
    ks = [k + offset for k, _, _ in points]
    values = [v for _, v, _ in points]
    # Clamped: a report stored before the interval's ends were exact may lie 1e-17 outside its share.
    low = [max(0.0, v - (i[0] if i else v)) for _, v, i in points]
    high = [max(0.0, (i[1] if i else v) - v) for _, v, i in points]
    ax.errorbar(ks, values, yerr=[low, high], color=colour, marker="o", capsize=4, linewidth=1.6,
                label=f"{label} (95 % interval)")
    return True


def _line(ax, rows: list[dict], key: str, colour: str, label: str, style: str, marker: str,
          hollow: bool = False) -> None:
    points = [(row["k"], row[key]) for row in rows if row.get(key) is not None]
    if points:
        ax.plot([k for k, _ in points], [v for _, v in points], color=colour, linestyle=style, marker=marker,
                markersize=9 if hollow else 5, markerfacecolor="none" if hollow else colour, linewidth=1.3,
                label=label)


def _k_axis(ax, rows: list[dict], ylabel: str) -> None:
    ks = [row["k"] for row in rows]
    ax.set_xticks(ks)
    ax.set_xlim(min(ks) - 0.3, max(ks) + 0.3)
    ax.set_ylim(-0.04, 1.04)
    ax.set_xlabel("k (components)")
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="#e4e4e4", linewidth=0.6)
    ax.set_axisbelow(True)
    handles, labels = ax.get_legend_handles_labels()
    first = sorted(range(len(labels)), key=lambda i: "95 %" not in labels[i])  # the explanation's own first
    ax.legend([handles[i] for i in first], [labels[i] for i in first], fontsize=7, loc="best", frameon=False)


def _shares_panel(ax, tag: dict) -> None:
    ax.set_title("share of the positive weight, per source", fontsize=9, loc="left")
    quartiles = tag.get("source_share_quartiles") or {}
    names = [name for name in tag.get("source_shares") or {} if name in quartiles]
    if not names:
        _note(ax, "no clip has a positive weight for this tag")
        return
    medians = [tag["source_shares"][name] for name in names]
    low = [m - quartiles[name][0] for name, m in zip(names, medians)]
    high = [quartiles[name][2] - m for name, m in zip(names, medians)]
    positions = list(range(len(names)))
    ax.bar(positions, medians, color=SHARE, width=0.6)
    ax.errorbar(positions, medians, yerr=[low, high], fmt="none", ecolor="#20313f", capsize=5, linewidth=1.2)
    for x, value in zip(positions, medians):
        ax.text(x + 0.32, value, f"{100 * value:.0f} %", ha="left", va="center", fontsize=7)
    ax.set_xticks(positions, names, rotation=30 if len(names) > 4 else 0, fontsize=8)
    ax.set_xlim(-0.6, len(names) - 0.1)
    ax.set_ylim(0, 1.04)
    ax.set_ylabel("median over the clips (whiskers: quartiles)")
    ax.grid(axis="y", color="#e4e4e4", linewidth=0.6)
    ax.set_axisbelow(True)


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#5c5c5c")
    ax.set_xticks([])
    ax.set_yticks([])


def _confounded(tag: dict) -> str:
    flagged = tag.get("confounded") or {}
    if not flagged.get("clips") or not flagged.get("confounded"):
        return ""
    return f"; confounded by silence in {flagged['confounded']} of {flagged['clips']}"


def _clips(tag: dict) -> str:
    clips = tag.get("clips", 0)
    text = f"{clips} clip{'' if clips == 1 else 's'}"
    unfitted = tag.get("unfitted") or 0
    return text + (f", {unfitted} unfitted" if unfitted else "")

