"""Fitting mixes to a tagger's fixed input length, and scores back to mixes.

`crop`, `pad` and `crop_or_pad` send one instance per mix. `window` cuts each
mix into consecutive windows of the input length (the last one padded), sends
them all, and averages each mix's window scores — how short-input taggers
(a 3.69 s SampleCNN) score a whole clip.
"""
from __future__ import annotations

import numpy as np

from engine.errors import InvalidOptionError


def shape(mixes: np.ndarray, sample_rate: int, seconds: float | None, policy: str) -> tuple[np.ndarray, np.ndarray]:
    """(instances (M, length, channels), owner mix of each instance (M,))."""
    owners = np.arange(len(mixes))
    if policy == "none":
        return mixes, owners
    length = max(1, round(seconds * sample_rate))
    have = mixes.shape[1]
    if policy == "window":
        count = -(-have // length)
        padded = _fit(mixes, count * length)
        windows = padded.reshape(len(mixes), count, length, mixes.shape[2]).reshape(-1, length, mixes.shape[2])
        return windows, np.repeat(owners, count)
    if (policy == "crop" and have < length) or (policy == "pad" and have > length):
        raise InvalidOptionError(f"mixes are {have / sample_rate:.2f} s but the tagger takes {seconds} s; "
                                 f"input_policy {policy!r} cannot fit them (use crop_or_pad or window)")
    return _fit(mixes, length), owners


def merge(scores: np.ndarray, owners: np.ndarray, n_mixes: int) -> np.ndarray:
    """Mean score per mix over its instances."""
    if len(owners) == n_mixes:
        return scores
    sums = np.zeros((n_mixes, scores.shape[1]))
    np.add.at(sums, owners, scores)
    return sums / np.bincount(owners, minlength=n_mixes)[:, None]


def _fit(mixes: np.ndarray, length: int) -> np.ndarray:
    """Crop or zero-pad (at the end) to `length` samples."""
    if mixes.shape[1] >= length:
        return mixes[:, :length]
    padding = np.zeros((len(mixes), length - mixes.shape[1], mixes.shape[2]), dtype=mixes.dtype)
    return np.concatenate([mixes, padding], axis=1)
