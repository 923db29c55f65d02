"""Studies through the real stack: real Redis, real `rq worker` processes, the reference tagger over
HTTP. Known answers over several workers, a worker killed mid-study, one failing clip, bad input,
the figure and the page.

Each clip: clicks throughout (HPSS's `percussive`; mostly above 2 kHz) and a 110 Hz tone in the
middle second only (`harmonic`), which is all the reference tagger's `low` hears. Served with
`--labels low,mid,high` (`loud` is never below a band, so `low` could never be the top tag), the
top component, harmonic × the middle segment, keeps `low` on top alone; the other positive
component (the clicks of that segment) does not, so k random positive components keep it less often.
"""
import io
import json
import os
import signal
import time
from xml.etree import ElementTree

import numpy as np
import pytest
import redis
from rq.job import Job
from urllib3 import encode_multipart_formdata

from backend import study_figure
from backend.connection import connect
from backend.store import Store
from tests.integration.harness import queued_runs, start_tagger, start_worker, wav_bytes
from tests.integration.test_bad_input import assert_problem
from tests.integration.test_explain_end_to_end import submit_tones

RATE, SECONDS = 16000, 3.0
BANDS = ("--labels", "low,mid,high")
ENDED = ("finished", "failed", "cancelled")


def clip_audio(i: int) -> bytes:
    t = np.arange(int(SECONDS * RATE)) / RATE
    wave = (0.25 + 0.03 * i) * np.sin(2 * np.pi * 110 * t) * ((t >= 1.0) & (t < 2.0))
    wave[::int(RATE * (0.1 + 0.01 * i))] += 0.9  # clicks, a different rate in each clip
    return wav_bytes(wave.astype(np.float32)[:, None], RATE)


def loud_audio() -> bytes:
    """A full-length tone of RMS 0.64: the reference tagger with --refuse-louder-than 0.4 refuses it."""
    t = np.arange(int(SECONDS * RATE)) / RATE
    return wav_bytes((0.9 * np.sin(2 * np.pi * 110 * t)).astype(np.float32)[:, None], RATE)


def clips(count: int) -> dict[str, bytes]:
    return {f"clip-{i}.wav": clip_audio(i) for i in range(count)}


def study_request(tagger_url: str, **overrides) -> dict:
    request = {"tagger": {"url": tagger_url, "sample_rate": RATE, "batch_size": 16}, "separator": "hpss",
               "segments": 3, "samples": 64, "targets": {"tags": ["low"]}}
    request.update(overrides)
    return request


def post_study(api, clip_files: dict[str, bytes], request, key="default", **kwargs):
    files = [("request", ("request.json", request if isinstance(request, str) else json.dumps(request),
                          "application/json"))]
    files += [("clips", (name, data, "audio/wav")) for name, data in clip_files.items()]
    return api.call("POST", "/studies", files=files, key=key, **kwargs)


def submit_study(api, clip_files, request, **kwargs) -> dict:
    response = post_study(api, clip_files, request, **kwargs)
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["Location"] == body["status_url"] == f"/studies/{body['id']}"
    assert [c["clip"] for c in body["clips"]] == list(clip_files) + request.get("explanations", [])
    return body


def wait_study(api, study_id: str, timeout: float = 240.0, **kwargs) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = api.call("GET", f"/studies/{study_id}", **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] in ENDED:
            assert body["report"] is not None and body["finished_at"] is not None
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"study {study_id} still {body['status']} after {timeout} s: {body['progress']}")
        time.sleep(0.25)


