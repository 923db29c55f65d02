"""What one explanation is asked to do: segments, targets, the surrogate, how to sample, the checks."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .components import DEFAULT_FADE_SECONDS, MAX_FADE_SECONDS
from .errors import InvalidOptionError
from .mixing import Off
from .sampling import Estimator, SamplingSettings, Strategy
from .surrogate import FeatureSelection, SurrogateOptions


FAITHFULNESS_FIELDS = {"random", "deletion"}  # the request's names (see FaithfulnessSettings.to_dict)
VERIFICATION_FIELDS = {"budget"}
DEFAULT_VERIFICATION_BUDGET = 32  # tagger calls per tag and part, beyond the ranking's own top-k mixes
VERIFICATION_POOL = 8  # the best-ranked positive components a greedy search grows its set from


@dataclass(frozen=True)
class FaithfulnessSettings:
    """The paper's faithfulness experiment on top of the self-check, for k = 1…self_check_k (see
    engine/faithfulness.py). The default asks nothing more: an explanation costs what it did."""
    random_draws: int = 0  # R: k components drawn at random among the positive ones, kept alone and removed
    deletion: bool = False  # also the mix of every component but the top-k positive ones

    def __post_init__(self):
        _check_int("faithfulness.random", self.random_draws, 0)
        if not isinstance(self.deletion, bool):
            raise InvalidOptionError(f"faithfulness.deletion must be true or false, got {self.deletion!r}")

    @property
    def asked(self) -> bool:
        return self.random_draws > 0 or self.deletion

    def masks_per_k(self) -> int:
        """The most extra masks one tag needs per k (fewer when some coincide)."""
        return int(self.deletion) + 2 * self.random_draws

    @classmethod
    def from_dict(cls, data: dict) -> "FaithfulnessSettings":
        """From the request's form, {"random": R, "deletion": true}; an unknown key is refused."""
        if not isinstance(data, dict):
            raise InvalidOptionError(f"`faithfulness` must be an object: {{\"random\": R, \"deletion\": true}}, "
                                     f"got {data!r}")
        unknown = sorted(set(data) - FAITHFULNESS_FIELDS)
        if unknown:
            raise InvalidOptionError(f"unknown faithfulness settings {unknown}; known: {sorted(FAITHFULNESS_FIELDS)}")
        return cls(random_draws=data.get("random", 0), deletion=data.get("deletion", False))

    def to_dict(self) -> dict:
        return {"random": self.random_draws, "deletion": self.deletion}


@dataclass(frozen=True)
class VerificationSettings:
    """The search for verified sufficient and necessary sets of at most self_check_k components
    (engine/verification.py): how many tagger calls each tag's two searches may spend, each, beyond
    the ranking's own top-k mixes. 0: the ranking's top-k mixes only."""
    budget: int = DEFAULT_VERIFICATION_BUDGET

    def __post_init__(self):
        _check_int("verification.budget", self.budget, 0)

    def most_masks(self, k_max: int) -> int:
        """The most masks one tag's two searches may ask (their top-k mixes included)."""
        return 2 * (k_max + self.budget)

    @classmethod
    def from_dict(cls, data: dict) -> "VerificationSettings":
        if not isinstance(data, dict):
            raise InvalidOptionError(f'`verification` must be an object: {{"budget": calls}}, got {data!r}')
        unknown = sorted(set(data) - VERIFICATION_FIELDS)
        if unknown:
            raise InvalidOptionError(f"unknown verification settings {unknown}; known: {sorted(VERIFICATION_FIELDS)}")
        return cls(**data)

    def to_dict(self) -> dict:
        return {"budget": self.budget}


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
    faithfulness: FaithfulnessSettings = field(default_factory=FaithfulnessSettings)
    verification: VerificationSettings = field(default_factory=VerificationSettings)
    off: Off = Off.SILENCE  # what a switched-off component sounds like (engine/mixing.py)
    # …in the check phase's mixes, the ones a listener plays: cut, so that what is off is not heard as
    # silence, which a tagger may tag (bench/verification_bench.py measured it; README: What you hear)
    check_off: Off = Off.CUT

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
        if self.sampling is not None and self.sampling.estimator is Estimator.ADJUSTED and self._selects_features():
            raise InvalidOptionError("sampling.estimator 'adjusted' estimates every component's weight; it does "
                                     f"not select features (surrogate.feature_selection "
                                     f"{self.surrogate.feature_selection.value!r}): use one or the other")
        object.__setattr__(self, "faithfulness", _faithfulness(self.faithfulness, self.self_check_k))
        if isinstance(self.verification, dict):
            object.__setattr__(self, "verification", VerificationSettings.from_dict(self.verification))
        if not isinstance(self.verification, VerificationSettings):
            raise InvalidOptionError(f'verification must be an object {{"budget": calls}}, got {self.verification!r}')
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "off", Off.parse(self.off))
        object.__setattr__(self, "check_off", Off.parse(self.check_off))

    def sampling_plan(self) -> SamplingSettings:
        """How this explanation samples, every choice made (strategy, cap, design)."""
        sampling = self.sampling
        if sampling is None:
            sampling = SamplingSettings(strategy=Strategy.FIXED if self.samples is not None else Strategy.ADAPTIVE)
        return sampling.resolved(self.samples, self._selects_features())

    def _selects_features(self) -> bool:
        selection = self.surrogate.feature_selection
        return selection is not FeatureSelection.NONE and not (
            selection is FeatureSelection.AUTO and self.surrogate.num_features is None)  # auto: all, unless limited

    def to_dict(self) -> dict:
        data = asdict(self)
        data["surrogate"] = self.surrogate.to_dict()
        data["segments"] = list(self.segments) if isinstance(self.segments, tuple) else self.segments
        data["tags"] = list(self.tags)
        data["sampling"] = self.sampling_plan().to_dict()
        data["faithfulness"] = self.faithfulness.to_dict()
        data["verification"] = self.verification.to_dict()
        data["off"] = self.off.value
        data["check_off"] = self.check_off.value
        return data


def _faithfulness(value, self_check_k: int) -> FaithfulnessSettings:
    """The faithfulness settings (from the request's form too), which need a self-check depth."""
    if isinstance(value, dict):
        value = FaithfulnessSettings.from_dict(value)
    if not isinstance(value, FaithfulnessSettings):
        raise InvalidOptionError('faithfulness must be FaithfulnessSettings or an object {"random": R, '
                                 f'"deletion": true}}, got {value!r}')
    if value.asked and self_check_k == 0:
        raise InvalidOptionError("the faithfulness checks run for k = 1…self_check_k: "
                                 "self_check_k must be at least 1 to ask for them")
    return value


def _check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        kind = "non-negative" if low == 0 else "positive"
        raise InvalidOptionError(f"{name} must be a {kind} integer, got {value!r}")
