"""Redis connections: the API fails fast, the workers ride out outages.

A worker that gives up on Redis loses its job's answers in flight and leaves
the job `running` for the reaper; one that waits loses nothing. So worker
connections retry every command with capped, jittered backoff for as long as
Redis is away (saying so in the log), and the job carries on where it stood.
"""
from __future__ import annotations

import logging
import random

import redis
from redis.backoff import AbstractBackoff, ExponentialBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)
OUTAGE_BACKOFF_BASE = 0.1  # seconds before the first retry
OUTAGE_BACKOFF_CAP = 3.0  # at most this between attempts, so a returning Redis is seen within seconds
LOG_EVERY = 20  # failed attempts between two warnings of one command (about a minute)


class OutageBackoff(AbstractBackoff):
    """Exponential backoff with full jitter (workers do not reconnect in step), and a log line."""

    def reset(self) -> None:
        pass

    def compute(self, failures: int) -> float:
        if failures == 1 or failures % LOG_EVERY == 0:
            log.warning("Redis is unreachable (attempt %d of a command); waiting for it to come back", failures)
        return random.uniform(0, min(OUTAGE_BACKOFF_CAP, OUTAGE_BACKOFF_BASE * 2 ** failures))


def outage_retry() -> Retry:
    """Retry connection errors and timeouts until Redis answers (retries=-1: no limit)."""
    return Retry(OutageBackoff(), retries=-1,
                 supported_errors=(redis.ConnectionError, redis.TimeoutError, ConnectionError, TimeoutError))


def connect(url: str) -> redis.Redis:
    """A worker's client: every command waits out a Redis outage, however long."""
    return redis.Redis.from_url(url, retry=outage_retry(),
                                retry_on_error=[redis.ConnectionError, redis.TimeoutError],
                                socket_connect_timeout=2, socket_timeout=10, health_check_interval=15)


def ride_out_outages(connection: redis.Redis) -> redis.Redis:
    """Give an existing client (RQ's own, built from `rq worker -u`) the worker's retry policy."""
    connection.set_retry(outage_retry())
    return connection


def connect_fast_fail(url: str) -> redis.Redis:
    """For the API: answer 503 at once rather than hold a request while Redis is away."""
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5, health_check_interval=15,
                                retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1),
                                retry_on_error=[redis.ConnectionError, redis.TimeoutError])
