"""The musicnn server's --memo: a replayed answer is the model's answer to exactly those samples."""
from __future__ import annotations

import numpy as np

from taggers.musicnn.memo import Memo

LABELS = 4


class Model:
    """A deterministic stand-in for the model that counts the clips it was asked about."""

    def __init__(self):
        self.asked = 0

    def __call__(self, waveforms: np.ndarray) -> np.ndarray:
        self.asked += len(waveforms)
        return np.stack([[w.mean(), w.std(), w.max(), w.min()] for w in waveforms]).astype(np.float32)


def clips(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, 800)).astype(np.float32)


def test_only_new_clips_reach_the_model_and_the_answers_are_the_models(tmp_path):
    model, memo = Model(), Memo(tmp_path / "memo.bin", "MSD_musicnn", LABELS)
    first = memo.scores(clips(3), model)
    mixed = np.concatenate([clips(3)[1:], clips(2, seed=1)])
    again = memo.scores(mixed, model)
    assert model.asked == 5  # 3, then only the 2 new ones
    np.testing.assert_array_equal(again[:2], first[1:])
    np.testing.assert_array_equal(again, model(mixed))
    assert (memo.hits, memo.misses) == (2, 5)


def test_answers_survive_the_process_and_a_torn_last_record(tmp_path):
    path = tmp_path / "memo.bin"
    Memo(path, "MSD_musicnn", LABELS).scores(clips(3), Model())
    with open(path, "ab") as file:
        file.write(b"\x01" * 10)  # a run killed while writing
    model, memo = Model(), Memo(path, "MSD_musicnn", LABELS)
    assert len(memo) == 3
    memo.scores(clips(3), model)
    assert model.asked == 0
    memo.scores(clips(1, seed=2), model)
    assert len(Memo(path, "MSD_musicnn", LABELS)) == 4  # appended after the last whole record


def test_one_bit_or_another_model_is_a_miss(tmp_path):
    model, memo = Model(), Memo(tmp_path / "memo.bin", "MSD_musicnn", LABELS)
    waveforms = clips(1)
    memo.scores(waveforms, model)
    flipped = waveforms.copy()
    flipped.view(np.uint32)[0, 0] ^= 1
    memo.scores(flipped, model)
    assert model.asked == 2
    other = Memo(tmp_path / "memo.bin", "MTT_musicnn", LABELS)
    other.scores(waveforms, model)
    assert model.asked == 3
