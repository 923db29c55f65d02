"""The real pretrained musicnn tagger (MSD_musicnn: 50 Million Song Dataset tags) over the Open Inference Protocol.

Runs in its own virtualenv (`make musicnn-venv`), from the repository root:

    .venv-musicnn/bin/python -m taggers.musicnn.server --host 127.0.0.1 --port 8602 [--model MSD_musicnn]

It loads the model once (TensorFlow graph and checkpoint from the musicnn 0.1.0 package; a failed
restore stops it), then prints "listening on URL". KServe v2 / Open Inference Protocol endpoints for
the one model named by --model:

    GET  /v2/health/live, /v2/health/ready, /v2 (server metadata)
    GET  /v2/models/NAME[/versions/1]          metadata: input "waveform" FP32 [-1, -1] (a batch of
                                               equal-length mono 16 kHz waveforms), output "scores"
                                               FP32 [-1, 50], parameters {"labels", "sample_rate"}
    GET  /v2/models/NAME[/versions/1]/ready
    POST /v2/models/NAME[/versions/1]/infer    JSON, or the binary tensor data extension both ways
    GET  /stats {"requests", "clips"} (with --memo also "memo": {"hits", "misses", "size"}); POST /stats/reset

A clip's scores are the mean of the sigmoids of its 3-second patches (see taggers.musicnn.features
for the exact preprocessing, patching and the padding of clips under 3 s); the patches of a whole
batch go through the graph together, --patches-per-run (16) per session.run, one request at a time.
Errors are {"error": "..."}: 400 for a malformed request (wrong input name, datatype, shape or data),
404 for an unknown model, version or path.

Scores depend on how the caller resampled to 16 kHz. musicnn reads audio with librosa, whose
resampler cuts off steeply below 8 kHz (soxr HQ: flat to 7.3 kHz, about 100 dB down at 7.8 kHz); a
gentler low-pass leaves energy in the top mel band and moves some tags by a few hundredths.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import sys
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from pathlib import Path

from taggers.musicnn import features, protocol
from taggers.musicnn.memo import Memo
from taggers.musicnn.model import MODELS, PATCHES_PER_RUN, ModelError, Tagger

MAX_BODY_BYTES = 256 * 1024 * 1024
MODEL_PATH = re.compile(r"/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?(?P<action>/infer|/ready)?")


class Stats:
    """Request accounting for /stats; handler threads share it, hence the lock."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests, self._clips = 0, 0

    def record(self, clips: int) -> None:
        with self._lock:
            self._requests += 1
            self._clips += clips

    def snapshot(self) -> dict:
        with self._lock:
            return {"requests": self._requests, "clips": self._clips}


