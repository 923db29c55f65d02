"""Bad input: every case is a 4xx application/problem+json whose detail says what is wrong,
and a rejected submission leaves nothing behind (no queued run, no job record, no listing).

No worker and no tagger run here: `POST /explanations` checks everything before it queues,
and checking a tagger URL resolves its host without connecting to it.
"""
import json

import numpy as np
import pytest
import redis

from tests.integration.harness import Api, queued_runs, wav_bytes
from tests.long_audio import long_audio

RATE, SECONDS = 8000, 2.0
TAGGER_URL = "http://127.0.0.1:9/predict"  # loopback is allowed by the test settings; never contacted
PROBLEM = "application/problem+json"
AUTH_KEYS = ("key-a", "key-b")


# -- valid input, and what a rejection must look like ---------------------------------------

def tone_stems(seconds: float = SECONDS) -> dict[str, np.ndarray]:
    t = np.arange(int(seconds * RATE)) / RATE
    stems = {"low": 0.3 * np.sin(2 * np.pi * 110 * t), "high": 0.2 * np.sin(2 * np.pi * 2000 * t)}
    return {name: w.astype(np.float32)[:, None] for name, w in stems.items()}


def valid_audio() -> bytes:
    return wav_bytes(sum(tone_stems().values()), RATE)


def valid_stems() -> dict[str, bytes]:
    return {name: wav_bytes(w, RATE) for name, w in tone_stems().items()}


def valid_request(**overrides) -> dict:
    request = {"tagger": {"url": TAGGER_URL, "sample_rate": RATE}, "separator": "provided", "segments": 2,
               "samples": 64, "targets": {"top_k": 1}}
    request.update(overrides)
    return request


def post(api: Api, audio=valid_audio, request=valid_request, stems=valid_stems, **kwargs):
    """POST /explanations. Each argument is a value, a callable giving the valid one, or None to leave
    the part out; `request` may also be a str (sent as is, e.g. malformed JSON)."""
    audio, request, stems = (part() if callable(part) else part for part in (audio, request, stems))
    files = {}
    if audio is not None:
        files["audio"] = ("clip.wav", audio, "audio/wav")
    if request is not None:
        text = request if isinstance(request, str) else json.dumps(request)
        files["request"] = ("request.json", text, "application/json")
    for name, data in (stems or {}).items():
        files[f"stem.{name}"] = (f"{name}.wav", data, "audio/wav")
    return api.call("POST", "/explanations", files=files, **kwargs)


