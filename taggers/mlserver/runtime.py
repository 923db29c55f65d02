"""The band tagger as an MLServer 1.7 custom runtime: one FP32 input, one FP32 output, numpy only.

Input `waveform`, FP32, shape [batch, samples]: mono waveforms of equal length at 16 kHz, `data`
flat (row-major) or nested. Output `scores`, FP32, shape [batch, 4]: per waveform the levels
[low, mid, high, loud] of taggers/reference.py, computed again here (this runs in MLServer's own
virtualenv and imports nothing from the project):

    x[0..N-1], X = rfft(x), e_k = w_k |X_k|² / N²  (w_k = 1 for DC and an even N's Nyquist bin, else 2)
    level(band) = sqrt(Σ e_k over the band):  low f < 250 Hz, mid 250 ≤ f < 2000 Hz, high f ≥ 2000 Hz,
    loud = all bins (the RMS of x).

The labels and the sample rate are declared in band_tagger/model-settings.json and so appear in
GET /v2/models/band-tagger as `outputs[0].parameters.labels` and `inputs[0].parameters.sample_rate`;
`load()` refuses to start when they disagree with this module. What MLServer does with the
binary tensor extension, and its error answers: README.md beside this file.

Every bad request is an `mlserver.errors.InferenceError`, which MLServer answers with
400 {"error": "<message>"}.
"""
from __future__ import annotations

import math

import numpy as np
from mlserver import MLModel
from mlserver.errors import InferenceError
from mlserver.types import Datatype, InferenceRequest, InferenceResponse, RequestInput, ResponseOutput

LABELS = ("low", "mid", "high", "loud")
SAMPLE_RATE = 16000
LOW_MID_HZ, MID_HIGH_HZ = 250.0, 2000.0
INPUT_NAME, OUTPUT_NAME = "waveform", "scores"


def band_levels(waveforms: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """[batch, samples] waveforms -> [batch, 4] levels [low, mid, high, loud], as the docstring says."""
    n = waveforms.shape[1]
    energy = np.abs(np.fft.rfft(waveforms.astype(np.float64), axis=1)) ** 2 / n**2
    energy[:, 1:(n + 1) // 2] *= 2  # these bins stand for a ± frequency pair; DC and Nyquist do not
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    bands = [freqs < LOW_MID_HZ, (freqs >= LOW_MID_HZ) & (freqs < MID_HIGH_HZ), freqs >= MID_HIGH_HZ,
             np.ones_like(freqs, dtype=bool)]
    return np.sqrt(np.stack([energy[:, band].sum(axis=1) for band in bands], axis=1))


def waveform_batch(request: InferenceRequest) -> np.ndarray:
    """The request's one `waveform` input as a [batch, samples] float32 array, or InferenceError."""
    names = [tensor.name for tensor in request.inputs]
    if names != [INPUT_NAME]:
        raise InferenceError(f"band-tagger takes exactly one input named {INPUT_NAME!r}, got {names}")
    tensor: RequestInput = request.inputs[0]
    datatype = Datatype(tensor.datatype).value  # MLServer's models keep enum values as plain strings
    if datatype != Datatype.FP32.value:
        raise InferenceError(f"input {INPUT_NAME!r} must be FP32, got {datatype}")
    if len(tensor.shape) != 2 or min(tensor.shape) < 1:
        raise InferenceError(f"input {INPUT_NAME!r} must have shape [batch, samples] with both ≥ 1, "
                             f"got {tensor.shape}")
    try:
        values = np.asarray(tensor.data.root, dtype=np.float32)
    except (TypeError, ValueError) as exc:  # ragged nesting, strings, objects
        raise InferenceError(f"input {INPUT_NAME!r} data is not a numeric array: {exc}") from exc
    if values.size != math.prod(tensor.shape):
        raise InferenceError(f"input {INPUT_NAME!r} has {values.size} values, its shape {tensor.shape} "
                             f"needs {math.prod(tensor.shape)}")
    if not np.isfinite(values).all():
        raise InferenceError(f"input {INPUT_NAME!r} has non-finite values (NaN, inf or null)")
    return values.reshape(tensor.shape)


class BandTagger(MLModel):
    """MLServer runtime: POST /v2/models/band-tagger/infer with a `waveform` batch -> `scores`."""

    async def load(self) -> bool:
        declared = {tensor.name: tensor for tensor in (self.inputs or []) + (self.outputs or [])}
        labels = getattr(getattr(declared.get(OUTPUT_NAME), "parameters", None), "labels", None)
        sample_rate = getattr(getattr(declared.get(INPUT_NAME), "parameters", None), "sample_rate", None)
        if labels != list(LABELS) or sample_rate != SAMPLE_RATE:
            raise ValueError(f"model-settings.json must declare outputs[{OUTPUT_NAME!r}].parameters.labels = "
                             f"{list(LABELS)} and inputs[{INPUT_NAME!r}].parameters.sample_rate = {SAMPLE_RATE}, "
                             f"got {labels} and {sample_rate}")
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        requested = [output.name for output in payload.outputs or []]
        if any(name != OUTPUT_NAME for name in requested):
            raise InferenceError(f"band-tagger has one output, {OUTPUT_NAME!r}; requested {requested}")
        scores = band_levels(waveform_batch(payload)).astype(np.float32)
        output = ResponseOutput(name=OUTPUT_NAME, shape=list(scores.shape), datatype=Datatype.FP32.value,
                                data=scores.ravel().tolist())
        return InferenceResponse(model_name=self.name, model_version=self.version, id=payload.id,
                                 outputs=[output])
