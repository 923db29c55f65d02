"""What every protocol shares: the outgoing request, option checks and careful JSON reading."""
from __future__ import annotations

from dataclasses import dataclass, field

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
