"""Audio encodings a remote tagger or a listener can take."""
from __future__ import annotations

import io
from enum import Enum

import numpy as np
import soundfile

from .audio import as_waveform
from .errors import InvalidAudioError, InvalidOptionError


class Encoding(str, Enum):
    WAV16 = "wav16"
    WAV_FLOAT = "wav_float"
    FLAC = "flac"

    @classmethod
    def parse(cls, value: "str | Encoding") -> "Encoding":
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(e.value for e in cls)
            raise InvalidOptionError(f"unknown encoding {value!r}; use one of {allowed}") from None


_SOUNDFILE_FORMAT = {
    Encoding.WAV16: ("WAV", "PCM_16"),
    Encoding.WAV_FLOAT: ("WAV", "FLOAT"),
    Encoding.FLAC: ("FLAC", "PCM_16"),
}

MEDIA_TYPES = {Encoding.WAV16: "audio/wav", Encoding.WAV_FLOAT: "audio/wav", Encoding.FLAC: "audio/flac"}


def encode(waveform: np.ndarray, sample_rate: int, encoding: "Encoding | str" = Encoding.WAV16) -> bytes:
    """Encode one (samples, channels) waveform; integer formats are clipped to [-1, 1]."""
    encoding = Encoding.parse(encoding)
    container, subtype = _SOUNDFILE_FORMAT[encoding]
    if subtype == "PCM_16":
        # soundfile wraps out-of-range floats around instead of clipping them.
        waveform = np.clip(waveform, -1.0, 1.0)
    buffer = io.BytesIO()
    soundfile.write(buffer, waveform, sample_rate, format=container, subtype=subtype)
    return buffer.getvalue()


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Decode any container libsndfile reads (WAV, FLAC, OGG, MP3) to float32."""
    if not data:
        raise InvalidAudioError("the audio file is empty (zero bytes)")
    try:
        waveform, sample_rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise InvalidAudioError(f"not a readable audio file (WAV, FLAC, OGG or MP3): {exc}") from exc
    return as_waveform(waveform), int(sample_rate)
