"""What every protocol shares: the outgoing request, option checks and careful JSON reading."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import requests

from engine.errors import InvalidOptionError, TaggerResponseError
from engine.tagger import quote


@dataclass(frozen=True)
class Outgoing:
    body: bytes = b""
    content_type: str | None = None
    path: str = ""  # appended to the tagger URL
    method: str = "POST"
    headers: dict = field(default_factory=dict)  # protocol headers (never the user's secrets)


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


DECIMALS = 7  # 1e-7 absolute: as fine as float32 resolves near full scale, ~140 dB below it


def json_numbers(values) -> bytes:
    """A flat JSON array of numbers, written by numpy instead of json.dumps.

    json.dumps of a 30 s clip's 480,000 floats costs ~0.5 s, more than the tagger's
    parsing; this writes fixed-point numbers (7 decimals) in fixed-width fields, padded
    with spaces (whitespace JSON allows), in a few vectorised steps. Values of 100 or
    more (never audio) fall back to json.dumps.
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    if flat.size == 0 or not np.all(np.abs(flat) < 99.5):
        return json.dumps(flat.tolist()).encode()
    scaled = np.rint(np.abs(flat) * 10 ** DECIMALS).astype(np.int64)
    width = 1 + 2 + 1 + DECIMALS + 1  # sign, two integer digits, point, decimals, comma
    text = np.full((flat.size, width), ord(" "), dtype=np.uint8)
    for position in range(width - 2, width - 2 - DECIMALS, -1):  # decimals, right to left
        scaled, digit = np.divmod(scaled, 10)
        text[:, position] = ord("0") + digit
    text[:, width - 2 - DECIMALS] = ord(".")
    tens, ones = np.divmod(scaled, 10)
    text[:, 2] = ord("0") + ones
    text[:, 1] = np.where(tens > 0, ord("0") + tens, ord(" "))
    negative = flat < 0
    sign_at = np.where(tens > 0, 0, 1)  # the minus goes right before the first digit
    text[negative, sign_at[negative]] = ord("-")
    text[:, -1] = ord(",")
    body = text.tobytes()
    return b"[" + body[:-1] + b"]"
