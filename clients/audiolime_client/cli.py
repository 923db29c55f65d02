"""`audiolime`: explain a clip with a remote tagger, and manage explanation jobs, from the shell.

    audiolime explain song.mp3 --tagger http://127.0.0.1:8601/predict --tag low --confidence 0.99 --out results/
    audiolime explain song.mp3 --tagger http://127.0.0.1:8601/predict --tag low --fixed 1024
    audiolime status ID | wait ID | download ID --out DIR | cancel ID | list
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path
from typing import Sequence

from audiolime_client import __version__, commands, options
from audiolime_client.audio import FORMATS
from audiolime_client.defaults import (
    DEFAULT_AUDIO_FORMAT, DEFAULT_CLI_HTTP_TIMEOUT, DEFAULT_K, DEFAULT_LIST_LIMIT, DEFAULT_POLL_INTERVAL,
    DEFAULT_RETRIES, DEFAULT_ROWS, DEFAULT_URL,
)
from audiolime_client.errors import (
    AudiolimeError, ConnectionFailed, JobCancelled, JobFailed, ServerError, Timeout, UsageError,
)
from audiolime_client.exitcodes import EPILOG, Exit, for_stage
from audiolime_client.sampling import DESIGNS
from audiolime_client.settings import ENCODINGS, INPUT_POLICIES, PROTOCOLS, SEPARATORS

ENV_URL, ENV_KEY = "AUDIOLIME_URL", "AUDIOLIME_API_KEY"


class Parser(argparse.ArgumentParser):
    """argparse with the exit codes under every --help."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs.setdefault("epilog", EPILOG)
        super().__init__(*args, **kwargs)


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("service")
    group.add_argument("--url", default=os.environ.get(ENV_URL, DEFAULT_URL),
                       help=f"the API's base URL (env {ENV_URL}; default %(default)s)")
    group.add_argument("--api-key", default=os.environ.get(ENV_KEY), metavar="KEY",
                       help=f"API key, sent as `Authorization: Bearer` (env {ENV_KEY}, which keeps it out of "
                            "the process list); never printed")
    group.add_argument("--http-timeout", type=options.positive_float, default=DEFAULT_CLI_HTTP_TIMEOUT,
                       metavar="SECONDS",
                       help="timeout of each HTTP request (default %(default)s)")
    group.add_argument("--retries", type=options.non_negative_int, default=DEFAULT_RETRIES, metavar="N",
                       help="retries on 503 and connection errors, with exponential backoff (default %(default)s)")


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
    tagger = parser.add_argument_group("tagger")
    tagger.add_argument("--tagger", required=True, metavar="URL",
                        help="predict URL (json, kserve_v1, file_upload) or base URL (oip)")
    tagger.add_argument("--protocol", choices=PROTOCOLS, default="json", help="default %(default)s")
    tagger.add_argument("--options", type=options.options_json, metavar="JSON", help="protocol options as JSON")
    tagger.add_argument("--option", type=options.option, action="append", metavar="KEY=VALUE",
                        help="one protocol option (value read as JSON if it is JSON); repeatable")
    tagger.add_argument("--header", type=options.header, action="append", metavar="'NAME: VALUE'",
                        help="the tagger's own auth header; repeatable; secret: never printed or stored")
    tagger.add_argument("--sample-rate", type=options.positive_int, help="the rate the tagger wants (default 16000)")
    tagger.add_argument("--channels", type=int, choices=(1, 2))
    tagger.add_argument("--encoding", choices=ENCODINGS)
    tagger.add_argument("--input-seconds", type=options.positive_float)
    tagger.add_argument("--input-policy", choices=INPUT_POLICIES)
    tagger.add_argument("--batch-size", type=options.positive_int)
    tagger.add_argument("--concurrency", type=options.positive_int)
    tagger.add_argument("--max-rps", type=options.positive_float)
    tagger.add_argument("--connect-timeout", type=options.positive_float)
    tagger.add_argument("--read-timeout", type=options.positive_float)
    tagger.add_argument("--tagger-retries", type=options.non_negative_int, metavar="N")
    explanation = parser.add_argument_group("explanation")
    targets = explanation.add_mutually_exclusive_group()
    targets.add_argument("--tag", action="append", help="a tag to explain; repeatable")
    targets.add_argument("--top-k", type=options.positive_int, metavar="N", help="explain the tagger's top N tags")
    explanation.add_argument("--segments", type=options.segments,
                             help="segment count, or inner boundaries in seconds like 2.5,5,7.5")
    explanation.add_argument("--separator", choices=SEPARATORS, help="default spleeter:2stems; provided with --stem")
    explanation.add_argument("--stem", type=options.stem, action="append", metavar="NAME=PATH",
                             help="a provided stem (implies --separator provided); repeatable")
    explanation.add_argument("--seed", type=options.non_negative_int)
    explanation.add_argument("--residual", action="store_true", help="add mixture − Σ sources as a source")
    explanation.add_argument("--self-check-k", type=options.non_negative_int, metavar="K")
    explanation.add_argument("--no-wait", action="store_true", help="print the job id and exit at once")
    add_sampling_options(parser)
    add_waiting_options(parser)
    add_connection_options(parser)
    parser.set_defaults(run=commands.explain, check=functools.partial(options.check_sampling, parser))


