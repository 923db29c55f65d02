"""`audiolime`: explain a clip with a remote tagger, and manage explanation jobs, from the shell.

    audiolime explain song.mp3 --tagger http://127.0.0.1:8601/predict --tag low --confidence 0.99 --out results/
    audiolime explain song.mp3 --tagger http://127.0.0.1:8601/predict --tag low --fixed 1024
    audiolime status ID | wait ID | download ID --out DIR | cancel ID | list
    audiolime study clips/ --tagger http://127.0.0.1:8601/predict --separator hpss --tag low --random 20 --out study/
    audiolime study-status ID [--wait --out DIR] | study-cancel ID
"""
from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Sequence

from audiolime_client import __version__, commands, options, study_cli
from audiolime_client.arguments import (
    Parser, add_connection_options, add_explanation_options, add_sampling_options, add_tagger_options,
)
from audiolime_client.audio import FORMATS
from audiolime_client.defaults import (
    DEFAULT_AUDIO_FORMAT, DEFAULT_K, DEFAULT_LIST_LIMIT, DEFAULT_POLL_INTERVAL, DEFAULT_ROWS,
)
from audiolime_client.errors import (
    AudiolimeError, ConnectionFailed, JobCancelled, JobFailed, ServerError, Timeout, UsageError,
)
from audiolime_client.exitcodes import Exit
from audiolime_client.settings import SEPARATORS


def add_waiting_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("waiting and output")
    group.add_argument("--out", type=Path, metavar="DIR",
                       help="write result.json, sources/, the top-k mixes and heatmap.png/.svg here")
    group.add_argument("--k", type=options.positive_int, default=DEFAULT_K,
                       help="components in each explanation mix (default %(default)s)")
    group.add_argument("--format", choices=FORMATS, default=DEFAULT_AUDIO_FORMAT,
                       help="audio format of the files written")
    group.add_argument("--rows", type=options.positive_int, default=DEFAULT_ROWS,
                       help="top components listed per tag (default %(default)s)")
    group.add_argument("--timeout", type=options.positive_float, metavar="SECONDS",
                       help="give up waiting after this long (exit 5; the job keeps running)")
    group.add_argument("--poll-interval", type=options.positive_float, default=DEFAULT_POLL_INTERVAL, metavar="SECONDS")
    group.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_explain(subparsers) -> None:
    parser = subparsers.add_parser(
        "explain", help="explain a clip: submit, wait with a progress bar, report, save",
        description="Submit a clip and a tagger, wait for the explanation with a progress bar (the masks "
                    "answered and the claim's confidence), then print per tag the claim about its top "
                    "components and how sure it is, the top components' weights with their 95 % intervals, "
                    "each source's and segment's share of the positive weight and the self-check; write "
                    "result.json, the sources, the top-k mixes and a heat map (PNG and SVG) into --out "
                    "(default ./audiolime-<the id's first 8 characters>).")
    parser.add_argument("audio", type=options.existing_file, help="the clip (WAV, FLAC, OGG or MP3)")
    add_tagger_options(parser)
    explanation = add_explanation_options(parser, SEPARATORS)
    explanation.add_argument("--stem", type=options.stem, action="append", metavar="NAME=PATH",
                             help="a provided stem (implies --separator provided); repeatable")
    explanation.add_argument("--no-wait", action="store_true", help="print the job id and exit at once")
    add_sampling_options(parser)
    add_waiting_options(parser)
    add_connection_options(parser)
    parser.set_defaults(run=commands.explain, check=functools.partial(options.check_sampling, parser))


