"""One odd tag never costs the others: a tag no mix can move, a silent clip, through the real stack."""
import numpy as np

from tests.integration.harness import start_tagger, wav_bytes
from tests.integration.test_explain_end_to_end import RATE, SECONDS, submit_tones


def test_a_tag_scored_alike_for_every_mix_is_reported_and_the_other_tags_stand(api, processes, worker):
    server = start_tagger(processes, "--constant-tag", "always=0.01")
    body = api.wait(submit_tones(api, server, samples=256, targets={"tags": ["low", "always"]}).json()["id"])
    assert body["stage"] == "finished", body["error"]
    result = body["result"]
    low, always = (next(t for t in result["tags"] if t["tag"] == name) for name in ("low", "always"))
    bass_2 = next(c["index"] for c in result["components"] if c["source"] == "bass" and c["segment"] == 2)
    assert low["ranking"][0] == bass_2 and low["self_check"][0]["components"] == [bass_2]
    assert low["error"] is None and low["self_check_note"] is None
    assert always["weights"] == [0.0] * len(result["components"]) and always["error"] is None
    assert always["self_check"] == [] and "no component has a positive weight" in always["self_check_note"]


def test_a_silent_clip_finishes_with_weights_of_zero(api, tagger, worker):
    silence = np.zeros((int(SECONDS * RATE), 1), np.float32)
    request = {"tagger": {"url": tagger.url, "sample_rate": RATE}, "separator": "provided", "segments": 4,
               "samples": 64, "targets": {"top_k": 2}}
    response = api.submit(wav_bytes(silence, RATE), request, {"bass": wav_bytes(silence, RATE),
                                                              "drums": wav_bytes(silence, RATE)})
    body = api.wait(response.json()["id"])
    assert body["stage"] == "finished", body["error"]
    for tag in body["result"]["tags"]:
        assert tag["weights"] == [0.0] * 8 and tag["self_check"] == [] and tag["self_check_note"]
