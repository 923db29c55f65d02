"""The MSD_musicnn tagger's answers to any mask of the example clip, remembered as they are asked.

bench/musicnn_answers.py asks about every mask of a small layout (2 x 6: 4,096 masks). Finer
layouts have too many masks for that (2 x 10: about a million), so this memo asks musicnn only
about the masks a benchmark actually draws, and keeps each answer in an ignored file
(bench/output/musicnn-memo-<layout>.npz): musicnn is deterministic, so a rerun replays every
mask it has heard and asks only about new ones (hits and misses are printed).

Any clip can be remembered so (MusicnnMemo("3x10", clip=path): its own file, named after the clip).

Layouts: `2x10` (Spleeter 2stems x 10 segments, d' = 20) and `3x10` (spleeter:2stems+hpss:
vocals, harmonic, percussive x 10 segments, d' = 30). The components are built as the worker
builds them (decode, Spleeter's persistent session, HPSS on the accompaniment where asked, stems
round-tripped through FLAC, factorize, conform to 16 kHz mono).

    with MusicnnMemo("2x10") as memo:
        scores = memo.score(masks)      # (n, 50): asks musicnn about the masks not remembered yet
"""
from __future__ import annotations

import hashlib
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.musicnn_answers import BATCH_SIZE, CHANNELS, CLIP, CONCURRENCY, MODEL, SAMPLE_RATE, \
    _save, musicnn_server  # noqa: E402
from bench.worker_stems import worker_stems  # noqa: E402
from engine.codec import decode  # noqa: E402
from engine.mixing import Mixer  # noqa: E402
from engine.pipeline import ExplainSettings, factorize  # noqa: E402

OUT = ROOT / "bench" / "output"
LAYOUTS = {"2x10": ("spleeter:2stems", 10), "3x10": ("spleeter:2stems+hpss", 10)}
SAVE_EVERY = 512  # new answers between saves: an interrupted run keeps what it was told


class MusicnnMemo:
    """musicnn's answers to the example clip's masks in one layout: remembered, or asked once."""

    def __init__(self, layout: str, clip: Path = CLIP):
        self.layout, (self.separator, self.segments) = layout, LAYOUTS[layout]
        # the example clip's memo keeps its first name; any other clip's is named after it too
        suffix = "" if clip == CLIP else f"-{clip.stem}"
        self.path = OUT / f"musicnn-memo-{layout}{suffix}.npz"
        self.clip_sha256 = hashlib.sha256(clip.read_bytes()).hexdigest()
        waveform, rate = decode(clip.read_bytes())
        factorization = factorize(waveform, rate, worker_stems(waveform, rate, self.separator)[0],
                                  ExplainSettings(segments=self.segments))
        self.sources = list(factorization.sources.names)
        self.n_components = factorization.n_components
        self.mixer = Mixer(factorization.conform(SAMPLE_RATE, CHANNELS))
        self.labels: tuple[str, ...] | None = None
        self.rows: dict[bytes, int] = {}
        self.scores = np.zeros((0, 0))
        self.hits = self.misses = self.unsaved = 0  # misses: masks asked so far
        self.asking_seconds = 0.0
        self._load()
        self._stack = ExitStack()
        self._client = None

    def __enter__(self) -> "MusicnnMemo":
        return self

    def __exit__(self, *exc) -> None:
        self.save()
        self._stack.close()

    # -- answers -------------------------------------------------------------------------------
    def score(self, masks: np.ndarray) -> np.ndarray:
        """musicnn's scores of each mask's mix, (n, labels): remembered ones replayed, the rest asked."""
        masks = np.asarray(masks, dtype=bool)
        keys = [np.packbits(m).tobytes() for m in masks]
        new = list(dict.fromkeys(k for k in keys if k not in self.rows))
        self.hits += len(keys) - len(new)
        for start in range(0, len(new), SAVE_EVERY):  # saved as it goes: an interrupted run keeps them
            chunk = new[start:start + SAVE_EVERY]
            self._ask(np.array([np.unpackbits(np.frombuffer(k, np.uint8))[:self.n_components] for k in chunk],
                               dtype=bool), chunk)
            if len(new) > SAVE_EVERY:
                print(f"    asked musicnn {start + len(chunk)} of {len(new)} new masks "
                      f"({self.asking_seconds / self.misses:.3f} s per mix)", flush=True)
        return self.scores[[self.rows[k] for k in keys]]

    def _ask(self, masks: np.ndarray, keys: list[bytes]) -> None:
        from worker.querying import query_masks  # noqa: PLC0415

        client = self._tagger()
        start = len(self.rows)
        for n, key in enumerate(keys):
            self.rows[key] = start + n
        answers: list = [None] * len(keys)

        def on_answer(rows: list[int], predictions) -> None:
            if self.labels is None:
                self.labels = tuple(predictions.labels)
            if tuple(predictions.labels) != self.labels:
                raise RuntimeError("musicnn's tags changed between answers")
            for row, scores in zip(rows, predictions.scores):
                answers[row] = scores

        began = time.monotonic()
        query_masks(self.mixer, masks, list(range(len(masks))), client, on_answer, keep_going=lambda: True)
        self.asking_seconds += time.monotonic() - began
        self.scores = np.vstack([self.scores.reshape(-1, len(self.labels)), answers])
        self.misses += len(keys)
        self.unsaved += len(keys)
        if self.unsaved >= SAVE_EVERY:
            self.save()

    def _tagger(self):
        """A client of a musicnn server started on first need (and stopped with the memo)."""
        if self._client is None:
            from backend.tagger.netguard import NetworkPolicy, guarded_session  # noqa: PLC0415
            from backend.tagger.spec import TaggerSpec  # noqa: PLC0415
            from worker.tagger_client.client import TaggerClient  # noqa: PLC0415

            url = self._stack.enter_context(musicnn_server(OUT / "musicnn_server.log"))
            session = guarded_session(NetworkPolicy.from_string("127.0.0.0/8"), pool_maxsize=CONCURRENCY)
            spec = TaggerSpec(url=url, protocol="oip", options={"model": MODEL}, sample_rate=SAMPLE_RATE,
                              channels=CHANNELS, batch_size=BATCH_SIZE, concurrency=CONCURRENCY, read_timeout=300.0)
            self._client = TaggerClient(spec, session)
        return self._client

    def report(self) -> str:
        asked = f", {self.asking_seconds / self.misses:.3f} s per asked mix" if self.misses else ""
        return (f"musicnn memo {self.layout}: {self.hits} answers replayed, {self.misses} asked{asked} "
                f"({len(self.rows)} remembered in {self.path.relative_to(ROOT)})")

    # -- the file ------------------------------------------------------------------------------
    def _meta(self) -> dict:
        return {"clip_sha256": self.clip_sha256, "layout": self.layout, "n_components": self.n_components}

    def _load(self) -> None:
        if not self.path.is_file():
            return
        with np.load(self.path, allow_pickle=False) as data:
            if any(data[k].item() != v for k, v in self._meta().items()):
                print(f"{self.path} is of another clip or layout: starting afresh", flush=True)
                return
            self.labels = tuple(str(t) for t in data["labels"])
            self.scores = data["scores"]
            self.rows = {bytes(k): n for n, k in enumerate(data["keys"])}

    def save(self) -> None:
        if not self.rows or self.labels is None:
            return
        keys = np.array([np.frombuffer(k, np.uint8) for k in self.rows], dtype=np.uint8)
        _save(self.path, **{k: np.array(v) for k, v in self._meta().items()}, keys=keys, scores=self.scores,
              labels=np.array(self.labels))
        self.unsaved = 0
