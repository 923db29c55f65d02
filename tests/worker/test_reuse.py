"""worker.reuse: which kept answers are asked again, and when they no longer hold."""
import numpy as np

from engine.mixing import Off
from engine.perturbations import answer_key
from engine.tagger import Predictions
from worker.reuse import SPOT_CHECKS, TOLERANCE, headers_digest, keys_to_check, moved

N = 10
LABELS = ("low", "mid")


def kept_answers(count: int) -> dict[bytes, np.ndarray]:
    masks = np.random.default_rng(0).random((count, N)) < 0.5
    kept = {answer_key(m, Off.SILENCE): np.array([i, 2.0 * i]) for i, m in enumerate(masks)}
    original = np.ones(N, dtype=bool)
    kept[answer_key(original, Off.SILENCE)] = kept[answer_key(original, Off.CUT)] = np.array([1.0, 2.0])
    return kept


def test_the_original_mix_once_and_a_few_others_spread_over_the_kept_answers():
    kept = kept_answers(40)
    keys = keys_to_check(kept, N)
    assert keys[0] == answer_key(np.ones(N, dtype=bool), Off.SILENCE)
    assert len(keys) == 1 + SPOT_CHECKS == len(set(keys)) and set(keys) <= set(kept)
    assert keys == keys_to_check(dict(reversed(list(kept.items()))), N)  # the same whatever the order


def test_fewer_kept_answers_than_spot_checks_are_all_asked_again():
    kept = {answer_key(np.arange(N) < 3, Off.CUT): np.zeros(2)}
    assert keys_to_check(kept, N) == list(kept)


def test_answers_within_the_tolerance_hold_and_come_back_in_the_kept_order():
    kept = kept_answers(8)
    keys = keys_to_check(kept, N)
    now = np.stack([kept[k][::-1] for k in keys]) + TOLERANCE / 2
    aligned, reason = moved(kept, LABELS, keys, Predictions(LABELS[::-1], now))
    assert reason is None and aligned.labels == LABELS
    np.testing.assert_allclose(aligned.scores, np.stack([kept[k] for k in keys]), atol=TOLERANCE)


def test_one_answer_moved_beyond_the_tolerance_or_other_tags_discard_them():
    kept = kept_answers(8)
    keys = keys_to_check(kept, N)
    now = np.stack([kept[k] for k in keys])
    now[-1, 1] += 2 * TOLERANCE
    assert "'mid'" in moved(kept, LABELS, keys, Predictions(LABELS, now))[1]
    assert "tags changed" in moved(kept, LABELS, keys, Predictions(("low", "bass"), now))[1]


def test_headers_are_told_apart_by_a_keyed_digest_that_holds_no_value():
    digest = headers_digest({"X-Variant": "1", "Authorization": "Bearer abc"}, "secret")
    assert digest == headers_digest({"authorization": "Bearer abc", "x-variant": "1"}, "secret")
    assert digest != headers_digest({"X-Variant": "5", "Authorization": "Bearer abc"}, "secret")
    assert digest != headers_digest({"X-Variant": "1", "Authorization": "Bearer abc"}, "another secret")
    assert "abc" not in digest and headers_digest({}, "secret") is None
