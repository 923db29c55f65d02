"""The listening pages and GET /explanations/{id}/original, over real HTTP with API keys on.

The pages' behaviour in a browser is tested in tests/browser; here: what the server sends.
"""
import dataclasses
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from tests.integration.harness import read_audio, wav_bytes

ALICE, BOB = "alice-key-1234", "bob-key-5678"
RATE = 16000
QUANTUM = 1 / 32768  # one step of the 16-bit WAV the service sends


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, api_keys=(ALICE, BOB))


@pytest.fixture
def api(api):
    api.key = ALICE
    return api


class Assets(HTMLParser):
    """The scripts and stylesheets a page references."""

    def __init__(self):
        super().__init__()
        self.scripts, self.styles = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.styles.append(attrs["href"])


def assets_of(html: str) -> Assets:
    parser = Assets()
    parser.feed(html)
    return parser


def clip(seconds: float = 2.0, channels: int = 2) -> np.ndarray:
    """Noise at a level that uses many 16-bit steps, different in each channel."""
    rng = np.random.default_rng(7)
    return (0.4 * rng.uniform(-1, 1, (int(seconds * RATE), channels))).astype(np.float32)


def submit(api, waveform, key=ALICE):
    """A queued job with provided stems (no worker runs: /original needs only the stored clip)."""
    stems = {"left": waveform * [1, 0], "right": waveform * [0, 1]}
    request = {"tagger": {"url": "http://127.0.0.1:9/predict"}, "separator": "provided", "segments": 2,
               "samples": 16}
    response = api.submit(wav_bytes(waveform, RATE), request,
                          {name: wav_bytes(w.astype(np.float32), RATE) for name, w in stems.items()}, key=key)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def assert_html_page(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "media-src blob:" in policy  # no inline or foreign code


def test_index_page_and_its_assets_are_served(api):
    response = api.call("GET", "/", key=None)
    assert_html_page(response)
    assert 'id="submit-form"' in response.text and 'id="jobs"' in response.text
    for name in ("audio", "tagger-url", "protocol", "options", "samples", "separator", "segments", "stems"):
        assert re.search(rf'<label for="{name}">', response.text), f"input {name} has no label"
    found = assets_of(response.text)
    assert found.scripts == ["/static/index.js"] and found.styles == ["/static/pages.css"]
    assert_assets_served(api, found)


def test_view_page_is_served_without_a_key_and_never_embeds_one(api):
    job_id = submit(api, clip())
    anonymous = api.call("GET", f"/explanations/{job_id}/view", key=None)
    assert_html_page(anonymous)
    assert f'data-job-id="{job_id}"' in anonymous.text
    with_key = api.call("GET", f"/explanations/{job_id}/view", key=ALICE)
    assert ALICE not in with_key.text and "Bearer" not in with_key.text
    found = assets_of(with_key.text)
    assert found.scripts == ["/static/view.js"] and found.styles == ["/static/pages.css"]
    assert_assets_served(api, found)


def test_view_page_escapes_the_id(api):
    response = api.call("GET", "/explanations/%3Cimg%20src%3Dx%20onerror%3D%22alert(1)%22%3E/view", key=None)
    assert response.status_code == 200
    assert "<img" not in response.text and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in response.text


def assert_assets_served(api, found: Assets):
    """Every referenced file, and every module those import, is served with its media type."""
    pending, seen = list(found.scripts) + list(found.styles), set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        response = api.call("GET", path, key=None, validate=False)  # static files are not API operations
        assert response.status_code == 200, path
        kind = "text/javascript" if path.endswith(".js") else "text/css"
        assert response.headers["Content-Type"].startswith(kind), (path, response.headers["Content-Type"])
        imports = re.findall(r'from "\./([\w-]+\.js)"', response.text) if path.endswith(".js") else []
        pending += [f"/static/{name}" for name in imports]
    assert {"/static/common.js", "/static/pages.css"} <= seen


def test_unknown_pages_are_still_problems(api):
    for path in ("/explanations/abc/nothing", "/nothing", "/static/missing.js"):
        response = api.call("GET", path, key=None, validate=False)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"] == "application/problem+json", path
        assert response.json()["status"] == 404


@pytest.mark.parametrize("fmt, media_type", [(None, "audio/wav"), ("flac", "audio/flac")])
def test_original_is_the_submitted_clip(api, fmt, media_type):
    waveform = clip()
    job_id = submit(api, waveform)
    params = {"format": fmt} if fmt else {}
    response = api.call("GET", f"/explanations/{job_id}/original", params=params)
    assert response.status_code == 200 and response.headers["Content-Type"] == media_type
    assert 'filename="original.' in response.headers["Content-Disposition"]
    decoded, rate = read_audio(response.content)
    assert rate == RATE and decoded.shape == waveform.shape
    np.testing.assert_allclose(decoded, waveform, atol=QUANTUM)
    assert np.abs(decoded - waveform).max() > 0  # it really went through 16 bits


def test_original_belongs_to_its_owner(api):
    job_id = submit(api, clip(), key=ALICE)
    for key, status in ((BOB, 404), (None, 401), (ALICE, 200)):
        response = api.call("GET", f"/explanations/{job_id}/original", key=key)
        assert response.status_code == status, key
    unknown = api.call("GET", "/explanations/0123456789abcdef/original")
    assert unknown.status_code == 404 and unknown.headers["Content-Type"] == "application/problem+json"
    assert "0123456789abcdef" in unknown.json()["detail"]


def test_original_of_a_cancelled_job_is_gone(api):
    job_id = submit(api, clip())
    assert api.call("DELETE", f"/explanations/{job_id}").status_code == 204
    response = api.call("GET", f"/explanations/{job_id}/original")
    assert response.status_code == 404 and "deleted" in response.json()["detail"]
