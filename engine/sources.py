"""Sources: the C separated (or provided) stems of one mixture."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .audio import as_waveform, check_sample_rate, resample, to_channels
from .errors import InvalidSourcesError

RESIDUAL = "residual"


@dataclass(frozen=True, eq=False)
class Sources:
    names: tuple[str, ...]
    waveforms: np.ndarray  # (C, samples, channels) float32
    sample_rate: int

    def __post_init__(self):
        if len(self.names) != self.waveforms.shape[0]:
            raise InvalidSourcesError(f"{len(self.names)} names for {self.waveforms.shape[0]} sources")
        if len(set(self.names)) != len(self.names):
            raise InvalidSourcesError(f"source names must be unique, got {list(self.names)}")

    @classmethod
    def from_mapping(cls, stems: Mapping[str, np.ndarray], sample_rate: int) -> "Sources":
        """Check and stack named stems; all must share length and channel count."""
        if not stems:
            raise InvalidSourcesError("at least one source is needed")
        sample_rate = check_sample_rate(sample_rate)
        waveforms = [as_waveform(w, what=f"source {name!r}") for name, w in stems.items()]
        shapes = {name: w.shape for name, w in zip(stems, waveforms)}
        if len(set(shapes.values())) != 1:
            raise InvalidSourcesError(
                f"sources must all have the same (samples, channels) shape, got {shapes}"
            )
        return cls(tuple(stems), np.stack(waveforms), sample_rate)

    @property
    def n_samples(self) -> int:
        return self.waveforms.shape[1]

    @property
    def channels(self) -> int:
        return self.waveforms.shape[2]

    def mixture(self) -> np.ndarray:
        return self.waveforms.sum(axis=0, dtype=np.float32)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.waveforms[self.names.index(name)]

    def with_residual(self, mixture: np.ndarray, mixture_rate: int) -> "Sources":
        """Append mixture − Σ sources, so that all sources on give back the mixture."""
        mixture = to_channels(resample(as_waveform(mixture), mixture_rate, self.sample_rate), self.channels)
        self.check_fits(mixture)
        residual = mixture - self.mixture()
        return Sources(self.names + (RESIDUAL,), np.concatenate([self.waveforms, residual[None]]), self.sample_rate)

    def check_fits(self, mixture: np.ndarray) -> None:
        if mixture.shape[0] != self.n_samples:
            raise InvalidSourcesError(
                f"sources have {self.n_samples} samples but the mixture has {mixture.shape[0]} "
                f"(at {self.sample_rate} Hz); stems must be exactly as long as the mixture"
            )

    def conform(self, sample_rate: int, channels: int) -> "Sources":
        """The same sources at another rate and channel layout (done once, mixing is linear)."""
        waveforms = to_channels(resample(self.waveforms, self.sample_rate, sample_rate), channels)
        return Sources(self.names, np.ascontiguousarray(waveforms), sample_rate)
