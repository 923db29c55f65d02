"""The explanation record: what was explained, how, and how far to trust it."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .components import Component
from .selfcheck import SelfCheckRow


@dataclass
class TagExplanation:
    tag: str
    original_score: float
    weights: list[float]  # one per component, in component order
    intercept: float
    score: float  # the surrogate's weighted R²
    local_prediction: float
    self_check: list[SelfCheckRow] = field(default_factory=list)
    self_check_note: str | None = None  # why the self-check table is empty, when it is
    error: dict | None = None  # {"stage", "detail"}: this tag could not be fitted or checked
    weight_se: list[float] | None = None  # one per component
    weight_interval: list[list[float]] | None = None  # pointwise 95 %, one [low, high] per component
    weight_se_note: str | None = None  # why weight_se and weight_interval are null, when they are
    stability: dict | None = None  # the claim about the top-k and how sure it is (engine.stability)
    groups: dict | None = None  # {"sources": [...], "segments": [...]}: summed weights and shares
    faithfulness: dict | None = None  # deletion and random baselines (engine.faithfulness); None: not asked
    baseline: dict | None = None  # the tag on the all-off mix and each source alone (engine.baseline)
    sufficient: dict | None = None  # the verified smallest set that keeps the tag alone (engine.verification)
    necessary: dict | None = None  # the verified smallest set whose removal loses it

    def fail(self, stage: str, detail: str) -> None:
        """Report a problem on this tag alone: the job's other tags stand."""
        self.error = {"stage": stage, "detail": detail}

    def ranking(self) -> list[int]:
        """Component indices from the most to the least supporting."""
        return np.argsort(-np.asarray(self.weights), kind="stable").tolist()

    def to_dict(self) -> dict:
        return {"tag": self.tag, "original_score": self.original_score, "weights": self.weights,
                "intercept": self.intercept, "score": self.score, "local_prediction": self.local_prediction,
                "ranking": self.ranking(), "self_check": [row.to_dict() for row in self.self_check],
                "self_check_note": self.self_check_note, "error": self.error, "weight_se": self.weight_se,
                "weight_interval": self.weight_interval, "weight_se_note": self.weight_se_note, "stability": self.stability, "groups": self.groups,
                "faithfulness": self.faithfulness, "baseline": self.baseline, "sufficient": self.sufficient,
                "necessary": self.necessary}

    @classmethod
    def from_dict(cls, data: dict) -> "TagExplanation":
        rows = [SelfCheckRow(**row) for row in data.get("self_check", [])]
        fields = {k: data[k] for k in ("tag", "original_score", "weights", "intercept", "score", "local_prediction")}
        return cls(**fields, self_check=rows, self_check_note=data.get("self_check_note"), error=data.get("error"),
                   weight_se=data.get("weight_se"), weight_interval=data.get("weight_interval"), weight_se_note=data.get("weight_se_note"),
                   stability=data.get("stability"), groups=data.get("groups"),
                   faithfulness=data.get("faithfulness"), baseline=data.get("baseline"),
                   sufficient=data.get("sufficient"), necessary=data.get("necessary"))


@dataclass
class Explanation:
    components: list[Component]
    sources: list[str]
    segments: list[tuple[float, float]]  # (start, end) seconds
    residual: bool
    tags: list[TagExplanation]
    settings: dict
    stats: dict  # samples drawn, unique masks, tagger calls, exhaustive or sampled
    provenance: dict  # separator model, tagger labels
    baseline: dict | None = None  # the tagger's top tags on the all-off mix and on each source alone

    def tag(self, name: str) -> TagExplanation:
        for explained in self.tags:
            if explained.tag == name:
                return explained
        raise KeyError(f"tag {name!r} was not explained; explained: {[t.tag for t in self.tags]}")

    def to_dict(self) -> dict:
        return {
            "components": [c.to_dict() for c in self.components],
            "sources": self.sources,
            "segments": [{"index": i, "start": s, "end": e} for i, (s, e) in enumerate(self.segments)],
            "residual": self.residual,
            "tags": [t.to_dict() for t in self.tags],
            "settings": self.settings,
            "stats": self.stats,
            "provenance": self.provenance,
            "baseline": self.baseline,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Explanation":
        components = [Component(c["index"], c["source"], c["segment"], c["start"], c["end"])
                      for c in data["components"]]
        return cls(components, list(data["sources"]), [(s["start"], s["end"]) for s in data["segments"]],
                   data["residual"], [TagExplanation.from_dict(t) for t in data["tags"]],
                   data["settings"], data["stats"], data["provenance"], data.get("baseline"))
