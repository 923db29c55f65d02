"""What the API answers, as typed, immutable objects (the schemas of openapi.yaml).

Every object keeps the JSON it was built from in `raw`, so nothing the API adds later is lost.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Iterator

import numpy as np

from audiolime_client.defaults import DEFAULT_K
from audiolime_client.parts import Baseline, VerifiedPart
from audiolime_client.stability import Groups, Stability
from audiolime_client.stats import Stats


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


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True)
class Progress:
    done: int  # distinct masks answered (asked, resumed or reused)
    total: int  # the most this run may need: the fixed count, or an adaptive run's cap
    percent: float
    confidence: float | None = None  # the lowest claim confidence over the tags after the last round
    settled: int | None = None  # how many top components every tag has settled already (best first)

    @classmethod
    def from_json(cls, data: dict) -> "Progress":
        confidence, settled = data.get("confidence"), data.get("settled")
        return cls(int(data["done"]), int(data["total"]), float(data["percent"]),
                   None if confidence is None else float(confidence), None if settled is None else int(settled))


@dataclass(frozen=True)
class JobError:
    """Why a job failed, as the API reports it."""
    title: str
    detail: str
    stage: str | None = None
    http_status: int | None = None  # the tagger's last HTTP status
    attempts: int | None = None
    batch: int | None = None

    @classmethod
    def from_json(cls, data: dict) -> "JobError":
        return cls(data["title"], data["detail"], data.get("stage"), data.get("http_status"),
                   data.get("attempts"), data.get("batch"))

    def __str__(self) -> str:
        """The one wording of a job's failure: title, detail, then where it happened."""
        context = [f"{name} {value}" for name, value in (
            ("stage", self.stage), ("batch", self.batch), ("tagger HTTP status", self.http_status),
            ("attempts", self.attempts)) if value is not None]
        return f"{self.title}: {self.detail}" + (f" [{', '.join(context)}]" if context else "")


@dataclass(frozen=True)
class Submitted:
    """The answer to a submission: the job exists and is queued."""
    id: str
    status_url: str
    ttl_seconds: int
    stage: Stage = Stage.QUEUED

    @classmethod
    def from_json(cls, data: dict) -> "Submitted":
        return cls(data["id"], data["status_url"], int(data["ttl_seconds"]), Stage(data["stage"]))


@dataclass(frozen=True)
class Component:
    index: int
    name: str
    source: str
    segment: int
    start: float  # seconds
    end: float

    @classmethod
    def from_json(cls, data: dict) -> "Component":
        return cls(int(data["index"]), data["name"], data["source"], int(data["segment"]),
                   float(data["start"]), float(data["end"]))

    @property
    def span(self) -> str:
        return f"{self.start:.2f}–{self.end:.2f} s"


@dataclass(frozen=True)
class Segment:
    index: int
    start: float
    end: float


@dataclass(frozen=True)
class SelfCheckRow:
    """The tagger asked again about the mix of the top-k positive components alone."""
    k: int
    components: tuple[int, ...]
    score: float
    top_tag: str
    still_top: bool

    @classmethod
    def from_json(cls, data: dict) -> "SelfCheckRow":
        return cls(int(data["k"]), tuple(data["components"]), float(data["score"]), data["top_tag"],
                   bool(data["still_top"]))


@dataclass(frozen=True)
class TagExplanation:
    tag: str
    original_score: float
    weights: tuple[float, ...]  # one per component, in component order
    intercept: float
    score: float  # the surrogate's weighted R²
    local_prediction: float
    ranking: tuple[int, ...]  # component indices, most supporting first
    self_check: tuple[SelfCheckRow, ...]
    self_check_note: str | None = None  # why the self-check is empty, when it is
    error: dict | None = None  # {"stage", "detail"}: this tag alone could not be fitted or checked
    # How sure the weights are; None in results from before the service reported it.
    weight_se: tuple[float, ...] | None = None  # the standard error of each weight
    weight_interval: tuple[tuple[float, float], ...] | None = None  # a pointwise 95 % interval per weight
    stability: Stability | None = None  # the claim about the top components
    groups: Groups | None = None  # per source and per segment: the share of the positive weight
    # What the tagger said of the parts; None in results from before the service asked it.
    baseline: Baseline | None = None  # the tag on the all-off mix and on each source alone
    sufficient: VerifiedPart | None = None  # the smallest set found whose mix alone keeps the tag
    necessary: VerifiedPart | None = None  # the smallest set found whose removal loses it

    @classmethod
    def from_json(cls, data: dict) -> "TagExplanation":
        se, interval, stability, groups = (data.get(k) for k in ("weight_se", "weight_interval", "stability", "groups"))
        return cls(data["tag"], float(data["original_score"]), tuple(map(float, data["weights"])),
                   float(data["intercept"]), float(data["score"]), float(data["local_prediction"]),
                   tuple(map(int, data["ranking"])), tuple(SelfCheckRow.from_json(r) for r in data["self_check"]),
                   data.get("self_check_note"), data.get("error"),
                   None if se is None else tuple(map(float, se)),
                   None if interval is None else tuple((float(low), float(high)) for low, high in interval),
                   None if stability is None else Stability.from_json(stability),
                   None if groups is None else Groups.from_json(groups), Baseline.from_json(data.get("baseline")),
                   VerifiedPart.from_json("sufficient", data.get("sufficient")),
                   VerifiedPart.from_json("necessary", data.get("necessary")))

    def part(self, name: str) -> VerifiedPart | None:
        """The verified `sufficient` or `necessary` part."""
        if name not in ("sufficient", "necessary"):
            raise ValueError(f"a part is sufficient or necessary, not {name!r}")
        return getattr(self, name)

    def playable_parts(self) -> tuple[VerifiedPart, ...]:
        """The verified parts that were found and can be played (sufficient first)."""
        return tuple(p for p in (self.sufficient, self.necessary) if p is not None and p.playable)

    @property
    def spans_zero(self) -> tuple[bool, ...]:
        """Per component: whether its weight's 95 % interval includes 0 (its sign is not sure);
        all False when the result has no intervals."""
        if self.weight_interval is None:
            return (False,) * len(self.weights)
        return tuple(low <= 0.0 <= high for low, high in self.weight_interval)


