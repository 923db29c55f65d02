"""A minimal Open Inference Protocol (KServe v2) test tagger: model `bands`, JSON and binary tensors.

    python -m tests.servers.oip --port 0 [options]   # prints "listening on URL"

GET /v2 answers the server metadata, listing the `binary_tensor_data` extension as Triton does.
GET /v2/models/bands answers the model metadata: one FP32 input `waveform` of shape [-1, -1]
(batch × mono samples at --sample-rate), one FP32 output `scores` of shape [-1, 4], and the
column names in `parameters.labels`. POST /v2/models/bands/infer scores each row of the input
with the reference tagger's band levels. Requests are JSON, or use the binary tensor extension
(an `Inference-Header-Content-Length` header, the JSON header, then the raw little-endian FP32
tensor named by `parameters.binary_data_size`). The answer is JSON, or binary when the requested
output asks `"parameters": {"binary_data": true}`: Content-Type application/octet-stream, the
same length header, a JSON header whose output carries `parameters.binary_data_size`, then the
raw FP32 scores. Errors are 400 or 404 {"error": "..."} as OIP servers answer them: an unknown
model, input or output name, a datatype other than FP32, a shape that does not fit the data.
GET /stats {"requests", "clips"} counts every other request (metadata and inference) and the
rows scored. GET /infers lists the inference requests received, in order, each as
{"binary": whether the input came as binary data, "binary_output": whether binary scores were
asked for, "shape": the input's shape, "status": the answer's HTTP status}.

Options: --no-binary-extension (no extensions listed, binary requests and binary outputs refused
with 400, as MLServer over REST), --no-server-metadata (GET /v2 is 404; binary tensors are still
spoken unless --no-binary-extension says otherwise, as a server that just lacks the endpoint),
--no-binary-output (binary requests are read, but scores are always answered as JSON),
--input-name NAME (the input's name in the metadata), --fixed-samples N (metadata shape
[-1, N]; other lengths get 400), --fault wrong-labels (5 output columns, while the metadata
still says 4), --fault binary-500 (binary requests answered 500 text/plain, as MLServer 1.7
answers raw FP32 sent as application/octet-stream), --delay S (sleep before each inference
answer), --read-delay S (sleep before reading each request's body, as a busy server that takes
the next request only when done with the last), --single-threaded (one request at a time, each
connection closed after its answer).
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from functools import partial
from http.server import HTTPServer, ThreadingHTTPServer
from urllib.parse import urlsplit

import numpy as np

from taggers.reference import LABELS, band_levels
from tests.servers.serving import JsonHandler, argument_parser, serve

MODEL = "bands"
OUTPUT = "scores"
HEADER_LENGTH = "Inference-Header-Content-Length"
BINARY_EXTENSION = "binary_tensor_data"
FAULTS = ("none", "wrong-labels", "binary-500")


class InferenceError(ValueError):
    """An inference request the model cannot run; answered 400 {"error": message}."""


class Stats:
    """Model requests and the rows scored; handler threads share it."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests = self.clips = 0
        self.infers: list[dict] = []

    def record(self, requests: int = 0, clips: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.clips += clips

    def record_infer(self, infer: dict) -> None:
        with self._lock:
            self.infers.append(infer)

    def snapshot(self) -> dict:
        with self._lock:
            return {"requests": self.requests, "clips": self.clips}

    def infer_log(self) -> list[dict]:
        with self._lock:
            return list(self.infers)


def server_metadata(args: argparse.Namespace) -> dict:
    extensions = [] if args.no_binary_extension else [BINARY_EXTENSION]
    return {"name": "tests.servers.oip", "version": "1.0", "extensions": extensions}


def metadata(args: argparse.Namespace) -> dict:
    return {"name": MODEL, "versions": ["1"], "platform": "python",
            "inputs": [{"name": args.input_name, "datatype": "FP32", "shape": [-1, args.fixed_samples or -1]}],
            "outputs": [{"name": OUTPUT, "datatype": "FP32", "shape": [-1, len(LABELS)]}],
            "parameters": {"labels": list(LABELS), "sample_rate": args.sample_rate}}


def split_request(body: bytes, header_length: str | None, args: argparse.Namespace) -> tuple[dict, bytes]:
    """(JSON header, binary data after it)."""
    if header_length is not None and args.no_binary_extension:
        raise InferenceError(f"this server does not speak the {BINARY_EXTENSION} extension")
    try:
        cut = len(body) if header_length is None else int(header_length)
        header = json.loads(body[:cut])
    except ValueError as exc:
        raise InferenceError(f"the inference header is not JSON: {exc}") from exc
    if not isinstance(header, dict) or not isinstance(header.get("inputs"), list):
        raise InferenceError("the inference request has no `inputs` list")
    return header, body[cut:]


def waveforms(header: dict, binary: bytes, args: argparse.Namespace) -> np.ndarray:
    """The one input tensor as (batch, samples) float32, checked against the metadata."""
    if len(header["inputs"]) != 1 or not isinstance(header["inputs"][0], dict):
        raise InferenceError(f"expected 1 input for model '{MODEL}', got {len(header['inputs'])}")
    tensor = header["inputs"][0]
    if tensor.get("name") != args.input_name:
        raise InferenceError(f"unexpected inference input '{tensor.get('name')}' for model '{MODEL}'")
    if tensor.get("datatype") != "FP32":
        raise InferenceError(f"input '{args.input_name}' is FP32, got datatype {tensor.get('datatype')!r}")
    shape = tensor.get("shape")
    if not isinstance(shape, list) or len(shape) != 2 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise InferenceError(f"input '{args.input_name}' has shape [-1, -1], got {shape!r}")
    size = (tensor.get("parameters") or {}).get("binary_data_size")
    if size is not None:
        if size != len(binary) or size % 4:
            raise InferenceError(f"binary_data_size {size} does not match the {len(binary)} bytes sent")
        values = np.frombuffer(binary, dtype="<f4")
    else:
        try:
            values = np.asarray(tensor.get("data"), dtype=np.float32).ravel()
        except (TypeError, ValueError) as exc:
            raise InferenceError(f"input '{args.input_name}' data are not FP32 numbers") from exc
    if values.size != shape[0] * shape[1]:
        raise InferenceError(f"input '{args.input_name}' has shape {shape} but {values.size} values")
    if args.fixed_samples and shape[1] != args.fixed_samples:
        raise InferenceError(f"input '{args.input_name}' takes [-1, {args.fixed_samples}], got shape {shape}")
    return values.reshape(shape)


def wants_binary(header: dict, args: argparse.Namespace) -> bool:
    """Whether the client asked for the scores as binary data (and only for outputs that exist)."""
    binary = False
    for output in header.get("outputs") or []:
        if not isinstance(output, dict) or output.get("name") != OUTPUT:
            raise InferenceError(f"unexpected inference output {output!r} for model '{MODEL}'")
        binary = bool((output.get("parameters") or {}).get("binary_data", False))
    if binary and args.no_binary_extension:
        raise InferenceError(f"this server does not speak the {BINARY_EXTENSION} extension")
    return binary and not args.no_binary_output


def scores(rows: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    levels = np.array([band_levels(row.astype(np.float64), args.sample_rate) for row in rows], dtype="<f4")
    if args.fault == "wrong-labels":
        levels = np.concatenate([levels, np.zeros((len(levels), 1), dtype="<f4")], axis=1)
    return levels


class Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], args: argparse.Namespace):
        super().__init__(address, Handler)
        self.args, self.stats = args, Stats()


