import numpy as np
import pytest

from engine.components import Factorization
from engine.errors import InvalidOptionError
from engine.mixing import Mixer
from engine.segments import equal_segments
from tests.synthetic import stems


def mixer():
    sources = stems(2.0)
    return Mixer(Factorization(sources, equal_segments(sources.n_samples, sources.sample_rate, 5)))


def reference_mix(m: Mixer, mask) -> np.ndarray:
    """The definition: the sum of the switched-on components' audio."""
    f = m.factorization
    return sum((f.component_audio(i) for i in np.flatnonzero(mask)), np.zeros((f.sources.n_samples, 1)))


def test_vectorised_mix_equals_the_sum_of_switched_on_components():
    m = mixer()
    masks = np.random.default_rng(1).integers(0, 2, (7, 15)).astype(bool)
    mixes = m.mix(masks)
    assert mixes.shape == (7, m.n_samples, 1) and mixes.dtype == np.float32
    for mask, mix in zip(masks, mixes):
        np.testing.assert_allclose(mix, reference_mix(m, mask), atol=1e-6)


def test_all_on_is_the_mixture_and_all_off_is_silence():
    m = mixer()
    mixes = m.mix(np.array([[1] * 15, [0] * 15]))
    np.testing.assert_allclose(mixes[0], m.factorization.sources.mixture(), atol=1e-6)
    assert not mixes[1].any()


def test_batches_stream_in_order():
    m = mixer()
    masks = np.random.default_rng(2).integers(0, 2, (10, 15))
    seen = [(rows, mixes.shape[0]) for rows, mixes in m.batches(masks, 4)]
    assert [(r.start, r.stop, n) for r, n in seen] == [(0, 4, 4), (4, 8, 4), (8, 10, 2)]


def test_bad_masks_and_batch_sizes():
    m = mixer()
    with pytest.raises(InvalidOptionError, match=r"shape \(batch, 15\)"):
        m.mix(np.ones((2, 14)))
    with pytest.raises(InvalidOptionError, match="batch size"):
        next(m.batches(np.ones((2, 15)), 0))


# -- off = cut: switched-off segments are cut out and what is left loops ------------------------------

def constant_mixer(segments=5, seconds=2.0, rate=8000, off="cut"):
    from engine.sources import Sources

    ones = np.ones((int(seconds * rate), 1), dtype=np.float32)
    sources = Sources.from_mapping({"drone": ones, "ramp": np.linspace(0, 1, len(ones), dtype=np.float32)[:, None]},
                                   rate)
    return Mixer(Factorization(sources, equal_segments(sources.n_samples, rate, segments), fade_seconds=0.01), off)


def test_cut_leaves_all_on_and_all_off_as_they_are():
    silence, cut = mixer(), Mixer(mixer().factorization, "cut")
    masks = np.array([[1] * 15, [0] * 15])
    np.testing.assert_array_equal(cut.mix(masks), silence.mix(masks))


def test_cut_crossfades_sum_to_one_so_a_constant_source_stays_constant_whatever_is_cut():
    m = constant_mixer()
    drone = np.zeros((6, 10), dtype=bool)
    for row, kept in enumerate([[0], [1], [4], [0, 4], [1, 3], [0, 2, 3]]):
        drone[row, kept] = True  # the drone's segments (components 0-4); the ramp stays off
    mixes = m.mix(drone)
    np.testing.assert_allclose(mixes, 1.0, atol=1e-6)  # no gap, no dip, no bump at any join or loop
    silence = Mixer(m.factorization).mix(drone)
    assert (silence < 0.5).mean() > 0.3  # where silence would have been


def test_cut_plays_the_kept_segments_back_to_back_then_loops():
    m = constant_mixer()
    rate, n = 8000, m.n_samples
    mask = np.zeros(10, dtype=bool)
    mask[[5 + 1, 5 + 3]] = True  # the ramp's segments 1 and 3: values 0.2-0.4 then 0.6-0.8
    mix = m.mix(mask[None])[0, :, 0]
    span = n // 5
    ramp = np.linspace(0, 1, n, dtype=np.float32)
    middle = slice(100, span - 100)  # clear of the 10 ms crossfades
    np.testing.assert_allclose(mix[:span][middle], ramp[span:2 * span][middle], atol=1e-6)
    np.testing.assert_allclose(mix[span:2 * span][middle], ramp[3 * span:4 * span][middle], atol=1e-6)
    np.testing.assert_allclose(mix[2 * span:4 * span], mix[:2 * span], atol=1e-6)  # then again


def test_an_unknown_off_is_refused():
    with pytest.raises(InvalidOptionError, match="unknown off 'noise'"):
        Mixer(mixer().factorization, "noise")
