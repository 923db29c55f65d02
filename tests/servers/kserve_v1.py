"""A KServe v1 / TF Serving test tagger: the reference tagger's band levels behind `:predict`.

    python -m tests.servers.kserve_v1 --port 0 [options]   # prints "listening on URL"

POST /v1/models/bands:predict {"instances": [...]}: each instance is the mono waveform as a list
of numbers at --sample-rate (a list of [left, right] pairs is down-mixed), or {"b64": "<base64
WAV>"}. The answer is {"predictions": [[low, mid, high, loud], ...]}, one row per instance, or
with --objects one {"low": …, "mid": …, "high": …, "loud": …} object per instance; malformed
requests get 400 {"error": "..."}. GET /stats {"requests", "clips"} counts every predict request
and the instances of those that parsed.

Faults: --fault wrong-labels (5 scores per row), --fault html (a 500 HTML error page), --delay S
(sleep before answering), --reset-mid-body (status line, headers with a Content-Length and half
the body, then the socket is closed with a TCP reset).
"""
from __future__ import annotations

import argparse
import json
import socket
import struct
import threading
import time
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import numpy as np

from taggers.reference import LABELS, BadRequest, band_levels, decode_clip
from tests.servers.serving import JsonHandler, argument_parser, serve

PREDICT_PATH = "/v1/models/bands:predict"
FAULTS = ("none", "wrong-labels", "html")
HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>"
             b"<body><h1>Internal Server Error</h1><p>The model server crashed.</p></body></html>\n")


class Stats:
    """Predict requests and the clips they carried; handler threads share it."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests = self.clips = 0

    def record(self, requests: int = 0, clips: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.clips += clips

    def snapshot(self) -> dict:
        with self._lock:
            return {"requests": self.requests, "clips": self.clips}


def instance_waveform(index: int, instance, sample_rate: int) -> np.ndarray:
    """One instance -> mono float64 samples, or BadRequest."""
    if isinstance(instance, dict) and set(instance) == {"b64"}:
        return decode_clip(index, instance["b64"], sample_rate, 1)
    try:
        samples = np.asarray(instance, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"instances[{index}] is neither a list of numbers nor {{\"b64\": ...}}") from exc
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.ndim != 1 or not len(samples):
        raise BadRequest(f"instances[{index}] has shape {list(samples.shape)}, not [samples] or [samples, channels]")
    return samples


def parse_instances(body: bytes, sample_rate: int) -> list[np.ndarray]:
    try:
        request = json.loads(body)
    except ValueError as exc:
        raise BadRequest(f"body is not JSON: {exc}") from exc
    instances = request.get("instances") if isinstance(request, dict) else None
    if not isinstance(instances, list) or not instances:
        raise BadRequest("the body must be {\"instances\": [...]} with at least one instance")
    return [instance_waveform(i, instance, sample_rate) for i, instance in enumerate(instances)]


def predictions(clips: list[np.ndarray], args: argparse.Namespace) -> list:
    rows = [band_levels(clip, args.sample_rate) for clip in clips]
    if args.fault == "wrong-labels":
        return [row + [0.0] for row in rows]
    if args.objects:
        return [dict(zip(LABELS, row)) for row in rows]
    return rows


class Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], args: argparse.Namespace):
        super().__init__(address, Handler)
        self.args, self.stats = args, Stats()


class Handler(JsonHandler):
    server: Server

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/stats":
            self.send_json(200, self.server.stats.snapshot())
        else:
            self.send_json(404, {"error": f"no resource at GET {self.path}"})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path != PREDICT_PATH:
            self.send_json(404, {"error": f"no model at {self.path}; try {PREDICT_PATH}"})
            return
        args = self.server.args
        try:
            clips, problem = parse_instances(body, args.sample_rate), None
        except BadRequest as exc:
            clips, problem = [], exc
        self.server.stats.record(requests=1, clips=len(clips))
        time.sleep(args.delay)
        if problem is not None:
            self.send_json(400, {"error": str(problem)})
        elif args.fault == "html":
            self.send_bytes(500, "text/html; charset=utf-8", HTML_PAGE)
        elif args.reset_mid_body:
            self.reset_mid_body(json.dumps({"predictions": predictions(clips, args)}).encode())
        else:
            self.send_json(200, {"predictions": predictions(clips, args)})

    def reset_mid_body(self, body: bytes) -> None:
        """Promise the whole body, send half, then drop the connection with a TCP reset."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:len(body) // 2])
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.rfile.close()  # the socket's last reference: closing it now sends the RST
        self.connection.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argument_parser("kserve_v1", __doc__)
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--objects", action="store_true", help="answer one {tag: score} object per instance")
    parser.add_argument("--fault", choices=FAULTS, default="none")
    parser.add_argument("--delay", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--reset-mid-body", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    serve(Server((args.host, args.port), args))


if __name__ == "__main__":
    main()
