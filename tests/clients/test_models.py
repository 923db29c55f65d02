"""Result objects from the API's JSON: the grid is placed by source and segment."""
import numpy as np
import pytest

from audiolime_client.models import Explanation, Job, JobError, Stage
from tests.clients.scripted_server import job_document


def explanation(weights: list[float]) -> Explanation:
    sources, segments = ["vocals", "accompaniment"], [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]
    components = [{"index": i, "name": f"c{i}", "source": sources[i // 3], "segment": i % 3,
                   "start": segments[i % 3][0], "end": segments[i % 3][1]} for i in range(6)]
    ranking = sorted(range(6), key=lambda i: -weights[i])
    return Explanation.from_json({
        "sources": sources, "segments": [{"index": i, "start": a, "end": b} for i, (a, b) in enumerate(segments)],
        "components": components, "residual": False, "settings": {}, "stats": {}, "provenance": {},
        "tags": [{"tag": "rock", "original_score": 0.5, "weights": weights, "intercept": 0.1, "score": 0.9,
                  "local_prediction": 0.5, "ranking": ranking, "self_check": [
                      {"k": 1, "components": [ranking[0]], "score": 0.3, "top_tag": "rock", "still_top": True}]}]})


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
