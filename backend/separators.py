"""Every separator the service offers, in one place.

A separator is listed with its name, the sources it yields, how to tell whether what it
needs is present (for the submission check, /healthz and a worker's preload; never by
loading a model), and how a worker process builds it, once: a dotted path to a factory
`build(settings, separator) -> engine Separator`, where `separator(name)` gives the
process's other separators (a refinement builds on its base). The API never resolves
that path, so it never imports TensorFlow. Adding a separator is one module and one
`register` line; `AUDIOLIME_SEPARATOR_PLUGINS` names modules that register more.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from engine.errors import InvalidOptionError, ModelMissingError
from backend.spleeter_files import check_model

PROVIDED = "provided"  # the user's own stems: no separator at all
DEFAULT = "spleeter:2stems"


@dataclass(frozen=True)
class SeparatorKind:
    name: str
    sources: tuple[str, ...] | None  # in component order; None: they depend on the audio (bands by rate)
    summary: str
    factory: str  # "module:function", resolved in the worker process only
    missing: Callable[[object], str | None] = lambda settings: None  # what is missing, or None: ready


_REGISTRY: dict[str, SeparatorKind] = {}


def register(kind: SeparatorKind) -> SeparatorKind:
    _REGISTRY[kind.name] = kind
    return kind


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def kinds() -> tuple[SeparatorKind, ...]:
    return tuple(_REGISTRY.values())


def kind(name: str) -> SeparatorKind:
    if name not in _REGISTRY:
        raise InvalidOptionError(f"unknown separator {name!r}; use one of {list(names()) + [PROVIDED]}")
    return _REGISTRY[name]


def factory(name: str) -> Callable:
    module, _, function = kind(name).factory.partition(":")
    return getattr(importlib.import_module(module), function)


def load_plugins(modules: tuple[str, ...]) -> None:
    """Import the modules that register separators of their own (both the API and the workers do)."""
    for module in modules:
        importlib.import_module(module)


def _spleeter_missing(stems: str):
    def missing(settings) -> str | None:
        try:
            check_model(settings.model_dir, stems)
        except ModelMissingError as exc:
            return str(exc)
        return None
    return missing


SPLEETER_SOURCES = {"2stems": ("vocals", "accompaniment"), "4stems": ("vocals", "drums", "bass", "other"),
                    "5stems": ("vocals", "drums", "bass", "piano", "other")}

for _stems, _sources in SPLEETER_SOURCES.items():
    register(SeparatorKind(f"spleeter:{_stems}", _sources, f"Spleeter {_stems} (deezer/spleeter 2.4.2)",
                           "worker.separators:spleeter", _spleeter_missing(_stems)))
register(SeparatorKind("hpss", ("harmonic", "percussive"),
                       "harmonic/percussive separation by median filtering (Fitzgerald 2010); no model",
                       "worker.separators:hpss"))
register(SeparatorKind("spleeter:2stems+hpss", ("vocals", "harmonic", "percussive"),
                       "Spleeter's vocals, and its accompaniment split into harmonic and percussive",
                       "worker.separators:spleeter_hpss", _spleeter_missing("2stems")))
register(SeparatorKind("slime", None, "SLIME's frequency bands (8, mel-spaced): components are band x segment",
                       "worker.separators:slime"))
