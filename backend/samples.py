"""An explanation's samples as a file: NPZ for numpy users, JSON for everyone else."""
from __future__ import annotations

import io
import json

import numpy as np

NPZ_MEDIA_TYPE = "application/x-npz"


def samples_npz(samples: dict) -> bytes:
    """masks (U, d') uint8, counts (U,), scores (U, labels) float64, draws and units (N,) int64 (each
    draw's distinct mask and independent unit, in the order drawn), labels, and the fit's settings."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, masks=np.asarray(samples["masks"], dtype=np.uint8),
                        counts=np.asarray(samples["counts"], dtype=np.int64),
                        scores=np.asarray(samples["scores"], dtype=np.float64),
                        draws=np.asarray(samples["draws"], dtype=np.int64),
                        units=np.asarray(samples["units"], dtype=np.int64),
                        labels=np.array(samples["labels"], dtype=str),
                        settings=np.array(json.dumps({k: samples[k] for k in ("exhaustive", "estimator",
                                                                                 "kernel_width", "alpha")})))
    return buffer.getvalue()


def samples_json(npz: bytes) -> dict:
    with np.load(io.BytesIO(npz), allow_pickle=False) as data:
        return {"labels": data["labels"].tolist(), "masks": data["masks"].astype(int).tolist(),
                "counts": data["counts"].tolist(), "scores": data["scores"].tolist(),
                "draws": data["draws"].tolist(), "units": data["units"].tolist(),
                **json.loads(str(data["settings"]))}
