"""Studies in the store, against a real Redis (AUDIOLIME_TEST_REDIS_URL, else database 14):
admission against the active-studies quota, its jobs outside the active-explanations quota,
taking a half-made study back, the ending written once, deletion."""
from __future__ import annotations

import os
import time
import uuid

import pytest
import redis

from backend.quotas import Quota, QuotaExceeded
from backend.store import Stage, Store, new_id
from backend.study_records import CREATING_GRACE_SECONDS

TEST_DB_URL = os.environ.get("AUDIOLIME_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
TTL = 600
OWNER, OTHER = "alice", "bob"
REQUEST = {"tagger": {"url": "http://tagger.example/predict"}, "separator": "hpss", "comparisons": {}}
AUDIO = b"RIFF....WAVEfake"


@pytest.fixture(scope="module")
def connection():
    client = redis.Redis.from_url(TEST_DB_URL)
    client.ping()
    yield client
    client.close()


@pytest.fixture
def store(connection):
    store = Store(connection, prefix=f"test-studies-{uuid.uuid4().hex[:12]}", ttl=TTL, lease_seconds=15)
    yield store
    keys = list(connection.scan_iter(match=f"{store.prefix}:*"))
    if keys:
        connection.delete(*keys)


def make_study(store: Store, clips: int = 2, comparisons: bool = False, owner: str = OWNER, max_active: int = 2,
               created: bool = True) -> dict:
    """A study with its jobs created (as POST /studies makes one), unless `created` is False."""
    study_id = new_id()
    ids = {"explanations": [new_id() for _ in range(clips)],
           "comparisons": [new_id() for _ in range(clips)] if comparisons else []}
    names = [f"clip-{i}.wav" for i in range(clips)]
    store.admit_study(owner, study_id, REQUEST, names, ids["explanations"], ids["comparisons"], max_active)
    if created:
        for job_id in ids["explanations"] + ids["comparisons"]:
            store.create(owner, {"separator": "hpss"}, AUDIO, {}, None, 600, Quota(None, 0), job_id=job_id)
        store.study_created(study_id)
    return {"id": study_id, **ids}


def end_jobs(store: Store, job_ids: list[str]) -> None:
    for job_id in job_ids:
        store.finish(job_id, {"tags": []})


def test_a_study_record_lists_its_clips_and_jobs(store):
    before = time.time()
    study = make_study(store, comparisons=True)
    record = store.study(study["id"])
    assert (record["id"], record["owner"], record["request"]) == (study["id"], OWNER, REQUEST)
    assert record["clips"] == ["clip-0.wav", "clip-1.wav"]
    assert (record["explanations"], record["comparisons"]) == (study["explanations"], study["comparisons"])
    assert before <= record["created_at"] <= time.time() and "creating" not in record and "status" not in record
    assert record["expires_at"] == pytest.approx(record["created_at"] + TTL, abs=1e-3)
    for key in (store.study_key(study["id"]), store.studies_key(OWNER), store.studies_key(OWNER, "active")):
        assert 0 < store.redis.ttl(key) <= TTL
    assert store.owned_study(study["id"], OWNER)["id"] == study["id"]
    assert store.owned_study(study["id"], OTHER) is None and store.study(new_id()) is None


def test_its_jobs_are_ordinary_jobs_outside_the_active_explanations_quota(store):
    study = make_study(store, clips=3)
    assert store.redis.scard(store.owner_key(OWNER, "active")) == 0  # not in the explanations' quota
    assert set(store.active_jobs()) == set(study["explanations"])  # but active for the reaper and metrics
    assert store.redis.hlen(store.owner_key(OWNER, "bytes")) == 3  # and counted in the bytes
    assert [r["id"] for r in store.list_jobs(OWNER, 0, 10)[0]] == study["explanations"][::-1]
    store.create(OWNER, {}, AUDIO, {}, None, 600, Quota(active_jobs=1))  # an explanation still gets in
    with pytest.raises(QuotaExceeded):
        store.create(OWNER, {}, AUDIO, {}, None, 600, Quota(active_jobs=1))


def test_admission_stops_at_the_active_studies_quota_and_counts_per_owner(store):
    make_study(store)
    make_study(store)
    with pytest.raises(QuotaExceeded, match="2 studies with explanations queued or running") as refused:
        make_study(store)
    assert refused.value.retry_after > 0
    assert store.list_studies(OWNER, 0, 10)[1] == 2  # nothing of the refused one
    make_study(store, owner=OTHER)
    make_study(store, max_active=0)  # 0: no limit


def test_a_study_whose_jobs_all_ended_no_longer_counts(store):
    first = make_study(store)
    make_study(store)
    end_jobs(store, first["explanations"][:1])
    with pytest.raises(QuotaExceeded):
        make_study(store)
    store.delete(first["explanations"][1], OWNER)  # cancelled: ended too
    make_study(store)


def test_a_study_being_created_holds_its_place_for_a_grace_only(store):
    pending = make_study(store, created=False)  # no job exists yet
    make_study(store)
    with pytest.raises(QuotaExceeded):
        make_study(store)
    store.redis.hset(store.study_key(pending["id"]), "creating", time.time() - CREATING_GRACE_SECONDS - 1)
    make_study(store)  # an API that died creating its jobs holds no place


def test_discarding_a_half_made_study_leaves_nothing(store):
    study = make_study(store, clips=3, created=False)
    store.create(OWNER, {}, AUDIO, {}, None, 600, Quota(None, 0), job_id=study["explanations"][0])
    store.discard_study(study["id"], OWNER)
    assert list(store.redis.scan_iter(match=f"{store.prefix}:study:*")) == []
    assert list(store.redis.scan_iter(match=f"{store.prefix}:job:*")) == []
    assert store.list_studies(OWNER, 0, 10) == ([], 0) and store.list_jobs(OWNER, 0, 10) == ([], 0)
    assert store.redis.hlen(store.owner_key(OWNER, "bytes")) == 0 and store.active_jobs() == []


def test_job_states_and_results_in_one_round_trip(store):
    study = make_study(store, clips=2)
    first, second = study["explanations"]
    store.set_progress(first, 10, 64)
    store.finish(second, {"tags": [], "stats": {"tagger_calls": 64}})
    gone = new_id()
    assert store.job_states([first, second, gone]) == [
        {"stage": "queued", "done": 10, "total": 64, "error": None},
        {"stage": "finished", "done": 0, "total": 0, "error": None}, None]
    store.fail(first, {"title": "Tagger unreachable", "detail": "refused"})
    assert store.job_states([first])[0]["error"] == {"title": "Tagger unreachable", "detail": "refused"}
    assert store.results([second, first]) == [{"tags": [], "stats": {"tagger_calls": 64}}, None]


def test_the_ending_is_written_once_and_frees_the_place(store):
    study = make_study(store)
    outcome = [{"clip": "clip-0.wav", "status": "finished"}]
    before = time.time()
    assert store.end_study(study["id"], OWNER, "finished", {"done": 2}, outcome, {"clips": 2})
    after = time.time()
    assert not store.end_study(study["id"], OWNER, "failed", {"done": 0}, [], {"clips": 0})  # the first stays
    record = store.study(study["id"])
    assert (record["status"], record["progress"], record["outcome"]) == ("finished", {"done": 2}, outcome)
    assert before <= record["finished_at"] <= after  # written by this ending, not the refused one
    assert store.study_report(study["id"]) == {"clips": 2}
    with store.redis.pipeline(transaction=True) as pipe:  # both read at one moment: no clock in between
        for part in (None, "report"):
            pipe.pttl(store.study_key(study["id"], part))
        record_ttl, report_ttl = pipe.execute()
    assert abs(record_ttl - report_ttl) <= 1000 and report_ttl > 0  # they expire together
    assert store.redis.scard(store.studies_key(OWNER, "active")) == 0
    assert not store.end_study(new_id(), OWNER, "finished", {}, [], {})  # a study that is gone


def test_deleting_a_study_cancels_its_running_jobs_and_removes_the_ended_ones(store):
    study = make_study(store, clips=2, comparisons=True)
    running, ended = study["explanations"]
    store.set_stage(running, Stage.QUERYING)
    end_jobs(store, [ended])
    store.delete_study(study["id"], OWNER)
    assert store.study(study["id"]) is None and store.study_report(study["id"]) is None
    assert store.list_studies(OWNER, 0, 10) == ([], 0)
    assert store.record(running)["stage"] == Stage.CANCELLED.value  # kept, cancelled, as DELETE /explanations does
    assert store.record(ended) is None
    assert all(store.record(job_id)["stage"] == Stage.CANCELLED.value for job_id in study["comparisons"])
    assert store.active_jobs() == []


def test_listing_is_newest_first_and_prunes_expired_studies(store):
    ids = []
    for _ in range(3):
        ids.append(make_study(store, max_active=0)["id"])
        time.sleep(0.01)
    make_study(store, owner=OTHER)
    records, total = store.list_studies(OWNER, 0, 2)
    assert [r["id"] for r in records] == ids[:0:-1] and total == 3
    store.redis.delete(store.study_key(ids[0]))  # as if its TTL had run out
    records, total = store.list_studies(OWNER, 0, 10)
    assert [r["id"] for r in records] == ids[:0:-1] and total == 2
