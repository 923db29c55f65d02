"""The study report's terminal tables and cells, from a fixed report (no service needed)."""
import re

from audiolime_client import Study
from audiolime_client.study_cli import summary
from audiolime_client.study_tables import (
    faithfulness_cells, report_text, source_shares_text, status_lines, top_component_text, verified_cells,
)

ROWS = [
    {"k": 1, "clips": 6, "kept": 5, "share": 5 / 6, "share_interval": [0.4365, 0.9699], "random_share": 0.4,
     "comparison_share": 0.5, "comparison_clips": 6, "deletion_clips": 6, "dropped": 6, "dropped_share": 1.0,
     "dropped_interval": [0.6097, 1.0], "random_dropped_share": 0.3,
     "sufficient_clips": 6, "sufficient": 4, "sufficient_share": 4 / 6, "sufficient_interval": [0.3, 0.9032],
     "necessary_clips": 6, "necessary": 0, "necessary_share": 0.0, "necessary_interval": [0.0, 0.3903]},
    {"k": 2, "clips": 0, "kept": 0, "share": None, "share_interval": None, "random_share": None,
     "comparison_share": None, "comparison_clips": 0, "deletion_clips": 0, "dropped": None, "dropped_share": None,
     "dropped_interval": None, "random_dropped_share": None,
     "sufficient_clips": 0, "sufficient": None, "sufficient_share": None, "sufficient_interval": None,
     "necessary_clips": 0, "necessary": None, "necessary_share": None, "necessary_interval": None},
]
TAG = {"tag": "low", "clips": 6, "unfitted": 1, "source_shares": {"percussive": 0.004, "harmonic": 0.996},
       "source_share_quartiles": {"percussive": [0.003, 0.004, 0.0051], "harmonic": [0.9949, 0.996, 0.997]},
       "segment_shares": {"0": 0.0, "1": 1.0}, "segment_share_quartiles": {"0": [0, 0, 0], "1": [1, 1, 1]},
       "top_components": [{"source": "harmonic", "segment": 1, "clips": 5}], "faithfulness": ROWS}
DOCUMENT = {"id": "a" * 32, "status": "finished", "created_at": "2026-01-02T03:04:05Z",
            "finished_at": "2026-01-02T03:04:15Z", "expires_at": "2026-01-03T03:04:05Z", "links": {},
            "progress": {"done": 7, "failed": 1, "cancelled": 0, "total": 7, "percent": 100.0,
                         "tagger_calls": {"done": 900, "total": 960}},
            "request": {"comparisons": {"random": 20, "separator": "slime"}},
            "clips": [{"clip": "a.wav", "explanation": "e" * 32, "comparison": "c" * 32, "status": "finished",
                       "error": None},
                      {"clip": "b.wav", "explanation": "f" * 32, "comparison": "d" * 32, "status": "failed",
                       "error": {"title": "Tagger error", "detail": "HTTP 400", "explanation": "f" * 32}}],
            "report": {"clips": 6, "failed": [{"clip": "b.wav", "error": {"title": "Tagger error", "detail": "HTTP 400",
                                                                          "explanation": "f" * 32}}],
                       "tags": [TAG], "calls": {"explanations": 400, "faithfulness": 20, "comparison": 480}}}


def test_faithfulness_cells_say_kept_of_clips_shares_intervals_and_none_where_no_clip_has_a_row():
    study = Study.from_json(DOCUMENT)
    first, empty = study.report.tag("low").faithfulness
    assert faithfulness_cells(first) == ["1", "5/6", "83 %", "44–97 %", "40 %", "50 %", "6/6", "100 %", "61–100 %",
                                         "30 %"]
    assert faithfulness_cells(empty) == ["2", "—", "—", "—", "—", "—", "—", "—", "—", "—"]


def test_verified_cells_say_found_of_the_clips_searched_per_part_and_none_where_no_search_ended():
    first, empty = Study.from_json(DOCUMENT).report.tag("low").faithfulness
    assert verified_cells(first) == ["1", "4/6", "67 %", "30–90 %", "0/6", "0 %", "0–39 %"]
    assert verified_cells(empty) == ["2", "—", "—", "—", "—", "—", "—"]


def test_the_verified_table_is_printed_only_when_a_search_ended():
    lines = report_text(Study.from_json(DOCUMENT)).splitlines()
    title = lines.index("“low”: verified by the tagger")
    assert cells(lines[title + 1]) == ["k", "sufficient ≤ k", "share", "95 % interval", "necessary ≤ k", "share",
                                       "95 % interval"]
    assert cells(lines[title + 2]) == ["1", "4/6", "67 %", "30–90 %", "0/6", "0 %", "0–39 %"]
    unsearched = {**TAG, "faithfulness": [ROWS[1]]}
    document = {**DOCUMENT, "report": {**DOCUMENT["report"], "tags": [unsearched]}}
    assert "verified by the tagger" not in report_text(Study.from_json(document))


def cells(line: str) -> list[str]:
    return re.split(r" {2,}", line.strip())


def test_the_tag_line_puts_the_largest_share_first_with_its_quartiles():
    tag = Study.from_json(DOCUMENT).report.tag()
    assert source_shares_text(tag) == "harmonic 99.6 % (99–100 %), percussive 0 % (0–1 %)"  # as percent_range rounds
    assert top_component_text(tag) == "harmonic × segment 1 (5 of 6 clips)"


def test_the_report_text_names_the_comparison_and_the_unfitted_clips():
    text = report_text(Study.from_json(DOCUMENT))
    lines = text.splitlines()
    assert lines[1].split()[:3] == ["low", "6", "(+1"] and "unfitted)" in lines[1]
    assert "comparison: the top-k of slime's explanations" in text
    assert "“low”: faithfulness over 6 clips" in lines


def test_status_lines_list_every_clip_with_its_jobs_and_error():
    lines = status_lines(Study.from_json(DOCUMENT)).splitlines()
    assert lines[2] == "progress  7/7 clips ended (100.0%), 1 failed, 0 cancelled; tagger calls 900/960"
    assert lines[-1].split()[:4] == ["b.wav", "failed", "f" * 32, "d" * 32]
    assert lines[-1].endswith("Tagger error: HTTP 400")


def test_the_summary_says_the_faithfulness_calls_are_part_of_the_explanations():
    line = summary(Study.from_json(DOCUMENT))
    assert line == (f"finished study {'a' * 32} in 10.0 s: 6 of 7 clips explained (1 failed); 900 tagger calls "
                    "(explanations 400, of which 20 for the faithfulness checks; the comparison 480)")
