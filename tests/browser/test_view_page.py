"""The listening pages in a real browser: Debian's headless Chromium, driven by playwright-core (npm).

The live stack (real Redis, a real RQ worker, the reference tagger, the API over HTTP, API keys
on) explains tone stems whose answer is known; the node scripts in this folder then use the pages
as a person would and report what they saw as JSON, which is asserted on here. `make browser`
(part of `make test`) installs Chromium and the node modules; without them these tests are
skipped, except in CI, where that is a failure.
"""
import dataclasses
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from audiolime_client.numbers import confidence_text, percent, percent_range
from engine import ExplainSettings
from engine.checking import most_masks
from engine.perturbations import mask_key
from engine.sampling import MaskStream
from tests.integration.harness import ROOT, Api, read_audio, start_tagger, wav_bytes
from tests.integration.test_explain_end_to_end import RATE, SECONDS, submit_tones, tone_stems

HERE = Path(__file__).resolve().parent
CHROMIUM = Path(os.environ.get("AUDIOLIME_CHROMIUM", "/usr/bin/chromium"))
KEY = "browser-test-key-0123"
VIEWPORT_WIDTH = 1280
RED, WHITE = (178, 24, 43), (247, 247, 247)  # the ends of the page's diverging scale


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (Debian package chromium)"
    if shutil.which("node") is None:
        return "node is missing"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return "tests/browser/node_modules is missing (npm ci)"
    return None


@pytest.fixture(autouse=True)
def browser_installed():
    missing = _missing()
    if missing:
        reason = f"{missing}; `make browser` installs it"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI runs `make test`, which must)")
        pytest.skip(reason)


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, api_keys=(KEY,))


@pytest.fixture
def api(served) -> Api:
    return Api(served.base, key=KEY)


