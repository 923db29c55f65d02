"""A researcher's notebook against the live stack: nbclient runs it in a real IPython kernel, and
what the last cell shows (the client's inline view) is read back out of the executed notebook."""
from __future__ import annotations

import base64
import io
import re

import nbformat
import numpy as np
import pytest
import soundfile
from nbclient import NotebookClient

from tests.clients import tones

pytest.importorskip("ipykernel")

NOTEBOOK = '''
from audiolime_client import Client
client = Client({base!r}, {key!r})
job = client.submit({mix!r}, stems={stems!r}, tagger={tagger!r}, segments={segments},
                    samples=512, tags=["mid"])
job = client.wait(job, timeout=120)
client.view(job, "mid")
'''


def run_notebook(stack, tmp_path) -> tuple[str, dict]:
    mix, stems = tones.write_files(tmp_path / "audio")
    code = NOTEBOOK.format(base=stack.base, key=stack.new_key(), mix=str(mix),
                           stems={name: str(path) for name, path in stems.items()},
                           tagger=tones.tagger_settings(stack.tagger), segments=tones.SEGMENTS)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(notebook, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = notebook.cells[0].outputs
    shown = [o for o in outputs if o.output_type == "execute_result"]
    assert len(shown) == 1, outputs
    return shown[0].data["text/html"], shown[0].data


def embedded(html: str, pattern: str) -> bytes:
    match = re.search(pattern, html)
    assert match, pattern
    return base64.b64decode(match.group(1))


def test_a_notebook_shows_the_heat_map_the_baseline_and_the_verified_parts_with_players(stack, tmp_path):
    html, data = run_notebook(stack, tmp_path)
    assert "text/plain" in data  # a plain-text fallback for a terminal front end
    assert "What the tagger hears as “mid”" in html
    png = embedded(html, r"<img alt='heat map of the weights' src='data:image/png;base64,([A-Za-z0-9+/=]+)'")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<h4>Baseline</h4>" in html and "every component off" in html

    # the sufficient part: the reference tagger's "mid" is the level of 250 Hz-2 kHz, where only the
    # drums (440 Hz, throughout) sound: a part of drums alone, heard cut (looped to the clip's length)
    part = html.split("<div class='part'>")[1]
    names = re.search(r"<b>([^<]+)</b>", part).group(1).split(", ")
    assert part.lower().startswith("<h4>sufficient") and names and all(n.startswith("drums[") for n in names), part[:600]
    audio, rate = soundfile.read(io.BytesIO(embedded(
        html, r"<audio controls data-part='sufficient' src='data:audio/flac;base64,([A-Za-z0-9+/=]+)'")),
        dtype="float32", always_2d=True)
    assert rate == tones.RATE and len(audio) == tones.SECONDS * rate
    spectrum = np.abs(np.fft.rfft(audio[:, 0]))
    assert abs(np.argmax(spectrum) * rate / len(audio) - 440) < 2  # the drums' tone, and nothing louder

    # the necessary part: the clip without it
    without, _ = soundfile.read(io.BytesIO(embedded(
        html, r"<audio controls data-part='necessary' src='data:audio/flac;base64,([A-Za-z0-9+/=]+)'")),
        dtype="float32", always_2d=True)
    assert len(without) == tones.SECONDS * rate
    assert "<h4>The surrogate's top components</h4>" in html and "Self-check" in html
