"""Real Spleeter, offline-built 2stems model, real music."""
import numpy as np
import pytest

from engine.audio import energy_db, resample, to_channels
from engine.codec import decode
from engine.errors import ModelMissingError
from engine.separation import CachingSeparator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def separator(model_dir):
    from worker.spleeter_separator import SpleeterSeparator
    return SpleeterSeparator(model_dir, "2stems")


@pytest.fixture(scope="module")
def clip(example_clip):
    return decode(example_clip.read_bytes())


@pytest.fixture(scope="module")
def stems(separator, clip):
    return separator.separate(*clip)


def low_share(x, rate, cutoff=150.0):
    power = np.abs(np.fft.rfft(x.mean(axis=1))) ** 2
    return power[np.fft.rfftfreq(len(x), 1 / rate) < cutoff].sum() / power.sum()


def test_stems_sum_to_the_mixture(stems, clip):
    waveform, rate = clip
    mixture = to_channels(resample(waveform, rate, stems.sample_rate), 2)
    assert stems.names == ("vocals", "accompaniment")
    assert stems.waveforms.shape == (2,) + mixture.shape
    # Spleeter drops everything above 11 kHz by design; the rest must add up.
    assert energy_db(mixture - stems.mixture(), mixture) < -20.0


def test_vocals_have_no_bass_and_the_accompaniment_has_it(stems):
    assert low_share(stems["vocals"], stems.sample_rate) < 1e-4
    assert low_share(stems["accompaniment"], stems.sample_rate) > 0.3


def test_stems_match_the_reference_fingerprint(stems):
    # Per-second RMS measured with TF 2.15.1 (equal to TF 2.12.1 within 1e-5). A dependency
    # change that alters the stems (TF, spleeter, the weight conversion) breaks this.
    reference = {"vocals": [0.000117, 0.136143, 0.146294, 0.113229, 0.114693],
                 "accompaniment": [0.257081, 0.245758, 0.223129, 0.212995, 0.219004]}
    for name, expected in reference.items():
        x = stems[name]
        rms = [np.sqrt(np.mean(x[i * 44100:(i + 1) * 44100] ** 2)) for i in range(1, 6)]
        np.testing.assert_allclose(rms, expected, rtol=2e-3, atol=2e-6)


def test_the_session_is_built_once_and_reused(separator, clip):
    separator.separate(*clip)
    session = separator._session
    separator.separate(clip[0][:44100], clip[1])
    assert separator._session is session


def test_caching_separator_separates_each_clip_once(separator, clip):
    caching = CachingSeparator(separator)
    first = caching.separate(*clip)
    second = caching.separate(clip[0].copy(), clip[1])
    assert caching.misses == 1 and second is first
    caching.separate(clip[0][:44100], clip[1])
    assert caching.misses == 2


def test_short_and_mono_input(separator):
    t = np.arange(16000) / 16000
    stems = separator.separate(0.3 * np.sin(2 * np.pi * 220 * t), 16000)
    assert stems.waveforms.shape == (2, 44100, 2)


def test_empty_model_directory_is_refused(tmp_path):
    from worker.spleeter_separator import SpleeterSeparator
    (tmp_path / "2stems").mkdir()
    with pytest.raises(ModelMissingError, match=r"'2stems' is missing or incomplete .*make models"):
        SpleeterSeparator(tmp_path, "2stems")


def test_missing_bigger_model_names_itself_and_how_to_fetch_it(model_dir):
    from worker.spleeter_separator import SpleeterSeparator
    if (model_dir / "4stems" / ".probe").exists():
        pytest.skip("4stems is installed here")
    with pytest.raises(ModelMissingError, match=r"'4stems'.*fetch 4stems"):
        SpleeterSeparator(model_dir, "4stems")


def test_the_hpss_refinement_keeps_spleeters_sum_and_names_three_sources(separator, clip, stems):
    from engine.hpss import HPSS
    from engine.refine import Refined

    refined = Refined(separator, "accompaniment", HPSS()).separate(*clip)
    assert refined.names == ("vocals", "harmonic", "percussive") and refined.sample_rate == stems.sample_rate
    rms = float(np.sqrt(np.mean(stems.mixture() ** 2)))
    assert np.sqrt(np.mean((refined.mixture() - stems.mixture()) ** 2)) < 1e-6 * rms  # HPSS's own error only
    np.testing.assert_array_equal(refined["vocals"], stems["vocals"])


def test_what_spleeter_misses_of_the_input_lies_above_11_khz(stems, clip):
    """Its U-Nets see the band below 11 kHz only: the stems' sum misses the top (README, Separators)."""
    waveform, rate = clip
    missing = (stems.mixture() - to_channels(resample(waveform, rate, stems.sample_rate), stems.channels))[:, 0]
    power = np.abs(np.fft.rfft(missing)) ** 2
    above = np.fft.rfftfreq(len(missing), 1 / stems.sample_rate) > 11000
    assert power[above].sum() > 0.999 * power.sum()
