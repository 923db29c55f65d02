"""A real pretrained tagger (MSD_musicnn, its own venv, over OIP) explained on a real clip, end to end."""
import dataclasses

import numpy as np
import pytest

from tests.integration.harness import read_audio, start_worker
from tests.taggers.test_musicnn_server import url as musicnn_url  # noqa: F401 - the module's tagger fixture

pytestmark = pytest.mark.slow


def test_musicnn_explanation_finishes_checks_itself_and_plays(api, processes, settings, example_clip, model_dir,
                                                               musicnn_url):  # noqa: F811
    settings = dataclasses.replace(settings, model_dir=model_dir, preload_separators=("spleeter:2stems",))
    start_worker(processes, settings, f"{settings.key_prefix}-musicnn", timeout=120)
    request = {"tagger": {"url": musicnn_url, "protocol": "oip", "options": {"model": "MSD_musicnn"},
                          "batch_size": 4, "read_timeout": 120},
               "segments": 4, "samples": 48, "targets": {"top_k": 1}, "self_check_k": 2}
    response = api.submit(example_clip.read_bytes(), request)
    assert response.status_code == 202, response.text
    body = api.wait(response.json()["id"], timeout=600)
    assert body["stage"] == "finished", body["error"]
    result = body["result"]
    explained = result["tags"][0]
    assert explained["tag"] == "rock"  # musicnn's top tag for this clip (0.305)
    assert explained["original_score"] == pytest.approx(0.305, abs=0.02)
    assert len(result["provenance"]["tagger_labels"]) == 50
    assert [row["k"] for row in explained["self_check"]] == list(range(1, len(explained["self_check"]) + 1))
    assert explained["self_check"] and all(0 <= row["score"] <= 1 for row in explained["self_check"])

    mix = api.call("GET", f"/explanations/{body['id']}/audio", params={"tag": "rock", "k": 2})
    audio, rate = read_audio(mix.content)
    original, _ = read_audio(example_clip.read_bytes())
    assert mix.status_code == 200 and rate == 44100 and len(audio) == len(original)
    assert np.abs(audio).max() > 0.01


@pytest.mark.parametrize(("separator", "sources"), [
    ("spleeter:2stems+hpss", ["vocals", "harmonic", "percussive"]),
    ("hpss", ["harmonic", "percussive"]),
    ("slime", [f"band0{i}" for i in range(1, 9)]),
])
def test_musicnn_explained_with_each_new_separator(api, processes, settings, example_clip, model_dir,
                                                   musicnn_url, separator, sources):  # noqa: F811
    settings = dataclasses.replace(settings, model_dir=model_dir, preload_separators=())
    start_worker(processes, settings, f"{settings.key_prefix}-musicnn", timeout=120)
    request = {"tagger": {"url": musicnn_url, "protocol": "oip", "options": {"model": "MSD_musicnn"},
                          "batch_size": 8, "read_timeout": 120},
               "separator": separator, "segments": 3, "samples": 32, "targets": {"top_k": 1}, "self_check_k": 1}
    response = api.submit(example_clip.read_bytes(), request)
    assert response.status_code == 202, response.text
    body = api.wait(response.json()["id"], timeout=600)
    assert body["stage"] == "finished", body["error"]
    result = body["result"]
    assert [name[:len(expected)] for name, expected in zip(result["sources"], sources)] == sources
    assert result["tags"][0]["tag"] == "rock" and len(result["components"]) == 3 * len(sources)
    for name in result["sources"]:  # every source downloads and holds sound
        audio, _ = read_audio(api.call("GET", f"/explanations/{body['id']}/sources/{name}").content)
        assert np.abs(audio).max() > 1e-4, name
    component, _ = read_audio(api.call("GET", f"/explanations/{body['id']}/components/0").content)
    third = len(component) // 3  # component 0: the first source in the first of three segments
    assert np.abs(component[: third - 500]).max() > 1e-4 and np.abs(component[third + 500:]).max() == 0
