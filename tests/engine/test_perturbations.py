import numpy as np
import pytest

from engine.errors import InvalidOptionError
from engine.mixing import Off
from engine.perturbations import answer_key, mask_key, parse_answer_key, perturb


def test_row_zero_is_the_original_and_rows_are_unique():
    p = perturb(12, 1000, seed=3)
    assert p.unique[0].all()
    assert len({mask_key(m) for m in p.unique}) == len(p.unique)
    assert p.n_samples == 1000 and not p.exhaustive


def test_same_seed_same_masks_other_seed_other_masks():
    assert np.array_equal(perturb(12, 500, 1).unique, perturb(12, 500, 1).unique)
    assert not np.array_equal(perturb(12, 500, 1).unique, perturb(12, 500, 2).unique)


def test_components_are_on_about_half_the_time():
    p = perturb(40, 4000, seed=0)
    share = (p.unique * p.counts[:, None]).sum(axis=0) / p.n_samples
    assert np.all(np.abs(share - 0.5) < 0.05)


def test_duplicates_are_counted_not_repeated():
    p = perturb(11, 2000, seed=0)  # 2048 distinct masks, 2000 draws
    assert len(p.unique) < 2000 and p.counts.sum() == 2000 and p.counts.max() > 1


def test_exhaustive_when_all_masks_fit():
    p = perturb(8, 256)
    assert p.exhaustive and len(p.unique) == 256 and p.unique[0].all()
    assert len({mask_key(m) for m in p.unique}) == 256
    assert not perturb(8, 255).exhaustive


@pytest.mark.parametrize("samples", [0, 1, -5, 2.5])
def test_bad_sample_counts(samples):
    with pytest.raises(InvalidOptionError, match="samples"):
        perturb(4, samples)


@pytest.mark.parametrize("n_components", [1, 7, 8, 9, 50])
@pytest.mark.parametrize("off", list(Off))
def test_an_answer_key_gives_back_its_mask_and_way_of_switching_off(n_components, off):
    masks = np.random.default_rng(n_components).random((20, n_components)) < 0.5
    for mask in masks:
        parsed, parsed_off = parse_answer_key(answer_key(mask, off), n_components)
        assert np.array_equal(parsed, mask) and parsed_off is off


def test_a_key_of_another_width_is_refused():
    with pytest.raises(InvalidOptionError):
        parse_answer_key(answer_key(np.ones(9, dtype=bool), Off.CUT), 12)
