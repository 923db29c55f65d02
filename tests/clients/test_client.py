"""The Python client against the live service: real Redis, a real RQ worker, the reference
tagger and the API over HTTP (tests/clients/conftest.py)."""
import io
import json
import re

import numpy as np
import pytest

from audiolime_client import (
    BadRequest, Client, Job, JobCancelled, JobFailed, JobNotFinished, NotFound, NotReady, Samples, Sampling, Stage,
    TaggerSettings, Timeout, Unauthorized, Unprocessable,
)
from audiolime_client.audio import decode
from audiolime_client.errors import UsageError
from audiolime_client.files import save_job_files
from engine.adjustment import adjusted_with_covariance, neighbourhoods
from engine.surrogate import SurrogateOptions, fit_surrogates, kernel_weights
from tests.clients import tones
from tests.clients.scripted_server import free_port


def submit_tones(client, server, **overrides):
    request = dict(tagger=tones.tagger_settings(server), sample_rate=tones.RATE, stems=tones.stems(),
                   segments=tones.SEGMENTS, samples=512, tags=["low", "mid"])
    request.update(overrides)
    return client.submit(overrides.pop("audio", tones.mixture()), **request)


@pytest.fixture(scope="module")
def owner(stack):
    """A client with a key of its own, for the module's one known-answer job."""
    with Client(stack.base, stack.new_key(), retries=2, backoff=0.1) as c:
        yield c


@pytest.fixture(scope="module")
def finished(owner, stack) -> Job:
    """One known-answer job, finished (read-only for the tests that share it)."""
    return owner.wait(submit_tones(owner, stack.tagger), timeout=120)


def bass_component(result) -> int:
    return next(c.index for c in result.components if c.source == "bass" and c.segment == tones.BASS_SEGMENT)


# -- submitting from a path, bytes or an array -------------------------------------------------

def test_path_bytes_and_array_submissions_are_explained_identically(client, stack, tmp_path):
    mix_path, stem_paths = tones.write_files(tmp_path)
    common = dict(tagger=tones.tagger_settings(stack.tagger), segments=tones.SEGMENTS, samples=256, tags=["low"])
    from_path = client.submit(mix_path, stems=stem_paths, **common)
    from_bytes = client.submit(mix_path.read_bytes(), stems={n: p.read_bytes() for n, p in stem_paths.items()},
                               **common)
    from_array = client.submit(tones.mixture(), sample_rate=tones.RATE, stems=tones.stems(), **common)
    results = [client.wait(s, timeout=120).result for s in (from_path, from_bytes, from_array)]
    assert len({from_path.id, from_bytes.id, from_array.id}) == 3
    for result in results:
        assert sorted(result.sources) == sorted(tones.SOURCES)
        assert result.tag("low").ranking[0] == bass_component(result)
    # the same audio and seed give the same masks and answers: an array is sent without loss
    np.testing.assert_array_equal(results[0].tag("low").weights, results[1].tag("low").weights)
    np.testing.assert_array_equal(results[0].tag("low").weights, results[2].tag("low").weights)


def test_tagger_settings_as_an_object_and_a_secret_header_that_is_never_returned(client, stack):
    settings = TaggerSettings(url=stack.tagger.url, sample_rate=tones.RATE, batch_size=64, concurrency=1,
                              headers={"Authorization": "Bearer tagger-secret-42"})
    assert "tagger-secret-42" not in repr(settings)
    job = client.wait(submit_tones(client, stack.tagger, tagger=settings, samples=64), timeout=120)
    stored = job.request["tagger"]
    assert stored["headers"] == {"Authorization": "[redacted]"} and stored["batch_size"] == 64
    assert stored["concurrency"] == 1 and "tagger-secret-42" not in json.dumps(job.raw)


# -- the result as objects ------------------------------------------------------------------

