"""The listening page's pictures on the heat map's time axis, in headless Chromium, for the model-free
separators: the mixture's spectrogram under the heat map (log frequency, each segment under its
column), one waveform per source under its row, and with `slime` the band × segment cells over the
spectrogram at their frequency ranges. The clip is tone_stems' mixture (110 Hz only in seconds 2–3,
440 Hz and 3000 Hz throughout), explained with the reference tagger.
"""
import math
import re
from pathlib import Path

import pytest

from tests.browser.test_view_page import KEY, VIEWPORT_WIDTH, api, browser_installed, keep_screenshot, png_size, \
    run_node, settings  # noqa: F401 - fixtures
from tests.integration.harness import wav_bytes
from tests.integration.test_explain_end_to_end import RATE, SECONDS, tone_stems

BAND = re.compile(r"band(\d+)_(\d+)-(\d+)Hz")
SEGMENTS = 4


def finished(api, tagger, separator: str) -> dict:
    request = {"tagger": {"url": tagger.url, "sample_rate": RATE, "batch_size": 32}, "separator": separator,
               "segments": SEGMENTS, "samples": 64, "targets": {"tags": ["low", "mid"]}}
    response = api.submit(wav_bytes(sum(tone_stems().values()), RATE), request)
    assert response.status_code == 202, response.text
    body = api.wait(response.json()["id"], timeout=180)
    assert body["stage"] == "finished", body["error"]
    return body


@pytest.mark.parametrize("separator", ["hpss", "slime"])
def test_spectrogram_and_waveforms_on_the_heat_maps_time_axis(separator, api, served, tagger, worker, tmp_path):
    body = finished(api, tagger, separator)
    result = body["result"]
    report = run_node("visuals_page.mjs", "--base", served.base, "--job", body["id"], "--key", KEY,
                      "--out", str(tmp_path / "browser"), "--name", f"view-{separator}")
    width, height = png_size(keep_screenshot(Path(report["screenshot"])))  # kept first: to look at when a check fails
    assert width == VIEWPORT_WIDTH and height >= 900

    assert report["errors"] == [], report["errors"]
    assert report["rows"] == result["sources"]
    if separator == "hpss":
        assert result["sources"] == ["harmonic", "percussive"]
    else:
        assert len(result["sources"]) == 8 and all(BAND.fullmatch(name) for name in result["sources"])
    axis = assert_spectrogram(report, result)
    assert_waveforms(report, result)
    assert_players_play(report, result)
    if separator == "slime":
        assert_bands_over_the_spectrogram(report, result, axis)
        assert report["band_component"]["component"] == report["bands"][-1]["component"]
        assert report["toggled"] == {"hidden": True, "shown_again": True}
    else:
        assert report["bands"] == [] and not report["bands_class"] and not report["toggle_visible"]
        assert report["toggled"] is None
    assert report["key_in_urls"] == [] and report["api_requests_without_key"] == []


