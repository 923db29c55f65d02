"""What the API answers about studies, as typed, immutable objects (openapi.yaml: Study, StudyReport…).

A study is one explanation request run on many clips; its report says what the explanations say
together (each source's share of the positive weight, the most frequent top component) and how
faithful they are (per k: how often the top-k alone keep the tag on top, against k random positive
components and another separator, and how often removing them drops it; and in how many clips the
tagger itself verified a sufficient or a necessary set of at most k components). Every object keeps
the JSON it was built from in `raw`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

ENDED = ("finished", "failed", "cancelled")


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _pair(value) -> tuple[float, float] | None:
    return None if value is None else (float(value[0]), float(value[1]))


def _number(value) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class StudyProgress:
    done: int  # clips whose every job has ended, failed and cancelled ones included
    failed: int
    cancelled: int
    total: int
    percent: float
    tagger_calls_done: int  # over every job of the study, as each job's progress counts them
    tagger_calls_total: int

    @classmethod
    def from_json(cls, data: dict) -> "StudyProgress":
        calls = data.get("tagger_calls") or {}
        return cls(int(data["done"]), int(data["failed"]), int(data["cancelled"]), int(data["total"]),
                   float(data["percent"]), int(calls.get("done", 0)), int(calls.get("total", 0)))


@dataclass(frozen=True)
class StudyClip:
    """One clip of a study: its explanation job (and its comparison's), their combined status and error."""
    clip: str
    explanation: str
    comparison: str | None
    status: str  # queued | running | finished | failed | cancelled
    error: dict | None = None  # title, detail, the failing job (`explanation`), and where it failed

    @classmethod
    def from_json(cls, data: dict) -> "StudyClip":
        return cls(data["clip"], data["explanation"], data.get("comparison"), data.get("status", "queued"),
                   data.get("error"))

    @property
    def error_text(self) -> str:
        """"Title: detail", or "" when the clip did not fail."""
        if not self.error:
            return ""
        return f"{self.error.get('title', 'Failed')}: {self.error.get('detail', '')}".rstrip(": ")


@dataclass(frozen=True)
class TopComponent:
    source: str
    segment: int
    clips: int  # the clips whose first-ranked component this is


@dataclass(frozen=True)
class VerifiedShare:
    """For one k and one part (sufficient or necessary): the clips whose search for a verified set ended,
    and how many of them found one of at most k components, as the tagger itself confirmed."""
    clips: int
    found: int | None  # None where no clip's search ended
    share: float | None
    interval: tuple[float, float] | None  # Wilson 95 %

    @classmethod
    def from_json(cls, data: dict, part: str) -> "VerifiedShare":
        return cls(int(data.get(f"{part}_clips") or 0), data.get(part), _number(data.get(f"{part}_share")),
                   _pair(data.get(f"{part}_interval")))


@dataclass(frozen=True)
class FaithfulnessRow:
    """One k of the faithfulness table; shares are None where no clip had a row for this k."""
    k: int
    clips: int  # clips with a self-check row for this k
    kept: int  # of those, how many keep the tag on top with the top-k alone
    share: float | None
    share_interval: tuple[float, float] | None  # Wilson 95 %
    random_share: float | None  # k random positive components instead
    comparison_share: float | None  # the comparison separator's explanations of the same clips
    comparison_clips: int
    deletion_clips: int
    dropped: int | None  # clips whose tag falls from the top without its top-k
    dropped_share: float | None
    dropped_interval: tuple[float, float] | None
    random_dropped_share: float | None
    sufficient: VerifiedShare  # a verified set of at most k components that alone keeps the tag
    necessary: VerifiedShare  # one whose removal takes the tag from its place

    @classmethod
    def from_json(cls, data: dict) -> "FaithfulnessRow":
        return cls(int(data["k"]), int(data["clips"]), int(data["kept"]), _number(data.get("share")),
                   _pair(data.get("share_interval")), _number(data.get("random_share")),
                   _number(data.get("comparison_share")), int(data.get("comparison_clips") or 0),
                   int(data.get("deletion_clips") or 0), data.get("dropped"), _number(data.get("dropped_share")),
                   _pair(data.get("dropped_interval")), _number(data.get("random_dropped_share")),
                   VerifiedShare.from_json(data, "sufficient"), VerifiedShare.from_json(data, "necessary"))


@dataclass(frozen=True)
class StudyTag:
    """What the clips' explanations of one tag say together."""
    tag: str
    clips: int
    unfitted: int
    source_shares: dict[str, float]  # per source: the median over the clips of its share of the positive weight
    source_quartiles: dict[str, tuple[float, float, float]]  # first quartile, median, third quartile
    segment_shares: dict[int, float]  # per segment index
    segment_quartiles: dict[int, tuple[float, float, float]]
    top_components: tuple[TopComponent, ...]  # most frequent first
    faithfulness: tuple[FaithfulnessRow, ...]  # k = 1…

    @classmethod
    def from_json(cls, data: dict) -> "StudyTag":
        def quartiles(table: dict) -> dict:
            return {name: tuple(float(q) for q in values) for name, values in table.items()}

        segments = {int(name): float(v) for name, v in (data.get("segment_shares") or {}).items()}
        segment_quartiles = {int(name): q for name, q in quartiles(data.get("segment_share_quartiles") or {}).items()}
        return cls(data["tag"], int(data["clips"]), int(data.get("unfitted") or 0),
                   {name: float(v) for name, v in (data.get("source_shares") or {}).items()},
                   quartiles(data.get("source_share_quartiles") or {}), segments, segment_quartiles,
                   tuple(TopComponent(c["source"], int(c["segment"]), int(c["clips"]))
                         for c in data.get("top_components") or []),
                   tuple(FaithfulnessRow.from_json(row) for row in data.get("faithfulness") or []))


@dataclass(frozen=True)
class StudyReport:
    clips: int  # the clips the statistics are over (those whose explanations finished)
    failed: tuple[StudyClip, ...]  # the others, with their errors
    tags: tuple[StudyTag, ...]
    calls: dict[str, int]  # tagger calls of the explanations, the faithfulness checks, the comparison
    raw: dict = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> "StudyReport":
        failed = tuple(StudyClip(f["clip"], (f.get("error") or {}).get("explanation", ""), None, "failed",
                                 f.get("error")) for f in data.get("failed") or [])
        return cls(int(data["clips"]), failed, tuple(StudyTag.from_json(t) for t in data.get("tags") or []),
                   {name: int(n or 0) for name, n in (data.get("calls") or {}).items()}, data)

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]

    def tag(self, name: str | None = None) -> StudyTag:
        """One tag's statistics (default: the first, the one most clips explained)."""
        for tag in self.tags:
            if name is None or tag.tag == name:
                return tag
        raise KeyError(f"tag {name!r} is not in the report; it has: {self.tag_names}")


