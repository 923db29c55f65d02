import numpy as np
import pytest

from engine.codec import Encoding, decode, encode, encode_batch
from engine.errors import InvalidAudioError, InvalidOptionError


@pytest.mark.parametrize("encoding, tolerance, magic", [
    (Encoding.WAV16, 1 / 32768, b"RIFF"), (Encoding.WAV_FLOAT, 0.0, b"RIFF"), (Encoding.FLAC, 1 / 32768, b"fLaC")])
def test_round_trip(encoding, tolerance, magic):
    waveform = (0.5 * np.sin(np.linspace(0, 100, 4000))).astype(np.float32).reshape(2000, 2)
    data = encode(waveform, 16000, encoding)
    assert data.startswith(magic)
    back, rate = decode(data)
    assert rate == 16000 and back.shape == (2000, 2)
    assert np.max(np.abs(back - waveform)) <= tolerance


def test_integer_encodings_clip_instead_of_wrapping():
    back, _ = decode(encode(np.array([[1.5], [-1.5]], dtype=np.float32), 8000, "wav16"))
    assert back[0, 0] > 0.99 and back[1, 0] < -0.99


def test_unknown_encoding_and_bad_bytes():
    with pytest.raises(InvalidOptionError, match="unknown encoding 'mp3'"):
        encode(np.zeros((10, 1), dtype=np.float32), 8000, "mp3")
    with pytest.raises(InvalidAudioError, match="not a readable audio file"):
        decode(b"this is not audio")
    with pytest.raises(InvalidAudioError, match="empty"):
        decode(b"")


@pytest.mark.parametrize("encoding", list(Encoding))
def test_batch_encoding_matches_single_encoding(encoding):
    mixes = (0.9 * np.sin(np.linspace(0, 300, 3 * 1600 * 2))).astype(np.float32).reshape(3, 1600, 2)
    mixes[0, 0, 0] = 1.7  # out of range: must clip, not wrap
    for data, mix in zip(encode_batch(mixes, 16000, encoding), mixes):
        back, rate = decode(data)
        single, _ = decode(encode(mix, 16000, encoding))
        assert rate == 16000
        np.testing.assert_allclose(back, single, atol=1.5 / 32768)
        expected = mix if encoding is Encoding.WAV_FLOAT else np.clip(mix, -1, 1)
        np.testing.assert_allclose(back, expected, atol=1.5 / 32768)


@pytest.mark.parametrize("encoding", ["wav16", "wav_float", "flac"])
def test_truncated_files_are_refused(encoding):
    data = encode(np.zeros((16000, 1), dtype=np.float32) + 0.1, 16000, encoding)
    with pytest.raises(InvalidAudioError, match="truncated|damaged"):
        decode(data[: len(data) // 2])
