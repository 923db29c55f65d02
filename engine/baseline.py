"""The tagger's baseline: what it says when every component is off, and of each source alone.

Every mix the explainer sends is partly "off", so the tagger's answer to the all-off mix is the
point every weight departs from. For some taggers it is far from neutral (MSD_musicnn tags digital
silence *rock*, 0.20, its top tag), and then an explanation of that tag is confounded by how the
tagger hears silence: a mix that is mostly off keeps the tag because it is mostly off. The baseline
says so per explained tag, from 1 + C extra mixes (all off; each source alone in full).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .perturbations import mask_key

TOP_TAGS = 5  # the all-off mix's top tags, shown for context
CONFOUNDING_RANK = 3  # a tag among the tagger's top 3 on the all-off mix is confounded by it (fewer
#                       for a tagger of few tags: a quarter of them, at least the top one)
CONFOUNDING_SHARE = 0.5  # …and so is one whose all-off score keeps half its original score or more


def masks(n_sources: int, n_segments: int) -> np.ndarray:
    """All off, then each source alone over every segment ((1 + C, C × τ); component = source × τ + segment)."""
    rows = np.zeros((1 + n_sources, n_sources * n_segments), dtype=bool)
    for source in range(n_sources):
        rows[1 + source, source * n_segments:(source + 1) * n_segments] = True
    return rows


def _rank(scores: np.ndarray, tag: int) -> int:
    """1 + the other tags scored at least as high: tags tied at the top (every tag 0 on silence, say)
    are none of them on top."""
    return 1 + int(np.sum(np.delete(scores, tag) >= scores[tag]))


def _scores(answers: Mapping[bytes, np.ndarray], mask: np.ndarray) -> np.ndarray:
    return np.asarray(answers[mask_key(mask)], dtype=np.float64)


def overview(answers: Mapping[bytes, np.ndarray], labels: Sequence[str], sources: Sequence[str],
             n_segments: int) -> dict:
    """The explanation's `baseline`: the all-off mix's top tags, and each source's alone."""
    rows = masks(len(sources), n_segments)

    def top(scores: np.ndarray) -> list[dict]:
        order = np.argsort(-scores, kind="stable")[:TOP_TAGS]
        return [{"tag": labels[i], "score": float(scores[i])} for i in order]

    return {"top_tags": top(_scores(answers, rows[0])),
            "sources": [{"source": name, "top_tags": top(_scores(answers, row))}
                        for name, row in zip(sources, rows[1:])]}


def for_tag(answers: Mapping[bytes, np.ndarray], labels: Sequence[str], sources: Sequence[str],
            n_segments: int, tag: int) -> dict:
    """One tag's baseline: its score and rank on the all-off mix and on each source alone, beside the
    original, and whether its explanation is confounded by the all-off mix (with the reason)."""
    rows = masks(len(sources), n_segments)
    original = _scores(answers, np.ones(rows.shape[1], dtype=bool))
    off = _scores(answers, rows[0])
    record = {"score": float(off[tag]), "rank": _rank(off, tag), "original_score": float(original[tag]),
              "original_rank": _rank(original, tag),
              "sources": [{"source": name, "score": float(s[tag]), "rank": _rank(s, tag),
                           "top_tag": labels[int(np.argmax(s))]}
                          for name, s in ((n, _scores(answers, r)) for n, r in zip(sources, rows[1:]))]}
    reasons = _reasons(labels[tag], record, len(labels))
    record.update(confounded=bool(reasons), reasons=reasons,
                  statement=_statement(labels[tag], record, reasons))
    return record


def confounding_rank(n_labels: int) -> int:
    return max(1, min(CONFOUNDING_RANK, n_labels // 4))


def _reasons(tag: str, record: dict, n_labels: int) -> list[str]:
    reasons = []
    if record["rank"] <= confounding_rank(n_labels):
        reasons.append(f"the tagger ranks {tag} #{record['rank']} on the all-off mix")
    original, off = record["original_score"], record["score"]
    if off >= CONFOUNDING_SHARE * original and original > 0 or off >= original:
        reasons.append(f"the all-off mix scores {off:.3g}, not clearly below the original's {original:.3g}")
    return reasons


def _statement(tag: str, record: dict, reasons: list[str]) -> str:
    heard = f"with every component off, the tagger scores {tag} {record['score']:.3g} (#{record['rank']}); " \
            f"on the clip {record['original_score']:.3g} (#{record['original_rank']})"
    if not reasons:
        return heard
    return (f"confounded: {'; '.join(reasons)}: part of this tag is how the tagger hears the all-off mix, "
            f"so the weights and parts are departures from that ({heard})")
