import numpy as np
import pytest

from engine.errors import InvalidOptionError
from engine.surrogate import FeatureSelection, SurrogateOptions, fit_surrogates, kernel_weights


def data(seed=0, n=600, d=10):
    masks = np.random.default_rng(seed).integers(0, 2, (n, d)).astype(bool)
    masks[0] = True
    scores = np.stack([0.2 + 0.5 * masks[:, 3] + 0.2 * masks[:, 7], 0.1 * masks[:, 0]], axis=1)
    return masks, scores


def test_linear_truth_is_recovered_for_every_tag_in_one_fit():
    masks, scores = data()
    fits = fit_surrogates(masks, scores, SurrogateOptions(alpha=0.01))
    assert len(fits) == 2
    np.testing.assert_allclose(fits[0].weights[[3, 7]], [0.5, 0.2], atol=1e-3)
    assert np.max(np.abs(np.delete(fits[0].weights, [3, 7]))) < 1e-3
    assert fits[0].intercept == pytest.approx(0.2, abs=1e-3)
    assert fits[0].local_prediction == pytest.approx(0.9, abs=1e-3)
    assert fits[0].score == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(fits[1].weights[0], 0.1, atol=1e-3)


@pytest.mark.parametrize("mode", ["highest_weights", "forward_selection", "lasso_path", "auto"])
def test_each_selection_mode_keeps_the_true_components(mode):
    masks, scores = data()
    fit = fit_surrogates(masks, scores[:, :1], SurrogateOptions(feature_selection=mode, num_features=2))[0]
    assert fit.selected == [3, 7]
    assert np.count_nonzero(fit.weights) == 2


def test_unknown_mode_is_an_error():
    with pytest.raises(InvalidOptionError, match="unknown feature selection 'best'"):
        SurrogateOptions(feature_selection="best")


def test_counts_weigh_like_repeated_rows():
    masks, scores = data(n=200)
    repeated = np.concatenate([masks, masks[:50]])
    counted = fit_surrogates(masks, scores, SurrogateOptions(), counts=np.r_[np.full(50, 2), np.ones(150)])
    plain = fit_surrogates(repeated, np.concatenate([scores, scores[:50]]), SurrogateOptions())
    np.testing.assert_allclose(counted[0].weights, plain[0].weights, atol=1e-10)
    assert counted[0].score == pytest.approx(plain[0].score)


def test_kernel_is_one_at_the_original_and_falls_with_distance():
    masks = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)
    k = kernel_weights(masks, 0.25)
    assert k[0] == 1.0 and k[0] > k[1] > k[2] > k[3] > 0


@pytest.mark.parametrize("options", [dict(kernel_width=0), dict(alpha=-1), dict(num_features=0)])
def test_bad_options(options):
    with pytest.raises(InvalidOptionError):
        SurrogateOptions(**options)


def test_feature_selection_enum_values():
    assert {m.value for m in FeatureSelection} == {"none", "highest_weights", "forward_selection", "lasso_path", "auto"}
