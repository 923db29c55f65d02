"""What the listening page draws on the heat map's time axis: the mixture's spectrogram and each source's waveform.

Both come from the factorization the component audio is cut from — the sources as the tagger
heard them, with the residual when one was asked for — so they line up with the components'
time spans; both answer 409 until the job has its stems, as that audio does, and 404 once the job
is cancelled (its audio deleted). Numpy and the engine's STFT only: nothing here touches the worker side.
"""
from __future__ import annotations

import json

import numpy as np
from flask import Blueprint, Response

from engine.components import Factorization
from engine.stft import Stft
from service.lru import LRU
from service.rendering import factorization
from service.views.explanations import int_arg, not_cancelled, services

blueprint = Blueprint("visuals", __name__)

ROWS = 128  # log-spaced frequency rows, LOWEST_HZ to Nyquist
LOWEST_HZ = 30.0
MAX_FRAMES = 1200  # longer clips have their frames averaged down: 10 minutes stay a few hundred KB
CHUNK_FRAMES = 1024  # STFT frames computed at once, so memory stays bounded however long the clip
DYNAMIC_RANGE_DB = 80.0  # the levels span the loudest row-frame and 80 dB below it
LEVELS = 255
SILENCE = 1e-12  # power floor (-120 dB), so log10 never sees zero
DEFAULT_COLUMNS, MAX_COLUMNS = 800, 4000
CACHE_HEADERS = {"Cache-Control": "private, max-age=3600",  # a job's stems never change once stored
                 "Vary": "Authorization"}
_RENDERED: LRU[bytes] = LRU(16)  # the page asks for both pictures once per view; tags switch without asking


@blueprint.get("/explanations/<job_id>/spectrogram")
def spectrogram(job_id: str):
    record = not_cancelled(job_id, "spectrogram")
    return _rendered(f"{job_id}:spectrogram", lambda: spectrogram_of(factorization(services().store, record)))


@blueprint.get("/explanations/<job_id>/waveforms")
def waveforms(job_id: str):
    record = not_cancelled(job_id, "waveforms")
    columns = int_arg("columns", DEFAULT_COLUMNS, 1, MAX_COLUMNS)
    return _rendered(f"{job_id}:waveforms:{columns}",
                     lambda: envelopes_of(factorization(services().store, record), columns))



def _rendered(key: str, render) -> Response:
    body = _RENDERED.get(key)
    if body is None:
        body = json.dumps(render(), separators=(",", ":")).encode()
        _RENDERED.put(key, body)
    return Response(body, mimetype="application/json", headers=CACHE_HEADERS)


# -- the spectrogram --------------------------------------------------------------------------

def spectrogram_of(f: Factorization) -> dict:
    """The mono mixture of all sources: mean power per log-frequency row and (averaged) frame, quantised."""
    mono = f.sources.mixture().mean(axis=1, dtype=np.float64)
    grid = Stft.at(f.sample_rate)
    edges = np.geomspace(LOWEST_HZ, f.sample_rate / 2, ROWS + 1)
    rows = _row_weights(grid, edges)
    n_frames = len(mono) // grid.hop + 1  # frames centred at 0, hop, … up to the end of the clip
    power = np.concatenate([rows @ _frame_power(grid, mono, first, min(CHUNK_FRAMES, n_frames - first))
                            for first in range(0, n_frames, CHUNK_FRAMES)], axis=1)
    starts = np.arange(min(n_frames, MAX_FRAMES)) * n_frames // min(n_frames, MAX_FRAMES)
    counts = np.diff(np.append(starts, n_frames))
    power = np.add.reduceat(power, starts, axis=1) / counts
    centres = (starts + (counts - 1) / 2) * grid.hop / f.sample_rate  # the mean centre of each group
    db = 10 * np.log10(4 * power + SILENCE)  # 4 |X|²: a full-scale sine in one bin reads 0 dB
    high = float(np.ceil(db.max()))
    low = high - DYNAMIC_RANGE_DB
    levels = np.clip(np.rint((db - low) / DYNAMIC_RANGE_DB * LEVELS), 0, LEVELS).astype(int)
    return {"sample_rate": f.sample_rate, "duration": f.sources.n_samples / f.sample_rate,
            "times": np.round(centres, 4).tolist(),
            "frequencies": np.round(np.sqrt(edges[:-1] * edges[1:]), 2).tolist(),  # each row's geometric centre
            "frequency_range": [LOWEST_HZ, f.sample_rate / 2], "db_range": [low, high], "levels": LEVELS,
            "db": levels.tolist()}


def _row_weights(grid: Stft, edges: np.ndarray) -> np.ndarray:
    """(rows, bins): each row the mean of the bins inside it, or, narrower than a bin, interpolated at its centre."""
    bins = grid.frequencies()
    weights = np.zeros((len(edges) - 1, len(bins)))
    for row, (low, high) in enumerate(zip(edges, edges[1:])):
        inside = np.flatnonzero((bins >= low) & (bins < high))
        if inside.size:
            weights[row, inside] = 1 / inside.size
            continue
        position = np.sqrt(low * high) / grid.bin_hz
        below = min(int(position), len(bins) - 2)
        weights[row, below], weights[row, below + 1] = below + 1 - position, position - below
    return weights


def _frame_power(grid: Stft, mono: np.ndarray, first: int, count: int) -> np.ndarray:
    """|X|² of frames first … first + count − 1, exactly as one STFT of the whole clip gives them.

    The STFT centres frame j of what it is given at sample j·hop (zeros before), so it is given the
    clip from two hops (half a window) before frame `first`'s centre, and its first two frames are dropped.
    """
    half = grid.length // 2  # = 2 hops
    start, stop = first * grid.hop - half, (first + count - 1) * grid.hop + half
    piece = mono[max(start, 0):max(stop, 0)]
    piece = np.pad(piece, (max(0, -start), stop - start - len(piece) - max(0, -start)))
    spectra = grid.forward(piece[:, None])[0, :, 2:2 + count]
    return spectra.real ** 2 + spectra.imag ** 2


# -- the waveforms ----------------------------------------------------------------------------

def envelopes_of(f: Factorization, columns: int) -> dict:
    """Each source's lowest and highest sample (over all channels) in `columns` equal spans of the clip.

    Column c spans samples ⌊c·n/N⌋ … ⌊(c+1)·n/N⌋ − 1 (fewer columns when the clip has fewer samples).
    """
    n = f.sources.n_samples
    columns = min(columns, n)
    starts = np.arange(columns) * n // columns
    sources = {}
    for name, waveform in zip(f.sources.names, f.sources.waveforms):
        lows = np.minimum.reduceat(waveform, starts, axis=0).min(axis=1)  # spans first: 40× faster
        highs = np.maximum.reduceat(waveform, starts, axis=0).max(axis=1)
        sources[name] = {"min": _rounded(lows), "max": _rounded(highs)}
    return {"columns": columns, "duration": n / f.sample_rate, "sample_rate": f.sample_rate, "sources": sources}


def _rounded(values: np.ndarray) -> list[float]:
    return (np.round(values.astype(np.float64), 4) + 0.0).tolist()  # + 0.0: no "-0.0" in the JSON
