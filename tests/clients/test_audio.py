"""Audio in: arrays become WAV without loss; paths and bytes go as they are."""
import numpy as np
import pytest

from audiolime_client.audio import array_to_wav, decode, upload_part


def test_a_float_array_round_trips_exactly():
    waveform = np.random.default_rng(0).uniform(-1, 1, (1000, 2)).astype(np.float32)
    decoded, rate = decode(array_to_wav(waveform, 22050))
    assert rate == 22050 and decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, waveform)


def test_a_mono_float64_array_and_an_int16_array():
    mono = np.linspace(-0.5, 0.5, 800)
    decoded, _ = decode(array_to_wav(mono, 8000))
    np.testing.assert_allclose(decoded[:, 0], mono, atol=1e-7)  # float32 precision
    pcm = (np.arange(-400, 400) * 40).astype(np.int16)
    data = array_to_wav(pcm, 8000)
    assert len(data) == 44 + 2 * len(pcm)  # 16-bit stays 16-bit
    np.testing.assert_array_equal(np.round(decode(data)[0][:, 0] * 32768).astype(np.int16), pcm)


def test_channels_first_arrays_are_refused():
    with pytest.raises(ValueError, match="channels, frames"):
        array_to_wav(np.zeros((2, 1000), dtype=np.float32), 8000)


def test_parts_from_a_path_bytes_and_an_array(tmp_path):
    path = tmp_path / "song.flac"
    path.write_bytes(b"fLaC...")
    assert upload_part(path, None, "audio") == ("song.flac", b"fLaC...", "audio/flac")
    assert upload_part(b"ID3...", None, "audio") == ("audio", b"ID3...", "application/octet-stream")
    name, data, media_type = upload_part(np.zeros(100, dtype=np.float32), 8000, "bass")
    assert (name, media_type, data[:4]) == ("bass.wav", "audio/wav", b"RIFF")
    with pytest.raises(ValueError, match="needs sample_rate"):
        upload_part(np.zeros(100), None, "audio")
    with pytest.raises(ValueError, match="numpy arrays only"):
        upload_part(b"RIFF", 8000, "audio")
    with pytest.raises(TypeError):
        upload_part(42, None, "audio")
