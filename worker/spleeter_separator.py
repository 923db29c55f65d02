"""Spleeter as an engine Separator, with one persistent TensorFlow session per process.

`spleeter.Separator.separate()` rebuilds its estimator graph on every call;
keeping the graph and session alive makes repeated separations several times
faster, which is what a worker serving many jobs needs.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from engine.audio import as_waveform, resample, to_channels
from engine.errors import SeparationError
from engine.sources import Sources
from worker.spleeter_models import WEIGHTS_SOURCE, check_model

SPLEETER_VERSION = "2.4.2"


class SpleeterSeparator:
    """Separates waveforms into Spleeter's stems; build once, call many times."""

    def __init__(self, model_dir: Path, name: str = "2stems"):
        self.folder = check_model(model_dir, name)
        self.name = name
        self._lock = threading.Lock()  # one session, one separation at a time
        self._session = None

    @property
    def model_id(self) -> str:
        weights = WEIGHTS_SOURCE if self.name == "2stems" else "spleeter release"
        return f"spleeter:{self.name} (spleeter {SPLEETER_VERSION}, weights {weights})"

    def load(self) -> None:
        """Build the graph and restore the weights (done on first use if not called)."""
        with self._lock:
            if self._session is None:
                self._load()

    def _load(self):
        import tensorflow as tf  # noqa: PLC0415 - TensorFlow only where separation runs

        from worker.spleeter_graph import build_graph, model_params  # noqa: PLC0415

        graph, placeholder, outputs = build_graph(self.name)
        self._params = model_params(self.name)
        with graph.as_default():
            session = tf.compat.v1.Session(graph=graph)
            checkpoint = tf.train.latest_checkpoint(str(self.folder))
            if checkpoint is None:
                raise SeparationError(f"no checkpoint in {self.folder}")
            tf.compat.v1.train.Saver().restore(session, checkpoint)
        self._placeholder, self._outputs, self._session = placeholder, outputs, session

    def separate(self, waveform: np.ndarray, sample_rate: int) -> Sources:
        """Stems at Spleeter's rate (44.1 kHz) and layout (stereo), as long as the input."""
        waveform = as_waveform(waveform)
        with self._lock:
            if self._session is None:
                self._load()
            model_rate = self._params["sample_rate"]
            stereo = to_channels(resample(waveform, sample_rate, model_rate), 2)
            try:
                stems = self._session.run(self._outputs, {self._placeholder: stereo})
            except Exception as exc:  # TensorFlow raises its own error tree; all are a failed separation
                raise SeparationError(f"spleeter:{self.name} failed: {exc}") from exc
        names = self._params["instrument_list"]
        return Sources(tuple(names), np.stack([stems[n].astype(np.float32) for n in names]), model_rate)
