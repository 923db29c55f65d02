"""Waveform checks and conversions shared by every stage.

A waveform here is always float32 with shape (samples, channels).
"""
from __future__ import annotations

import hashlib
from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy.signal import firwin, kaiserord, resample_poly

from .errors import InvalidAudioError, InvalidOptionError

PASS_BAND = 0.913  # of the lower Nyquist frequency, as soxr HQ
STOP_BAND_DB = 120.0


def as_waveform(data, what: str = "audio") -> np.ndarray:
    """Return `data` as a finite float32 (samples, channels) array, or raise."""
    waveform = np.asarray(data)
    if waveform.dtype.kind not in "fiu":
        raise InvalidAudioError(f"{what} must hold numbers, got dtype {waveform.dtype}")
    if waveform.ndim == 1:
        waveform = waveform[:, np.newaxis]
    if waveform.ndim != 2:
        raise InvalidAudioError(
            f"{what} must have shape (samples,) or (samples, channels), got {waveform.shape}"
        )
    if waveform.shape[0] == 0:
        raise InvalidAudioError(f"{what} is empty (zero samples)")
    if not 1 <= waveform.shape[1] <= 8:
        raise InvalidAudioError(
            f"{what} has {waveform.shape[1]} channels; expected 1 to 8 "
            "(pass (samples, channels), not (channels, samples))"
        )
    waveform = np.ascontiguousarray(waveform, dtype=np.float32)
    if not np.all(np.isfinite(waveform)):
        raise InvalidAudioError(f"{what} contains NaN or infinite samples")
    return waveform


def check_sample_rate(sample_rate) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise InvalidOptionError(f"sample_rate must be an integer, got {sample_rate!r}")
    if not 1000 <= sample_rate <= 384_000:
        raise InvalidOptionError(f"sample_rate must be 1000..384000 Hz, got {sample_rate}")
    return int(sample_rate)


def resample(waveform: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling along the samples axis; a no-op for equal rates.

    The low-pass is as steep as soxr's HQ (librosa's default, so what most taggers
    were trained on): flat to 0.913 of the lower Nyquist, 120 dB down at it. scipy's
    default filter leaves the band just below Nyquist only ~70 dB down, and a log-mel
    tagger hears that in its top bands (musicnn's scores move by up to 0.05).
    """
    if from_rate == to_rate:
        return waveform
    ratio = Fraction(to_rate, from_rate)
    axis = 0 if waveform.ndim == 1 else -2
    out = resample_poly(waveform, ratio.numerator, ratio.denominator, axis=axis,
                        window=_lowpass(ratio.numerator, ratio.denominator))
    return out.astype(np.float32, copy=False)


@lru_cache(maxsize=16)
def _lowpass(up: int, down: int) -> np.ndarray:
    rate = 2.0 * max(up, down)  # the upsampled rate, in units where the lower Nyquist is 1
    pass_end, stop = PASS_BAND, 1.0
    taps, beta = kaiserord(STOP_BAND_DB, (stop - pass_end) / (rate / 2))
    return firwin(taps | 1, (pass_end + stop) / 2, window=("kaiser", beta), fs=rate)


def resampled_length(n_samples: int, from_rate: int, to_rate: int) -> int:
    ratio = Fraction(to_rate, from_rate)
    return -(-n_samples * ratio.numerator // ratio.denominator)


def to_channels(waveform: np.ndarray, channels: int) -> np.ndarray:
    """Down-mix by averaging or up-mix by repeating; works on (..., samples, channels)."""
    have = waveform.shape[-1]
    if have == channels:
        return waveform
    if channels == 1:
        return waveform.mean(axis=-1, keepdims=True, dtype=np.float32)
    if have == 1:
        return np.repeat(waveform, channels, axis=-1)
    raise InvalidOptionError(f"cannot convert {have} channels to {channels}; use 1 or {have}")


def content_hash(waveform: np.ndarray, sample_rate: int) -> str:
    """A stable id of the audio content, for caching separations."""
    digest = hashlib.sha256()
    digest.update(f"{sample_rate}:{waveform.shape}:".encode())
    digest.update(np.ascontiguousarray(waveform, dtype=np.float32).tobytes())
    return digest.hexdigest()


def energy_db(signal: np.ndarray, reference: np.ndarray) -> float:
    """Energy of `signal` relative to `reference`, in dB."""
    reference_energy = float(np.sum(np.square(reference, dtype=np.float64)))
    signal_energy = float(np.sum(np.square(signal, dtype=np.float64)))
    if reference_energy == 0.0:
        return float("-inf") if signal_energy == 0.0 else float("inf")
    return 10.0 * np.log10(max(signal_energy, 1e-30) / reference_energy)
