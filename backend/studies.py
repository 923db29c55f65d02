"""A study: one explanation request run on many clips, with the comparisons asked beside it.

The request is an ordinary explanation request (validated by `JobRequest`, exactly as for
POST /explanations) plus two fields of its own:
  comparisons   {"random": R, "separator": NAME}, both optional: R random draws per k as the
                faithfulness baseline of each clip's explanation (`faithfulness: {"random": R,
                "deletion": true}` in its request), and a second explanation of each clip with
                `separator` replaced
  explanations  ids of the caller's earlier explanations whose audio serves as more clips
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from backend.config import Settings
from backend.job_request import PROVIDED, JobRequest, LimitError
from engine.errors import InvalidOptionError

STUDY_FIELDS = ("comparisons", "explanations")  # beside an explanation request's own fields
COMPARISONS = ("random", "separator")
JOB_ID = re.compile(r"[0-9a-f]{32}")  # as the store makes them
CLIP_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,255}")  # a file name: any printable text, 255 characters at most


@dataclass(frozen=True)
class StudyRequest:
    explanation: JobRequest  # what each clip's explanation is asked
    comparison: JobRequest | None  # the same with the comparison separator: a second job per clip
    random: int | None  # the faithfulness baseline's random draws, if asked
    explanations: tuple[str, ...]  # the caller's earlier explanations whose audio are clips too

    @classmethod
    def from_dict(cls, data: dict, limits: Settings) -> "StudyRequest":
        if not isinstance(data, dict):
            raise InvalidOptionError("the request must be a JSON object")
        comparisons = _comparisons(data.get("comparisons"))
        explanations = _explanation_ids(data.get("explanations"), limits)
        fields = {name: value for name, value in data.items() if name not in STUDY_FIELDS}
        random = comparisons.get("random")
        if random is not None:
            if fields.get("faithfulness") is not None:
                raise InvalidOptionError("ask for the random baseline either as `comparisons.random` or in "
                                         "`faithfulness`, not both")
            fields["faithfulness"] = {"random": random, "deletion": True}
        explanation = JobRequest.from_dict(fields, limits)
        _check_separated(explanation.separator, "`separator`")
        comparison = None
        if "separator" in comparisons:
            other = comparisons["separator"]
            if other == explanation.separator:
                raise InvalidOptionError(f"`comparisons.separator` is {other!r}, the study's own separator: "
                                         "name another one to compare with")
            _check_separated(other, "`comparisons.separator`")
            comparison = JobRequest.from_dict({**fields, "separator": other}, limits)
        return cls(explanation, comparison, random, explanations)

    def job_requests(self) -> list[JobRequest]:
        """The explanation jobs of one clip: its explanation, then its comparison (if any)."""
        return [self.explanation] + ([self.comparison] if self.comparison else [])

    def to_dict(self) -> dict:
        """The public form, stored with the study: each clip's explanation request (no header values),
        the comparisons and the earlier explanations used."""
        comparisons = {}
        if self.random is not None:
            comparisons["random"] = self.random
        if self.comparison is not None:
            comparisons["separator"] = self.comparison.separator
        return {**self.explanation.to_dict(), "comparisons": comparisons, "explanations": list(self.explanations)}


def _comparisons(comparisons) -> dict:
    if comparisons is None:
        return {}
    if not isinstance(comparisons, dict):
        raise InvalidOptionError(f"`comparisons` must be an object such as {{\"random\": 20, \"separator\": "
                                 f"\"slime\"}}, got {comparisons!r}")
    unknown = sorted(set(comparisons) - set(COMPARISONS))
    if unknown:
        raise InvalidOptionError(f"unknown comparisons {unknown}; known: {list(COMPARISONS)}")
    random = comparisons.get("random")
    if random is not None and (type(random) is not int or random < 1):  # type(): a bool is an int too
        raise InvalidOptionError(f"`comparisons.random` must be a positive number of random draws, got {random!r}")
    separator = comparisons.get("separator")
    if "separator" in comparisons and not isinstance(separator, str):
        raise InvalidOptionError(f"`comparisons.separator` must be a separator's name, got {separator!r}")
    return {name: value for name, value in comparisons.items() if value is not None}


def _check_separated(separator: str, where: str) -> None:
    if separator == PROVIDED:
        raise InvalidOptionError(f"{where} is 'provided': a study separates each clip itself, so your own "
                                 "stems cannot be given; name a separator (e.g. hpss)")


def _explanation_ids(ids, limits: Settings) -> tuple[str, ...]:
    if ids is None:
        return ()
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidOptionError(f"`explanations` must be a list of explanation ids, got {ids!r}")
    check_clip_count(len(ids), limits)  # before looking at each of a long list
    for job_id in ids:
        if not JOB_ID.fullmatch(job_id):
            shown = job_id if len(job_id) <= 40 else job_id[:40] + "…"
            raise InvalidOptionError(f"`explanations`: {shown!r} is not an explanation id (32 hexadecimal "
                                     "characters)")
    if len(set(ids)) != len(ids):
        raise InvalidOptionError("`explanations` names the same explanation twice")
    return tuple(ids)


def check_clip_count(count: int, limits: Settings) -> None:
    if count > limits.max_study_clips:
        raise LimitError(f"the study has {count} clips; this service takes at most {limits.max_study_clips} "
                         "clips per study (AUDIOLIME_MAX_STUDY_CLIPS), uploads and earlier explanations together")


def check_clip_names(names: list[str]) -> None:
    """A clip is named by its file name (or its explanation id): present, printable, and unique in the study."""
    for name in names:
        if not CLIP_NAME.fullmatch(name):
            shown = name if len(name) <= 60 else name[:60] + "…"
            raise InvalidOptionError(f"clip name {shown!r}: a clip is named by its part's file name, 1 to 255 "
                                     "characters without control characters")
    seen = set()
    for name in names:
        if name in seen:
            raise InvalidOptionError(f"two clips are named {name!r}: clip names (file names, and the ids of "
                                     "earlier explanations) must be unique in a study")
        seen.add(name)
