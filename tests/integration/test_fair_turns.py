"""Fair turns between API keys, through the real stack: real Redis, real `rq worker` processes,
the reference tagger over HTTP.

Start order is read from the job records (each run's first `started_at`), never from clocks
compared with thresholds: a key's backlog may be as slow or fast as the machine makes it, the
order of starts is what the design promises.
"""
import pytest

from backend.connection import connect
from backend.queueing import RunQueues
from backend.store import Store
from tests.integration.harness import start_tagger, start_worker
from tests.integration.test_studies import clips, study_request, submit_study, wait_study

KEYS = ("key-a", "key-b")
WORKERS = 2


@pytest.fixture
def store(settings) -> Store:
    return Store(connect(settings.redis_url), settings.key_prefix, settings.result_ttl, settings.lease_seconds)


def explain(api, key: str, tagger_url: str, clip: bytes) -> str:
    response = api.submit(clip, study_request(tagger_url), key=key)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def starts(store: Store, job_ids: list[str]) -> list[float]:
    return [store.record(job_id)["started_at"] for job_id in job_ids]


def started(store: Store, job_ids: list[str]) -> int:
    return sum(store.record(job_id).get("started_at") is not None for job_id in job_ids)


def test_another_keys_run_starts_after_the_runs_already_running_not_after_the_backlog(
        serve, settings, processes, store):
    api = serve(api_keys=KEYS, quota_active_jobs=0)
    tagger = start_tagger(processes, "--delay", "0.05")  # A's backlog lasts while B submits
    for number in range(WORKERS):
        start_worker(processes, settings, f"{settings.key_prefix}-w{number}")
    study = submit_study(api, clips(12), study_request(tagger.url), key="key-a")
    backlog = [clip["explanation"] for clip in study["clips"]]
    b_job = explain(api, "key-b", tagger.url, clips(1)["clip-0.wav"])
    # Counted after B was queued: at least every A run that had started before it.
    started_before_b_queued = started(store, backlog)
    assert api.wait(b_job, key="key-b", timeout=240)["stage"] == "finished"
    wait_study(api, study["id"], key="key-a")
    b_start = starts(store, [b_job])[0]
    a_before_b = sum(start < b_start for start in starts(store, backlog))
    # Each worker may have been taking one of A's runs while B's was queued; none takes a second.
    assert a_before_b <= started_before_b_queued + WORKERS, (a_before_b, started_before_b_queued)
    assert a_before_b < len(backlog) - 1  # not behind A's backlog, as one FIFO put it


def test_each_key_keeps_its_order_and_the_keys_take_turns(serve, settings, processes, tagger, store):
    api = serve(api_keys=KEYS, quota_active_jobs=0)
    audio = clips(1)["clip-0.wav"]
    a_jobs = [explain(api, "key-a", tagger.url, audio) for _ in range(4)]
    b_jobs = [explain(api, "key-b", tagger.url, audio) for _ in range(2)]
    start_worker(processes, settings, f"{settings.key_prefix}-w0")  # one worker: one take at a time
    for job_id, key in [(j, "key-a") for j in a_jobs] + [(j, "key-b") for j in b_jobs]:
        assert api.wait(job_id, key=key, timeout=240)["stage"] == "finished"
    a_starts, b_starts = starts(store, a_jobs), starts(store, b_jobs)
    assert a_starts == sorted(a_starts) and b_starts == sorted(b_starts)  # FIFO within a key
    order = [key for _, key in sorted([(s, "a") for s in a_starts] + [(s, "b") for s in b_starts])]
    # Turns: B's two runs are not left until A's four are done; which key goes first is the worker's choice.
    assert order in (list("ababaa"), list("babaaa")), order


def test_a_run_taken_off_its_queue_by_a_worker_that_died_before_starting_it_still_runs(
        serve, settings, processes, tagger, store):
    """A worker taking turns between several queues takes a run with LPOP: there is no copy of it
    in Redis until the run is marked started. Its death in between is played by taking the run
    off its queue here; the reaper must notice and queue it again."""
    api = serve(api_keys=KEYS, quota_active_jobs=0)
    job_id = explain(api, "key-a", tagger.url, clips(1)["clip-0.wav"])
    queues = RunQueues(connect(settings.redis_url), settings.queue_name)
    taken = [queue.connection.lpop(queue.key) for queue in queues.all() if len(queue)]
    assert taken == [store.record(job_id)["rq_job_id"].encode()]
    start_worker(processes, settings, f"{settings.key_prefix}-w0")
    body = api.wait(job_id, key="key-a", timeout=240)
    assert body["stage"] == "finished" and store.record(job_id)["attempts"] == 1  # queued again, run once