def explanation(api, job_id: str) -> dict:
    response = api.call("GET", f"/explanations/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()


def store_of(settings) -> Store:
    return Store(connect(settings.redis_url), settings.key_prefix, settings.result_ttl)


def worker_of(settings, job_id: str) -> str | None:
    """The RQ worker that ran (or runs) the job's latest run."""
    record = store_of(settings).record(job_id)
    return Job.fetch(record["rq_job_id"], connection=redis.Redis.from_url(settings.redis_url)).worker_name


# -- known answers, over three workers ---------------------------------------------------------

def test_a_study_of_six_clips_over_three_workers_gives_the_known_answer(api, processes, settings):
    tagger = start_tagger(processes, *BANDS)
    names = [f"{settings.key_prefix}-w{n}" for n in range(3)]
    for name in names:
        start_worker(processes, settings, name)
    submitted = submit_study(api, clips(6), study_request(tagger.url, comparisons={"random": 5}))
    assert all(c["comparison"] is None for c in submitted["clips"])
    study = wait_study(api, submitted["id"])

    assert study["status"] == "finished"
    assert study["progress"] == {"done": 6, "failed": 0, "cancelled": 0, "total": 6, "percent": 100.0,
                                 "tagger_calls": study["progress"]["tagger_calls"]}
    assert [(c["clip"], c["status"], c["error"]) for c in study["clips"]] == [(n, "finished", None) for n in clips(6)]
    assert study["request"]["comparisons"] == {"random": 5}
    assert {worker_of(settings, c["explanation"]) for c in study["clips"]} == set(names)  # all three took jobs

    # Each clip's own document: harmonic first, the top-1 alone keeps `low` on top, random ones less often.
    harmonic, kept, random_kept, dropped, calls = [], [], [], [], 0
    for clip in study["clips"]:
        document = explanation(api, clip["explanation"])
        assert document["stage"] == "finished" and document["attempts"] == 1
        assert document["request"]["faithfulness"] == {"random": 5, "deletion": True}
        [low] = document["result"]["tags"]
        shares = {g["name"]: g["positive_share"] for g in low["groups"]["sources"]}
        assert max(shares, key=shares.get) == "harmonic" and shares["harmonic"] > 0.9, shares
        harmonic.append(shares["harmonic"])
        kept.append(next(row["still_top"] for row in low["self_check"] if row["k"] == 1))
        random_kept.append(low["faithfulness"]["random"]["keep"][0])
        dropped.append(low["faithfulness"]["remove"][0]["dropped"])
        calls += document["result"]["stats"]["tagger_calls"]
    assert all(kept) and max(random_kept) < 1.0

    report = study["report"]
    assert (report["clips"], report["failed"]) == (6, [])
    [low] = report["tags"]
    assert (low["tag"], low["clips"]) == ("low", 6)
    assert max(low["source_shares"], key=low["source_shares"].get) == "harmonic"
    assert low["source_shares"]["harmonic"] == pytest.approx(float(np.median(harmonic)))
    assert low["top_components"] == [{"source": "harmonic", "segment": 1, "clips": 6}]
    first = low["faithfulness"][0]
    assert (first["k"], first["clips"], first["kept"], first["share"]) == (1, 6, 6, 1.0)
    assert first["random_share"] == pytest.approx(float(np.mean(random_kept)))
    assert first["random_share"] < first["share"]
    assert first["dropped"] == sum(dropped) and first["comparison_share"] is None
    assert report["calls"]["explanations"] == calls
    assert tagger.stats()["clips"] == calls  # every mask asked once, on whichever worker


# -- a worker killed in the middle -------------------------------------------------------------------

def running_job(api, study_id: str, at_least: int, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for clip in api.call("GET", f"/studies/{study_id}").json()["clips"]:
            progress = explanation(api, clip["explanation"])["progress"]
            if clip["status"] == "running" and at_least <= progress["done"] < progress["total"]:
                return clip["explanation"]
        time.sleep(0.05)
    raise AssertionError(f"no job of study {study_id} got to {at_least} masks")


def test_a_worker_killed_mid_study_loses_no_clip_and_explains_none_twice(api, processes, settings):
    tagger = start_tagger(processes, *BANDS, "--delay", "0.25")
    workers = {f"{settings.key_prefix}-w{n}": start_worker(processes, settings, f"{settings.key_prefix}-w{n}")
               for n in range(3)}
    batch_size, concurrency = 8, 1
    request = study_request(tagger.url, tagger={"url": tagger.url, "sample_rate": RATE, "batch_size": batch_size,
                                                "concurrency": concurrency})
    study_id = submit_study(api, clips(6), request)["id"]
    victim_job = running_job(api, study_id, at_least=2 * batch_size)
    victim = worker_of(settings, victim_job)
    os.kill(workers[victim].pid, signal.SIGKILL)
    workers[victim].wait()

    study = wait_study(api, study_id)
    assert study["status"] == "finished" and study["progress"]["done"] == 6 and study["progress"]["failed"] == 0
    assert [c["status"] for c in study["clips"]] == ["finished"] * 6
    listing = api.call("GET", "/explanations", params={"limit": 100}).json()
    assert listing["total"] == 6  # one job per clip: none was made twice
    assert sorted(i["id"] for i in listing["items"]) == sorted(c["explanation"] for c in study["clips"])
    documents = {c["explanation"]: explanation(api, c["explanation"]) for c in study["clips"]}
    assert {job_id: d["attempts"] for job_id, d in documents.items()} == \
        {job_id: 2 if job_id == victim_job else 1 for job_id in documents}
    asked = sum(d["result"]["stats"]["tagger_calls"] for d in documents.values())
    again = tagger.stats()["clips"] - asked
    # Answers are checkpointed batch by batch: only the batches in flight at the kill are asked again.
    assert 0 <= again <= batch_size * concurrency, (again, asked)
    assert study["report"]["clips"] == 6


# -- one failing clip ---------------------------------------------------------------------------------

def test_a_clip_the_tagger_refuses_is_reported_failed_and_the_study_finishes(api, processes, settings, worker):
    tagger = start_tagger(processes, *BANDS, "--refuse-louder-than", "0.4")
    files = {**clips(3), "loud.wav": loud_audio()}
    study = wait_study(api, submit_study(api, files, study_request(tagger.url))["id"])

    assert study["status"] == "finished"
    assert (study["progress"]["done"], study["progress"]["failed"], study["progress"]["total"]) == (4, 1, 4)
    loud = next(c for c in study["clips"] if c["clip"] == "loud.wav")
    assert loud["status"] == "failed" and loud["error"]["explanation"] == loud["explanation"]
    assert loud["error"]["http_status"] == 400 and "too loud" in loud["error"]["detail"], loud["error"]
    assert [c["status"] for c in study["clips"] if c["clip"] != "loud.wav"] == ["finished"] * 3
    report = study["report"]
    assert report["clips"] == 3 and report["failed"] == [{"clip": "loud.wav", "error": loud["error"]}]
    assert report["tags"][0]["clips"] == 3 and report["tags"][0]["faithfulness"][0]["clips"] == 3

    only_loud = wait_study(api, submit_study(api, {"loud.wav": loud_audio()}, study_request(tagger.url))["id"])
    assert only_loud["status"] == "failed" and only_loud["report"]["clips"] == 0  # every clip failed


def test_a_comparison_separator_explains_each_clip_twice(api, processes, settings, worker):
    tagger = start_tagger(processes, *BANDS)
    submitted = submit_study(api, clips(2), study_request(tagger.url, comparisons={"separator": "slime"}))
    study = wait_study(api, submitted["id"])
    assert study["status"] == "finished" and study["request"]["comparisons"] == {"separator": "slime"}
    for clip in study["clips"]:
        main, other = explanation(api, clip["explanation"]), explanation(api, clip["comparison"])
        assert (main["request"]["separator"], other["request"]["separator"]) == ("hpss", "slime")
        assert other["result"]["sources"][0].startswith("band01")
    row = study["report"]["tags"][0]["faithfulness"][0]
    assert row["comparison_clips"] == 2 and row["comparison_share"] is not None


def test_delete_cancels_the_running_jobs_and_deletes_the_study(api, processes, settings, worker):
    tagger = start_tagger(processes, *BANDS, "--delay", "0.3")
    request = study_request(tagger.url, tagger={"url": tagger.url, "sample_rate": RATE, "batch_size": 4,
                                                "concurrency": 1})
    study = submit_study(api, clips(2), request)
    running = running_job(api, study["id"], at_least=4)
    assert api.call("DELETE", f"/studies/{study['id']}").status_code == 204
    requests_at_delete = tagger.stats()["requests"]
    time.sleep(2.0)
    assert tagger.stats()["requests"] <= requests_at_delete + 1  # at most the batch already on its way
    assert_problem(api.call("GET", f"/studies/{study['id']}"), 404)
    assert_problem(api.call("DELETE", f"/studies/{study['id']}"), 404)
    for clip in study["clips"]:
        assert explanation(api, clip["explanation"])["stage"] == "cancelled"
    assert running in [c["explanation"] for c in study["clips"]]
    client = redis.Redis.from_url(settings.redis_url)
    assert not client.keys(f"{settings.key_prefix}:study:*")
    assert api.call("GET", "/studies").json()["total"] == 0


# -- bad input: a 4xx problem, and nothing stored -------------------------------------------------------

TAGGER_URL = "http://127.0.0.1:9/predict"  # loopback, allowed; nothing listens and no worker runs below


@pytest.fixture
def nothing_stored(settings):
    def check(api, key="default") -> None:
        client = redis.Redis.from_url(settings.redis_url)
        assert client.keys(f"{settings.key_prefix}:job:*") == []
        assert client.keys(f"{settings.key_prefix}:study:*") == []
        assert queued_runs(settings) == []
        assert api.call("GET", "/studies", key=key).json()["total"] == 0
    return check


def test_no_clips_is_400(api, nothing_stored):
    assert_problem(post_study(api, {}, study_request(TAGGER_URL)), 400, "at least one clip")
    nothing_stored(api)


def test_too_many_clips_is_422(serve, nothing_stored):
    api = serve(max_study_clips=2)
    assert_problem(post_study(api, clips(3), study_request(TAGGER_URL)), 422, "3 clips", "at most 2 clips",
                   "AUDIOLIME_MAX_STUDY_CLIPS")
    nothing_stored(api)


@pytest.mark.parametrize("audio, details", [
    (b"\x00not audio at all" * 100, ["clip 'notes.txt'", "not a readable audio file"]),
    (b"", ["clip 'notes.txt'", "empty"]),
])
def test_a_clip_that_is_not_audio_is_422_naming_it(api, nothing_stored, audio, details):
    files = {**clips(2), "notes.txt": audio}
    assert_problem(post_study(api, files, study_request(TAGGER_URL)), 422, *details)
    nothing_stored(api)


@pytest.mark.parametrize("overrides, details", [
    ({"comparisons": {"random": 5, "bogus": 1}}, ["unknown comparisons ['bogus']", "random", "separator"]),
    ({"comparisons": [5]}, ["`comparisons` must be an object"]),
    ({"comparisons": {"random": 0}}, ["`comparisons.random` must be a positive"]),
    ({"comparisons": {"random": True}}, ["`comparisons.random` must be a positive"]),
    ({"comparisons": {"separator": "hpss"}}, ["the study's own separator"]),
    ({"comparisons": {"separator": "provided"}}, ["`comparisons.separator` is 'provided'"]),
    ({"comparisons": {"separator": "nope"}}, ["nope"]),
    ({"separator": "provided"}, ["a study separates each clip itself"]),
    ({"comparisons": {"random": 5}, "faithfulness": {"deletion": True}}, ["not both"]),
    ({"explanations": "abc"}, ["`explanations` must be a list"]),
    ({"explanations": ["abc"]}, ["'abc' is not an explanation id"]),
    ({"bogus": 1}, ["unknown request fields ['bogus']"]),
])
def test_bad_study_requests_are_400(api, nothing_stored, overrides, details):
    assert_problem(post_study(api, clips(1), study_request(TAGGER_URL, **overrides)), 400, *details)
    nothing_stored(api)


def test_bad_parts_are_400(api, nothing_stored):
    files = [("request", ("r.json", json.dumps(study_request(TAGGER_URL)), "application/json")),
             ("clips", (None, "not a file")), ("clips", ("a.wav", clip_audio(0), "audio/wav"))]
    assert_problem(api.call("POST", "/studies", files=files), 400, "each `clips` part must be a file")
    files = [files[0], files[2], ("audio", ("b.wav", clip_audio(1), "audio/wav"))]
    assert_problem(api.call("POST", "/studies", files=files), 400, "unknown multipart parts ['audio']")
    assert_problem(post_study(api, {"a.wav": clip_audio(0), "b\x01.wav": clip_audio(1)}, study_request(TAGGER_URL)),
                   400, "control characters")
    assert_problem(post_study(api, clips(1), "{not json"), 400, "not valid JSON")
    assert_problem(api.call("POST", "/studies", json=study_request(TAGGER_URL)), 415)
    nothing_stored(api)


def test_duplicate_clip_names_are_400(api, nothing_stored):
    files = [("request", ("r.json", json.dumps(study_request(TAGGER_URL)), "application/json"))]
    files += [("clips", ("same.wav", clip_audio(i), "audio/wav")) for i in range(2)]
    assert_problem(api.call("POST", "/studies", files=files), 400, "two clips are named 'same.wav'")
    nothing_stored(api)


def test_a_study_over_its_upload_limit_is_413_naming_it(serve, nothing_stored):
    api = serve(max_study_bytes=200_000)  # one clip is about 190 kB
    assert_problem(post_study(api, clips(2), study_request(TAGGER_URL)), 413, "at most 200,000 bytes per study",
                   "AUDIOLIME_MAX_STUDY_BYTES")
    # Sent chunked, without a Content-Length: the parser stops at the same limit.
    fields = [("request", ("r.json", json.dumps(study_request(TAGGER_URL)), "application/json"))]
    body, content_type = encode_multipart_formdata(fields + [("clips", (n, d, "audio/wav")) for n, d in clips(2).items()])
    chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))
    response = api.call("POST", "/studies", data=chunks, headers={"Content-Type": content_type},
                        validate=False)  # openapi-core reads no streamed body; assert_problem checks the answer
    assert_problem(response, 413, "at most 200,000 bytes")
    nothing_stored(api)