def assert_problem(response, status: int, *details: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"]
    for fragment in details:
        assert fragment in body["detail"], f"{fragment!r} not in detail {body['detail']!r}"
    return body


@pytest.fixture
def connection(settings):
    return redis.Redis.from_url(settings.redis_url)


@pytest.fixture
def queued(settings):
    """The runs waiting, over every key's queue."""
    return lambda: queued_runs(settings)


@pytest.fixture
def nothing_queued(settings, connection, queued):
    """Check that no run was queued, no job stored, and the caller's listing is empty."""
    def check(api: Api, key: str | None = "default") -> None:
        assert queued() == []
        assert connection.keys(f"{settings.key_prefix}:job:*") == []
        listing = api.call("GET", "/explanations", key=key)
        assert listing.status_code == 200, listing.text
        assert listing.json()["total"] == 0 and listing.json()["items"] == []
    return check




# -- the audio ---------------------------------------------------------------------------------

def random_bytes() -> bytes:
    return np.random.default_rng(0).bytes(20_000)


def truncated_wav() -> bytes:
    data = valid_audio()
    return data[: len(data) // 2]


@pytest.mark.parametrize(("audio", "details"), [
    pytest.param(random_bytes, ["not a readable audio file"], id="not-audio"),
    pytest.param(truncated_wav, ["truncated", "data chunk declares"], id="truncated-wav"),
    pytest.param(b"", ["empty", "zero bytes"], id="zero-length"),
])
def test_bad_audio_is_422(api, nothing_queued, audio, details):
    assert_problem(post(api, audio=audio), 422, *details)
    nothing_queued(api)


def test_audio_over_the_duration_limit_is_422(serve, nothing_queued):
    short = serve(max_duration_seconds=1.0)
    assert_problem(post(short), 422, f"the audio is {SECONDS:.1f} s long", "at most 1 s")
    nothing_queued(short)


def test_upload_over_the_size_limit_is_413(serve, nothing_queued):
    small = serve(max_upload_bytes=10_000)
    assert len(valid_audio()) > 10_000
    assert_problem(post(small), 413, "at most 10,000 bytes", "bytes were sent")
    nothing_queued(small)


@pytest.fixture(scope="session")
def long(tmp_path_factory):
    return long_audio(tmp_path_factory)


@pytest.mark.parametrize(("case", "title", "details"), [
    pytest.param("twenty_minutes", "Over a limit", ["the audio is 1200.0 s long", "at most 600 s"], id="20-minutes"),
    pytest.param("three_hours", "Over a limit", ["the audio is 10800.0 s long", "at most 600 s"], id="3-hours"),
    pytest.param("lying", "Invalid audio", ["holds more than the 80000 frames (10.0 s) its header promises"],
                 id="header-says-10-s-of-3-hours"),
    pytest.param("unknown_length", "Over a limit", ["longer than 600 s", "header does not say how long"],
                 id="unknown-length-3-hours"),
])
def test_long_audio_in_a_small_file_is_422(api, nothing_queued, long, case, title, details):
    audio = getattr(long, case)
    assert len(audio) < 300_000
    assert assert_problem(post(api, audio=audio), 422, *details)["title"] == title
    nothing_queued(api)


def one_sample() -> bytes:
    return wav_bytes(np.full((1, 1), 0.5, dtype=np.float32), RATE)


def test_audio_under_the_minimum_duration_is_422(api, nothing_queued):
    response = post(api, audio=one_sample, stems={"low": one_sample()}, request=valid_request(segments=1))
    assert_problem(response, 422, "the audio is 0.000125 s long", "at least 1 s")
    nothing_queued(api)


def test_the_minimum_duration_is_a_setting(serve, nothing_queued):
    longer = serve(min_duration_seconds=3.0)
    assert_problem(post(longer), 422, f"the audio is {SECONDS:g} s long", "at least 3 s")
    nothing_queued(longer)


@pytest.mark.parametrize(("audio", "details"), [
    pytest.param(lambda: wav_bytes(np.zeros((2 * 192000, 1), np.float32), 192000), ["192000 Hz", "at most 96000"],
                 id="sample-rate-over-the-limit"),
    pytest.param(lambda: wav_bytes(np.zeros((2 * RATE, 4), np.float32), RATE), ["4 channels", "mono or stereo"],
                 id="four-channels"),
])
def test_rates_and_channels_beyond_what_a_worker_should_hold_are_422(api, nothing_queued, audio, details):
    assert_problem(post(api, audio=audio, stems=None, request=valid_request(separator="spleeter:2stems")),
                   422, *details)
    nothing_queued(api)


# -- the multipart structure ----------------------------------------------------------------

@pytest.mark.parametrize(("parts", "status", "details"), [
    pytest.param({"audio": None}, 400, ["`audio`", "required"], id="missing-audio"),
    pytest.param({"request": None}, 400, ["`request`", "required"], id="missing-request"),
    pytest.param({"request": '{"tagger": {"url": '}, 400, ["not valid JSON"], id="malformed-json"),
    pytest.param({"request": "[1, 2]"}, 400, ["must be a JSON object"], id="json-not-an-object"),
])
def test_bad_multipart_parts(api, nothing_queued, parts, status, details):
    assert_problem(post(api, **parts), status, *details)
    nothing_queued(api)


def nested(depth: int) -> str:
    """A request whose deepest value is `depth` objects and arrays down (the request object is 1)."""
    return json.dumps(valid_request(deep=None)).replace("null", "[" * (depth - 1) + "]" * (depth - 1))


@pytest.mark.parametrize("request_text", [
    pytest.param("[" * 100_000 + "]" * 100_000, id="100000-deep"),
    pytest.param(nested(33), id="33-deep"),
])
def test_json_nested_too_deeply_is_400(api, nothing_queued, request_text):
    assert_problem(post(api, request=request_text), 400, "nested too deeply", "at most 32 levels")
    nothing_queued(api)


def test_json_32_deep_is_read(api, nothing_queued):
    assert_problem(post(api, request=nested(32)), 400, "unknown request fields ['deep']")
    nothing_queued(api)


def test_json_body_instead_of_multipart_is_415(api, nothing_queued):
    response = api.call("POST", "/explanations", json=valid_request())
    assert_problem(response, 415, "multipart/form-data")
    nothing_queued(api)


# -- the request's fields -------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "details"), [
    pytest.param({"separator": "demucs"}, ["unknown separator 'demucs'", "spleeter:2stems", "spleeter:4stems",
                                           "spleeter:5stems", "provided"], id="unknown-separator"),
    pytest.param({"samples": 0}, ["samples must be a positive integer, got 0"], id="samples-zero"),
    pytest.param({"samples": -5}, ["samples must be a positive integer, got -5"], id="samples-negative"),
    pytest.param({"colour": "blue"}, ["unknown request fields ['colour']", "known:"], id="unknown-field"),
    pytest.param({"surrogate": {"feature_selection": "shap"}}, ["unknown feature selection 'shap'", "lasso_path"],
                 id="unknown-feature-selection"),
    pytest.param({"tagger": {"url": "ftp://127.0.0.1/predict"}}, ["scheme 'ftp'", "only http and https"],
                 id="ftp-url"),
    pytest.param({"tagger": {"url": "file:///etc/passwd"}}, ["scheme 'file'", "only http and https"],
                 id="file-url"),
    pytest.param({"tagger": {"url": "http://169.254.169.254/latest/meta-data"}},
                 ["refused address", "169.254.169.254", "cloud metadata"], id="metadata-address"),
    pytest.param({"tagger": {"url": "http://10.0.0.1/"}}, ["refused address", "10.0.0.1", "private"],
                 id="private-address"),
])
def test_bad_request_fields_are_400(api, nothing_queued, overrides, details):
    assert_problem(post(api, request=valid_request(**overrides)), 400, *details)
    nothing_queued(api)


