"""Asking the tagger about every mask: batches mixed while earlier ones are in flight.

Answers are handed to `on_answer` as they arrive (the job checkpoints them), and
`keep_going` is asked before each batch is sent, so a cancelled job stops
within one batch.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import numpy as np

from engine.errors import CancelledError, TaggerError
from engine.mixing import Mixer
from engine.tagger import Predictions, check_predictions
from worker.tagger.client import Batch, TaggerClient

OnAnswer = Callable[[list[int], Predictions], None]


def query_masks(mixer: Mixer, masks: np.ndarray, rows: list[int], client: TaggerClient,
                on_answer: OnAnswer, keep_going: Callable[[], bool]) -> None:
    """Send the masks at `rows`, `batch_size` at a time, at most `concurrency` batches at once."""
    spec = client.spec
    batches = [rows[i:i + spec.batch_size] for i in range(0, len(rows), spec.batch_size)]
    in_flight: deque[tuple[int, list[int], Future]] = deque()
    with ThreadPoolExecutor(max_workers=spec.concurrency, thread_name_prefix="tagger") as pool:
        try:
            for number, batch in enumerate(batches):
                # Mixed and encoded here, ahead of the network: while `concurrency` requests
                # are at the tagger, the next one is being built, so even one request at a
                # time keeps the tagger busy instead of waiting for each encode in turn.
                request = _encode(client, mixer.mix(masks[batch]), number)
                while len(in_flight) >= spec.concurrency:
                    _collect(*in_flight.popleft(), on_answer)
                if not keep_going():
                    raise CancelledError("the explanation was cancelled")
                in_flight.append((number, batch, pool.submit(client.send, request)))
            while in_flight:
                _collect(*in_flight.popleft(), on_answer)
        except BaseException:
            for _, _, future in in_flight:
                future.cancel()
            raise


def _encode(client: TaggerClient, mixes: np.ndarray, number: int) -> Batch:
    try:
        return client.encode(mixes)
    except TaggerError as exc:  # learning the tagger's metadata on first use can fail
        exc.batch = number
        raise


def _collect(number: int, batch: list[int], future: Future, on_answer: OnAnswer) -> None:
    try:
        predictions = check_predictions(future.result(), len(batch))
    except TaggerError as exc:
        exc.batch = number
        raise
    on_answer(batch, predictions)
