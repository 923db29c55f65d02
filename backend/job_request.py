"""An explanation request: validated once by the API, read again by the worker."""
from __future__ import annotations

from dataclasses import dataclass, fields

from backend import separators
from backend.separators import PROVIDED
from engine.errors import InvalidOptionError
from engine.sampling import SamplingSettings
from engine.settings import ExplainSettings, FaithfulnessSettings, VerificationSettings
from engine.surrogate import SurrogateOptions
from backend.config import Settings
from backend.tagger.spec import TaggerSpec

FIELDS = {"tagger", "separator", "segments", "samples", "seed", "residual", "targets", "surrogate",
          "self_check_k", "fade_seconds", "sampling", "faithfulness", "verification", "off",
          "check_off", "reuse"}
SAMPLING_FIELDS = {f.name for f in fields(SamplingSettings)}
MAX_RANDOM_DRAWS = 100  # faithfulness.random: each draw is two tagger calls per k and tag
OFF_MEANING = "the name of a way to switch a component off: silence or cut"
MAX_VERIFICATION_BUDGET = 1024  # verification.budget: tagger calls per tag and part


@dataclass(frozen=True)
class JobRequest:
    tagger: TaggerSpec
    separator: str
    settings: ExplainSettings
    reuse: bool = True  # answers the same key's earlier jobs got in the same context may stand in for calls

    @classmethod
    def from_dict(cls, data: dict, limits: Settings) -> "JobRequest":
        if not isinstance(data, dict):
            raise InvalidOptionError("the request must be a JSON object")
        unknown = sorted(set(data) - FIELDS)
        if unknown:
            raise InvalidOptionError(f"unknown request fields {unknown}; known: {sorted(FIELDS)}")
        if "tagger" not in data:
            raise InvalidOptionError("`tagger` is required: at least {\"url\": …}")
        separator = data.get("separator", separators.DEFAULT)
        if not isinstance(separator, str):
            raise InvalidOptionError(f"`separator` must be a name, got {separator!r}")
        if separator != PROVIDED:
            separators.kind(separator)  # an unknown one is refused here
        _check_sampling_asked(data.get("sampling"))
        request = cls(TaggerSpec.from_dict(data["tagger"]), separator, _settings(data),
                      _typed(data, "reuse", bool, True, "true or false"))
        request.check_limits(limits)
        return request

    def check_limits(self, limits: Settings) -> None:
        s, t = self.settings, self.tagger
        plan = s.sampling_plan()
        checks = [("samples", s.samples or 0, limits.max_samples),
                  ("sampling.max_samples", plan.max_samples, limits.max_samples),
                  ("self_check_k", s.self_check_k, limits.max_self_check_k),
                  ("faithfulness.random", s.faithfulness.random_draws, MAX_RANDOM_DRAWS),
                  ("verification.budget", s.verification.budget, MAX_VERIFICATION_BUDGET),
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
                "samples": s.samples, "sampling": s.sampling_plan().to_dict(), "seed": s.seed,
                "residual": s.residual, "fade_seconds": s.fade_seconds,
                "targets": {"tags": list(s.tags)} if s.tags else {"top_k": s.top_k},
                "surrogate": s.surrogate.to_dict(), "self_check_k": s.self_check_k,
                "faithfulness": s.faithfulness.to_dict(), "verification": s.verification.to_dict(),
                "off": s.off.value, "check_off": s.check_off.value, "reuse": self.reuse}


def _check_sampling_asked(sampling) -> None:
    """What a user asks that would be silently ignored is refused instead (stored forms have it all)."""
    if not isinstance(sampling, dict):
        return
    adaptive_only = sorted(set(sampling) & {"min_samples", "max_samples", "round_size"})
    if sampling.get("strategy") == "fixed" and adaptive_only:
        raise InvalidOptionError(f"sampling {adaptive_only} apply to adaptive runs; a fixed run asks exactly "
                                 "`samples` masks")


class LimitError(InvalidOptionError):
    """A request bigger than this service allows."""
    title = "Over a limit"


def settings_from_public(request: dict) -> ExplainSettings:
    """ExplainSettings from a stored request (as written by `to_dict`). One stored before the checks
    had a way of switching off of their own switched them off as its sampling did."""
    return _settings({"check_off": request.get("off"), **request})


def _settings(data: dict) -> ExplainSettings:
    targets = _typed(data, "targets", dict, {}, "an object: {\"tags\": [...]} or {\"top_k\": K}")
    if set(targets) - {"tags", "top_k"} or len(targets) > 1:
        raise InvalidOptionError("`targets` must be {\"tags\": [...]} or {\"top_k\": K}")
    tags = _typed(targets, "tags", list, [], "a list of tag names", path="targets.tags")
    if not all(isinstance(t, str) for t in tags):
        raise InvalidOptionError("`targets.tags` must be a list of tag names")
    surrogate = _typed(data, "surrogate", dict, {}, "an object")
    unknown = sorted(set(surrogate) - {"kernel_width", "alpha", "feature_selection", "num_features"})
    if unknown:
        raise InvalidOptionError(f"unknown surrogate settings {unknown}")
    sampling = _typed(data, "sampling", dict, None, "an object: {\"strategy\": \"adaptive\", \"confidence\": …}")
    if sampling is not None:
        unknown = sorted(set(sampling) - SAMPLING_FIELDS)
        if unknown:
            raise InvalidOptionError(f"unknown sampling settings {unknown}; known: {sorted(SAMPLING_FIELDS)}")
        sampling = SamplingSettings(**sampling)
    faithfulness = _typed(data, "faithfulness", dict, {}, "an object: {\"random\": R, \"deletion\": true}")
    verification = _typed(data, "verification", dict, {}, "an object: {\"budget\": calls}")
    return ExplainSettings(
        samples=data.get("samples"), sampling=sampling, seed=data.get("seed", 0),
        segments=_segments_in(data.get("segments")),
        residual=_typed(data, "residual", bool, False, "true or false"),
        fade_seconds=_typed(data, "fade_seconds", (int, float), 0.005, "a number of seconds"),
        tags=tuple(tags), top_k=targets.get("top_k", 1), surrogate=SurrogateOptions(**surrogate),
        self_check_k=data.get("self_check_k", 3), faithfulness=FaithfulnessSettings.from_dict(faithfulness),
        verification=VerificationSettings.from_dict(verification),
        off=_typed(data, "off", str, ExplainSettings.off.value, OFF_MEANING),
        check_off=_typed(data, "check_off", str, ExplainSettings.check_off.value, OFF_MEANING))


def _typed(data: dict, name: str, kind, default, meaning: str, path: str | None = None):
    """data[name] if it is of `kind` (booleans count as numbers nowhere), the default if absent or null."""
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidOptionError(f"`{path or name}` must be {meaning}, got {value!r}")
    return value


def _segments_in(segments):
    """A positive count, a list of boundaries in seconds, or None for the default."""
    if segments is None:
        return None
    if isinstance(segments, int) and not isinstance(segments, bool):
        if segments < 1:
            raise InvalidOptionError(f"`segments` must be at least 1, got {segments}")
        return segments
    if isinstance(segments, list) and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in segments):
        return tuple(float(b) for b in segments)
    raise InvalidOptionError(f"`segments` must be a count or a list of boundaries in seconds, got {segments!r}")


def _segments_out(segments):
    return list(segments) if isinstance(segments, tuple) else segments
