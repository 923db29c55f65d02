"""A raw-body tagger that names one of its tags after the credential it was sent, as a careless
service echoing its caller's token might.

    python -m tests.servers.echoing --port 0

POST / takes the audio file as the raw request body (any audio libsndfile reads) and answers
{"low": …, "mid": …, "high": …, "loud": …, "tok:<Authorization header>": 0.001}: the reference
tagger's band levels (taggers/reference.py), and the echo, scored low enough never to be a top tag.
"""
from __future__ import annotations

import io
from http.server import ThreadingHTTPServer

import soundfile

from taggers.reference import LABELS, band_levels
from tests.servers.serving import JsonHandler, argument_parser, serve

ECHO_SCORE = 0.001


class Handler(JsonHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            waveform, sample_rate = soundfile.read(io.BytesIO(body), dtype="float64", always_2d=True)
        except (soundfile.SoundFileError, RuntimeError, TypeError) as exc:
            self.send_json(400, {"error": f"not an audio file: {exc}"})
            return
        scores = dict(zip(LABELS, band_levels(waveform.mean(axis=1), sample_rate)))
        scores[f"tok:{self.headers.get('Authorization', '')}"] = ECHO_SCORE
        self.send_json(200, scores)

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    args = argument_parser("echoing", __doc__).parse_args()
    serve(ThreadingHTTPServer((args.host, args.port), Handler))


if __name__ == "__main__":
    main()
