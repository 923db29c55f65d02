import numpy as np
import pytest

from engine.components import Factorization
from engine.errors import InvalidOptionError, InvalidSourcesError
from engine.segments import equal_segments
from engine.sources import Sources
from tests.synthetic import stems


def factorization(fade=0.005):
    sources = stems(2.0)
    return Factorization(sources, equal_segments(sources.n_samples, sources.sample_rate, 4), fade)


def test_components_are_sources_times_segments_in_source_order():
    f = factorization()
    assert f.n_components == 12
    assert [(c.source, c.segment) for c in f.components[:5]] == [
        ("drums", 0), ("drums", 1), ("drums", 2), ("drums", 3), ("bass", 0)]
    assert f.components[5].start == 0.5 and f.components[5].end == 1.0
    assert f.components[5].name == "bass[0.50-1.00s]"


def test_all_components_sum_to_the_sources_exactly():
    f = factorization()
    total = sum(f.component_audio(i) for i in range(f.n_components))
    assert np.max(np.abs(total - f.sources.mixture())) < 1e-6


def test_switching_a_component_off_does_not_click():
    # A constant source is the worst case for a hard cut: it jumps by its full level.
    sources = Sources.from_mapping({"organ": np.full(8000, 0.5)}, 8000)
    segments = equal_segments(8000, 8000, 4)
    # A 5 ms sin² crossfade (40 samples at 8 kHz) moves at most 0.5 · π / 80 per sample.
    for fade, largest_step in ((0.005, 0.5 * np.pi / 80), (0.0, 0.5)):
        f = Factorization(sources, segments, fade)
        gated = sources["organ"][:, 0] - f.component_audio(1)[:, 0]
        assert np.max(np.abs(np.diff(gated))) == pytest.approx(largest_step, rel=0.01)


def test_component_is_silent_outside_its_segment_and_fades():
    f = factorization()
    audio = f.component_audio(1)[:, 0]
    fade_half = round(0.005 * f.sample_rate / 2)
    assert not audio[: 4000 - fade_half].any() and not audio[8000 + fade_half:].any()
    with pytest.raises(InvalidOptionError, match="component index"):
        f.component_audio(12)


def test_conform_resamples_and_downmixes_once():
    sources = Sources.from_mapping({"a": np.ones((8000, 2)), "b": np.zeros((8000, 2))}, 8000)
    f = Factorization(sources, equal_segments(8000, 8000, 2)).conform(16000, 1)
    assert f.sources.waveforms.shape == (2, 16000, 1)
    assert f.segments[1].start == 8000


def test_mismatched_sources_are_rejected():
    with pytest.raises(InvalidSourcesError, match="same"):
        Sources.from_mapping({"a": np.ones(100), "b": np.ones(99)}, 8000)
    with pytest.raises(InvalidSourcesError, match="at least one"):
        Sources.from_mapping({}, 8000)
    with pytest.raises(InvalidSourcesError, match="as long as the mixture"):
        stems(1.0).with_residual(np.zeros(100), 8000)


def test_segments_must_cover_the_sources():
    sources = stems(1.0)
    with pytest.raises(InvalidOptionError, match="cover"):
        Factorization(sources, equal_segments(sources.n_samples - 10, 8000, 2))
