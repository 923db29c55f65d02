"""A tqdm bar that follows a job: the stage as its label, its percent as the fill, and as its
postfix the masks answered and, once a round is fitted, the claim's confidence
("217/1602 masks, confidence 0.82 / 0.95": an adaptive run stops when it reaches the target)."""
from __future__ import annotations

import shutil
import sys
import time
from typing import Callable, TextIO

from tqdm import tqdm

from audiolime_client.models import Job, Stage
from audiolime_client.numbers import confidence_text

BAR_FORMAT = "{desc:<11}{percentage:5.1f}%|{bar}| [{elapsed}{postfix}]"


class ProgressBar:
    """Shows one job's progress; `update` with each polled state, `close` at the end."""

    def __init__(self, file: TextIO | None = None):
        self.file = file
        self.bar: tqdm | None = None  # drawn at the first state, so it never shows a made-up one
        self.last: tuple | None = None

    def update(self, job: Job) -> None:
        progress = job.progress
        state = (job.stage, progress.done, progress.total, progress.confidence, progress.settled)
        if self.bar is None:
            self.bar, self.last = self._open(job), state  # drawn as it opens
            end_log_line(self.bar)
            return
        if state == self.last and not self._interactive():
            return  # into a log file, a line only when something changed, not one per poll
        self.last = state
        self.bar.set_description_str(job.stage.value, refresh=False)
        self.bar.set_postfix_str(postfix(job), refresh=False)
        self.bar.n = min(100.0, progress.percent)
        if not job.done:  # the final state is drawn once, by close()
            redraw(self.bar)

    def _open(self, job: Job) -> tqdm:
        # disable=False: show the bar even when stderr is not a terminal (logs, CI), as asked for.
        stream = self.file or sys.stderr
        return tqdm(total=100.0, initial=min(100.0, job.progress.percent), desc=job.stage.value,
                    postfix=postfix(job), bar_format=BAR_FORMAT, file=stream, disable=False, leave=True,
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


def redraw(bar: tqdm) -> None:
    bar.refresh()
    end_log_line(bar)


def end_log_line(bar: tqdm) -> None:
    """Into a log file, each state drawn ends its line: tqdm only returns the carriage, which a
    terminal redraws in place but which leaves a log one line of every state polled."""
    if not _is_terminal(bar.fp):
        bar.fp.write("\n")


def _size(stream) -> dict:
    """On a terminal, its size (width at most 100), with a fallback where it reports none: tqdm
    draws nothing on a terminal of size 0 (e.g. under `script`). Elsewhere tqdm's compact bar."""
    if not _is_terminal(stream):
        return {}
    size = shutil.get_terminal_size((100, 24))
    return {"ncols": min(100, size.columns), "nrows": size.lines or 24}


def postfix(job: Job) -> str:
    """Masks answered of the most the run may need, then the confidence, of its target when the
    run is adaptive."""
    progress, parts = job.progress, []
    if progress.total:
        parts.append(f"{progress.done}/{progress.total} masks")
    if progress.confidence is not None:
        parts.append(confidence_line(job, " / "))
    if progress.settled and job.stage is Stage.QUERYING:  # while sampling: what is certain already
        parts.append(settled_line(job))
    return ", ".join(parts)


def settled_line(job: Job) -> str:
    """"top 1 of 3 settled": the confident prefix, which a user who asked for three can hear already."""
    top_k = ((job.request or {}).get("sampling") or {}).get("top_k", 3)
    return f"top {job.progress.settled} of {top_k} settled"


def confidence_line(job: Job, of: str) -> str:
    """"confidence 0.82 / 0.95" for an adaptive run (`of` joins it to the target), "confidence 0.94" otherwise."""
    sampling = (job.request or {}).get("sampling") or {}
    text = f"confidence {confidence_text(job.progress.confidence)}"
    target = sampling.get("confidence")
    if sampling.get("strategy") == "adaptive" and target is not None:
        text += f"{of}{confidence_text(target)}"
    return text


STUDY_BAR_FORMAT = "{desc:<10}{n_fmt}/{total_fmt} clips|{bar}| [{elapsed}{postfix}]"
LOG_INTERVAL = 10.0  # seconds: into a log file, the tagger calls alone move a line at most this often


class StudyProgressBar:
    """Shows a study's progress: its status as the label, the clips ended as the fill, and as the
    postfix the tagger calls of all its jobs ("tagger calls 310/1024") and the clips that failed."""

    def __init__(self, file: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.file, self.clock = file, clock
        self.bar: tqdm | None = None
        self.last: tuple | None = None
        self.drawn_at = 0.0

    def update(self, study) -> None:
        progress = study.progress
        milestone = (study.status, progress.done, progress.failed, progress.cancelled)
        state = (*milestone, progress.tagger_calls_done, progress.tagger_calls_total)
        if self.bar is None:
            stream = self.file or sys.stderr
            self.bar = tqdm(total=progress.total, initial=progress.done, desc=study.status,
                            postfix=study_postfix(study), bar_format=STUDY_BAR_FORMAT, file=stream, disable=False,
                            leave=True, **_size(stream))
            self.last, self.drawn_at = state, self.clock()
            end_log_line(self.bar)
            return
        if not _is_terminal(self.bar.fp) and not self._log_line_due(state, milestone):
            return
        self.last = state
        self.bar.set_description_str(study.status, refresh=False)
        self.bar.set_postfix_str(study_postfix(study), refresh=False)
        self.bar.n = progress.done
        if not study.done:
            self.drawn_at = self.clock()
            redraw(self.bar)

    def _log_line_due(self, state: tuple, milestone: tuple) -> bool:
        """Into a log file: a line when a clip ends or the status changes; when only the tagger calls
        moved (every poll, in a study of many jobs), at most one every LOG_INTERVAL."""
        if state == self.last:
            return False
        return milestone != self.last[:len(milestone)] or self.clock() - self.drawn_at >= LOG_INTERVAL

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def study_postfix(study) -> str:
    progress = study.progress
    parts = [f"tagger calls {progress.tagger_calls_done}/{progress.tagger_calls_total}"]
    if progress.failed:
        parts.append(f"{progress.failed} failed")
    if progress.cancelled:
        parts.append(f"{progress.cancelled} cancelled")
    return ", ".join(parts)
