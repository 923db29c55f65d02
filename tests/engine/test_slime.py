import re

import numpy as np
import pytest

from engine.audio import energy_db
from engine.errors import InvalidOptionError
from engine.slime import FrequencyBands

RATE = 16000
SUM_TOLERANCE = 1e-6  # RMS of (Σ bands − mixture) over RMS of the mixture; measured 5e-8 to 7e-8
TONES = (100.0, 800.0, 4000.0)


def tone(freq, seconds=2.0, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)[:, None]


def relative_sum_error(sources, mixture):
    return float(np.sqrt(np.mean(np.square(sources.mixture() - mixture, dtype=np.float64))
                         / np.mean(np.square(mixture, dtype=np.float64))))


@pytest.mark.parametrize("bands, homes", [
    (FrequencyBands(), ("band01_0-259Hz", "band03_614-1101Hz", "band07_3934-5649Hz")),
    (FrequencyBands(edges=(400, 2000)), ("band01_0-400Hz", "band02_400-2000Hz", "band03_2000-8000Hz")),
])
def test_each_tone_lands_in_the_band_that_holds_it(bands, homes):
    mixture = sum(tone(freq) for freq in TONES)
    sources = bands.separate(mixture, RATE)
    for freq, home in zip(TONES, homes):
        # The masks do not depend on the signal, so one tone alone shows where it goes in the mixture.
        alone = bands.separate(tone(freq), RATE)
        elsewhere = np.delete(alone.waveforms, alone.names.index(home), axis=0)
        assert energy_db(elsewhere, tone(freq)) < -37.0  # measured -37.9 dB (4 kHz, 66 Hz from an edge) or lower
        assert energy_db(sources[home] - tone(freq), tone(freq)) < -37.0
    empty = [name for name in sources.names if name not in homes]
    # measured -43.5 dB for the band just under 4 kHz, -48 dB or lower for the others
    assert all(energy_db(sources[name], mixture) < -43.0 for name in empty)


@pytest.mark.parametrize("bands", [FrequencyBands(), FrequencyBands(3), FrequencyBands(edges=[150, 6000])])
def test_bands_sum_to_the_mixture(bands):
    mixture = np.random.default_rng(0).standard_normal((3 * 44100, 2)).astype(np.float32) * 0.1
    sources = bands.separate(mixture, 44100)
    assert sources.waveforms.shape == (bands.bands, 3 * 44100, 2) and sources.waveforms.dtype == np.float32
    assert relative_sum_error(sources, mixture) < SUM_TOLERANCE
    assert np.max(np.abs(sources.mixture() - mixture)) < 1e-6


def test_names_are_url_safe_and_sort_low_to_high():
    names = FrequencyBands(12).source_names(44100)
    assert names[:2] == ("band01_0-236Hz", "band02_236-550Hz") and names[-1].endswith("-22050Hz")
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name) for name in names)
    assert sorted(names) == list(names)  # stored stems are read back in name order


def test_mel_edges_follow_the_sample_rate():
    assert FrequencyBands().band_edges(44100) == [0, 382, 971, 1883, 3291, 5466, 8828, 14023, 22050]
    assert FrequencyBands(2).band_edges(8000) == [0, 1114, 4000]


def test_model_id_names_the_bands():
    assert FrequencyBands().model_id == "slime:mel8"
    assert FrequencyBands(4).model_id == "slime:mel4"
    assert FrequencyBands(edges=[200, 500.0, 2000]).model_id == "slime:edges-200-500-2000"
    assert FrequencyBands(edges=[200, 500]).bands == 3


@pytest.mark.parametrize("options, message", [
    ({"bands": 0}, "bands must be an integer from 1 to 32"),
    ({"bands": 33}, "bands must be an integer from 1 to 32"),
    ({"bands": True}, "bands must be an integer"),
    ({"edges": [500, 200]}, "strictly increasing"),
    ({"edges": [200, 200]}, "strictly increasing"),
    ({"edges": [0, 200]}, "above 0 Hz"),
    ({"edges": [-100]}, "above 0 Hz"),
    ({"edges": [200.5]}, "whole numbers of Hz"),
    ({"edges": [float("inf")]}, "whole numbers of Hz"),
    ({"edges": ["200"]}, "whole numbers of Hz"),
    ({"edges": "200"}, "a list of frequencies"),
    ({"edges": []}, "at least one inner edge"),
    ({"edges": list(range(100, 3400, 100))}, "more than 32 bands"),
    ({"bands": 4, "edges": [200]}, "1 edges make 2 bands, not 4; give `bands` or `edges`"),
])
def test_bad_options(options, message):
    with pytest.raises(InvalidOptionError, match=message):
        FrequencyBands(**options)


def test_edges_must_lie_below_nyquist_and_hold_bins():
    with pytest.raises(InvalidOptionError, match="below the Nyquist frequency, 8000 Hz at 16000 Hz; got 8000"):
        FrequencyBands(edges=[1000, 8000]).separate(tone(100), RATE)
    with pytest.raises(InvalidOptionError, match="band 1000-1010 Hz holds no STFT bin"):
        FrequencyBands(edges=[1000, 1010]).separate(tone(100), RATE)


def test_check_refuses_before_separating():
    FrequencyBands(edges=[1000, 7000]).check(RATE)
    with pytest.raises(InvalidOptionError, match="below the Nyquist"):
        FrequencyBands(edges=[1000, 7000]).check(8000)
    with pytest.raises(InvalidOptionError, match="holds no STFT bin"):
        FrequencyBands(32).check(1000)


def test_a_tagger_that_hears_one_band_in_one_segment_ranks_that_component_first():
    """SLIME's own known answer: the component is a time-frequency rectangle."""
    from engine import ExplainSettings, FunctionTagger, explain
    from engine.slime import FrequencyBands
    from tests.synthetic import tone_level

    rate, seconds, segments = 16000, 4.0, 4
    t = np.arange(int(seconds * rate)) / rate
    mixture = (0.2 * np.sin(2 * np.pi * 110 * t) + 0.2 * np.sin(2 * np.pi * 800 * t)
               + 0.2 * np.sin(2 * np.pi * 4000 * t)).astype(np.float32)[:, None]
    tagger = FunctionTagger(lambda mixes: tone_level(mixes, rate, 800.0, 2.0, 3.0), ["mid"], rate)
    result = explain(mixture, rate, tagger, ExplainSettings(segments=segments, samples=256, self_check_k=1),
                     separator=FrequencyBands(bands=4))
    top = result.components[result.tag("mid").ranking()[0]]
    low, high = (int(edge) for edge in top.source.split("_")[1][:-2].split("-"))
    assert low <= 800 < high and top.segment == 2
    assert result.tag("mid").self_check[0].components == [top.index]
