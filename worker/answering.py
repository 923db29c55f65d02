"""How a worker answers the engine explainer's queries: from what is already known, else from the
tagger, batches in flight, every answer checkpointed as it arrives.

Known answers are the job's own checkpoint (an earlier run of this job, killed or taken
over) and the answers its owner's earlier jobs got in the same context: the same audio,
components and tagger. Both go into the explainer before it asks anything, so it asks
the tagger only for masks no one has heard.

Labels are redacted as they arrive: a tagger may name a tag after what it was sent (its
credential), and labels are kept (checkpoint, shared answers, samples) and served.
"""
from __future__ import annotations

import hashlib
import json
from typing import Callable

import numpy as np

from engine.audio import content_hash
from engine.components import Factorization
from engine.errors import CancelledError
from engine.explainer import Explainer, Phase, Query
from engine.mixing import Mixer, Off
from engine.tagger import Predictions, check_predictions
from worker.querying import query_masks
from worker.redaction import Redactor
from backend.store import Stage, Store
from worker.tagger.client import TaggerClient

# What makes an answer the same answer: the tagger's identity and input, not how it is called.
TAGGER_IDENTITY = ("url", "protocol", "options", "sample_rate", "channels", "encoding", "input_seconds",
                   "input_policy")


def answers_context(factorization: Factorization, tagger: dict) -> str:
    """One id per (components, tagger): the same mask then makes the same mix for the same tagger,
    so its answer is shared between jobs with the same id. The components are identified by their
    audio (decoded samples: two uploads of one clip may differ in their headers), their segments
    and fades, which covers the clip, the separator or provided stems, and the residual. (How a
    mask's components are switched off is in each answer's own key: engine.perturbations.answer_key.)"""
    digest = hashlib.sha256()
    sources = factorization.sources
    for name, waveform in zip(sources.names, sources.waveforms):
        digest.update(name.encode() + b"\0" + content_hash(waveform, sources.sample_rate).encode())
    segments = [(s.start, s.end) for s in factorization.segments]
    described = {"tagger": {k: tagger.get(k) for k in TAGGER_IDENTITY}, "segments": segments,
                 "fade_seconds": factorization.fade_seconds}
    digest.update(json.dumps(described, sort_keys=True).encode())
    return digest.hexdigest()[:32]


class Answerer:
    """The explainer's `ask` for one run: checkpoint, shared answers, progress, cancellation."""

    def __init__(self, store: Store, job_id: str, token: str, shared_key: str, mixers: Callable[[Off], Mixer],
                 client: TaggerClient, keep_going: Callable[[], bool],
                 on_stage: Callable[[Stage], None], on_progress: Callable[[int, int, float | None], None],
                 redactor: Redactor | None = None):
        self.store, self.job_id, self.token, self.shared_key = store, job_id, token, shared_key
        self.mixers, self.client, self.keep_going = mixers, client, keep_going
        self.on_stage, self.on_progress = on_stage, on_progress
        self.redactor = redactor or Redactor([])

    def preload(self, explainer: Explainer) -> tuple[int, int]:
        """What is already known, into the explainer: (answers of this job's earlier runs, reused ones)."""
        own, own_labels = self.store.load_answers(self.store.key(self.job_id, "predictions"))
        shared, shared_labels = self.store.load_answers(self.shared_key)
        reused = {k: v for k, v in shared.items() if k not in own}
        explainer.remember(own, own_labels)
        explainer.remember(reused, shared_labels, reused=True)
        return len(own), len(reused)

    def __call__(self, query: Query) -> Predictions:
        self.on_stage(Stage.QUERYING if query.phase is Phase.SAMPLING else Stage.CHECKING)
        answers: dict[int, np.ndarray] = {}
        labels: tuple[str, ...] | None = None
        keys = query.keys
        self.on_progress(query.answered, query.cap, query.confidence)

        def on_answer(rows: list[int], predictions: Predictions) -> None:
            nonlocal labels
            named = Predictions(self.redactor.labels(predictions.labels), predictions.scores)
            predictions = check_predictions(named, len(rows), labels)
            labels = predictions.labels
            saved = self.store.save_answers(self.job_id, self.token, self.shared_key, [keys[r] for r in rows],
                                            predictions.scores, labels)
            if not saved:
                raise CancelledError("the explanation was cancelled, deleted or taken over")
            answers.update(zip(rows, predictions.scores))
            self.on_progress(query.answered + len(answers), query.cap, query.confidence)

        query_masks(self.mixers(query.off), query.masks, list(range(len(query.masks))), self.client, on_answer,
                    self.keep_going)
        return Predictions(labels, np.stack([answers[r] for r in range(len(query.masks))]))
