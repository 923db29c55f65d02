"""The JSON batch protocol: requests that decode back to the mixes, answers read carefully.

Parsing is tested on hand-made `requests.Response` objects: no HTTP here.
"""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import requests
import soundfile

from engine.errors import TaggerResponseError
from engine.tagger import QUOTE_LIMIT
from backend.tagger.protocols import json_batch
from backend.tagger.spec import TaggerSpec

PCM16_STEP = 1 / 32768


def answer(document=None, *, body: bytes | None = None, content_type: str = "application/json",
           status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = content_type
    response._content = json.dumps(document).encode() if body is None else body
    response.encoding = "utf-8"
    return response


# -- requests ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("sample_rate, channels, encoding", [
    (16000, 1, "wav16"), (22050, 2, "wav16"), (16000, 1, "flac")])
def test_request_clips_decode_back_to_the_mixes(sample_rate, channels, encoding):
    rng = np.random.default_rng(7)
    mixes = rng.uniform(-0.9, 0.9, size=(3, 2000, channels)).astype(np.float32)
    spec = TaggerSpec(url="http://tagger.example/predict", sample_rate=sample_rate, channels=channels,
                      encoding=encoding)
    outgoing = json_batch.build_request(mixes, spec)

    assert outgoing.content_type == "application/json"
    assert outgoing.path == ""
    body = json.loads(outgoing.body)
    assert (body["sample_rate"], body["channels"]) == (sample_rate, channels)
    assert len(body["clips"]) == len(mixes)
    for clip, mix in zip(body["clips"], mixes):
        waveform, rate = soundfile.read(io.BytesIO(base64.b64decode(clip, validate=True)),
                                        dtype="float32", always_2d=True)
        assert rate == sample_rate
        assert waveform.shape == mix.shape
        np.testing.assert_allclose(waveform, mix, rtol=0, atol=PCM16_STEP)


def test_request_keeps_clips_in_order():
    mixes = np.zeros((3, 100, 1), dtype=np.float32)
    mixes[1] = 0.25
    outgoing = json_batch.build_request(mixes, TaggerSpec(url="http://tagger.example/predict"))
    levels = [soundfile.read(io.BytesIO(base64.b64decode(c)))[0].max() for c in json.loads(outgoing.body)["clips"]]
    assert levels == [0.0, 0.25, 0.0]


# -- answers that fit ---------------------------------------------------------------------------------

@pytest.mark.parametrize("document", [
    {"labels": ["rock", "jazz"], "scores": [[0.1, 0.9], [0.7, 0.3]]},
    {"predictions": [{"rock": 0.1, "jazz": 0.9}, {"rock": 0.7, "jazz": 0.3}]},
], ids=["labels+scores", "predictions"])
def test_both_answer_shapes_are_read(document):
    predictions = json_batch.parse_response(answer(document), n_clips=2)
    assert predictions.labels == ("rock", "jazz")
    assert predictions.scores.dtype == np.float64
    np.testing.assert_array_equal(predictions.scores, [[0.1, 0.9], [0.7, 0.3]])


def test_integer_scores_are_numbers_too():
    predictions = json_batch.parse_response(answer({"labels": ["a"], "scores": [[1], [0]]}), n_clips=2)
    np.testing.assert_array_equal(predictions.scores, [[1.0], [0.0]])


def test_extra_fields_are_ignored():
    document = {"labels": ["a"], "scores": [[0.5]], "model": "v2"}
    assert json_batch.parse_response(answer(document), n_clips=1).labels == ("a",)


# -- answers that do not fit --------------------------------------------------------------------------

