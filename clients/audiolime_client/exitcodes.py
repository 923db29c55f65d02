"""The command line's exit codes: scripts may rely on them."""
from __future__ import annotations

from enum import IntEnum

from audiolime_client.models import Stage


class Exit(IntEnum):
    OK = 0  # done (status: the job is queued, running or finished)
    JOB_FAILED = 1  # the job failed; the reason is on stderr
    USAGE = 2  # bad arguments or options (nothing submitted, cancelled or written)
    API_ERROR = 3  # the API refused the request (4xx: bad settings, unknown id, wrong API key…) or is not the API
    UNAVAILABLE = 4  # the service is unreachable or answers 5xx, after the retries
    TIMEOUT = 5  # the job did not end within --timeout (it keeps running)
    CANCELLED = 6  # the job was cancelled
    FILE_ERROR = 7  # an input could not be read or an output not written
    INTERRUPTED = 130  # Ctrl-C (the job keeps running)


def for_stage(stage: Stage) -> Exit:
    """The exit code a job's stage means: `status`, `wait` and `download` all answer the same way."""
    return {Stage.FAILED: Exit.JOB_FAILED, Stage.CANCELLED: Exit.CANCELLED}.get(stage, Exit.OK)


EPILOG = "exit codes:\n" + "\n".join(
    f"  {code.value:>3}  {line}" for code, line in (
        (Exit.OK, "done (status: the job is queued, running or finished)"),
        (Exit.JOB_FAILED, "the job failed (the reason is printed on stderr)"),
        (Exit.USAGE, "bad arguments or options; nothing was submitted, cancelled or written"),
        (Exit.API_ERROR, "the API refused the request (4xx: bad settings, unknown id, wrong API key),\n"
                         "       or what answered is not the API (check --url)"),
        (Exit.UNAVAILABLE, "the service is unreachable or answers 5xx (after retrying)"),
        (Exit.TIMEOUT, "the job did not end within --timeout (it keeps running)"),
        (Exit.CANCELLED, "the job was cancelled"),
        (Exit.FILE_ERROR, "an input file could not be read or an output not written"),
        (Exit.INTERRUPTED, "interrupted with Ctrl-C (the job keeps running)"),
    ))
