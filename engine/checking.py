"""Filling in a tag's self-check from the answers to its check masks (see selfcheck.py for the test)."""
from __future__ import annotations

import numpy as np

from .errors import TaggerError
from .explanation import TagExplanation
from .perturbations import mask_key
from .selfcheck import evaluate

CHECK_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError, KeyError)
NO_POSITIVE = "no component has a positive weight: there is no top-k mix to check"


def fill(tag: TagExplanation, masks: np.ndarray, answers: dict, labels: tuple[str, ...],
         tagger_error: TaggerError | None) -> None:
    """The tag's self-check table, or a note (nothing to check) or an error on this tag alone."""
    if tag.error is not None or masks is None:
        return
    if len(masks) == 0:
        tag.self_check_note = NO_POSITIVE
        return
    keys = [mask_key(m) for m in masks]
    if tagger_error is not None and any(k not in answers for k in keys):
        tag.fail("checking", f"the tagger could not score the self-check mixes: {tagger_error}")
        return
    try:
        scores = np.array([answers[k] for k in keys]).reshape(len(masks), len(labels))
        tag.self_check = evaluate(np.asarray(tag.weights), labels.index(tag.tag), labels, scores)
    except CHECK_ERRORS as exc:
        tag.fail("checking", f"the self-check could not be evaluated: {type(exc).__name__}: {exc}")
