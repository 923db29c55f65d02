"""The paper's picture: a tag's weights over sources (rows) × time segments (columns).

One panel per explained tag, a diverging colour map centred on 0 (red: the component raises
the tag's score, blue: it lowers it), columns as wide as their segments, saved as PNG and SVG.
The PNG carries its own geometry in a text chunk ("audiolime:heatmap": each panel's plot area
in pixels and its colour limit), so a program can read the cells back from the picture.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from audiolime_client.models import Explanation

COLORMAP = "RdBu_r"
DPI = 120
METADATA_KEY = "audiolime:heatmap"
MAX_ANNOTATED_CELLS = 120  # above this, numbers in the cells are too small to read


@dataclass(frozen=True)
class Panel:
    """What one tag's panel shows."""
    tag: str
    grid: np.ndarray  # sources × segments
    limit: float  # the colour scale runs from -limit to +limit
    score: float  # surrogate R²
    original_score: float


@dataclass(frozen=True)
class HeatmapFiles:
    png: Path
    svg: Path
    boxes: dict[str, tuple[int, int, int, int]]  # per tag: plot area (left, top, right, bottom) in PNG pixels


def panels(explanation: Explanation, tags: Sequence[str] | None = None) -> list[Panel]:
    chosen = explanation.tag_names if tags is None else list(tags)
    result = []
    for tag in chosen:
        grid, explained = explanation.weights_grid(tag), explanation.tag(tag)
        limit = float(np.max(np.abs(grid))) or 1e-12  # all zero: any scale shows white
        result.append(Panel(tag, grid, limit, explained.score, explained.original_score))
    return result


def render(explanation: Explanation, out_base: str | Path, tags: Sequence[str] | None = None) -> HeatmapFiles:
    """Write `<out_base>.png` and `<out_base>.svg`."""
    out_base = Path(out_base)
    out_base.parent.mkdir(parents=True, exist_ok=True)
    shown = panels(explanation, tags)
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "audiolime"}):  # SVG text stays text
        figure, axes = _figure(explanation, shown)
        boxes = _pixel_boxes(figure, axes, shown)
        metadata = {"sources": list(explanation.sources), "colormap": COLORMAP,
                    "segments": [[s.start, s.end] for s in explanation.segments],
                    "panels": [{"tag": p.tag, "box": boxes[p.tag], "limit": p.limit} for p in shown]}
        png, svg = out_base.with_suffix(".png"), out_base.with_suffix(".svg")
        figure.savefig(png, dpi=DPI, metadata={METADATA_KEY: json.dumps(metadata)})
        figure.savefig(svg)
    return HeatmapFiles(png, svg, boxes)


def png_bytes(explanation: Explanation, tags: Sequence[str] | None = None) -> bytes:
    """The heat map as PNG bytes, for showing inline (a notebook)."""
    figure, _ = _figure(explanation, panels(explanation, tags))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _figure(explanation: Explanation, shown: list[Panel]) -> tuple[Figure, list]:
    n_sources, n_segments = len(explanation.sources), len(explanation.segments)
    width = min(24.0, max(7.0, 2.5 + 0.8 * n_segments))
    height = len(shown) * (1.4 + 0.45 * n_sources)
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # Agg: no display needed
    axes = figure.subplots(len(shown), 1, squeeze=False)[:, 0]
    for ax, panel in zip(axes, shown):
        _draw_panel(figure, ax, explanation, panel)
    return figure, list(axes)


def _draw_panel(figure: Figure, ax, explanation: Explanation, panel: Panel) -> None:
    edges = [explanation.segments[0].start] + [s.end for s in explanation.segments]
    rows = np.arange(len(explanation.sources) + 1)
    mesh = ax.pcolormesh(edges, rows, panel.grid, cmap=COLORMAP, vmin=-panel.limit, vmax=panel.limit,
                         edgecolors="white", linewidth=0.5)
    ax.set_ylim(len(explanation.sources), 0)  # first source on top, as listed in the result
    ax.set_yticks(rows[:-1] + 0.5, explanation.sources)
    ax.set_xticks([(s.start + s.end) / 2 for s in explanation.segments],
                  [f"{s.start:.2f}–{s.end:.2f}" for s in explanation.segments],
                  rotation=30 if len(explanation.segments) > 6 else 0, ha="center", fontsize=8)
    ax.set_xlabel("time segment (s)")
    ax.set_ylabel("source")
    ax.set_title(f"“{panel.tag}”: weights per component — surrogate R² {panel.score:.2f}, "
                 f"tag score {panel.original_score:.3f}", fontsize=10)
    colorbar = figure.colorbar(mesh, ax=ax, fraction=0.04, pad=0.01)
    colorbar.set_label("weight", fontsize=8)
    if panel.grid.size <= MAX_ANNOTATED_CELLS:
        _annotate(ax, explanation, panel)


def _annotate(ax, explanation: Explanation, panel: Panel) -> None:
    decimals = max(2, 2 - int(np.floor(np.log10(panel.limit))))  # three significant digits of the largest
    for row, column in np.ndindex(panel.grid.shape):
        segment, value = explanation.segments[column], panel.grid[row, column]
        dark = abs(value) > 0.6 * panel.limit  # light text on saturated cells
        ax.text((segment.start + segment.end) / 2, row + 0.5, f"{value:+.{decimals}f}", ha="center", va="center",
                fontsize=7, color="white" if dark else "black")


def _pixel_boxes(figure: Figure, axes: list, shown: list[Panel]) -> dict[str, tuple[int, int, int, int]]:
    """Each panel's plot area in the saved PNG's pixels, origin top left (as image readers index)."""
    figure.canvas.draw()  # fixes the constrained layout; savefig at the same dpi keeps it
    height = figure.bbox.height
    boxes = {}
    for ax, panel in zip(axes, shown):
        box = ax.get_window_extent()
        boxes[panel.tag] = (round(box.x0), round(height - box.y1), round(box.x1), round(height - box.y0))
    return boxes
