"""The Redis layout of explanations, against the real Redis on a spare database (15)."""
from __future__ import annotations

import os
import time
import uuid

import numpy as np
import pytest
import redis

from backend.store import Stage, Store

TEST_DB = int(os.environ.get("AUDIOLIME_TEST_STORE_DB", "15"))
TTL = 600
OWNER, OTHER = "alice", "bob"
REQUEST = {"tagger": {"url": "http://tagger.example/predict", "headers": {"Authorization": "[redacted]"}},
           "separator": "spleeter:2stems", "samples": 64, "segments": [1.5, 3.0]}
AUDIO = b"RIFF....WAVEfake"
STEMS = {"vocals": b"fLaC-vocals", "accompaniment": b"fLaC-accompaniment"}
SECRET = {"Authorization": "Bearer s3cret"}
LABELS = ("rock", "jazz", "loud")


@pytest.fixture(scope="module")
def connection():
    client = redis.Redis(host="127.0.0.1", port=6379, db=TEST_DB)
    client.ping()
    yield client  # each test deletes its own prefix's keys: the database may be shared
    client.close()


@pytest.fixture
def store(connection):
    store = Store(connection, prefix=f"test-store-{uuid.uuid4().hex[:12]}", ttl=TTL, lease_seconds=15)
    yield store
    keys = list(connection.scan_iter(match=f"{store.prefix}:*"))
    if keys:
        connection.delete(*keys)


def create(store: Store, owner: str = OWNER, secret: dict | None = SECRET, stems: dict | None = STEMS) -> str:
    return store.create(owner, REQUEST, AUDIO, stems or {}, secret, timeout=900)


def job_keys(store: Store, job_id: str) -> set[str]:
    found = store.redis.scan_iter(match=store.key(job_id) + "*")
    return {key.decode().removeprefix(store.key(job_id)) for key in found}


def scores(rows: int) -> np.ndarray:
    """Float64 values that do not survive a trip through text or float32."""
    return np.random.default_rng(3).normal(size=(rows, len(LABELS))) / 3.0 + np.array([1e-300, np.pi, -1 / 7])


# -- creation and reading ---------------------------------------------------------------------------

def test_create_writes_a_queued_record(store):
    before = time.time()
    job_id = create(store)
    after = time.time()

    record = store.record(job_id)
    assert record["id"] == job_id
    assert record["owner"] == OWNER
    assert record["stage"] == Stage.QUEUED.value
    assert record["request"] == REQUEST
    assert (record["done"], record["total"], record["attempts"], record["timeout"]) == (0, 0, 0, 900)
    assert before <= record["created_at"] <= after
    assert record["expires_at"] == pytest.approx(record["created_at"] + TTL, abs=1e-3)
    assert record["error"] is None
    assert store.audio(job_id) == AUDIO
    assert store.stems(job_id) == STEMS
    assert store.stem(job_id, "vocals") == STEMS["vocals"]
    assert store.secret(job_id) == SECRET
    assert store.active_jobs() == [job_id]
    assert store.metrics().jobs == {"submitted": 1.0}


def test_every_key_of_a_job_expires_within_the_ttl(store):
    job_id = create(store)
    assert job_keys(store, job_id) == {"", ":audio", ":stems", ":secret"}
    for key in [store.key(job_id, part) for part in (None, "audio", "stems", "secret")] + [store.owner_key(OWNER)]:
        assert 0 < store.redis.ttl(key) <= TTL, key


def test_create_without_stems_or_secret(store):
    job_id = create(store, secret=None, stems=None)
    assert job_keys(store, job_id) == {"", ":audio"}
    assert store.stems(job_id) == {}
    assert store.secret(job_id) == {}


def test_a_record_is_only_shown_to_its_owner(store):
    job_id = create(store)
    assert store.owned_record(job_id, OWNER)["id"] == job_id
    assert store.owned_record(job_id, OTHER) is None
    assert store.owned_record("no-such-job", OWNER) is None
    assert store.record("no-such-job") is None


def test_list_jobs_newest_first_with_pagination(store):
    ids = []
    for _ in range(4):
        ids.append(create(store))
        time.sleep(0.01)  # distinct creation times
    create(store, owner=OTHER)

    records, total = store.list_jobs(OWNER, offset=0, limit=10)
    assert [r["id"] for r in records] == ids[::-1]
    assert total == 4
    page, total = store.list_jobs(OWNER, offset=1, limit=2)
    assert [r["id"] for r in page] == [ids[2], ids[1]]
    assert total == 4
    assert store.list_jobs(OWNER, offset=4, limit=2) == ([], 4)


def test_list_jobs_prunes_ids_whose_record_expired(store):
    ids = [create(store) for _ in range(3)]
    store.redis.delete(store.key(ids[1]))  # as if its TTL had run out

    records, total = store.list_jobs(OWNER, offset=0, limit=10)
    assert ids[1] not in [r["id"] for r in records]
    assert len(records) == 2
    assert total == 2
    assert store.redis.zscore(store.owner_key(OWNER), ids[1]) is None


