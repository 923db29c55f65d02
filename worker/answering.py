"""How a worker answers the engine explainer's queries: from what is already known, else from the
tagger, batches in flight, every answer checkpointed as it arrives.

Known answers are the job's own checkpoint (an earlier run of this job, killed or taken
over) and the answers its owner's earlier jobs got in the same context: the same audio,
components and tagger. Both go into the explainer before it asks anything, so it asks
the tagger only for masks no one has heard; the kept answers only once a few of them,
asked again, show the tagger still answers the same (worker.reuse).

Labels are redacted as they arrive: a tagger may name a tag after what it was sent (its
credential), and labels are kept (checkpoint, shared answers, samples) and served.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from engine.errors import CancelledError
from engine.explainer import Explainer, Phase, Query
from engine.mixing import Mixer, Off
from engine.perturbations import parse_answer_key
from engine.tagger import Predictions, check_predictions
from worker.querying import query_masks
from worker.redaction import Redactor
from worker.reuse import NOT_SHARED, TURNED_OFF, ReuseReport, keys_to_check, moved
from backend.store import Stage, Store
from worker.tagger_client.client import TaggerClient


class Answerer:
    """The explainer's `ask` for one run: checkpoint, shared answers, progress, cancellation."""

    def __init__(self, store: Store, job_id: str, token: str, shared_key: str | None,
                 mixers: Callable[[Off], Mixer], client: TaggerClient, keep_going: Callable[[], bool],
                 on_stage: Callable[[Stage], None], on_progress: Callable[..., None],
                 reuse: bool = True, redactor: Redactor | None = None):
        self.store, self.job_id, self.token, self.shared_key = store, job_id, token, shared_key
        self.mixers, self.client, self.keep_going = mixers, client, keep_going
        self.on_stage, self.on_progress = on_stage, on_progress
        self.reuse, self.redactor = reuse, redactor or Redactor([])
        self.report = ReuseReport(reason=None if shared_key else NOT_SHARED)

    def preload(self, explainer: Explainer) -> tuple[int, int]:
        """What is already known, into the explainer: (answers of this job's earlier runs, reused ones)."""
        own, own_labels = self.store.load_answers(self.store.key(self.job_id, "predictions"))
        explainer.remember(own, own_labels, asked=True)  # this job's calls, the kept answers it checked included
        kept, labels = self._kept(own)
        if not kept:
            return len(own), 0
        keys = keys_to_check(kept, explainer.factorization.n_components)
        now, reason = moved(kept, labels, keys, self._ask_again(keys, explainer.factorization.n_components))
        self.report.checked = len(keys)
        if reason:
            self.report.discarded, self.report.reason = True, reason
            self.store.drop_answers(self.shared_key)
            kept = {}
        self._save(keys, now)
        checked = dict(zip(keys, now.scores))
        explainer.remember(checked, now.labels, asked=True)
        reused = {k: v for k, v in kept.items() if k not in checked}
        explainer.remember(reused, labels, reused=True)
        return len(own), len(reused)

    def _kept(self, own: dict) -> tuple[dict[bytes, np.ndarray], tuple[str, ...] | None]:
        """The answers kept for this context that this job has not got itself. With reuse off, none:
        the kept ones are dropped on the first run, so the job's own answers replace them."""
        if self.shared_key is None:
            return {}, None
        if not self.reuse:
            self.report.reason = TURNED_OFF
            if not own:
                self.report.discarded = self.store.drop_answers(self.shared_key)
            return {}, None
        shared, labels = self.store.load_answers(self.shared_key)
        return {k: v for k, v in shared.items() if k not in own}, labels

    def _ask_again(self, keys: list[bytes], n_components: int) -> Predictions:
        """The tagger's answers now to the mixes of kept answers, in `keys` order (not saved yet)."""
        self.on_stage(Stage.QUERYING)
        parsed = [parse_answer_key(key, n_components) for key in keys]
        scores: dict[int, np.ndarray] = {}
        labels = None
        for off in Off:
            rows = [i for i, (_, way) in enumerate(parsed) if way is off]
            if rows:
                masks = np.stack([parsed[i][0] for i in rows])
                labels = self._listen(self.mixers(off), masks, labels,
                                      lambda batch, heard: scores.update(zip([rows[r] for r in batch], heard.scores)))
        return Predictions(labels, np.stack([scores[i] for i in range(len(keys))]))

    def __call__(self, query: Query) -> Predictions:
        self.on_stage(Stage.QUERYING if query.phase is Phase.SAMPLING else Stage.CHECKING)
        answers: dict[int, np.ndarray] = {}
        keys = query.keys
        self.on_progress(query.answered, query.cap, query.confidence, query.settled)

        def on_answer(rows: list[int], predictions: Predictions) -> None:
            self._save([keys[r] for r in rows], predictions)
            answers.update(zip(rows, predictions.scores))
            self.on_progress(query.answered + len(answers), query.cap, query.confidence, query.settled)

        labels = self._listen(self.mixers(query.off), query.masks, None, on_answer)
        return Predictions(labels, np.stack([answers[r] for r in range(len(query.masks))]))

    def _listen(self, mixer: Mixer, masks: np.ndarray, labels: tuple[str, ...] | None,
                on_answer: Callable[[list[int], Predictions], None]) -> tuple[str, ...]:
        """Ask the tagger about `masks`; each batch's answers go to `on_answer` as they arrive, their
        labels redacted and in one order (`labels`, else the first answer's). Returns that order."""
        def heard(rows: list[int], predictions: Predictions) -> None:
            nonlocal labels
            named = Predictions(self.redactor.labels(predictions.labels), predictions.scores)
            predictions = check_predictions(named, len(rows), labels)
            labels = predictions.labels
            on_answer(rows, predictions)

        query_masks(mixer, masks, list(range(len(masks))), self.client, heard, self.keep_going)
        return labels

    def _save(self, keys: list[bytes], predictions: Predictions) -> None:
        """Into the checkpoint and the shared answers, while this run owns the job."""
        if not self.store.save_answers(self.job_id, self.token, self.shared_key, keys, predictions.scores,
                                       predictions.labels):
            raise CancelledError("the explanation was cancelled, deleted or taken over")
