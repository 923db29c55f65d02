"""What one explanation is asked to do: segments, targets, the surrogate, how to sample, the self-check."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .components import DEFAULT_FADE_SECONDS, MAX_FADE_SECONDS
from .errors import InvalidOptionError
from .sampling import SamplingSettings, Strategy
from .surrogate import SurrogateOptions


@dataclass(frozen=True)
class ExplainSettings:
    samples: int | None = None  # the fixed count; with adaptive sampling, the cap unless max_samples says
    seed: int = 0
    segments: int | tuple[float, ...] | None = None  # a count, inner boundaries in s, or ~1/s up to 10
    residual: bool = False
    fade_seconds: float = DEFAULT_FADE_SECONDS
    tags: tuple[str, ...] = ()
    top_k: int = 1  # tags to explain when `tags` is empty: the tagger's top ones for the original
    surrogate: SurrogateOptions = field(default_factory=SurrogateOptions)
    self_check_k: int = 3
    batch_size: int = 32
    sampling: SamplingSettings | None = None  # None: fixed when `samples` is given (as before), else adaptive

    def __post_init__(self):
        for name in ("self_check_k", "batch_size", "top_k"):
            _check_int(name, getattr(self, name), 0 if name == "self_check_k" else 1)
        if self.samples is not None:
            _check_int("samples", self.samples, 1)
            if self.samples < 2:
                raise InvalidOptionError(f"samples must be at least 2 (the original and one more), got {self.samples}")
        _check_int("seed", self.seed, 0)
        if isinstance(self.fade_seconds, bool) or not isinstance(self.fade_seconds, (int, float)) \
                or not 0.0 <= self.fade_seconds <= MAX_FADE_SECONDS:
            raise InvalidOptionError(f"fade_seconds must be 0 to {MAX_FADE_SECONDS} s, got {self.fade_seconds!r}")
        if isinstance(self.segments, list):
            object.__setattr__(self, "segments", tuple(self.segments))
        if isinstance(self.surrogate, dict):
            object.__setattr__(self, "surrogate", SurrogateOptions(**self.surrogate))
        if isinstance(self.sampling, dict):
            object.__setattr__(self, "sampling", SamplingSettings(**self.sampling))
        object.__setattr__(self, "tags", tuple(self.tags))

    def sampling_plan(self) -> SamplingSettings:
        """How this explanation samples, every choice made (strategy, cap, design)."""
        if self.sampling is None:
            strategy = Strategy.FIXED if self.samples is not None else Strategy.ADAPTIVE
            return SamplingSettings(strategy=strategy).resolved(self.samples)
        return self.sampling.resolved(self.samples)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["surrogate"] = self.surrogate.to_dict()
        data["segments"] = list(self.segments) if isinstance(self.segments, tuple) else self.segments
        data["tags"] = list(self.tags)
        data["sampling"] = self.sampling_plan().to_dict()
        return data


def _check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        kind = "non-negative" if low == 0 else "positive"
        raise InvalidOptionError(f"{name} must be a {kind} integer, got {value!r}")
