"""The Open Inference Protocol (KServe v2) for one tagger: metadata, infer requests and responses.

A request body is JSON, or — the binary tensor data extension — a JSON header of
`Inference-Header-Content-Length` bytes followed by raw little-endian tensor bytes, in the order of
the inputs that say `"parameters": {"binary_data_size": n}` instead of giving `data`. An output is
returned as raw bytes after the JSON header when its request asks `"parameters": {"binary_data":
true}`, or when the request's parameters say `"binary_data_output": true` and the output does not
say otherwise. No HTTP here: the server passes bytes in and sends what `encode_response` returns.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

INPUT_NAME, OUTPUT_NAME, DATATYPE = "waveform", "scores", "FP32"
HEADER_LENGTH = "Inference-Header-Content-Length"  # the binary tensor data extension's header
EXTENSIONS = ("binary_tensor_data",)
VERSION = "1"  # the one version of the one model


class InferenceError(ValueError):
    """The request cannot be answered; the message becomes the {"error": ...} body."""
    status = 400


class ModelNotFound(InferenceError):
    status = 404


@dataclass
class InferenceRequest:
    waveforms: np.ndarray  # (clips, samples) float32
    binary_output: bool
    id: str | None = None


def model_metadata(name: str, labels: tuple[str, ...], sample_rate: int) -> dict:
    return {"name": name, "versions": [VERSION], "platform": "tensorflow",
            "inputs": [{"name": INPUT_NAME, "datatype": DATATYPE, "shape": [-1, -1]}],
            "outputs": [{"name": OUTPUT_NAME, "datatype": DATATYPE, "shape": [-1, len(labels)]}],
            "parameters": {"labels": list(labels), "sample_rate": sample_rate}}


def split_body(body: bytes, header_length: str | None) -> tuple[dict, memoryview]:
    """The JSON header as a dict, and the binary part after it (empty without the extension)."""
    length = len(body) if header_length is None else header_bytes(header_length, len(body))
    try:
        header = json.loads(body[:length])
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise InferenceError(f"the request's JSON header is not JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise InferenceError(f"the request must be a JSON object, got {type(header).__name__}")
    return header, memoryview(body)[length:]


def header_bytes(header_length: str, body_length: int) -> int:
    try:
        length = int(header_length)
    except ValueError:
        length = -1
    if not 0 <= length <= body_length:
        raise InferenceError(f"{HEADER_LENGTH} must be a byte count of at most the body's {body_length} "
                             f"bytes, got {header_length!r}")
    return length


def parse_request(body: bytes, header_length: str | None) -> InferenceRequest:
    """An infer request body -> the waveforms and how to answer, or InferenceError saying why not."""
    header, binary = split_body(body, header_length)
    inputs = header.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise InferenceError(f"`inputs` must list exactly one input, {INPUT_NAME!r}; got {inputs!r:.200}")
    waveforms = read_input(inputs[0], binary)
    request_id = header.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InferenceError(f"`id` must be a string, got {request_id!r:.100}")
    return InferenceRequest(waveforms, wants_binary(header), request_id)


def read_input(spec: dict, binary: memoryview) -> np.ndarray:
    """The one input tensor, checked: name, datatype, [clips, samples] shape and its data."""
    if spec.get("name") != INPUT_NAME:
        raise InferenceError(f"unknown input {spec.get('name')!r}: the model's only input is {INPUT_NAME!r}")
    if spec.get("datatype") != DATATYPE:
        raise InferenceError(f"input {INPUT_NAME!r} must have datatype {DATATYPE}, got {spec.get('datatype')!r}")
    shape = spec.get("shape")
    if (not isinstance(shape, list) or len(shape) != 2
            or not all(type(size) is int and size > 0 for size in shape)):
        raise InferenceError(f"input {INPUT_NAME!r} must have shape [clips, samples] of positive integers, "
                             f"got {shape!r:.100}")
    count = shape[0] * shape[1]
    size = parameters(spec, f"input {INPUT_NAME!r}").get("binary_data_size")
    if size is not None:
        values = read_binary(size, count, binary, "data" in spec)
    elif len(binary):
        raise InferenceError(f"the body has {len(binary)} bytes after the JSON header, but input "
                             f"{INPUT_NAME!r} has no binary_data_size parameter")
    else:
        values = read_json_data(spec.get("data"), count, shape)
    if not np.all(np.isfinite(values)):
        raise InferenceError(f"input {INPUT_NAME!r} holds NaN or infinite samples")
    return values.reshape(shape)


def read_binary(size, count: int, binary: memoryview, has_data: bool) -> np.ndarray:
    if has_data:
        raise InferenceError(f"input {INPUT_NAME!r} has both `data` and a binary_data_size")
    if type(size) is not int or size != count * 4:
        raise InferenceError(f"input {INPUT_NAME!r}: binary_data_size must be {count} values × 4 bytes = "
                             f"{count * 4}, got {size!r}")
    if len(binary) != size:
        raise InferenceError(f"input {INPUT_NAME!r}: binary_data_size says {size} bytes, the body has "
                             f"{len(binary)} after the JSON header (is {HEADER_LENGTH} right?)")
    return np.frombuffer(binary, dtype="<f4").astype(np.float32)


def read_json_data(data, count: int, shape: list[int]) -> np.ndarray:
    if not isinstance(data, list):
        raise InferenceError(f"input {INPUT_NAME!r} needs `data` (a row-major list of numbers) or a "
                             f"binary_data_size parameter")
    try:
        values = np.asarray(data, dtype=np.float32).ravel()
    except (TypeError, ValueError) as exc:  # strings, objects, ragged nesting
        raise InferenceError(f"input {INPUT_NAME!r}: `data` must be numbers in row-major order: {exc}") from exc
    if values.size != count:
        raise InferenceError(f"input {INPUT_NAME!r}: shape {shape} needs {count} values, `data` has {values.size}")
    return values


def wants_binary(header: dict) -> bool:
    """Whether the one output goes back as binary data; an output's binary_data overrides the default."""
    default = flag(parameters(header, "the request").get("binary_data_output", False), "binary_data_output")
    outputs = [] if header.get("outputs") is None else header["outputs"]
    if not isinstance(outputs, list) or not all(isinstance(output, dict) for output in outputs):
        raise InferenceError(f"`outputs` must be a list of objects, got {outputs!r:.200}")
    for output in outputs:
        if output.get("name") != OUTPUT_NAME:
            raise InferenceError(f"unknown output {output.get('name')!r}: "
                                 f"the model's only output is {OUTPUT_NAME!r}")
    choices = [flag(parameters(output, f"output {OUTPUT_NAME!r}").get("binary_data", default), "binary_data")
               for output in outputs]
    return choices[0] if choices else default


