"""Harmonic/percussive separation by median filtering (Fitzgerald 2010), as a Separator.

A tone is a horizontal ridge in the magnitude spectrogram, a click a vertical
one. A median along time keeps ridges that last (harmonic) and drops short ones;
a median along frequency keeps what is flat across bins (percussive). Each
median becomes a soft (Wiener) mask of the other, as in `librosa.decompose.hpss`,
with Driedger et al.'s (ISMIR 2014) margins: a margin above 1 leaves bins that
are clearly neither to a third source, `remainder` (not "residual", a name the
engine keeps for mixture − Σ sources). The masks sum to one in every bin, so
the sources sum to the mixture up to the STFT round trip and float32 rounding
(measured below 1e-7 RMS of the mixture; tests hold it to 1e-6).

Why not librosa: this is about 40 lines of scipy, while librosa brings numba
and llvmlite (a compiler toolchain) into a package that must stay pure numpy,
scipy and scikit-learn, importable anywhere the engine is.

Kernels are given in seconds and hertz and the STFT window lasts the same time
at every rate (2048/512 samples at 44.1 kHz), so an option means the same at
every sample rate; the defaults are librosa's 31 × 31 at 44.1 kHz.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter
from scipy.special import expit

from .audio import as_waveform, check_sample_rate
from .errors import InvalidOptionError
from .sources import Sources
from .stft import Stft

HARMONIC_SECONDS = 0.36  # 31 hops of 512 samples at 44.1 kHz
PERCUSSIVE_HZ = 670.0  # 31 bins of 21.5 Hz at 44.1 kHz
MIN_KERNEL = 3  # a median over one frame or bin filters nothing
HARMONIC, PERCUSSIVE, REMAINDER = "harmonic", "percussive", "remainder"


@dataclass(frozen=True)
class HPSS:
    """Sources `harmonic` and `percussive`, plus `remainder` when a margin is above 1."""

    harmonic_seconds: float = HARMONIC_SECONDS  # time span of the harmonic (horizontal) median
    percussive_hz: float = PERCUSSIVE_HZ  # frequency span of the percussive (vertical) median
    margin: float | tuple[float, float] = 1.0  # one for both, or (harmonic, percussive)
    power: float = 2.0  # the Wiener exponent; math.inf gives hard (binary) masks

    def __post_init__(self):
        _check_number("harmonic_seconds", self.harmonic_seconds, above=0.0)
        _check_number("percussive_hz", self.percussive_hz, above=0.0)
        margins = self.margin if isinstance(self.margin, (tuple, list)) else (self.margin, self.margin)
        if len(margins) != 2:
            raise InvalidOptionError(f"margin must be a number or (harmonic, percussive), got {self.margin!r}")
        for name, value in zip(("harmonic margin", "percussive margin"), margins):
            _check_number(name, value, at_least=1.0)
        object.__setattr__(self, "margin", tuple(float(m) for m in margins))
        _check_number("power", self.power, above=0.0, infinite=True)

    @property
    def source_names(self) -> tuple[str, ...]:
        return (HARMONIC, PERCUSSIVE) if self._two_sources else (HARMONIC, PERCUSSIVE, REMAINDER)

    @property
    def model_id(self) -> str:
        """Names every option (it keys the separation cache); the STFT window is fixed."""
        margin_h, margin_p = self.margin
        margin = _text(margin_h) if margin_h == margin_p else f"{_text(margin_h)}x{_text(margin_p)}"
        return (f"hpss:k{_text(self.harmonic_seconds)}sx{_text(self.percussive_hz)}Hz"
                f":m{margin}:p{_text(self.power)}")

    @property
    def _two_sources(self) -> bool:
        return self.margin == (1.0, 1.0)

    def kernels(self, grid: Stft) -> tuple[int, int]:
        """(frames, bins) of the two medians at this STFT's rate: odd, so centred on their bin."""
        frames = _odd(self.harmonic_seconds * grid.sample_rate / grid.hop)
        bins = _odd(self.percussive_hz / grid.bin_hz)
        for name, size, unit in (("harmonic_seconds", frames, "frames"), ("percussive_hz", bins, "bins")):
            if size < MIN_KERNEL:
                raise InvalidOptionError(f"{name} spans fewer than {MIN_KERNEL} STFT {unit} at "
                                         f"{grid.sample_rate} Hz (a frame is {grid.hop / grid.sample_rate:.4f} s, "
                                         f"a bin {grid.bin_hz:.1f} Hz)")
        return frames, bins

    def check(self, sample_rate: int) -> None:
        """Raise InvalidOptionError if the kernels are too narrow at this rate (before queueing a job)."""
        self.kernels(Stft.at(check_sample_rate(sample_rate)))

    def masks(self, magnitude: np.ndarray, grid: Stft) -> list[np.ndarray]:
        """One mask per source over (channels, bins, frames); they sum to one in every bin."""
        frames, bins = self.kernels(grid)
        harmonic = _median(magnitude, frames, axis=-1)  # along time: what lasts
        percussive = _median(magnitude, bins, axis=-2)  # along frequency: what is broadband
        margin_h, margin_p = self.margin
        if self._two_sources:
            harmonic_mask = _soft_mask(harmonic, percussive, self.power, tie=0.5)
            return [harmonic_mask, 1.0 - harmonic_mask]  # one minus the other: the sum is one by construction
        harmonic_mask = _soft_mask(harmonic, margin_h * percussive, self.power, tie=0.0)
        percussive_mask = _soft_mask(percussive, margin_p * harmonic, self.power, tie=0.0)
        # Each margin only shrinks its mask, so the remainder lies in [0, 1]; unclipped, so the sum stays one.
        return [harmonic_mask, percussive_mask, 1.0 - harmonic_mask - percussive_mask]

    def separate(self, waveform: np.ndarray, sample_rate: int) -> Sources:
        waveform = as_waveform(waveform)
        grid = Stft.at(check_sample_rate(sample_rate))
        spectra = grid.forward(waveform)
        masks = self.masks(np.abs(spectra).astype(np.float32), grid)  # float32 medians: half the time
        stems = [grid.inverse(mask * spectra, len(waveform)) for mask in masks]
        return Sources(self.source_names, np.stack(stems), grid.sample_rate)


