"""Settings from AUDIOLIME_* variables: parsed by type, empty scalars ignored, overrides last."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InvalidOptionError
from backend.config import Settings


def test_no_variables_give_the_defaults():
    assert Settings.from_env({}) == Settings()


@pytest.mark.parametrize("variable, raw, name, value", [
    ("AUDIOLIME_REDIS_URL", "redis://cache:6380/2", "redis_url", "redis://cache:6380/2"),
    ("AUDIOLIME_RESULT_TTL", "60", "result_ttl", 60),
    ("AUDIOLIME_MAX_SAMPLES", "512", "max_samples", 512),
    ("AUDIOLIME_MAX_DURATION_SECONDS", "12.5", "max_duration_seconds", 12.5),
    ("AUDIOLIME_TAGGER_LOAD_WAIT", "90", "tagger_load_wait", 90.0),
    ("AUDIOLIME_MODEL_DIR", "/srv/models", "model_dir", Path("/srv/models")),
    ("AUDIOLIME_API_KEYS_FILE", "/etc/audiolime/keys", "api_keys_file", Path("/etc/audiolime/keys")),
    ("AUDIOLIME_API_KEYS", "alpha, beta,,gamma ", "api_keys", ("alpha", "beta", "gamma")),
    ("AUDIOLIME_PRELOAD_SEPARATORS", "spleeter:4stems", "preload_separators", ("spleeter:4stems",)),
    ("AUDIOLIME_TAGGER_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128", "tagger_allowed_networks",
     "127.0.0.0/8,::1/128"),
])
def test_variables_are_parsed_by_type(variable, raw, name, value):
    settings = Settings.from_env({variable: raw})
    assert getattr(settings, name) == value
    assert type(getattr(settings, name)) is type(value)
    assert settings == Settings(**{name: value})  # and nothing else changed


def test_empty_variables_are_ignored():
    settings = Settings.from_env({"AUDIOLIME_RESULT_TTL": "", "AUDIOLIME_MODEL_DIR": ""})
    assert settings == Settings()


def test_an_empty_list_variable_is_an_empty_list():
    settings = Settings.from_env({"AUDIOLIME_PRELOAD_SEPARATORS": "", "AUDIOLIME_API_KEYS": ""})
    assert settings.preload_separators == () and settings.api_keys == ()


def test_other_variables_are_ignored():
    settings = Settings.from_env({"RESULT_TTL": "1", "audiolime_result_ttl": "2", "AUDIOLIME_UNKNOWN": "3"})
    assert settings == Settings()


def test_overrides_win_over_the_environment():
    environ = {"AUDIOLIME_RESULT_TTL": "60", "AUDIOLIME_KEY_PREFIX": "prod"}
    settings = Settings.from_env(environ, result_ttl=5, lease_seconds=2)
    assert (settings.result_ttl, settings.lease_seconds, settings.key_prefix) == (5, 2, "prod")


def test_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("AUDIOLIME_QUEUE_NAME", "from-os-environ")
    assert Settings.from_env().queue_name == "from-os-environ"


@pytest.mark.parametrize("variable, raw", [
    ("AUDIOLIME_RESULT_TTL", "ten"),
    ("AUDIOLIME_LEASE_SECONDS", "1.5"),
    ("AUDIOLIME_MAX_DURATION_SECONDS", "long"),
])
def test_a_bad_number_names_the_variable(variable, raw):
    with pytest.raises(InvalidOptionError) as caught:
        Settings.from_env({variable: raw})
    assert variable in str(caught.value)
    assert repr(raw) in str(caught.value)


def test_auth_is_enabled_by_keys_or_a_key_file():
    assert not Settings().auth_enabled
    assert Settings.from_env({"AUDIOLIME_API_KEYS": "k1"}).auth_enabled
    assert Settings.from_env({"AUDIOLIME_API_KEYS_FILE": "/etc/keys"}).auth_enabled
    assert not Settings.from_env({"AUDIOLIME_API_KEYS": " , "}).auth_enabled