def parameters(tensor_or_request: dict, where: str) -> dict:
    found = tensor_or_request.get("parameters")
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise InferenceError(f"`parameters` of {where} must be an object, got {found!r:.100}")
    return found


def flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise InferenceError(f"parameter {name!r} must be true or false, got {value!r:.100}")
    return value


def encode_response(model_name: str, request: InferenceRequest, scores: np.ndarray) -> tuple[bytes, dict]:
    """(body, headers) of the answer: JSON, or the JSON header then the raw FP32 scores."""
    if not np.all(np.isfinite(scores)):
        raise RuntimeError(f"{model_name} produced non-finite scores")  # a bug, not a bad request
    output = {"name": OUTPUT_NAME, "datatype": DATATYPE, "shape": list(scores.shape)}
    raw = np.ascontiguousarray(scores, dtype="<f4").tobytes()
    if request.binary_output:
        output["parameters"] = {"binary_data_size": len(raw)}
    else:
        output["data"] = scores.ravel().tolist()
    answer = {"model_name": model_name, "model_version": VERSION, "outputs": [output]}
    if request.id is not None:
        answer["id"] = request.id
    header = json.dumps(answer).encode()
    if not request.binary_output:
        return header, {"Content-Type": "application/json"}
    return header + raw, {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(len(header))}
