"""Sources come back in one order however their stems were stored (component indices depend on it)."""
import numpy as np

from engine.sources import Sources
from backend.stems import flac_round_trip, source_order, sources_from_flac

RATE = 8000


def sources(names) -> Sources:
    rng = np.random.default_rng(0)
    return Sources.from_mapping({n: 0.1 * rng.standard_normal(RATE) for n in names}, RATE)


def test_spleeter_names_keep_spleeter_order_and_others_follow_alphabetically():
    assert source_order(["other", "zeta", "bass", "alpha", "vocals", "drums"]) == \
        ["vocals", "drums", "bass", "other", "alpha", "zeta"]
    assert source_order(["accompaniment", "vocals"]) == ["vocals", "accompaniment"]


def test_a_fresh_separation_and_any_stored_order_read_back_alike():
    fresh, stems = flac_round_trip(sources(["accompaniment", "vocals"]))
    reversed_hash = dict(reversed(list(stems.items())))
    again = sources_from_flac(reversed_hash)
    assert list(fresh.names) == list(again.names) == ["vocals", "accompaniment"]
    for name in fresh.names:
        np.testing.assert_array_equal(fresh[name], again[name])
