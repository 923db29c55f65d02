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