def _soft_mask(target: np.ndarray, reference: np.ndarray, power: float, tie: float) -> np.ndarray:
    """target^p / (target^p + reference^p), as librosa.util.softmask, computed in logs so no power overflows.

    Where both are zero (or equal under a hard mask) the ratio is undefined: `tie` says what the target gets.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(target, dtype=np.float64) - np.log(reference, dtype=np.float64)
        mask = expit(power * log_ratio)
    mask[np.isnan(mask)] = tie
    return mask


def _median(magnitude: np.ndarray, size: int, axis: int) -> np.ndarray:
    """A running median along one axis, row by row.

    scipy's 1-D median filter is about ten times faster than the n-D one with a (1, …, size) footprint, and
    gives the same numbers. mode="reflect", as librosa: a tone that runs to the clip's edge stays harmonic there.
    """
    moved = np.ascontiguousarray(np.moveaxis(magnitude, axis, -1))
    rows = moved.reshape(-1, moved.shape[-1])
    filtered = np.empty_like(rows)
    for i, row in enumerate(rows):
        filtered[i] = median_filter(row, size=size, mode="reflect")
    return np.moveaxis(filtered.reshape(moved.shape), -1, axis)


def _odd(span: float) -> int:
    return 2 * int(round((span - 1) / 2)) + 1


def _text(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:g}"


def _check_number(name: str, value, *, above: float | None = None, at_least: float | None = None,
                  infinite: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) \
            or (math.isinf(value) and not infinite):
        kind = "a number (or infinity)" if infinite else "a finite number"
        raise InvalidOptionError(f"{name} must be {kind}, got {value!r}")
    if above is not None and not value > above:
        raise InvalidOptionError(f"{name} must be above {above:g}, got {value!r}")
    if at_least is not None and not value >= at_least:
        raise InvalidOptionError(f"{name} must be at least {at_least:g}, got {value!r}")
