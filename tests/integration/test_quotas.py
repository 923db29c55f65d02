"""Per-key quotas (429 + Retry-After) and a full Redis (507): refused up front, nothing stored is lost."""

import pytest
import redis

from tests.integration.conftest import free_port, start_redis_server
from tests.integration.harness import Api, wav_bytes
from tests.integration.test_bad_input import assert_problem
from tests.integration.test_explain_end_to_end import request_for, tone_stems

RATE = 16000


class Tagger:  # a URL is all a queued job needs: no worker runs in these tests
    url = "http://127.0.0.1:9/predict"


def files() -> tuple[bytes, dict[str, bytes]]:
    stems = tone_stems()
    return wav_bytes(sum(stems.values()), RATE), {name: wav_bytes(w, RATE) for name, w in stems.items()}


def upload(api: Api, key: str | None = "default"):
    audio, stems = files()
    return api.submit(audio, request_for(Tagger()), stems, key=key)




def test_a_key_with_its_explanations_queued_up_to_the_quota_gets_429(serve):
    api = serve(api_keys=("alice-key", "bob-key"), quota_active_jobs=2)
    accepted = [upload(api, "alice-key") for _ in range(2)]
    assert [r.status_code for r in accepted] == [202, 202]
    refused = upload(api, "alice-key")
    body = assert_problem(refused, 429, "2 explanations queued or running")
    assert body["title"] == "Quota exceeded" and int(refused.headers["Retry-After"]) > 0
    assert upload(api, "bob-key").status_code == 202  # each key has its own quota
    # A cancelled job no longer counts: a place is free again.
    assert api.call("DELETE", f"/explanations/{accepted[0].json()['id']}", key="alice-key").status_code == 204
    assert upload(api, "alice-key").status_code == 202
    assert api.call("GET", "/explanations", key="alice-key").json()["total"] == 3  # nothing refused was stored


def test_a_key_keeping_its_bytes_quota_gets_429_until_it_deletes(serve, settings):
    audio, stems = files()
    one = len(audio) + sum(map(len, stems.values()))  # what one upload keeps
    api = serve(quota_stored_bytes=int(2.5 * one), quota_active_jobs=0)
    first, second = upload(api), upload(api)
    assert first.status_code == second.status_code == 202
    refused = upload(api)
    assert_problem(refused, 429, "over its limit of", "DELETE /explanations/{id}")
    assert 0 < int(refused.headers["Retry-After"]) <= settings.result_ttl
    assert api.call("DELETE", f"/explanations/{first.json()['id']}").status_code == 204
    assert upload(api).status_code == 202


@pytest.fixture
def small_redis(tmp_path):
    port = free_port()
    server = start_redis_server(port, tmp_path, "--maxmemory", "24mb", "--maxmemory-policy", "noeviction")
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait()


def test_a_full_redis_answers_507_and_keeps_every_stored_job(serve, small_redis, settings):
    api = serve(redis_url=small_redis, quota_active_jobs=0, quota_stored_bytes=0)
    stored, answer = [], None
    for _ in range(60):
        answer = upload(api)
        if answer.status_code != 202:
            break
        stored.append(answer.json()["id"])
    assert_problem(answer, 507, "nearly full")
    assert answer.headers["Retry-After"] and len(stored) > 3
    for job_id in stored:  # noeviction: every job accepted before is still whole
        assert api.call("GET", f"/explanations/{job_id}").json()["stage"] == "queued"
        assert redis.Redis.from_url(small_redis).exists(f"{settings.key_prefix}:job:{job_id}:audio")

    # Past what the API refuses by itself, Redis refuses writes: still 507, never a 500.
    filler = redis.Redis.from_url(small_redis)
    with pytest.raises(redis.OutOfMemoryError):
        for n in range(10_000):
            filler.set(f"filler:{n}", b"x" * 100_000)
    assert_problem(upload(api), 507)
    assert api.call("GET", f"/explanations/{stored[0]}").status_code == 200