def test_the_known_answer_as_objects(finished):
    result = finished.result
    assert finished.stage is Stage.FINISHED and finished.status == "finished" and finished.percent == 100.0
    bass_2 = bass_component(result)
    grid = result.weights_grid("low")
    assert grid.shape == (len(tones.SOURCES), tones.SEGMENTS)
    bass_row = result.sources.index("bass")  # rows follow the result's source order
    assert np.unravel_index(np.argmax(grid), grid.shape) == (bass_row, tones.BASS_SEGMENT)
    assert grid[bass_row, 2] == pytest.approx(tones.LOW_WEIGHT, rel=0.05)
    others = np.ones_like(grid, dtype=bool)
    others[bass_row, 2] = False
    assert np.max(np.abs(grid[others])) < 0.002
    top = result.top_components("low", 3)
    assert [r.rank for r in top] == [1, 2, 3]
    assert (top[0].component.source, top[0].component.segment, top[0].component.index) == ("bass", 2, bass_2)
    assert (top[0].component.start, top[0].component.end) == pytest.approx((2.0, 3.0))
    assert top[0].weight == grid[bass_row, 2]
    assert result.tag("low").self_check[0].components == (bass_2,)
    assert {r.component.source for r in result.top_components("mid", 4)} == {"drums"}  # 440 Hz: the mid band


def test_the_objects_hold_exactly_what_the_json_says(finished):
    raw, result = finished.raw["result"], finished.result
    assert list(result.sources) == raw["sources"] and len(result.segments) == len(raw["segments"])
    for component, data in zip(result.components, raw["components"]):
        assert (component.index, component.name, component.source, component.segment, component.start,
                component.end) == tuple(data[k] for k in ("index", "name", "source", "segment", "start", "end"))
    for explained, data in zip(result.tags, raw["tags"]):
        assert explained.tag == data["tag"] and list(explained.weights) == data["weights"]
        assert list(explained.ranking) == data["ranking"] and explained.intercept == data["intercept"]
        assert (explained.score, explained.original_score) == (data["score"], data["original_score"])
        assert [(r.k, list(r.components), r.score, r.top_tag, r.still_top) for r in explained.self_check] == \
            [(r["k"], r["components"], r["score"], r["top_tag"], r["still_top"]) for r in data["self_check"]]
    assert result.stats == raw["stats"] and result.provenance == raw["provenance"]
    stats = raw["stats"]
    assert (result.stats.samples, result.stats.unique_masks, result.stats.tagger_calls, result.stats.reused) == \
        (stats["samples"], stats["unique_masks"], stats["tagger_calls"], stats["reused"])
    assert (stats["samples"], stats["reused"]) == (512, 0)
    # the calls: the sampling's distinct masks, the self-check's distinct mixes (heard cut, so none of
    # them a sampled mask), and the baseline's and the searches' mixes (for the verified parts)
    checked = {tuple(r["components"]) for data in raw["tags"] for r in data["self_check"]}
    assert result.stats.verification_calls == stats["verification_calls"] > 0
    assert stats["unique_masks"] == 480 and stats["tagger_calls"] == 480 + len(checked) + stats["verification_calls"]
    assert (result.stats.strategy, result.stats.design, result.stats.stop_reason, result.stats.rounds) == \
        ("fixed", "independent", "fixed", 1)
    assert [list(point) for point in result.stats.confidence_trace] == stats["confidence_trace"]
    for explained, data in zip(result.tags, raw["tags"]):
        assert list(explained.weight_se) == data["weight_se"]
        assert [list(pair) for pair in explained.weight_interval] == data["weight_interval"]
        claim = data["stability"]
        assert (explained.stability.top_k, explained.stability.claimed, list(explained.stability.components),
                list(explained.stability.tied), explained.stability.confidence, explained.stability.converged,
                explained.stability.samples_used, explained.stability.distinct_masks) == tuple(claim[k] for k in (
                    "top_k", "claimed", "components", "tied", "confidence", "converged", "samples_used",
                    "distinct_masks"))
        for kind in ("sources", "segments"):
            assert [(g.name, list(g.components), g.weight, list(g.weight_interval), g.positive_share,
                     list(g.positive_share_interval)) for g in getattr(explained.groups, kind)] == [
                (g["name"], g["components"], g["weight"], g["weight_interval"], g["positive_share"],
                 g["positive_share_interval"]) for g in data["groups"][kind]]
    assert finished.created_at.isoformat().replace("+00:00", "Z") == finished.raw["created_at"]
    # the grid puts each weight at its component's source row and segment column
    grid = result.weights_grid("mid")
    for data in raw["components"]:
        row = raw["sources"].index(data["source"])
        assert grid[row, data["segment"]] == raw["tags"][1]["weights"][data["index"]]