def assert_spectrogram(report: dict, result: dict):
    """Under the heat-map columns, segment boundaries in the gaps, a log axis; the tones where they sound."""
    columns, canvas, height = report["columns"], report["canvas"], report["canvas"]["height"]
    assert len(columns) == SEGMENTS and canvas["css_height"] == height and height >= 150
    assert columns[0]["left"] == pytest.approx(0, abs=1)
    assert columns[-1]["right"] == pytest.approx(canvas["width"], abs=1)
    lines = report["lines"]
    assert [line["time"] for line in lines] == [s["start"] for s in result["segments"][1:]]
    for line, (before, after) in zip(lines, zip(columns, columns[1:])):
        assert before["right"] - 0.5 <= line["x"] <= after["left"] + 0.5 and line["height"] == height
    assert report["time_ticks"] == [f"{s['start']:.1f} s" for s in result["segments"]] + [f"{SECONDS:.1f} s"]

    ticks = {t["hz"]: t for t in report["ticks"]}
    assert {100, 1000} <= set(ticks) and ticks[100]["text"] == "100 Hz" and ticks[1000]["text"] == "1 kHz"
    assert set(ticks) <= {20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000} and max(ticks) <= RATE / 2
    assert all(t["right"] <= 0 for t in ticks.values())  # left of the plot, under the row names
    per_decade = ticks[100]["y"] - ticks[1000]["y"]
    assert per_decade > 0

    def y(hz):
        return ticks[100]["y"] - math.log10(hz / 100) * per_decade
    assert y(RATE / 2) == pytest.approx(0, abs=1.5) and y(30) == pytest.approx(height, abs=1.5)  # 30 Hz to Nyquist
    for tick in ticks.values():
        assert tick["y"] == pytest.approx(y(tick["hz"]), abs=1)

    # What is drawn: the brightest pixel row of each segment's column is the loudest tone's there.
    bin_hz = RATE / 744  # the engine's 46 ms window at 16 kHz
    for segment, profile in enumerate(report["profiles"]):
        brightest = max(range(len(profile)), key=profile.__getitem__)
        loudest = 110 if segment == 2 else 440  # 0.3 in seconds 2–3 only; 0.2 at 440 Hz throughout
        assert y(loudest + bin_hz) - 1 <= brightest <= y(loudest - bin_hz) + 1, (segment, brightest, y(loudest))
        bass_row = round(y(110))
        if segment != 2:
            assert profile[bass_row] < 0.5 * profile[brightest]  # no bass outside seconds 2–3
    quiet = round(y(6000))
    assert all(profile[quiet] < 0.3 * max(profile) for profile in report["profiles"])  # no tone up there
    return y


def assert_waveforms(report: dict, result: dict) -> None:
    """One waveform row under each source row, as wide as the segment columns; the bass where it sounds."""
    waves = report["waveforms"]
    assert [w["source"] for w in waves] == result["sources"] == [w["previous"] for w in waves]
    columns = report["columns"]
    for wave in waves:
        assert wave["left"] == pytest.approx(columns[0]["left"], abs=1)
        assert wave["right"] == pytest.approx(columns[-1]["right"], abs=1) and wave["height"] >= 20
    loudest = max(w["peak"] for w in waves)
    for wave in waves:
        assert wave["tallest"] == pytest.approx(wave["peak"] / loudest * (wave["height"] - 2), abs=2)  # one scale
    if result["sources"][0].startswith("band01_"):
        low = waves[0]  # 110 Hz, in seconds 2–3 only; nothing else in the lowest band
        assert low["ink"][2] > 0.8 * low["height"] and max(low["ink"][0], low["ink"][1], low["ink"][3]) <= 3
    else:
        harmonic = waves[0]  # sustained tones: harmonic throughout
        assert min(harmonic["ink"]) > 0.5 * harmonic["height"]


def assert_players_play(report: dict, result: dict) -> None:
    players = report["players"]
    assert [p["source"] for p in players if p["player"] == "source"] == result["sources"]
    assert {p["player"] for p in players} == {"original", "source", "mix"}
    for player in players:
        assert player["blob"] and player["duration"] == pytest.approx(SECONDS, abs=0.01), player
        assert not player["paused"] and 0.5 < player["after"] - player["before"] <= player["wall"] + 0.3, player
    for clicked in filter(None, [report["component"], report.get("band_component")]):
        component = result["components"][clicked["component"]]
        assert f"{component['source']} {component['start']:.2f}–{component['end']:.2f} s" in clicked["caption"]
        assert not clicked["paused"] and 0.5 < clicked["after"] - clicked["before"] <= clicked["wall"] + 0.3, clicked
        assert clicked["component"] in clicked["pressed"]
    assert report["component"]["component"] == report["cells"][0]["component"]


