"""What one API key may hold, and the room Redis has left: refused before anything is stored.

The admission itself is one Lua script in the store (`redis_scripts.ADMIT`), so that two
submissions racing for the last place cannot both get it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import redis

ROOM_FRACTION = 0.9  # of Redis's maxmemory: above it new jobs are refused, running ones still fit
ACTIVE_RETRY_AFTER = 30  # seconds: when a job of a full active quota may have ended
ADMIT_REFUSED_ACTIVE, ADMIT_REFUSED_BYTES = 1, 2  # what ADMIT answers when it refuses


@dataclass(frozen=True)
class Quota:
    """What one API key may hold at once; 0 means no limit."""
    active_jobs: int | None = 0  # explanations queued or running; None: a study's job, admitted with its study
    stored_bytes: int = 0  # audio, stems and results kept


class QuotaExceeded(Exception):
    """An owner's quota is used up; `retry_after` says when trying again may succeed."""

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


class StorageFull(Exception):
    """Redis is (nearly) out of memory: new jobs are refused rather than stored jobs lost."""


def check_room(connection: redis.Redis, size: int) -> None:
    """Refuse new work while Redis is nearly full: what is stored, and what running jobs
    will still write (checkpoints, stems, results), must keep fitting (noeviction)."""
    memory = connection.info("memory")
    limit = int(memory.get("maxmemory", 0))
    used = int(memory["used_memory"])
    if limit and used + 2 * size > ROOM_FRACTION * limit:
        raise StorageFull(f"the job store is nearly full ({used:,} of {limit:,} bytes used); try again when "
                          "finished explanations have expired or been deleted")


def active_quota_error(active: int) -> QuotaExceeded:
    return QuotaExceeded(f"this API key has {active} explanations queued or running, its limit; submit more "
                         "when one of them has ended", ACTIVE_RETRY_AFTER)


def bytes_quota_error(kept: int, size: int, limit: int, oldest_expires: float | None) -> QuotaExceeded:
    retry_after = max(1, int(oldest_expires - time.time())) if oldest_expires else ACTIVE_RETRY_AFTER
    return QuotaExceeded(f"this API key keeps {kept:,} bytes of audio and results; with this upload "
                         f"({size:,} bytes) that is over its limit of {limit:,}; delete explanations it no "
                         "longer needs (DELETE /explanations/{id}) or wait until the oldest expires", retry_after)


def active_studies_error(active: int) -> QuotaExceeded:
    return QuotaExceeded(f"this API key has {active} studies with explanations queued or running, its limit "
                         "(AUDIOLIME_QUOTA_ACTIVE_STUDIES); submit another when one of them has ended, or "
                         "delete one (DELETE /studies/{id})", ACTIVE_RETRY_AFTER)


def study_bytes_quota_error(clips: int, size: int, limit: int, retry_after: int) -> QuotaExceeded:
    return QuotaExceeded(f"this API key's kept audio and results, with this study's {clips} clips ({size:,} bytes "
                         f"of audio), would be over its limit of {limit:,} bytes; nothing of the study was kept; "
                         "delete explanations or studies it no longer needs, or wait until the oldest expires",
                         retry_after)