def test_result_of_a_finished_job(owner, finished):
    assert owner.result(finished.id) == finished.result


# -- progress and waiting -----------------------------------------------------------------------

def test_wait_reports_the_stages_and_an_increasing_percent(client, stack):
    submitted = submit_tones(client, stack.slow_tagger, samples=128,
                             tagger=tones.tagger_settings(stack.slow_tagger, batch_size=8, concurrency=1))
    seen: list[Job] = []
    bar = io.StringIO()
    job = client.wait(submitted, timeout=120, poll_interval=0.05, on_progress=seen.append, progress=bar)
    percents = [j.percent for j in seen]
    stages = [j.stage.value for j in seen]
    assert percents == sorted(percents) and percents[-1] == 100.0 and job.stage is Stage.FINISHED
    assert any(0 < p < 100 for p in percents), percents  # 16 requests of 0.2 s: watched in between
    order = ["queued", "separating", "querying", "fitting", "checking", "finished"]
    assert "querying" in stages and stages[-1] == "finished"
    assert [order.index(s) for s in stages] == sorted(order.index(s) for s in stages)  # never backwards
    text = bar.getvalue()
    assert "querying" in text and text.rstrip().split("\r")[-1].startswith("finished   100.0%|##########|")
    masks = re.findall(r"(\d+)/(\d+) masks", text)
    assert masks[-1][0] == masks[-1][1] == str(job.progress.total) and len(set(masks)) > 2


def test_wait_gives_up_after_the_timeout_then_cancel(client, stack):
    submitted = submit_tones(client, stack.slow_tagger, samples=1024,
                             tagger=tones.tagger_settings(stack.slow_tagger, batch_size=8, concurrency=1))
    with pytest.raises(Timeout) as caught:
        client.wait(submitted, timeout=1.5, poll_interval=0.1)
    assert not caught.value.job.done and caught.value.job.id == submitted.id
    with pytest.raises(JobNotFinished):
        client.result(submitted)
    with pytest.raises(NotReady) as not_ready:
        client.download_explanation(submitted, "low", 1)
    assert not_ready.value.status == 409 and "finished" in not_ready.value.detail

    after = client.cancel(submitted)
    assert after is not None and after.stage is Stage.CANCELLED and after.result is None
    with pytest.raises(JobCancelled) as cancelled:
        client.wait(submitted, timeout=10)
    assert cancelled.value.job.stage is Stage.CANCELLED
    with pytest.raises(JobCancelled):
        client.result(submitted)
    client.delete(submitted)  # an ended job: now removed
    with pytest.raises(NotFound):
        client.get(submitted)


def test_a_failing_tagger_ends_in_job_failed_with_the_reason(client):
    dead = {"url": "http://127.0.0.1:9/predict", "sample_rate": tones.RATE, "retries": 0, "connect_timeout": 1}
    with pytest.raises(JobFailed) as caught:
        client.explain(tones.mixture(), sample_rate=tones.RATE, stems=tones.stems(), tagger=dead,
                       segments=tones.SEGMENTS, samples=64, timeout=120)
    error = caught.value.job.error
    assert caught.value.job.stage is Stage.FAILED and error.title == "Tagger unreachable"
    assert "127.0.0.1:9" in error.detail and error.stage == "querying" and error.attempts == 1
    assert "Tagger unreachable" in str(caught.value)


# -- sampling ---------------------------------------------------------------------------------

def test_an_adaptive_explain_climbs_to_its_confidence_and_stops_there(client, stack):
    seen: list[Job] = []
    submitted = submit_tones(client, stack.slow_tagger, samples=None, confidence=0.99, claim_k=2,
                             min_samples=32, round_size=16,
                             tagger=tones.tagger_settings(stack.slow_tagger, batch_size=8, concurrency=1))
    job = client.wait(submitted, timeout=120, poll_interval=0.05, on_progress=seen.append)
    assert job.request["samples"] is None and job.request["sampling"]["strategy"] == "adaptive"
    assert (job.request["sampling"]["confidence"], job.request["sampling"]["top_k"]) == (0.99, 2)
    stats, claim = job.result.stats, job.result.tag("low").stability
    assert (stats.strategy, stats.design, stats.stop_reason) == ("adaptive", "paired", "converged")
    assert claim.converged and claim.confidence >= 0.99 and claim.target == 0.99 and claim.top_k == 2
    assert claim.components == (bass_component(job.result),) and claim.claimed == 1  # only the bass matters
    assert job.progress.confidence == stats.confidence_trace[-1][1] >= 0.99
    watched = [j.progress.confidence for j in seen if j.stage is Stage.QUERYING and j.progress.confidence is not None]
    assert len(set(watched)) >= 2 and set(watched) <= {c for _, c in stats.confidence_trace}  # per round, as it came
    assert stats.samples == stats.confidence_trace[-1][0] == claim.samples_used < 2048


