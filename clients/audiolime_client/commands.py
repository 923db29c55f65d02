"""What each subcommand does. Each returns an exit code; errors propagate to cli.main."""
from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

from audiolime_client import tables
from audiolime_client.client import Client
from audiolime_client.errors import raise_for_outcome
from audiolime_client.exitcodes import Exit, for_stage
from audiolime_client.files import PARTS, save_job_files
from audiolime_client.models import Job
from audiolime_client.options import tagger_settings
from audiolime_client.phrases import plural

WHAT_DEFAULT = ("result", "sources", "explanation", "parts", "heatmap")
WHAT_CHOICES = ("result", "sources", "components", "explanation", "parts", "heatmap", "samples", "all")


def client_for(args: argparse.Namespace) -> Client:
    return Client(args.url, args.api_key, timeout=args.http_timeout, retries=args.retries)


def note(text: str) -> None:
    """Progress notes go to stderr, so stdout stays the report (or the id, with --no-wait)."""
    print(text, file=sys.stderr, flush=True)


@contextmanager
def keeps_running(what: str, commands: str):
    """Ctrl-C while waiting: say that `what` keeps running and the `commands` that follow it up."""
    try:
        yield
    except KeyboardInterrupt:
        note(f"\ninterrupted; {what} keeps running: {commands}")
        raise


def explain(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        submitted = client.submit(args.audio, tagger=tagger_settings(args), stems=dict(args.stem or []) or None,
                                  separator=args.separator, tags=args.tag, top_k=args.top_k, samples=args.samples,
                                  segments=args.segments, seed=args.seed, residual=args.residual or None,
                                  self_check_k=args.self_check_k, **sampling_settings(args), **check_settings(args))
        if args.no_wait:
            print(submitted.id)
            return Exit.OK
        note(f"submitted {submitted.id} ({client.transport.url(submitted.status_url)})")
        return finish(client, args, submitted.id, args.out or default_out(submitted.id))


def sampling_settings(args: argparse.Namespace) -> dict:
    """The sampling flags as explanation_request's keywords (None: the service's default)."""
    return {"fixed": args.fixed, "confidence": args.confidence, "claim_k": args.claim_k, "tolerance": args.tolerance,
            "max_samples": args.max_samples, "min_samples": args.min_samples, "round_size": args.round_size,
            "design": args.design, "claim": args.claim, "estimator": args.estimator}


def check_settings(args: argparse.Namespace) -> dict:
    """What "off" sounds like and the verification budget, as explanation_request's keywords."""
    return {"off": args.off, "check_off": args.check_off, "verification_budget": args.verification_budget}


def default_out(job_id: str) -> Path:
    """explain's folder when --out is not given: short enough to type, unique enough in practice."""
    return Path(f"audiolime-{job_id[:8]}")


def wait(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        return finish(client, args, args.id, args.out)


def finish(client: Client, args: argparse.Namespace, job_id: str, out: Path | None) -> int:
    """Wait with the bar, print the report, write the files."""
    with keeps_running(f"job {job_id}", f"`audiolime status {job_id}`, `audiolime cancel {job_id}`"):
        job = client.wait(job_id, timeout=args.timeout, progress=not args.no_progress,
                          poll_interval=args.poll_interval)
    print(_summary(job))
    for line in (tables.sampling_line(job.result.stats), tables.reuse_line(job.result.stats)):
        if line:
            print(line)
    print()
    print(tables.report(job.result, args.rows))
    if out is not None:
        written = save(client, job, out, WHAT_DEFAULT, k=args.k, audio_format=args.format)
        print(f"wrote {len(written)} files to {out}/: " + ", ".join(str(p.relative_to(out)) for p in written))
    return Exit.OK


def _summary(job: Job) -> str:
    result, stats = job.result, job.result.stats
    seconds = (job.finished_at - job.created_at).total_seconds() if job.finished_at else float("nan")
    calls = plural(stats.tagger_calls, "tagger call") if stats.tagger_calls is not None else "? tagger calls"
    if stats.verification_calls:
        calls += f" ({stats.verification_calls} to verify the parts)"
    return (f"finished {job.id} in {seconds:.1f} s: {calls} in all, "
            f"{len(result.sources)} sources × {len(result.segments)} segments = {len(result.components)} components "
            f"({', '.join(result.sources)})")


def save(client: Client, job: Job, out: Path, what: Iterable[str], *, k: int, audio_format: str,
         tags: list[str] | None = None) -> list[Path]:
    """The chosen parts of a job known to be finished into `out` (heat map included); the files written."""
    what = set(WHAT_CHOICES[:-1] if "all" in what else what)
    files = save_job_files(client, job, out, parts=what & set(PARTS), tags=tags, k=k, audio_format=audio_format)
    written = list(files.values())
    if "heatmap" in what:
        from audiolime_client import heatmap  # noqa: PLC0415 - matplotlib is slow to import; only here

        rendered = heatmap.render(job.result, out / "heatmap", tags)
        written += [rendered.png, rendered.svg]
    return written


def status(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        job = client.get(args.id)
    if args.json:
        print(json.dumps(job.raw, indent=2, ensure_ascii=False))
    else:
        print(tables.status_lines(job))
    return for_stage(job.stage)


def download(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        job = raise_for_outcome(client.get(args.id))  # failed, cancelled or still running: an exception
        written = save(client, job, args.out, tuple(args.what or WHAT_DEFAULT), k=args.k, audio_format=args.format,
                       tags=args.tag)
    for path in written:
        print(path)
    return Exit.OK


def cancel(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        after = client.cancel(args.id)
    if after is None:
        print(f"deleted {args.id} (it had already ended; its data is gone)")
    else:
        print(f"cancelled {args.id} (stage {after.stage.value}; its data is deleted)")
    return Exit.OK


def list_jobs(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        jobs = []
        for job in client.list(page_size=min(100, args.limit)):
            jobs.append(job)
            if len(jobs) >= args.limit:
                break
    if args.json:
        print(json.dumps([job.raw for job in jobs], indent=2))
    elif jobs:
        print(tables.job_list(jobs))
    else:
        print("no explanations for this API key")
    return Exit.OK