REJECTED = {
    "scores missing": ({"labels": ["a"]}, 1, ["neither", "{'labels': ['a']}"]),
    "labels missing": ({"scores": [[0.5]]}, 1, ["neither", "{'scores': [[0.5]]}"]),
    "empty object": ({}, 1, ["neither", "{}"]),
    "a list": ([[0.5]], 1, ["neither", "[[0.5]]"]),
    "labels not a list": ({"labels": "a", "scores": [[0.5]]}, 1, ["`labels`", "'a'"]),
    "label not a string": ({"labels": ["a", 7], "scores": [[0.5, 0.5]]}, 1, ["`labels`", "['a', 7]"]),
    "word for a score": ({"labels": ["a", "b"], "scores": [[0.1, "loud"]]}, 1, ["`scores`", "'loud'"]),
    "object for a score": ({"labels": ["a"], "scores": [[{"p": 1}]]}, 1, ["`scores`", "{'p': 1}"]),
    "ragged rows": ({"labels": ["a", "b"], "scores": [[0.1, 0.2], [0.3]]}, 2, ["`scores`", "[0.3]"]),
    "flat scores": ({"labels": ["a", "b"], "scores": [0.1, 0.2]}, 1, ["one row per clip", "[0.1, 0.2]"]),
    "fewer scores than labels": ({"labels": ["a", "b", "c"], "scores": [[0.1, 0.2]]}, 1,
                                 ["2 scores per clip for 3 labels"]),
    "too few rows": ({"labels": ["a"], "scores": [[0.1]]}, 2, ["1 predictions for 2 clips"]),
    "too many rows": ({"labels": ["a"], "scores": [[0.1], [0.2], [0.3]]}, 2, ["3 predictions for 2 clips"]),
    "objects, too few": ({"predictions": [{"a": 0.1}]}, 3, ["1 predictions for 3 clips"]),
    "objects, tags differ": ({"predictions": [{"a": 0.1, "b": 0.2}, {"a": 0.3, "c": 0.4}]}, 2,
                             ["prediction 1 has different tags", "'b'", "'c'"]),
    "objects, a tag missing": ({"predictions": [{"a": 0.1, "b": 0.2}, {"a": 0.3}]}, 2,
                               ["prediction 1 has different tags", "['b']"]),
    "objects, word for a score": ({"predictions": [{"a": "high"}]}, 1, ["numbers", "'high'"]),
    "objects, none": ({"predictions": []}, 1, ["{tag: score}", "[]"]),
    "objects, not objects": ({"predictions": [0.1, 0.2]}, 2, ["{tag: score}", "[0.1, 0.2]"]),
}


@pytest.mark.parametrize("document, n_clips, quoted", REJECTED.values(), ids=REJECTED.keys())
def test_answers_that_do_not_fit_are_rejected_quoting_the_fault(document, n_clips, quoted):
    with pytest.raises(TaggerResponseError) as caught:
        json_batch.parse_response(answer(document), n_clips)
    for part in quoted:
        assert part in str(caught.value)


@pytest.mark.parametrize("body, bad", [
    (b'{"labels": ["a", "b"], "scores": [[0.1, NaN], [0.2, 0.3]]}', "nan"),
    (b'{"labels": ["a", "b"], "scores": [[0.2, 0.3], [0.1, Infinity]]}', "inf"),
    (b'{"predictions": [{"a": 0.1, "b": -Infinity}, {"a": 0.2, "b": 0.3}]}', "-inf"),
])
def test_non_finite_scores_are_rejected_naming_the_tag(body, bad):
    with pytest.raises(TaggerResponseError) as caught:
        json_batch.parse_response(answer(body=body), n_clips=2)
    message = str(caught.value)
    assert f"non-finite score {bad} for tag 'b'" in message


def test_not_json_is_rejected_quoting_the_start_of_it():
    page = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>" + "<p>nginx</p>" * 100 + "</body></html>"
    with pytest.raises(TaggerResponseError) as caught:
        json_batch.parse_response(answer(body=page.encode(), content_type="text/html"), n_clips=1)

    message = str(caught.value)
    assert "not JSON" in message
    assert "text/html" in message
    assert "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1>" in message
    assert f"({len(repr(page))} characters)" in message  # says it was cut, and how long it was
    assert len(message) < QUOTE_LIMIT + 100
    assert "</html>" not in message


def test_an_empty_body_is_not_json():
    with pytest.raises(TaggerResponseError, match="no content type, not JSON: ''"):
        json_batch.parse_response(answer(body=b"", content_type=""), n_clips=1)


# -- known gaps ----------------------------------------------------------------------------------------

def test_objects_with_the_same_tags_in_another_order_are_read():
    document = {"predictions": [{"rock": 0.1, "jazz": 0.9}, {"jazz": 0.3, "rock": 0.7}]}
    predictions = json_batch.parse_response(answer(document), n_clips=2)
    np.testing.assert_array_equal(predictions.scores, [[0.1, 0.9], [0.7, 0.3]])


@pytest.mark.parametrize("document", [
    {"labels": ["a"], "scores": [["0.5"]]},
    {"labels": ["a"], "scores": [[True]]},
    {"predictions": [{"a": "0.5"}]},
], ids=["string in matrix", "boolean in matrix", "string in object"])
def test_scores_that_are_not_json_numbers_are_rejected(document):
    with pytest.raises(TaggerResponseError):
        json_batch.parse_response(answer(document), n_clips=1)
