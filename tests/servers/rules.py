"""A tagger with known answers over tone stems, behind the JSON batch protocol (taggers/reference.py's).

    python -m tests.servers.rules --rules '{"duet": {"all": [[110, 0, 1], [440, 1, 2]], "scale": 4},
                                            "floor": {"constant": 0.1}}'

Each tag's score on a clip is

    constant + Σ weight · level(f, [start, end)) + scale · Π level(f, [start, end))

over its rule's `any` entries ([f Hz, start s, end s, weight]) and `all` entries ([f Hz, start s,
end s]), where level is the amplitude of the tone f within the span (a lock-in detector, as in
tests/synthetic.py). So a tag can hear one component, several additively, several only together
(`all`: each alone scores nothing) or silence itself (`constant`). POST /predict answers
{"labels", "scores"}; GET /stats counts the clips scored, as the reference tagger's does.
"""
from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer

import numpy as np

from taggers.reference import BadRequest, parse_batch
from tests.servers.serving import JsonHandler, argument_parser, serve
from tests.synthetic import rule_scores


class RulesServer(ThreadingHTTPServer):
    def __init__(self, address, rules: dict):
        super().__init__(address, Handler)
        self.rules, self.clips, self.lock = rules, 0, threading.Lock()


class Handler(JsonHandler):
    server: RulesServer

    def do_GET(self) -> None:
        with self.server.lock:
            self.send_json(200, {"clips": self.server.clips})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            sample_rate, clips = parse_batch(body, self.headers.get("Content-Type", ""))
        except BadRequest as exc:
            self.send_json(400, {"title": "Bad request", "detail": str(exc)})
            return
        with self.server.lock:
            self.server.clips += len(clips)
        scores = rule_scores(self.server.rules, np.stack(clips)[:, :, None], sample_rate)
        self.send_json(200, {"labels": list(self.server.rules), "scores": scores.tolist()})

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    parser = argument_parser("rules", __doc__)
    parser.add_argument("--rules", required=True, help="JSON: tag -> {constant, any, all, scale}")
    args = parser.parse_args()
    serve(RulesServer((args.host, args.port), json.loads(args.rules)))


if __name__ == "__main__":
    main()
