"""One pretrained musicnn model: its TensorFlow graph, restored from the package's checkpoint, in one session.

The graph is built by the package's own `musicnn.models.define_model`, under the same name scope and
with the same placeholders as `musicnn/extractor.py`, and restored with a `tf.compat.v1.train.Saver`
from the checkpoint folder inside the installed package. Unlike the extractor — which catches a
failed restore and goes on with random weights — a failed restore raises ModelError here.
"""
from __future__ import annotations

import os
import threading

import numpy as np

from taggers.musicnn import features

MODELS = ("MSD_musicnn", "MSD_vgg", "MTT_musicnn", "MTT_vgg")  # the checkpoints musicnn 0.1.0 ships
PATCHES_PER_RUN = 16  # one session.run holds ~45 MB per patch; runs of 8 or 64 patches are no faster


class ModelError(RuntimeError):
    """The model cannot be built or restored (the server does not start), or a session.run failed."""


class Tagger:
    """Scores batches of mono 16 kHz waveforms with one musicnn model; thread-safe."""

    def __init__(self, name: str = "MSD_musicnn", patches_per_run: int = PATCHES_PER_RUN):
        if name not in MODELS:
            raise ModelError(f"unknown musicnn model {name!r}; choose one of {', '.join(MODELS)}")
        import tensorflow as tf  # here, not at import time: loading TensorFlow takes seconds
        from musicnn import configuration, models

        tf.compat.v1.disable_eager_execution()  # as the extractor does: the checkpoint holds v1 variables
        self.name, self.patches_per_run = name, patches_per_run
        self.labels = tuple(configuration.MSD_LABELS if name.startswith("MSD") else configuration.MTT_LABELS)
        self.checkpoint = os.path.join(os.path.dirname(models.__file__), name, "")  # prefix: "<dir>/"
        self._graph = tf.Graph()
        with self._graph.as_default(), tf.name_scope("model"):
            self._patches = tf.compat.v1.placeholder(tf.float32, [None, features.PATCH_FRAMES, features.N_MELS])
            self._is_training = tf.compat.v1.placeholder(tf.bool)
            logits = models.define_model(self._patches, self._is_training, name, len(self.labels))[0]
            self._sigmoids = tf.nn.sigmoid(logits)
            saver = tf.compat.v1.train.Saver()
        self._session = tf.compat.v1.Session(graph=self._graph)
        self._restore(tf, saver)
        self._run_errors = tf.errors.OpError
        self._lock = threading.Lock()

    def _restore(self, tf, saver) -> None:
        if not os.path.isfile(self.checkpoint + ".index"):
            raise ModelError(f"no checkpoint for {self.name} at {self.checkpoint} (is musicnn 0.1.0 installed?)")
        try:
            saver.restore(self._session, self.checkpoint)
        except (tf.errors.OpError, ValueError) as exc:
            raise ModelError(f"cannot restore {self.name} from {self.checkpoint}: {exc}") from exc

    def patch_sigmoids(self, patches: np.ndarray) -> np.ndarray:
        """(patches, labels) float32 sigmoids, up to patches_per_run patches per session.run."""
        rows = []
        with self._lock:  # one inference at a time: 2 cores, and TF already uses both
            for start in range(0, len(patches), self.patches_per_run):
                feed = {self._patches: patches[start:start + self.patches_per_run], self._is_training: False}
                try:
                    rows.append(self._session.run(self._sigmoids, feed_dict=feed))
                except self._run_errors as exc:
                    raise ModelError(f"{self.name} failed on {len(feed[self._patches])} patches: {exc}") from exc
        return np.concatenate(rows)

    def scores(self, waveforms: np.ndarray) -> np.ndarray:
        """(clips, labels) float32: per clip, the mean of its patches' sigmoids (see features)."""
        per_clip = [features.patches(features.log_mel(waveform)) for waveform in waveforms]
        sigmoids = self.patch_sigmoids(np.concatenate(per_clip))
        bounds = np.cumsum([0] + [len(clip) for clip in per_clip])
        return np.stack([sigmoids[start:end].mean(axis=0) for start, end in zip(bounds[:-1], bounds[1:])])

    def close(self) -> None:
        self._session.close()
