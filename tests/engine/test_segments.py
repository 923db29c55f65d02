import pytest

from engine.errors import InvalidOptionError
from engine.segments import default_segment_count, equal_segments, rescale, segments_from_boundaries


def test_equal_segments_tile_the_clip():
    segments = equal_segments(1001, 100, 4)
    assert [(s.start, s.end) for s in segments] == [(0, 250), (250, 500), (500, 751), (751, 1001)]
    assert segments[1].start_seconds == 2.5


def test_default_is_about_one_per_second_at_most_ten():
    assert default_segment_count(3 * 16000, 16000) == 3
    assert default_segment_count(29 * 16000, 16000) == 10
    assert default_segment_count(100, 16000) == 1


def test_boundaries_in_seconds():
    segments = segments_from_boundaries([1.0, 2.5], 400, 100)
    assert [(s.start, s.end) for s in segments] == [(0, 100), (100, 250), (250, 400)]


@pytest.mark.parametrize("boundaries", [[0.0], [4.0], [2.0, 1.0], [1.0, 1.0], [-1]])
def test_bad_boundaries(boundaries):
    with pytest.raises(InvalidOptionError, match="boundaries"):
        segments_from_boundaries(boundaries, 400, 100)


@pytest.mark.parametrize("count", [0, -2, 2.5, True])
def test_bad_counts(count):
    with pytest.raises(InvalidOptionError, match="positive integer"):
        equal_segments(100, 10, count)


def test_rescale_keeps_time_spans():
    segments = rescale(equal_segments(44100, 44100, 4), 16000, 16000)
    assert [s.start for s in segments] == [0, 4000, 8000, 12000] and segments[-1].end == 16000
