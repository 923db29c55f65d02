"""The heat map, read back from its pixels: every cell has the colour of its own weight, rows
are sources in the result's order and columns segments in time order (so a transposed or
flipped picture fails), the scale is centred on 0, and the SVG keeps its text."""
import numpy as np
import pytest

from audiolime_client.heatmap import render
from audiolime_client.models import Explanation
from tests.clients.pictures import cell_colours, colour_positions, expected_colours, geometry, grid_from_json

SOURCES = ["vocals", "drums", "bass"]
BOUNDARIES = [0.0, 0.5, 2.0, 2.5, 4.0, 5.0]  # unequal segments: columns as wide as their time span


def result_json(weights_by_tag: dict[str, np.ndarray]) -> dict:
    segments = [{"index": i, "start": a, "end": b} for i, (a, b) in enumerate(zip(BOUNDARIES, BOUNDARIES[1:]))]
    components = [{"index": n, "name": f"{source}[{seg['start']:.2f}-{seg['end']:.2f}s]", "source": source,
                   "segment": seg["index"], "start": seg["start"], "end": seg["end"]}
                  for n, (source, seg) in enumerate((s, g) for s in SOURCES for g in segments)]
    tags = []
    for tag, weights in weights_by_tag.items():
        ranking = [int(i) for i in np.argsort(-weights)]
        tags.append({"tag": tag, "original_score": 0.42, "weights": weights.tolist(), "intercept": 0.01,
                     "score": 0.87, "local_prediction": 0.4, "ranking": ranking, "self_check": []})
    return {"components": components, "sources": SOURCES, "segments": segments, "residual": False, "tags": tags,
            "settings": {}, "stats": {"tagger_calls": 1}, "provenance": {"separator": "provided",
                                                                         "tagger_labels": list(weights_by_tag)}}


def distinct_weights(seed: int) -> np.ndarray:
    """15 weights, all different, negative and positive, in a scrambled order."""
    return np.random.default_rng(seed).permutation(np.linspace(-0.8, 1.2, len(SOURCES) * 5))


def test_every_cell_has_the_colour_of_its_weight(tmp_path):
    raw = result_json({"rock": distinct_weights(1)})
    files = render(Explanation.from_json(raw), tmp_path / "heatmap")
    grid = grid_from_json(raw, "rock")
    colours = cell_colours(files.png, "rock")
    assert colours.shape == (3, 5, 3)
    np.testing.assert_allclose(colours, expected_colours(grid), atol=0.03)
    # what a reader checks first: the strongest component is the reddest cell, at its source and time
    positions = colour_positions(colours)
    assert np.unravel_index(np.argmax(positions), grid.shape) == np.unravel_index(np.argmax(grid), grid.shape)
    assert np.unravel_index(np.argmin(positions), grid.shape) == np.unravel_index(np.argmin(grid), grid.shape)
    # and the scale is centred on 0: read back, the colours give the weights' order and signs
    assert (np.argsort(positions, axis=None) == np.argsort(grid, axis=None)).all()
    assert ((positions > 0.5) == (grid > 0)).all()


def test_a_transposed_or_flipped_grid_would_not_match(tmp_path):
    """The check above has teeth: the same picture against the grid misplaced fails."""
    raw = result_json({"rock": distinct_weights(2)})
    colours = cell_colours(render(Explanation.from_json(raw), tmp_path / "h").png, "rock")
    grid = grid_from_json(raw, "rock")
    for wrong in (grid[::-1], grid[:, ::-1], grid.T.reshape(grid.shape)):
        assert np.abs(colours - expected_colours(wrong)).max() > 0.1


def test_one_panel_per_tag_each_on_its_own_scale(tmp_path):
    raw = result_json({"rock": distinct_weights(3), "pop": 0.01 * distinct_weights(4), "silence": np.zeros(15)})
    files = render(Explanation.from_json(raw), tmp_path / "heatmap")
    meta = geometry(files.png)
    assert [p["tag"] for p in meta["panels"]] == ["rock", "pop", "silence"]
    tops = [p["box"][1] for p in meta["panels"]]
    assert tops == sorted(tops)  # stacked top to bottom in the result's order
    for tag in ("rock", "pop"):
        np.testing.assert_allclose(cell_colours(files.png, tag), expected_colours(grid_from_json(raw, tag)),
                                   atol=0.03)
    assert meta["panels"][1]["limit"] == pytest.approx(0.012)
    np.testing.assert_allclose(cell_colours(files.png, "silence"), 0.97, atol=0.03)  # all zero: the white middle


def test_the_svg_keeps_names_spans_and_title_as_text(tmp_path):
    raw = result_json({"female vocalists": distinct_weights(5)})
    files = render(Explanation.from_json(raw), tmp_path / "out" / "heatmap")
    svg = files.svg.read_text()
    assert files.svg == tmp_path / "out" / "heatmap.svg" and svg.lstrip().startswith("<?xml")
    for text in SOURCES + ["0.50–2.00", "4.00–5.00", "female vocalists", "R² 0.87"]:
        assert text in svg, text
    assert files.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_only_the_tags_asked_for(tmp_path):
    raw = result_json({"rock": distinct_weights(6), "pop": distinct_weights(7)})
    files = render(Explanation.from_json(raw), tmp_path / "h", tags=["pop"])
    assert list(files.boxes) == ["pop"] and [p["tag"] for p in geometry(files.png)["panels"]] == ["pop"]