def run_node(script: str, *args: str, timeout: float = 180) -> dict:
    done = subprocess.run(["node", script, *args], cwd=HERE, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{script} failed:\n{done.stderr[-4000:]}\n{done.stdout[-2000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def keep_screenshot(path: Path) -> Path:
    """A copy where people look: $AUDIOLIME_SCREENSHOT_DIR or tests/output/ (git-ignored)."""
    folder = Path(os.environ.get("AUDIOLIME_SCREENSHOT_DIR", ROOT / "tests" / "output"))
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(path, folder / path.name))


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG whose chunks are intact and whose pixels are not all one colour."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat, size = 8, b"", None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])[0]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        idat += body if kind == b"IDAT" else b""
        offset += 12 + length
    pixels = zlib.decompress(idat)
    assert len(set(pixels[::97])) > 20, "a blank picture"
    return size


def rms(audio: np.ndarray, start: float, end: float) -> float:
    part = audio[int(start * RATE):int(end * RATE)]
    return float(np.sqrt(np.mean(part ** 2)))


def finished_tones(api, tagger) -> dict:
    job_id = submit_tones(api, tagger).json()["id"]
    body = api.wait(job_id)
    assert body["stage"] == "finished", body["error"]
    return body


def test_view_page_of_a_finished_job(api, served, tagger, worker, tmp_path):
    first = finished_tones(api, tagger)
    body = finished_tones(api, tagger)  # the same clip and tagger again: the first job's answers reused
    result, out = body["result"], tmp_path / "browser"
    report = run_node("view_page.mjs", "--base", served.base, "--job", body["id"], "--key", KEY, "--out", str(out))
    components = result["components"]
    bass_2 = next(c["index"] for c in components if c["source"] == "bass" and c["segment"] == 2)
    low = next(t for t in result["tags"] if t["tag"] == "low")

    assert report["errors"] == [] and report["stage"] == "finished", report["errors"]
    assert report["tags"] == ["low", "mid"]
    assert_heatmaps(report["heatmaps"], result)
    assert_claims(report["claims"], result)
    assert (report["run"]["sampling"], report["run"]["stopped"]) == ("fixed (independent)", "fixed count")
    stats = result["stats"]
    assert first["result"]["stats"]["reused"] == 0
    assert stats["reused"] > 0 and report["run"]["reuse"] == (
        f"{stats['reused']} answers from earlier jobs, trusted after the tagger answered "
        f"{stats['reuse']['checked']} of them the same again")
    assert report["run"]["tagger calls"] == f"{stats['tagger_calls']} (and {stats['reused']} answers reused from earlier jobs)"
    legacy = report["legacy"]  # the same job as the service wrote results before it said how sure they are
    assert (legacy["cells"], legacy["hatched"], legacy["claim_facts"]) == (12, 0, 0)
    assert legacy["hatch_legend_hidden"] and legacy["shares_hidden"] and legacy["confidence_hidden"]
    assert legacy["claim"].startswith("This result carries no claim")
    # the same claims read as tolerant ones (sampling.claim): the sentence says what they are up to
    assert "(none left out above one of them by more than 10 % of the largest weight) at confidence " \
        in report["tolerant"]
    assert "sampling" not in legacy["run"] and "stopped" not in legacy["run"] and legacy["run"]["samples"]
    assert report["summary"]["surrogate R²"] == f"{low['score']:.3f}"
    assert report["summary"]["intercept"] == f"{low['intercept']:.4f}"
    assert [[row[0], row[2], row[3], row[4]] for row in report["self_check"]] == [
        [str(r["k"]), f"{r['score']:.4f}", r["top_tag"], "yes" if r["still_top"] else "no"] for r in low["self_check"]]
    assert report["self_check"][0][1] == "bass 2.00–3.00 s"

    assert_players(report["players"], result["sources"])
    assert_verified(report["verified"], result)
    assert_plays(report["original_playback"])
    assert_component_player(report["component"], bass_2, int(np.argmin(low["weights"])))
    assert_mix_player(report["mix"], bass_2)

    assert report["key_in_urls"] == [] and report["api_requests_without_key"] == []
    assert report["api_requests"] >= 1 + 1 + len(result["sources"]) + 1 + 2  # status, original, sources, mixes, components
    assert_screenshot(Path(report["screenshot"]))


def assert_heatmaps(heatmaps: dict, result: dict) -> None:
    """sources × segments cells carrying each component's weight, coloured on the diverging scale."""
    components = {c["index"]: c for c in result["components"]}
    for explanation in result["tags"]:
        drawn = heatmaps[explanation["tag"]]
        assert drawn["rows"] == result["sources"] and len(drawn["columns"]) == len(result["segments"])
        assert drawn["waveform_rows"] == result["sources"]  # each row's waveform under it (test_visuals_page.py)
        assert drawn["columns"][2] == "2.0–3.0 s"
        assert len(drawn["cells"]) == len(result["sources"]) * len(result["segments"]) == len(components)
        weights = explanation["weights"]
        for cell in drawn["cells"]:
            component = components[cell["component"]]
            assert (cell["source"], cell["segment"]) == (component["source"], component["segment"])
            assert cell["weight"] == pytest.approx(weights[cell["component"]], rel=1e-12, abs=1e-15)
            assert cell["title"].startswith(f"{component['source']}, {component['start']:.2f}–{component['end']:.2f} s")
        strongest = max(drawn["cells"], key=lambda c: abs(c["weight"]))
        assert strongest["weight"] > 0 and strongest["background"] == f"rgb{RED}"  # tones: each tag has its driver
        faint = [c for c in drawn["cells"] if abs(c["weight"]) < 0.01 * abs(strongest["weight"])]
        assert faint and all(colour_near(c["background"], WHITE, 8) for c in faint)
        assert float(drawn["legend"][1].lstrip("+")) == pytest.approx(max(map(abs, weights)), rel=1e-2)
        assert_hatched_where_the_interval_spans_zero(drawn, explanation)


def assert_hatched_where_the_interval_spans_zero(drawn: dict, explanation: dict) -> None:
    """Exactly the cells whose weight's 95 % interval (the API's) includes 0 are hatched."""
    intervals = explanation["weight_interval"]
    unsure = {i for i, (low, high) in enumerate(intervals) if low <= 0 <= high}
    assert {c["component"] for c in drawn["cells"] if c["spans_zero"]} == unsure
    assert {c["component"] for c in drawn["cells"] if c["hatched"]} == unsure
    assert 0 < len(unsure) < len(intervals) and drawn["hatch_legend_visible"]  # tones: faint ones, and sure ones


def component_name(component: dict) -> str:
    return f"{component['source']} {component['start']:.2f}–{component['end']:.2f} s"


def assert_claims(claims: dict, result: dict) -> None:
    """The claim (claimed, tied, confidence, converged, why sampling stopped) and the shares, as the API says."""
    names = [component_name(c) for c in result["components"]]
    for explanation in result["tags"]:
        shown, stability = claims[explanation["tag"]], explanation["stability"]
        facts = shown["facts"]
        assert facts["claimed"] == ", ".join(names[i] for i in stability["components"])
        tied = ", ".join(names[i] for i in stability["tied"])
        assert facts["tied"] == "none" if not tied else facts["tied"].startswith(tied + " (within 10 % of each other)")
        assert facts["confidence"] == confidence_text(stability["confidence"])
        assert facts["target"] == "0.95" and facts["converged"] == ("yes" if stability["converged"] else "no")
        assert facts["stopped"] == "fixed count"
        assert facts["samples used"] == f"{stability['samples_used']} ({stability['distinct_masks']} distinct masks)"
        top = f"Top {stability['top_k']} claimed" if stability["claimed"] == stability["top_k"] else \
            f"{stability['claimed']} component{'s' if stability['claimed'] > 1 else ''} claimed (fewer than 3 matter)"
        assert shown["summary"].startswith(f"{top} at confidence {facts['confidence']} (target 0.95")
        for kind in ("sources", "segments"):
            groups = explanation["groups"][kind]
            assert [row["name"] for row in shown[kind]] == [g["name"] for g in groups]
            for row, group in zip(shown[kind], groups):
                assert row["share"] == group["positive_share"]
                assert row["meter"] == pytest.approx(group["positive_share"])
                assert row["cells"][1:3] == [f"{percent(group['positive_share'])} %",  # as the command line writes it
                                             percent_range(*group["positive_share_interval"])]
        segment_rows = [row["cells"][0] for row in shown["segments"]]
        assert segment_rows == [f"{s['start']:.2f}–{s['end']:.2f} s" for s in result["segments"]]
    low = next(t for t in result["tags"] if t["tag"] == "low")
    bass = next(row for row in claims["low"]["sources"] if row["name"] == "bass")
    assert bass["share"] > 0.9 and names[low["ranking"][0]] in claims["low"]["facts"]["claimed"]


def colour_near(css: str, rgb: tuple, tolerance: int) -> bool:
    values = tuple(int(v) for v in css[css.index("(") + 1:-1].split(","))
    return all(abs(a - b) <= tolerance for a, b in zip(values, rgb))


def assert_verified(verified: dict, result: dict) -> None:
    """First on the page: each tag's baseline statement and its verified parts, a player for each found one."""
    playable = 0
    for tag in result["tags"]:
        shown = verified[tag["tag"]]
        assert shown["first"] and shown["baseline"] == tag["baseline"]["statement"]
        assert shown["confounded"] == str(tag["baseline"]["confounded"]).lower()
        assert [p["part"] for p in shown["parts"]] == ["sufficient", "necessary"]
        for part in shown["parts"]:
            record = tag[part["part"]]
            assert (part["found"], part["statement"]) == (str(record["found"]).lower(), record["statement"])
            if record["found"] and record["components"] and not record.get("trivial"):
                names = [f"{c['source']} {c['start']:.2f}–{c['end']:.2f} s"
                         for c in (result["components"][i] for i in record["components"])]
                assert part["caption"].split(": ", 1)[1].startswith(", ".join(names)), part
                assert part["state"] == "ready" and part["duration"] == pytest.approx(SECONDS, abs=0.01), part
                playable += 1
            else:
                assert part["state"] is None and part["duration"] is None, part
    assert playable >= 2  # "mid" (the drums, throughout) has both parts


def assert_players(players: list[dict], sources: list[str]) -> None:
    by_kind = {}
    for player in players:
        by_kind.setdefault(player["player"], []).append(player)
    assert [p["source"] for p in by_kind["source"]] == sources
    for player in by_kind["original"] + by_kind["source"] + by_kind["mix"]:
        assert player["state"] == "ready" and player["blob"] and not player["hidden"], player
        assert player["duration"] == pytest.approx(SECONDS, abs=0.01), player
    assert by_kind["component"][0]["hidden"]  # until a cell is clicked


def assert_plays(playback: dict) -> None:
    advanced = playback["after"] - playback["before"]
    assert not playback["paused"] and 0.5 < advanced <= playback["wall"] + 0.3, playback


def assert_component_player(component: dict, bass_2: int, weakest: int) -> None:
    assert component["first"] == weakest and component["first_blob_revoked"]
    assert component["component"] == bass_2 and component["visible"] and component["pressed"] == [bass_2]
    assert "bass 2.00–3.00 s" in component["caption"]
    audio, rate = read_audio(Path(component["file"]).read_bytes())
    assert rate == RATE and len(audio) == SECONDS * RATE
    bass = tone_stems()["bass"]
    assert rms(audio, 0, 1.95) == 0 and rms(audio, 3.05, SECONDS) == 0
    assert rms(audio, 2.05, 2.95) == pytest.approx(rms(bass, 2.05, 2.95), rel=1e-3)


def assert_mix_player(mix: dict, bass_2: int) -> None:
    assert (mix["tag"], mix["k"], mix["components"], mix["outlined"]) == ("low", 1, str(bass_2), [bass_2])
    assert mix["text"] == "Mixed: bass 2.00–3.00 s"
    # as the checks heard it (check_off: cut): seconds 2-3 of the bass alone, looped to the clip's length
    audio, _ = read_audio(Path(mix["file"]).read_bytes())
    assert len(audio) == SECONDS * RATE
    bass = tone_stems()["bass"][2 * RATE: 3 * RATE, 0]
    for start in range(0, len(audio), RATE):
        np.testing.assert_allclose(audio[start + 48: start + RATE - 48, 0], bass[48:-48], atol=1e-4)
    assert_plays(mix["playback"])


def assert_screenshot(path: Path) -> None:
    width, height = png_size(path)
    assert width == VIEWPORT_WIDTH and 900 <= height <= 6000
    assert png_size(keep_screenshot(path)) == (width, height)


def test_index_form_submits_and_the_view_page_follows_it(api, served, tagger, worker, tmp_path):
    stems = tone_stems()
    files = {name: tmp_path / f"{name}.wav" for name in [*stems, "mixture"]}
    for name, waveform in [*stems.items(), ("mixture", sum(stems.values()))]:
        files[name].write_bytes(wav_bytes(waveform, RATE))
    stem_args = [arg for name in stems for arg in ("--stem", str(files[name]))]
    report = run_node("index_page.mjs", "--base", served.base, "--key", KEY, "--tagger", tagger.url,
                      "--audio", str(files["mixture"]), *stem_args, "--out", str(tmp_path / "browser"))

    assert report["errors"] == [], report["errors"]
    assert report["keyless_problem"].startswith("Unauthorized") and "API key" in report["keyless_problem"]
    assert report["key_status"] == "a key is in use (for this tab)"
    assert report["stored_key"] == {"local": None, "session": KEY}
    assert report["problem"]["title"] == "Invalid stems" and "needs at least one stem" in report["problem"]["text"]
    assert report["problem"]["url"] == served.base + "/"  # a refused submission stays on the form
    assert report["sampling_default"] == {"strategy": "adaptive", "samples_disabled": True,
                                          "max_samples_disabled": False, "confidence": "0.95"}
    assert report["sampling_fixed"] == {"strategy": "fixed", "samples_disabled": False,
                                        "max_samples_disabled": True, "confidence": "0.9"}
    job_id = report["view_url"].rsplit("/", 2)[-2]
    assert report["view_url"] == f"{served.base}/explanations/{job_id}/view"
    assert report["stages"][-1] == "finished" == report["final_stage"], report["stages"]
    assert report["heatmap_cells"] == 3 * 4
    assert report["listed"] == [{"id": job_id, "stage": "finished", "href": f"/explanations/{job_id}/view"}]
    assert report["key_in_urls"] == [] and report["api_requests_without_key"] == []

    body = api.call("GET", f"/explanations/{job_id}").json()  # what the form sent, as the API stored it
    request = body["request"]
    assert (request["separator"], request["segments"], request["samples"]) == ("provided", 4, 128)
    sampling = request["sampling"]
    assert (sampling["strategy"], sampling["confidence"], sampling["top_k"], sampling["claim"],
            sampling["estimator"]) == ("fixed", 0.9, 2, "tolerant", "adjusted")
    assert all(t["stability"]["kind"] == "tolerant" for t in body["result"]["tags"])
    assert all("regression-adjusted" in t["stability"]["method"] for t in body["result"]["tags"])
    assert "(none left out above one of them by more than 10 % of the largest weight) at confidence" \
        in report["claim_summary"]
    assert body["result"]["stats"]["stop_reason"] == "fixed" and body["result"]["stats"]["samples"] == 128
    assert request["targets"] == {"tags": ["low", "mid"]} and request["tagger"]["url"] == tagger.url
    assert sorted(body["result"]["sources"]) == sorted(stems)
    low = next(t for t in body["result"]["tags"] if t["tag"] == "low")
    top = body["result"]["components"][low["ranking"][0]]
    assert (top["source"], top["segment"]) == ("bass", 2)
    assert png_size(keep_screenshot(Path(report["index_screenshot"])))[0] == VIEWPORT_WIDTH


def test_view_page_follows_a_running_job_cancels_it_and_shows_failures(api, served, processes, worker, tmp_path):
    nowhere = SimpleNamespace(url="http://127.0.0.1:9/predict")  # loopback, allowed; nothing listens
    failing = submit_tones(api, nowhere, tagger={"url": nowhere.url, "sample_rate": RATE, "retries": 0})
    failed = api.wait(failing.json()["id"])
    assert failed["stage"] == "failed"
    slow = start_tagger(processes, "--delay", "0.5")  # 30 batches of 16 one at a time: about 15 s
    running = submit_tones(api, slow, tagger={"url": slow.url, "sample_rate": RATE, "batch_size": 16,
                                              "concurrency": 1}).json()["id"]
    api.wait(running, until=("querying",))
    report = run_node("progress_page.mjs", "--base", served.base, "--key", KEY, "--running", running,
                      "--failed", failed["id"], "--out", str(tmp_path / "browser"))

    assert report["errors"] == [], report["errors"]
    shown = report["running"]
    assert len({s["text"] for s in shown}) >= 3 and all(s["stage"] == s["current"] == "querying" for s in shown)
    values = [s["value"] for s in shown]
    assert values == sorted(values) and values[-1] > values[0] > 0 and all(s["cancel_visible"] for s in shown)
    # the total: the fixed run's distinct masks, and the most the check phase may ask for the 2 tags
    # of 3 sources (self-check, baseline, the searches for verified parts)
    total = len({mask_key(m) for m in MaskStream(12, 0).first(512)}) + most_masks(ExplainSettings(), 2, 3)
    assert all(re.fullmatch(rf"\d+ of {total} \(\d+\.\d %\)", s["text"]) for s in shown), shown
    assert all(s["confidence_hidden"] and s["confidence"] == "" for s in shown)  # a fixed run: no round fitted yet
    assert "was cancelled" in report["cancelled"]["text"]
    assert not report["cancelled"]["cancel_visible"] and not report["cancelled"]["result_visible"]
    assert api.call("GET", f"/explanations/{running}").json()["stage"] == "cancelled"

    error = failed["error"]
    assert (report["failed"]["title"], report["failed"]["detail"]) == (error["title"], error["detail"])
    assert report["failed"]["facts"]["stage"] == error["stage"] == report["failed"]["failed_chip"] == "querying"
    assert not report["failed"]["result_visible"]
    assert report["key_in_urls"] == [] and report["api_requests_without_key"] == []
    assert png_size(keep_screenshot(Path(report["running_screenshot"])))[0] == VIEWPORT_WIDTH


def test_view_page_shows_the_confidence_of_an_adaptive_run_as_it_comes_in(api, served, processes, worker, tmp_path):
    slow = start_tagger(processes, "--delay", "0.6")  # a round of 32 masks in two requests: about 1.2 s
    sampling = {"confidence": 0.99, "min_samples": 64, "round_size": 32}
    tagger = {"url": slow.url, "sample_rate": RATE, "batch_size": 16, "concurrency": 1}
    job_id = submit_tones(api, slow, samples=None, sampling=sampling, tagger=tagger).json()["id"]
    report = run_node("adaptive_page.mjs", "--base", served.base, "--key", KEY, "--job", job_id,
                      "--out", str(tmp_path / "browser"))
    body = api.call("GET", f"/explanations/{job_id}").json()
    stats = body["result"]["stats"]
    assert report["errors"] == [], report["errors"]
    assert (stats["strategy"], stats["stop_reason"]) == ("adaptive", "converged") and stats["rounds"] >= 3, stats

    # While it ran: no label before the first round's fit, then one value per round, as the API had it.
    rounds = {confidence_text(c) for _, c in stats["confidence_trace"] if c is not None}
    shown = report["shown"]
    labelled = [s for s in shown if not s["hidden"]]
    assert all(s["label"] == "" and not s["visible"] for s in shown if s["hidden"])
    assert all(s["visible"] for s in labelled)
    running = [s for s in labelled if s["stage"] == "querying"]
    assert len({s["label"] for s in running}) >= 2, shown  # it changed while the page watched
    for state in labelled:
        value = re.fullmatch(r"confidence (\d\.\d+) of 0\.99", state["label"])
        assert value and value.group(1) in rounds, (state, rounds)
    assert shown[0]["hidden"] or shown[0]["label"] != report["final"]["label"]  # the page saw it before the end

    # When it ended: the last round's confidence, over the target; the claim says it converged.
    final = body["progress"]["confidence"]
    assert final >= 0.99 and report["final"]["stage"] == "finished" and not report["final"]["hidden"]
    assert report["final"]["label"] == f"confidence {confidence_text(final)} of 0.99"
    assert report["claim_facts"]["converged"] == "yes" and report["claim_facts"]["target"] == "0.99"
    assert report["claim_facts"]["stopped"] == f"converged after {stats['rounds']} rounds" == report["run"]["stopped"]
    assert report["run"]["sampling"] == "adaptive (paired)"
    assert report["key_in_urls"] == [] and report["api_requests_without_key"] == []
    assert png_size(keep_screenshot(Path(report["screenshot"])))[0] == VIEWPORT_WIDTH
