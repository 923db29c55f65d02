"""Studies through the API (part of `Client`): one explanation request run on many clips.

    study = client.submit_study(["a.wav", "b.flac"], tagger="http://127.0.0.1:8601/predict",
                                separator="hpss", tags=["low"], comparisons={"random": 20, "separator": "slime"})
    done = client.wait_study(study.id, progress=True)
    print(done.report.tag("low").faithfulness[0].share)
    client.study_figure(study.id, "svg", "figure.svg")
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence, TextIO, Union
from urllib.parse import quote

import numpy as np

from audiolime_client.audio import AudioLike, upload_part, write_chunks
from audiolime_client.defaults import DEFAULT_POLL_INTERVAL, PAGE_SIZE
from audiolime_client.errors import UsageError, raise_for_study
from audiolime_client.polling import poll_until_done
from audiolime_client.progress import StudyProgressBar
from audiolime_client.settings import PROVIDED, TaggerLike, explanation_request
from audiolime_client.study_models import Study, StudyPage, StudySubmitted

if TYPE_CHECKING:
    from audiolime_client.http import Transport

FIGURE_FORMATS = ("png", "svg")
StudyRef = Union[str, StudySubmitted, Study]
ClipLike = Union[AudioLike, tuple[str, AudioLike]]  # a path (named by its file name), or (name, audio)


def study_id(ref: StudyRef) -> str:
    return ref if isinstance(ref, str) else ref.id


def _study_path(ref: StudyRef, *rest: str) -> str:
    return "/".join(["studies", quote(study_id(ref), safe=""), *rest])


def clip_parts(clips: Sequence[ClipLike] | Mapping[str, AudioLike], sample_rate: int | None) -> list[tuple]:
    """One `clips` file part per clip, each named: a path by its file name, bytes or an array by its
    place ("clip-001.wav"), a (name, audio) pair or a mapping's key by that name. Names must be unique."""
    items = list(clips.items()) if isinstance(clips, Mapping) else list(clips)
    parts, seen = [], {}
    for i, item in enumerate(items, start=1):
        name, audio = item if isinstance(item, tuple) else (None, item)
        rate = sample_rate if isinstance(audio, np.ndarray) else None  # files and bytes carry their own
        filename, data, media_type = upload_part(audio, rate, name or f"clip-{i:03d}")
        filename = name or filename
        if filename in seen:
            raise UsageError(f"two clips are named {filename!r} (clips {seen[filename]} and {i}): a study names "
                             "each clip by its file name, so they must differ")
        seen[filename] = i
        parts.append(("clips", (filename, data, media_type)))
    if not parts:
        raise UsageError("a study needs at least one clip")
    return parts


class StudyOperations:
    """The study calls of `Client`; `self.transport` is the client's."""

    transport: "Transport"

    def submit_study(self, clips: Sequence[ClipLike] | Mapping[str, AudioLike], *, tagger: TaggerLike,
                     comparisons: Mapping[str, Any] | None = None, explanations: Sequence[str] | None = None,
                     sample_rate: int | None = None, **request: Any) -> StudySubmitted:
        """Queue one explanation per clip, all asked the same: `request` takes submit()'s keywords
        (separator, tags, top_k, segments, samples, the sampling ones…; no stems: a study separates
        each clip itself). `comparisons` = {"random": R, "separator": NAME}: R random draws per k
        as each explanation's faithfulness baseline, and a second explanation of each clip with
        that separator. `explanations`: ids of this key's earlier explanations, as more clips."""
        if request.get("separator") == PROVIDED or "stems" in request:
            raise UsageError("a study separates each clip itself: name a separator (e.g. hpss), not provided stems")
        body = explanation_request(tagger, **request)
        if comparisons:
            body["comparisons"] = {name: value for name, value in dict(comparisons).items() if value is not None}
        if explanations:
            body["explanations"] = list(explanations)
        parts = clip_parts(clips, sample_rate) if clips or not explanations else []
        files = [("request", ("request.json", json.dumps(body).encode(), "application/json")), *parts]
        return self.transport.document("POST", "studies", StudySubmitted.from_json, files=files)

    def study(self, ref: StudyRef) -> Study:
        """The study's status, progress, each clip's jobs, and its report once every job has ended."""
        return self.transport.document("GET", _study_path(ref), Study.from_json)

    def wait_study(self, ref: StudyRef, *, timeout: float | None = None, progress: bool | TextIO = False,
                   poll_interval: float = DEFAULT_POLL_INTERVAL,
                   on_progress: Callable[[Study], None] | None = None) -> Study:
        """Poll until every job of the study has ended: the study with its report (clips that failed
        are listed in it), or StudyFailed (every clip failed) / StudyCancelled / Timeout.

        `progress=True` draws a bar over the clips on stderr (or on the file given), the tagger
        calls of all its jobs beside it; `on_progress` is called with every state polled."""
        bar = StudyProgressBar(None if progress is True else progress) if progress else None
        ident = study_id(ref)
        study = poll_until_done(lambda: self.study(ident), done=lambda study: study.done, timeout=timeout,
                                interval=poll_interval, bar=bar, on_progress=on_progress,
                                still=lambda study: f"study {ident} is still {study.status} ({study.progress.done} "
                                                    f"of {study.progress.total} clips ended)")
        return raise_for_study(study)

    def study_page(self, limit: int = 20, offset: int = 0) -> StudyPage:
        return self.transport.document("GET", "studies", StudyPage.from_json, params={"limit": limit, "offset": offset})

    def list_studies(self, page_size: int = PAGE_SIZE) -> Iterator[Study]:
        """Every study of this API key, newest first, page after page (without clips or report)."""
        page = self.study_page(page_size)
        while True:
            yield from page.items
            if page.next is None:
                return
            page = self.transport.document("GET", page.next, StudyPage.from_json)

    def cancel_study(self, ref: StudyRef) -> None:
        """DELETE the study: its jobs still queued or running are cancelled, the ended ones deleted, and
        the study is gone (NotFound afterwards). Earlier explanations used as clips are untouched."""
        self.transport.request("DELETE", _study_path(ref))

    def study_figure(self, ref: StudyRef, fmt: str = "png", path: str | Path | None = None) -> bytes | Path:
        """The report's figure, PNG or SVG: bytes, or written to `path` (then the Path). NotReady
        (409) until every job of the study has ended."""
        if fmt not in FIGURE_FORMATS:
            raise UsageError(f"fmt must be one of {', '.join(FIGURE_FORMATS)}; got {fmt!r}")
        route, params = _study_path(ref, "figure"), {"format": fmt}
        if path is None:
            return self.transport.request("GET", route, params=params).content
        response = self.transport.request("GET", route, params=params, stream=True)
        return self.transport.stream_to(response, lambda chunks: write_chunks(Path(path), chunks))
