"""How a worker builds each separator of the registry (backend/separators.py), once per process."""
from __future__ import annotations

from typing import Callable

from backend.config import Settings
from engine.hpss import HPSS
from engine.refine import Refined
from engine.separation import Separator
from engine.slime import FrequencyBands

Get = Callable[[str], Separator]  # the process's other separators, built on first use


def spleeter(settings: Settings, name: str, separator: Get) -> Separator:
    from worker.spleeter_separator import SpleeterSeparator  # noqa: PLC0415 - loads TensorFlow

    return SpleeterSeparator(settings.model_dir, name.split(":", 1)[1])


def hpss(settings: Settings, name: str, separator: Get) -> Separator:
    return HPSS()


def spleeter_hpss(settings: Settings, name: str, separator: Get) -> Separator:
    # Built on the process's own 2stems separator, so plain 2stems jobs and these share cached stems.
    return Refined(separator("spleeter:2stems"), "accompaniment", HPSS())


def slime(settings: Settings, name: str, separator: Get) -> Separator:
    return FrequencyBands()
