"""The MSD_musicnn tagger's answers to every mask of the example clip, cached once for replay.

The example clip (models/audio_example.mp3) at Spleeter 2stems × 6 segments has d' = 12
components, so 2^12 = 4,096 masks: few enough to ask the real tagger about all of them once
(about 5 minutes here, 0.075 s per mix), after which a benchmark can replay any number of
simulated sampler runs with no tagger at all. The components are built as the worker builds them
(decode, persistent Spleeter session, stems round-tripped through FLAC24, factorize, conform to
16 kHz mono). The tagger is deterministic, so a replayed answer is the answer a service run gets,
to float32 rounding: the same request gets the same bits, but a mix sent in another batch, or at
another place in one, can score 1 ulp (~2e-8) apart.

Mask order: row m holds the binary digits of m, component 0 the least significant bit, so
row 0 is all off and row 4095 all on (the original); `rows_of(masks)` maps masks to rows.
(Unlike engine.perturbations, whose row 0 is all on.)

    from bench.musicnn_answers import load, rows_of
    answers = load()                       # builds the cache first if missing or stale
    scores = answers.scores[rows_of(masks)]  # (N, 50), as musicnn would answer

Run: PYTHONPATH=. .venv/bin/python bench/musicnn_answers.py [--rebuild]
It starts (and stops) its own musicnn server on a free loopback port, saves partial answers
every CHECKPOINT_EVERY masks and resumes from them, and prints a summary: timings, the
original's top tags, and the exact LIME weights (all 4,096 masks, each once) of the top tag.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.worker_stems import MODEL_DIR, worker_stems  # noqa: E402
from engine.codec import decode  # noqa: E402
from engine.components import Component  # noqa: E402
from engine.mixing import Mixer  # noqa: E402
from engine.pipeline import ExplainSettings, factorize  # noqa: E402
from engine.surrogate import SurrogateFit, SurrogateOptions, fit_surrogates  # noqa: E402

CLIP = MODEL_DIR / "audio_example.mp3"
CACHE = ROOT / "bench" / "output" / "musicnn_answers.npz"
MUSICNN_PYTHON = ROOT / ".venv-musicnn" / "bin" / "python"
MODEL, SEPARATOR, SOURCES = "MSD_musicnn", "2stems", 2
SEGMENTS, SAMPLE_RATE, CHANNELS = 6, 16000, 1
BATCH_SIZE, CONCURRENCY = 16, 2  # mixes per request, requests in flight
CHECKPOINT_EVERY = 256  # masks between partial saves (and progress lines)
STARTUP_SECONDS = 300.0  # loading TensorFlow and the checkpoint
FORMAT = 1


class CacheMismatch(Exception):
    """A cache file that is not of this clip, these settings or this format."""


@dataclass(frozen=True, eq=False)
class Answers:
    masks: np.ndarray  # (4096, 12) bool, row m = binary digits of m (component 0 = least significant bit)
    scores: np.ndarray  # (4096, 50) float64: musicnn's answer to each row's mix
    labels: tuple[str, ...]
    components: list[Component]
    clip_sha256: str
    separator: str  # the separator's model id, as a service run reports it
    segments: int
    sample_rate: int
    musicnn_version: str  # "" if the server did not say

    @property
    def original(self) -> np.ndarray:
        """The scores of the all-on mask (the unperturbed clip)."""
        return self.scores[-1]

    def top_tags(self, k: int = 5) -> list[tuple[str, float]]:
        order = np.argsort(-self.original, kind="stable")[:k]
        return [(self.labels[t], float(self.original[t])) for t in order]


def all_masks(n_components: int) -> np.ndarray:
    """Every mask, row m the binary digits of m, component 0 the least significant bit."""
    return (np.arange(2 ** n_components)[:, np.newaxis] >> np.arange(n_components)) & 1 == 1


def rows_of(masks: np.ndarray) -> np.ndarray:
    """The row of each mask in `all_masks` (and so in `Answers.scores`)."""
    masks = np.asarray(masks, dtype=np.int64)
    return masks @ (1 << np.arange(masks.shape[-1], dtype=np.int64))


def exact_fit(answers: Answers, tag: str, options: SurrogateOptions | None = None) -> SurrogateFit:
    """LIME's surrogate with every mask asked once: what sampling converges to, for this kernel."""
    column = answers.labels.index(tag)
    return fit_surrogates(answers.masks, answers.scores[:, [column]], options or SurrogateOptions(),
                          counts=np.ones(len(answers.masks)))[0]


