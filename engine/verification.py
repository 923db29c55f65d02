"""Verified parts: per explained tag, the smallest set of components that keeps the tag, and the
smallest whose removal takes it away, each one asked of the tagger, never predicted.

The surrogate ranks components; whether the parts it points to carry the tag on their own is the
tagger's to say. Two searches per tag:

- **sufficient**: the smallest set whose mix *alone* keeps the tag where it stands on the original
  (on top, for the top tag): what a listener can play to hear why;
- **necessary**: the smallest set whose *removal* takes it from there: what the tagger cannot do
  without.

Both start from the ranking's prefixes, top-1 … top-K (the self-check's mixes, and the deletion
view), which cost nothing more when the ranking is right. When no prefix does, a greedy search over
the best-ranked positive components grows one set, adding at each size the component that the
tagger's own answers say helps most, within a budget of tagger calls. A set found is *proven*
minimal when every smaller non-empty set has been asked (always for one component; for more when
the rest of the budget covers all smaller sets), else minimal *among the sets tried*; likewise "no
set of at most K keeps it" is proven only when every such set was asked.

A search is a generator: it yields the sets it wants heard and is sent their outcomes, so the same
answers always drive it through the same sets (a resumed run asks nothing twice).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import Enum
from math import comb
from typing import Generator, Mapping, Sequence

import numpy as np

from .perturbations import mask_key

Trial = tuple[int, ...]  # a set of components, sorted


class Part(str, Enum):
    SUFFICIENT = "sufficient"  # the set's mix alone keeps the tag
    NECESSARY = "necessary"  # the mix without the set loses it


@dataclass(frozen=True)
class Outcome:
    """What the tagger said of the explained tag on one mix."""
    score: float
    rank: int  # 1 + the tags scored strictly above it
    margin: float  # its score minus the score it must beat to hold its place (> 0: it holds it)
    top_tag: str

    @property
    def kept(self) -> bool:
        return self.margin > 0


def goal_rank(scores: np.ndarray, tag: int) -> int:
    """The tag's place on the original: 1 + the other tags scored at least as high."""
    others = np.delete(np.asarray(scores, dtype=np.float64), tag)
    return 1 + int(np.sum(others >= scores[tag]))


def outcome(scores: np.ndarray, tag: int, goal: int, labels: Sequence[str]) -> Outcome:
    scores = np.asarray(scores, dtype=np.float64)
    others = np.sort(np.delete(scores, tag))[::-1]
    rival = others[goal - 1] if goal - 1 < len(others) else -np.inf
    return Outcome(float(scores[tag]), 1 + int(np.sum(others > scores[tag])), float(scores[tag] - rival),
                   labels[int(np.argmax(scores))])


@dataclass
class Found:
    """Where a search ended."""
    best: Trial | None  # the smallest set that succeeded (best margin at that size); None: none did
    proven: bool  # every smaller set (or, when none succeeded, every set of at most K) was asked
    tried: dict[Trial, tuple[bool, float]] = field(default_factory=dict)  # set -> (succeeded, objective)
    prefixes: int = 0  # how many of the tried sets were the ranking's prefixes


Search = Generator[list[Trial], list[tuple[bool, float]], Found]


def search(order: Sequence[int], n_components: int, max_size: int, budget: int, pool_size: int) -> Search:
    """The smallest set of at most `max_size` components that succeeds, tried in the order above.

    `order` lists the positive components, best first; each set yielded is sent back as
    (succeeded, objective), a larger objective meaning closer to success.
    """
    found = Found(None, False)
    prefixes = [tuple(sorted(order[:k])) for k in range(1, min(max_size, len(order)) + 1)]
    found.prefixes = len(prefixes)
    if not prefixes:
        return found
    yield from _ask(found, prefixes)
    left = budget
    best = _smallest_success(found.tried, max_size)
    if best is None:
        left = yield from _greedy(found, list(order[:pool_size]), max_size, left)
        best = _smallest_success(found.tried, max_size)
    limit = len(best) - 1 if best is not None else max_size
    smaller = _untried(found.tried, n_components, limit, left)
    if smaller is not None:  # the budget covers every smaller set: ask them, and the answer is proven
        if smaller:
            yield from _ask(found, smaller)
        best, found.proven = _smallest_success(found.tried, max_size), True
    found.best = best
    return found


def _ask(found: Found, trials: list[Trial]):
    outcomes = yield trials
    found.tried.update(zip(trials, outcomes))


def _greedy(found: Found, pool: list[int], max_size: int, left: int):
    """Grow one set from the pool, size by size, by the member the tagger's answers favour most;
    stop at the first size where some set succeeds. Returns the budget left."""
    base: Trial = ()
    for _ in range(max_size):
        level = [tuple(sorted(base + (c,))) for c in pool if c not in base]
        new = [t for t in level if t not in found.tried][:left]
        if new:
            left -= len(new)
            yield from _ask(found, new)
        known = [t for t in level if t in found.tried]
        if not known or any(found.tried[t][0] for t in known):
            break
        base = max(known, key=lambda t: found.tried[t][1])
    return left


def _smallest_success(tried: Mapping[Trial, tuple[bool, float]], max_size: int) -> Trial | None:
    wins = [t for t, (ok, _) in tried.items() if ok and len(t) <= max_size]
    if not wins:
        return None
    size = min(len(t) for t in wins)
    return max((t for t in wins if len(t) == size), key=lambda t: (tried[t][1], [-c for c in t]))


