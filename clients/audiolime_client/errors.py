"""One exception tree for everything the client can run into.

    AudiolimeError
    ├── UsageError               bad arguments, refused before anything is sent (also a builtin ValueError)
    ├── ApiError                 the API answered an error (problem+json fields attached)
    │   ├── BadRequest           400
    │   ├── Unauthorized         401
    │   ├── NotFound             404
    │   ├── NotReady             409 (audio asked for before the job finished)
    │   ├── PayloadTooLarge      413
    │   ├── UnsupportedMediaType 415
    │   ├── Unprocessable        422
    │   └── ServerError          5xx; 502/503/504 only after the retries
    │       └── ServiceUnavailable  503
    ├── ConnectionFailed         no answer at all (or a broken one), after the retries
    ├── UnexpectedResponse       an answer that is not the API's (is the base URL right?)
    ├── JobStateError            no result: the job is not finished (`job` attached)
    │   ├── JobFailed            the job ended `failed`; `job.error` says why
    │   │   └── StudyFailed      every clip of a study failed (`study`, also as `job`; its clips' errors)
    │   ├── JobCancelled         the job ended `cancelled`
    │   │   └── StudyCancelled   a study ended `cancelled` (its clips' jobs were cancelled)
    │   └── JobNotFinished       it is still queued or running
    └── Timeout                  waiting took longer than allowed (also a builtin TimeoutError)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # models import nothing from here, but keep the import one-way at run time
    from audiolime_client.models import Job
    from audiolime_client.study_models import Study

PROBLEM_FIELDS = ("type", "title", "status", "detail")


class AudiolimeError(Exception):
    """Base of every error this package raises."""


class UsageError(AudiolimeError, ValueError):
    """The caller's arguments are wrong; raised before any request is sent, so retrying cannot help.
    A ValueError too, so `except ValueError` written before this class existed still catches it."""


class ApiError(AudiolimeError):
    """An error answer of the API, with the fields of its application/problem+json body."""

    def __init__(self, status: int, title: str, detail: str, *, type: str = "about:blank",
                 extras: dict[str, Any] | None = None, method: str = "", url: str = "",
                 retry_after: float | None = None):
        self.status, self.title, self.detail, self.type = status, title, detail, type
        self.extras = dict(extras or {})
        self.method, self.url, self.retry_after = method, url, retry_after
        super().__init__(f"{status} {title}: {detail}")

    @classmethod
    def from_problem(cls, status: int, body: Any, **context) -> "ApiError":
        """The right subclass for `status`, filled from a problem+json body (or whatever came)."""
        problem = body if isinstance(body, dict) else {}
        title = str(problem.get("title") or _REASONS.get(status, "HTTP error"))
        detail = str(problem.get("detail") or (body if isinstance(body, str) and body else title))
        extras = {k: v for k, v in problem.items() if k not in PROBLEM_FIELDS}
        kind = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
        return kind(status, title, detail, type=str(problem.get("type", "about:blank")), extras=extras, **context)


class BadRequest(ApiError):
    """400: the request's settings are wrong; the detail says which."""


class Unauthorized(ApiError):
    """401: no API key, or not a valid one."""


class NotFound(ApiError):
    """404: no such job for this API key (or it expired), source, component or tag."""


class NotReady(ApiError):
    """409: the job's audio does not exist yet."""


class PayloadTooLarge(ApiError):
    """413: the upload is over the service's size limit."""


class UnsupportedMediaType(ApiError):
    """415: not multipart/form-data."""


class Unprocessable(ApiError):
    """422: the audio or stems cannot be used, or a limit is exceeded."""


class ServerError(ApiError):
    """A 5xx answer: the service failed (500) or a proxy in front of it did (502, 504)."""


class ServiceUnavailable(ServerError):
    """503: the service is up but cannot work now (its Redis is away); still so after the retries."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest, 401: Unauthorized, 404: NotFound, 409: NotReady, 413: PayloadTooLarge,
    415: UnsupportedMediaType, 422: Unprocessable, 503: ServiceUnavailable,
}
_REASONS = {400: "Bad request", 401: "Unauthorized", 404: "Not found", 409: "Conflict", 413: "Payload too large",
            415: "Unsupported media type", 422: "Unprocessable", 500: "Internal server error",
            502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}


class ConnectionFailed(AudiolimeError):
    """The service could not be reached (refused, reset, timed out), after `attempts` tries."""

    def __init__(self, message: str, *, url: str = "", attempts: int = 1):
        self.url, self.attempts = url, attempts
        super().__init__(message)


class UnexpectedResponse(AudiolimeError):
    """A success answer that is not what openapi.yaml says (often: the base URL is another server)."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None):
        self.url, self.status = url, status
        super().__init__(message)


class JobStateError(AudiolimeError):
    """The job is not finished, so there is no result; `job` is its last state seen."""

    def __init__(self, message: str, job: "Job"):
        self.job = job
        super().__init__(message)


class JobFailed(JobStateError):
    """The job failed; `job.error` says why (stage, tagger HTTP status, attempts, batch)."""


class JobCancelled(JobStateError):
    """The job was cancelled (DELETE) before it finished."""


class StudyFailed(JobFailed):
    """Every clip of the study failed; `study` (also `job`) is its last state, its clips' errors included."""

    @property
    def study(self) -> "Study":
        return self.job


class StudyCancelled(JobCancelled):
    """The study ended `cancelled`: no clip finished, and not every one failed."""

    @property
    def study(self) -> "Study":
        return self.job


class JobNotFinished(JobStateError):
    """A result was asked for while the job is still queued or running."""


class Timeout(AudiolimeError, TimeoutError):
    """The job (or study) did not end within the time allowed; `job` is its last state seen."""

    def __init__(self, message: str, job: "Job | Study | None" = None):
        self.job = job
        super().__init__(message)


def raise_for_outcome(job: "Job") -> "Job":
    """The job if it finished; its failure or cancellation as an exception, JobNotFinished if it runs."""
    stage = getattr(job.stage, "value", job.stage)
    if stage == "failed":
        raise JobFailed(f"job {job.id} failed: {job.error or '(no reason given)'}", job)
    if stage == "cancelled":
        raise JobCancelled(f"job {job.id} was cancelled", job)
    if stage != "finished":
        raise JobNotFinished(f"job {job.id} is still {stage} ({job.progress.percent:.1f}%)", job)
    return job


def raise_for_study(study: "Study") -> "Study":
    """The study once it has ended with a report (finished, some clips perhaps failed); StudyFailed
    when every clip failed, StudyCancelled when it was cancelled, JobNotFinished while it runs."""
    if study.status == "failed":
        failed = [clip for clip in study.clips or () if clip.status == "failed"]
        first = f"; {failed[0].clip}: {failed[0].error_text}" if failed else ""
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise StudyFailed(f"study {study.id} failed: every clip failed{first}{more}", study)
    if study.status == "cancelled":
        raise StudyCancelled(f"study {study.id} was cancelled ({study.progress.cancelled} of "
                             f"{study.progress.total} clips cancelled)", study)
    if not study.done:
        raise JobNotFinished(f"study {study.id} is still {study.status} ({study.progress.done} of "
                             f"{study.progress.total} clips ended)", study)
    return study