def test_a_clip_over_the_upload_limit_is_413_naming_it(serve, nothing_stored):
    api = serve(max_upload_bytes=100_000)  # the study limit stays 512 MiB
    assert_problem(post_study(api, clips(1), study_request(TAGGER_URL)), 413, "clip 'clip-0.wav'",
                   "at most 100,000 bytes", "AUDIOLIME_MAX_UPLOAD_BYTES")
    nothing_stored(api)


def test_another_keys_study_is_404(serve):
    api = serve(api_keys=("alice", "bob"))
    study = submit_study(api, clips(1), study_request(TAGGER_URL), key="alice")
    for method in ("GET", "DELETE"):
        assert_problem(api.call(method, f"/studies/{study['id']}", key="bob"), 404, "no study")
    assert api.call("GET", "/studies", key="bob").json()["total"] == 0
    assert api.call("GET", f"/studies/{study['id']}", key="alice").json()["status"] == "queued"
    assert_problem(api.call("GET", "/studies/not-an-id", key="alice"), 404, "32 hexadecimal")
    assert_problem(post_study(api, clips(1), study_request(TAGGER_URL), key=None), 401)


def test_a_queued_study_reads_back_with_its_clips_and_jobs(api, settings):
    study = submit_study(api, clips(2), study_request(TAGGER_URL, comparisons={"random": 3, "separator": "slime"}))
    body = api.call("GET", f"/studies/{study['id']}").json()
    assert (body["status"], body["report"], body["finished_at"]) == ("queued", None, None)
    assert body["progress"] == {"done": 0, "failed": 0, "cancelled": 0, "total": 2, "percent": 0.0,
                                "tagger_calls": {"done": 0, "total": 0}}
    assert [(c["clip"], c["status"]) for c in body["clips"]] == [("clip-0.wav", "queued"), ("clip-1.wav", "queued")]
    assert body["request"]["comparisons"] == {"random": 3, "separator": "slime"}
    assert body["request"]["tagger"]["url"] == TAGGER_URL and body["request"]["explanations"] == []
    for clip, listed in zip(body["clips"], study["clips"]):
        assert (clip["explanation"], clip["comparison"]) == (listed["explanation"], listed["comparison"])
        main, other = explanation(api, clip["explanation"]), explanation(api, clip["comparison"])
        assert main["stage"] == other["stage"] == "queued"
        assert main["request"]["faithfulness"] == other["request"]["faithfulness"] == {"random": 3, "deletion": True}
        assert (main["request"]["separator"], other["request"]["separator"]) == ("hpss", "slime")
    assert len(queued_runs(settings)) == 4  # queued like any explanation of the key