def test_fixed_asks_exactly_that_many_masks(client, stack):
    job = client.explain(tones.mixture(), sample_rate=tones.RATE, stems=tones.stems(), segments=tones.SEGMENTS,
                         tagger=tones.tagger_settings(stack.tagger), tags=["low"], fixed=64,
                         sampling=Sampling(confidence=0.9), timeout=120)
    assert (job.request["samples"], job.request["sampling"]["strategy"]) == (64, "fixed")
    stats = job.result.stats
    assert (stats.strategy, stats.stop_reason, stats.samples, stats.rounds) == ("fixed", "fixed", 64, 1)
    assert job.result.tag("low").stability.target == 0.9


def test_samples_refit_to_the_reported_weights_in_json_and_npz(owner, finished, tmp_path):
    as_json, as_npz = owner.samples(finished), owner.samples(finished.id, format="npz")
    assert isinstance(as_json, Samples) and as_json.labels == as_npz.labels == ("low", "mid", "high", "loud")
    for name in ("masks", "counts", "scores", "draws", "units"):
        np.testing.assert_array_equal(getattr(as_json, name), getattr(as_npz, name))
    assert as_json.estimator == as_npz.estimator == "plain"  # a fixed run: LIME's fit
    np.testing.assert_array_equal(np.bincount(as_json.draws, minlength=len(as_json.masks)), as_json.counts)
    assert as_json.samples == finished.result.stats.samples and as_json.masks[0].all()
    assert len(as_json.masks) == finished.result.stats.unique_masks and as_json.exhaustive is False
    options = SurrogateOptions(kernel_width=as_json.kernel_width, alpha=as_json.alpha)
    for explained in finished.result.tags:
        fit = fit_surrogates(as_npz.masks, as_npz.scores_for(explained.tag)[:, None], options, counts=as_npz.counts)[0]
        np.testing.assert_allclose(fit.weights, explained.weights, rtol=0, atol=1e-12)
        assert fit.intercept == pytest.approx(explained.intercept, abs=1e-12)
    written = owner.samples(finished, "npz", tmp_path / "s" / "samples.npz")
    assert written == tmp_path / "s" / "samples.npz" and not list(tmp_path.rglob("*.part"))
    np.testing.assert_array_equal(Samples.from_npz(written.read_bytes()).scores, as_json.scores)
    assert json.loads(owner.samples(finished, "json", tmp_path / "s.json").read_text())["counts"] == \
        as_json.counts.tolist()
    with pytest.raises(UsageError, match="format must be one of json, npz"):
        owner.samples(finished, "csv")
    with pytest.raises(KeyError, match="no label 'jazz'"):
        as_json.scores_for("jazz")