@dataclass(frozen=True)
class Study:
    """A study's status; in listings `request`, `clips` and `report` are None."""
    id: str
    status: str  # queued | running | finished | failed | cancelled
    progress: StudyProgress
    created_at: datetime
    expires_at: datetime
    finished_at: datetime | None = None
    links: dict[str, Any] = field(default_factory=dict)
    ttl_seconds: int | None = None
    request: dict[str, Any] | None = None  # as stored: tagger header values read "[redacted]"
    clips: tuple[StudyClip, ...] | None = None
    report: StudyReport | None = None  # once every job of the study has ended
    raw: dict = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> "Study":
        clips, report = data.get("clips"), data.get("report")
        return cls(data["id"], data["status"], StudyProgress.from_json(data["progress"]), _time(data["created_at"]),
                   _time(data["expires_at"]), _time(data.get("finished_at")), data.get("links", {}),
                   data.get("ttl_seconds"), data.get("request"),
                   None if clips is None else tuple(StudyClip.from_json(c) for c in clips),
                   StudyReport.from_json(report) if report else None, data)

    @property
    def done(self) -> bool:
        return self.status in ENDED

    @property
    def comparison(self) -> str | None:
        """The comparison separator, if the study asked for one."""
        return ((self.request or {}).get("comparisons") or {}).get("separator")


@dataclass(frozen=True)
class StudySubmitted:
    """The answer to a study's submission: it exists, and every clip's jobs are queued."""
    id: str
    status_url: str
    ttl_seconds: int
    clips: tuple[StudyClip, ...]
    status: str = "queued"

    @classmethod
    def from_json(cls, data: dict) -> "StudySubmitted":
        return cls(data["id"], data["status_url"], int(data["ttl_seconds"]),
                   tuple(StudyClip.from_json(c) for c in data["clips"]), data["status"])


@dataclass(frozen=True)
class StudyPage:
    """One page of `GET /studies`, newest first."""
    items: tuple[Study, ...]
    total: int
    limit: int
    offset: int
    next: str | None

    @classmethod
    def from_json(cls, data: dict) -> "StudyPage":
        return cls(tuple(Study.from_json(item) for item in data["items"]), int(data["total"]), int(data["limit"]),
                   int(data["offset"]), data.get("next"))

    def __iter__(self) -> Iterator[Study]:
        return iter(self.items)
