"""What the tagger itself said of an explanation's parts (openapi.yaml: TagBaseline, VerifiedPart).

`Baseline` is a tag on the all-off mix and on each source alone, beside the original, and whether
its explanation is confounded by how the tagger hears "off". `VerifiedPart` is the smallest set of
components found whose mix alone keeps the tag (sufficient), or whose removal loses it (necessary),
each verified by the tagger, with what the search guarantees. Both carry the service's one
sentence (`statement`), which the command line, the page and notebooks show as it is.
"""
from __future__ import annotations

from dataclasses import dataclass

PARTS = ("sufficient", "necessary")
GUARANTEES = {"proven": "proven minimal: every smaller set was tried",
              "among_tried": "minimal among the sets tried"}


@dataclass(frozen=True)
class SourceAlone:
    source: str
    score: float
    rank: int
    top_tag: str


@dataclass(frozen=True)
class Baseline:
    score: float  # the tag's score on the all-off mix
    rank: int
    original_score: float
    original_rank: int
    sources: tuple[SourceAlone, ...]
    confounded: bool
    reasons: tuple[str, ...]
    statement: str

    @classmethod
    def from_json(cls, data: dict | None) -> "Baseline | None":
        if data is None:
            return None
        sources = tuple(SourceAlone(s["source"], float(s["score"]), int(s["rank"]), s["top_tag"])
                        for s in data.get("sources", ()))
        return cls(float(data["score"]), int(data["rank"]), float(data["original_score"]),
                   int(data["original_rank"]), sources, bool(data["confounded"]), tuple(data.get("reasons", ())),
                   data["statement"])


@dataclass(frozen=True)
class VerifiedPart:
    part: str  # sufficient | necessary
    found: bool
    components: tuple[int, ...] | None
    statement: str
    tried: int  # sets the search asked about
    calls: int  # of those, tagger calls beyond the sampling and the self-check
    minimal: str | None = None  # proven | among_tried
    score: float | None = None  # the tag on the set's mix (alone, or without it)
    rank: int | None = None
    top_tag: str | None = None
    same_as_ranking: bool | None = None  # the surrogate's own top components, as many
    trivial: bool = False  # the all-off mix alone keeps the tag: the set shows nothing on its own
    error: str | None = None  # the search could not finish

    @classmethod
    def from_json(cls, part: str, data: dict | None) -> "VerifiedPart | None":
        if data is None:
            return None
        components = data.get("components")
        score = data.get("score")
        return cls(part, bool(data["found"]), None if components is None else tuple(map(int, components)),
                   data["statement"], int(data.get("tried") or 0), int(data.get("calls") or 0), data.get("minimal"),
                   None if score is None else float(score), data.get("rank"), data.get("top_tag"),
                   data.get("same_as_ranking"), bool(data.get("trivial")), data.get("error"))

    @property
    def playable(self) -> bool:
        """Whether its mix can be played: a set was found (GET …/audio?part=…)."""
        return self.found and self.components is not None

    @property
    def guarantee(self) -> str | None:
        return GUARANTEES.get(self.minimal or "")

    @property
    def heading(self) -> str:
        return {"sufficient": "sufficient — alone, it keeps the tag",
                "necessary": "necessary — without it, the tag is lost"}[self.part]


def part_details(part: VerifiedPart) -> str:
    """What is said of a part beyond its statement: the guarantee, the ranking, the cost."""
    details = [part.guarantee] if part.guarantee else []
    if part.same_as_ranking is not None:
        details.append("the surrogate's own top components" if part.same_as_ranking
                       else "not the surrogate's top components")
    details.append(f"{part.tried} set{'' if part.tried == 1 else 's'} tried, "
                   f"{part.calls} tagger call{'' if part.calls == 1 else 's'}")
    return "; ".join(details)


def baseline_lines(baseline: Baseline | None, tag: str) -> list[str]:
    """The tag on the all-off mix, beside the original; a plain warning first when it is confounded."""
    if baseline is None:
        return []
    lines = [f"  WARNING — {baseline.statement}"] if baseline.confounded else []
    alone = "; ".join(f"{s.source} alone {s.score:.4f} (#{s.rank}, {s.top_tag} on top)" for s in baseline.sources)
    lines.append(f"  baseline: {tag} {baseline.score:.4f} (#{baseline.rank}) with every component off, "
                 f"{baseline.original_score:.4f} (#{baseline.original_rank}) on the clip" + (f"; {alone}" if alone else ""))
    return lines


def part_lines(part: VerifiedPart | None) -> list[str]:
    """A verified part: its statement, then what the search guarantees and what it cost."""
    if part is None:
        return []
    if part.error:
        return [f"  {part.part}: {part.statement} ({part.error})"]
    mark = "verified" if part.found else "none found"
    return [f"  {part.part} ({mark}): {part.statement}", f"    {part_details(part)}"]