def test_studies_are_listed_newest_first_by_page(serve):
    api = serve(quota_active_studies=0)  # no limit
    ids = [submit_study(api, clips(1), study_request(TAGGER_URL))["id"] for _ in range(3)]
    page = api.call("GET", "/studies", params={"limit": 2}).json()
    assert page["total"] == 3 and [i["id"] for i in page["items"]] == ids[:0:-1]
    assert page["next"] == "/studies?limit=2&offset=2" and page["items"][0]["status"] == "queued"
    rest = api.call("GET", page["next"]).json()
    assert [i["id"] for i in rest["items"]] == ids[:1] and rest["next"] is None
    assert_problem(api.call("GET", "/studies", params={"limit": 0}), 400)


def test_a_study_is_admitted_as_one_against_the_active_studies_quota(serve):
    api = serve(quota_active_studies=1, quota_active_jobs=2)
    first = submit_study(api, clips(4), study_request(TAGGER_URL))  # more clips than explanations allowed
    assert submit_tones(api, type("Tagger", (), {"url": TAGGER_URL})).status_code == 202  # not counted as those
    refused = post_study(api, clips(1), study_request(TAGGER_URL))
    body = assert_problem(refused, 429, "1 studies", "AUDIOLIME_QUOTA_ACTIVE_STUDIES")
    assert body["title"] == "Quota exceeded" and int(refused.headers["Retry-After"]) > 0
    assert api.call("GET", "/studies").json()["total"] == 1  # nothing of the refused one was kept
    assert api.call("DELETE", f"/studies/{first['id']}").status_code == 204
    submit_study(api, clips(1), study_request(TAGGER_URL))