# -- the cache file ----------------------------------------------------------------------


def load(path: Path = CACHE, clip: Path = CLIP, rebuild: bool = True) -> Answers:
    """The cached answers; built (or rebuilt) first when missing or not of this clip and settings."""
    expected = _expected(clip)
    try:
        return _read(path, expected)
    except (FileNotFoundError, CacheMismatch) as exc:
        if not rebuild:
            raise
        print(f"{path}: {exc}; building it", flush=True)
    build(path, clip)
    return _read(path, expected)


def _expected(clip: Path) -> dict:
    from worker.spleeter_separator import SpleeterSeparator  # noqa: PLC0415 - TensorFlow loads only on use

    return {"format": FORMAT, "clip_sha256": hashlib.sha256(clip.read_bytes()).hexdigest(),
            "separator": SpleeterSeparator(MODEL_DIR, SEPARATOR).model_id, "segments": SEGMENTS,
            "sample_rate": SAMPLE_RATE}


def _read(path: Path, expected: dict) -> Answers:
    with np.load(path, allow_pickle=False) as data:
        found = {key: data[key].item() for key in expected}
        if found != expected:
            differing = "; ".join(f"{k} {found[k]!r}, not {expected[k]!r}" for k in expected
                                  if found[k] != expected[k])
            raise CacheMismatch(f"made for {differing}")
        masks, scores = data["masks"].astype(bool), data["scores"]
        if not np.array_equal(masks, all_masks(masks.shape[1])) or scores.shape[0] != len(masks):
            raise CacheMismatch("masks are not every mask in the documented order")
        components = [Component(i, str(s), int(g), float(a), float(b)) for i, (s, g, a, b) in enumerate(
            zip(data["component_source"], data["component_segment"], data["component_start"],
                data["component_end"]))]
        return Answers(masks, scores, tuple(str(t) for t in data["labels"]), components, found["clip_sha256"],
                       found["separator"], found["segments"], found["sample_rate"],
                       str(data["musicnn_version"]))


