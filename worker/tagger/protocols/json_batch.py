"""The service's own JSON batch protocol (see openapi.yaml, `TaggerRequest`/`TaggerResponse`).

Request:  {"sample_rate": 16000, "channels": 1, "clips": ["<base64 16-bit WAV>", …]}
Response: {"labels": [...], "scores": [[...], …]}  or  {"predictions": [{tag: score}, …]}
"""
from __future__ import annotations

import base64
import json

import numpy as np
import requests

from engine.codec import encode_batch
from engine.errors import TaggerResponseError
from engine.tagger import Predictions, check_predictions, quote

from .base import Outgoing, json_body


def build_request(mixes: np.ndarray, spec) -> Outgoing:
    clips = [base64.b64encode(data).decode("ascii") for data in encode_batch(mixes, spec.sample_rate, spec.encoding)]
    body = {"sample_rate": spec.sample_rate, "channels": spec.channels, "clips": clips}
    return Outgoing(json.dumps(body).encode(), "application/json")


def parse_response(response: requests.Response, n_clips: int) -> Predictions:
    document = json_body(response)
    if isinstance(document, dict) and "scores" in document and "labels" in document:
        return _from_matrix(document, n_clips)
    if isinstance(document, dict) and isinstance(document.get("predictions"), list):
        return _from_objects(document["predictions"], n_clips)
    raise TaggerResponseError(
        f"tagger answer has neither `labels` + `scores` nor `predictions`: {quote(document)}")


def _from_matrix(document: dict, n_clips: int) -> Predictions:
    labels = document["labels"]
    if not isinstance(labels, list) or not all(isinstance(t, str) for t in labels):
        raise TaggerResponseError(f"`labels` must be a list of strings, got {quote(labels)}")
    try:
        scores = np.array(document["scores"], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TaggerResponseError(f"`scores` must be a matrix of numbers, got {quote(document['scores'])}") from exc
    if scores.ndim != 2:
        raise TaggerResponseError(f"`scores` must be one row per clip, got {quote(document['scores'])}")
    return check_predictions(Predictions(tuple(labels), scores), n_clips)


def _from_objects(rows: list, n_clips: int) -> Predictions:
    if not rows or not all(isinstance(r, dict) for r in rows):
        raise TaggerResponseError(f"`predictions` must be a list of {{tag: score}} objects, got {quote(rows)}")
    labels = tuple(rows[0])
    for index, row in enumerate(rows):
        if tuple(row) != labels:
            missing = sorted(set(labels) ^ set(row))
            raise TaggerResponseError(f"prediction {index} has different tags than prediction 0: {quote(missing)}")
    try:
        scores = np.array([[row[t] for t in labels] for row in rows], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TaggerResponseError(f"scores must be numbers, got {quote(rows)}") from exc
    return check_predictions(Predictions(labels, scores), n_clips)
