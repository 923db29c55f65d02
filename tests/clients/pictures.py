"""Reading a heat map back from its PNG: each cell's colour, located from the geometry the
PNG carries ("audiolime:heatmap"), and the colour each weight should have."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image

TEXT_KEY = "audiolime:heatmap"


def geometry(png: Path) -> dict:
    with Image.open(png) as image:
        return json.loads(image.text[TEXT_KEY])


def cell_colours(png: Path, tag: str) -> np.ndarray:
    """rows × columns × RGB (0..1): the median colour of the middle of each cell of the tag's panel.

    Columns are placed by the segments' times, rows evenly, within the panel's plot area;
    the middle 50 % of a cell keeps clear of the white grid lines, and the median ignores
    the number printed in it."""
    meta = geometry(png)
    panel = next(p for p in meta["panels"] if p["tag"] == tag)
    left, top, right, bottom = panel["box"]
    start, end = meta["segments"][0][0], meta["segments"][-1][1]
    rows = len(meta["sources"])
    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=float) / 255
    x = lambda t: left + (t - start) / (end - start) * (right - left)  # noqa: E731
    y = lambda r: top + r / rows * (bottom - top)  # noqa: E731
    colours = np.zeros((rows, len(meta["segments"]), 3))
    for row in range(rows):
        for column, (s0, s1) in enumerate(meta["segments"]):
            x0, x1, y0, y1 = x(s0), x(s1), y(row), y(row + 1)
            cell = pixels[round(y0 + (y1 - y0) / 4): round(y1 - (y1 - y0) / 4),
                          round(x0 + (x1 - x0) / 4): round(x1 - (x1 - x0) / 4)]
            colours[row, column] = np.median(cell.reshape(-1, 3), axis=0)
    return colours


def expected_colours(grid: np.ndarray, colormap: str = "RdBu_r") -> np.ndarray:
    """The colour of each weight on a scale centred on 0 and running to ± the largest |weight|."""
    limit = np.max(np.abs(grid)) or 1.0
    return colormaps[colormap](0.5 + grid / (2 * limit))[..., :3]


def colour_positions(colours: np.ndarray, colormap: str = "RdBu_r") -> np.ndarray:
    """Where on the colour scale (0 = most negative, 0.5 = zero, 1 = most positive) each colour lies."""
    table = colormaps[colormap](np.linspace(0, 1, 1024))[:, :3]
    distances = np.linalg.norm(colours[..., None, :] - table, axis=-1)
    return np.argmin(distances, axis=-1) / 1023


def grid_from_json(result: dict, tag: str) -> np.ndarray:
    """sources × segments weights straight from the API's JSON, independent of the client's models."""
    weights = next(t for t in result["tags"] if t["tag"] == tag)["weights"]
    grid = np.full((len(result["sources"]), len(result["segments"])), np.nan)
    for component in result["components"]:
        grid[result["sources"].index(component["source"]), component["segment"]] = weights[component["index"]]
    return grid
