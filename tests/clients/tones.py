"""Known-answer audio for the client tests: three stems in three frequency bands.

The reference tagger's `low` is the level below 250 Hz, and only the bass (110 Hz) is there,
sounding in seconds 2–3 only: so `low` is explained by one component, bass × segment 2, with
weight 0.3 · sqrt(1/4 / 2) (taggers/reference.py), and every other weight is about 0.
`mid` hears the drums (440 Hz), which sound throughout.
"""
from __future__ import annotations

import io

import numpy as np
import soundfile

RATE, SECONDS, SEGMENTS = 16000, 4.0, 4
SOURCES = ("bass", "drums", "vocals")
BASS_SEGMENT = 2
LOW_WEIGHT = 0.3 * np.sqrt(0.125)


def stems() -> dict[str, np.ndarray]:
    t = np.arange(int(SECONDS * RATE)) / RATE
    waves = {"bass": 0.3 * np.sin(2 * np.pi * 110 * t) * ((t >= 2.0) & (t < 3.0)),
             "drums": 0.2 * np.sin(2 * np.pi * 440 * t),
             "vocals": 0.2 * np.sin(2 * np.pi * 3000 * t)}
    return {name: waves[name].astype(np.float32)[:, None] for name in SOURCES}


def mixture() -> np.ndarray:
    return sum(stems().values())


def wav(waveform: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, waveform, RATE, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def write_files(folder) -> tuple:
    """The mixture and stems as float WAV files; (mixture path, {name: path})."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mix.wav").write_bytes(wav(mixture()))
    paths = {}
    for name, waveform in stems().items():
        paths[name] = folder / f"{name}.wav"
        paths[name].write_bytes(wav(waveform))
    return folder / "mix.wav", paths


def tagger_settings(server, **overrides) -> dict:
    return {"url": server.url, "sample_rate": RATE, "batch_size": 32, **overrides}


def away_from_fades(frames: int) -> np.ndarray:
    """Frames not within 3 ms of a segment boundary (the 5 ms crossfades live there)."""
    keep = np.ones(frames, dtype=bool)
    for edge in range(1, SEGMENTS):
        keep[edge * RATE - 48: edge * RATE + 48] = False
    return keep