@dataclass(frozen=True)
class RankedComponent:
    rank: int  # 1 = the most supporting
    component: Component
    weight: float
    interval: tuple[float, float] | None = None  # the weight's 95 % interval, when the result has one


@dataclass(frozen=True)
class Explanation:
    """A finished job's result: components (source × segment) and one surrogate per tag."""
    sources: tuple[str, ...]
    segments: tuple[Segment, ...]
    components: tuple[Component, ...]
    tags: tuple[TagExplanation, ...]
    residual: bool
    stats: Stats
    provenance: dict[str, Any]
    settings: dict[str, Any]
    raw: dict = field(repr=False, compare=False, default_factory=dict)
    # The tagger's top tags on the all-off mix and on each source alone ({"top_tags", "sources"}).
    baseline: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: dict) -> "Explanation":
        return cls(tuple(data["sources"]),
                   tuple(Segment(int(s["index"]), float(s["start"]), float(s["end"])) for s in data["segments"]),
                   tuple(Component.from_json(c) for c in data["components"]),
                   tuple(TagExplanation.from_json(t) for t in data["tags"]),
                   bool(data["residual"]), Stats.from_json(data["stats"]), data["provenance"], data["settings"],
                   data, data.get("baseline"))

    @property
    def off(self) -> tuple[str, str]:
        """What a switched-off component sounded like: in the sampled mixes, and in the checked ones."""
        off = self.settings.get("off", "silence")
        return off, self.settings.get("check_off") or off

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]

    def tag(self, name: str | None = None) -> TagExplanation:
        """One explained tag (default: the first)."""
        if name is None:
            return self.tags[0]
        for explained in self.tags:
            if explained.tag == name:
                return explained
        raise KeyError(f"tag {name!r} was not explained; explained: {self.tag_names}")

    def weights_grid(self, tag: str | None = None) -> np.ndarray:
        """The tag's weights as a sources × segments array (rows in `sources` order)."""
        rows = {name: row for row, name in enumerate(self.sources)}
        weights = self.tag(tag).weights
        grid = np.zeros((len(self.sources), len(self.segments)))
        for component in self.components:  # placed by source and segment, whatever the index order
            grid[rows[component.source], component.segment] = weights[component.index]
        return grid

    def top_components(self, tag: str | None = None, k: int = DEFAULT_K) -> list[RankedComponent]:
        """The k components that support the tag most, in the surrogate's ranking."""
        explained = self.tag(tag)
        intervals = explained.weight_interval
        return [RankedComponent(rank, self.components[index], explained.weights[index],
                                None if intervals is None else intervals[index])
                for rank, index in enumerate(explained.ranking[:k], start=1)]


@dataclass(frozen=True)
class Job:
    """A job's status; in listings the detail fields (request, error, result…) are None."""
    id: str
    status: str  # queued | running | finished | failed | cancelled
    stage: Stage
    progress: Progress
    created_at: datetime
    expires_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    links: dict[str, Any] = field(default_factory=dict)
    ttl_seconds: int | None = None
    attempts: int | None = None
    request: dict[str, Any] | None = None  # as stored: tagger header values read "[redacted]"
    error: JobError | None = None
    result: Explanation | None = None
    raw: dict = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> "Job":
        error, result = data.get("error"), data.get("result")
        return cls(data["id"], data["status"], Stage(data["stage"]), Progress.from_json(data["progress"]),
                   _time(data["created_at"]), _time(data["expires_at"]), _time(data.get("started_at")),
                   _time(data.get("finished_at")), data.get("links", {}), data.get("ttl_seconds"),
                   data.get("attempts"), data.get("request"), JobError.from_json(error) if error else None,
                   Explanation.from_json(result) if result else None, data)

    @property
    def done(self) -> bool:
        return self.stage.done

    @property
    def percent(self) -> float:
        return self.progress.percent


@dataclass(frozen=True)
class Page:
    """One page of `GET /explanations`, newest first."""
    items: tuple[Job, ...]
    total: int
    limit: int
    offset: int
    next: str | None  # the next page's link, None on the last

    @classmethod
    def from_json(cls, data: dict) -> "Page":
        return cls(tuple(Job.from_json(item) for item in data["items"]), int(data["total"]), int(data["limit"]),
                   int(data["offset"]), data.get("next"))

    def __iter__(self) -> Iterator[Job]:
        return iter(self.items)