class TaggerServer(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], tagger: Tagger, memo: Memo | None = None):
        super().__init__(address, Handler)
        self.tagger, self.stats, self.memo = tagger, Stats(), memo
        self.version = importlib.metadata.version("musicnn")
        self.metadata = protocol.model_metadata(tagger.name, tagger.labels, features.SAMPLE_RATE)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as pooled clients expect
    server_version = "MusicnnTagger/1.0"
    server: TaggerServer

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        match = MODEL_PATH.fullmatch(path)
        if path in ("/v2/health/live", "/v2/health/ready"):
            self.send_json(200, {path.rsplit("/", 1)[1]: True})
        elif path == "/v2":
            self.send_json(200, {"name": "musicnn-tagger", "version": self.server.version,
                                 "extensions": list(protocol.EXTENSIONS)})
        elif path == "/stats":
            memo, stats = self.server.memo, self.server.stats.snapshot()
            if memo is not None:
                stats["memo"] = {"hits": memo.hits, "misses": memo.misses, "size": len(memo)}
            self.send_json(200, stats)
        elif match and match["action"] != "/infer":
            self.answer(lambda: self.model_info(match))
        else:
            self.send_error_json(404, f"no resource at GET {path}")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        body = self.read_body()
        if body is None:
            return
        match = MODEL_PATH.fullmatch(path)
        if path == "/stats/reset":
            self.server.stats.reset()
            self.send_json(200, self.server.stats.snapshot())
        elif match and match["action"] == "/infer":
            self.answer(lambda: self.infer(match, body))
        else:
            self.send_error_json(404, f"no resource at POST {path}")

    def read_body(self) -> bytes | None:
        """The whole request body, or None after answering 411/413 (and closing the connection)."""
        length = self.headers.get("Content-Length")
        if length is None or not (length.isascii() and length.isdigit()):
            self.close_connection = True
            self.send_error_json(411, "a POST needs a Content-Length header (chunked bodies are not supported)")
            return None
        if int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            self.send_error_json(413, f"the body has {length} bytes, more than the {MAX_BODY_BYTES} accepted")
            return None
        return self.rfile.read(int(length))

    def check_model(self, match: re.Match) -> None:
        if match["name"] != self.server.tagger.name:
            raise protocol.ModelNotFound(f"unknown model {match['name']!r}: this server serves "
                                         f"{self.server.tagger.name!r}")
        if match["version"] not in (None, protocol.VERSION):
            raise protocol.ModelNotFound(f"model {match['name']!r} has no version {match['version']!r}, "
                                         f"only {protocol.VERSION!r}")

    def model_info(self, match: re.Match) -> tuple[bytes, dict]:
        self.check_model(match)
        answer = {"name": match["name"], "ready": True} if match["action"] else self.server.metadata
        return json.dumps(answer).encode(), {"Content-Type": "application/json"}

    def infer(self, match: re.Match, body: bytes) -> tuple[bytes, dict]:
        try:
            self.check_model(match)
            request = protocol.parse_request(body, self.headers.get(protocol.HEADER_LENGTH))
        except protocol.InferenceError:
            self.server.stats.record(0)
            raise
        self.server.stats.record(len(request.waveforms))
        memo, tagger = self.server.memo, self.server.tagger
        scores = tagger.scores(request.waveforms) if memo is None else memo.scores(request.waveforms, tagger.scores)
        return protocol.encode_response(self.server.tagger.name, request, scores)

    def answer(self, respond) -> None:
        """Send what respond() returns, or the error it raises as OIP's {"error": ...}."""
        try:
            body, headers = respond()
        except protocol.InferenceError as exc:
            self.send_error_json(exc.status, str(exc))
        except RuntimeError as exc:  # ModelError (a failed session.run), or non-finite scores
            self.log_error("inference failed: %s", exc)
            self.send_error_json(500, str(exc))
        else:
            self.send_bytes(200, body, headers)

    def send_json(self, status: int, payload: dict) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def send_error_json(self, status: int, message: str) -> None:
        self.send_json(status, {"error": message})

    def send_bytes(self, status: int, body: bytes, headers: dict) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m taggers.musicnn.server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8602, help="0 picks a free port")
    parser.add_argument("--model", choices=MODELS, default="MSD_musicnn",
                        help="the musicnn checkpoint to serve, and the OIP model name")
    parser.add_argument("--patches-per-run", type=int, default=PATCHES_PER_RUN, metavar="N",
                        help="3-s patches per session.run: bounds memory, ~45 MB each")
    parser.add_argument("--memo", type=Path, metavar="FILE",
                        help="for benchmarks: remember every answer in FILE and answer the same samples from it "
                             "in later runs (taggers/musicnn/memo.py)")
    args = parser.parse_args(argv)
    if args.patches_per_run < 1:
        parser.error("--patches-per-run must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    # TensorFlow enables oneDNN by default only on AVX-512 CPUs; on AVX2 it halves the time per patch
    # here (about 110 instead of 230 ms of CPU) and moves scores by under 1e-6.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"musicnn\.models")  # tf.layers deprecation
    try:
        tagger = Tagger(args.model, args.patches_per_run)
    except ModelError as exc:
        sys.exit(f"musicnn tagger not started: {exc}")
    memo = None if args.memo is None else Memo(args.memo, tagger.name, len(tagger.labels))
    with TaggerServer((args.host, args.port), tagger, memo) as server:
        host, port = server.server_address[:2]
        print(f"listening on http://{host}:{port}", flush=True)  # the socket already listens here
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            tagger.close()


if __name__ == "__main__":
    main()
