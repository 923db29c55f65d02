"""Tagger settings that used to be accepted and fail later (or be sent as something else) are
refused by the API at submission: 400 problem+json, nothing stored, nothing queued."""
import pytest
import redis

from tests.integration.harness import queued_runs
from tests.integration.test_bad_input import TAGGER_URL, assert_problem, post, valid_request

SECRET = "s3cret-value"


def tagger(**settings) -> dict:
    return valid_request(tagger={"url": TAGGER_URL, "sample_rate": 16000, **settings})


@pytest.mark.parametrize(("request_json", "details"), [
    pytest.param(tagger(url="http://127.0.0.1:9/pre\r\ndict"), ["control or whitespace character '\\r'"],
                 id="url-crlf"),
    pytest.param(tagger(url="http://127.0.0.1:9/predict "), ["control or whitespace character ' '"], id="url-space"),
    pytest.param(tagger(url="http://127.0.0.1:9/\x00"), ["control or whitespace character"], id="url-nul"),
    pytest.param(tagger(url="http://127.0.0.1:0/predict"), ["invalid port 0", "1 to 65535"], id="port-0"),
    pytest.param(tagger(url="http://127.0.0.1:9/" + "a" * 100_000), ["100,019 characters long", "at most 2,048"],
                 id="url-overlong"),
    pytest.param(tagger(url="http://[2002:a00:1::]:9/predict"), ["refused address", "6to4 address of 10.0.0.1"],
                 id="6to4-private"),  # the test settings allow 127.0.0.0/8, so not 6to4 of loopback
    pytest.param(tagger(url="http://[64:ff9b::a9fe:a9fe]/latest"), ["NAT64 address of 169.254.169.254"],
                 id="nat64-metadata"),
    pytest.param(tagger(headers={"Authorization": f"Bearer {SECRET}\r\nX-Injected: 1"}),
                 ["tagger header 'Authorization' has a value HTTP cannot carry"], id="header-value-crlf"),
    pytest.param(tagger(headers={"X Key": "k"}), ["tagger header name 'X Key' is not an HTTP token"],
                 id="header-name-space"),
    pytest.param(tagger(send_timeout=0), ["tagger.send_timeout must be a number in (0, 600]"], id="send-timeout-0"),
])
def test_bad_tagger_settings_are_400_at_submission(api, settings, request_json, details):
    body = assert_problem(post(api, request=request_json), 400, *details)
    assert SECRET not in body["detail"] and len(body["detail"]) < 1000  # never the secret, never the whole URL
    connection = redis.Redis.from_url(settings.redis_url)
    assert queued_runs(settings) == []
    assert connection.keys(f"{settings.key_prefix}:job:*") == []


def test_a_send_timeout_is_accepted_and_shown(api, settings):
    response = post(api, request=tagger(send_timeout=120))
    assert response.status_code == 202, response.text
    shown = api.call("GET", response.headers["Location"]).json()
    assert shown["request"]["tagger"]["send_timeout"] == 120
