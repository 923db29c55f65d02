"""Command-line values: `--option key=value`, `--header 'Name: value'`, `--stem name=path`, `--segments`.

Converters raise argparse.ArgumentTypeError, whose message argparse prints as is; for headers
the message never repeats the value, which may be a secret.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from audiolime_client.settings import TaggerSettings


def option(text: str) -> tuple[str, Any]:
    """key=value; the value is read as JSON when it is JSON (true, 3, ["a","b"]), else as a string."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def options_json(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object, e.g. '{\"model\": \"MSD_musicnn\"}'")
    return value


def header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or " " in name.strip():
        raise argparse.ArgumentTypeError("expected 'Name: value' (the value is not shown here: it may be a secret)")
    return name.strip(), value.strip()


def stem(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or not path:
        raise argparse.ArgumentTypeError(f"expected name=path, got {text!r}")
    return name.strip(), existing_file(path)


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


def existing_path(text: str) -> Path:
    """A file or a folder that exists."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file or folder: {text}")
    return path


def segments(text: str) -> int | list[float]:
    """A count ("10") or inner boundaries in seconds ("2.5,5,7.5")."""
    try:
        if "," not in text and "." not in text:
            count = int(text)
            if count < 1:
                raise ValueError
            return count
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a segment count or boundaries like 2.5,5,7.5; got {text!r}") \
            from None


def positive_int(text: str) -> int:
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    return _int_at_least(text, 0, "an integer ≥ 0")


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def sample_count(text: str) -> int:
    return _int_at_least(text, 2, "a sample count of at least 2 (the original and one more)")


def fraction(text: str) -> float:
    """A number from 0 to 1 (a confidence, a tolerance)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1 like 0.95, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1 like 0.95, got {text}")
    return value


ADAPTIVE_ONLY_FLAGS = ("--max-samples", "--min-samples", "--round-size")


def check_sampling(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A usage error (exit 2) for adaptive-only flags beside a fixed count: argparse cannot say it itself."""
    count = "--fixed" if args.fixed is not None else "--samples" if args.samples is not None else None
    if count is None:
        return
    for flag in ADAPTIVE_ONLY_FLAGS:
        if getattr(args, flag[2:].replace("-", "_")) is not None:
            parser.error(f"{flag} is for adaptive runs, but {count} N asks exactly N masks "
                         f"(leave {count} out to sample adaptively)")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


TAGGER_FIELDS = ("sample_rate", "channels", "encoding", "input_seconds", "input_policy", "batch_size",
                 "concurrency", "max_rps", "connect_timeout", "read_timeout")


def tagger_settings(args: argparse.Namespace) -> TaggerSettings:
    """--tagger, --protocol, --options, --option…, --header… and the tuning flags, as TaggerSettings."""
    options = dict(args.options or {})
    options.update(dict(args.option or []))
    tuning = {name: getattr(args, name) for name in TAGGER_FIELDS if getattr(args, name) is not None}
    return TaggerSettings(url=args.tagger, protocol=args.protocol, options=options, headers=dict(args.header or []),
                          retries=args.tagger_retries, **tuning)
