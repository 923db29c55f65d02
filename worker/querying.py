"""Asking the tagger about every mask: batches mixed and encoded while earlier ones are in flight.

Answers are handed to `on_answer` as they arrive (the job checkpoints them), and
`keep_going` is asked before each batch is sent and every quarter second while
answers are awaited, so a cancelled job stops within one batch and never waits
out a slow tagger: requests still in flight are abandoned, not awaited.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Callable

import numpy as np

from engine.errors import CancelledError, TaggerError
from engine.mixing import Mixer
from engine.tagger import Predictions, check_predictions
from worker.tagger_client.client import Batch, TaggerClient

OnAnswer = Callable[[list[int], Predictions], None]
POLL_SECONDS = 0.25  # how often `keep_going` is asked while answers are awaited


def query_masks(mixer: Mixer, masks: np.ndarray, rows: list[int], client: TaggerClient,
                on_answer: OnAnswer, keep_going: Callable[[], bool]) -> None:
    """Send the masks at `rows`, `batch_size` at a time, at most `concurrency` batches at once.

    Requests are mixed and encoded in this thread, up to `concurrency` of them ahead of
    the network: when several answers arrive together (a tagger serving requests side by
    side finishes them together), as many requests are ready to go at once, so the
    tagger never waits for the worker to encode.
    """
    size, concurrency = client.spec.batch_size, client.spec.concurrency
    todo = deque((n, rows[i:i + size]) for n, i in enumerate(range(0, len(rows), size)))
    ready: deque[tuple[int, list[int], Batch]] = deque()
    in_flight: list[tuple[int, list[int], Future]] = []
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="tagger")
    finished = False
    try:
        while todo or ready or in_flight:
            in_flight = _collect_done(in_flight, on_answer)
            while ready and len(in_flight) < concurrency:
                _check(keep_going)
                number, batch, request = ready.popleft()
                in_flight.append((number, batch, pool.submit(client.send, request)))
            if todo and len(ready) < concurrency:
                number, batch = todo.popleft()
                ready.append((number, batch, _encode(client, mixer.mix(masks[batch]), number)))
            elif in_flight:
                wait([future for _, _, future in in_flight], timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                _check(keep_going)
        finished = True
    finally:
        # On any error or cancellation, do not wait for requests in flight (a slow tagger
        # may hold them for its whole read timeout): their threads end on their own.
        pool.shutdown(wait=finished, cancel_futures=True)


def _check(keep_going: Callable[[], bool]) -> None:
    if not keep_going():
        raise CancelledError("the explanation was cancelled")


def _encode(client: TaggerClient, mixes: np.ndarray, number: int) -> Batch:
    try:
        return client.encode(mixes)
    except TaggerError as exc:  # learning the tagger's metadata on first use can fail
        exc.batch = number
        raise


def _collect_done(in_flight: list, on_answer: OnAnswer) -> list:
    """Hand over the answers that have arrived; what is still in flight."""
    still = []
    for number, batch, future in in_flight:
        if future.done():  # asked once per future: one that finishes meanwhile waits for the next call
            _collect(number, batch, future, on_answer)
        else:
            still.append((number, batch, future))
    return still


def _collect(number: int, batch: list[int], future: Future, on_answer: OnAnswer) -> None:
    try:
        predictions = check_predictions(future.result(), len(batch))
    except TaggerError as exc:
        exc.batch = number
        raise
    on_answer(batch, predictions)
