"""A test-only separator, registered in one line (`AUDIOLIME_SEPARATOR_PLUGINS` loads this module)."""
import numpy as np

from backend.separators import SeparatorKind, register
from engine.sources import Sources

register(SeparatorKind("test:split", ("high", "low"), "below and above 1 kHz (tests)", f"{__name__}:build"))


class Split:
    """Below and above 1 kHz by FFT bins: the two sum to the mixture exactly."""
    model_id = "test:split-1000Hz"

    def separate(self, waveform: np.ndarray, sample_rate: int) -> Sources:
        spectrum = np.fft.rfft(waveform, axis=0)
        low = np.fft.rfftfreq(len(waveform), 1 / sample_rate)[:, None] < 1000
        parts = {"low": np.where(low, spectrum, 0), "high": np.where(low, 0, spectrum)}
        stems = {name: np.fft.irfft(part, n=len(waveform), axis=0).astype(np.float32) for name, part in parts.items()}
        return Sources.from_mapping(stems, sample_rate)


def build(settings, name, separator):
    return Split()