def _save(path: Path, **arrays) -> None:
    """Write atomically: a crash mid-write leaves the previous file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp.npz")
    np.savez(temporary, **arrays)
    os.replace(temporary, path)


# -- building it -------------------------------------------------------------------------


class Run:
    """One build: the components, the answers so far, checkpoints and progress."""

    def __init__(self, path: Path, clip: Path):
        self.path, self.partial = path, path.with_name(path.stem + ".partial.npz")
        self.meta = _expected(clip)
        waveform, rate = decode(clip.read_bytes())
        self.masks = all_masks(SOURCES * SEGMENTS)
        self.answered = np.zeros(len(self.masks), dtype=bool)
        self.scores, self.labels, self.musicnn_version = None, None, ""
        sources, self.stems = self._resume() or self._separate(waveform, rate)
        factorization = factorize(waveform, rate, sources, ExplainSettings(segments=SEGMENTS))
        if factorization.n_components != self.masks.shape[1]:
            raise RuntimeError(f"{factorization.n_components} components, not {self.masks.shape[1]}")
        self.components = factorization.components
        self.mixer = Mixer(factorization.conform(SAMPLE_RATE, CHANNELS))
        self.started, self.asked, self.saved = time.monotonic(), 0, 0

    def _resume(self):
        """What an interrupted build left: its stems (so the mixes are identical) and answers."""
        from backend.stems import sources_from_flac  # noqa: PLC0415

        if not self.partial.exists():
            return None
        with np.load(self.partial, allow_pickle=False) as data:
            if any(data[key].item() != value for key, value in self.meta.items()):
                print(f"{self.partial} is of another clip or settings: starting afresh", flush=True)
                return None
            stems = {str(n): data[f"stem_{n}"].tobytes() for n in data["stem_names"]}
            self.answered, self.scores = data["answered"], data["scores"]
            self.labels, self.musicnn_version = tuple(str(t) for t in data["labels"]), str(data["musicnn_version"])
        print(f"resuming from {self.partial}: {self.answered.sum()} of {len(self.masks)} masks answered", flush=True)
        return sources_from_flac(stems), stems

    def _separate(self, waveform, rate):
        start = time.monotonic()
        sources, stems = worker_stems(waveform, rate, f"spleeter:{SEPARATOR}")
        print(f"separated the clip into {', '.join(sources.names)} in {time.monotonic() - start:.1f} s", flush=True)
        return sources, stems

    def on_answer(self, rows: list[int], predictions) -> None:
        if self.labels is None:
            self.labels, self.scores = predictions.labels, np.zeros((len(self.masks), len(predictions.labels)))
        if tuple(predictions.labels) != tuple(self.labels):
            raise RuntimeError(f"musicnn's tags changed: {predictions.labels[:3]}… vs {self.labels[:3]}…")
        self.scores[rows], self.answered[rows] = predictions.scores, True
        self.asked += len(rows)
        if self.asked - self.saved >= CHECKPOINT_EVERY:
            self.saved = self.asked
            self.checkpoint()
            self.report()

    def report(self) -> None:
        elapsed, left = time.monotonic() - self.started, int((~self.answered).sum())
        eta = elapsed / self.asked * left if self.asked else float("nan")
        print(f"  {int(self.answered.sum()):5d}/{len(self.masks)} masks  elapsed {_clock(elapsed)}  "
              f"ETA {_clock(eta)}  ({elapsed / max(self.asked, 1):.3f} s per mix)", flush=True)

    def checkpoint(self) -> None:
        _save(self.partial, **self._common(), answered=self.answered, stem_names=np.array(list(self.stems)),
              **{f"stem_{n}": np.frombuffer(b, dtype=np.uint8) for n, b in self.stems.items()})

    def finish(self) -> None:
        if not self.answered.all():
            raise RuntimeError(f"{int((~self.answered).sum())} masks were never answered")
        c = self.components
        _save(self.path, **self._common(), masks=self.masks.astype(np.uint8),
              component_source=np.array([x.source for x in c]), component_segment=np.array([x.segment for x in c]),
              component_start=np.array([x.start for x in c]), component_end=np.array([x.end for x in c]))
        self.partial.unlink(missing_ok=True)

    def _common(self) -> dict:
        return {**{key: np.array(value) for key, value in self.meta.items()}, "scores": self.scores,
                "labels": np.array(self.labels), "musicnn_version": np.array(self.musicnn_version)}


def build(path: Path = CACHE, clip: Path = CLIP) -> dict:
    """Ask musicnn about every mask not answered yet; returns this run's timings and call counts."""
    from backend.tagger.netguard import NetworkPolicy, guarded_session  # noqa: PLC0415

    run = Run(path, clip)
    # All on first: the original's answer (README: rock 0.305…) is the first thing seen.
    rows = [int(r) for r in np.flatnonzero(~run.answered)[::-1]]
    session = guarded_session(NetworkPolicy.from_string("127.0.0.0/8"), pool_maxsize=CONCURRENCY)
    stats = None
    if rows:
        with musicnn_server(path.parent / "musicnn_server.log") as url:
            stats = _ask(run, rows, url, session)
    seconds = time.monotonic() - run.started
    run.report()
    run.finish()
    return {"seconds": seconds, "mixes": run.asked, **(stats.to_dict() if stats else {})}


