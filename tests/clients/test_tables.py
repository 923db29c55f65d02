"""What the command line prints per tag: the claim, the weights with their intervals, the shares;
and a result from before the service said how sure it is, printed as it always was."""
from audiolime_client import tables
from audiolime_client.models import Explanation, Job
from tests.clients.results import explanation_json, with_uncertainty
from tests.clients.scripted_server import job_document

WEIGHTS = [0.001, 0.2, 0.3, -0.4, 0.5, -0.002]  # components 0…2 vocals, 3…5 accompaniment


def result(**claim) -> Explanation:
    return Explanation.from_json(with_uncertainty(explanation_json(WEIGHTS), half_width=0.01, **claim))


def test_the_top_claim_names_its_components_best_first_with_its_confidence():
    line = tables.claim_line(report := result(claimed=[4, 2, 1]), report.tag())
    assert line == ("top 3 claimed at confidence 0.97 (target 0.95): accompaniment 1.00–2.00 s, "
                    "vocals 2.00–3.00 s, vocals 1.00–2.00 s")


def test_fewer_claimed_and_not_converged_say_so():
    line = tables.claim_line(report := result(claimed=[4, 2], confidence=0.8123, converged=False), report.tag())
    assert line == ("2 components claimed (fewer than 3 matter) at confidence 0.81 (target 0.95, not reached): "
                    "accompaniment 1.00–2.00 s, vocals 2.00–3.00 s")


def test_a_tolerant_claim_says_it_is_up_to_the_tolerance():
    line = tables.claim_line(report := result(claimed=[4, 2, 1], kind="tolerant"), report.tag())
    assert line == ("top 3 claimed (none left out above one of them by more than 10 % of the largest weight) "
                    "at confidence 0.97 (target 0.95): accompaniment 1.00–2.00 s, vocals 2.00–3.00 s, "
                    "vocals 1.00–2.00 s")


def test_a_tie_is_named_and_the_claim_says_how_many_of_it_belong():
    line = tables.claim_line(report := result(claimed=[4, 2, 1], tied=[1, 2, 0]), report.tag())
    assert line.splitlines() == [
        "top 3 claimed at confidence 0.97 (target 0.95): accompaniment 1.00–2.00 s and any 2 of the 3 tied components",
        "  tied: vocals 1.00–2.00 s, vocals 2.00–3.00 s, vocals 0.00–1.00 s (within 10 % of each other: "
        "which of them belong is not claimed)"]


def test_the_report_shows_intervals_shares_and_where_a_sign_is_not_sure():
    lines = tables.report(result(claimed=[4, 2, 1]), rows=6).splitlines()
    assert lines[0].startswith("“rock”: tag score 0.5000") and lines[1].startswith("  top 3 claimed")
    assert lines[2].split() == ["rank", "source", "time", "span", "weight", "95", "%", "interval"]
    assert lines[3].split() == ["1", "accompaniment", "1.00–2.00", "s", "+0.5000", "±", "0.0100"]
    # ranked 4, 2, 1, 0, 5, 3: the weights of 0 (+0.001) and 5 (−0.002) are within 0.01 of zero
    assert lines[6].split() == ["4", "vocals", "0.00–1.00", "s", "+0.0010", "±", "0.0100,", "spans", "0"]
    assert "spans 0" in lines[7] and "spans 0" not in "".join(lines[3:6] + lines[8:9])
    assert lines[9] == ("  sources: vocals carries 50 % (48–51 %) of the positive weight; "
                        "accompaniment 50 % (48–51 %)")
    assert lines[10] == "  segments: 1.00–2.00 s 70 % (68–71 %), 2.00–3.00 s 30 % (28–31 %), 0.00–1.00 s 0 % (0–1 %)"
    assert lines[11].startswith("  self-check")


def test_an_asymmetric_interval_is_written_as_its_ends():
    assert tables.interval_text(0.5, (0.45, 0.52)) == "+0.4500 to +0.5200"
    assert tables.interval_text(0.01, (-0.01, 0.03)) == "± 0.0200, spans 0"


def test_the_sampling_line_says_how_it_stopped_and_what_it_cost():
    assert tables.sampling_line(result(claimed=[4]).stats) == (
        "sampling: adaptive (paired), stopped: converged after 3 rounds; 256 samples, 242 distinct masks; "
        "118 tagger calls, 128 answers reused from earlier jobs")
    fixed = Explanation.from_json({**explanation_json(WEIGHTS), "stats": {
        "samples": 64, "unique_masks": 62, "tagger_calls": 1, "reused": 0, "strategy": "fixed",
        "design": "independent", "stop_reason": "fixed", "rounds": 1}})
    assert tables.sampling_line(fixed.stats) == ("sampling: fixed (independent), stopped: fixed count; 64 samples, "
                                                 "62 distinct masks; 1 tagger call")


def test_a_result_from_before_the_claim_prints_as_it_did():
    old = Explanation.from_json(explanation_json(WEIGHTS))
    lines = tables.report(old).splitlines()
    assert lines[1].split() == ["rank", "source", "time", "span", "weight"]
    assert lines[2].split() == ["1", "accompaniment", "1.00–2.00", "s", "+0.5000"]
    assert lines[7].startswith("  self-check") and not any("claimed" in line or "carries" in line for line in lines)
    assert tables.sampling_line(old.stats) is None


def test_status_shows_the_confidence_of_its_target_while_adaptive():
    document = job_document("j1", "querying")
    document["progress"] = {"done": 192, "total": 2054, "percent": 9.3, "confidence": 0.8712}
    document["request"] = {"sampling": {"strategy": "adaptive", "confidence": 0.95}}
    assert "progress  9.3% (192/2054 masks), confidence 0.87 of 0.95" in tables.status_lines(Job.from_json(document))


def reuse_stats(reused: int, reuse: dict | None):
    return Explanation.from_json({**explanation_json(WEIGHTS), "stats": {
        "samples": 64, "unique_masks": 62, "tagger_calls": 10, "reused": reused, "strategy": "fixed",
        "design": "independent", "stop_reason": "fixed", "rounds": 1,
        **({"reuse": reuse} if reuse is not None else {})}}).stats


def test_the_reuse_line_says_whether_kept_answers_were_checked_trusted_or_discarded():
    assert tables.reuse_line(reuse_stats(52, {"checked": 4, "discarded": False, "reason": None})) == (
        "reuse: 52 answers from earlier jobs, trusted after the tagger answered 4 of them the same again")
    discarded = {"checked": 4, "discarded": True, "reason": "the tagger answers differently now: rock 0.2 → 0.6"}
    assert tables.reuse_line(reuse_stats(0, discarded)) == (
        "reuse: kept answers discarded after asking 4 masks again: the tagger answers differently now: "
        "rock 0.2 → 0.6")
    off = {"checked": 0, "discarded": False, "reason": "the request turned reuse off"}
    assert tables.reuse_line(reuse_stats(0, off)) == "reuse: none (the request turned reuse off)"


def test_nothing_kept_and_a_result_from_before_reuse_was_checked_say_nothing():
    assert tables.reuse_line(reuse_stats(0, {"checked": 0, "discarded": False, "reason": None})) is None
    assert tables.reuse_line(reuse_stats(0, None)) is None
