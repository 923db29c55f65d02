"""Open Inference Protocol (KServe v2): Triton, MLServer, KServe, TorchServe.

`tagger.url` is the server's base URL; `tagger.options`: `model` (required),
`version`, `labels` (names of the output columns; else `parameters.labels` of
the model's or the output's metadata), `binary` and `binary_output` (the binary
tensor extension: raw FP32 after a JSON header, several times smaller than a
JSON number list; `"auto"`, the default, uses it when the server lists
`binary_tensor_data` among its extensions — Triton does, MLServer 1.7 does not
over REST), `input_name`, `output_name` (default: the model's only input/output).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

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
    binary, binary_output = _binary_modes(options, fetch)
    return Model(path + "/infer", tensor_in["name"], tensor_in["datatype"], shape, tensor_out["name"], list(labels),
                 binary, binary_output)


def _binary_modes(options: dict, fetch) -> tuple[bool, bool]:
    """Binary tensors where asked for, or, with "auto", where the server says it speaks them."""
    wanted = (options["binary"], options["binary_output"])
    if "auto" not in wanted:
        return wanted
    answer = fetch(Outgoing(method="GET", path="/v2"), accept=(200, 404))
    server = json_body(answer) if answer.status_code == 200 else {}  # 404: no server metadata, no extensions
    speaks = BINARY_EXTENSION in (server.get("extensions") or []) if isinstance(server, dict) else False
    return tuple(speaks if mode == "auto" else mode for mode in wanted)


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