def test_samples_over_the_limit_is_422(api, settings, nothing_queued):
    over = settings.max_samples + 1
    response = post(api, request=valid_request(samples=over))
    assert_problem(response, 422, f"samples is {over}", f"limit of {settings.max_samples}")
    nothing_queued(api)


# -- provided stems ---------------------------------------------------------------------------

def mismatched_stems() -> dict[str, bytes]:
    stems = valid_stems()
    stems["high"] = wav_bytes(tone_stems(SECONDS / 2)["high"], RATE)
    return stems


@pytest.mark.parametrize(("stems", "details"), [
    pytest.param(mismatched_stems, ["stem 'stem.high'", f"{int(SECONDS * RATE) // 2} frames",
                                    "must match it exactly"], id="mismatched-length"),
    pytest.param(None, ["separator 'provided' needs at least one stem", "stem.<name>"], id="no-stems"),
])
def test_bad_provided_stems_are_422(api, nothing_queued, stems, details):
    assert_problem(post(api, stems=stems), 422, *details)
    nothing_queued(api)


@pytest.mark.parametrize("name", ["", "x" * 65, "lead vocals", "a/b", "vocals.wav", "vocałs"],
                         ids=["empty", "65-characters", "space", "slash", "dot", "non-ascii"])
def test_a_stem_name_outside_letters_digits_underscore_dash_is_422(api, nothing_queued, name):
    stems = {name: valid_stems()["low"], "high": valid_stems()["high"]}
    assert_problem(post(api, stems=stems), 422, f"stem part 'stem.{name}'", "1 to 64 letters, digits, `_` or `-`")
    nothing_queued(api)


def test_stem_names_of_64_letters_digits_underscores_and_dashes_are_taken(api, queued):
    stems = valid_stems()
    response = post(api, stems={"Lead_vocals-2": stems["low"], "x" * 64: stems["high"]})
    assert response.status_code == 202, response.text
    assert len(queued()) == 1


@pytest.mark.parametrize(("case", "details"), [
    pytest.param("lying", ["stem 'stem.low'", "holds more than the 80000 frames"], id="header-says-10-s-of-3-hours"),
    pytest.param("unknown_length", ["stem 'stem.low'", "longer than 600 s"], id="unknown-length-3-hours"),
    pytest.param("twenty_minutes", ["stem 'stem.low'", "the audio is 1200.0 s long"], id="20-minutes"),
])
def test_long_stems_in_small_files_are_422(api, nothing_queued, long, case, details):
    stems = {"low": getattr(long, case), "high": valid_stems()["high"]}
    assert_problem(post(api, stems=stems), 422, *details)
    nothing_queued(api)


# -- a separation model the server does not have ------------------------------------------------

