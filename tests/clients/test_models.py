"""Result objects from the API's JSON: the grid is placed by source and segment; results from
before the service said how sure it is still parse, and what it says now is typed."""
import numpy as np
import pytest

from audiolime_client.models import Explanation, Job, JobError, Progress, Stage
from audiolime_client.stability import Stability
from tests.clients.results import explanation_json, with_uncertainty
from tests.clients.scripted_server import job_document


def explanation(weights: list[float]) -> Explanation:
    return Explanation.from_json(explanation_json(weights))


def test_weights_grid_is_sources_by_segments():
    result = explanation([0.1, 0.2, 0.3, -0.4, 0.5, -0.6])
    np.testing.assert_array_equal(result.weights_grid("rock"), [[0.1, 0.2, 0.3], [-0.4, 0.5, -0.6]])
    assert result.weights_grid().shape == (2, 3)  # the first tag by default


def test_top_components_follow_the_ranking():
    top = explanation([0.1, 0.2, 0.3, -0.4, 0.5, -0.6]).top_components("rock", 2)
    assert [(r.rank, r.component.index, r.component.source, r.component.segment, r.weight) for r in top] == \
        [(1, 4, "accompaniment", 1, 0.5), (2, 2, "vocals", 2, 0.3)]
    assert top[0].component.span == "1.00–2.00 s"


def test_an_unexplained_tag_says_which_were():
    with pytest.raises(KeyError, match=r"'jazz' was not explained; explained: \['rock'\]"):
        explanation([0.0] * 6).tag("jazz")


def test_a_listing_item_is_a_job_without_details():
    summary = {k: v for k, v in job_document("j1", "querying").items()
               if k not in ("ttl_seconds", "attempts", "request", "error", "result")}
    job = Job.from_json(summary)
    assert job.stage is Stage.QUERYING and job.status == "running" and not job.done
    assert job.result is None and job.error is None and job.created_at.tzinfo is not None


def test_a_job_error_reads_with_where_it_happened():
    error = JobError("Tagger unreachable", "no answer", stage="querying", http_status=None, attempts=2, batch=3)
    assert str(error) == "Tagger unreachable: no answer [stage querying, batch 3, attempts 2]"
    assert str(JobError("Oops", "broken")) == "Oops: broken"


def test_a_result_from_before_the_uncertainty_fields_still_parses():
    result = explanation([0.1, 0.2, 0.3, -0.4, 0.5, -0.6])
    rock = result.tag("rock")
    assert (rock.weight_se, rock.weight_interval, rock.stability, rock.groups) == (None, None, None, None)
    assert rock.spans_zero == (False,) * 6 and result.top_components("rock", 1)[0].interval is None
    stats = result.stats  # typed, and still the mapping it was
    assert (stats.samples, stats.tagger_calls, stats.strategy, stats.stop_reason, stats.confidence_trace) == \
        (512, 515, None, None, ())
    assert stats["tagger_calls"] == 515 and stats.get("reused") is None and dict(stats) == {"samples": 512,
                                                                                          "tagger_calls": 515}
    assert stats == {"samples": 512, "tagger_calls": 515}


def test_the_uncertainty_fields_are_typed():
    weights = [0.001, 0.2, 0.3, -0.4, 0.5, -0.002]
    result = Explanation.from_json(with_uncertainty(explanation_json(weights), half_width=0.01, claimed=[4, 2, 1]))
    rock = result.tag("rock")
    assert rock.weight_se == pytest.approx((0.01 / 1.96,) * 6)
    assert rock.weight_interval[4] == pytest.approx((0.49, 0.51)) and isinstance(rock.weight_interval[4], tuple)
    assert rock.spans_zero == (True, False, False, False, False, True)
    assert rock.stability == Stability(top_k=3, claimed=3, components=(4, 2, 1), tied=(), confidence=0.97,
                                       converged=True, samples_used=256, distinct_masks=242, tolerance=0.1,
                                       target=0.95, method="sandwich")
    accompaniment = rock.groups.source("accompaniment")
    assert accompaniment.components == (3, 4, 5) and accompaniment.positive_share == pytest.approx(0.5 / 1.001)
    assert [g.name for g in rock.groups.segments] == ["0", "1", "2"]
    top = result.top_components("rock", 1)[0]
    assert (top.component.index, top.interval) == (4, pytest.approx((0.49, 0.51)))
    stats = result.stats
    assert (stats.strategy, stats.design, stats.stop_reason, stats.rounds, stats.reused) == \
        ("adaptive", "paired", "converged", 3, 128)
    assert stats.confidence_trace == ((128, 0.0), (192, 0.82), (256, 0.97)) and stats.tagger["requests"] == 17


def test_spans_zero_includes_an_interval_that_ends_at_zero():
    data = explanation_json([0.0, 0.2, 0.3, -0.4, 0.5, -0.6])
    data["tags"][0]["weight_interval"] = [[0.0, 0.0], [0.0, 0.4], [0.1, 0.5], [-0.5, -0.3], [0.4, 0.6], [-0.7, 1e-9]]
    assert Explanation.from_json(data).tag().spans_zero == (True, True, False, False, False, True)


def test_progress_carries_the_confidence_when_there_is_one():
    assert Progress.from_json({"done": 1, "total": 2, "percent": 50.0}).confidence is None
    assert Progress.from_json({"done": 1, "total": 2, "percent": 50.0, "confidence": None}).confidence is None
    assert Progress.from_json({"done": 1, "total": 2, "percent": 50.0, "confidence": 0.5}).confidence == 0.5
