"""A deterministic reference tagger behind the JSON batch tagger protocol, with fault injection.

It stands in for a real music tagger in tests and demos: its tags have a known answer for tone
stems, and options make it misbehave on purpose. Run it as a separate process:

    python -m taggers.reference --host 127.0.0.1 --port 8601 [options]   # prints "listening on URL"

POST /predict {"sample_rate": 16000, "channels": 1, "clips": ["<base64 WAV>", ...]} answers
{"labels": ["low", "mid", "high", "loud"], "scores": [[...], ...]}, one row per clip in order, or
400 problem+json when malformed (clips are any audio libsndfile reads, with the request's sample
rate and channel count). GET /healthz; GET /stats {"requests", "clips", "batches", "last_request_at"}
counts every /predict request, failed ones too, and the clips and batch sizes of those whose body
parsed; POST /stats/reset.

Tags: a clip is down-mixed to mono x[0..N-1], X = rfft(x), and bin k (at k·rate/N Hz) gets
    e_k = w_k |X_k|² / N²,   w_k = 1 for DC and, for even N, the Nyquist bin, else 2,
so that Σ_k e_k = (1/N) Σ_n x[n]² (Parseval). A band's level is sqrt(Σ e_k over its bins):
    low: f < 250 Hz    mid: 250 ≤ f < 2000 Hz    high: f ≥ 2000 Hz    loud: all bins (= RMS of x)
A tone A·sin(2πft) that sounds for a fraction p of the clip has level A·sqrt(p/2) in its band
(exactly A/√2 when it fills the clip with whole periods) and about 0 in the others.

Faults: --fail-first N answers the first N /predict requests 500; --status-sequence 503,429,200
answers the next ones with these (200 = normal; 429 and 503 carry Retry-After: 1, or
--retry-after S); --fault
nan|wrong-count|missing-tag|html corrupts normal answers; --delay S sleeps before each /predict
answer; --require-header "Name: value" answers 401 to /predict requests without it (with
--echo-credentials, quoting the value it got, as careless servers do);
--constant-tag NAME=SCORE adds a tag scored SCORE for every clip (a tag no mix can move);
--refuse-louder-than RMS answers 400 to a batch holding a clip whose RMS (its `loud` level) is above
RMS, so that one loud clip of many fails while the others are scored; --labels low,mid,high answers
only these tags, in this order (without `loud`, which is never below a band, a band can be the top tag).
"""
from __future__ import annotations

import argparse
import base64
import binascii
import io
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import numpy as np
import soundfile

LABELS = ("low", "mid", "high", "loud")
LOUD = LABELS.index("loud")
LOW_MID_HZ, MID_HIGH_HZ = 250.0, 2000.0
FAULTS = ("none", "nan", "wrong-count", "missing-tag", "html")
RETRY_AFTER_SECONDS = {429: 1, 503: 1}
HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
             b"<body><h1>Bad Gateway</h1><p>The upstream tagger is down.</p></body></html>\n")


class BadRequest(ValueError):
    """The request cannot be scored; the message becomes the 400 problem's detail."""


