"""A test tagger shaped like a commercial tagging API: multipart upload, API key, nested JSON, rate limit.

    python -m tests.servers.commercial_api --port 0 --api-key KEY [--rps N] [--delay S]

POST /v1/analyze takes multipart/form-data with the audio file in the field `audio_file` (any
audio libsndfile reads) and the form field `model=genre-v2`, and the header `X-Api-Key: KEY`.
It answers a nested document with the reference tagger's band levels:

    {"request_id": "…", "result": {"model": "genre-v2", "duration_seconds": 1.0,
     "tags": [{"label": "low", "confidence": 0.35}, …]}, "meta": {"api_version": "2024-05", …}}

401 without the right key; 400 {"error": {"code", "message"}} when the file or the model is
missing or wrong; 429 with Retry-After: 1 for a request over --rps accepted requests in the
current one-second window (a fixed window on the wall clock; rejected requests do not use the
quota). GET /stats {"requests", "clips", "rejected_429"} counts every analyze request, the
clips scored and the requests refused for the rate limit.
"""
from __future__ import annotations

import argparse
import io
import math
import re
import threading
import time
import uuid
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import soundfile

from taggers.reference import LABELS, band_levels
from tests.servers.serving import JsonHandler, argument_parser, serve

ANALYZE_PATH = "/v1/analyze"
MODEL = "genre-v2"
FILE_FIELD = "audio_file"


class BadRequest(ValueError):
    """The upload cannot be analysed; the message goes into the 400 answer."""


class Stats:
    """Counters for /stats and the fixed-window rate limit, under one lock."""

    def __init__(self, rps: int | None, clock=time.time):
        self._lock = threading.Lock()
        self._rps, self._clock = rps, clock
        self._window, self._admitted = None, 0
        self.requests = self.clips = self.rejected_429 = 0

    def arrive(self) -> None:
        with self._lock:
            self.requests += 1

    def admit(self) -> bool:
        """False when a request is over the limit of the current one-second window."""
        with self._lock:
            window = math.floor(self._clock())
            if window != self._window:
                self._window, self._admitted = window, 0
            if self._rps is not None and self._admitted >= self._rps:
                self.rejected_429 += 1
                return False
            self._admitted += 1
            return True

    def scored(self) -> None:
        with self._lock:
            self.clips += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {"requests": self.requests, "clips": self.clips, "rejected_429": self.rejected_429}


def form_fields(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """multipart/form-data -> {field name: (file name or None, content)}."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.lower().startswith("multipart/form-data") or boundary is None:
        raise BadRequest(f"Content-Type must be multipart/form-data with a boundary, got {content_type!r}")
    fields = {}
    for part in body.split(b"--" + boundary.group(1).encode())[1:]:
        if part.startswith(b"--"):  # the closing delimiter
            break
        head, separator, content = part.partition(b"\r\n\r\n")
        disposition = re.search(rb'name="([^"]*)"(?:; filename="([^"]*)")?', head)
        if not separator or disposition is None:
            raise BadRequest("a multipart part has no Content-Disposition with a name")
        filename = disposition.group(2).decode() if disposition.group(2) is not None else None
        fields[disposition.group(1).decode()] = (filename, content.removesuffix(b"\r\n"))
    return fields


def analyze(fields: dict) -> tuple[list[float], float]:
    """The band levels of the uploaded file, and its duration."""
    if fields.get("model", (None, b""))[1].decode(errors="replace") != MODEL:
        raise BadRequest(f"form field `model` must be {MODEL!r}")
    if FILE_FIELD not in fields or not fields[FILE_FIELD][1]:
        raise BadRequest(f"no audio in the file field `{FILE_FIELD}`")
    try:
        waveform, sample_rate = soundfile.read(io.BytesIO(fields[FILE_FIELD][1]), dtype="float64", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError, TypeError) as exc:
        raise BadRequest(f"`{FILE_FIELD}` is not an audio file: {exc}") from exc
    if not len(waveform):
        raise BadRequest(f"`{FILE_FIELD}` has no samples")
    return band_levels(waveform.mean(axis=1), sample_rate), len(waveform) / sample_rate


class Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], args: argparse.Namespace):
        super().__init__(address, Handler)
        self.args, self.stats = args, Stats(args.rps)


class Handler(JsonHandler):
    server: Server

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/stats":
            self.send_json(200, self.server.stats.snapshot())
        else:
            self.send_error_json(404, "not_found", f"no resource at GET {self.path}")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path != ANALYZE_PATH:
            self.send_error_json(404, "not_found", f"no resource at POST {self.path}")
            return
        stats, args = self.server.stats, self.server.args
        stats.arrive()
        if self.headers.get("X-Api-Key") != args.api_key:
            self.send_error_json(401, "unauthorized", "missing or invalid X-Api-Key")
        elif not stats.admit():
            self.send_error_json(429, "rate_limited", f"more than {args.rps} requests per second",
                                 {"Retry-After": "1"})
        else:
            time.sleep(args.delay)
            self.analyze(body)

    def analyze(self, body: bytes) -> None:
        started = time.monotonic()
        try:
            levels, duration = analyze(form_fields(body, self.headers.get("Content-Type", "")))
        except BadRequest as exc:
            self.send_error_json(400, "bad_request", str(exc))
            return
        self.server.stats.scored()
        tags = [{"label": label, "confidence": level} for label, level in zip(LABELS, levels)]
        self.send_json(200, {
            "request_id": uuid.uuid4().hex,
            "result": {"model": MODEL, "duration_seconds": duration, "tags": tags},
            "meta": {"api_version": "2024-05", "processing_ms": round(1000 * (time.monotonic() - started), 3)}})

    def send_error_json(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        self.send_json(status, {"error": {"code": code, "message": message}}, headers)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argument_parser("commercial_api", __doc__)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--rps", type=int, default=None, help="accepted requests per one-second window")
    parser.add_argument("--delay", type=float, default=0.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    if args.rps is not None and args.rps < 1:
        parser.error("--rps must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    serve(Server((args.host, args.port), args))


if __name__ == "__main__":
    main()
