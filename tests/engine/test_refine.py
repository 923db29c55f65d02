import numpy as np
import pytest

from engine.audio import energy_db
from engine.errors import InvalidOptionError, SeparationError
from engine.hpss import HPSS
from engine.refine import Refined
from engine.separation import CachingSeparator
from engine.slime import FrequencyBands
from engine.sources import Sources

RATE = 22050
SUM_TOLERANCE = 1e-6  # HPSS's own bound, of the split stem's RMS


class TwoSines:
    """A fake base separator: `lead` a 660 Hz sine, `band` a 220 Hz sine plus clicks, as long as the input."""

    model_id = "fake:2sines"

    def __init__(self):
        self.calls = 0

    def separate(self, waveform, sample_rate):
        self.calls += 1
        t = np.arange(len(waveform)) / sample_rate
        lead = 0.2 * np.sin(2 * np.pi * 660 * t)
        band = 0.2 * np.sin(2 * np.pi * 220 * t)
        band[np.arange(len(t)) % (sample_rate // 4) == sample_rate // 8] += 1.0
        stereo = [np.stack([w, w], axis=1).astype(np.float32) for w in (lead, band)]
        return Sources(("lead", "band"), np.stack(stereo), sample_rate)


class Resampling:
    """A broken splitter: its parts are half as long as the stem."""

    model_id = "broken"

    def separate(self, waveform, sample_rate):
        return Sources(("a",), waveform[None, ::2], sample_rate)


def mixture(seconds=2.0):
    return np.zeros((int(seconds * RATE), 2), dtype=np.float32)


def test_one_source_is_split_in_place_and_the_rest_kept():
    base = TwoSines()
    refined = Refined(base, "band", HPSS())
    sources = refined.separate(mixture(), RATE)
    assert sources.names == ("lead", "harmonic", "percussive") and sources.sample_rate == RATE
    original = base.separate(mixture(), RATE)
    assert np.array_equal(sources["lead"], original["lead"])
    error = sources.mixture() - original.mixture()
    stem_rms = np.sqrt(np.mean(np.square(original["band"], dtype=np.float64)))
    assert np.sqrt(np.mean(np.square(error, dtype=np.float64))) < SUM_TOLERANCE * stem_rms  # measured 7.5e-8
    # the 220 Hz sine goes harmonic, the clicks percussive (HPSS's own known answer)
    t = np.arange(len(original["band"])) / RATE
    sine = 0.2 * np.sin(2 * np.pi * 220 * t)[:, None]
    assert energy_db(sources["harmonic"] - sine, sine) < -28.5  # measured -29.0


def test_parts_can_be_renamed():
    refined = Refined(TwoSines(), "band", HPSS(), names=("band_tonal", "band_drums"))
    assert refined.separate(mixture(), RATE).names == ("lead", "band_tonal", "band_drums")


def test_model_id_names_base_splitter_source_and_names():
    assert Refined(TwoSines(), "band", HPSS()).model_id == "fake:2sines+hpss:k0.36sx670Hz:m1:p2[band]"
    assert Refined(TwoSines(), "band", HPSS(), ["t", "d"]).model_id == "fake:2sines+hpss:k0.36sx670Hz:m1:p2[band->t,d]"


def test_a_caching_base_is_separated_once():
    base = TwoSines()
    cached = CachingSeparator(base)
    refined = CachingSeparator(Refined(cached, "band", FrequencyBands(2)))
    first = refined.separate(mixture(), RATE)
    assert cached.separate(mixture(), RATE) is not None and base.calls == 1
    assert refined.separate(mixture(), RATE) is first
    assert first.names == ("lead", "band01_0-2165Hz", "band02_2165-11025Hz")


def test_a_missing_source_is_an_option_error():
    with pytest.raises(InvalidOptionError, match=r"fake:2sines has no source 'drums' to split; "
                                                 r"it has \['lead', 'band'\]"):
        Refined(TwoSines(), "drums", HPSS()).separate(mixture(), RATE)


@pytest.mark.parametrize("source, names, message", [
    ("band", ("only_one",), r"1 names \['only_one'\] for the 2 sources"),
    ("band", ("a", "a"), "names must be distinct"),
    ("band", ("a", "b/c"), "a source name is 1 to 64 letters"),
    ("band", "ab", "names must be a non-empty list"),
    ("band", (), "names must be a non-empty list"),
    ("", None, "a source name is 1 to 64 letters"),
])
def test_bad_names(source, names, message):
    with pytest.raises(InvalidOptionError, match=message):
        Refined(TwoSines(), source, HPSS(), names)


def test_parts_named_like_a_kept_source_are_refused():
    with pytest.raises(InvalidOptionError, match=r"named like the base's other sources \['lead'\]"):
        Refined(TwoSines(), "band", HPSS(), ("lead", "drums")).separate(mixture(), RATE)


def test_name_counts_are_checked_after_separating_when_the_splitter_does_not_say():
    with pytest.raises(InvalidOptionError, match=r"2 names \['a', 'b'\] for the 3 sources"):
        Refined(TwoSines(), "band", FrequencyBands(3), ("a", "b")).separate(mixture(), RATE)


def test_parts_that_do_not_fit_the_stem_are_a_separation_error():
    with pytest.raises(SeparationError, match="parts must match the stem they split"):
        Refined(TwoSines(), "band", Resampling()).separate(mixture(), RATE)
