"""Waiting for a job or a study: poll until it has ended, with a bar, a callback and a deadline."""
from __future__ import annotations

import time
from typing import Callable, Protocol, TypeVar

from audiolime_client.errors import Timeout

T = TypeVar("T")


class Bar(Protocol):
    def update(self, state) -> None: ...
    def close(self) -> None: ...


def poll_until_done(read: Callable[[], T], *, done: Callable[[T], bool], still: Callable[[T], str],
                    timeout: float | None, interval: float, bar: Bar | None,
                    on_progress: Callable[[T], None] | None) -> T:
    """Read until `done`; Timeout (saying `still(state)`, e.g. "job X is still running (40%)") when
    the next poll would come after the deadline. The bar is closed whatever happens."""
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            state = read()
            if bar is not None:
                bar.update(state)
            if on_progress is not None:
                on_progress(state)
            if done(state):
                return state
            if deadline is not None and time.monotonic() + interval > deadline:
                raise Timeout(f"{still(state)} after the time allowed; it keeps running", state)
            time.sleep(interval)
    finally:
        if bar is not None:
            bar.close()
