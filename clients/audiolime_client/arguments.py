"""The command line's shared flags: the service, the tagger, which tags and how clips are cut, sampling.

`explain` and `study` ask the same explanation, so they take the same flags from here.
"""
from __future__ import annotations

import argparse
import os
from typing import Sequence

from audiolime_client import options
from audiolime_client.defaults import DEFAULT_CLI_HTTP_TIMEOUT, DEFAULT_RETRIES, DEFAULT_URL
from audiolime_client.exitcodes import EPILOG
from audiolime_client.sampling import CLAIMS, DESIGNS, ESTIMATORS
from audiolime_client.settings import ENCODINGS, INPUT_POLICIES, OFF_CHOICES, PROTOCOLS, PROVIDED

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


def add_tagger_options(parser: argparse.ArgumentParser) -> None:
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


def add_explanation_options(parser: argparse.ArgumentParser, separators: Sequence[str]):
    """Which tags, and how each clip is cut into components; the group, for the command's own flags."""
    explanation = parser.add_argument_group("explanation")
    targets = explanation.add_mutually_exclusive_group()
    targets.add_argument("--tag", action="append", help="a tag to explain; repeatable")
    targets.add_argument("--top-k", type=options.positive_int, metavar="N", help="explain the tagger's top N tags")
    explanation.add_argument("--segments", type=options.segments,
                             help="segment count, or inner boundaries in seconds like 2.5,5,7.5")
    explanation.add_argument("--separator", choices=separators,
                             help="default spleeter:2stems" + ("; provided with --stem" if PROVIDED in separators
                                                               else ""))
    explanation.add_argument("--seed", type=options.non_negative_int)
    explanation.add_argument("--residual", action="store_true", help="add mixture − Σ sources as a source")
    explanation.add_argument("--self-check-k", type=options.non_negative_int, metavar="K",
                             help="the self-check's depth, and the largest verified part searched (default 3)")
    explanation.add_argument("--off", choices=OFF_CHOICES,
                             help="what a switched-off component sounds like while sampling (default silence)")
    explanation.add_argument("--check-off", choices=OFF_CHOICES,
                             help="…in the checks and the verified parts, the mixes you play (default cut)")
    explanation.add_argument("--verification-budget", type=options.non_negative_int, metavar="CALLS",
                             help="tagger calls each search for a verified part may spend (default 32)")
    return explanation


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
    sampling.add_argument("--claim", choices=CLAIMS,
                          help="strict (default): each claimed component is above every other one, or tied "
                               "with it within the tolerance; tolerant: no component left out is above a "
                               "claimed one by more than the tolerance (far fewer masks at a close border)")
    sampling.add_argument("--estimator", choices=ESTIMATORS,
                          help="adjusted (default when adaptive): the same weights as LIME's, regression-"
                               "adjusted (interactions of components near in time fitted and projected exactly; "
                               "far fewer masks where components act together, as a real tagger's do); plain "
                               "(default when fixed): LIME's weighted ridge")
    sampling.add_argument("--design", choices=DESIGNS,
                          help="independent draws, or each mask with its complement (default: paired when "
                               "adaptive, independent when fixed)")
