"""Engine benchmark: separation, mixing + encoding, surrogate fitting, peak memory.

Prints figures and ratios against baselines measured in the same run:
  * separation of a 30 s clip: persistent session vs spleeter's Separator.separate(); and the
    registry's other separators (hpss, slime, spleeter:2stems+hpss)
  * mixing (+ 16-bit WAV encoding) of 30 s, 16 kHz mono mixes, 5 sources × 10 segments,
    16,384 samples, vs a plain per-mask Python loop
  * surrogate fit for 50 tags
  * peak RSS of the whole process, Spleeter included

Run: make bench   (or .venv/bin/python bench/engine_bench.py)
"""
from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.worker_stems import MODEL_DIR  # noqa: E402

os.environ["MODEL_PATH"] = str(MODEL_DIR)  # spleeter reads it at import time

import numpy as np  # noqa: E402

from engine.audio import resample, to_channels  # noqa: E402
from engine.codec import decode, encode_batch  # noqa: E402
from engine.components import Factorization  # noqa: E402
from engine.mixing import Mixer  # noqa: E402
from engine.perturbations import perturb  # noqa: E402
from engine.segments import equal_segments  # noqa: E402
from engine.sources import Sources  # noqa: E402
from engine.surrogate import SurrogateOptions, fit_surrogates  # noqa: E402

SECONDS, RATE, SOURCES, SEGMENTS, SAMPLES, TAGS = 30, 16000, 5, 10, 16384, 50


def timed(function, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def thirty_second_clip():
    waveform, rate = decode((MODEL_DIR / "audio_example.mp3").read_bytes())
    repeats = -(-SECONDS * rate // len(waveform))
    return np.concatenate([waveform] * repeats)[: SECONDS * rate], rate


def bench_separation(clip, rate):
    from spleeter.separator import Separator

    from worker.spleeter_separator import SpleeterSeparator

    persistent = SpleeterSeparator(MODEL_DIR, "2stems")
    first, stems = timed(lambda: persistent.separate(clip, rate), repeat=1)
    ours, _ = timed(lambda: persistent.separate(clip, rate))
    stereo = to_channels(resample(clip, rate, 44100), 2)
    baseline = Separator("spleeter:2stems", multiprocess=False)
    baseline.separate(stereo)  # first call also loads; later calls still rebuild the graph
    theirs, _ = timed(lambda: baseline.separate(stereo))
    print(f"separation, 30 s clip, 2stems: persistent session {ours:.2f} s (first call {first:.2f} s), "
          f"Separator.separate() {theirs:.2f} s -> {theirs / ours:.1f}x faster")
    bench_other_separators(clip, rate, persistent)
    return stems


def bench_other_separators(clip, rate, spleeter):
    """The registry's separators that need no model, and the refinement, on the same 30 s clip."""
    from engine.hpss import HPSS
    from engine.refine import Refined
    from engine.separation import CachingSeparator
    from engine.slime import FrequencyBands

    cached = CachingSeparator(spleeter)
    cached.separate(clip, rate)  # the refinement's base stems, as a worker's cache would hold them
    for name, separator in (("hpss", HPSS()), ("slime (8 mel bands)", FrequencyBands()),
                            ("spleeter:2stems+hpss, fresh", Refined(spleeter, "accompaniment", HPSS())),
                            ("spleeter:2stems+hpss, 2stems cached", Refined(cached, "accompaniment", HPSS()))):
        seconds, sources = timed(lambda: separator.separate(clip, rate))
        error = np.sqrt(np.mean((sources.mixture() - to_channels(resample(clip, rate, sources.sample_rate),
                                                                 sources.channels)) ** 2))
        print(f"separation, 30 s clip, {name}: {seconds:.2f} s; {len(sources.names)} sources, "
              f"sum vs input RMS error {error:.1e}")


def five_sources(stems: Sources) -> Sources:
    """Five 16 kHz mono sources from the two real stems (timing does not depend on content)."""
    base = stems.conform(RATE, 1).waveforms
    shifted = [np.roll(base[i % 2], 4000 * i, axis=0) for i in range(SOURCES)]
    return Sources(tuple(f"source{i}" for i in range(SOURCES)), np.stack(shifted), RATE)


def plain_loop(components: np.ndarray, masks: np.ndarray, encode: bool):
    for mask in masks:
        mix = np.zeros(components.shape[1:], dtype=np.float32)
        for index in np.flatnonzero(mask):
            mix += components[index]
        if encode:
            encode_batch(mix[np.newaxis], RATE)


def vectorised(mixer: Mixer, masks: np.ndarray, encode: bool, batch_size=16):
    for _, mixes in mixer.batches(masks, batch_size):
        if encode:
            encode_batch(mixes, RATE)


def bench_mixing(sources: Sources):
    factorization = Factorization(sources, equal_segments(sources.n_samples, RATE, SEGMENTS))
    mixer = Mixer(factorization)
    masks = perturb(factorization.n_components, SAMPLES, seed=0).unique
    components = np.stack([factorization.component_audio(i) for i in range(factorization.n_components)])
    subset = masks[:256]
    for encode in (False, True):
        ours, _ = timed(lambda: vectorised(mixer, masks, encode), repeat=1)
        loop, _ = timed(lambda: plain_loop(components, subset, encode), repeat=1)
        rate_ours, rate_loop = len(masks) / ours, len(subset) / loop
        label = "mixing + 16-bit WAV encoding" if encode else "mixing only"
        print(f"{label}, {len(masks)} masks of {SOURCES}x{SEGMENTS} components, 30 s 16 kHz mono: "
              f"{rate_ours:.0f} mixes/s vs plain loop {rate_loop:.0f} mixes/s -> {rate_ours / rate_loop:.1f}x")
    return masks


def bench_surrogate(masks: np.ndarray):
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(masks.shape[1], TAGS)) * (rng.random((masks.shape[1], TAGS)) < 0.2)
    scores = masks @ truth + 0.05 * rng.normal(size=(len(masks), TAGS))
    for mode in ("none", "highest_weights"):
        seconds, _ = timed(lambda: fit_surrogates(masks, scores, SurrogateOptions(feature_selection=mode,
                                                                                  num_features=10)), repeat=1)
        print(f"surrogate fit, {TAGS} tags, {len(masks)} masks x {masks.shape[1]} components, "
              f"feature selection {mode}: {seconds:.2f} s")


def main():
    clip, rate = thirty_second_clip()
    stems = bench_separation(clip, rate)
    masks = bench_mixing(five_sources(stems))
    bench_surrogate(masks)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (Spleeter included): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
