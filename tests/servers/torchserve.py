"""A test tagger shaped like TorchServe's inference API with a classifier handler.

    python -m tests.servers.torchserve --port 0 --token KEY [--model NAME] [--starting-seconds S]

POST /predictions/{model} (or /predictions/{model}/{version}) takes the audio file as the raw
request body, any Content-Type (TorchServe hands the body to the handler as it is), with token
authorization on: `Authorization: Bearer KEY` (the inference key of TorchServe's key file). The
answer is what TorchServe's classifier handlers return for one input: the top five labels (their
`topk`) as one object, `{"loud": 0.21, "mid": 0.14, …}`, of the eight in tests/servers/top_labels.py.

TorchServe's own errors, as it answers them, `{"code", "type", "message"}`: 400
InvalidKeyException without the right key, 404 ModelNotFoundException for another model, 503
ServiceUnavailableException while the model's workers start (--starting-seconds from the first
request; no estimate, unlike Hugging Face), 400 for a body that is not audio (the handler's
error). GET /ping {"status": "Healthy"}; GET /stats as in tests/servers/huggingface.py.
"""
from __future__ import annotations

import argparse
import re
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.servers.huggingface import Loading
from tests.servers.serving import JsonHandler, argument_parser, serve
from tests.servers.top_labels import Counts, NotAudio, scores, top

PREDICTIONS = re.compile(r"/predictions/([^/]+)(?:/([^/]+))?")


class Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], args: argparse.Namespace):
        super().__init__(address, Handler)
        self.args, self.counts, self.starting = args, Counts(), Loading(args.starting_seconds)


class Handler(JsonHandler):
    server: Server

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/ping":
            self.send_json(200, {"status": "Healthy"})
        elif path == "/stats":
            self.send_json(200, self.server.counts.snapshot())
        else:
            self.error(404, "ResourceNotFoundException", "Requested resource is not found, please refer to API document.")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        args = self.server.args
        route = PREDICTIONS.fullmatch(urlsplit(self.path).path)
        if route is None:
            self.error(404, "ResourceNotFoundException", "Requested resource is not found, please refer to API document.")
            return
        self.server.counts.arrive(self.headers.get("Content-Type"))
        if self.headers.get("Authorization") != f"Bearer {args.token}":
            self.error(400, "InvalidKeyException",
                       "Token Authorization failed. Token either incorrect, expired, or not provided correctly")
        elif route.group(1) != args.model:
            self.error(404, "ModelNotFoundException", f"Model not found: {route.group(1)}")
        elif self.server.starting.remaining():
            self.error(503, "ServiceUnavailableException",
                       f"Model \"{args.model}\" has no worker to serve inference request. "
                       "Please use scale workers API to add workers.")
        else:
            self.predict(body)

    def predict(self, body: bytes) -> None:
        try:
            best = top(scores(body))
        except NotAudio as exc:
            self.error(400, "PredictionException", f"Prediction failed: {exc}")
            return
        self.server.counts.answered(200, [label for label, _ in best])
        self.send_json(200, dict(best))

    def error(self, status: int, kind: str, message: str) -> None:
        self.server.counts.answered(status)
        self.send_json(status, {"code": status, "type": kind, "message": message})


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argument_parser("torchserve", __doc__)
    parser.add_argument("--token", required=True, help="the inference key")
    parser.add_argument("--model", default="bands")
    parser.add_argument("--starting-seconds", type=float, default=0.0, metavar="SECONDS")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    serve(Server((args.host, args.port), args))


if __name__ == "__main__":
    main()