def test_samples_of_an_adaptive_run_count_their_repeats_and_refit_exactly(client, stack):
    """The adaptive default reports the regression-adjusted weights: the samples carry each draw's
    mask and unit in order, from which the engine's adjusted estimate gives them again exactly."""
    job = client.explain(tones.mixture(), sample_rate=tones.RATE, stems=tones.stems(), segments=tones.SEGMENTS,
                         tagger=tones.tagger_settings(stack.tagger), tags=["low", "mid"], timeout=120)
    samples = client.samples(job, "npz")
    assert job.result.stats.strategy == "adaptive" and samples.samples == job.result.stats.samples
    assert samples.estimator == "adjusted" and len(samples.draws) == len(samples.units) == samples.samples
    np.testing.assert_array_equal(np.bincount(samples.draws, minlength=len(samples.masks)), samples.counts)
    scores = np.stack([samples.scores_for(t) for t in ("low", "mid")], axis=1)
    kernel = kernel_weights(samples.masks.astype(np.float64), samples.kernel_width)
    adjusted, _ = adjusted_with_covariance(samples.masks, samples.draws, samples.units, scores, kernel, samples.alpha,
                                           samples.kernel_width,
                                           neighbourhoods(len(job.result.sources), len(job.result.segments)))
    plain = fit_surrogates(samples.masks, scores, SurrogateOptions(kernel_width=samples.kernel_width,
                                                                   alpha=samples.alpha), counts=samples.counts)
    for t, explained in enumerate(job.result.tags):
        np.testing.assert_allclose(adjusted.weights[t], explained.weights, rtol=0, atol=1e-12)
        assert np.abs(plain[t].weights - explained.weights).max() > 1e-6  # LIME's plain refit is another estimate


def test_samples_wait_for_the_end_and_stay_with_their_key(client, stack, finished):
    submitted = submit_tones(client, stack.slow_tagger, fixed=1024, samples=None,
                             tagger=tones.tagger_settings(stack.slow_tagger, batch_size=8, concurrency=1))
    try:
        with pytest.raises(NotReady) as not_ready:
            client.samples(submitted)
        assert not_ready.value.status == 409
    finally:
        client.cancel(submitted)
    with Client(stack.base, stack.new_key(), retries=0) as other, pytest.raises(NotFound):
        other.samples(finished, "npz")


# -- downloads --------------------------------------------------------------------------------

def test_downloads_decode_to_the_right_audio(owner, finished, tmp_path):
    bass_2 = bass_component(finished.result)
    source, rate = decode(owner.download_source(finished, "bass"))
    assert rate == tones.RATE and source.shape == (tones.SECONDS * tones.RATE, 1)
    np.testing.assert_allclose(source[:, 0], tones.stems()["bass"][:, 0], atol=1e-4)

    path = owner.download_component(finished, bass_2, tmp_path / "c" / "bass2.flac", format="flac")
    assert path == tmp_path / "c" / "bass2.flac" and path.read_bytes()[:4] == b"fLaC"
    component, rate = decode(path.read_bytes())
    assert rate == tones.RATE and len(component) == tones.SECONDS * tones.RATE
    assert np.abs(component[: int(1.9 * rate)]).max() == 0
    assert np.abs(component[int(2.1 * rate): int(2.9 * rate)]).max() > 0.25

    # the top-1 mix as the checks heard it (check_off: cut): seconds 2-3 of the bass alone, looped to the
    # clip's length with 5 ms crossfades where the loop joins
    mix, rate = decode(owner.download_explanation(finished, "low", k=1))
    bass, fade = tones.stems()["bass"][2 * rate: 3 * rate, 0], rate // 200
    assert len(mix) == tones.SECONDS * rate
    for start in range(0, len(mix), rate):
        np.testing.assert_allclose(mix[start + fade: start + rate - fade, 0], bass[fade:-fade], atol=1e-4)


def test_download_all_writes_every_listenable_part(owner, finished, tmp_path):
    written = owner.download_all(finished, tmp_path / "out", k=2, components=True, samples=True)
    out = tmp_path / "out"
    assert json.loads((out / "result.json").read_text())["id"] == finished.id
    assert sorted(p.name for p in (out / "sources").iterdir()) == ["bass.wav", "drums.wav", "vocals.wav"]
    assert len(list((out / "components").iterdir())) == len(tones.SOURCES) * tones.SEGMENTS
    for tag in ("low", "mid"):
        mix, rate = decode((out / f"explanation-{tag}-top2.wav").read_bytes())
        assert rate == tones.RATE and len(mix) == tones.SECONDS * tones.RATE
    # and each tag's verified parts that were found, as the tagger heard them
    found = [f"{name}:{tag.tag}" for tag in finished.result.tags for name in ("sufficient", "necessary")
             if tag.part(name) is not None and tag.part(name).playable]
    assert found and all(written[what].parent == out for what in found)
    assert all(path.is_file() for path in written.values()) and len(written) == 1 + 3 + 2 + 12 + 1 + len(found)
    assert Samples.from_npz((out / "samples.npz").read_bytes()).samples == finished.result.stats.samples
    assert not list(out.rglob("*.part"))


