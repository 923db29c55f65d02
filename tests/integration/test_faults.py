"""Nothing is lost and nothing is stuck: failing taggers, killed workers, cancelled jobs."""
import dataclasses
import os
import signal
import time

import pytest
import redis

from tests.integration.harness import start_tagger, start_worker
from tests.integration.test_explain_end_to_end import submit_tones


def tagger_settings(server, **overrides):
    return {"url": server.url, "sample_rate": 16000, "batch_size": 16, **overrides}


def test_tagger_failing_then_recovering_finishes_and_counts_retries(api, processes, worker):
    server = start_tagger(processes, "--fail-first", "3")
    job = submit_tones(api, server, tagger=tagger_settings(server, concurrency=1)).json()
    body = api.wait(job["id"])
    assert body["stage"] == "finished", body["error"]
    assert body["result"]["stats"]["tagger"]["retries"] == 3
    assert server.stats()["requests"] == body["result"]["stats"]["tagger"]["requests"]


def test_tagger_down_fails_the_job_with_a_clear_message(api, processes, worker, settings):
    closed = start_tagger(processes)
    url = closed.url
    closed.process.terminate()
    closed.process.wait()
    job = submit_tones(api, closed, tagger={"url": url, "sample_rate": 16000, "retries": 1}).json()
    body = api.wait(job["id"], timeout=60)
    assert body["stage"] == "failed"
    assert body["error"]["title"] == "Tagger unreachable"
    assert "could not reach the tagger" in body["error"]["detail"] and body["error"]["attempts"] == 2
    assert not redis.Redis.from_url(settings.redis_url).smembers(f"{settings.key_prefix}:active")


@pytest.mark.parametrize("fault, message", [("wrong-count", "predictions for"), ("nan", "non-finite score")])
def test_tagger_answering_nonsense_fails_the_job(api, processes, worker, fault, message):
    server = start_tagger(processes, "--fault", fault)
    body = api.wait(submit_tones(api, server, tagger=tagger_settings(server, concurrency=1)).json()["id"])
    assert body["stage"] == "failed"
    assert body["error"]["title"] == "Tagger answered nonsense" and message in body["error"]["detail"]
    assert server.stats()["requests"] == 1  # nonsense is not asked for again


def wait_for_progress(api, job_id, at_least, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.call("GET", f"/explanations/{job_id}").json()
        if body["progress"]["done"] >= at_least:
            return body
        time.sleep(0.05)
    raise AssertionError(f"no progress to {at_least}: {body['progress']}")


def test_killed_worker_job_resumes_without_asking_again(api, processes, settings):
    server = start_tagger(processes, "--delay", "0.2")
    doomed = start_worker(processes, settings, f"{settings.key_prefix}-doomed")
    job_id = submit_tones(api, server, samples=512, tagger=tagger_settings(server, concurrency=1)).json()["id"]
    wait_for_progress(api, job_id, 64)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    time.sleep(0.5)  # requests already in flight reach the tagger's counters
    answered = api.call("GET", f"/explanations/{job_id}").json()["progress"]["done"]
    asked_before = server.stats()["clips"]

    start_worker(processes, settings, f"{settings.key_prefix}-rescuer")
    body = api.wait(job_id, timeout=120)
    assert body["stage"] == "finished" and body["attempts"] == 2, body["error"]
    stats = body["result"]["stats"]
    asked_after = server.stats()["clips"] - asked_before
    # Only the masks not yet checkpointed, plus the self-check, are asked for again.
    assert asked_after == stats["unique_masks"] - answered + (stats["tagger_calls"] - stats["unique_masks"])


def test_job_whose_workers_keep_dying_fails_with_a_reason(api, processes, settings):
    settings = dataclasses.replace(settings, job_attempts=1)
    server = start_tagger(processes, "--delay", "0.2")
    doomed = start_worker(processes, settings, f"{settings.key_prefix}-doomed")
    job_id = submit_tones(api, server, samples=512, tagger=tagger_settings(server, concurrency=1)).json()["id"]
    wait_for_progress(api, job_id, 16)
    os.kill(doomed.pid, signal.SIGKILL)
    start_worker(processes, settings, f"{settings.key_prefix}-witness")
    body = api.wait(job_id, timeout=60)
    assert body["stage"] == "failed" and body["error"]["title"] == "Worker lost"
    assert "stopped responding" in body["error"]["detail"]


def test_deleting_a_running_job_stops_the_tagger_calls(api, processes, worker, settings):
    server = start_tagger(processes, "--delay", "0.2")
    job_id = submit_tones(api, server, samples=512, tagger=tagger_settings(server, concurrency=1)).json()["id"]
    wait_for_progress(api, job_id, 32)
    assert api.call("DELETE", f"/explanations/{job_id}").status_code == 204
    requests_at_delete = server.stats()["requests"]
    time.sleep(2.0)
    assert server.stats()["requests"] <= requests_at_delete + 1  # at most the batch already on its way
    body = api.call("GET", f"/explanations/{job_id}").json()
    assert body["stage"] == "cancelled" and body["result"] is None, body
    client = redis.Redis.from_url(settings.redis_url)
    assert not client.exists(*(f"{settings.key_prefix}:job:{job_id}:{part}"
                               for part in ("audio", "stems", "predictions", "secret")))
