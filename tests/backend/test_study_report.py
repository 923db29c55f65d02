"""The study report, from hand-made explanation results whose every number is known."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from backend.study_report import build_report, wilson_interval

ROOT = Path(__file__).resolve().parents[2]

SOURCES = ["vocals", "accompaniment"]
COMPONENTS = [{"index": s * 2 + g, "name": f"{name}[{g}]", "source": name, "segment": g, "start": g, "end": g + 1}
              for s, name in enumerate(SOURCES) for g in range(2)]  # vocals 0, 1; accompaniment 2, 3


def tag(name, weights, kept=(), faithfulness=None, error=None, groups=True):
    """A TagExplanation document: self-check rows for k = 1… as many as `kept` says."""
    positive = [max(w, 0.0) for w in weights]
    total = sum(positive)

    def share(members):
        return sum(positive[i] for i in members) / total if total else 0.0

    doc = {"tag": name, "weights": list(weights), "error": error, "faithfulness": faithfulness,
           "self_check": [{"k": k, "components": [], "score": 0.5, "top_tag": name if still else "other",
                           "still_top": still} for k, still in enumerate(kept, start=1)],
           "groups": None}
    if groups:
        doc["groups"] = {"sources": [{"name": n, "positive_share": share([s * 2, s * 2 + 1])}
                                     for s, n in enumerate(SOURCES)],
                         "segments": [{"name": str(g), "positive_share": share([g, g + 2])} for g in range(2)]}
    return doc


def result(*tags, calls=100, faithfulness_calls=0):
    return {"sources": SOURCES, "segments": [{"index": g, "start": g, "end": g + 1} for g in range(2)],
            "components": COMPONENTS, "tags": list(tags),
            "stats": {"tagger_calls": calls, "faithfulness_calls": faithfulness_calls}}


def faithful(k_max, dropped, keep, remove, draws=10):
    return {"k_max": k_max, "positive": len(keep),
            "remove": [{"k": k, "components": [], "score": 0.1, "top_tag": "x", "dropped": d}
                       for k, d in enumerate(dropped, start=1)],
            "random": {"draws": draws, "keep": keep, "remove": remove,
                       "keep_counts": [round(s * draws) for s in keep],
                       "remove_counts": [round(s * draws) for s in remove]}}


def clip(name, *tags, **stats):
    return {"clip": name, "result": result(*tags, **stats)}


def test_the_wilson_interval_holds_its_share_exactly_at_the_ends():
    for trials in range(1, 61):
        for successes in range(trials + 1):
            low, high = wilson_interval(successes, trials)
            assert 0.0 <= low <= successes / trials <= high <= 1.0
        assert wilson_interval(0, trials)[0] == 0.0 and wilson_interval(trials, trials)[1] == 1.0


@pytest.mark.parametrize(("successes", "trials", "expected"), [
    (8, 10, [0.4902, 0.9433]), (10, 10, [0.7225, 1.0]), (0, 10, [0.0, 0.2775]), (1, 2, [0.0945, 0.9055]),
    (50, 100, [0.4038, 0.5962]),
])
def test_the_wilson_interval_against_known_values(successes, trials, expected):
    assert wilson_interval(successes, trials) == pytest.approx(expected, abs=5e-5)


def test_no_trials_no_interval():
    assert wilson_interval(0, 0) is None


def test_rock_on_three_clips_shares_tops_and_faithfulness():
    clips = [
        clip("a", tag("rock", [0.0, 0.1, 0.3, 0.6], kept=[True, True, True],
                      faithfulness=faithful(3, [True, True, False], [0.2, 0.5, 0.7], [0.1, 0.3, 0.4])),
             calls=140, faithfulness_calls=40),
        clip("b", tag("rock", [0.2, 0.0, 0.2, 0.6], kept=[True, False, True],
                      faithfulness=faithful(3, [True, False, True], [0.4, 0.6, 0.8], [0.3, 0.3, 0.5])),
             calls=150, faithfulness_calls=50),
        clip("c", tag("rock", [0.5, -0.2, 0.5, 0.0], kept=[False, True]), calls=90),  # two positive
    ]
    report = build_report(clips)
    assert report["clips"] == 3 and report["failed"] == []
    assert report["calls"] == {"explanations": 380, "faithfulness": 90, "verification": 0, "comparison": 0}
    rock = report["tags"][0]
    assert (rock["tag"], rock["clips"], rock["unfitted"]) == ("rock", 3, 0)
    # vocals' shares 0.1, 0.2, 0.5; accompaniment 0.9, 0.8, 0.5
    assert rock["source_shares"] == pytest.approx({"vocals": 0.2, "accompaniment": 0.8})
    assert rock["source_share_quartiles"]["vocals"] == pytest.approx([0.15, 0.2, 0.35])
    assert rock["source_share_quartiles"]["accompaniment"] == pytest.approx([0.65, 0.8, 0.85])
    # segment 0: 0.3, 0.4, 1.0; segment 1: 0.7, 0.6, 0.0
    assert rock["segment_shares"] == pytest.approx({"0": 0.4, "1": 0.6})
    assert rock["segment_share_quartiles"]["1"] == pytest.approx([0.3, 0.6, 0.65])
    assert rock["top_components"] == [{"source": "accompaniment", "segment": 1, "clips": 2},
                                      {"source": "vocals", "segment": 0, "clips": 1}]
    k1, k2, k3 = rock["faithfulness"]
    assert (k1["k"], k1["clips"], k1["kept"], k1["share"]) == (1, 3, 2, pytest.approx(2 / 3))
    assert k1["share_interval"] == pytest.approx(wilson_interval(2, 3))
    assert k1["random_share"] == pytest.approx(0.3)  # the clips that drew: a and b
    assert (k1["deletion_clips"], k1["dropped"], k1["dropped_share"]) == (2, 2, 1.0)
    assert k1["dropped_interval"] == pytest.approx(wilson_interval(2, 2))
    assert k1["random_dropped_share"] == pytest.approx(0.2)
    assert k1["comparison_share"] is None and k1["comparison_clips"] == 0
    assert (k2["clips"], k2["kept"], k2["dropped"], k2["random_share"]) == (3, 2, 1, pytest.approx(0.55))
    # clip c has two positive components only: k = 3 is over a and b
    assert (k3["clips"], k3["kept"], k3["share"], k3["dropped_share"]) == (2, 2, 1.0, 0.5)
    assert k3["random_share"] == pytest.approx(0.75) and k3["random_dropped_share"] == pytest.approx(0.45)
    json.dumps(report)  # plain JSON all through


def test_each_clip_counts_for_the_tags_it_explained_and_a_tag_on_one_clip_stands_alone():
    clips = [clip("a", tag("rock", [0.0, 0.0, 0.4, 0.6], kept=[True]), tag("pop", [0.3, 0.1, 0.0, 0.0], kept=[False])),
             clip("b", tag("rock", [0.0, 0.0, 0.5, 0.5], kept=[True]))]
    report = build_report(clips)
    assert [(t["tag"], t["clips"]) for t in report["tags"]] == [("rock", 2), ("pop", 1)]
    pop = report["tags"][1]
    assert pop["source_shares"] == pytest.approx({"vocals": 1.0, "accompaniment": 0.0})
    assert pop["source_share_quartiles"]["vocals"] == pytest.approx([1.0, 1.0, 1.0])
    assert pop["segment_shares"] == pytest.approx({"0": 0.75, "1": 0.25})
    assert pop["top_components"] == [{"source": "vocals", "segment": 0, "clips": 1}]
    [row] = pop["faithfulness"]
    assert (row["clips"], row["kept"], row["share"]) == (1, 0, 0.0)
    assert row["share_interval"] == pytest.approx([0.0, 0.7935], abs=5e-5)
    assert row["random_share"] is None and row["dropped"] is None and row["dropped_share"] is None
    assert row["dropped_interval"] is None and row["random_dropped_share"] is None


def test_the_comparison_is_the_same_share_on_the_same_clips_only():
    clips = [clip("a", tag("rock", [0.0, 0.0, 0.4, 0.6], kept=[True, True])),
             clip("b", tag("rock", [0.0, 0.0, 0.5, 0.5], kept=[True, False]))]
    comparison = [clip("a", tag("rock", [0.1, 0.0, 0.0, 0.0], kept=[False]), calls=60),
                  clip("b", tag("rock", [0.1, 0.2, 0.0, 0.0], kept=[True, True]), calls=70),
                  clip("z", tag("rock", [0.1, 0.0, 0.0, 0.0], kept=[True]), calls=80),  # not a clip of the study
                  clip("a", tag("pop", [0.1, 0.0, 0.0, 0.0], kept=[True]))]  # another tag
    report = build_report(clips, comparison)
    k1, k2 = report["tags"][0]["faithfulness"]
    assert (k1["comparison_share"], k1["comparison_clips"]) == (0.5, 2)
    assert (k2["comparison_share"], k2["comparison_clips"]) == (1.0, 1)
    assert report["calls"]["comparison"] == 310  # every comparison job's calls, 100 for the pop one
    assert [t["tag"] for t in report["tags"]] == ["rock"]  # the comparison adds no tags of its own


def test_an_empty_comparison_is_null_shares_and_no_calls():
    clips = [clip("a", tag("rock", [0.0, 0.0, 0.4, 0.6], kept=[True]))]
    for comparison in (None, []):
        report = build_report(clips, comparison)
        assert report["tags"][0]["faithfulness"][0]["comparison_share"] is None
        assert report["calls"]["comparison"] == 0


def test_failed_clips_are_listed_and_an_empty_study_is_an_empty_report():
    failed = [{"clip": "x.mp3", "error": {"title": "Tagger unreachable", "detail": "refused"}}]
    assert build_report([], failed=failed) == {
        "clips": 0, "failed": [{"clip": "x.mp3", "error": {"title": "Tagger unreachable", "detail": "refused"}}],
        "tags": [], "calls": {"explanations": 0, "faithfulness": 0, "verification": 0, "comparison": 0}}


def test_k_max_fixes_the_rows_even_where_no_clip_reaches_them():
    clips = [clip("a", tag("rock", [0.0, 0.0, 0.4, 0.6], kept=[True, True]))]
    rows = build_report(clips, k_max=4)["tags"][0]["faithfulness"]
    assert [(r["k"], r["clips"], r["share"], r["share_interval"]) for r in rows][2:] == [(3, 0, None, None),
                                                                                          (4, 0, None, None)]
    assert [r["k"] for r in build_report(clips, k_max=1)["tags"][0]["faithfulness"]] == [1]


def test_a_tag_that_could_not_be_fitted_is_counted_apart_and_no_positive_weight_has_no_shares():
    unfitted = tag("rock", [0.0] * 4, error={"stage": "fitting", "detail": "singular"})
    flat = tag("rock", [0.0, -0.1, 0.0, 0.0])  # fitted, nothing positive: no shares, no top component
    checked = tag("rock", [0.0, 0.0, 0.0, 0.4], error={"stage": "checking", "detail": "tagger went away"})
    rock = build_report([clip("a", unfitted), clip("b", flat), clip("c", checked)])["tags"][0]
    assert (rock["clips"], rock["unfitted"]) == (2, 1)
    assert rock["source_shares"] == {"vocals": 0.0, "accompaniment": 1.0}  # clip c's alone
    assert rock["top_components"] == [{"source": "accompaniment", "segment": 1, "clips": 1}]
    assert rock["faithfulness"] == []  # no self-check ran on any clip


def test_results_without_groups_get_the_same_shares_from_the_weights():
    weights = [0.1, -0.3, 0.3, 0.6]
    with_groups = build_report([clip("a", tag("rock", weights, kept=[True]))])["tags"][0]
    without = build_report([clip("a", tag("rock", weights, kept=[True], groups=False))])["tags"][0]
    assert without["source_shares"] == pytest.approx(with_groups["source_shares"])
    assert without["segment_shares"] == pytest.approx(with_groups["segment_shares"])


def test_the_report_needs_numpy_only():
    code = "import json, sys, backend.study_report; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    tops = {m.split(".")[0] for m in json.loads(out.stdout.strip().splitlines()[-1])}
    assert not tops & {"flask", "werkzeug", "rq", "redis", "requests", "worker", "service", "sklearn", "scipy"}


def part(size, max_size=3, error=None):
    """A verified part record: found with `size` components, or not found (None)."""
    return {"found": size is not None, "size": size, "components": None if size is None else list(range(size)),
            "max_size": max_size, "error": error, "statement": "…", "tried": 5, "calls": 2}


def verified(name, sufficient, necessary, confounded):
    doc = tag(name, [0.3, 0.2, 0.1, -0.1], kept=(False, True, True))
    doc.update(sufficient=part(sufficient), necessary=part(necessary),
               baseline={"confounded": confounded, "score": 0.2, "rank": 1})
    return doc


def test_the_shares_of_clips_with_a_verified_part_of_at_most_k_and_of_confounded_clips():
    clips = [clip("a", verified("rock", 1, 2, True)), clip("b", verified("rock", 2, None, False)),
             clip("c", verified("rock", None, 1, False)),
             clip("d", {**verified("rock", 1, 1, False), "necessary": part(None, error="the tagger failed")})]
    [rock] = build_report(clips)["tags"]
    rows = {row["k"]: row for row in rock["faithfulness"]}
    assert sorted(rows) == [1, 2, 3]  # the parts' depth (3), though the self-checks stop at 3 too
    assert [rows[k]["sufficient"] for k in (1, 2, 3)] == [2, 3, 3] and rows[1]["sufficient_clips"] == 4
    assert rows[2]["sufficient_share"] == pytest.approx(3 / 4)
    assert rows[2]["sufficient_interval"] == pytest.approx(wilson_interval(3, 4))
    # the failed search says nothing: three clips searched for a necessary set
    assert rows[1]["necessary_clips"] == 3 and [rows[k]["necessary"] for k in (1, 2, 3)] == [1, 2, 2]
    assert rock["confounded"] == {"clips": 4, "confounded": 1, "share": 0.25, "interval": wilson_interval(1, 4)}


def test_results_from_before_the_verified_parts_have_empty_part_rows():
    [rock] = build_report([clip("a", tag("rock", [0.3, 0.1, 0, 0], kept=(True,)))])["tags"]
    assert rock["faithfulness"][0]["sufficient_clips"] == 0 and rock["faithfulness"][0]["sufficient"] is None
    assert rock["confounded"]["clips"] == 0 and rock["confounded"]["share"] is None
