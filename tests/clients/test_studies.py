"""The Python client's study calls against the live service (tests/clients/conftest.py): submit,
read, wait with a progress bar, list, the figure, cancel; typed models; errors as elsewhere."""
import io
from xml.etree import ElementTree

import pytest

from audiolime_client import (
    Client, FaithfulnessRow, NotFound, NotReady, Study, StudyFailed, StudySubmitted, Timeout, TopComponent,
    UsageError,
)
from tests.clients.study_clips import request, write_clips
from tests.integration.test_studies import clip_audio, loud_audio


@pytest.fixture(scope="module")
def owner(stack):
    with Client(stack.base, stack.new_key(), retries=2, backoff=0.1) as c:
        yield c


@pytest.fixture(scope="module")
def finished(owner, stack, tmp_path_factory) -> Study:
    """One known-answer study of three clips (a path, bytes, and a named pair), with the random baseline."""
    paths = write_clips(tmp_path_factory.mktemp("study"), 2)
    clips = [paths[0], paths[1].read_bytes(), ("named.wav", clip_audio(2))]
    submitted = owner.submit_study(clips, comparisons={"random": 3}, **request(stack.bands_tagger.url))
    assert isinstance(submitted, StudySubmitted) and submitted.status == "queued"
    assert [c.clip for c in submitted.clips] == ["clip-0.wav", "clip-002", "named.wav"]
    return owner.wait_study(submitted, timeout=180)


def test_the_known_answer_as_objects(finished):
    assert finished.status == "finished" and finished.done and finished.comparison is None
    assert (finished.progress.done, finished.progress.total, finished.progress.failed) == (3, 3, 0)
    assert finished.progress.tagger_calls_done == finished.progress.tagger_calls_total > 0
    assert [c.status for c in finished.clips] == ["finished"] * 3 and all(not c.error_text for c in finished.clips)
    report = finished.report
    assert report.clips == 3 and report.failed == () and report.tag_names == ["low"]
    low = report.tag("low")
    assert low is report.tag() and low.clips == 3 and low.unfitted == 0
    assert max(low.source_shares, key=low.source_shares.get) == "harmonic" and low.source_shares["harmonic"] > 0.9
    q1, median, q3 = low.source_quartiles["harmonic"]
    assert q1 <= median == low.source_shares["harmonic"] <= q3
    assert low.segment_shares[1] == max(low.segment_shares.values())
    assert low.top_components == (TopComponent("harmonic", 1, 3),)
    first = low.faithfulness[0]
    assert isinstance(first, FaithfulnessRow)
    assert (first.k, first.clips, first.kept, first.share) == (1, 3, 3, 1.0)
    assert first.share_interval[0] < 1.0 == first.share_interval[1]
    assert first.random_share is not None and first.random_share < first.share
    assert first.comparison_share is None and first.deletion_clips == 3 and first.dropped is not None
    assert report.calls["explanations"] > 0 and report.raw == finished.raw["report"]
    with pytest.raises(KeyError, match="'mid' is not in the report"):
        report.tag("mid")


def test_the_objects_hold_what_the_json_says(owner, finished):
    again = owner.study(finished.id)
    assert again.raw == finished.raw and again.report == finished.report
    row = finished.raw["report"]["tags"][0]["faithfulness"][0]
    first = finished.report.tags[0].faithfulness[0]
    assert (first.random_share, first.dropped_share, first.random_dropped_share) == \
        (row["random_share"], row["dropped_share"], row["random_dropped_share"])
    assert [c.explanation for c in finished.clips] == [c["explanation"] for c in finished.raw["clips"]]


def test_the_figure_as_bytes_and_as_files(owner, finished, tmp_path):
    png = owner.study_figure(finished, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    written = owner.study_figure(finished.id, "svg", tmp_path / "out" / "figure.svg")
    assert written == tmp_path / "out" / "figure.svg"
    root = ElementTree.parse(written).getroot()
    assert root.tag.endswith("svg") and "over 3 clips" in written.read_text()
    with pytest.raises(UsageError, match="png, svg"):
        owner.study_figure(finished, "gif")


def test_wait_study_draws_a_bar_over_the_clips_and_reports_each_state(client, stack, tmp_path):
    seen, bar = [], io.StringIO()
    submitted = client.submit_study(write_clips(tmp_path, 2), **request(stack.bands_tagger.url))
    done = client.wait_study(submitted.id, progress=bar, on_progress=seen.append, poll_interval=0.1, timeout=180)
    assert done.status == "finished" and seen[-1].raw == done.raw
    done_counts = [s.progress.done for s in seen]
    assert done_counts == sorted(done_counts) and done_counts[-1] == 2
    text = bar.getvalue()
    assert "2/2 clips" in text and f"tagger calls {done.progress.tagger_calls_done}/" in text and "finished" in text


def test_list_studies_newest_first_and_cancel(client, stack, tmp_path):
    clips = write_clips(tmp_path, 2)
    slow = request(stack.slow_tagger.url, tagger={"url": stack.slow_tagger.url, "sample_rate": 16000,
                                                  "batch_size": 4, "concurrency": 1})
    first = client.submit_study(clips[:1], **slow)
    second = client.submit_study(clips, **slow)
    listed = list(client.list_studies(page_size=1))
    assert [s.id for s in listed] == [second.id, first.id]
    assert listed[0].clips is None and listed[0].report is None and listed[0].progress.total == 2
    with pytest.raises(NotReady, match="its figure"):
        client.study_figure(second)
    with pytest.raises(Timeout, match="still") as waited:
        client.wait_study(second, timeout=0.5, poll_interval=0.1)
    assert isinstance(waited.value.job, Study)
    for study in (second, first):
        client.cancel_study(study)
        with pytest.raises(NotFound, match="no study"):
            client.study(study)
    assert list(client.list_studies()) == []


def test_a_study_whose_every_clip_fails_raises_study_failed(client, stack):
    nowhere = {"url": "http://127.0.0.1:9/predict", "sample_rate": 16000, "retries": 0}
    submitted = client.submit_study([("loud.wav", loud_audio())], **request(nowhere["url"], tagger=nowhere))
    with pytest.raises(StudyFailed, match="every clip failed; loud.wav: ") as failed:
        client.wait_study(submitted, timeout=120, poll_interval=0.2)
    assert failed.value.study.status == "failed" and failed.value.study.clips[0].error["explanation"]
    assert failed.value.study.report.clips == 0


def test_another_keys_study_is_not_found(stack, finished):
    with Client(stack.base, stack.new_key()) as other:
        with pytest.raises(NotFound):
            other.study(finished.id)
        with pytest.raises(NotFound):
            other.study_figure(finished.id)
        assert list(other.list_studies()) == []


@pytest.mark.parametrize("clips, settings, message", [
    ([], {}, "at least one clip"),
    ([b"a", b"b", ("clip-001", b"c")], {}, "two clips are named 'clip-001'"),
    ([b"a"], {"separator": "provided"}, "a study separates each clip itself"),
])
def test_the_client_refuses_before_sending(client, stack, clips, settings, message):
    with pytest.raises(UsageError, match=message):
        client.submit_study(clips, **{**request(stack.bands_tagger.url), **settings})
    assert list(client.list_studies()) == []


def test_the_service_refusing_a_clip_is_the_client_error_it_names(client, stack):
    from audiolime_client import Unprocessable

    with pytest.raises(Unprocessable, match="clip 'notes.txt'") as refused:
        client.submit_study([("notes.txt", b"\x00not audio" * 100)], **request(stack.bands_tagger.url))
    assert refused.value.status == 422
