"""The claim and the shares as objects, and how a confidence is written."""
import pytest

from audiolime_client.numbers import confidence_text, percent, percent_range
from audiolime_client.stability import GroupShare, Groups, Stability


@pytest.mark.parametrize(("value", "text"), [(0.0, "0.00"), (0.87, "0.87"), (0.95, "0.95"), (0.9949, "0.99"),
                                             (0.9951, "0.995"), (0.99996, "0.99996"), (1.0, "1.00")])
def test_a_confidence_below_one_never_reads_as_one(value, text):
    assert confidence_text(value) == text


def claim(components, tied, claimed=3) -> Stability:
    return Stability(top_k=3, claimed=claimed, components=tuple(components), tied=tuple(tied), confidence=0.99,
                     converged=True, samples_used=256)


def test_the_claimed_components_outside_a_tie_are_each_claimed_and_the_tie_shares_the_rest():
    assert (claim([7, 4, 6], [4, 5, 6, 7]).sure, claim([7, 4, 6], [4, 5, 6, 7]).tie_slots) == ((), 3)
    assert (claim([1, 4, 6], [4, 6, 8]).sure, claim([1, 4, 6], [4, 6, 8]).tie_slots) == ((1,), 2)
    assert (claim([2], [], claimed=1).sure, claim([2], [], claimed=1).tie_slots) == ((2,), 0)


def test_stability_reads_the_api_and_tolerates_the_optional_fields_missing():
    read = Stability.from_json({"top_k": 3, "claimed": 1, "components": [2], "tied": [], "confidence": 1,
                                "converged": True, "samples_used": 64, "method": "m"})
    assert read == Stability(3, 1, (2,), (), 1.0, True, 64, None, None, None, "m")


def test_a_share_reads_as_percent_with_its_interval():
    group = GroupShare.from_json({"name": "accompaniment", "components": [1, 3], "weight": 0.2,
                                  "weight_interval": [0.18, 0.22], "positive_share": 0.9812,
                                  "positive_share_interval": [0.9641, 0.9903]})
    assert group.share_text == "98 % (96–99 %)" and group.weight_interval == (0.18, 0.22)
    groups = Groups(sources=(group,))
    assert groups.source("accompaniment") is group
    with pytest.raises(KeyError, match="no source 'vocals'; sources: \\['accompaniment'\\]"):
        groups.source("vocals")


@pytest.mark.parametrize(("share", "interval", "text"), [
    (0.9812, (0.9641, 0.9903), "98 % (96–99 %)"),
    (0.99933, (0.99648, 1.0), "99.9 % (99.6–100 %)"),  # whole percents would say 100 % (100–100 %)
    (0.0, (0.0, 0.0014), "0 % (0–0.1 %)"),
    (0.0007, (0.0, 0.0032), "0 % (0–0.3 %)"),
    (1.0, (1.0, 1.0), "100 % (100–100 %)"),
    (0.29, (0.28, 0.30), "29 % (28–30 %)"),
])
def test_shares_near_all_or_nothing_keep_the_decimals_that_tell_them_apart(share, interval, text):
    group = GroupShare("bass", (0,), 0.1, (0.09, 0.11), share, interval)
    assert group.share_text == text


def test_a_share_rounded_past_one_or_below_zero_reads_as_all_or_none():
    """`audiolime study` printed "percussive 100.000 % (100.000–100 %)" for 1.0000000000000002."""
    assert percent(1.0000000000000002) == "100" and percent(-1e-17) == "0"
    assert percent_range(1.0000000000000002, 1.0000000000000002) == "100–100 %"
    assert percent(0.9996) == "99.96" and percent_range(0.0, 0.0004) == "0–0.04 %"  # narrow still shows
