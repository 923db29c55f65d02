"""A tagger whose answers depend on how it is called and on the model it runs, behind the JSON batch
protocol (taggers/reference.py's): what reuse must tell apart.

    python -m tests.servers.variants --port 0

POST /predict answers the reference tagger's band levels (low, mid, high, loud), each times the
`X-Variant` header's number (1 without it: headers often choose a model or a version) and times
the model version (1 at start). POST /version {"version": N} redeploys it behind the same URL:
from then on it answers as version N. GET /stats {"clips": …} counts the clips scored.
"""
from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from taggers.reference import LABELS, BadRequest, band_levels, parse_batch
from tests.servers.serving import JsonHandler, argument_parser, serve


class VariantsServer(ThreadingHTTPServer):
    def __init__(self, address):
        super().__init__(address, Handler)
        self.version, self.clips, self.lock = 1.0, 0, threading.Lock()


class Handler(JsonHandler):
    server: VariantsServer

    def do_GET(self) -> None:
        with self.server.lock:
            self.send_json(200, {"clips": self.server.clips, "version": self.server.version})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        path = urlsplit(self.path).path
        if path == "/version":
            with self.server.lock:
                self.server.version = float(json.loads(body)["version"])
            self.send_json(200, {"version": self.server.version})
            return
        try:
            sample_rate, clips = parse_batch(body, self.headers.get("Content-Type", ""))
            gain = float(self.headers.get("X-Variant", "1"))
        except (BadRequest, ValueError) as exc:
            self.send_json(400, {"title": "Bad request", "detail": str(exc)})
            return
        with self.server.lock:
            self.server.clips += len(clips)
            gain *= self.server.version
        scores = [[gain * level for level in band_levels(clip, sample_rate)] for clip in clips]
        self.send_json(200, {"labels": list(LABELS), "scores": scores})

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    args = argument_parser("variants", __doc__).parse_args()
    serve(VariantsServer((args.host, args.port)))


if __name__ == "__main__":
    main()
