"""An explanation request: validated once by the API, read again by the worker."""
from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InvalidOptionError
from engine.pipeline import ExplainSettings
from engine.surrogate import SurrogateOptions
from worker.config import Settings
from worker.tagger.spec import TaggerSpec

PROVIDED = "provided"
SEPARATORS = ("spleeter:2stems", "spleeter:4stems", "spleeter:5stems", PROVIDED)
FIELDS = {"tagger", "separator", "segments", "samples", "seed", "residual", "targets", "surrogate",
          "self_check_k", "fade_seconds"}


@dataclass(frozen=True)
class JobRequest:
    tagger: TaggerSpec
    separator: str
    settings: ExplainSettings

    @classmethod
    def from_dict(cls, data: dict, limits: Settings) -> "JobRequest":
        if not isinstance(data, dict):
            raise InvalidOptionError("the request must be a JSON object")
        unknown = sorted(set(data) - FIELDS)
        if unknown:
            raise InvalidOptionError(f"unknown request fields {unknown}; known: {sorted(FIELDS)}")
        if "tagger" not in data:
            raise InvalidOptionError("`tagger` is required: at least {\"url\": …}")
        separator = data.get("separator", "spleeter:2stems")
        if separator not in SEPARATORS:
            raise InvalidOptionError(f"unknown separator {separator!r}; use one of {list(SEPARATORS)}")
        request = cls(TaggerSpec.from_dict(data["tagger"]), separator, _settings(data))
        request.check_limits(limits)
        return request

    def check_limits(self, limits: Settings) -> None:
        s, t = self.settings, self.tagger
        checks = [("samples", s.samples, limits.max_samples), ("self_check_k", s.self_check_k, limits.max_self_check_k),
                  ("targets", len(s.tags) or s.top_k, limits.max_tags),
                  ("tagger.batch_size", t.batch_size, limits.max_batch_size),
                  ("tagger.concurrency", t.concurrency, limits.max_concurrency)]
        if isinstance(s.segments, int):
            checks.append(("segments", s.segments, limits.max_segments))
        elif isinstance(s.segments, tuple):
            checks.append(("segments", len(s.segments) + 1, limits.max_segments))
        for name, value, limit in checks:
            if value > limit:
                raise LimitError(f"{name} is {value}, over this service's limit of {limit}")

    def to_dict(self) -> dict:
        """The public form (stored with the job and returned to its owner): no header values."""
        s = self.settings
        return {"tagger": self.tagger.public(), "separator": self.separator, "segments": _segments_out(s.segments),
                "samples": s.samples, "seed": s.seed, "residual": s.residual, "fade_seconds": s.fade_seconds,
                "targets": {"tags": list(s.tags)} if s.tags else {"top_k": s.top_k},
                "surrogate": s.surrogate.to_dict(), "self_check_k": s.self_check_k}


class LimitError(InvalidOptionError):
    """A request bigger than this service allows."""


def settings_from_public(request: dict) -> ExplainSettings:
    """ExplainSettings from a stored request (as written by `to_dict`)."""
    return _settings(request)


def _settings(data: dict) -> ExplainSettings:
    targets = data.get("targets") or {}
    if not isinstance(targets, dict) or set(targets) - {"tags", "top_k"} or len(targets) > 1:
        raise InvalidOptionError("`targets` must be {\"tags\": [...]} or {\"top_k\": K}")
    tags = targets.get("tags") or ()
    if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags):
        raise InvalidOptionError("`targets.tags` must be a list of tag names")
    surrogate = data.get("surrogate") or {}
    if not isinstance(surrogate, dict):
        raise InvalidOptionError("`surrogate` must be an object")
    unknown = sorted(set(surrogate) - {"kernel_width", "alpha", "feature_selection", "num_features"})
    if unknown:
        raise InvalidOptionError(f"unknown surrogate settings {unknown}")
    segments = data.get("segments")
    if isinstance(segments, bool) or (segments is not None and not isinstance(segments, (int, list))):
        raise InvalidOptionError("`segments` must be a count or a list of boundaries in seconds")
    if isinstance(segments, list) and not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in segments):
        raise InvalidOptionError("`segments` boundaries must be numbers of seconds")
    residual = data.get("residual", False)
    if not isinstance(residual, bool):
        raise InvalidOptionError("`residual` must be true or false")
    fade = data.get("fade_seconds", 0.005)
    if isinstance(fade, bool) or not isinstance(fade, (int, float)):
        raise InvalidOptionError("`fade_seconds` must be a number")
    return ExplainSettings(
        samples=data.get("samples", 2048), seed=data.get("seed", 0),
        segments=tuple(segments) if isinstance(segments, list) else segments,
        residual=residual, fade_seconds=float(fade), tags=tuple(tags), top_k=targets.get("top_k", 1),
        surrogate=SurrogateOptions(**surrogate), self_check_k=data.get("self_check_k", 3))


def _segments_out(segments):
    return list(segments) if isinstance(segments, tuple) else segments