def add_sampling_options(parser: argparse.ArgumentParser) -> None:
    sampling = parser.add_argument_group(
        "sampling", "By default the service samples adaptively: in rounds of masks, until every tag's claim "
                    "about its top 3 components is 95 % sure, at most 2048 masks. --fixed N asks exactly N "
                    "masks instead; --max-samples, --min-samples and --round-size are for adaptive runs only.")
    count = sampling.add_mutually_exclusive_group()
    count.add_argument("--fixed", type=options.sample_count, metavar="N",
                       help="ask the tagger about exactly N masks (strategy fixed), as audioLIME does")
    count.add_argument("--samples", type=options.sample_count, metavar="N",
                       help="the same as --fixed N: a request with samples alone is a fixed run")
    sampling.add_argument("--confidence", type=options.fraction, metavar="P",
                          help="how sure each tag's claim must be for an adaptive run to stop (default 0.95); "
                               "with --fixed, the confidence the claim is judged against")
    sampling.add_argument("--claim-k", type=options.positive_int, metavar="K",
                          help="the claim is about each tag's top K components (default 3; the API's "
                               "sampling.top_k; not --top-k, which picks the tags)")
    sampling.add_argument("--tolerance", type=options.fraction, metavar="F",
                          help="weights within this fraction of the largest are a tie, not an order (default 0.1)")
    sampling.add_argument("--max-samples", type=options.sample_count, metavar="N",
                          help="an adaptive run asks at most N masks (default 2048)")
    sampling.add_argument("--min-samples", type=options.sample_count, metavar="N",
                          help="an adaptive run's first look (default 128)")
    sampling.add_argument("--round-size", type=options.positive_int, metavar="N",
                          help="masks per round of an adaptive run (default 64)")
    sampling.add_argument("--design", choices=DESIGNS,
                          help="independent draws, or each mask with its complement (default: paired when "
                               "adaptive, independent when fixed)")


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
    for name, command in subparsers.choices.items():
        if name != "explain":  # explain adds them itself, after its own groups
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
    if isinstance(exc, (JobFailed, JobCancelled)):
        return for_stage(exc.job.stage)
    if isinstance(exc, Timeout):
        return Exit.TIMEOUT
    if isinstance(exc, (ConnectionFailed, ServerError)):
        return Exit.UNAVAILABLE
    return Exit.API_ERROR  # ApiError (4xx), JobNotFinished, UnexpectedResponse


if __name__ == "__main__":
    sys.exit(main())
