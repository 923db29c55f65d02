"""Reuse through the real stack (issue 17, part 1): kept answers stand in for tagger calls only when
they come from the same tagger, called the same way, still answering the same."""
import dataclasses
from types import SimpleNamespace

import pytest
import requests

from tests.integration.harness import start_server, start_worker
from tests.integration.test_explain_end_to_end import submit_tones
from worker.reuse import SPOT_CHECKS


@pytest.fixture
def settings(settings):
    """The conftest's settings, with the secret that lets jobs with tagger headers share answers."""
    return dataclasses.replace(settings, reuse_secret="the-reuse-secret-of-these-tests")


@pytest.fixture
def variants(processes):
    """tests/servers/variants.py: answers times X-Variant and times its model version."""
    return start_server(processes, "variants")


def explain(api, base: str, headers: dict | None = None, **overrides) -> dict:
    """One finished explanation of the tone stems by the variants tagger."""
    server = SimpleNamespace(url=base + "/predict")
    tagger = {"url": server.url, "sample_rate": 16000, "batch_size": 32, "headers": headers or {}}
    body = api.wait(submit_tones(api, server, tagger=tagger, samples=128, **overrides).json()["id"])
    assert body["stage"] == "finished", body["error"]
    return body["result"]


def clips(base: str) -> int:
    return requests.get(base, timeout=5).json()["clips"]


def test_other_headers_reuse_nothing_and_the_same_headers_again_reuse(api, worker, variants):
    first = explain(api, variants, {"X-Variant": "1"})
    other = explain(api, variants, {"X-Variant": "5"})
    assert other["stats"]["reused"] == 0 and other["stats"]["reuse"]["checked"] == 0
    assert tag(other, "low")["original_score"] == pytest.approx(5 * tag(first, "low")["original_score"], rel=1e-6)
    again = explain(api, variants, {"x-variant": "1"})  # header names are case-insensitive
    assert again["stats"]["reused"] > 0 and again["stats"]["reuse"]["discarded"] is False
    assert again["tags"] == first["tags"]


def test_a_tagger_that_answers_otherwise_now_has_its_kept_answers_discarded(api, worker, variants):
    first = explain(api, variants)
    requests.post(variants + "/version", json={"version": 2}, timeout=5).raise_for_status()
    asked_before = clips(variants)
    second = explain(api, variants)
    stats = second["stats"]
    assert stats["reused"] == 0 and stats.get("reuse", {}).get("discarded") is True, stats
    assert "answers differently now" in stats["reuse"]["reason"] and stats["reuse"]["checked"] >= 1
    assert clips(variants) - asked_before == stats["tagger_calls"]  # the answers asked again included
    assert tag(second, "low")["original_score"] == pytest.approx(2 * tag(first, "low")["original_score"], rel=1e-6)
    third = explain(api, variants)  # the new model's answers are kept and reused in their turn
    assert third["stats"]["reused"] > 0 and third["stats"]["reuse"]["discarded"] is False
    assert third["tags"] == second["tags"]


def test_an_unchanged_tagger_is_reused_and_explains_the_same(api, worker, variants):
    first = explain(api, variants)
    asked_before = clips(variants)
    second = explain(api, variants)
    stats = second["stats"]
    assert stats["reused"] > 0 and stats["reuse"] == {"checked": 1 + SPOT_CHECKS, "discarded": False, "reason": None}
    assert clips(variants) - asked_before == stats["tagger_calls"] >= stats["reuse"]["checked"]
    assert stats["tagger_calls"] + stats["reused"] == first["stats"]["tagger_calls"]
    assert second["tags"] == first["tags"] and second["components"] == first["components"]


def test_reuse_false_asks_every_mask_afresh(api, worker, variants):
    first = explain(api, variants)
    asked_before = clips(variants)
    second = explain(api, variants, reuse=False)
    stats = second["stats"]
    assert stats["reused"] == 0 and stats["reuse"]["checked"] == 0 and "turned reuse off" in stats["reuse"]["reason"]
    assert clips(variants) - asked_before == stats["tagger_calls"] == first["stats"]["tagger_calls"]


def test_without_a_secret_a_tagger_called_with_headers_shares_no_answers(api, processes, settings, variants):
    start_worker(processes, dataclasses.replace(settings, reuse_secret=""), f"{settings.key_prefix}-unkeyed")
    explain(api, variants, {"X-Variant": "1"})
    second = explain(api, variants, {"X-Variant": "1"})
    assert second["stats"]["reused"] == 0 and "AUDIOLIME_REUSE_SECRET" in second["stats"]["reuse"]["reason"]


def tag(result: dict, name: str) -> dict:
    return next(t for t in result["tags"] if t["tag"] == name)
