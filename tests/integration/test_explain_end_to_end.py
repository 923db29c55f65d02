"""Submit → poll → finished → the known answer → listenable downloads, through real parts."""
import numpy as np
import pytest

from tests.integration.harness import read_audio, wav_bytes

RATE, SECONDS, SEGMENTS = 16000, 4.0, 4


def tone_stems():
    """bass sounds only in seconds 2–3; the reference tagger's `low` hears only that component."""
    t = np.arange(int(SECONDS * RATE)) / RATE
    bass = 0.3 * np.sin(2 * np.pi * 110 * t) * ((t >= 2.0) & (t < 3.0))
    stems = {"bass": bass, "drums": 0.2 * np.sin(2 * np.pi * 440 * t), "vocals": 0.2 * np.sin(2 * np.pi * 3000 * t)}
    return {name: w.astype(np.float32)[:, None] for name, w in stems.items()}


def request_for(tagger_server, **overrides):
    request = {"tagger": {"url": tagger_server.url, "sample_rate": RATE, "batch_size": 32}, "separator": "provided",
               "segments": SEGMENTS, "samples": 512, "targets": {"tags": ["low", "mid"]}}
    request.update(overrides)
    return request


def submit_tones(api, tagger_server, **overrides):
    stems = tone_stems()
    mixture = sum(stems.values())
    response = api.submit(wav_bytes(mixture, RATE), request_for(tagger_server, **overrides),
                          {n: wav_bytes(w, RATE) for n, w in stems.items()})
    assert response.status_code == 202, response.text
    return response


def test_known_answer_and_downloads(api, tagger, worker):
    response = submit_tones(api, tagger)
    job_id = response.json()["id"]
    assert response.headers["Location"] == f"/explanations/{job_id}"

    body = api.wait(job_id)
    assert body["stage"] == "finished" and body["progress"]["percent"] == 100.0, body["error"]
    result = body["result"]
    components = result["components"]
    bass_2 = next(c["index"] for c in components if c["source"] == "bass" and c["segment"] == 2)
    low = next(t for t in result["tags"] if t["tag"] == "low")
    weights = np.array(low["weights"])
    # `low` = RMS below 250 Hz = 0.3 · sqrt(1/4 / 2) when the bass of segment 2 sounds, 0 otherwise.
    assert low["ranking"][0] == bass_2
    assert weights[bass_2] == pytest.approx(0.3 * np.sqrt(0.125), rel=0.05)
    assert np.max(np.abs(np.delete(weights, bass_2))) < 0.002
    assert low["self_check"][0]["components"] == [bass_2]
    mid = next(t for t in result["tags"] if t["tag"] == "mid")
    assert {components[i]["source"] for i in mid["ranking"][:4]} == {"drums"}  # 440 Hz: mid band
    assert result["stats"]["tagger_calls"] == tagger.stats()["clips"]

    source = api.call("GET", f"/explanations/{job_id}/sources/bass")
    waveform, rate = read_audio(source.content)
    assert source.headers["Content-Type"] == "audio/wav" and rate == RATE and len(waveform) == SECONDS * RATE
    np.testing.assert_allclose(waveform[:, 0], tone_stems()["bass"][:, 0], atol=1e-4)

    component = api.call("GET", f"/explanations/{job_id}/components/{bass_2}", params={"format": "flac"})
    audio, _ = read_audio(component.content)
    assert component.headers["Content-Type"] == "audio/flac" and len(audio) == SECONDS * RATE
    assert np.abs(audio[: int(1.9 * RATE)]).max() == 0 and np.abs(audio[int(2.1 * RATE): int(2.9 * RATE)]).max() > 0.25

    # the top-1 mix as the checks heard it (check_off: cut, the default): the bass of seconds 2-3 alone,
    # looped to the clip's length, crossfaded where the loop joins
    mix = api.call("GET", f"/explanations/{job_id}/audio", params={"tag": "low", "k": 1})
    audio, _ = read_audio(mix.content)
    assert mix.headers["X-Components"] == str(bass_2) and len(audio) == SECONDS * RATE
    bass = tone_stems()["bass"][2 * RATE: 3 * RATE, 0]
    for start in range(0, len(audio), RATE):
        np.testing.assert_allclose(audio[start + 48: start + RATE - 48, 0], bass[48:-48], atol=1e-4)


def test_listing_and_deleting(api, tagger, worker):
    first = submit_tones(api, tagger).json()["id"]
    second = submit_tones(api, tagger, samples=64).json()["id"]
    api.wait(first), api.wait(second)
    listing = api.call("GET", "/explanations", params={"limit": 1}).json()
    assert listing["total"] == 2 and [i["id"] for i in listing["items"]] == [second]
    assert listing["next"] is not None
    assert [i["id"] for i in api.call("GET", listing["next"]).json()["items"]] == [first]
    assert api.call("DELETE", f"/explanations/{first}").status_code == 204
    assert api.call("GET", f"/explanations/{first}").status_code == 404
    assert api.call("GET", "/explanations").json()["total"] == 1


def test_tagger_secrets_are_never_returned_or_stored_after_the_job(api, tagger, worker, settings):
    import redis

    response = submit_tones(api, tagger, tagger={"url": tagger.url, "sample_rate": RATE,
                                                  "headers": {"Authorization": "Bearer tagger-secret-123"}})
    body = api.wait(response.json()["id"])
    assert body["request"]["tagger"]["headers"] == {"Authorization": "[redacted]"}
    assert "tagger-secret-123" not in api.call("GET", f"/explanations/{body['id']}").text
    client = redis.Redis.from_url(settings.redis_url)
    for key in client.keys(f"{settings.key_prefix}:*"):
        kind = client.type(key)
        raw = client.get(key) if kind == b"string" else str(client.hgetall(key) if kind == b"hash" else "")
        assert b"tagger-secret-123" not in (raw if isinstance(raw, bytes) else raw.encode())
