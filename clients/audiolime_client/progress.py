"""A tqdm bar that follows a job: the stage as its label, percent of tagger calls as its fill."""
from __future__ import annotations

import shutil
import sys
from typing import TextIO

from tqdm import tqdm

from audiolime_client.models import Job

BAR_FORMAT = "{desc:<11}{percentage:5.1f}%|{bar}| [{elapsed}{postfix}]"


class ProgressBar:
    """Shows one job's progress; `update` with each polled state, `close` at the end."""

    def __init__(self, file: TextIO | None = None):
        self.file = file
        self.bar: tqdm | None = None  # drawn at the first state, so it never shows a made-up one
        self.last: tuple | None = None

    def update(self, job: Job) -> None:
        progress = job.progress
        state = (job.stage, progress.done, progress.total)
        if self.bar is None:
            self.bar, self.last = self._open(job), state  # drawn as it opens
            return
        if state == self.last and not self._interactive():
            return  # into a log file, a line only when something changed, not one per poll
        self.last = state
        self.bar.set_description_str(job.stage.value, refresh=False)
        self.bar.set_postfix_str(_calls(job), refresh=False)
        self.bar.n = min(100.0, progress.percent)
        if not job.done:  # the final state is drawn once, by close()
            self.bar.refresh()

    def _open(self, job: Job) -> tqdm:
        # disable=False: show the bar even when stderr is not a terminal (logs, CI), as asked for.
        stream = self.file or sys.stderr
        return tqdm(total=100.0, initial=min(100.0, job.progress.percent), desc=job.stage.value,
                    postfix=_calls(job), bar_format=BAR_FORMAT, file=stream, disable=False, leave=True,
                    **_size(stream))

    def _interactive(self) -> bool:
        return _is_terminal(self.bar.fp)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _is_terminal(stream) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def _size(stream) -> dict:
    """On a terminal, its size (width at most 100), with a fallback where it reports none: tqdm
    draws nothing on a terminal of size 0 (e.g. under `script`). Elsewhere tqdm's compact bar."""
    if not _is_terminal(stream):
        return {}
    size = shutil.get_terminal_size((100, 24))
    return {"ncols": min(100, size.columns), "nrows": size.lines or 24}


def _calls(job: Job) -> str:
    progress = job.progress
    return f"{progress.done}/{progress.total} tagger calls" if progress.total else ""