def test_a_study_over_the_bytes_quota_is_429_and_keeps_nothing(serve, nothing_stored):
    one = len(clip_audio(0))
    api = serve(quota_stored_bytes=int(2.5 * one))
    refused = post_study(api, clips(4), study_request(TAGGER_URL))
    assert_problem(refused, 429, "4 clips", "over its limit", "nothing of the study was kept")
    assert int(refused.headers["Retry-After"]) > 0
    nothing_stored(api)
    assert api.call("GET", "/explanations").json()["total"] == 0


def test_earlier_explanations_serve_as_clips(api, settings):
    earlier = submit_tones(api, type("Tagger", (), {"url": TAGGER_URL})).json()["id"]
    study = submit_study(api, clips(1), study_request(TAGGER_URL, explanations=[earlier]))
    assert [c["clip"] for c in study["clips"]] == ["clip-0.wav", earlier]
    copy = study["clips"][1]["explanation"]
    assert copy != earlier
    original = api.call("GET", f"/explanations/{earlier}/original").content
    assert api.call("GET", f"/explanations/{copy}/original").content == original
    assert explanation(api, copy)["request"]["separator"] == "hpss"

    unknown = "0" * 32
    assert_problem(post_study(api, clips(1), study_request(TAGGER_URL, explanations=[unknown])), 422,
                   f"{unknown!r} is not an explanation of this API key")
    assert api.call("DELETE", f"/explanations/{earlier}").status_code == 204  # cancelled: its audio is gone
    assert_problem(post_study(api, {}, study_request(TAGGER_URL, explanations=[earlier])), 422, "still stored")
    assert api.call("GET", "/studies").json()["total"] == 1


