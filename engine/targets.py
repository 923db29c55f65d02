"""Which tags to explain: given ones, or the tagger's top tags for the original."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .errors import InvalidOptionError
from .tagger import quote


def resolve_targets(labels: Sequence[str], original: np.ndarray,
                    tags: Sequence[str] | None = None, top_k: int = 1) -> list[int]:
    """Column indices of the tags to explain, in the order asked (or by score)."""
    if tags:
        unknown = [t for t in tags if t not in labels]
        if unknown:
            raise InvalidOptionError(f"the tagger has no tag {quote(unknown)}; it has {quote(list(labels))}")
        return list(dict.fromkeys(labels.index(t) for t in tags))
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= len(labels):
        raise InvalidOptionError(f"top_k must be 1..{len(labels)} (the tagger's tag count), got {top_k!r}")
    return np.argsort(-np.asarray(original), kind="stable")[:top_k].tolist()