def _untried(tried, n_components: int, size: int, left: int) -> list[Trial] | None:
    """Every non-empty set of at most `size` components not asked yet, if the budget covers them
    all (then the search's answer is proven); None when it does not."""
    if size < 1:
        return []
    if sum(comb(n_components, k) for k in range(1, size + 1)) - len(tried) > left:
        return None  # a cheap lower bound on the cost: the exact count could only be larger
    sets = [t for k in range(1, size + 1) for t in itertools.combinations(range(n_components), k)]
    missing = [t for t in sets if t not in tried]
    return missing if len(missing) <= left else None


def trial_mask(part: Part, trial: Trial, n_components: int) -> np.ndarray:
    """The mix a set is heard in: the set alone (sufficient), or everything but the set (necessary)."""
    mask = np.zeros(n_components, dtype=bool) if part is Part.SUFFICIENT else np.ones(n_components, dtype=bool)
    mask[list(trial)] = part is Part.SUFFICIENT
    return mask


class PartSearch:
    """One tag's search for one part, driven by answers (mask key -> the tagger's scores)."""

    def __init__(self, part: Part, tag: int, goal: int, order: Sequence[int], n_components: int,
                 max_size: int, budget: int, pool_size: int, n_labels: int):
        self.part, self.tag, self.goal, self.n_components = part, tag, goal, n_components
        self.n_labels = n_labels
        self.order, self.max_size, self.budget = list(order), max_size, budget
        self._search = search(self.order, n_components, max_size, budget, pool_size)
        self.result: Found | None = None
        self.outcomes: dict[Trial, Outcome] = {}
        self.trials: list[Trial] = self._start()

    def _start(self) -> list[Trial]:
        try:
            return next(self._search)
        except StopIteration as stop:
            self.result = stop.value
            return []

    @property
    def done(self) -> bool:
        return self.result is not None

    def masks(self) -> list[np.ndarray]:
        return [trial_mask(self.part, t, self.n_components) for t in self.trials]

    def all_masks(self) -> list[np.ndarray]:
        """Every set this search has wanted so far (the current ones included)."""
        return [trial_mask(self.part, t, self.n_components) for t in [*self.outcomes, *self.trials]]

    def advance(self, answers: Mapping[bytes, np.ndarray], labels: Sequence[str]) -> bool:
        """Hand over the answers to the current sets; whether the search wants more."""
        if self.done:
            return False
        sent = []
        for trial, mask in zip(self.trials, self.masks()):
            heard = outcome(answers[mask_key(mask)], self.tag, self.goal, labels)
            self.outcomes[trial] = heard
            sent.append((heard.kept, heard.margin) if self.part is Part.SUFFICIENT
                        else (not heard.kept, -heard.margin))
        try:
            self.trials = self._search.send(sent)
            return True
        except StopIteration as stop:
            self.result, self.trials = stop.value, []
            return False


def place(goal: int) -> str:
    return "on top" if goal == 1 else f"in the top {goal}"


def report(found: PartSearch, tag: str, names: Sequence[str], calls: int, trivial: bool = False) -> dict:
    """A part's record in the result: the set (or that none was found), how it was heard, what the
    search guarantees and what it cost, and one sentence that says it. `trivial`: the all-off mix
    itself keeps the tag, and every set's mix is part silence, so a sufficient set shows nothing."""
    result, part = found.result, found.part
    best = result.best if result is not None else None
    heard = found.outcomes.get(best) if best is not None else None
    ranking = sorted(found.order[:len(best)]) if best is not None else None
    record = {"found": best is not None, "components": list(best) if best is not None else None,
              "size": len(best) if best is not None else None,
              "minimal": None if best is None else "proven" if result.proven else "among_tried",
              "none_proven": best is None and result is not None and result.proven and bool(result.tried),
              "score": heard.score if heard else None, "rank": heard.rank if heard else None,
              "top_tag": heard.top_tag if heard else None, "goal_rank": found.goal,
              "ranking_components": ranking, "same_as_ranking": None if best is None else list(best) == ranking,
              "tried": len(found.outcomes), "calls": calls, "budget": found.budget, "max_size": found.max_size,
              "labels": found.n_labels,
              "trivial": trivial and part is Part.SUFFICIENT and best is not None}
    record["statement"] = _statement(part, record, tag, [names[i] for i in best] if best else [])
    if record["trivial"]:
        record["statement"] = (f"the all-off mix alone already keeps {tag} {place(found.goal)}, so any part "
                               f"would and this one shows nothing on its own: {record['statement']}")
    return record


def _statement(part: Part, record: dict, tag: str, parts: list[str]) -> str:
    where, tried, k = place(record["goal_rank"]), record["tried"], record["max_size"]
    if not tried:
        if record["goal_rank"] >= record["labels"]:
            return f"{tag} is last of the tagger's {record['labels']} tags on the clip: any mix keeps it there, " \
                   "so there is no part to verify"
        return "no component has a positive weight: there is no part to verify"
    if not record["found"]:
        if part is Part.SUFFICIENT:
            text = f"no set of at most {k} components tried ({tried}) keeps {tag} {where} alone"
        else:
            text = f"{tag} stays {where} whichever set of at most {k} components tried ({tried}) is removed"
        return text + ("; every such set was tried" if record["none_proven"] else "")
    joined = ", ".join(parts)
    if part is Part.SUFFICIENT:
        text = f"{joined} alone {'keeps' if len(parts) == 1 else 'keep'} {tag} {where} ({record['score']:.3g})"
    else:
        text = f"without {joined}, {tag} falls to #{record['rank']} ({record['top_tag']} on top)"
    if record["minimal"] == "proven":
        return text + ("; no smaller set does (every one was tried)" if len(parts) > 1 else "")
    return text + f"; minimal among the {tried} sets tried"