def test_the_tagger_secret_is_kept_only_with_each_job(api, settings):
    secret = "Bearer s3cret-of-the-study"
    request = study_request(TAGGER_URL, tagger={"url": TAGGER_URL, "sample_rate": RATE,
                                                "headers": {"Authorization": secret}})
    study = submit_study(api, clips(2), request)
    body = api.call("GET", f"/studies/{study['id']}").json()
    assert body["request"]["tagger"]["headers"] == {"Authorization": "[redacted]"} and secret not in json.dumps(body)
    client = redis.Redis.from_url(settings.redis_url)
    holding = {key.decode() for key in client.scan_iter(f"{settings.key_prefix}:*")
               if any(secret.encode() in value for value in stored_values(client, key))}
    assert holding == {f"{settings.key_prefix}:job:{c['explanation']}:secret" for c in study["clips"]}


def stored_values(client: redis.Redis, key: bytes) -> list[bytes]:
    kind = client.type(key)
    if kind == b"string":
        return [client.get(key)]
    if kind == b"hash":
        return [part for item in client.hgetall(key).items() for part in item]
    if kind == b"set":
        return list(client.smembers(key))
    if kind == b"zset":
        return client.zrange(key, 0, -1)
    return client.lrange(key, 0, -1)


# -- the figure and the page --------------------------------------------------------------------

