"""Audio encodings a remote tagger or a listener can take."""
from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass
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


# -- decoding ------------------------------------------------------------------------------------
#
# A short upload can hold hours of audio (20 min of silence is a 200 KB FLAC), so nothing is decoded
# before the header's length is checked, and nothing is read past what the header promised or past the
# caller's bound: `probe` streams through in fixed blocks (the API needs the length, not the samples),
# `decode` fills one buffer sized from the header (the worker needs the samples).

BLOCK_FRAMES = 1 << 16  # what `probe` holds at once: 2 MiB at 8 float32 channels
GROW_FROM_FRAMES = 1 << 20  # a stream of unknown length and no bound: a buffer that doubles from this
UNKNOWN = (0, (1 << 63) - 1)  # libsndfile's frame count when a header does not give one (FLAC total 0…)
# MP3 and OGG are decoded only as far as libsndfile's frame count, and for an MP3 without a Xing/Info
# header that count is mpg123's estimate from the file size: measured on CBR files without one, it
# overshoots what decodes by up to one MPEG frame (1,054 of 481,536 frames for the example clip with its
# Info frame removed). Those files may decode up to 1 % or two MPEG frames (2 × 1152) short of the header
# without being called truncated; a VBR file without an Info frame misses by far more (measured: 11 %
# over, or a fifth of the real length, where libsndfile silently stops) and is refused if it overshoots.
# With an Info frame (LAME, libsndfile and most encoders write one), and for OGG, the count is exact.
LOSSY_FORMATS = ("MP3", "OGG")
LOSSY_SHORTFALL, MPEG_FRAME = 0.01, 1152
_DAMAGED = "not a readable audio file (WAV, FLAC, OGG or MP3), or a damaged one"


class AudioTooLongError(InvalidAudioError):
    """Audio longer than the caller's bound, refused before (or as soon as) it goes past it."""


@dataclass(frozen=True)
class AudioInfo:
    frames: int
    sample_rate: int
    channels: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def header_info(data: bytes) -> AudioInfo:
    """Rate, channels and the frame count the header promises (0: it does not say), read from the header alone."""
    if not data:
        raise InvalidAudioError("the audio file is empty (zero bytes)")
    with _opened(io.BytesIO(data)) as header:
        frames = 0 if header.frames in UNKNOWN else header.frames
        return AudioInfo(frames, int(header.samplerate), header.channels)


def probe(data: bytes, max_seconds: float | None = None) -> AudioInfo:
    """Check that `data` decodes to its end, into finite audio of at most `max_seconds`, in constant memory.

    The checks are `decode`'s, without keeping the samples: what a server needs to accept an upload.
    """
    with _Stream(data, max_seconds) as stream:
        block = np.empty((BLOCK_FRAMES, stream.channels), dtype=np.float32)
        while stream.read_into(block):
            pass
        return stream.finish()


