"""Audio encodings a remote tagger or a listener can take."""
from __future__ import annotations

import io
import struct
import wave
from enum import Enum

import numpy as np
import soundfile

from .audio import as_waveform
from .errors import InvalidAudioError, InvalidOptionError


class Encoding(str, Enum):
    WAV16 = "wav16"
    WAV_FLOAT = "wav_float"
    FLAC = "flac"
    FLAC24 = "flac24"  # for stored stems: finer than 16 bits, still about half the size of float

    @classmethod
    def parse(cls, value: "str | Encoding") -> "Encoding":
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(e.value for e in cls)
            raise InvalidOptionError(f"unknown encoding {value!r}; use one of {allowed}") from None


_SOUNDFILE_FORMAT = {
    Encoding.WAV_FLOAT: ("WAV", "FLOAT"),
    Encoding.FLAC: ("FLAC", "PCM_16"),
    Encoding.FLAC24: ("FLAC", "PCM_24"),
}

MEDIA_TYPES = {Encoding.WAV16: "audio/wav", Encoding.WAV_FLOAT: "audio/wav", Encoding.FLAC: "audio/flac",
               Encoding.FLAC24: "audio/flac"}


def encode(waveform: np.ndarray, sample_rate: int, encoding: "Encoding | str" = Encoding.WAV16) -> bytes:
    """Encode one (samples, channels) waveform; integer formats are clipped to [-1, 1]."""
    encoding = Encoding.parse(encoding)
    if encoding is Encoding.WAV16:
        return encode_batch(as_waveform(waveform)[np.newaxis], sample_rate, encoding)[0]
    container, subtype = _SOUNDFILE_FORMAT[encoding]
    if subtype.startswith("PCM"):
        waveform = np.clip(waveform, -1.0, 1.0)  # integer formats clip rather than wrap
    buffer = io.BytesIO()
    soundfile.write(buffer, waveform, sample_rate, format=container, subtype=subtype)
    return buffer.getvalue()


def encode_batch(mixes: np.ndarray, sample_rate: int, encoding: "Encoding | str" = Encoding.WAV16) -> list[bytes]:
    """Encode a (batch, samples, channels) batch of mixes, one file each."""
    encoding = Encoding.parse(encoding)
    if encoding is not Encoding.WAV16:
        return [encode(mix, sample_rate, encoding) for mix in mixes]
    # soundfile streams through Python callbacks and is ~9x slower for plain PCM;
    # 16-bit WAV is a fixed header plus the samples.
    return [_wav16(_pcm16(mix), sample_rate) for mix in mixes]


def _pcm16(mix: np.ndarray) -> np.ndarray:
    """Scale, round and clip as libsndfile does, in one mix-sized buffer (no batch-sized temporaries)."""
    scaled = mix * np.float32(32768.0)
    np.rint(scaled, out=scaled)
    np.clip(scaled, -32768.0, 32767.0, out=scaled)
    return scaled.astype("<i2")


def _wav16(pcm: np.ndarray, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(pcm.shape[1])
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Decode any container libsndfile reads (WAV, FLAC, OGG, MP3) to float32; refuse truncated files."""
    if not data:
        raise InvalidAudioError("the audio file is empty (zero bytes)")
    _check_riff_complete(data)
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as audio:
            promised = audio.frames
            waveform = audio.read(dtype="float32", always_2d=True)
            sample_rate = audio.samplerate
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise InvalidAudioError(f"not a readable audio file (WAV, FLAC, OGG or MP3), or a damaged one: {exc}") from exc
    if 0 < len(waveform) < promised:
        raise InvalidAudioError(f"the audio file is truncated: its header promises {promised} frames, "
                                f"it holds {len(waveform)}")
    return as_waveform(waveform), int(sample_rate)


def _check_riff_complete(data: bytes) -> None:
    """libsndfile quietly shortens a WAV whose data chunk is cut off; we say so instead."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = data[offset:offset + 4], struct.unpack("<I", data[offset + 4:offset + 8])[0]
        if chunk == b"data":
            available = len(data) - offset - 8
            if size not in (0, 0xFFFFFFFF) and size > available:  # 0 / -1: streamed, size unknown
                raise InvalidAudioError(f"the WAV file is truncated: its data chunk declares {size} bytes, "
                                        f"{available} are present")
            return
        offset += 8 + size + (size & 1)