def band_levels(mono: np.ndarray, sample_rate: int) -> list[float]:
    """[low, mid, high, loud] levels of one mono clip, as in the module docstring."""
    n = len(mono)
    energy = np.abs(np.fft.rfft(mono)) ** 2 / n**2
    energy[1:(n + 1) // 2] *= 2  # these bins stand for a ± frequency pair; DC and Nyquist do not
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    bands = [freqs < LOW_MID_HZ, (freqs >= LOW_MID_HZ) & (freqs < MID_HIGH_HZ), freqs >= MID_HIGH_HZ]
    return [float(np.sqrt(energy[band].sum())) for band in bands] + [float(np.sqrt(energy.sum()))]


def decode_clip(index: int, clip, sample_rate: int, channels: int) -> np.ndarray:
    """One base64 audio file -> mono float64 samples, checked against the request's format."""
    if not isinstance(clip, str):
        raise BadRequest(f"clips[{index}] must be a base64 string, got {type(clip).__name__}")
    try:
        raw = base64.b64decode(clip, validate=True)
    except binascii.Error as exc:
        raise BadRequest(f"clips[{index}] is not valid base64: {exc}") from exc
    try:
        waveform, clip_rate = soundfile.read(io.BytesIO(raw), dtype="float64", always_2d=True)
    except (soundfile.SoundFileError, RuntimeError, TypeError) as exc:
        raise BadRequest(f"clips[{index}] is not an audio file ({len(raw)} bytes): {exc}") from exc
    if clip_rate != sample_rate:
        raise BadRequest(f"clips[{index}] has sample rate {clip_rate} Hz, the request says {sample_rate} Hz")
    if waveform.shape[1] != channels:
        raise BadRequest(f"clips[{index}] has {waveform.shape[1]} channels, the request says {channels}")
    if len(waveform) == 0:
        raise BadRequest(f"clips[{index}] has no samples")
    return waveform.mean(axis=1)


def parse_batch(body: bytes, content_type: str) -> tuple[int, list[np.ndarray]]:
    """A /predict body -> (sample_rate, mono clips), or BadRequest saying what is wrong."""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise BadRequest(f"Content-Type must be application/json, got {content_type!r}")
    try:
        request = json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BadRequest(f"body is not JSON: {exc}") from exc
    if not isinstance(request, dict):
        raise BadRequest(f"body must be a JSON object, got {type(request).__name__}")
    clips = request.get("clips")
    if not isinstance(clips, list) or not clips:
        raise BadRequest(f"`clips` must be a non-empty list of base64 audio files, got {type(clips).__name__}")
    for key in ("sample_rate", "channels"):
        if type(request.get(key)) is not int or request[key] <= 0:  # type(), as bool is an int too
            raise BadRequest(f"`{key}` must be a positive integer, got {request.get(key)!r}")
    sample_rate, channels = request["sample_rate"], request["channels"]
    return sample_rate, [decode_clip(i, clip, sample_rate, channels) for i, clip in enumerate(clips)]


def apply_fault(fault: str, answer_number: int, scores: list[list[float]], labels=LABELS) -> dict:
    """The /predict answer, corrupted as --fault asks (the html fault is handled by the caller)."""
    labels = list(labels)
    if fault == "nan":
        for row in scores:
            row[0] = float("nan")  # json.dumps writes the bare token NaN, as a sloppy server would
    elif fault == "wrong-count":
        scores = scores[:-1]
    elif fault == "missing-tag" and answer_number > 1:  # first answer complete, later ones not
        labels, scores = labels[:-1], [row[:-1] for row in scores]
    return {"labels": labels, "scores": scores}


class Stats:
    """Request accounting for /stats; handler threads share it, hence the lock."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests, self._clips, self._batches, self._last = 0, 0, [], None

    def record(self, batch_size: int | None) -> None:
        with self._lock:
            self._requests += 1
            self._last = time.time()
            if batch_size is not None:
                self._clips += batch_size
                self._batches.append(batch_size)

    def snapshot(self) -> dict:
        with self._lock:
            return {"requests": self._requests, "clips": self._clips,
                    "batches": list(self._batches), "last_request_at": self._last}


@dataclass
class Behaviour:
    """How /predict misbehaves. Handler threads share it: deque.popleft and next(count) are atomic."""
    planned: deque  # statuses still to inject, in order
    fault: str = "none"
    delay: float = 0.0
    required_header: tuple[str, str] | None = None
    constant_tag: tuple[str, float] | None = None
    retry_after: int | None = None  # seconds, instead of RETRY_AFTER_SECONDS
    echo_credentials: bool = False
    loudest: float | None = None  # --refuse-louder-than: a batch with a louder clip is answered 400
    labels: tuple[str, ...] = LABELS  # --labels: the tags answered, in order
    answers: Iterator[int] = field(default_factory=lambda: itertools.count(1))  # not reset by /stats/reset

    def next_status(self) -> int:
        try:
            return self.planned.popleft()
        except IndexError:
            return 200

    def too_loud(self, rms: float) -> bool:
        return self.loudest is not None and rms > self.loudest

    def authorised(self, headers) -> bool:
        return self.required_header is None or headers.get(self.required_header[0]) == self.required_header[1]


class TaggerServer(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], behaviour: Behaviour):
        super().__init__(address, Handler)
        self.behaviour, self.stats = behaviour, Stats()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the service's pooled session expects
    server_version = "ReferenceTagger/1.0"
    server: TaggerServer

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/healthz":
            self.send_json(200, {"status": "ok"})
        elif path == "/stats":
            self.send_json(200, self.server.stats.snapshot())
        else:
            self.send_problem(404, "Not Found", f"no resource at GET {path}")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        # always read the body, or keep-alive would take it for the next request
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path == "/predict":
            self.predict(body)
        elif path == "/stats/reset":
            self.server.stats.reset()
            self.send_json(200, self.server.stats.snapshot())
        else:
            self.send_problem(404, "Not Found", f"no resource at POST {path}")

    def predict(self, body: bytes) -> None:
        behaviour = self.server.behaviour
        try:
            batch, problem = parse_batch(body, self.headers.get("Content-Type", "")), None
        except BadRequest as exc:
            batch, problem = None, exc
        self.server.stats.record(None if batch is None else len(batch[1]))  # on arrival, before the delay
        time.sleep(behaviour.delay)
        if not behaviour.authorised(self.headers):
            name = behaviour.required_header[0]
            detail = (f"invalid credentials {self.headers.get(name)!r}" if behaviour.echo_credentials
                      else f"missing or wrong {name} header")
            self.send_problem(401, "Unauthorized", detail)
            return
        status = behaviour.next_status()
        if status != 200:
            retry_after = RETRY_AFTER_SECONDS.get(status)
            if retry_after is not None and behaviour.retry_after is not None:
                retry_after = behaviour.retry_after
            self.send_problem(status, "Injected fault", f"the reference tagger was told to answer {status}",
                              retry_after)
        elif problem is not None:
            self.send_problem(400, "Bad Request", str(problem))
        elif behaviour.fault == "html":
            self.send_bytes(200, "text/html; charset=utf-8", HTML_PAGE)
        else:
            self.answer(batch)

    def answer(self, batch: tuple[int, list[np.ndarray]]) -> None:
        """The band levels of a parsed batch, as the options shape them."""
        behaviour = self.server.behaviour
        levels = [band_levels(clip, batch[0]) for clip in batch[1]]
        loud = next((i for i, row in enumerate(levels) if behaviour.too_loud(row[LOUD])), None)
        if loud is not None:
            self.send_problem(400, "Clip refused", f"clips[{loud}] is too loud: RMS {levels[loud][LOUD]:.4f}, "
                              f"above {behaviour.loudest:g}")
            return
        columns = [LABELS.index(name) for name in behaviour.labels]
        scores = [[row[c] for c in columns] for row in levels]
        answer = apply_fault(behaviour.fault, next(behaviour.answers), scores, behaviour.labels)
        if behaviour.constant_tag is not None:
            name, score = behaviour.constant_tag
            answer = {"labels": answer["labels"] + [name], "scores": [row + [score] for row in answer["scores"]]}
        self.send_json(200, answer)

    def send_json(self, status: int, payload: dict) -> None:
        self.send_bytes(status, "application/json", json.dumps(payload).encode())

    def send_problem(self, status: int, title: str, detail: str, retry_after: int | None = None) -> None:
        problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.send_bytes(status, "application/problem+json", json.dumps(problem).encode(), headers)

    def send_bytes(self, status: int, content_type: str, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def status_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]  # argparse reports the ValueError


def label_list(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(","))
    if not names or len(set(names)) != len(names) or not set(names) <= set(LABELS):
        raise argparse.ArgumentTypeError(f"--labels takes distinct tags of {list(LABELS)}, got {text!r}")
    return names


def constant_tag(text: str) -> tuple[str, float]:
    name, equals, score = text.partition("=")
    if not equals or not name or name in LABELS:
        raise argparse.ArgumentTypeError(f"--constant-tag takes NAME=SCORE with a new tag name, got {text!r}")
    return name, float(score)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m taggers.reference", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8601, help="0 picks a free port")
    parser.add_argument("--fail-first", type=int, default=0, metavar="N")
    parser.add_argument("--status-sequence", type=status_list, default=[], metavar="S1,S2,...")
    parser.add_argument("--fault", choices=FAULTS, default="none")
    parser.add_argument("--delay", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--require-header", default=None, metavar="'NAME: VALUE'")
    parser.add_argument("--constant-tag", type=constant_tag, default=None, metavar="NAME=SCORE")
    parser.add_argument("--retry-after", type=int, default=None, metavar="SECONDS")
    parser.add_argument("--echo-credentials", action="store_true")
    parser.add_argument("--refuse-louder-than", type=float, default=None, metavar="RMS")
    parser.add_argument("--labels", type=label_list, default=LABELS, metavar="TAG,TAG,...")
    args = parser.parse_args(argv)
    if args.fail_first < 0 or args.delay < 0:
        parser.error("--fail-first and --delay must be ≥ 0")
    if not all(100 <= status <= 599 for status in args.status_sequence):
        parser.error(f"--status-sequence takes HTTP statuses 100..599, got {args.status_sequence}")
    if args.require_header is not None:
        name, colon, value = args.require_header.partition(":")
        if not colon or not name.strip():
            parser.error(f"--require-header takes 'Name: value', got {args.require_header!r}")
        args.require_header = (name.strip(), value.strip())
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    planned = deque([500] * args.fail_first + args.status_sequence)
    behaviour = Behaviour(planned, args.fault, args.delay, args.require_header, args.constant_tag,
                          args.retry_after, args.echo_credentials, args.refuse_louder_than, args.labels)
    with TaggerServer((args.host, args.port), behaviour) as server:
        host, port = server.server_address[:2]
        print(f"listening on http://{host}:{port}", flush=True)  # the socket already listens here
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