class SingleThreadedServer(HTTPServer):
    """One request at a time, as a synchronous tagger: the next waits, unread, in the socket."""

    def __init__(self, address: tuple[str, int], args: argparse.Namespace):
        super().__init__(address, Handler)
        self.args, self.stats = args, Stats()


class Handler(JsonHandler):
    server: Server

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/stats":
            self.send_json(200, self.server.stats.snapshot())
            return
        if path == "/infers":
            self.send_json(200, {"infers": self.server.stats.infer_log()})
            return
        self.server.stats.record(requests=1)
        args = self.server.args
        if path == "/v2" and not args.no_server_metadata:
            self.send_json(200, server_metadata(args))
        elif path == f"/v2/models/{MODEL}":
            self.send_json(200, metadata(args))
        else:
            self.send_json(404, {"error": f"no model or resource at GET {path}"})

    def do_POST(self) -> None:
        args = self.server.args
        time.sleep(args.read_delay)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path
        self.server.stats.record(requests=1)
        if path != f"/v2/models/{MODEL}/infer":
            self.send_json(404, {"error": f"Request for unknown model: no model at POST {path}"})
            return
        time.sleep(args.delay)
        header_length = self.headers.get(HEADER_LENGTH)
        status, send_answer = self.infer(body, header_length)
        # Logged before the answer goes out: a client that asks GET /infers next finds it there.
        self.server.stats.record_infer(described(body, header_length, status))
        send_answer()

    def infer(self, body: bytes, header_length: str | None) -> tuple[int, Callable[[], None]]:
        """One inference request's HTTP status, and what sends its answer."""
        args = self.server.args
        if args.fault == "binary-500" and header_length is not None:
            return 500, partial(self.send_bytes, 500, "text/plain", b"Internal Server Error")
        try:
            header, binary = split_request(body, header_length, args)
            rows, binary_output = waveforms(header, binary, args), wants_binary(header, args)
        except InferenceError as exc:
            return 400, partial(self.send_json, 400, {"error": str(exc)})
        self.server.stats.record(clips=len(rows))
        return 200, partial(self.answer, header.get("id"), scores(rows, args), binary_output)

    def answer(self, request_id, values: np.ndarray, binary: bool) -> None:
        output = {"name": OUTPUT, "datatype": "FP32", "shape": list(values.shape)}
        document = {"model_name": MODEL, "model_version": "1", "outputs": [output]}
        if request_id is not None:
            document["id"] = request_id
        if not binary:
            output["data"] = [float(v) for v in values.ravel()]
            self.send_json(200, document)
            return
        raw = values.tobytes()
        output["parameters"] = {"binary_data_size": len(raw)}
        header = json.dumps(document).encode()
        self.send_bytes(200, "application/octet-stream", header + raw, {HEADER_LENGTH: str(len(header))})

    def send_bytes(self, status: int, content_type: str, body: bytes, headers: dict | None = None) -> None:
        if isinstance(self.server, SingleThreadedServer):  # else this connection would hold the only thread
            headers = {**(headers or {}), "Connection": "close"}  # (send_header then closes it)
        super().send_bytes(status, content_type, body, headers)


