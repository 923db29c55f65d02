"""The Redis connection: one per process, riding out short outages by itself."""
from __future__ import annotations

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry


def connect(url: str) -> redis.Redis:
    """A client that retries a command for about ten seconds while Redis restarts."""
    retry = Retry(ExponentialBackoff(cap=2.0, base=0.1), retries=8)
    return redis.Redis.from_url(url, retry=retry,
                                retry_on_error=[redis.ConnectionError, redis.TimeoutError],
                                socket_connect_timeout=2, socket_timeout=10, health_check_interval=15)


def connect_fast_fail(url: str) -> redis.Redis:
    """For the API: answer 503 at once rather than hold a request while Redis is away."""
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5, health_check_interval=15,
                                retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1),
                                retry_on_error=[redis.ConnectionError, redis.TimeoutError])
