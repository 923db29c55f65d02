"""How sure an explanation is: the claim about a tag's top components, and the shares of its weight.

`Stability` is the API's claim (openapi.yaml: Stability): the top `claimed` components (fewer
than `top_k` when no more are significantly positive), the `tied` ones of which it cannot say
which belong, and a lower bound on the probability that unlimited samples would say the same.
`GroupShare` is one source's or one segment's part of the positive weight, with its interval.
"""
from __future__ import annotations

from dataclasses import dataclass

from audiolime_client.numbers import percent, percent_range


@dataclass(frozen=True)
class Stability:
    top_k: int  # the components the claim is about
    claimed: int  # how many are claimed (fewer than top_k when fewer matter)
    components: tuple[int, ...]  # the claimed ones, best first
    tied: tuple[int, ...]  # equal within the tolerance at the claim's border: which of them belong is not claimed
    confidence: float
    converged: bool  # the confidence reached the target
    samples_used: int
    distinct_masks: int | None = None
    tolerance: float | None = None
    target: float | None = None
    method: str = ""
    kind: str = "strict"  # strict: above every other or tied; tolerant: none left out above by more than the tolerance

    @classmethod
    def from_json(cls, data: dict) -> "Stability":
        return cls(int(data["top_k"]), int(data["claimed"]), tuple(map(int, data["components"])),
                   tuple(map(int, data["tied"])), float(data["confidence"]), bool(data["converged"]),
                   int(data["samples_used"]), data.get("distinct_masks"), data.get("tolerance"), data.get("target"),
                   data.get("method", ""), data.get("kind", "strict"))

    @property
    def sure(self) -> tuple[int, ...]:
        """The claimed components that are not part of a tie: each of these is claimed by itself."""
        return tuple(index for index in self.components if index not in self.tied)

    @property
    def tie_slots(self) -> int:
        """How many of the claimed places the tied components share."""
        return self.claimed - len(self.sure)


@dataclass(frozen=True)
class GroupShare:
    """One source's (or one segment's) components: their summed weight and share of the positive weight."""
    name: str
    components: tuple[int, ...]
    weight: float
    weight_interval: tuple[float, float] | None  # None: too few masks to estimate it
    positive_share: float  # 0…1
    positive_share_interval: tuple[float, float]

    @classmethod
    def from_json(cls, data: dict) -> "GroupShare":
        return cls(str(data["name"]), tuple(map(int, data["components"])), float(data["weight"]),
                   _pair(data["weight_interval"]) if data.get("weight_interval") else None,
                   float(data["positive_share"]),
                   _pair(data["positive_share_interval"]))

    @property
    def share_text(self) -> str:
        """"98 % (96–99 %)"; "99.9 % (99–100 %)"."""
        return f"{percent(self.positive_share)} % ({percent_range(*self.positive_share_interval)})"


@dataclass(frozen=True)
class Groups:
    sources: tuple[GroupShare, ...] = ()
    segments: tuple[GroupShare, ...] = ()

    @classmethod
    def from_json(cls, data: dict) -> "Groups":
        return cls(tuple(GroupShare.from_json(g) for g in data.get("sources") or ()),
                   tuple(GroupShare.from_json(g) for g in data.get("segments") or ()))

    def source(self, name: str) -> GroupShare:
        for group in self.sources:
            if group.name == name:
                return group
        raise KeyError(f"no source {name!r}; sources: {[g.name for g in self.sources]}")


def _pair(values) -> tuple[float, float]:
    low, high = values
    return float(low), float(high)
