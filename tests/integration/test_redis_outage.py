"""Redis going away: the API answers 503 problem+json, recovers by itself, and nothing is lost."""
import dataclasses
import time

import pytest

from service import create_app
from tests.integration.conftest import free_port, start_redis_server
from tests.integration.harness import Api, ServedApp, start_worker
from tests.integration.test_explain_end_to_end import submit_tones


@pytest.fixture
def own_redis(tmp_path):
    """A private Redis with append-only persistence, which the test may stop and start again."""
    port, data = free_port(), tmp_path / "redis"
    data.mkdir()
    servers = [start_redis_server(port, data)]
    yield port, data, servers
    for server in servers:
        server.terminate()
        server.wait()


def test_api_is_503_while_redis_is_down_and_recovers_without_losing_jobs(own_redis, settings, tagger, processes):
    port, data, servers = own_redis
    settings = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{port}/0")
    served = ServedApp(create_app(settings))
    api = Api(served.base)
    try:
        start_worker(processes, settings, f"{settings.key_prefix}-w")
        finished = api.wait(submit_tones(api, tagger, samples=64).json()["id"])
        assert finished["stage"] == "finished"

        servers[0].terminate()
        servers[0].wait()
        for path in ("/explanations", f"/explanations/{finished['id']}"):
            down = api.call("GET", path)
            assert down.status_code == 503
            assert down.headers["Content-Type"] == "application/problem+json"
            assert "Redis" in down.json()["detail"] and down.headers["Retry-After"] == "5"
        health = api.call("GET", "/healthz")
        assert health.status_code == 503 and health.json()["checks"]["redis"].startswith("unreachable")

        servers.append(start_redis_server(port, data))
        deadline = time.monotonic() + 20
        while api.call("GET", "/explanations").status_code != 200:
            assert time.monotonic() < deadline, "the API did not recover after Redis came back"
            time.sleep(0.2)
        again = api.call("GET", f"/explanations/{finished['id']}").json()
        assert again["stage"] == "finished" and again["result"] == finished["result"]
        # The worker rode out the outage too: a new job still runs to the end.
        assert api.wait(submit_tones(api, tagger, samples=64).json()["id"], timeout=90)["stage"] == "finished"
    finally:
        served.close()


@pytest.mark.slow
@pytest.mark.parametrize("outage_seconds", [30, 120])
def test_a_job_rides_out_a_long_redis_outage_without_asking_any_mask_again(own_redis, settings, processes,
                                                                          outage_seconds):
    """Before: after ~10 s the worker process died and its job stayed `running` until another came."""
    from tests.integration.harness import start_tagger
    from tests.integration.test_faults import tagger_settings, wait_for_progress

    port, data, servers = own_redis
    settings = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{port}/0")
    served = ServedApp(create_app(settings))
    api = Api(served.base)
    try:
        server = start_tagger(processes, "--delay", "0.1")
        worker = start_worker(processes, settings, f"{settings.key_prefix}-w")
        job_id = submit_tones(api, server, samples=512, tagger=tagger_settings(server, concurrency=2)).json()["id"]
        wait_for_progress(api, job_id, 96)
        servers[0].terminate()
        servers[0].wait()
        time.sleep(outage_seconds)
        assert worker.poll() is None, "the worker died while Redis was away"
        servers.append(start_redis_server(port, data))
        body = api.wait(job_id, timeout=120)
        assert body["stage"] == "finished" and body["attempts"] == 1, (body["error"], body["attempts"])
        # Every mask was asked exactly once: answers that came during the outage were kept, not asked again.
        assert server.stats()["clips"] == body["result"]["stats"]["tagger_calls"]
        assert worker.poll() is None
    finally:
        served.close()
