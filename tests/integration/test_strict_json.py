"""Every document the API serves is strict JSON (no NaN, no Infinity): JavaScript's JSON.parse, Go
and Rust read it. Checked over the degenerate cases, where a number cannot be estimated: fewer masks
than components, a tag no component moves, a silent clip, a self-check that fails."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.integration.harness import start_server, wav_bytes
from tests.integration.test_verified_parts import RATE, SEGMENTS, stems
from tests.synthetic import TIMED

RULES = {"drummy": {"any": [[440, 0, 4, 1.0]]}, "level": {"constant": 0.5}, "chorus": {"any": [[1250, 1, 2, 0.2]]}}


def strict(text: str):
    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def run(api, url: str, parts: dict, **overrides) -> str:
    request = {"tagger": {"url": url, "sample_rate": RATE, "batch_size": 32}, "separator": "provided",
               "segments": SEGMENTS, **TIMED, **overrides}
    response = api.submit(wav_bytes(sum(parts.values()), RATE), request,
                          {n: wav_bytes(w, RATE) for n, w in parts.items()})
    assert response.status_code == 202, response.text
    body = api.wait(response.json()["id"])
    assert body["status"] == "finished", body.get("error")
    return body["id"]


def served(api, job_id: str) -> dict[str, str]:
    paths = [f"/explanations/{job_id}", f"/explanations/{job_id}/samples?format=json",
             f"/explanations/{job_id}/waveforms", f"/explanations/{job_id}/spectrogram", "/explanations",
             "/healthz", f"/explanations/{job_id}/audio?tag=nothing-like-it", "/explanations/no-such-job"]
    return {path: api.call("GET", path).text for path in paths}


@pytest.fixture
def tagger(processes) -> str:
    return start_server(processes, "rules", "--rules", json.dumps(RULES)) + "/predict"


@pytest.mark.parametrize("case", ["fewer masks than components", "a constant tag and failing self-checks", "a silent clip"])
def test_every_document_of_a_degenerate_run_is_strict_json(api, worker, tagger, case):
    parts = stems()
    overrides = {"targets": {"tags": ["drummy", "level", "chorus"]}}
    if case == "fewer masks than components":
        overrides["samples"] = 8  # 12 components
    elif case == "a silent clip":
        parts = {name: np.zeros_like(wave) for name, wave in parts.items()}
    job_id = run(api, tagger, parts, **overrides)
    documents = served(api, job_id)
    for path, text in documents.items():
        strict(text)  # raises on NaN or Infinity
    result = strict(documents[f"/explanations/{job_id}"])["result"]
    level = next(t for t in result["tags"] if t["tag"] == "level")
    assert all(w == pytest.approx(0, abs=1e-9) for w in level["weights"])  # nothing moves a constant
    if case == "fewer masks than components":
        drummy = next(t for t in result["tags"] if t["tag"] == "drummy")
        assert drummy["weight_se"] is None and drummy["weight_interval"] is None and drummy["weight_se_note"]
    if case != "a silent clip":  # "level" (constant 0.5) stays on top of every mix: the others' self-checks fail
        assert not any(row["still_top"] for tag in result["tags"] for row in tag["self_check"])
        assert any(tag["self_check"] for tag in result["tags"])