def test_a_finished_job_object_is_not_fetched_again(finished, tmp_path):
    # nothing listens on this port: any request would end in ConnectionFailed
    with Client(f"http://127.0.0.1:{free_port()}", retries=0) as offline:
        assert offline.result(finished) is finished.result
        with pytest.raises(UsageError, match=r"'jazz' was not explained; explained: low, mid"):
            save_job_files(offline, finished, tmp_path / "out", tags=["low", "jazz"])
    assert not (tmp_path / "out").exists()  # checked before anything was written


def test_unknown_source_or_tag_is_not_found(owner, finished):
    with pytest.raises(NotFound) as caught:
        owner.download_source(finished, "guitar")
    assert "guitar" in caught.value.detail and "bass" in caught.value.detail
    with pytest.raises(NotFound):
        owner.download_explanation(finished, "jazz")


# -- listing and deleting ---------------------------------------------------------------------

def test_list_pages_through_this_keys_jobs_newest_first(client, stack):
    ids = [submit_tones(client, stack.tagger, samples=32).id for _ in range(3)]
    for ident in ids:
        client.wait(ident, timeout=120)
    assert [job.id for job in client.list(page_size=2)] == ids[::-1]
    page = client.page(limit=2)
    assert page.total == 3 and page.next is not None and [j.id for j in page] == ids[:0:-1]
    client.delete(ids[0])
    assert [job.id for job in client.list()] == ids[:0:-1]
    with pytest.raises(NotFound):
        client.get(ids[0])


def test_another_keys_jobs_are_invisible(stack, finished):
    with Client(stack.base, stack.new_key()) as other:
        assert list(other.list()) == []
        with pytest.raises(NotFound):
            other.get(finished.id)


# -- problems as exceptions ---------------------------------------------------------------------

def test_unknown_id_is_not_found_with_the_problem_fields(client):
    with pytest.raises(NotFound) as caught:
        client.get("no-such-job")
    error = caught.value
    assert (error.status, error.title, error.type) == (404, "Not found", "about:blank")
    assert "no explanation 'no-such-job'" in error.detail


@pytest.mark.parametrize(("key", "detail"), [(None, "Authorization: Bearer"), ("wrong-key", "not valid")])
def test_a_missing_or_wrong_api_key_is_unauthorized(stack, key, detail):
    with pytest.raises(Unauthorized) as caught:
        Client(stack.base, key, retries=0).get("anything")
    assert caught.value.status == 401 and detail in caught.value.detail


def test_a_bad_tagger_url_is_a_bad_request(client):
    with pytest.raises(BadRequest) as caught:
        client.submit(tones.mixture(), sample_rate=tones.RATE, tagger="ftp://tagger.example/predict")
    assert caught.value.status == 400 and "scheme 'ftp'" in caught.value.detail


def test_audio_the_service_cannot_read_is_unprocessable(client, stack):
    with pytest.raises(Unprocessable) as caught:
        client.submit(b"\x00\x01 not audio at all" * 100, tagger=tones.tagger_settings(stack.tagger))
    assert caught.value.status == 422 and "audio" in caught.value.detail


def test_stems_that_do_not_match_the_mixture_are_unprocessable(client, stack):
    short = {name: wave[: tones.RATE] for name, wave in tones.stems().items()}
    with pytest.raises(Unprocessable) as caught:
        client.submit(tones.mixture(), sample_rate=tones.RATE, stems=short, tagger=tones.tagger_settings(stack.tagger))
    assert "must match" in caught.value.detail


def test_settings_the_client_refuses_before_sending(client):
    with pytest.raises(UsageError, match="not both"):  # a ValueError too, as the tests below rely on
        client.submit(b"x", tagger="http://t/p", tags=["a"], top_k=2)
    with pytest.raises(ValueError, match="sample_rate"):
        client.submit(tones.mixture(), tagger="http://t/p")
    with pytest.raises(ValueError, match="protocol"):
        client.submit(b"x", tagger={"url": "http://t/p", "protocol": "grpc"})
    with pytest.raises(ValueError, match="stems are only used"):
        client.submit(b"x", tagger="http://t/p", stems={"a": b"x"}, separator="spleeter:2stems")
