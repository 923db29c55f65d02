"""What every protocol shares: the outgoing request and careful JSON reading."""
from __future__ import annotations

from dataclasses import dataclass

import requests

from engine.errors import TaggerResponseError
from engine.tagger import quote


@dataclass(frozen=True)
class Outgoing:
    body: bytes
    content_type: str
    path: str = ""  # appended to the tagger URL


def json_body(response: requests.Response):
    """The response's JSON, or an error that quotes what came instead."""
    content_type = response.headers.get("Content-Type", "")
    try:
        return response.json()
    except ValueError as exc:
        raise TaggerResponseError(
            f"tagger answered {response.status_code} with {content_type or 'no content type'}, not JSON: "
            f"{quote(response.text)}") from exc
