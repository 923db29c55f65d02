"""KServe v1 / TensorFlow Serving: {"instances": [...]} → {"predictions": [...]}.

`tagger.url` is the full predict URL (e.g. .../v1/models/tagger:predict).
`tagger.options`: `labels` (names of the score columns; not needed when each
prediction is a {tag: score} object), `input`: `samples` (each instance is the
waveform as numbers; default) or `b64_wav` (each instance is {"b64": <encoded
audio file>}, TF Serving's convention for binary inputs), `instance_key` (wrap
each instance as {key: value}).
"""
from __future__ import annotations

import json

import numpy as np
import requests

from engine.codec import encode_batch
from engine.errors import InvalidOptionError, TaggerResponseError
from engine.tagger import Predictions, check_predictions, quote

from .base import (Outgoing, base64_string, check_keys, check_labels, is_number, json_array, json_body,
                   json_numbers, json_object, predictions_from_objects)

DEFAULT_BATCH_SIZE = 8
MAX_BATCH_SIZE = 10**6
INPUTS = ("samples", "b64_wav")


def check_options(options: dict) -> dict:
    check_keys(options, set(), {"labels", "input", "instance_key"}, "kserve_v1")
    if options.get("input", "samples") not in INPUTS:
        raise InvalidOptionError(f"tagger.options.input must be one of {list(INPUTS)}")
    if "instance_key" in options and not isinstance(options["instance_key"], str):
        raise InvalidOptionError("tagger.options.instance_key must be a string")
    check_labels(options.get("labels"))
    return {"input": "samples", **options}


def prepare(spec, fetch) -> None:
    return None


def build_request(clips: np.ndarray, spec, prepared=None) -> Outgoing:
    if spec.options["input"] == "b64_wav":
        files = encode_batch(clips, spec.sample_rate, spec.encoding)
        instances = [json_object("b64", base64_string(data)) for data in files]
    elif spec.channels == 1:
        instances = [json_numbers(row) for row in clips[:, :, 0]]
    else:  # (samples, channels) nested lists; json_numbers writes flat arrays only
        instances = [json.dumps(clip.tolist()).encode() for clip in clips]
    key = spec.options.get("instance_key")
    if key:
        instances = [json_object(key, instance) for instance in instances]
    return Outgoing(b'{"instances": ' + json_array(instances) + b"}", "application/json")


def parse_response(response: requests.Response, n_clips: int, spec, prepared=None) -> Predictions:
    document = json_body(response)
    rows = document.get("predictions") if isinstance(document, dict) else None
    if not isinstance(rows, list) or not rows:
        raise TaggerResponseError(f"KServe v1 answer without a `predictions` list: {quote(document)}")
    if all(isinstance(row, dict) for row in rows):
        return predictions_from_objects(rows, n_clips)
    labels = spec.options.get("labels")
    if labels is None:
        raise TaggerResponseError("predictions are lists of scores; name their columns with tagger.options.labels")
    if not all(isinstance(row, list) and all(map(is_number, row)) for row in rows):
        raise TaggerResponseError(f"each prediction must be a list of numbers: {quote(rows)}")
    if any(len(row) != len(labels) for row in rows):
        raise TaggerResponseError(f"predictions have {sorted({len(r) for r in rows})} scores for "
                                  f"{len(labels)} labels: {quote(rows)}")
    return check_predictions(Predictions(tuple(labels), np.array(rows, dtype=np.float64)), n_clips)
