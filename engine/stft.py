"""The short-time Fourier transform the spectral separators share (HPSS, SLIME's bands)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import istft, stft

WINDOW_SECONDS = 2048 / 44100  # a 2048-sample Hann window at 44.1 kHz, the same duration at every rate


@dataclass(frozen=True)
class Stft:
    """A Hann STFT with hop = window / 4: the windows overlap-add to a constant, so it inverts exactly."""

    length: int  # window length in samples, a multiple of 4
    sample_rate: int

    @classmethod
    def at(cls, sample_rate: int, seconds: float = WINDOW_SECONDS) -> "Stft":
        return cls(max(16, 4 * round(seconds * sample_rate / 4)), sample_rate)

    @property
    def hop(self) -> int:
        return self.length // 4

    @property
    def bin_hz(self) -> float:
        return self.sample_rate / self.length

    def frequencies(self) -> np.ndarray:
        return np.arange(self.length // 2 + 1) * self.bin_hz

    def forward(self, waveform: np.ndarray) -> np.ndarray:
        """(samples, channels) → complex (channels, bins, frames), in float64 so the round trip stays exact."""
        signal = waveform.T.astype(np.float64)
        if signal.shape[1] < self.length:  # scipy would shorten the window instead; `inverse` cuts the zeros off
            signal = np.pad(signal, ((0, 0), (0, self.length - signal.shape[1])))
        _, _, spectra = stft(signal, window="hann", nperseg=self.length,
                             noverlap=self.length - self.hop, boundary="zeros", padded=True)
        return spectra

    def inverse(self, spectra: np.ndarray, n_samples: int) -> np.ndarray:
        """complex (channels, bins, frames) → float32 (samples, channels), cut to `n_samples`."""
        _, signal = istft(spectra, window="hann", nperseg=self.length, noverlap=self.length - self.hop,
                          boundary=True)
        return np.ascontiguousarray(signal[:, :n_samples].T, dtype=np.float32)