def test_a_missing_separation_model_is_named_without_the_servers_folder(serve, nothing_queued, tmp_path):
    empty = tmp_path / "no-models-here"
    bare = serve(model_dir=empty)
    body = assert_problem(post(bare, request=valid_request(separator="spleeter:2stems"), stems=None), 422,
                          "spleeter model '2stems' is missing", "the operator must build it", "make models")
    assert body["title"] == "Separator not available"
    assert str(tmp_path) not in body["detail"] and "no-models-here" not in body["detail"]
    nothing_queued(bare)
    health = bare.call("GET", "/healthz")
    assert health.status_code == 503 and "'2stems' is missing" in health.json()["checks"]["model"]
    assert str(tmp_path) not in health.text


# -- API keys and ownership -----------------------------------------------------------------

@pytest.mark.parametrize(("key", "details"), [
    pytest.param(None, ["Authorization: Bearer <key>"], id="missing-key"),
    pytest.param("key-c", ["API key is not valid"], id="wrong-key"),
])
def test_missing_or_wrong_api_key_is_401(serve, nothing_queued, key, details):
    keyed = serve(api_keys=AUTH_KEYS)
    response = post(keyed, key=key)
    assert_problem(response, 401, *details)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(keyed.call("GET", "/explanations", key=key), 401, *details)
    nothing_queued(keyed, key="key-a")


def test_a_valid_api_key_is_accepted(serve, queued):
    keyed = serve(api_keys=AUTH_KEYS)
    response = post(keyed, key="key-a")
    assert response.status_code == 202, response.text
    assert len(queued()) == 1


def test_another_keys_job_is_404(serve):
    keyed = serve(api_keys=AUTH_KEYS)
    job_id = post(keyed, key="key-a").json()["id"]
    for method, path in [("GET", f"/explanations/{job_id}"), ("DELETE", f"/explanations/{job_id}"),
                         ("GET", f"/explanations/{job_id}/sources/low")]:
        assert_problem(keyed.call(method, path, key="key-b"), 404, f"no explanation {job_id!r} for this API key")
    assert keyed.call("GET", "/explanations", key="key-b").json()["total"] == 0
    assert keyed.call("GET", f"/explanations/{job_id}", key="key-a").json()["stage"] == "queued"
    assert [i["id"] for i in keyed.call("GET", "/explanations", key="key-a").json()["items"]] == [job_id]
    assert keyed.call("GET", f"/explanations/{job_id}/sources/low", key="key-a").status_code == 200


# -- reading --------------------------------------------------------------------------------------

def test_non_integer_limit_is_400(api):
    assert_problem(api.call("GET", "/explanations", params={"limit": "abc"}), 400,
                   "`limit` must be an integer, got 'abc'")


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_unknown_job_is_404(api, method):
    assert_problem(api.call(method, "/explanations/no-such-job"), 404, "no explanation 'no-such-job'")


# -- values only the audio can judge, still refused before queueing ---------------------------

@pytest.mark.parametrize(("overrides", "details"), [
    pytest.param({"tagger": {"url": 5}}, ["url"], id="url-not-a-string"),
    pytest.param({"segments": 0}, ["segment"], id="segments-zero"),
    pytest.param({"segments": [5.0]}, ["segment boundaries"], id="boundary-past-the-end"),
    pytest.param({"segments": [1.0, 1.0]}, ["segment boundaries"], id="boundaries-not-increasing"),
    pytest.param({"fade_seconds": 5}, ["fade"], id="fade-over-0.1"),
    pytest.param({"samples": 1}, ["samples"], id="samples-one"),
    pytest.param({"surrogate": {"alpha": float("inf")}}, ["JSON"], id="alpha-infinity"),
])
def test_values_the_engine_refuses_are_400_at_submission(api, nothing_queued, overrides, details):
    assert_problem(post(api, request=valid_request(**overrides)), 400, *details)
    nothing_queued(api)


def test_audio_at_an_unsupported_sample_rate_is_422(api, nothing_queued):
    silence = np.zeros((200, 1), dtype=np.float32)
    response = post(api, audio=wav_bytes(silence, 100), stems={"low": wav_bytes(silence, 100)})
    assert_problem(response, 422, "sample_rate", "100")
    nothing_queued(api)


def test_an_overlong_id_is_404_without_echoing_it(api):
    long_id = "a" * 3000
    body = assert_problem(api.call("GET", f"/explanations/{long_id}"), 404, "32 hexadecimal characters")
    assert len(body["detail"]) < 200