# -- running -----------------------------------------------------------------------------------------

def test_start_attempt_claims_the_job(store):
    job_id = create(store)
    token = store.start_attempt(job_id, "rq-1")

    assert token
    record = store.record(job_id)
    assert (record["attempts"], record["token"], record["rq_job_id"]) == (1, token, "rq-1")
    assert "started_at" in record
    assert store.owns(job_id, token)
    assert store.lease_alive(job_id)


def test_a_second_attempt_takes_over(store):
    job_id = create(store)
    first = store.start_attempt(job_id, "rq-1")
    started_at = store.record(job_id)["started_at"]
    second = store.start_attempt(job_id, "rq-2")

    assert second != first
    assert not store.owns(job_id, first)
    assert store.owns(job_id, second)
    record = store.record(job_id)
    assert (record["attempts"], record["rq_job_id"]) == (2, "rq-2")
    assert record["started_at"] == started_at  # the first start is kept


def test_no_attempt_on_a_missing_or_ended_job(store):
    assert store.start_attempt("no-such-job", "rq-1") is None
    job_id = create(store)
    store.finish(job_id, {"tags": []})
    assert store.start_attempt(job_id, "rq-1") is None


@pytest.mark.parametrize("end", [
    lambda store, job_id: store.delete(job_id, OWNER),
    lambda store, job_id: store.finish(job_id, {"tags": []}),
    lambda store, job_id: store.fail(job_id, {"title": "Tagger unreachable"}),
], ids=["cancelled", "finished", "failed"])
def test_a_run_no_longer_owns_an_ended_job(store, end):
    job_id = create(store)
    token = store.start_attempt(job_id, "rq-1")
    end(store, job_id)
    assert not store.owns(job_id, token)


def key(row: int) -> bytes:
    return bytes([row, 7])  # a mask key (engine.perturbations.mask_key): packed bits and the length


def save(store, job_id, token, rows, values, shared=None) -> bool:
    return store.save_answers(job_id, token, shared, [key(r) for r in rows], values, LABELS)


def load(store, job_id):
    return store.load_answers(store.key(job_id, "predictions"))


def test_answers_go_to_the_checkpoint_and_the_owners_shared_answers(store):
    job_id = create(store)
    token = store.start_attempt(job_id, "rq-1")
    shared = store.answers_key(OWNER, "context-1")
    assert save(store, job_id, token, [1, 2], scores(2), shared)
    assert load(store, job_id)[0].keys() == store.load_answers(shared)[0].keys() == {key(1), key(2)}
    assert store.load_answers(shared)[1] == LABELS and 0 < store.redis.ttl(shared) <= TTL
    store.finish(job_id, {"tags": []}, samples=b"npz")
    assert store.load_answers(shared)[0].keys() == {key(1), key(2)}  # kept for later jobs
    assert store.samples(job_id) == b"npz"


def test_predictions_round_trip_exactly(store):
    job_id = create(store)
    token = store.start_attempt(job_id, "rq-1")
    first, second = scores(2), scores(3)[2:]
    assert save(store, job_id, token, [0, 3], first)
    assert save(store, job_id, token, [5], second)

    known, labels = load(store, job_id)
    assert labels == LABELS
    assert sorted(known) == [key(0), key(3), key(5)]
    for row, expected in zip([0, 3, 5], [first[0], first[1], second[0]]):
        assert known[key(row)].dtype == np.float64
        assert known[key(row)].tobytes() == expected.astype(np.float64).tobytes()  # bit for bit
    assert 0 < store.redis.ttl(store.key(job_id, "predictions")) <= TTL


def test_only_the_owning_run_saves_predictions_and_stems(store):
    job_id = create(store, stems=None)
    first = store.start_attempt(job_id, "rq-1")
    second = store.start_attempt(job_id, "rq-2")

    assert not save(store, job_id, first, [0], scores(1))
    assert not store.save_stems(job_id, first, STEMS)
    assert load(store, job_id) == ({}, None)
    assert store.stems(job_id) == {}
    assert store.save_stems(job_id, second, STEMS)
    assert store.stems(job_id) == STEMS
    assert 0 < store.redis.ttl(store.key(job_id, "stems")) <= TTL


def test_an_ended_job_takes_no_more_predictions(store):
    job_id = create(store)
    token = store.start_attempt(job_id, "rq-1")
    store.delete(job_id, OWNER)
    assert not save(store, job_id, token, [0], scores(1))
    assert job_keys(store, job_id) == {""}


def test_updates_do_not_resurrect_a_deleted_record(store):
    job_id = create(store)
    store.finish(job_id, {"tags": []})
    store.delete(job_id, OWNER)
    store.set_stage(job_id, Stage.QUERYING)
    store.set_progress(job_id, 3, 10)
    assert store.record(job_id) is None
    assert job_keys(store, job_id) == set()


def test_no_predictions_yet(store):
    assert load(store, create(store)) == ({}, None)


