"""A study's page in headless Chromium on the live stack (real Redis, a real RQ worker, the reference
tagger over HTTP, API keys on): followed while the study runs, then the figure (loaded from a blob),
the per-tag tables against the API's report, the clip left out, and the links to every clip's
listening page; and the study in the index page's list. See test_view_page.py for the tools."""
import re
from pathlib import Path

from audiolime_client import Study
from audiolime_client.study_tables import (
    faithfulness_cells, segment_share_cells, source_share_cells, top_component_cells, verified_cells,
)
from tests.browser.test_view_page import KEY, VIEWPORT_WIDTH, api, browser_installed, keep_screenshot, png_size, \
    run_node, settings  # noqa: F401 - fixtures
from tests.integration.harness import start_tagger
from tests.integration.test_studies import BANDS, clips, loud_audio, study_request, submit_study

ENDED = ("finished", "failed", "cancelled")


def test_the_study_page_follows_a_study_then_shows_its_figure_tables_and_clips(api, served, processes, worker,
                                                                              tmp_path):
    # Slow enough that the page sees the study run; one loud clip the tagger refuses, left out.
    tagger = start_tagger(processes, *BANDS, "--refuse-louder-than", "0.4", "--delay", "0.25")
    request = study_request(tagger.url, comparisons={"random": 3, "separator": "slime"},
                            tagger={"url": tagger.url, "sample_rate": 16000, "batch_size": 8, "concurrency": 1})
    submitted = submit_study(api, {**clips(3), "loud.wav": loud_audio()}, request)
    report = run_node("study_page.mjs", "--base", served.base, "--key", KEY, "--study", submitted["id"],
                      "--out", str(tmp_path / "browser"), timeout=300)
    document = api.call("GET", f"/studies/{submitted['id']}").json()
    study = Study.from_json(document)

    assert report["errors"] == [], report["errors"]
    assert report["key_in_urls"] == [] and report["api_requests_without_key"] == []
    assert_progress(report["progress"], document)
    assert_figure(report["figure"])
    assert_tables(report["tags"], study)
    assert report["summary"].startswith("Over 3 clips; 1 more left out; tagger calls: ")
    assert report["facts"]["separator"] == "hpss" and report["facts"]["comparison"] == "slime"
    assert report["facts"]["random baseline"] == "3 draws per k" and report["facts"]["tags"] == "low"

    # Every clip, with links to its explanation's and its comparison's listening pages.
    assert [c["clip"] for c in report["clips"]] == [c["clip"] for c in document["clips"]]
    for shown, clip in zip(report["clips"], document["clips"]):
        assert (shown["status"], shown["explanation_id"], shown["comparison_id"]) == \
            (clip["status"], clip["explanation"], clip["comparison"])
        assert shown["explanation_href"] == f"/explanations/{clip['explanation']}/view"
        assert shown["comparison_href"] == f"/explanations/{clip['comparison']}/view"
    loud = next(c for c in document["clips"] if c["clip"] == "loud.wav")
    assert loud["status"] == "failed"
    error_text = f"{loud['error']['title']}: {loud['error']['detail']}"
    assert next(c for c in report["clips"] if c["clip"] == "loud.wav")["error"] == error_text
    assert report["failed_visible"] and report["failed"] == [
        {"clip": "loud.wav", "error": error_text, "href": f"/explanations/{loud['error']['explanation']}/view"}]

    # The link opens that clip's listening page, finished, heat map drawn; back to the study.
    first = next(c for c in document["clips"] if c["status"] == "finished")
    assert report["opened"]["url"] == f"{served.base}/explanations/{first['explanation']}/view"
    assert report["opened"]["job"] == first["explanation"] and report["opened"]["cells"] == 2 * 3
    assert report["back"] == f"{served.base}/studies/{submitted['id']}/view"

    assert report["listed"] == [{"id": submitted["id"], "status": "finished", "progress": "4 of 4",
                                 "href": f"/studies/{submitted['id']}/view"}]
    width, height = png_size(keep_screenshot(Path(report["screenshot"])))
    assert width == VIEWPORT_WIDTH and 900 <= height <= 8000


def assert_progress(states: list[dict], document: dict) -> None:
    """Seen while running (clips ending one by one, tagger calls growing), then ended with its report."""
    running = [s for s in states if s["status"] not in ENDED]
    assert running, states  # the page saw the study before it ended
    for state in states:
        assert re.fullmatch(r"\d of 4 clips \(\d+\.\d %\)(, 1 failed)?", state["text"]), state
        assert re.fullmatch(r"\d+ of \d+", state["calls"]) and len(state["clips"]) == 4
    ended = [int(s["text"].split()[0]) for s in states]
    assert ended == sorted(ended) and ended[-1] == 4
    assert states[-1]["status"] == document["status"] == "finished" and states[-1]["report_visible"]
    calls = document["progress"]["tagger_calls"]
    assert states[-1]["calls"] == f"{calls['done']} of {calls['total']}" and states[-1]["value"] == 100


def assert_figure(figure: dict) -> None:
    assert figure["state"] == "ready" and figure["src_is_blob"], figure
    assert (figure["width"], figure["height"]) == (1300, 390) and figure["shown_width"] > 600  # one tag's row
    assert figure["bytes"] == figure["png_bytes"] > 10_000 and figure["svg_bytes"] > 10_000 and figure["svg_is_svg"]
    assert re.fullmatch(r"study-[0-9a-f]{8}\.png", figure["png_name"]) and figure["svg_name"].endswith(".svg")


def assert_tables(shown: list[dict], study: Study) -> None:
    """Each tag's tables cell for cell as the API's report says (worded as `audiolime study` words them)."""
    report = study.report
    assert [t["tag"] for t in shown] == report.tag_names == ["low"]
    for page, tag in zip(shown, report.tags):
        assert page["heading"] == f"“{tag.tag}” over {tag.clips} clips"
        assert page["source_shares"] == [source_share_cells(tag, name) for name in tag.source_shares]
        assert page["segment_shares"] == [segment_share_cells(tag, index) for index in sorted(tag.segment_shares)]
        assert page["top_components"] == [top_component_cells(tag, top) for top in tag.top_components]
        assert page["faithfulness"] == [faithfulness_cells(row) for row in tag.faithfulness]
        assert page["verified_visible"] and page["verified"] == [verified_cells(row) for row in tag.faithfulness]
    low = shown[0]
    assert low["source_shares"][0][0] == "harmonic" and low["top_components"] == [["harmonic", "1", "3 of 3"]]
    raw = study.raw["report"]["tags"][0]["faithfulness"][0]
    assert low["faithfulness"][0][:2] == ["1", f"{raw['kept']}/{raw['clips']}"] == ["1", "3/3"]
    assert low["faithfulness"][0][4] != "—" and low["faithfulness"][0][5] != "—"  # random and comparison
    # the verified parts: every clip's searches ended (the service's default), so each k has its clips
    assert [row[1].split("/")[1] for row in low["verified"]] == [str(raw["sufficient_clips"])] * len(low["verified"])
    assert raw["sufficient_clips"] == 3 and raw["necessary_clips"] == 3
