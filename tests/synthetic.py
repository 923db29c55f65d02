"""Audio with a known answer: stems in separate frequency bands, taggers that hear chosen ones.

Each stem is a pure tone, so a lock-in detector over a time window measures
exactly how much of one stem is audible there: the score is linear in the
mask, and the right explanation is known in advance.
"""
from __future__ import annotations

import numpy as np

from engine.sources import Sources

SAMPLE_RATE = 8000
TONES = {"drums": 440.0, "bass": 110.0, "vocals": 1250.0}
# These taggers listen at fixed times, so their explanations hear the checks' mixes with silence for
# what is off: cut (the default) would play the kept segments at other times (engine/mixing.py).
TIMED = {"check_off": "silence"}


def stems(seconds: float = 4.0, sample_rate: int = SAMPLE_RATE, tones=TONES) -> Sources:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    waves = {name: 0.3 * np.sin(2 * np.pi * freq * t)[:, None] for name, freq in tones.items()}
    return Sources.from_mapping(waves, sample_rate)


def tone_level(mixes: np.ndarray, sample_rate: int, freq: float, start: float, end: float) -> np.ndarray:
    """Amplitude of one tone within [start, end) s, per mix: linear in what is switched on."""
    margin = 0.02  # keep clear of the crossfades at segment edges
    a, b = int((start + margin) * sample_rate), int((end - margin) * sample_rate)
    t = np.arange(a, b) / sample_rate
    mono = mixes[:, a:b].mean(axis=2)
    i = mono @ np.sin(2 * np.pi * freq * t)
    q = mono @ np.cos(2 * np.pi * freq * t)
    return 2 * np.hypot(i, q) / (b - a)


def listening_tagger(rules: dict[str, list[tuple[str, int, float]]], n_segments: int,
                     seconds: float, sample_rate: int = SAMPLE_RATE):
    """A predict function: tag score = Σ weight × level of (source, segment) for each rule."""
    span = seconds / n_segments

    def predict(mixes: np.ndarray) -> np.ndarray:
        columns = []
        for parts in rules.values():
            score = np.zeros(len(mixes))
            for source, segment, weight in parts:
                score += weight * tone_level(mixes, sample_rate, TONES[source], segment * span, (segment + 1) * span)
            columns.append(score)
        return np.stack(columns, axis=1)

    return predict


def rule_scores(rules: dict[str, dict], mixes: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(B, tags) scores of rules over tone levels (tests/servers/rules.py says how): per tag,
    constant + Σ weight · level over `any` + scale · Π level over `all`."""
    columns = []
    for rule in rules.values():
        score = np.full(len(mixes), float(rule.get("constant", 0.0)))
        for freq, start, end, weight in rule.get("any", []):
            score += weight * tone_level(mixes, sample_rate, freq, start, end)
        together = rule.get("all", [])
        if together:
            score += rule.get("scale", 1.0) * np.prod([tone_level(mixes, sample_rate, f, a, b)
                                                       for f, a, b in together], axis=0)
        columns.append(score)
    return np.stack(columns, axis=1)
