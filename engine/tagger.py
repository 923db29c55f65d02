"""What the engine needs of a tagger: mixes in, one score per tag per mix out."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np

from .errors import TaggerResponseError

QUOTE_LIMIT = 200


@dataclass(frozen=True, eq=False)
class Predictions:
    labels: tuple[str, ...]
    scores: np.ndarray  # (batch, tags) float64


class Tagger(Protocol):
    """A black box: `predict` takes (batch, samples, channels) float32 mixes."""
    sample_rate: int
    channels: int

    def predict(self, mixes: np.ndarray) -> Predictions: ...


class FunctionTagger:
    """Wraps an in-process function `mixes -> (batch, tags) scores` as a Tagger."""

    def __init__(self, function: Callable[[np.ndarray], np.ndarray], labels: Sequence[str],
                 sample_rate: int, channels: int = 1):
        self.function = function
        self.labels = tuple(labels)
        self.sample_rate = sample_rate
        self.channels = channels
        self.calls = 0  # mixes predicted so far

    def predict(self, mixes: np.ndarray) -> Predictions:
        self.calls += len(mixes)
        scores = np.asarray(self.function(mixes), dtype=np.float64)
        if scores.ndim == 1:
            scores = scores[:, np.newaxis]
        return check_predictions(Predictions(self.labels, scores), len(mixes))


def quote(value, limit: int = QUOTE_LIMIT) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def check_predictions(predictions: Predictions, expected_rows: int,
                      labels: Sequence[str] | None = None) -> Predictions:
    """Reject answers that cannot be explained: wrong count, wrong tags, non-finite scores."""
    scores = predictions.scores
    if scores.ndim != 2 or scores.shape[0] != expected_rows:
        raise TaggerResponseError(
            f"tagger returned {scores.shape[0] if scores.ndim else 0} predictions for {expected_rows} clips")
    if scores.shape[1] != len(predictions.labels):
        raise TaggerResponseError(
            f"tagger returned {scores.shape[1]} scores per clip for {len(predictions.labels)} labels")
    if labels is not None and tuple(labels) != predictions.labels:
        if set(labels) != set(predictions.labels) or len(labels) != len(predictions.labels):
            differing = sorted(set(labels) ^ set(predictions.labels))
            raise TaggerResponseError(f"tagger's tags changed between calls: {quote(differing)}")
        order = [predictions.labels.index(t) for t in labels]  # same tags, another order: align
        predictions = Predictions(tuple(labels), scores[:, order])
        scores = predictions.scores
    bad = np.argwhere(~np.isfinite(scores))
    if len(bad):
        row, column = bad[0]
        raise TaggerResponseError(
            f"tagger returned a non-finite score {scores[row, column]} for tag "
            f"{predictions.labels[column]!r} of clip {row} ({len(bad)} non-finite in all)")
    return predictions
