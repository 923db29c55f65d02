"""The service's own JSON batch protocol (see openapi.yaml, `TaggerRequest`/`TaggerResponse`).

Request:  {"sample_rate": 16000, "channels": 1, "clips": ["<base64 16-bit WAV>", …]}
Response: {"labels": [...], "scores": [[...], …]}  or  {"predictions": [{tag: score}, …]}
"""
from __future__ import annotations

import numpy as np
import requests

from engine.codec import encode_batch
from engine.errors import TaggerResponseError
from engine.tagger import Predictions, check_predictions, quote

from .base import Outgoing, base64_string, is_number, json_array, json_body, no_options, predictions_from_objects

DEFAULT_BATCH_SIZE = 16
MAX_BATCH_SIZE = 10**6
check_options = no_options


def prepare(spec, fetch) -> None:
    return None  # nothing to learn: the answer names its tags


def build_request(clips: np.ndarray, spec, prepared=None) -> Outgoing:
    files = encode_batch(clips, spec.sample_rate, spec.encoding)
    head = b'{"sample_rate": %d, "channels": %d, "clips": ' % (spec.sample_rate, spec.channels)
    return Outgoing(head + json_array(map(base64_string, files)) + b"}", "application/json")


def parse_response(response: requests.Response, n_clips: int, spec=None, prepared=None) -> Predictions:
    document = json_body(response)
    if isinstance(document, dict) and "scores" in document and "labels" in document:
        return _from_matrix(document, n_clips)
    if isinstance(document, dict) and isinstance(document.get("predictions"), list):
        return predictions_from_objects(document["predictions"], n_clips)
    raise TaggerResponseError(
        f"tagger answer has neither `labels` + `scores` nor `predictions`: {quote(document)}")


def _from_matrix(document: dict, n_clips: int) -> Predictions:
    labels, rows = document["labels"], document["scores"]
    if not isinstance(labels, list) or not all(isinstance(t, str) for t in labels):
        raise TaggerResponseError(f"`labels` must be a list of strings, got {quote(labels)}")
    if not isinstance(rows, list) or not all(isinstance(r, list) and all(map(is_number, r)) for r in rows):
        raise TaggerResponseError(f"`scores` must be one row per clip, each a list of numbers, got {quote(rows)}")
    if len({len(r) for r in rows}) > 1:
        raise TaggerResponseError(f"`scores` rows differ in length: {quote(rows)}")
    scores = np.array(rows, dtype=np.float64).reshape(len(rows), -1)
    return check_predictions(Predictions(tuple(labels), scores), n_clips)
