"""`audiolime study`, `study-status` and `study-cancel`: one explanation request over many clips.

    audiolime study clips/ --tagger http://127.0.0.1:8601/predict --separator hpss --tag low \\
        --random 20 --compare slime --out study/
    audiolime study-status ID [--json] [--wait [--out DIR]]
    audiolime study-cancel ID
"""
from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

from audiolime_client import options, study_tables
from audiolime_client.arguments import (
    add_connection_options, add_explanation_options, add_sampling_options, add_tagger_options,
)
from audiolime_client.client import Client
from audiolime_client.commands import check_settings, client_for, keeps_running, note, sampling_settings
from audiolime_client.defaults import DEFAULT_POLL_INTERVAL
from audiolime_client.errors import UsageError
from audiolime_client.exitcodes import Exit
from audiolime_client.options import tagger_settings
from audiolime_client.settings import PROVIDED, SEPARATORS
from audiolime_client.study_models import Study

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
STUDY_SEPARATORS = tuple(s for s in SEPARATORS if s != PROVIDED)  # a study separates each clip itself
FILES = ("report.json", "figure.png", "figure.svg")


def add_study_commands(subparsers) -> None:
    parser = subparsers.add_parser(
        "study", help="explain many clips with one request: progress over clips, the report's tables, its figure",
        description="Submit every clip (a folder: every WAV, FLAC, OGG and MP3 file in it, sorted by name) with "
                    "one explanation request, wait with a progress bar over the clips (the tagger calls of all "
                    "their jobs beside it), then print per tag the clips, each source's median share of the "
                    "positive weight (with quartiles) and the most frequent top component, and the faithfulness "
                    "table: per k, how many clips keep the tag on top with the top-k alone (with a 95 % "
                    "interval), against k random positive components (--random) and another separator "
                    "(--compare), and how often removing the top-k drops it. Writes report.json (the study "
                    "document: request, clips and their jobs, the report), figure.png and figure.svg into --out "
                    "(default ./audiolime-study-<the id's first 8 characters>). A study that finished with some "
                    "clips failed exits 0 and lists them; one whose every clip failed exits 1.")
    parser.add_argument("clips", nargs="*", type=options.existing_path, metavar="FILES_OR_DIR",
                        help="audio files, or folders of them; each clip is named by its file name")
    add_tagger_options(parser)
    explanation = add_explanation_options(parser, STUDY_SEPARATORS)
    explanation.add_argument("--explanation", action="append", metavar="ID", dest="explanations",
                             help="an earlier explanation of this key whose audio is one more clip; repeatable")
    explanation.add_argument("--no-wait", action="store_true", help="print the study id and exit at once")
    comparisons = parser.add_argument_group("comparisons")
    comparisons.add_argument("--random", type=options.positive_int, metavar="R",
                             help="the faithfulness baseline: k random positive components kept alone and removed, "
                                  "R times per k (at most 2·R·K + K more tagger calls per tag and clip)")
    comparisons.add_argument("--compare", choices=STUDY_SEPARATORS, metavar="SEPARATOR",
                             help="explain every clip a second time with this separator (e.g. slime) and compare")
    add_sampling_options(parser)
    add_study_waiting_options(parser)
    add_connection_options(parser)
    parser.set_defaults(run=study, check=functools.partial(check_study, parser))

    status = subparsers.add_parser(
        "study-status", help="a study's status, progress and clips (--wait: wait, then report and save)",
        description="Print a study's status, its progress over clips and tagger calls, and each clip's jobs, "
                    "status and error. With --wait, wait for it as `study` does, then print its tables and write "
                    "its files into --out. Exits 1 if every clip failed, 6 if it was cancelled, 0 otherwise.")
    status.add_argument("id")
    shown = status.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="the API's JSON document")
    shown.add_argument("--wait", action="store_true", help="wait until it ends, then report (and save with --out)")
    add_study_waiting_options(status)
    status.set_defaults(run=study_status)

    cancel = subparsers.add_parser(
        "study-cancel", help="cancel a study (its running jobs) and delete it",
        description="Cancel every job of the study still queued or running, delete the ended ones, and the "
                    "study. Earlier explanations used as clips are untouched.")
    cancel.add_argument("id")
    cancel.set_defaults(run=study_cancel)


def add_study_waiting_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("waiting and output")
    group.add_argument("--out", type=Path, metavar="DIR", help="write " + ", ".join(FILES) + " here")
    group.add_argument("--timeout", type=options.positive_float, metavar="SECONDS",
                       help="give up waiting after this long (exit 5; the study keeps running)")
    group.add_argument("--poll-interval", type=options.positive_float, default=DEFAULT_POLL_INTERVAL, metavar="SECONDS")
    group.add_argument("--no-progress", action="store_true", help="no progress bar")


