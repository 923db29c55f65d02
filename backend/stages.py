"""The stages of an explanation job."""
from __future__ import annotations

from enum import Enum


class Stage(str, Enum):
    QUEUED = "queued"
    SEPARATING = "separating"
    QUERYING = "querying"
    FITTING = "fitting"
    CHECKING = "checking"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def done(self) -> bool:
        return self in (Stage.FINISHED, Stage.FAILED, Stage.CANCELLED)

    @property
    def running(self) -> bool:
        return self in (Stage.SEPARATING, Stage.QUERYING, Stage.FITTING, Stage.CHECKING)