def add_job_commands(subparsers) -> None:
    wait = subparsers.add_parser("wait", help="wait for a job, report, save",
                                 description="Wait for a submitted job like explain does, then report (and save "
                                             "with --out).")
    wait.add_argument("id")
    add_waiting_options(wait)
    wait.set_defaults(run=commands.wait)
    status = subparsers.add_parser("status", help="a job's stage, progress and error",
                                   description="Print a job's status. Exits 1 if the job failed, 6 if it was "
                                               "cancelled, 0 otherwise.")
    status.add_argument("id")
    status.add_argument("--json", action="store_true", help="the API's JSON document")
    status.set_defaults(run=commands.status)
    download = subparsers.add_parser(
        "download", help="save a finished job's files",
        description="Write a finished job's files into --out. Exits 1 if the job failed and 6 if it was "
                    "cancelled; a job still queued or running is not waited for: it exits 3 and writes nothing "
                    "(`audiolime wait ID --out DIR` waits, then saves). A --tag that was not explained exits 2 "
                    "before anything is written.")
    download.add_argument("id")
    download.add_argument("--out", type=Path, required=True, metavar="DIR")
    download.add_argument("--what", choices=commands.WHAT_CHOICES, action="append",
                          help="repeatable; default: result, sources, explanation, heatmap (all adds components and "
                               "samples: samples.npz, the masks, counts and tagger scores the weights were "
                               "fitted on)")
    download.add_argument("--tag", action="append", help="only these tags' mixes and heat maps; repeatable")
    download.add_argument("--k", type=options.positive_int, default=DEFAULT_K,
                          help="components in each explanation mix (default %(default)s)")
    download.add_argument("--format", choices=FORMATS, default=DEFAULT_AUDIO_FORMAT,
                          help="audio format of the files written (default %(default)s)")
    download.set_defaults(run=commands.download)
    cancel = subparsers.add_parser("cancel", help="cancel a job (or delete an ended one)",
                                   description="Cancel a queued or running job (the worker stops within one "
                                               "batch; its data is deleted), or delete an ended job.")
    cancel.add_argument("id")
    cancel.set_defaults(run=commands.cancel)
    listing = subparsers.add_parser("list", help="this API key's jobs, newest first")
    listing.add_argument("--limit", type=options.positive_int, default=DEFAULT_LIST_LIMIT,
                         help="at most this many jobs (default %(default)s)")
    listing.add_argument("--json", action="store_true", help="the API's JSON documents, as one array")
    listing.set_defaults(run=commands.list_jobs)


def build_parser() -> Parser:
    parser = Parser(prog="audiolime", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                       parser_class=Parser)
    add_explain(subparsers)
    add_job_commands(subparsers)
    study_cli.add_study_commands(subparsers)
    for name, command in subparsers.choices.items():
        if name not in ("explain", "study"):  # these add them themselves, after their own groups
            add_connection_options(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # usage errors exit 2 here
    if getattr(args, "check", None) is not None:
        args.check(args)  # and those argparse cannot see alone (also exit 2)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except UsageError as exc:  # refused by the client itself, before sending (or writing) anything
        print(f"audiolime: error: {exc}", file=sys.stderr)
        return Exit.USAGE
    except AudiolimeError as exc:
        return _report(exc)
    except OSError as exc:
        print(f"audiolime: error: {exc}", file=sys.stderr)
        return Exit.FILE_ERROR


def _report(exc: AudiolimeError) -> int:
    """One line on stderr that says what went wrong, and the exit code for it."""
    # a failure is the job's news, not the command's error: "audiolime: job ID failed: …"
    print(f"audiolime: {exc}" if isinstance(exc, JobFailed) else f"audiolime: error: {exc}", file=sys.stderr)
    if isinstance(exc, JobFailed):  # a study's too: every clip failed
        return Exit.JOB_FAILED
    if isinstance(exc, JobCancelled):
        return Exit.CANCELLED
    if isinstance(exc, Timeout):
        return Exit.TIMEOUT
    if isinstance(exc, (ConnectionFailed, ServerError)):
        return Exit.UNAVAILABLE
    return Exit.API_ERROR  # ApiError (4xx), JobNotFinished, UnexpectedResponse


if __name__ == "__main__":
    sys.exit(main())