def assert_bands_over_the_spectrogram(report: dict, result: dict, y) -> None:
    """Each band × segment cell over its segment's column, from its band's lower edge up to its upper one."""
    assert report["bands_class"] and report["toggle_visible"]
    cells = {(c["source"], c["segment"]): c for c in report["bands"]}
    assert len(cells) == len(result["components"]) == 8 * SEGMENTS
    columns, height = report["columns"], report["canvas"]["height"]
    low_tag = next(t for t in result["tags"] if t["tag"] == "low")
    for component in result["components"]:
        cell = cells[(component["source"], component["segment"])]
        low, high = (int(v) for v in BAND.fullmatch(component["source"]).groups()[1:])
        assert (cell["low_hz"], cell["high_hz"], cell["component"]) == (low, high, component["index"])
        column = columns[component["segment"]]
        assert cell["left"] == pytest.approx(column["left"], abs=1)
        assert cell["right"] == pytest.approx(column["right"], abs=1)
        assert cell["top"] == pytest.approx(y(min(high, RATE / 2)), abs=1.5), (component, cell)
        assert cell["bottom"] == pytest.approx(y(max(low, 30)), abs=1.5), (component, cell)
        assert cell["weight"] == pytest.approx(low_tag["weights"][component["index"]], rel=1e-12, abs=1e-15)
        assert cell["background"].startswith("rgba(")  # see-through: the spectrogram shows under it
    bottom = [cells[(result["sources"][0], s)] for s in range(SEGMENTS)]
    top = [cells[(result["sources"][-1], s)] for s in range(SEGMENTS)]
    assert all(c["bottom"] == pytest.approx(height, abs=1) for c in bottom)  # band01 reaches down to 30 Hz
    assert all(c["top"] == pytest.approx(0, abs=1) for c in top)  # the last band up to Nyquist
    # The 110 Hz tone of seconds 2–3 lies inside band01's segment-2 cell, which drives `low`.
    assert y(110) > bottom[2]["top"] and max(low_tag["weights"]) == bottom[2]["weight"]
    assert bottom[2]["in_mix"]


@pytest.mark.slow
def test_a_musicnn_explanation_with_the_hpss_refinement_plays_on_the_page(api, served, processes, settings,
                                                                          example_clip, model_dir, tmp_path):
    """The real tagger on the real clip, sources from spleeter:2stems+hpss: every player on the page plays."""
    import dataclasses

    from tests.integration.harness import start_worker
    from tests.taggers.test_musicnn_server import VENV_PYTHON

    if not VENV_PYTHON.exists():
        pytest.fail(f"{VENV_PYTHON} is missing: run `make musicnn-venv` (make test does)")
    musicnn, _ = musicnn_server(processes)
    start_worker(processes, dataclasses.replace(settings, model_dir=model_dir), f"{settings.key_prefix}-m", 120)
    request = {"tagger": {"url": musicnn, "protocol": "oip", "options": {"model": "MSD_musicnn"}, "batch_size": 8,
                          "read_timeout": 120},
               "separator": "spleeter:2stems+hpss", "segments": 3, "samples": 32, "self_check_k": 1}
    response = api.submit(example_clip.read_bytes(), request)
    assert response.status_code == 202, response.text
    body = api.wait(response.json()["id"], timeout=600)
    assert body["stage"] == "finished", body["error"]
    report = run_node("visuals_page.mjs", "--base", served.base, "--job", body["id"], "--key", KEY,
                      "--out", str(tmp_path / "browser"), "--name", "view-musicnn-hpss")
    keep_screenshot(Path(report["screenshot"]))
    assert report["errors"] == [], report["errors"]
    assert report["rows"] == body["result"]["sources"] == ["vocals", "harmonic", "percussive"]
    players = report["players"]
    assert [p["source"] for p in players if p["player"] == "source"] == body["result"]["sources"]
    for player in players:
        assert player["blob"] and not player["paused"] and player["after"] > player["before"], player
    clicked = report["component"]  # a clicked heat-map cell plays its component
    assert not clicked["paused"] and clicked["after"] > clicked["before"], clicked


def musicnn_server(processes):
    import subprocess
    import threading

    from tests.taggers.test_musicnn_server import VENV_PYTHON
    from tests.integration.harness import ROOT

    child = subprocess.Popen([str(VENV_PYTHON), "-m", "taggers.musicnn.server", "--host", "127.0.0.1",
                              "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    processes.children.append(child)
    line = child.stdout.readline().decode().strip()
    assert line.startswith("listening on "), line
    threading.Thread(target=child.stdout.read, daemon=True).start()
    return line.split()[-1], child
