"""What every protocol shares: the outgoing request, option checks and careful JSON reading."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import numpy as np
import requests

from engine.errors import InvalidOptionError, TaggerResponseError
from engine.tagger import Predictions, check_predictions, quote


@dataclass(frozen=True)
class Outgoing:
    body: bytes = b""
    content_type: str | None = None
    path: str = ""  # appended to the tagger URL
    method: str = "POST"
    headers: dict = field(default_factory=dict)  # protocol headers (never the user's secrets)


@dataclass(frozen=True, eq=False)
class FilledPredictions(Predictions):
    """Predictions from answers that named only some of the labels (a tagger answering its top few):
    the others scored 0, which is what such an answer means. `missing` says which, per clip."""
    missing: np.ndarray | None = None  # (clips, labels) bool: True where that clip's answer lacked the label


def json_body(response: requests.Response):
    """The response's JSON, or an error that quotes what came instead."""
    content_type = response.headers.get("Content-Type", "")
    try:
        return response.json()
    except ValueError as exc:
        raise TaggerResponseError(
            f"tagger answered {response.status_code} with {content_type or 'no content type'}, not JSON: "
            f"{quote(response.text)}") from exc


def no_options(options: dict) -> dict:
    if options:
        raise InvalidOptionError(f"this protocol takes no tagger.options, got {sorted(options)}")
    return {}


def check_keys(options: dict, required: set, optional: set, protocol: str) -> None:
    missing = sorted(required - set(options))
    unknown = sorted(set(options) - required - optional)
    if missing:
        raise InvalidOptionError(f"protocol {protocol!r} needs tagger.options {missing}")
    if unknown:
        raise InvalidOptionError(f"unknown tagger.options {unknown} for protocol {protocol!r}; "
                                 f"known: {sorted(required | optional)}")


def check_labels(labels, where: str = "tagger.options.labels") -> list[str] | None:
    if labels is None:
        return None
    if not isinstance(labels, list) or not labels or not all(isinstance(t, str) for t in labels):
        raise InvalidOptionError(f"{where} must be a non-empty list of tag names")
    if len(set(labels)) != len(labels):
        raise InvalidOptionError(f"{where} has duplicates")
    return labels


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def predictions_from_objects(rows: list, n_clips: int) -> Predictions:
    """One {tag: score} object per clip (JSON objects have no order: only their tag sets must agree)."""
    if not rows or not all(isinstance(r, dict) and all(map(is_number, r.values())) for r in rows):
        raise TaggerResponseError(f"`predictions` must be a list of {{tag: score}} objects with numbers as scores, "
                                  f"got {quote(rows)}")
    labels = tuple(rows[0])
    for index, row in enumerate(rows):
        if set(row) != set(labels):
            differing = sorted(set(labels) ^ set(row))
            raise TaggerResponseError(f"prediction {index} has different tags than prediction 0: {quote(differing)}")
    scores = np.array([[row[t] for t in labels] for row in rows], dtype=np.float64)
    return check_predictions(Predictions(labels, scores), n_clips)


# Request bodies are joined from JSON pieces as bytes: json.dumps would scan and copy
# megabytes of base64 and numbers that never need escaping.
def json_array(items) -> bytes:
    return b"[" + b",".join(items) + b"]"


def json_object(key: str, value: bytes) -> bytes:
    return b"{" + json.dumps(key).encode() + b": " + value + b"}"


def base64_string(data: bytes) -> bytes:
    return b'"' + base64.b64encode(data) + b'"'


DECIMALS = 7  # 1e-7 absolute: as fine as float32 resolves near full scale, ~140 dB below it
_LIMIT = 99.5  # |values| below this have two integer digits at most (never more for audio)


def _words(texts) -> np.ndarray:
    """Each 4-character text as one little-endian uint32, so a table lookup writes 4 bytes."""
    return np.array([int.from_bytes(t.encode("ascii"), "little") for t in texts], dtype="<u4")


# A number is 12 bytes, three table words: "[sign][tens][ones]." + 4 decimals + "3 decimals,".
_HEADS = _words([f"{sign}{whole}".rjust(3) + "." for sign in ("", "-") for whole in range(100)])
_FOUR = _words(f"{i:04d}" for i in range(10_000))
_THREE = _words(f"{i:03d}," for i in range(1_000))


def json_numbers(values) -> bytes:
    """A flat JSON array of numbers, written by numpy instead of json.dumps.

    json.dumps of a 30 s clip's 480,000 floats costs ~0.5 s, more than the tagger's
    parsing; this writes fixed-point numbers (7 decimals) in fixed-width fields padded
    with spaces (whitespace JSON allows), as three lookups in tables of 4-byte words:
    a few vectorised passes instead of one per digit. Values of 100 or more (never
    audio) fall back to json.dumps.
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    if flat.size == 0 or not np.all(np.abs(flat) < _LIMIT):
        return json.dumps(flat.tolist()).encode()
    scaled = np.abs(flat) * 10.0**DECIMALS
    np.rint(scaled, out=scaled)
    scaled = scaled.astype(np.uint32)  # < 1e9: fits, and 32-bit division is the cheap kind
    whole, decimals = np.divmod(scaled, np.uint32(10**DECIMALS))
    first, last = np.divmod(decimals, np.uint32(1000))
    whole += np.uint32(100) * (flat < 0)  # the second half of _HEADS carries the minus sign
    words = np.empty((flat.size, 3), dtype="<u4")
    np.take(_HEADS, whole, out=words[:, 0])
    np.take(_FOUR, first, out=words[:, 1])
    np.take(_THREE, last, out=words[:, 2])
    body = words.tobytes()
    return b"[" + body[:-1] + b"]"