def test_the_figure_is_a_png_or_svg_of_the_report_the_same_every_time(api, processes, settings, worker):
    from PIL import Image  # matplotlib's own dependency

    tagger = start_tagger(processes, *BANDS)
    study = submit_study(api, clips(2), study_request(tagger.url, comparisons={"random": 3}))
    assert_problem(api.call("GET", f"/studies/{study['id']}/figure"), 409, "its figure", "every clip")
    wait_study(api, study["id"])

    png = api.call("GET", f"/studies/{study['id']}/figure")
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    assert png.headers["Cache-Control"] == "private, max-age=3600" and png.headers["Vary"] == "Authorization"
    image = Image.open(io.BytesIO(png.content))
    image.load()
    assert image.size[0] == 1300 and image.size[1] > 300  # 13 × (0.9 + 3 per tag) inches at 100 dpi
    assert api.call("GET", f"/studies/{study['id']}/figure", params={"format": "png"}).content == png.content

    svg = api.call("GET", f"/studies/{study['id']}/figure", params={"format": "svg"})
    assert svg.headers["Content-Type"].startswith("image/svg+xml") and "sandbox" in svg.headers["Content-Security-Policy"]
    root = ElementTree.fromstring(svg.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = " ".join("".join(node.itertext()) for node in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "Study over 2 clips" in text and "“low”" in text and "harmonic" in text and "k random" in text
    assert b"dc:date" not in svg.content  # no dates: the same report, the same bytes

    report = api.call("GET", f"/studies/{study['id']}").json()["report"]
    assert study_figure.render(report, "svg") == study_figure.render(report, "svg") == svg.content
    assert study_figure.render(report, "png") == png.content
    assert_problem(api.call("GET", f"/studies/{study['id']}/figure", params={"format": "gif"}), 400, "png", "svg")


def test_the_figure_of_a_study_whose_every_clip_failed_says_so(api, processes, settings, worker):
    tagger = start_tagger(processes, *BANDS, "--refuse-louder-than", "0.4")
    study = wait_study(api, submit_study(api, {"loud.wav": loud_audio()}, study_request(tagger.url))["id"])
    assert study["status"] == "failed"
    svg = api.call("GET", f"/studies/{study['id']}/figure", params={"format": "svg"})
    assert svg.status_code == 200 and b"nothing to draw" in svg.content and b"1 more failed" in svg.content


def test_the_figure_is_computed_from_the_jobs_even_before_the_study_is_read(api, processes, settings, worker):
    tagger = start_tagger(processes, *BANDS)
    study = submit_study(api, clips(1), study_request(tagger.url))
    api.wait(study["clips"][0]["explanation"])  # the job ended; nobody has asked for the study since
    png = api.call("GET", f"/studies/{study['id']}/figure")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert api.call("GET", f"/studies/{study['id']}").json()["status"] == "finished"


def test_the_figure_keeps_to_its_key(serve):
    api = serve(api_keys=("alice", "bob"))
    study = submit_study(api, clips(1), study_request(TAGGER_URL), key="alice")
    assert_problem(api.call("GET", f"/studies/{study['id']}/figure", key="bob"), 404, "no study")
    assert_problem(api.call("GET", f"/studies/{study['id']}/figure", key=None), 401)
    assert_problem(api.call("GET", f"/studies/{'0' * 32}/figure", key="alice"), 404, "no study")
    assert_problem(api.call("GET", f"/studies/{study['id']}/figure", key="alice"), 409, "queued")
    assert api.call("DELETE", f"/studies/{study['id']}", key="alice").status_code == 204
    assert_problem(api.call("GET", f"/studies/{study['id']}/figure", key="alice"), 404)


def test_the_study_page_is_a_shell_without_data_under_the_pages_policy(serve):
    api = serve(api_keys=("alice",))
    study = submit_study(api, clips(1), study_request(TAGGER_URL), key="alice")
    page = api.call("GET", f"/studies/{study['id']}/view", key=None)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "img-src 'self' data: blob:" in policy and "connect-src 'self' blob:" in policy
    assert f'data-study-id="{study["id"]}"' in page.text and 'src="/static/study.js"' in page.text
    assert "clip-0.wav" not in page.text and TAGGER_URL not in page.text  # everything comes from the API
    escaped = api.call("GET", "/studies/%3Cimg%20src%3Dx%3E/view", key=None)
    assert "<img src=x>" not in escaped.text and "&lt;img src=x&gt;" in escaped.text
    for asset in ("/static/study.js", "/static/claim.js", "/static/common.js"):
        served = api.call("GET", asset, key=None, validate=False)
        assert served.status_code == 200 and served.headers["Content-Type"].startswith("text/javascript")


def test_the_figure_draws_reports_with_little_in_them():
    """A tag no clip fitted, one without deletion checks or random baseline, and more tags than are drawn."""
    row = {"k": 1, "clips": 2, "kept": 1, "share": 0.5, "share_interval": [0.09, 0.91], "random_share": None,
           "comparison_share": None, "comparison_clips": 0, "deletion_clips": 0, "dropped": None,
           "dropped_share": None, "dropped_interval": None, "random_dropped_share": None}
    fitted = {"tag": "low", "clips": 2, "unfitted": 0, "source_shares": {"harmonic": 0.8},
              "source_share_quartiles": {"harmonic": [0.7, 0.8, 0.9]}, "segment_shares": {},
              "segment_share_quartiles": {}, "top_components": [], "faithfulness": [row]}
    unfitted = {**fitted, "tag": "mid", "clips": 0, "unfitted": 2, "source_shares": {}, "source_share_quartiles": {},
                "faithfulness": []}
    report = {"clips": 2, "failed": [], "tags": [fitted, unfitted], "calls": {}}
    svg = study_figure.render(report, "svg").decode()
    assert "not fitted on any clip" in svg and "no deletion checks" in svg and "2 unfitted" in svg
    many = {**report, "tags": [{**fitted, "tag": f"tag{i}"} for i in range(study_figure.MAX_TAGS + 3)]}
    svg = study_figure.render(many, "svg").decode()
    assert "3 more tags in the report" in svg and f"“tag{study_figure.MAX_TAGS - 1}”" in svg
    assert f"“tag{study_figure.MAX_TAGS}”" not in svg
    with pytest.raises(ValueError, match="png"):
        study_figure.render(report, "gif")
