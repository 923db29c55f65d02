"""The `request` part the client sends: only what was set, secrets kept out of sight."""
import pytest

from audiolime_client.settings import TaggerSettings, explanation_request


def test_unset_fields_are_not_sent_so_the_service_defaults_apply():
    assert explanation_request("http://t/predict") == {"tagger": {"url": "http://t/predict", "protocol": "json"}}


def test_every_field_goes_where_openapi_says():
    tagger = TaggerSettings(url="http://t:8602", protocol="oip", options={"model": "MSD_musicnn", "binary": True},
                            headers={"X-Key": "k"}, sample_rate=16000, channels=1, encoding="flac",
                            input_seconds=3.0, input_policy="window", batch_size=4, concurrency=2, max_rps=5.0,
                            connect_timeout=2.0, read_timeout=30.0, retries=1)
    body = explanation_request(tagger, separator="spleeter:2stems", segments=[2.5, 5.0], samples=256, seed=3,
                               top_k=3, residual=True, fade_seconds=0.01, surrogate={"alpha": 0.5}, self_check_k=2)
    assert body == {
        "tagger": {"url": "http://t:8602", "protocol": "oip", "options": {"model": "MSD_musicnn", "binary": True},
                   "headers": {"X-Key": "k"}, "sample_rate": 16000, "channels": 1, "encoding": "flac",
                   "input_seconds": 3.0, "input_policy": "window", "batch_size": 4, "concurrency": 2,
                   "max_rps": 5.0, "connect_timeout": 2.0, "read_timeout": 30.0, "retries": 1},
        "separator": "spleeter:2stems", "segments": [2.5, 5.0], "samples": 256, "seed": 3, "residual": True,
        "fade_seconds": 0.01, "targets": {"top_k": 3}, "surrogate": {"alpha": 0.5}, "self_check_k": 2}


def test_tags_and_tagger_as_a_dict():
    body = explanation_request({"url": "http://t/p", "sample_rate": 8000}, tags="rock", segments=5)
    assert body["targets"] == {"tags": ["rock"]} and body["segments"] == 5 and body["tagger"]["sample_rate"] == 8000


def test_headers_never_show_in_repr():
    assert "s3cr3t" not in repr(TaggerSettings(url="http://t/p", headers={"Authorization": "Bearer s3cr3t"}))


@pytest.mark.parametrize(("tagger", "message"), [
    ({"url": "http://t/p", "protocl": "json"}, "unknown tagger settings"),
    ({"url": "http://t/p", "encoding": "mp3"}, "encoding must be one of"),
    ({"url": "http://t/p", "input_policy": "loop"}, "input_policy must be one of"),
])
def test_mistakes_are_caught_before_sending(tagger, message):
    with pytest.raises(ValueError, match=message):
        explanation_request(tagger)


def test_unknown_separator_is_refused():
    with pytest.raises(ValueError, match="separator must be one of"):
        explanation_request("http://t/p", separator="demucs")
