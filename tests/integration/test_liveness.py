"""What a user and an operator see of a worker's life: /healthz from heartbeats, cancellation at once."""
import json
import os
import signal
import time

from tests.integration.harness import start_tagger, start_worker
from tests.integration.test_explain_end_to_end import submit_tones
from tests.integration.test_faults import tagger_settings


def health(api) -> tuple[int, dict]:
    response = api.call("GET", "/healthz")
    return response.status_code, response.json()


def test_healthz_counts_live_workers_and_drops_a_killed_one_within_a_lease(api, processes, settings):
    doomed = start_worker(processes, settings, f"{settings.key_prefix}-doomed")
    deadline = time.monotonic() + 10
    while health(api)[1]["checks"]["workers"] != 1:
        assert time.monotonic() < deadline, health(api)
        time.sleep(0.1)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    killed = time.monotonic()
    while health(api)[1]["checks"]["workers"] != 0:
        # RQ's own registration of the dead worker lives on (its TTL is many minutes); the heartbeat does not.
        assert time.monotonic() - killed < settings.lease_seconds + 2, health(api)
        time.sleep(0.1)
    status, body = health(api)
    assert status == 503 and body["status"] == "degraded"


def test_a_job_cancelled_during_a_long_retry_after_stops_at_once(api, processes, worker, tagger):
    # The tagger answers 429 with Retry-After: 100 s, five times: before, the worker slept through it all.
    throttled = start_tagger(processes, "--status-sequence", "429,429,429,429,429", "--retry-after", "100")
    job_id = submit_tones(api, throttled, tagger=tagger_settings(throttled, concurrency=1)).json()["id"]
    deadline = time.monotonic() + 30
    while throttled.stats()["requests"] < 1:
        assert time.monotonic() < deadline, "the throttled tagger was never asked"
        time.sleep(0.05)
    time.sleep(0.5)  # the worker is now waiting out Retry-After
    assert api.call("DELETE", f"/explanations/{job_id}").status_code == 204
    cancelled = time.monotonic()
    # The worker is free again at once: the next job (to a healthy tagger) starts and finishes.
    next_id = submit_tones(api, tagger, samples=64).json()["id"]
    while api.call("GET", f"/explanations/{next_id}").json()["stage"] == "queued":
        assert time.monotonic() - cancelled < 5, "the worker is still busy with the cancelled job"
        time.sleep(0.05)
    print(f"\nthe worker took the next job {time.monotonic() - cancelled:.2f} s after the cancellation")
    assert api.wait(next_id)["stage"] == "finished"
    assert throttled.stats()["requests"] == 1  # nothing more was sent for the cancelled job


def test_healthz_lists_optional_separators_not_installed_as_information_not_errors(api):
    _, body = health(api)
    separators = body["checks"]["separators"]
    assert "spleeter:2stems" in separators["available"] and "hpss" in separators["available"]
    assert {"spleeter:4stems", "spleeter:5stems"} <= set(separators["not_installed"])  # no registry ships them
    assert body["checks"]["model"] == "ok" and "missing" not in json.dumps(body)
