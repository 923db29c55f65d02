"""What to explain with: the tagger's settings and the rest of the `request` part (openapi.yaml).

Fields left at None are not sent, so the service's defaults apply and stay the service's.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Sequence, Union

from audiolime_client.errors import UsageError
from audiolime_client.sampling import Sampling, SamplingLike, sampling_request

PROTOCOLS = ("json", "oip", "kserve_v1", "file_upload")
ENCODINGS = ("wav16", "wav_float", "flac")
INPUT_POLICIES = ("none", "crop", "pad", "crop_or_pad", "window")
SEPARATORS = ("spleeter:2stems", "spleeter:4stems", "spleeter:5stems", "hpss", "spleeter:2stems+hpss", "slime",
              "provided")
PROVIDED = "provided"
OFF_CHOICES = ("silence", "cut")  # what a switched-off component sounds like (request fields off, check_off)


@dataclass(frozen=True)
class TaggerSettings:
    """The remote tagger (openapi.yaml: TaggerSettings). `headers` are its secrets: never shown."""
    url: str
    protocol: str = "json"
    options: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    sample_rate: int | None = None
    channels: int | None = None
    encoding: str | None = None
    input_seconds: float | None = None
    input_policy: str | None = None
    batch_size: int | None = None
    concurrency: int | None = None
    max_rps: float | None = None
    connect_timeout: float | None = None
    read_timeout: float | None = None
    retries: int | None = None

    def __post_init__(self) -> None:
        _check_choice("protocol", self.protocol, PROTOCOLS)
        if self.encoding is not None:
            _check_choice("encoding", self.encoding, ENCODINGS)
        if self.input_policy is not None:
            _check_choice("input_policy", self.input_policy, INPUT_POLICIES)

    @classmethod
    def of(cls, value: "TaggerLike") -> "TaggerSettings":
        """From settings, a dict with the API's field names, or a bare URL."""
        if isinstance(value, TaggerSettings):
            return value
        if isinstance(value, str):
            return cls(url=value)
        if isinstance(value, Mapping):
            unknown = set(value) - {f.name for f in fields(cls)}
            if unknown:
                raise UsageError(f"unknown tagger settings: {sorted(unknown)}")
            return cls(**value)
        raise TypeError(f"tagger must be TaggerSettings, a dict or a URL, not {type(value).__name__}")

    def to_json(self) -> dict[str, Any]:
        body = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: (dict(value) if isinstance(value, Mapping) else value)
                for name, value in body.items() if value is not None and value != {}}


TaggerLike = Union[TaggerSettings, Mapping[str, Any], str]


def explanation_request(tagger: TaggerLike, *, separator: str | None = None,
                        segments: int | Sequence[float] | None = None, samples: int | None = None,
                        seed: int | None = None, tags: Sequence[str] | None = None, top_k: int | None = None,
                        residual: bool | None = None, fade_seconds: float | None = None,
                        surrogate: Mapping[str, Any] | None = None, self_check_k: int | None = None,
                        sampling: SamplingLike = None, fixed: int | None = None, strategy: str | None = None,
                        confidence: float | None = None, claim_k: int | None = None, tolerance: float | None = None,
                        min_samples: int | None = None, max_samples: int | None = None,
                        round_size: int | None = None, design: str | None = None, claim: str | None = None,
                        estimator: str | None = None, off: str | None = None,
                        check_off: str | None = None, verification_budget: int | None = None) -> dict:
    """The `request` part of a submission (openapi.yaml: ExplanationRequest).

    `top_k` is the number of the tagger's top tags to explain; `claim_k` the number of top
    components the sampling's claim is about (the API's `sampling.top_k`). The sampling settings
    come as `sampling` (Sampling or a dict) or one by one (strategy, confidence, claim_k,
    tolerance, min_samples, max_samples, round_size, design, claim, estimator); `fixed=N` asks exactly
    N masks.
    Without any, the service samples adaptively; `samples` alone is a fixed run. `off` and
    `check_off` say what a switched-off component sounds like in the sampled and in the checked
    mixes (silence or cut); `verification_budget` caps each search for a verified part."""
    if separator is not None:
        _check_choice("separator", separator, SEPARATORS)
    for name, value in (("off", off), ("check_off", check_off)):
        if value is not None:
            _check_choice(name, value, OFF_CHOICES)
    chosen = Sampling.of(sampling).merged(
        strategy=strategy, confidence=confidence, top_k=claim_k, tolerance=tolerance, min_samples=min_samples,
        max_samples=max_samples, round_size=round_size, design=design, claim=claim, estimator=estimator)
    samples, sampling_part = sampling_request(samples, chosen, fixed)
    body: dict[str, Any] = {"tagger": TaggerSettings.of(tagger).to_json(), "separator": separator,
                            "segments": list(segments) if isinstance(segments, Sequence) else segments,
                            "samples": samples, "sampling": sampling_part, "seed": seed, "residual": residual,
                            "fade_seconds": fade_seconds, "targets": _targets(tags, top_k),
                            "surrogate": dict(surrogate) if surrogate else None, "self_check_k": self_check_k,
                            "off": off, "check_off": check_off,
                            "verification": None if verification_budget is None else {"budget": verification_budget}}
    return {name: value for name, value in body.items() if value is not None}


def _targets(tags: Sequence[str] | None, top_k: int | None) -> dict | None:
    if tags is not None and top_k is not None:
        raise UsageError("give either tags to explain or top_k (the tagger's top tags), not both")
    if isinstance(tags, str):  # a lone string would otherwise be read as its letters
        tags = [tags]
    if tags is not None:
        return {"tags": list(tags)}
    return {"top_k": top_k} if top_k is not None else None


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise UsageError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
