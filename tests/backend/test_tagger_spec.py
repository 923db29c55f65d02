"""TaggerSpec refuses at submission what would fail, or be sent as something else, at the first request."""
from __future__ import annotations

import pytest
import requests

from engine.errors import InvalidOptionError
from backend.tagger.netguard import InvalidTaggerUrlError
from backend.tagger.spec import InvalidTaggerHeaderError, TaggerSpec

URL = "http://tagger.example/predict"
SECRET = "s3cret-value"


@pytest.mark.parametrize("name", ["X Key", "X:Key", "", "X-Key\r\n", "X\nInjected", "X\x00", "Ä-Key", "(Key)",
                                  "X/Key", "X-Key ", " X-Key", "X\tKey"])
def test_header_names_must_be_http_tokens(name):
    with pytest.raises(InvalidTaggerHeaderError, match="is not an HTTP token") as refused:
        TaggerSpec(url=URL, headers={name: SECRET})
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize("value", [f"Bearer {SECRET}\r\nX-Injected: 1", f"{SECRET}\n", f"{SECRET}\r", f"{SECRET}\x00",
                                   f"{SECRET}\x1f", f"{SECRET}\x7f", f"{SECRET}\x85", f"{SECRET}\u20ac",
                                   f" {SECRET}", f"{SECRET} ", f"\t{SECRET}", f"{SECRET}\u2028"])
def test_header_values_must_be_sendable_as_they_are(value):
    with pytest.raises(InvalidTaggerHeaderError, match="has a value HTTP cannot carry") as refused:
        TaggerSpec(url=URL, headers={"Authorization": value})
    assert "'Authorization'" in str(refused.value)
    assert SECRET not in str(refused.value)  # a secret is never quoted, not even in part


@pytest.mark.parametrize("value", ["", "Bearer s3cret", "a\tb", "a  b", "caf\u00e9",
                                   "!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"])
def test_good_header_values_are_kept_and_sendable(value):
    spec = TaggerSpec(url=URL, headers={"X-Key_1.v2~": value})
    assert spec.headers == {"X-Key_1.v2~": value}
    requests.Request("POST", URL, headers=spec.headers).prepare()  # requests accepts them too
    value.encode("latin-1")  # what http.client encodes them as: raises for anything else


def test_header_errors_are_invalid_options():
    assert issubclass(InvalidTaggerHeaderError, InvalidOptionError)


def test_the_url_is_checked_by_the_spec_too():
    for url in ("http://tagger.example/a\r\nb", "http://tagger.example:0/", "ftp://tagger.example/",
                "http://tagger.example/" + "a" * 3000):
        with pytest.raises(InvalidTaggerUrlError):
            TaggerSpec(url=url)


def test_send_timeout_defaults_to_none_meaning_the_read_timeout():
    spec = TaggerSpec(url=URL)
    assert spec.send_timeout is None
    assert TaggerSpec(url=URL, send_timeout=120).send_timeout == 120
    assert TaggerSpec.from_dict({"url": URL, "send_timeout": 2.5}).send_timeout == 2.5
    assert TaggerSpec.from_dict(spec.public()) == spec


@pytest.mark.parametrize("value", [0, -1, 601, "5", True, float("nan")])
def test_send_timeout_is_checked_like_the_other_timeouts(value):
    with pytest.raises(InvalidOptionError, match=r"tagger\.send_timeout must be a number in \(0, 600\]"):
        TaggerSpec(url=URL, send_timeout=value)


@pytest.mark.parametrize("name", ["Content-Length", "transfer-encoding", "Host", "Connection", "Content-Type"])
def test_headers_that_frame_or_route_the_request_are_refused(name):
    with pytest.raises(InvalidOptionError, match="set by the service itself"):
        TaggerSpec(url="http://example.com/predict", headers={name: "1"})
