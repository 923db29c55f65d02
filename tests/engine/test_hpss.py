import math

import numpy as np
import pytest

from engine.audio import energy_db
from engine.codec import decode
from engine.errors import InvalidAudioError, InvalidOptionError
from engine.hpss import HPSS, Stft

RATE = 44100
SUM_TOLERANCE = 1e-6  # RMS of (Σ sources − mixture) over RMS of the mixture; measured 2e-9 to 7e-8


def clicks_and_tones(seconds=3.0, rate=RATE):
    """Impulses every 0.25 s (full scale) over two sustained tones at 220 and 330 Hz."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    tones = (0.1 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)[:, None]
    clicks = np.zeros((n, 1), dtype=np.float32)
    clicks[np.arange(int(0.125 * rate), n, int(0.25 * rate))] = 1.0
    return clicks, tones


def routed(hpss, mixture, part, rate=RATE):
    """Where the masks computed from the mixture send one known part of it: energy in dB per source."""
    grid = Stft.at(rate)
    masks = hpss.masks(np.abs(grid.forward(mixture)).astype(np.float32), grid)
    spectra = grid.forward(part)
    return [energy_db(grid.inverse(mask * spectra, len(part)), part) for mask in masks]


def relative_sum_error(sources, mixture):
    return float(np.sqrt(np.mean(np.square(sources.mixture() - mixture, dtype=np.float64))
                         / np.mean(np.square(mixture, dtype=np.float64))))


def test_clicks_go_percussive_and_tones_go_harmonic():
    clicks, tones = clicks_and_tones()
    hpss = HPSS()
    tones_in = routed(hpss, clicks + tones, tones)
    clicks_in = routed(hpss, clicks + tones, clicks)
    # measured: tones -0.0 dB harmonic, -33.4 dB percussive; clicks -20.7 dB harmonic, -0.0 dB percussive.
    # The clicks' leak is the part of their flat spectrum that lies under the tones, where the tones win.
    assert tones_in[0] > -0.1 and tones_in[1] < -33.0
    assert clicks_in[1] > -0.1 and clicks_in[0] < -20.5


def test_the_separated_harmonic_source_is_the_tones():
    clicks, tones = clicks_and_tones()
    sources = HPSS().separate(clicks + tones, RATE)
    assert sources.names == ("harmonic", "percussive")
    assert energy_db(sources["harmonic"] - tones, tones) < -32.5  # measured -33.0


@pytest.mark.parametrize("margin", [1.0, (2.0, 3.0)])
def test_sources_sum_to_the_mixture(margin):
    mixture = np.random.default_rng(0).standard_normal((3 * RATE, 2)).astype(np.float32) * 0.1
    sources = HPSS(margin=margin).separate(mixture, RATE)
    assert sources.waveforms.shape == (len(sources.names), 3 * RATE, 2) and sources.waveforms.dtype == np.float32
    assert relative_sum_error(sources, mixture) < SUM_TOLERANCE
    assert np.max(np.abs(sources.mixture() - mixture)) < 1e-6


def test_margins_leave_a_remainder_and_purer_parts():
    clicks, tones = clicks_and_tones()
    hpss = HPSS(margin=2.0)
    assert hpss.source_names == ("harmonic", "percussive", "remainder")
    tones_in = routed(hpss, clicks + tones, tones)
    clicks_in = routed(hpss, clicks + tones, clicks)
    # measured: tones -34.2 dB percussive (-33.4 with margin 1), clicks -21.6 dB harmonic (-20.7)
    assert tones_in[1] < -34.0 and clicks_in[0] < -21.5
    grid = Stft.at(RATE)
    remainder = hpss.masks(np.abs(grid.forward(clicks + tones)).astype(np.float32), grid)[2]
    assert remainder.min() > -1e-12 and remainder.max() <= 1.0


def test_hard_masks_are_binary():
    clicks, tones = clicks_and_tones(1.0)
    grid = Stft.at(RATE)
    harmonic, percussive = HPSS(power=math.inf).masks(np.abs(grid.forward(clicks + tones)).astype(np.float32), grid)
    assert set(np.unique(harmonic)) <= {0.0, 0.5, 1.0}
    assert np.array_equal(harmonic + percussive, np.ones_like(harmonic))


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000])
def test_kernels_mean_the_same_at_every_rate(rate):
    assert HPSS().kernels(Stft.at(rate)) == (31, 31)
    assert Stft.at(rate).length / rate == pytest.approx(2048 / 44100, rel=0.01)


def test_model_id_names_every_option():
    assert HPSS().model_id == "hpss:k0.36sx670Hz:m1:p2"
    assert HPSS(0.5, 1000, margin=(2, 3), power=math.inf).model_id == "hpss:k0.5sx1000Hz:m2x3:pinf"
    assert HPSS(margin=(1, 1)).model_id == HPSS().model_id


@pytest.mark.parametrize("options, message", [
    ({"harmonic_seconds": 0}, "harmonic_seconds must be above 0"),
    ({"percussive_hz": -5}, "percussive_hz must be above 0"),
    ({"percussive_hz": math.nan}, "percussive_hz must be a finite number"),
    ({"harmonic_seconds": True}, "harmonic_seconds must be a finite number"),
    ({"margin": 0.5}, "harmonic margin must be at least 1"),
    ({"margin": (1, 0.9)}, "percussive margin must be at least 1"),
    ({"margin": (1, 2, 3)}, "margin must be a number or"),
    ({"margin": "2"}, "harmonic margin must be a finite number"),
    ({"power": 0}, "power must be above 0"),
    ({"power": math.nan}, "power must be a number"),
])
def test_bad_options(options, message):
    with pytest.raises(InvalidOptionError, match=message):
        HPSS(**options)


def test_kernels_narrower_than_three_frames_or_bins_are_refused():
    with pytest.raises(InvalidOptionError, match="harmonic_seconds spans fewer than 3 STFT frames at 44100 Hz"):
        HPSS(harmonic_seconds=0.02).separate(np.zeros((4410, 1), dtype=np.float32), RATE)
    with pytest.raises(InvalidOptionError, match="percussive_hz spans fewer than 3 STFT bins"):
        HPSS(percussive_hz=40).separate(np.zeros((4410, 1), dtype=np.float32), RATE)


def test_check_refuses_before_separating():
    HPSS().check(8000)
    with pytest.raises(InvalidOptionError, match="percussive_hz spans fewer than 3 STFT bins at 8000 Hz"):
        HPSS(percussive_hz=40).check(8000)


def test_clips_shorter_than_a_window_and_bad_audio():
    short = np.random.default_rng(1).standard_normal((500, 1)).astype(np.float32)
    sources = HPSS().separate(short, RATE)
    assert sources.n_samples == 500 and relative_sum_error(sources, short) < SUM_TOLERANCE
    with pytest.raises(InvalidAudioError):
        HPSS().separate(np.full((100, 1), np.nan), RATE)
    with pytest.raises(InvalidOptionError, match="sample_rate"):
        HPSS().separate(short, 100)


def test_the_example_clip_sums_back(example_clip):
    mixture, rate = decode(example_clip.read_bytes())
    sources = HPSS().separate(mixture, rate)
    assert relative_sum_error(sources, mixture) < SUM_TOLERANCE
    harmonic, percussive = (energy_db(sources[name], mixture) for name in sources.names)
    assert harmonic == pytest.approx(-2.5, abs=0.2) and percussive == pytest.approx(-8.4, abs=0.2)  # measured
