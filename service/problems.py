"""Every error the API answers is application/problem+json (RFC 9457)."""
from __future__ import annotations

import logging

import redis
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from engine.errors import InvalidAudioError, InvalidInputError, InvalidSourcesError
from backend.job_request import LimitError
from backend.quotas import QuotaExceeded, StorageFull

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
FULL_RETRY_AFTER = 60  # seconds: a full store frees up as jobs expire or are deleted


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str, headers: dict | None = None, **extra):
        super().__init__(detail)
        self.status, self.title, self.detail, self.headers, self.extra = status, title, detail, headers, extra


def problem_response(status: int, title: str, detail: str, headers: dict | None = None, **extra):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _from_input_error(exc: InvalidInputError):
    """The title is the class's (as a failed job's is); the status says whose fault it is: 422 for
    content the service understood but cannot take, 400 for a malformed request."""
    unprocessable = isinstance(exc, (LimitError, InvalidAudioError, InvalidSourcesError))
    return problem_response(422 if unprocessable else 400, exc.title, str(exc))


def register(app: Flask) -> None:
    app.register_error_handler(Problem, lambda p: problem_response(p.status, p.title, p.detail, p.headers, **p.extra))
    app.register_error_handler(InvalidInputError, _from_input_error)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        limit = request.max_content_length  # the route's own limit (service.app, service.views.studies)
        sent = request.content_length
        size = f"{sent:,} bytes were sent" if sent else "the upload is larger"
        return problem_response(413, "Upload too large", f"{size}; this service takes at most {limit:,} bytes "
                                "per request (audio, stems and settings together)")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        allowed = getattr(exc, "valid_methods", None)
        headers = {"Allow": ", ".join(allowed)} if allowed else None
        return problem_response(exc.code or 500, exc.name, exc.description or exc.name, headers)

    @app.errorhandler(QuotaExceeded)
    def over_quota(exc: QuotaExceeded):
        return problem_response(429, "Quota exceeded", str(exc), {"Retry-After": str(exc.retry_after)})

    @app.errorhandler(StorageFull)
    def storage_full(exc: StorageFull):
        return problem_response(507, "Insufficient storage", str(exc), {"Retry-After": str(FULL_RETRY_AFTER)})

    @app.errorhandler(redis.OutOfMemoryError)
    def redis_full(exc: redis.OutOfMemoryError):
        log.warning("Redis refused a write: %s", exc)
        return problem_response(507, "Insufficient storage", "the job store (Redis) is full, so nothing new can "
                                "be kept; stored explanations are safe; try again later",
                                {"Retry-After": str(FULL_RETRY_AFTER)})

    @app.errorhandler(redis.RedisError)
    def redis_down(exc: redis.RedisError):
        log.warning("Redis unavailable: %s", exc)
        return problem_response(503, "Service unavailable", "the job store (Redis) is not reachable; "
                                "try again shortly", {"Retry-After": "5"})

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return problem_response(500, "Internal server error", "an unexpected error occurred; it has been logged")
