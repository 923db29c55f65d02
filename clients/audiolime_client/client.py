"""`Client`: the audioLIME service's HTTP API as Python calls.

    client = Client("http://127.0.0.1:8600", api_key=None)
    job = client.submit("song.mp3", tagger="http://tagger/predict", tags=["rock"], samples=2048)
    done = client.wait(job.id, progress=True)
    print(done.result.top_components("rock", 3), done.result.tag("rock").stability)
    client.download_explanation(job.id, "rock", k=3, path="rock-top3.wav")
    client.samples(job.id)  # the masks, counts and scores it was fitted on
    study = client.wait_study(client.submit_study(["a.wav", "b.wav"], tagger=…, separator="hpss").id)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence, TextIO
from urllib.parse import quote

from audiolime_client.audio import AudioLike, check_format, upload_part, write_chunks
from audiolime_client.defaults import (
    DEFAULT_AUDIO_FORMAT, DEFAULT_BACKOFF, DEFAULT_HTTP_TIMEOUT, DEFAULT_K, DEFAULT_POLL_INTERVAL, DEFAULT_RETRIES,
    DEFAULT_URL, PAGE_SIZE,
)
from audiolime_client.errors import NotFound, UsageError, raise_for_outcome
from audiolime_client.files import PARTS, save_job_files
from audiolime_client.http import RetryPolicy, Transport
from audiolime_client.models import Explanation, Job, Page, Submitted
from audiolime_client.parts import PARTS as VERIFIED_PARTS
from audiolime_client.polling import poll_until_done
from audiolime_client.progress import ProgressBar
from audiolime_client.samples import FORMATS as SAMPLE_FORMATS, Samples
from audiolime_client.settings import PROVIDED, TaggerLike, explanation_request
from audiolime_client.studies import StudyOperations

JobRef = str | Submitted | Job


def job_id(ref: JobRef) -> str:
    return ref if isinstance(ref, str) else ref.id


def _job_path(ref: JobRef, *rest: str | int) -> str:
    """The API path of a job ("explanations/ID") or of something under it; each part URL-quoted."""
    return "/".join(["explanations", quote(job_id(ref)), *(quote(str(part), safe="") for part in rest)])


class Client(StudyOperations):
    """One API base URL and key, one HTTP session (keep-alive), retries on 503 and lost connections.
    Studies (many clips, one request: submit_study, wait_study, study_figure…) are in studies.py."""

    def __init__(self, base_url: str = DEFAULT_URL, api_key: str | None = None, *,
                 timeout: float = DEFAULT_HTTP_TIMEOUT, retries: int = DEFAULT_RETRIES,
                 backoff: float = DEFAULT_BACKOFF, transport: Transport | None = None):
        self.transport = transport or Transport(base_url, api_key, timeout=timeout,
                                                retry=RetryPolicy(retries=retries, backoff=backoff))

    def __repr__(self) -> str:
        return f"Client({self.transport.base_url!r})"

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    # -- jobs ------------------------------------------------------------------------------------

    def submit(self, audio: AudioLike, *, tagger: TaggerLike, sample_rate: int | None = None,
               stems: Mapping[str, AudioLike] | None = None, separator: str | None = None,
               tags: Sequence[str] | None = None, top_k: int | None = None, samples: int | None = None,
               segments: int | Sequence[float] | None = None, seed: int | None = None, **request: Any) -> Submitted:
        """Queue an explanation. `audio` is a path, bytes or an array (then with `sample_rate`);
        `stems` ({name: audio}) imply `separator="provided"`. Other keywords (residual,
        fade_seconds, surrogate, self_check_k) go into the request as the API names them.

        Sampling: by default the service samples adaptively, until every tag's claim about its top
        3 components is 95 % sure (at most 2048 masks). `confidence`, `claim_k` (the API's
        sampling.top_k), `tolerance`, `min_samples`, `max_samples`, `round_size`, `design`, `claim`,
        `estimator`,
        `strategy`, or `sampling=Sampling(…)` / a dict, change that; `fixed=N` asks exactly N
        masks, as does `samples=N` alone (see explanation_request)."""
        if stems and separator not in (None, PROVIDED):
            raise UsageError(f"stems are only used with separator 'provided', not {separator!r}")
        body = explanation_request(tagger, separator=PROVIDED if stems else separator, segments=segments,
                                   samples=samples, seed=seed, tags=tags, top_k=top_k, **request)
        files = {"audio": upload_part(audio, sample_rate, "audio"),
                 "request": ("request.json", json.dumps(body).encode(), "application/json")}
        for name, stem in (stems or {}).items():
            files[f"stem.{name}"] = upload_part(stem, sample_rate, name)
        return self.transport.document("POST", "explanations", Submitted.from_json, files=files)

    def get(self, ref: JobRef) -> Job:
        """The job's status, progress, and its result once finished."""
        return self.transport.document("GET", _job_path(ref), Job.from_json)

    def wait(self, ref: JobRef, *, timeout: float | None = None, progress: bool | TextIO = False,
             poll_interval: float = DEFAULT_POLL_INTERVAL, on_progress: Callable[[Job], None] | None = None) -> Job:
        """Poll until the job ends; the finished job, or JobFailed / JobCancelled / Timeout.

        `progress=True` draws a tqdm bar on stderr (or on the file given); `on_progress` is
        called with every state polled."""
        bar = ProgressBar(None if progress is True else progress) if progress else None
        ident = job_id(ref)
        job = poll_until_done(lambda: self.get(ident), done=lambda job: job.done, timeout=timeout,
                              interval=poll_interval, bar=bar, on_progress=on_progress,
                              still=lambda job: f"job {ident} is still {job.stage.value} ({job.percent:.1f}%)")
        return raise_for_outcome(job)

    def explain(self, audio: AudioLike, *, tagger: TaggerLike, timeout: float | None = None,
                progress: bool | TextIO = False, **submit: Any) -> Job:
        """submit() then wait(): the finished job (its `.result` is the Explanation). Takes submit()'s
        keywords, the sampling ones too: `explain(…, confidence=0.99)`, `explain(…, fixed=512)`."""
        return self.wait(self.submit(audio, tagger=tagger, **submit), timeout=timeout, progress=progress)

    def result(self, ref: JobRef) -> Explanation:
        """The explanation of a finished job; JobFailed, JobCancelled or JobNotFinished otherwise."""
        return self._finished(ref).result

    def _finished(self, ref: JobRef) -> Job:
        """The job, known to be finished; an ended Job object is used as is, since it cannot change."""
        job = ref if isinstance(ref, Job) and ref.done else self.get(ref)
        return raise_for_outcome(job)

    def page(self, limit: int = 20, offset: int = 0) -> Page:
        return self.transport.document("GET", "explanations", Page.from_json,
                                       params={"limit": limit, "offset": offset})

    def list(self, page_size: int = PAGE_SIZE) -> Iterator[Job]:
        """Every job of this API key, newest first, page after page."""
        page = self.page(page_size)
        while True:
            yield from page.items
            if page.next is None:
                return
            page = self.transport.document("GET", page.next, Page.from_json)

    def delete(self, ref: JobRef) -> None:
        """DELETE the job: a queued or running one is cancelled (its record stays, `cancelled`,
        until it expires), an ended one is removed with all its data."""
        self.transport.request("DELETE", _job_path(ref))

    def cancel(self, ref: JobRef) -> Job | None:
        """Cancel the job (the same DELETE); its state afterwards, or None if it had already
        ended and is therefore gone."""
        self.delete(ref)
        try:
            return self.get(ref)
        except NotFound:
            return None

    def health(self) -> dict:
        return self.transport.document("GET", "healthz", dict)

    # -- audio -------------------------------------------------------------------------------------

    def download_source(self, ref: JobRef, name: str, path: str | Path | None = None, *,
                        format: str = DEFAULT_AUDIO_FORMAT) -> bytes | Path:
        """One full source (stem). Bytes, or written to `path` (then the Path)."""
        return self._download(_job_path(ref, "sources", name), {}, path, format)

    def download_component(self, ref: JobRef, index: int, path: str | Path | None = None, *,
                           format: str = DEFAULT_AUDIO_FORMAT) -> bytes | Path:
        """One component: full length, silent outside its segment."""
        return self._download(_job_path(ref, "components", int(index)), {}, path, format)

    def download_explanation(self, ref: JobRef, tag: str | None = None, k: int = DEFAULT_K,
                             path: str | Path | None = None, *, format: str = DEFAULT_AUDIO_FORMAT) -> bytes | Path:
        """The listenable explanation: the mix of the tag's top-k positive components."""
        params = {"k": int(k), **({"tag": tag} if tag is not None else {})}
        return self._download(_job_path(ref, "audio"), params, path, format)

    def download_part(self, ref: JobRef, part: str, tag: str | None = None, path: str | Path | None = None, *,
                      format: str = DEFAULT_AUDIO_FORMAT) -> bytes | Path:
        """A tag's verified part as the tagger heard it: `sufficient`, the set's mix alone, or
        `necessary`, the mix without the set (NotFound, saying why, when the search found none)."""
        if part not in VERIFIED_PARTS:
            raise UsageError(f"part must be one of {', '.join(VERIFIED_PARTS)}; got {part!r}")
        params = {"part": part, **({"tag": tag} if tag is not None else {})}
        return self._download(_job_path(ref, "audio"), params, path, format)

    def view(self, ref: JobRef, tag: str | None = None, *, format: str = "flac"):
        """A finished job's explanation of `tag` to show in a notebook (Jupyter renders it: the heat
        map, the baseline, the verified parts with players, the top components, the self-check)."""
        from audiolime_client import notebook  # noqa: PLC0415 - matplotlib is slow to import; only here

        return notebook.view(self, self._finished(ref), tag, check_format(format))

    def download_all(self, ref: JobRef, out_dir: str | Path, *, k: int = DEFAULT_K,
                     format: str = DEFAULT_AUDIO_FORMAT, components: bool = False,
                     samples: bool = False) -> dict[str, Path]:
        """result.json, every source, each tag's top-k mix and verified parts (and every component, and
        samples.npz, if asked) into out_dir."""
        parts = PARTS[:4] + (("components",) if components else ()) + (("samples",) if samples else ())
        return save_job_files(self, self._finished(ref), Path(out_dir), parts=parts, k=k, audio_format=format)

    # -- what it was fitted on ---------------------------------------------------------------

    def samples(self, ref: JobRef, format: str = "json", path: str | Path | None = None) -> Samples | Path:
        """A finished job's masks, their counts and the tagger's scores (NotReady before it finished).

        `format` is how they travel ("json", or "npz": compressed, for large runs); either way
        the answer is a Samples. With `path`, the file as the API sent it is written there
        instead (e.g. samples.npz) and its Path returned."""
        if format not in SAMPLE_FORMATS:
            raise UsageError(f"format must be one of {', '.join(SAMPLE_FORMATS)}; got {format!r}")
        route, params = _job_path(ref, "samples"), {"format": format}
        if path is not None:
            response = self.transport.request("GET", route, params=params, stream=True)
            return self.transport.stream_to(response, lambda chunks: write_chunks(Path(path), chunks))
        if format == "json":
            return self.transport.document("GET", route, Samples.from_json, params=params)
        return Samples.from_npz(self.transport.request("GET", route, params=params).content)

    def _download(self, path: str, params: dict, target: str | Path | None, audio_format: str) -> bytes | Path:
        params = {**params, "format": check_format(audio_format)}
        response = self.transport.request("GET", path, params=params, stream=target is not None)
        if target is None:
            return response.content
        return self.transport.stream_to(response, lambda chunks: write_chunks(Path(target), chunks))