def described(body: bytes, header_length: str | None, status: int) -> dict:
    """One entry of GET /infers: what the request asked for, read leniently (refused ones too)."""
    try:
        header = json.loads(body[:int(header_length)] if header_length is not None else body)
    except ValueError:
        header = {}
    header = header if isinstance(header, dict) else {}
    tensors = [t for t in header.get("inputs") or [] if isinstance(t, dict)] or [{}]
    outputs = [o for o in header.get("outputs") or [] if isinstance(o, dict)]
    asked = any((o.get("parameters") or {}).get("binary_data") for o in outputs)
    return {"binary": header_length is not None, "binary_output": asked, "shape": tensors[0].get("shape"),
            "status": status}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argument_parser("oip", __doc__)
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--no-binary-extension", action="store_true")
    parser.add_argument("--no-server-metadata", action="store_true", help="404 to GET /v2")
    parser.add_argument("--no-binary-output", action="store_true", help="binary inputs read, scores always JSON")
    parser.add_argument("--input-name", default="waveform")
    parser.add_argument("--fixed-samples", type=int, default=None, metavar="N")
    parser.add_argument("--fault", choices=FAULTS, default="none")
    parser.add_argument("--delay", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--read-delay", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--single-threaded", action="store_true")
    args = parser.parse_args(argv)
    if args.fixed_samples is not None and args.fixed_samples < 1:
        parser.error("--fixed-samples must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    serve((SingleThreadedServer if args.single_threaded else Server)((args.host, args.port), args))


if __name__ == "__main__":
    main()