def decode(data: bytes, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Decode any container libsndfile reads (WAV, FLAC, OGG, MP3) to float32 (frames, channels).

    Refuses truncated files, files holding more than their header promises, non-finite samples and,
    given `max_seconds`, longer audio — before decoding when the header says so. The samples go into
    one buffer sized from the header, or from the bound when the header does not say (its unwritten
    tail is never resident); one frame more, so that a stream going past either fills it and is refused.
    """
    with _Stream(data, max_seconds) as stream:
        waveform = np.empty((stream.buffer_frames(), stream.channels), dtype=np.float32)
        frames = 0
        while count := stream.read_into(waveform[frames:frames + BLOCK_FRAMES]):
            frames += count
            if frames == len(waveform):  # neither a length nor a bound: grow
                grown = np.empty((2 * frames, stream.channels), dtype=np.float32)
                grown[:frames] = waveform
                waveform = grown
        stream.finish()
        return waveform[:frames], stream.sample_rate


class _Stream:
    """One pass through an audio file that refuses it as soon as it goes past its header or the bound."""

    def __init__(self, data: bytes, max_seconds: float | None):
        if not data:
            raise InvalidAudioError("the audio file is empty (zero bytes)")
        _check_riff_complete(data)
        with _opened(io.BytesIO(data)) as header:
            self.sample_rate, self.channels, self.format = header.samplerate, header.channels, header.format
            self.promised = None if header.frames in UNKNOWN else header.frames
        if not 1 <= self.channels <= 8:
            raise InvalidAudioError(f"the audio has {self.channels} channels; expected 1 to 8")
        self.limit = None if max_seconds is None else int(max_seconds * self.sample_rate)
        if self.promised is not None and self.limit is not None and self.promised > self.limit:
            raise AudioTooLongError(f"the audio is {self.promised / self.sample_rate:.1f} s long; at most "
                                    f"{max_seconds:g} s is allowed")
        self.max_seconds, self.frames = max_seconds, 0
        self._audio = _opened(_without_flac_length(data))

    def __enter__(self) -> "_Stream":
        return self

    def __exit__(self, *exc_info) -> None:
        self._audio.close()

    def buffer_frames(self) -> int:
        """The size of `decode`'s buffer: one frame past the header's count, or past the bound."""
        if self.promised is not None:
            return self.promised + 1
        return GROW_FROM_FRAMES if self.limit is None else self.limit + 1

    def read_into(self, out: np.ndarray) -> int:
        """Decode up to len(out) frames into `out` and check them; 0 at the end of the stream."""
        count = _read_frames(self._audio, out)
        if not np.isfinite(out[:count]).all():
            raise InvalidAudioError("the audio contains NaN or infinite samples")
        self.frames += count
        if self.promised is not None and self.frames > self.promised:
            raise InvalidAudioError(f"the audio file holds more than the {self.promised} frames "
                                    f"({self.promised / self.sample_rate:.1f} s) its header promises: "
                                    "it is damaged or its header was altered")
        if self.limit is not None and self.frames > self.limit:
            raise AudioTooLongError(f"the audio is longer than {self.max_seconds:g} s (its header does not say "
                                    f"how long; decoding stopped there); at most {self.max_seconds:g} s is "
                                    "allowed")
        return count

    def finish(self) -> AudioInfo:
        """What was read, once the stream has ended: refused if empty or short of its header."""
        if self.frames == 0:
            raise InvalidAudioError("the audio is empty (zero samples)")
        if self.promised is not None and self.frames < self.promised - self._shortfall_allowed():
            hint = (" (or, for an MP3 without a Xing/Info header, its length was only estimated: re-encode "
                    "it, or send WAV or FLAC)" if self.format == "MP3" else "")
            raise InvalidAudioError(f"the audio file is truncated: its header promises {self.promised} frames, "
                                    f"it holds {self.frames}{hint}")
        return AudioInfo(self.frames, int(self.sample_rate), self.channels)

    def _shortfall_allowed(self) -> int:
        if self.format not in LOSSY_FORMATS:
            return 0
        return max(int(LOSSY_SHORTFALL * self.promised), 2 * MPEG_FRAME)


def _opened(file) -> soundfile.SoundFile:
    try:
        return soundfile.SoundFile(file)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise InvalidAudioError(f"{_DAMAGED}: {exc}") from exc


def _read_frames(audio: soundfile.SoundFile, out: np.ndarray) -> int:
    """libsndfile's read into a C-contiguous float32 (frames, channels) block.

    soundfile's own read() seeks to where the block ended after every read; libsndfile's FLAC seek
    fails on a stream of unknown length, the very kind that must be read to its end to learn it.
    """
    count = soundfile._snd.sf_readf_float(audio._file, soundfile._ffi.cast("float *", out.ctypes.data), len(out))
    error = soundfile._snd.sf_error(audio._file)
    if error:
        raise InvalidAudioError(f"{_DAMAGED}: {soundfile.LibsndfileError(error)}")
    return count


def _without_flac_length(data: bytes):
    """The file to decode: for a FLAC, its STREAMINFO's total-samples field read as 0 (unknown).

    libsndfile stops at the header's count; a FLAC whose count was lowered (10 s promised, 3 h held)
    would pass for short. Read as unknown, the stream is decoded to its real end (within the bound),
    so it can be compared with what the header said.
    """
    offset = _flac_length_offset(data)
    if offset is None:
        return io.BytesIO(data)
    field = int.from_bytes(data[offset:offset + 8], "big") & ~((1 << 36) - 1)  # the low 36 bits
    return _Overlaid(data, offset, field.to_bytes(8, "big"))


def _flac_length_offset(data: bytes) -> int | None:
    """Where the 8 bytes ending in STREAMINFO's 36-bit total-samples field are, if `data` is a FLAC."""
    start = 0
    if data[:3] == b"ID3" and len(data) >= 10:  # an ID3v2 tag before the stream (libsndfile skips it)
        start = 10 + (data[6] << 21 | data[7] << 14 | data[8] << 7 | data[9]) + (10 if data[5] & 0x10 else 0)
    if data[start:start + 4] != b"fLaC" or len(data) < start + 26 or data[start + 4] & 0x7F != 0:
        return None
    return start + 18  # magic 4, block header 4, block sizes 4, frame sizes 6


class _Overlaid:
    """`data` read in place with a few bytes laid over it (a copy would double a 64 MiB upload)."""

    def __init__(self, data: bytes, offset: int, patch: bytes):
        self._data, self._offset, self._patch, self._position = memoryview(data), offset, patch, 0

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._data)}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer) -> int:
        start = self._position
        end = max(start, min(start + len(buffer), len(self._data)))
        out = memoryview(buffer).cast("B")
        out[:end - start] = self._data[start:end]
        low, high = max(start, self._offset), min(end, self._offset + len(self._patch))
        if low < high:
            out[low - start:high - start] = self._patch[low - self._offset:high - self._offset]
        self._position = end
        return end - start


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
