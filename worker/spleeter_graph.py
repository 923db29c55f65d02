"""Spleeter's prediction graph, built once, outside tf.estimator."""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from spleeter.model import EstimatorSpecBuilder, InputProviderFactory  # noqa: E402
from spleeter.utils.configuration import load_configuration  # noqa: E402


def build_graph(name: str):
    """(graph, waveform placeholder, {instrument: output tensor}) for `spleeter:NAME`."""
    params = load_configuration(f"spleeter:{name}")
    graph = tf.Graph()
    with graph.as_default():
        features = InputProviderFactory.get(params).get_input_dict_placeholders()
        outputs = EstimatorSpecBuilder(features, params).outputs
        outputs = {k: v for k, v in outputs.items() if k != "audio_id"}
    return graph, features["waveform"], outputs


def model_params(name: str) -> dict:
    return load_configuration(f"spleeter:{name}")
