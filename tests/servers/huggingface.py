"""A test tagger shaped like Hugging Face audio classification (Inference Endpoints, the serverless API).

    python -m tests.servers.huggingface --port 0 --token TOKEN [--model ID] [--loading-seconds S]
                                        [--estimated-time S]

POST / (an Inference Endpoint's URL) or POST /models/{model id} (the serverless API's) takes the
audio file as the raw request body, `Content-Type: audio/wav`, `audio/flac` (any `audio/*`, or
`application/octet-stream`), and `Authorization: Bearer TOKEN`. The documented JSON form works
too: `{"inputs": "<base64 audio>", "parameters": {"top_k": N}}` — the only way to pass
parameters, since a raw body carries none. The answer is the pipeline's: a list of the top five
labels (top_k), best first, `[{"label": "loud", "score": 0.21}, …]`, of the eight in
tests/servers/top_labels.py.

The model loads on demand: for --loading-seconds after the first request, every request is answered
503 `{"error": "Model ID is currently loading", "estimated_time": S}` — unless it carries
`x-wait-for-model: true`, which holds it until the model is up. 401 `{"error": …}` without the
token; 400 `{"error": …}` for a body that is not audio or a content type it does not take; 404
for another model. GET /stats: requests, clips, statuses, content types, and per label the 200
answers that left it out.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import json
import threading
import time
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.servers.serving import JsonHandler, argument_parser, serve
from tests.servers.top_labels import TOP_K, Counts, NotAudio, scores, top

AUDIO_TYPES = ("audio/", "application/octet-stream")


class BadRequest(ValueError):
    """The request cannot be classified; the message goes into the 400 answer."""


class Loading:
    """The model loads for `seconds` from the first request."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._ready_at: float | None = None
        self._lock = threading.Lock()

    def remaining(self) -> float:
        with self._lock:
            if self._ready_at is None:
                self._ready_at = time.monotonic() + self.seconds
            return max(0.0, self._ready_at - time.monotonic())


def audio_and_top_k(body: bytes, content_type: str) -> tuple[bytes, int]:
    """The audio file and how many labels to answer, from either documented request form."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/json":
        try:
            document = json.loads(body)
            audio = base64.b64decode(document["inputs"], validate=True)
            top_k = (document.get("parameters") or {}).get("top_k", TOP_K)
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise BadRequest(f"a JSON body must be {{\"inputs\": \"<base64 audio>\", \"parameters\": {{…}}}}: "
                             f"{exc}") from exc
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise BadRequest("parameters.top_k must be a positive integer")
        return audio, top_k
    if not media_type.startswith(AUDIO_TYPES):
        raise BadRequest(f"Content-Type {content_type!r} is not audio: send the file with its audio/* type")
    return body, TOP_K


class Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], args: argparse.Namespace):
        super().__init__(address, Handler)
        self.args, self.counts, self.loading = args, Counts(), Loading(args.loading_seconds)


class Handler(JsonHandler):
    server: Server

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/stats":
            self.send_json(200, self.server.counts.snapshot())
        else:
            self.send_json(404, {"error": f"no resource at GET {self.path}"})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        args, counts = self.server.args, self.server.counts
        path = urlsplit(self.path).path
        if path not in ("/", f"/models/{args.model}"):
            self.send_json(404, {"error": f"Model {path.removeprefix('/models/')} does not exist"})
            return
        counts.arrive(self.headers.get("Content-Type"))
        if self.headers.get("Authorization") != f"Bearer {args.token}":
            self.answer(401, {"error": "Invalid credentials in Authorization header"})
            return
        remaining = self.server.loading.remaining()
        if remaining and self.headers.get("x-wait-for-model", "").lower() == "true":
            time.sleep(remaining)
        elif remaining:
            self.answer(503, {"error": f"Model {args.model} is currently loading",
                              "estimated_time": args.estimated_time})
            return
        self.classify(body)

    def classify(self, body: bytes) -> None:
        try:
            audio, top_k = audio_and_top_k(body, self.headers.get("Content-Type", ""))
            best = top(scores(audio), top_k)
        except (BadRequest, NotAudio) as exc:
            self.answer(400, {"error": str(exc)})
            return
        self.answer(200, [{"label": label, "score": score} for label, score in best], [label for label, _ in best])

    def answer(self, status: int, payload, named: list[str] | None = None) -> None:
        self.server.counts.answered(status, named)
        self.send_json(status, payload)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argument_parser("huggingface", __doc__)
    parser.add_argument("--token", required=True)
    parser.add_argument("--model", default="audiolime/bands")
    parser.add_argument("--loading-seconds", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--estimated-time", type=float, default=20.0, metavar="SECONDS")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    serve(Server((args.host, args.port), args))


if __name__ == "__main__":
    main()
