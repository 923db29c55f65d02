"""A tagger that quotes the credential it was sent never makes the service leak it."""
import io
import json
import zipfile
from types import SimpleNamespace

import numpy as np
import redis

from tests.integration.harness import start_server, start_tagger
from tests.integration.test_explain_end_to_end import submit_tones

SECRET = "s3cret-token-0123456789"
RAW_SECRET = "RAWSECRET456"


def readable(value: bytes) -> bytes:
    """A stored value as text can be searched: an NPZ (compressed, its strings in UTF-32) unpacked."""
    if not value.startswith(b"PK") or not zipfile.is_zipfile(io.BytesIO(value)):
        return value
    with np.load(io.BytesIO(value), allow_pickle=False) as arrays:
        return json.dumps({name: arrays[name].tolist() for name in arrays.files}).encode()


def everything_in(connection: redis.Redis) -> bytes:
    """Every value in the database, keys included, as one blob to search."""
    parts = []
    for key in connection.scan_iter(count=1000):
        kind = connection.type(key).decode()
        parts.append(key)
        if kind == "string":
            parts.append(readable(connection.get(key) or b""))
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


def test_a_label_that_echoes_the_credential_is_redacted_wherever_labels_are_kept_or_served(
        api, processes, worker, settings):
    base = start_server(processes, "echoing")  # a raw-body tagger answering a tag "tok:<Authorization>"
    tagger = {"url": base + "/", "protocol": "file_upload", "options": {"scores_path": "@", "body": "raw"},
              "sample_rate": 16000, "concurrency": 4, "headers": {"Authorization": f"Bearer {RAW_SECRET}"}}
    response = submit_tones(api, SimpleNamespace(url=base), tagger=tagger, samples=64, targets={"tags": ["low"]})
    body = api.wait(response.json()["id"])
    assert body["stage"] == "finished", body["error"]
    job = f"/explanations/{body['id']}"
    samples = api.call("GET", job + "/samples").json()
    assert "tok:[redacted]" in samples["labels"]
    npz = api.call("GET", job + "/samples", params={"format": "npz"}).content
    served = [api.call("GET", job).text, json.dumps(samples), readable(npz).decode()]
    assert not [text for text in served if RAW_SECRET in text]
    assert RAW_SECRET.encode() not in everything_in(redis.Redis.from_url(settings.redis_url))
    assert RAW_SECRET not in worker.log_path.read_text()


def test_a_tag_asked_for_by_name_is_found_when_a_header_value_is_part_of_it(api, tagger, worker):
    """Every header value is redacted wherever it appears, "ow" in "low" too: the tag asked for is
    named as the redacted labels are, so the job still finds it."""
    settings = {"url": tagger.url, "sample_rate": 16000, "headers": {"X-Route": "ow"}}
    response = submit_tones(api, tagger, tagger=settings, samples=64, targets={"tags": ["low"]})
    body = api.wait(response.json()["id"])
    assert body["stage"] == "finished", body["error"]
    assert [t["tag"] for t in body["result"]["tags"]] == ["l[redacted]"]
