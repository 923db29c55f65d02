"""Verified parts and the baseline through the service: a real worker, a real HTTP tagger whose tags
are known rules over tone stems, and the listenable mixes of the verified sets."""
import json

import numpy as np
import pytest

from tests.integration.harness import read_audio, start_server, wav_bytes
from tests.synthetic import TIMED, rule_scores

RATE, SECONDS, SEGMENTS = 16000, 4.0, 4
TONES = {"drums": 440.0, "bass": 110.0, "vocals": 1250.0}
TOGETHER = {"duet": {"all": [[440, 1, 2], [110, 2, 3]], "scale": 4.0}, "floor": {"constant": 0.2},
            "quiet": {"constant": 0.1}}
ANY_TWO = {"chorus": {"any": [[1250, 0, 1, 1.0], [1250, 1, 2, 1.0], [1250, 2, 3, 1.0]]},
           "floor": {"constant": 0.45}}
SILENT_ROCK = {"rock": {"constant": 0.2, "any": [[440, 1, 2, 0.5]]},
               "jazz": {"constant": 0.1, "any": [[110, 0, 4, 0.3]]}}


def stems() -> dict[str, np.ndarray]:
    t = np.arange(int(SECONDS * RATE)) / RATE
    return {name: (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)[:, None] for name, f in TONES.items()}


def explain(api, processes, rules: dict, **overrides) -> dict:
    url = start_server(processes, "rules", "--rules", json.dumps(rules)) + "/predict"
    request = {"tagger": {"url": url, "sample_rate": RATE, "batch_size": 32}, "separator": "provided",
               "segments": SEGMENTS, **TIMED, **overrides}
    parts = stems()
    response = api.submit(wav_bytes(sum(parts.values()), RATE), request,
                          {n: wav_bytes(w, RATE) for n, w in parts.items()})
    assert response.status_code == 202, response.text
    body = api.wait(response.json()["id"])
    assert body["status"] == "finished", body["error"]
    return body


def index(result: dict, source: str, segment: int) -> int:
    return next(c["index"] for c in result["components"] if c["source"] == source and c["segment"] == segment)


def test_two_components_needed_together_make_the_verified_sufficient_set_and_it_plays_as_the_tagger_heard_it(
        api, processes, worker):
    body = explain(api, processes, TOGETHER)
    result = body["result"]
    [duet] = result["tags"]
    pair = sorted([index(result, "drums", 1), index(result, "bass", 2)])
    assert duet["sufficient"]["components"] == pair and duet["sufficient"]["minimal"] == "proven"
    assert duet["sufficient"]["top_tag"] == "duet" and duet["necessary"]["size"] == 1
    assert not duet["baseline"]["confounded"] and result["baseline"]["top_tags"][0]["tag"] == "floor"
    assert result["stats"]["verification_calls"] >= duet["sufficient"]["calls"] > 0

    link = body["links"]["sufficient_audio"]
    audio = api.call("GET", link)
    assert audio.status_code == 200 and audio.headers["X-Components"] == ",".join(map(str, pair))
    mix, rate = read_audio(audio.content)
    scores = rule_scores(TOGETHER, mix[None].astype(np.float64), rate)[0]
    assert rate == RATE and int(np.argmax(scores)) == 0  # the tagger's rules call the played mix "duet"

    removed = api.call("GET", body["links"]["necessary_audio"])
    mix, rate = read_audio(removed.content)
    assert int(np.argmax(rule_scores(TOGETHER, mix[None].astype(np.float64), rate)[0])) != 0


def test_a_tag_surviving_any_single_removal_but_not_two_has_a_necessary_set_of_two(api, processes, worker):
    result = explain(api, processes, ANY_TWO)["result"]
    [chorus] = result["tags"]
    voices = {index(result, "vocals", s) for s in (0, 1, 2)}
    assert chorus["necessary"]["size"] == 2 and set(chorus["necessary"]["components"]) <= voices
    assert chorus["necessary"]["minimal"] == "proven" and chorus["necessary"]["top_tag"] == "floor"


def test_a_tagger_that_calls_silence_by_the_explained_tag_is_flagged(api, processes, worker):
    body = explain(api, processes, SILENT_ROCK)
    [rock] = body["result"]["tags"]
    assert rock["baseline"]["confounded"] and rock["baseline"]["rank"] == 1
    assert rock["baseline"]["score"] == pytest.approx(0.2, abs=1e-4)
    assert "confounded" in rock["baseline"]["statement"]


def test_without_a_verified_set_its_audio_is_a_404_that_says_why(api, processes, worker):
    body = explain(api, processes, TOGETHER, verification={"budget": 0}, self_check_k=1)
    [duet] = body["result"]["tags"]
    assert not duet["sufficient"]["found"] and "sufficient_audio" not in body["links"]
    response = api.call("GET", f"/explanations/{body['id']}/audio", params={"part": "sufficient"})
    assert response.status_code == 404 and "no set of at most 1" in response.json()["detail"]
    response = api.call("GET", f"/explanations/{body['id']}/audio", params={"part": "everything"})
    assert response.status_code == 400


def test_with_cut_for_the_checks_the_parts_play_without_silence_as_the_tagger_heard_them(api, processes, worker):
    body = explain(api, processes, SILENT_ROCK, check_off="cut")
    [rock] = body["result"]["tags"]
    assert body["request"]["check_off"] == "cut" and body["request"]["off"] == "silence"
    assert rock["baseline"]["confounded"] and rock["sufficient"]["found"] and not rock["sufficient"]["trivial"]
    mix, rate = read_audio(api.call("GET", body["links"]["sufficient_audio"]).content)
    windows = mix[: len(mix) // 1600 * 1600, 0].reshape(-1, 1600)  # 100 ms each
    assert len(mix) == SECONDS * RATE and np.abs(windows).max(axis=1).min() > 0.05  # looped, never silent
