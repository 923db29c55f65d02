"""`make run` refuses to expose an API without keys."""
from scripts.stack import main


def test_refuses_a_public_bind_without_api_keys(monkeypatch, capsys):
    monkeypatch.delenv("AUDIOLIME_API_KEYS", raising=False)
    monkeypatch.delenv("AUDIOLIME_API_KEYS_FILE", raising=False)
    assert main(["--host", "0.0.0.0"]) == 2
    assert "refusing to bind 0.0.0.0: no API keys are configured" in capsys.readouterr().err