def check_study(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Folders become their audio files; at least one clip; what argparse cannot see alone (exit 2)."""
    options.check_sampling(parser, args)
    try:
        args.clips = clip_files(args.clips)
    except UsageError as exc:
        parser.error(str(exc))
    if not args.clips and not args.explanations:
        parser.error("name at least one clip (a file or a folder of them) or --explanation ID")


def clip_files(paths: list[Path]) -> list[Path]:
    """Files as given; each folder's audio files (by suffix), sorted by name. Clip names must differ."""
    files = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                raise UsageError(f"{path}/ holds no audio file ({', '.join(AUDIO_SUFFIXES)})")
            files += found
        else:
            files.append(path)
    named: dict[str, Path] = {}
    for file in files:
        if file.name in named:
            raise UsageError(f"two clips are named {file.name!r} ({named[file.name]}, {file}): a study names each "
                             "clip by its file name")
        named[file.name] = file
    return files


def study(args: argparse.Namespace) -> int:
    comparisons = {"random": args.random, "separator": args.compare}
    with client_for(args) as client:
        submitted = client.submit_study(
            args.clips, tagger=tagger_settings(args), comparisons=comparisons, explanations=args.explanations,
            separator=args.separator, tags=args.tag, top_k=args.top_k, samples=args.samples, segments=args.segments,
            seed=args.seed, residual=args.residual or None, self_check_k=args.self_check_k, **sampling_settings(args),
            **check_settings(args))
        if args.no_wait:
            print(submitted.id)
            return Exit.OK
        note(f"submitted study {submitted.id} of {len(submitted.clips)} clips "
             f"({client.transport.url(submitted.status_url)}; page {client.transport.url(view_path(submitted.id))})")
        return finish(client, args, submitted.id, args.out or Path(f"audiolime-study-{submitted.id[:8]}"))


def view_path(ident: str) -> str:
    return f"/studies/{ident}/view"


def finish(client: Client, args: argparse.Namespace, ident: str, out: Path | None) -> int:
    """Wait with the bar, print the tables, write the files."""
    with keeps_running(f"study {ident}", f"`audiolime study-status {ident} --wait`, `audiolime study-cancel {ident}`"):
        ended = client.wait_study(ident, timeout=args.timeout, progress=not args.no_progress,
                                  poll_interval=args.poll_interval)
    print(summary(ended))
    print()
    print(study_tables.report_text(ended))
    failed = study_tables.failed_lines(ended.clips or ())
    if failed:
        print("\nclips left out (failed or cancelled):\n" + "\n".join(failed))
    if out is not None:
        written = save(client, ended, out)
        print(f"\nwrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written))
    return Exit.OK


def summary(ended: Study) -> str:
    report, progress = ended.report, ended.progress
    seconds = (ended.finished_at - ended.created_at).total_seconds() if ended.finished_at else float("nan")
    calls = report.calls if report else {}
    parts = [f"explanations {calls['explanations']}"] if calls.get("explanations") else []
    if calls.get("faithfulness"):  # part of the explanations' calls, not more
        parts[-1:] = [f"{parts[-1] if parts else 'explanations'}, of which {calls['faithfulness']} for the "
                      "faithfulness checks"]
    if calls.get("comparison"):
        parts.append(f"the comparison {calls['comparison']}")
    parts = "; ".join(parts)
    return (f"{ended.status} study {ended.id} in {seconds:.1f} s: {report.clips if report else 0} of "
            f"{progress.total} clips explained ({progress.failed} failed); {progress.tagger_calls_done} tagger "
            f"calls" + (f" ({parts})" if parts else ""))


def save(client: Client, ended: Study, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    report = out / FILES[0]
    report.write_text(json.dumps(ended.raw, indent=2, ensure_ascii=False) + "\n")
    return [report] + [client.study_figure(ended, fmt, out / name) for fmt, name in (("png", FILES[1]),
                                                                                     ("svg", FILES[2]))]


def study_status(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        if args.wait:
            return finish(client, args, args.id, args.out)
        current = client.study(args.id)
    if args.json:
        print(json.dumps(current.raw, indent=2, ensure_ascii=False))
    else:
        print(study_tables.status_lines(current))
    return {"failed": Exit.JOB_FAILED, "cancelled": Exit.CANCELLED}.get(current.status, Exit.OK)


def study_cancel(args: argparse.Namespace) -> int:
    with client_for(args) as client:
        client.cancel_study(args.id)
    print(f"cancelled study {args.id}: its running jobs are cancelled, the ended ones and the study deleted")
    return Exit.OK