def test_finish_stores_the_result_and_drops_what_the_run_needed(store):
    job_id = create(store)
    token = store.start_attempt(job_id, "rq-1")
    assert save(store, job_id, token, [0], scores(1))
    result = {"tags": [{"tag": "rock", "weights": [0.5, -0.25]}], "stats": {"samples": 64}}
    store.finish(job_id, result)

    record = store.record(job_id)
    assert record["stage"] == Stage.FINISHED.value
    assert record["finished_at"] >= record["created_at"]
    assert store.result(job_id) == result
    assert 0 < store.redis.ttl(store.key(job_id, "result")) <= TTL
    assert store.secret(job_id) == {}
    assert not store.lease_alive(job_id)
    assert load(store, job_id) == ({}, None)
    assert job_id not in store.active_jobs()
    assert store.metrics().jobs["finished"] == 1.0


def test_fail_stores_the_error_and_drops_the_secret_and_lease(store):
    job_id = create(store)
    store.start_attempt(job_id, "rq-1")
    error = {"title": "Tagger unreachable", "detail": "tagger answered HTTP 503", "http_status": 503, "attempts": 5}
    store.fail(job_id, error)

    record = store.record(job_id)
    assert record["stage"] == Stage.FAILED.value
    assert record["error"] == error
    assert "finished_at" in record
    assert store.result(job_id) is None
    assert store.secret(job_id) == {}
    assert not store.lease_alive(job_id)
    assert job_id not in store.active_jobs()
    assert store.metrics().jobs["failed"] == 1.0


def test_fail_drops_the_predictions_checkpoint(store):
    job_id = create(store)
    token = store.start_attempt(job_id, "rq-1")
    assert save(store, job_id, token, [0], scores(1))
    store.fail(job_id, {"title": "Tagger answered nonsense"})
    assert load(store, job_id) == ({}, None)


# -- deleting -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("started", [False, True], ids=["queued", "running"])
def test_deleting_an_unfinished_job_cancels_it(store, started):
    job_id = create(store)
    if started:
        token = store.start_attempt(job_id, "rq-1")
        assert save(store, job_id, token, [0], scores(1))

    assert store.delete(job_id, OWNER) is Stage.CANCELLED

    record = store.record(job_id)
    assert record["stage"] == Stage.CANCELLED.value
    assert job_keys(store, job_id) == {""}  # audio, stems, secret, predictions and lease are gone
    assert store.audio(job_id) is None
    assert store.stems(job_id) == {}
    assert store.secret(job_id) == {}
    assert not store.lease_alive(job_id)
    assert 0 < store.redis.ttl(store.key(job_id)) <= TTL  # the record stays until it expires
    assert job_id not in store.active_jobs()
    assert [r["id"] for r in store.list_jobs(OWNER, 0, 10)[0]] == [job_id]
    assert store.metrics().jobs["cancelled"] == 1.0


def test_deleting_a_finished_job_removes_everything(store):
    job_id = create(store)
    store.start_attempt(job_id, "rq-1")
    store.finish(job_id, {"tags": []})

    assert store.delete(job_id, OWNER) is Stage.FINISHED

    assert job_keys(store, job_id) == set()
    assert store.record(job_id) is None
    assert store.list_jobs(OWNER, 0, 10) == ([], 0)
    assert "cancelled" not in store.metrics().jobs


def test_deleting_a_missing_job_is_harmless(store):
    assert store.delete("no-such-job", OWNER) is Stage.CANCELLED
    assert store.metrics().jobs == {}


# -- leases ------------------------------------------------------------------------------------------------

def test_a_lease_expires_unless_renewed(connection):
    store = Store(connection, prefix=f"test-store-{uuid.uuid4().hex[:12]}", ttl=TTL, lease_seconds=1)
    try:
        job_id = create(store)
        token = store.start_attempt(job_id, "rq-1")
        assert store.lease_alive(job_id)
        time.sleep(0.7)
        store.renew_lease(job_id, token)
        time.sleep(0.7)
        assert store.lease_alive(job_id)  # 1.4 s after the start, but renewed at 0.7 s
        time.sleep(1.2)
        assert not store.lease_alive(job_id)
        assert store.owns(job_id, token)  # a lost lease alone does not end ownership
    finally:
        keys = list(connection.scan_iter(match=f"{store.prefix}:*"))
        connection.delete(*keys)


@pytest.mark.parametrize("end", ["fail", "finish", "cancel"])
def test_what_a_job_waited_for_is_gone_once_it_ends(store, end):
    """A job that failed after waiting for the tagger's model shows no wait beside its failure."""
    job_id = create(store)
    store.start_attempt(job_id, "rq-1")
    store.set_stage(job_id, Stage.QUERYING, waiting="waiting for the tagger to load its model: waited 580 s of at most 600 s")
    assert store.record(job_id)["waiting"].startswith("waiting for the tagger")
    if end == "fail":
        store.fail(job_id, {"title": "Tagger unreachable", "detail": "the model never finished loading"})
    elif end == "finish":
        store.finish(job_id, {"tags": []})
    else:
        store.delete(job_id, OWNER)
    record = store.record(job_id)
    assert record["stage"] in ("failed", "finished", "cancelled") and "waiting" not in record
