import numpy as np
import pytest

from engine.audio import as_waveform, content_hash, energy_db, resample, resampled_length, to_channels
from engine.errors import InvalidAudioError, InvalidOptionError


def test_mono_becomes_one_column_float32():
    waveform = as_waveform(np.arange(10, dtype=np.int16))
    assert waveform.shape == (10, 1) and waveform.dtype == np.float32


@pytest.mark.parametrize("data, message", [
    (np.zeros(0), "empty"),
    (np.zeros((2, 3, 4)), "shape"),
    (np.array([0.0, np.nan]), "NaN"),
    (np.array([0.0, np.inf]), "NaN or infinite"),
    (np.zeros((2, 44100)), "channels"),
    (np.array(["a", "b"]), "numbers"),
])
def test_bad_waveforms_are_rejected_with_a_reason(data, message):
    with pytest.raises(InvalidAudioError, match=message):
        as_waveform(data)


def test_resample_keeps_a_tone_and_the_length():
    t = np.arange(44100) / 44100
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)[:, None]
    out = resample(tone, 44100, 16000)
    assert out.shape == (resampled_length(44100, 44100, 16000), 1) == (16000, 1)
    expected = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    assert np.max(np.abs(out[100:-100, 0] - expected[100:-100])) < 1e-3


def test_channels_down_and_up():
    stereo = np.array([[1.0, 0.0], [0.5, 0.5]], dtype=np.float32)
    assert to_channels(stereo, 1)[:, 0].tolist() == [0.5, 0.5]
    assert to_channels(stereo[:, :1], 2).tolist() == [[1.0, 1.0], [0.5, 0.5]]
    with pytest.raises(InvalidOptionError):
        to_channels(np.zeros((4, 3), dtype=np.float32), 2)


def test_content_hash_tells_audio_apart():
    a = np.zeros((100, 1), dtype=np.float32)
    b = a.copy()
    b[50] = 1e-6
    assert content_hash(a, 8000) == content_hash(a.copy(), 8000)
    assert content_hash(a, 8000) != content_hash(b, 8000)
    assert content_hash(a, 8000) != content_hash(a, 16000)


def test_energy_db():
    x = np.ones(100)
    assert energy_db(0.1 * x, x) == pytest.approx(-20.0)
