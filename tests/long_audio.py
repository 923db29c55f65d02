"""Small files that hold long audio: what a duration limit must refuse without decoding it all.

FLAC compresses silence to almost nothing, so hours of it fit in a few hundred KB. The files are
written block by block (never hours of samples in memory) and kept for the test session.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

BLOCK_SECONDS = 60


def silent_flac(path: Path, seconds: float, sample_rate: int, channels: int = 1) -> bytes:
    """`seconds` of silence as 16-bit FLAC, written to `path` unless it is there already."""
    if not path.is_file():
        block = np.zeros((BLOCK_SECONDS * sample_rate, channels), dtype=np.float32)
        with soundfile.SoundFile(path, "w", sample_rate, channels, format="FLAC", subtype="PCM_16") as out:
            remaining = int(seconds * sample_rate)
            while remaining > 0:
                out.write(block[:min(remaining, len(block))])
                remaining -= len(block)
    return path.read_bytes()


def with_flac_length(data: bytes, frames: int) -> bytes:
    """The FLAC with its STREAMINFO total-samples field (36 bits) set to `frames`; 0 means unknown."""
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0, "STREAMINFO must be the first block"
    field = int.from_bytes(data[18:26], "big")
    field = (field & ~((1 << 36) - 1)) | frames
    return data[:18] + field.to_bytes(8, "big") + data[26:]


@dataclass(frozen=True)
class LongAudio:
    twenty_minutes: bytes  # 44.1 kHz stereo: 423 MB of float32 samples, in about 200 KB
    three_hours: bytes  # 8 kHz mono: 346 MB of samples
    lying: bytes  # three_hours, its header saying 10 s
    unknown_length: bytes  # three_hours, its header not saying how long (total samples 0)
    LYING_SECONDS = 10

    def cases(self) -> dict[str, bytes]:
        return {"20-minutes": self.twenty_minutes, "3-hours": self.three_hours, "header-says-10-s": self.lying,
                "unknown-length-3-hours": self.unknown_length}


def long_audio(tmp_path_factory) -> LongAudio:
    """The files, written once per test session (in its base temporary folder) and read back after."""
    folder = tmp_path_factory.getbasetemp() / "long-audio"
    folder.mkdir(exist_ok=True)
    three_hours = silent_flac(folder / "three-hours-8k.flac", 3 * 3600, 8000)
    return LongAudio(twenty_minutes=silent_flac(folder / "twenty-minutes-44k.flac", 20 * 60, 44100, 2),
                     three_hours=three_hours,
                     lying=with_flac_length(three_hours, LongAudio.LYING_SECONDS * 8000),
                     unknown_length=with_flac_length(three_hours, 0))
