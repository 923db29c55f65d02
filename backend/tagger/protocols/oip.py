"""Open Inference Protocol (KServe v2): Triton, MLServer, KServe, TorchServe.

`tagger.url` is the server's base URL; `tagger.options`: `model` (required),
`version`, `labels` (names of the output columns; else `parameters.labels` of
the model's or the output's metadata), `binary` and `binary_output` (the binary
tensor extension: raw FP32 after a JSON header, several times smaller than a
JSON number list), `input_name`, `output_name` (default: the model's only input/output).

`binary` / `binary_output` are `true`, `false` (JSON numbers) or `"auto"`, the
default: binary where the server lists `binary_tensor_data` among its extensions
at `GET /v2` (Triton does). Where it lists none, or has no `GET /v2`, one small
probe decides: one clip of zeros sent as binary, asking for binary scores, to
the infer endpoint. A 200 with a readable answer: binary requests (and binary
scores if they came so). A 4xx: **JSON numbers both ways** (MLServer 1.7 over REST
answers 422). A 5xx or no answer fails the job as any request would. The worker
process remembers the outcome per server, model and version for PROBE_TTL (an
hour), so later jobs do not probe again.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, replace

import numpy as np
import requests

from engine.errors import InvalidOptionError, TaggerResponseError
from engine.tagger import Predictions, check_predictions, quote

from .base import Outgoing, check_keys, check_labels, json_body, json_numbers

DEFAULT_BATCH_SIZE = 8
MAX_BATCH_SIZE = 10**6
HEADER_LENGTH = "Inference-Header-Content-Length"
DATATYPES = {"FP32": "<f4", "FP64": "<f8", "FP16": "<f2"}


BINARY_EXTENSION = "binary_tensor_data"
DATA = "<data>"  # stands for the numbers in the JSON header until they are spliced in
PROBE_SECONDS = 1.0  # the probe's clip, where the model takes any length: short, yet a plausible input
PROBE_TTL = 3600.0  # seconds a probe's outcome is trusted: servers get upgraded, rarely within the hour
# A 4xx to the probe says "not like this"; 429 says "not now" and is retried like any request.
PROBE_ANSWERS = (200, *(status for status in range(400, 500) if status != 429))
# ...but these are about the caller, not the tensors: fall back for this job, ask again for the next.
NOT_ABOUT_TENSORS = (401, 403, 407, 408)


@dataclass(frozen=True)
class Model:
    """What the metadata says: where to send, how the tensors look, what the server speaks."""
    path: str
    input_name: str
    input_datatype: str
    input_shape: list
    output_name: str
    labels: list
    binary: bool
    binary_output: bool


def check_options(options: dict) -> dict:
    check_keys(options, {"model"}, {"version", "labels", "binary", "binary_output", "input_name", "output_name"}, "oip")
    for name in ("model", "version", "input_name", "output_name"):
        if name in options and (not isinstance(options[name], str) or not options[name]):
            raise InvalidOptionError(f"tagger.options.{name} must be a non-empty string")
    for name in ("binary", "binary_output"):
        if options.get(name, "auto") not in (True, False, "auto"):
            raise InvalidOptionError(f"tagger.options.{name} must be true, false or \"auto\"")
    check_labels(options.get("labels"))
    return {"binary": "auto", "binary_output": "auto", **options}


def prepare(spec, fetch) -> Model:
    options = spec.options
    path = f"/v2/models/{options['model']}" + (f"/versions/{options['version']}" if "version" in options else "")
    metadata = json_body(fetch(Outgoing(method="GET", path=path)))
    tensor_in = _pick(metadata, "inputs", options.get("input_name"))
    tensor_out = _pick(metadata, "outputs", options.get("output_name"))
    if tensor_in.get("datatype") not in DATATYPES:
        raise TaggerResponseError(f"model input {tensor_in.get('name')!r} wants {tensor_in.get('datatype')!r}; "
                                  f"audio can be sent as {sorted(DATATYPES)}")
    shape = tensor_in.get("shape") or []
    if len(shape) not in (2, 3) or (len(shape) == 2 and spec.channels != 1):
        raise TaggerResponseError(f"model input shape {shape} is neither [batch, samples] (mono) nor "
                                  f"[batch, samples, channels]; tagger.channels is {spec.channels}")
    labels = (options.get("labels") or (metadata.get("parameters") or {}).get("labels")
              or (tensor_out.get("parameters") or {}).get("labels"))
    if not labels:
        raise TaggerResponseError("the model metadata names no labels; give them as tagger.options.labels")
    model = Model(path + "/infer", tensor_in["name"], tensor_in["datatype"], shape, tensor_out["name"],
                  list(labels), binary=False, binary_output=False)
    binary, binary_output = _binary_modes(spec, model, fetch)
    return replace(model, binary=binary, binary_output=binary_output)


class ProbeCache:
    """What probing learned, per tagger, for `ttl` seconds; shared by a worker's jobs and threads."""

    def __init__(self, ttl: float = PROBE_TTL, clock=time.monotonic):
        self.ttl, self._clock = ttl, clock
        self._entries: dict[tuple, tuple[float, tuple[bool, bool]]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[bool, bool] | None:
        with self._lock:
            expires, modes = self._entries.get(key, (0.0, None))
            return modes if self._clock() < expires else None

    def put(self, key: tuple, modes: tuple[bool, bool]) -> None:
        with self._lock:
            self._entries[key] = (self._clock() + self.ttl, modes)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


PROBED = ProbeCache()


def _binary_modes(spec, model: Model, fetch, cache: ProbeCache = PROBED) -> tuple[bool, bool]:
    """Binary tensors where asked for, or, with "auto", where the server speaks them (as listed, or probed)."""
    wanted = (spec.options["binary"], spec.options["binary_output"])
    if "auto" not in wanted:
        return wanted
    key = (spec.url.rstrip("/"), model.path, wanted)  # the path names the model and its version
    modes = cache.get(key)
    if modes is None:
        modes, lasting = _learn_modes(wanted, spec, model, fetch)
        if lasting:
            cache.put(key, modes)
    return modes


def _learn_modes(wanted: tuple, spec, model: Model, fetch) -> tuple[tuple[bool, bool], bool]:
    """(modes, whether they hold beyond this job)."""
    if _lists_binary_extension(fetch):
        return _settle(wanted, (True, True)), True
    asked = replace(model, binary=wanted[0] is not False, binary_output=wanted[1] is not False)
    answer = fetch(build_request(_probe_clip(spec, model), spec, asked), accept=PROBE_ANSWERS)
    if answer.status_code != 200:
        return _settle(wanted, (False, False)), answer.status_code not in NOT_ABOUT_TENSORS
    try:
        parse_response(answer, 1, spec, asked)
    except TaggerResponseError as exc:
        raise TaggerResponseError(f"the answer to a one-clip binary tensor probe does not fit ({exc}); to skip "
                                  "the probe, set tagger.options.binary and binary_output", http_status=200) from exc
    return _settle(wanted, (asked.binary, HEADER_LENGTH in answer.headers)), True


def _lists_binary_extension(fetch) -> bool:
    answer = fetch(Outgoing(method="GET", path="/v2"), accept=(200, 404))
    server = json_body(answer) if answer.status_code == 200 else {}  # 404: no server metadata, no extensions
    return isinstance(server, dict) and BINARY_EXTENSION in (server.get("extensions") or [])


def _settle(wanted: tuple, spoken: tuple[bool, bool]) -> tuple[bool, bool]:
    return tuple(speaks if mode == "auto" else mode for mode, speaks in zip(wanted, spoken))


def _probe_clip(spec, model: Model) -> np.ndarray:
    """One clip of silence as the model takes it: its fixed length, or input_seconds, or PROBE_SECONDS."""
    fixed = model.input_shape[1]
    samples = fixed if isinstance(fixed, int) and fixed > 0 else round(
        (spec.input_seconds or PROBE_SECONDS) * spec.sample_rate)
    return np.zeros((1, samples, spec.channels), dtype=np.float32)


def _pick(metadata: dict, kind: str, name: str | None) -> dict:
    tensors = metadata.get(kind) if isinstance(metadata, dict) else None
    if not isinstance(tensors, list) or not tensors:
        raise TaggerResponseError(f"model metadata has no {kind}: {quote(metadata)}")
    if name is None:
        if len(tensors) > 1:
            raise TaggerResponseError(f"the model has several {kind} ({[t.get('name') for t in tensors]}); "
                                      f"choose one with tagger.options.{kind[:-1]}_name")
        return tensors[0]
    for tensor in tensors:
        if tensor.get("name") == name:
            return tensor
    raise TaggerResponseError(f"the model has no {kind[:-1]} {name!r}; it has {[t.get('name') for t in tensors]}")


def build_request(clips: np.ndarray, spec, model: Model) -> Outgoing:
    tensor = clips[:, :, 0] if len(model.input_shape) == 2 else clips
    if model.input_shape[1] not in (-1, tensor.shape[1]):
        raise TaggerResponseError(
            f"the model takes {model.input_shape[1]} samples per clip and mixes have {tensor.shape[1]}; "
            f"set tagger.input_seconds to {model.input_shape[1] / spec.sample_rate:g} with an input_policy")
    raw = np.ascontiguousarray(tensor, dtype=DATATYPES[model.input_datatype])
    described = {"name": model.input_name, "shape": list(raw.shape), "datatype": model.input_datatype}
    outputs = [{"name": model.output_name, "parameters": {"binary_data": model.binary_output}}]
    if not model.binary:
        body = json.dumps({"inputs": [{**described, "data": DATA}], "outputs": outputs}).encode()
        return Outgoing(body.replace(b'"' + DATA.encode() + b'"', json_numbers(raw)), "application/json", model.path)
    header = json.dumps({"inputs": [{**described, "parameters": {"binary_data_size": raw.nbytes}}],
                         "outputs": outputs}).encode()
    return Outgoing(header + raw.tobytes(), "application/octet-stream", model.path,
                    headers={HEADER_LENGTH: str(len(header))})


def parse_response(response: requests.Response, n_clips: int, spec, model: Model) -> Predictions:
    header, binary = _split(response)
    outputs = header.get("outputs") if isinstance(header, dict) else None
    if not isinstance(outputs, list):
        raise TaggerResponseError(f"OIP answer without `outputs`: {quote(header)}")
    offset = 0
    for output in outputs:
        size = ((output.get("parameters") or {}).get("binary_data_size")) if isinstance(output, dict) else None
        if isinstance(output, dict) and output.get("name") == model.output_name:
            values = _values(output, binary[offset:offset + size] if size is not None else None)
            return _predictions(values, output.get("shape"), model.labels, n_clips)
        offset += size or 0
    raise TaggerResponseError(f"OIP answer has no output {model.output_name!r}: {quote(header)}")


def _split(response: requests.Response):
    length = response.headers.get(HEADER_LENGTH)
    if length is None:
        return json_body(response), b""
    content = response.content
    try:
        return json.loads(content[:int(length)]), content[int(length):]
    except ValueError as exc:
        raise TaggerResponseError(f"binary OIP answer with a bad JSON header: {quote(content[:200])}") from exc


def _values(output: dict, raw: bytes | None) -> np.ndarray:
    datatype = output.get("datatype")
    if raw is not None:
        if datatype not in DATATYPES:
            raise TaggerResponseError(f"binary output of datatype {datatype!r} cannot be read as scores")
        return np.frombuffer(raw, dtype=DATATYPES[datatype]).astype(np.float64)
    data = output.get("data")
    try:
        return np.asarray(data, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise TaggerResponseError(f"output data are not numbers: {quote(data)}") from exc


def _predictions(values: np.ndarray, shape, labels: list, n_clips: int) -> Predictions:
    if not isinstance(shape, list) or int(np.prod(shape)) != values.size or len(shape) < 1:
        raise TaggerResponseError(f"output shape {shape} does not fit its {values.size} values")
    if values.size != n_clips * len(labels):
        raise TaggerResponseError(f"output has shape {shape} for {n_clips} clips × {len(labels)} labels")
    return check_predictions(Predictions(tuple(labels), values.reshape(n_clips, len(labels))), n_clips)