def _ask(run: Run, rows: list[int], url: str, session):
    from worker.querying import query_masks  # noqa: PLC0415
    from worker.tagger_client.client import TaggerClient  # noqa: PLC0415
    from backend.tagger.spec import TaggerSpec  # noqa: PLC0415

    spec = TaggerSpec(url=url, protocol="oip", options={"model": MODEL}, sample_rate=SAMPLE_RATE,
                      channels=CHANNELS, batch_size=BATCH_SIZE, concurrency=CONCURRENCY, read_timeout=300.0)
    client = TaggerClient(spec, session)
    run.musicnn_version = session.get(f"{url}/v2", timeout=10, allow_redirects=False).json().get("version", "")
    print(f"asking musicnn {run.musicnn_version} at {url} about {len(rows)} masks, {BATCH_SIZE} per request, "
          f"{CONCURRENCY} in flight", flush=True)
    run.started = time.monotonic()
    query_masks(run.mixer, run.masks, rows, client, run.on_answer, keep_going=lambda: True)
    return client.stats


@contextmanager
def musicnn_server(log_path: Path):
    """The real MSD_musicnn tagger in its own venv, on a free loopback port; stopped on exit."""
    if not MUSICNN_PYTHON.is_file():
        raise SystemExit(f"{MUSICNN_PYTHON} is missing: run `make musicnn-venv`")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen([str(MUSICNN_PYTHON), "-m", "taggers.musicnn.server", "--host", "127.0.0.1",
                                    "--port", "0", "--model", MODEL], cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=log, text=True)
        try:
            ready, _, _ = select.select([process.stdout], [], [], STARTUP_SECONDS)
            line = process.stdout.readline() if ready else ""
            if not line.startswith("listening on http://"):
                raise SystemExit(f"musicnn did not start: printed {line!r} (see {log_path})")
            threading.Thread(target=process.stdout.read, daemon=True).start()  # never let its pipe fill
            yield line.split()[-1]
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- the script --------------------------------------------------------------------------


def summary(answers: Answers, run: dict | None) -> None:
    if run:
        http = (f" in {run['requests']} HTTP requests ({run['retries']} retries, {run['errors']} errors)"
                if "requests" in run else "")
        print(f"built in {_clock(run['seconds'])}: {run['mixes']} tagger calls (mixes){http}, "
              f"{run['seconds'] / max(run['mixes'], 1):.3f} s per mix")
    print(f"{len(answers.masks)} masks × {len(answers.labels)} tags; clip sha256 {answers.clip_sha256[:12]}…, "
          f"{answers.separator}, musicnn {answers.musicnn_version or '?'}")
    print("original (all on), top 5: " + ", ".join(f"{t} {s:.4f}" for t, s in answers.top_tags(5)))
    tag = answers.top_tags(1)[0][0]
    fit = exact_fit(answers, tag)
    print(f"exact LIME weights for {tag!r} (every mask once, default SurrogateOptions): intercept "
          f"{fit.intercept:+.5f}, weighted R² {fit.score:.4f}, local prediction {fit.local_prediction:.4f}")
    for component, weight in zip(answers.components, fit.weights):
        print(f"  {component.index:2d}  {component.source:<14s} {component.start:5.2f}-{component.end:5.2f} s  "
              f"{weight:+.5f}")
    top = np.argsort(-fit.weights, kind="stable")[:3]
    print("top 3 components: " + ", ".join(f"{answers.components[i].name} ({fit.weights[i]:+.5f})" for i in top))


def _clock(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "?"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}m{seconds:02d}s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="ask musicnn again even if the cache is valid")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the musicnn server is stopped too
    run = None
    if args.rebuild:
        CACHE.unlink(missing_ok=True)
    if not CACHE.exists():
        run = build()
    answers = load()  # checks the file (and rebuilds it, should it be stale)
    print(f"answers are cached in {CACHE}; the tagger is deterministic, so replaying them is exact "
          f"(to float32 rounding: a mix's scores can move by ~1 ulp, 2e-8, with the batch it was sent in)")
    summary(answers, run)


if __name__ == "__main__":
    main()
