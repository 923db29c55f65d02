"""`explain()`: an explanation in process, the engine's explainer driven by a local tagger.

The steps before the loop (the factorization) and the batch-by-batch tagger
calls are functions of their own; the RQ job drives the same explainer with
concurrent requests and a checkpoint instead.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .audio import as_waveform, check_sample_rate
from .components import Factorization
from .errors import InvalidSourcesError
from .explainer import Explainer, Query
from .explanation import Explanation
from .mixing import Mixer, Mixers
from .segments import Segment, equal_segments, segments_from_boundaries
from .separation import Separator
from .settings import ExplainSettings
from .sources import Sources
from .tagger import Predictions, Tagger, check_predictions

Progress = Callable[[int, int], None]  # (done, total) tagger calls


def factorize(waveform: np.ndarray, sample_rate: int, sources: Sources,
              settings: ExplainSettings) -> Factorization:
    """Sources × segments at the sources' rate, with the residual when asked for."""
    waveform, sample_rate = as_waveform(waveform), check_sample_rate(sample_rate)
    if settings.residual:
        sources = sources.with_residual(waveform, sample_rate)
    elif sources.sample_rate == sample_rate:
        sources.check_fits(waveform)
    return Factorization(sources, segments_for(settings, sources.n_samples, sources.sample_rate),
                         settings.fade_seconds)


def segments_for(settings: ExplainSettings, n_samples: int, sample_rate: int) -> list[Segment]:
    """The settings' segments for audio of this length (also how the API checks them up front)."""
    if isinstance(settings.segments, tuple):
        return segments_from_boundaries(settings.segments, n_samples, sample_rate)
    return equal_segments(n_samples, sample_rate, settings.segments)


def predict_masks(mixer: Mixer, masks: np.ndarray, tagger: Tagger, batch_size: int,
                  progress: Progress | None = None, labels: Sequence[str] | None = None) -> Predictions:
    """The tagger's scores for every mask, mixed and sent batch by batch."""
    parts, done = [], 0
    for rows, mixes in mixer.batches(masks, batch_size):
        predictions = check_predictions(tagger.predict(mixes), len(mixes), labels)
        labels = predictions.labels
        parts.append(predictions.scores)
        done += len(mixes)
        if progress:
            progress(done, len(masks))
    return Predictions(tuple(labels), np.concatenate(parts))


def explain(waveform: np.ndarray, sample_rate: int, tagger: Tagger, settings: ExplainSettings | None = None,
            *, sources: Sources | None = None, separator: Separator | None = None,
            progress: Progress | None = None) -> Explanation:
    """Explain the tagger's prediction for one clip, in process: the explainer's loop, answered batch by batch."""
    settings = settings or ExplainSettings()
    if (sources is None) == (separator is None):
        raise InvalidSourcesError("pass exactly one of `sources` (provided stems) or `separator`")
    if sources is None:
        sources = separator.separate(as_waveform(waveform), sample_rate)
    factorization = factorize(waveform, sample_rate, sources, settings)
    mixers = Mixers(factorization.conform(tagger.sample_rate, tagger.channels))
    explainer = Explainer(factorization, settings)

    def ask(query: Query) -> Predictions:
        def counted(done: int, _: int) -> None:
            if progress:
                progress(query.answered + done, query.cap)
        return predict_masks(mixers(query.off), query.masks, tagger, settings.batch_size, counted, explainer.labels)

    explanation = explainer.run(ask)
    explanation.provenance = {"separator": getattr(separator, "model_id", "provided"),
                              "tagger_labels": list(explainer.labels)}
    return explanation
