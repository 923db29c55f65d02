"""Audio going in (a path, bytes or a numpy array) and coming out (files or bytes)."""
from __future__ import annotations

import io
import mimetypes
import os
from pathlib import Path
from typing import Iterable, Union

import numpy as np
import soundfile

from audiolime_client.errors import UsageError

AudioLike = Union[str, os.PathLike, bytes, bytearray, memoryview, np.ndarray]
FORMATS = ("wav", "flac")


def upload_part(audio: AudioLike, sample_rate: int | None, name: str) -> tuple[str, bytes, str]:
    """(filename, bytes, media type) for one multipart file part."""
    if isinstance(audio, np.ndarray):
        if sample_rate is None:
            raise UsageError(f"{name}: a numpy array needs sample_rate")
        return f"{name}.wav", array_to_wav(audio, sample_rate), "audio/wav"
    if sample_rate is not None:
        raise UsageError(f"{name}: sample_rate is for numpy arrays only; an audio file carries its own")
    if isinstance(audio, (bytes, bytearray, memoryview)):
        return name, bytes(audio), "application/octet-stream"  # the service reads the format from the bytes
    if isinstance(audio, (str, os.PathLike)):
        path = Path(audio)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return path.name, path.read_bytes(), media_type
    raise TypeError(f"{name}: audio must be a path, bytes or a numpy array, not {type(audio).__name__}")


def array_to_wav(waveform: np.ndarray, sample_rate: int) -> bytes:
    """A (frames,) or (frames, channels) array as a WAV file in memory.

    Floats go as 32-bit float WAV, so what the tagger hears is the array itself, not a
    16-bit rounding of it; integer arrays keep their own width.
    """
    if waveform.ndim not in (1, 2):
        raise UsageError(f"audio arrays are (frames,) or (frames, channels); got shape {waveform.shape}")
    if waveform.ndim == 2 and waveform.shape[1] > waveform.shape[0]:
        raise UsageError(f"audio array of shape {waveform.shape} looks like (channels, frames); "
                         "pass (frames, channels), e.g. waveform.T")
    subtype = {np.dtype("int16"): "PCM_16", np.dtype("int32"): "PCM_32"}.get(waveform.dtype, "FLOAT")
    data = waveform if subtype != "FLOAT" else waveform.astype(np.float32, copy=False)
    buffer = io.BytesIO()
    soundfile.write(buffer, data, int(sample_rate), format="WAV", subtype=subtype)
    return buffer.getvalue()


def check_format(audio_format: str) -> str:
    if audio_format not in FORMATS:
        raise UsageError(f"format must be one of {', '.join(FORMATS)}; got {audio_format!r}")
    return audio_format


def write_chunks(path: Path, chunks: Iterable[bytes]) -> Path:
    """Write a download to `path` via a temporary name, so a broken download leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    try:
        with open(partial, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
    except BaseException:  # also Ctrl-C: never leave a half download behind
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    return path


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """A downloaded WAV or FLAC as (frames, channels) float32 and its sample rate."""
    return soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
