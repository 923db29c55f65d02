"""The study figure: drawn from any report the service stores, the same bytes for the same report."""
import pytest

from backend import study_figure
from backend.study_report import build_report
from tests.backend.test_study_report import clip, faithful, tag

PNG, SVG = b"\x89PNG\r\n\x1a\n", b"<svg"


def report_never_kept():
    """Six clips whose tag is never kept by its top-k alone and always dropped without it: shares 0 and 1."""
    clips = [clip(f"c{i}", tag("low", [0.0, 0.1, 0.3, 0.6], kept=[False, False, False],
                               faithfulness=faithful(3, [True, True, True], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0])))
             for i in range(6)]
    return build_report(clips, clips, k_max=3)


@pytest.mark.parametrize(("fmt", "magic"), [("png", PNG), ("svg", SVG)])
def test_shares_of_none_and_all_of_the_clips_draw(fmt, magic):
    body = study_figure.render(report_never_kept(), fmt, comparison="slime")
    assert magic in body[:200]
    assert body == study_figure.render(report_never_kept(), fmt, comparison="slime")


def test_a_report_stored_with_an_interval_a_rounding_error_beyond_its_share_draws():
    report = report_never_kept()
    for row in report["tags"][0]["faithfulness"]:  # as wilson_interval gave them before its ends were exact
        row["share_interval"] = [3.384324554477539e-17, 0.39033428790216534]
        row["dropped_interval"] = [0.6096657120978346, 0.9999999999999999]
    assert study_figure.render(report, "png").startswith(PNG)


def test_a_report_without_tags_says_there_is_nothing_to_draw():
    body = study_figure.render(build_report([]), "svg")
    assert b"nothing to draw" in body


def test_the_verified_parts_and_the_confounded_clips_are_drawn():
    from tests.backend.test_study_report import clip, verified

    report = build_report([clip("a", verified("rock", 1, 2, True)), clip("b", verified("rock", 2, None, False))])
    svg = study_figure.render(report, "svg").decode()
    assert "a verified sufficient set of ≤ k" in svg and "a verified necessary set of ≤ k" in svg
    assert "confounded by silence in 1 of 2" in svg
