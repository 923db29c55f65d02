"""A tagger that quotes the credential it was sent never makes the service leak it."""
import redis

from tests.integration.harness import start_tagger
from tests.integration.test_explain_end_to_end import submit_tones

SECRET = "s3cret-token-0123456789"


def everything_in(connection: redis.Redis) -> bytes:
    """Every value in the database, keys included, as one blob to search."""
    parts = []
    for key in connection.scan_iter(count=1000):
        kind = connection.type(key).decode()
        parts.append(key)
        if kind == "string":
            parts.append(connection.get(key) or b"")
        elif kind == "hash":
            parts += [b for item in connection.hgetall(key).items() for b in item]
        elif kind == "list":
            parts += connection.lrange(key, 0, -1)
        elif kind == "set":
            parts += list(connection.smembers(key))
        elif kind == "zset":
            parts += connection.zrange(key, 0, -1)
    return b"\n".join(parts)


def test_a_credential_quoted_by_the_tagger_is_redacted_everywhere(api, processes, worker, settings):
    server = start_tagger(processes, "--require-header", "Authorization: Bearer the-right-one", "--echo-credentials")
    response = submit_tones(api, server, tagger={"url": server.url, "sample_rate": 16000,
                                                 "headers": {"Authorization": f"Bearer {SECRET}"}})
    body = api.wait(response.json()["id"])
    assert body["stage"] == "failed" and body["error"]["http_status"] == 401
    assert "invalid credentials" in body["error"]["detail"] and "[redacted]" in body["error"]["detail"]
    for path in (f"/explanations/{body['id']}", "/explanations"):
        assert SECRET not in api.call("GET", path).text
    assert SECRET.encode() not in everything_in(redis.Redis.from_url(settings.redis_url))
    assert SECRET not in worker.log_path.read_text()
