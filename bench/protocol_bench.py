"""Tagger protocols benchmark: bytes on the wire, and throughput against the tagger's own maximum.

1. Bytes per 30 s clip (16 kHz mono) for each protocol and encoding, from the
   requests the client really builds.
2. For each protocol, against test servers that all score clips with the same
   band-level tagger (tests/servers, taggers/reference.py): the tagger's own
   maximum throughput — a direct load generator replaying one prepared request
   at its best concurrency — and the throughput the worker's query loop reaches
   (mixing, encoding and sending through TaggerClient), in clips/s, and their ratio;
   the concurrency is chosen first, then each is measured three times, alternating,
   over runs of about 8 s, and the best of each kept.
   The taggers run on one core and this process (load generator, worker) on the
   other, as a tagger and a worker would on two machines: on a shared pair of cores
   the worker's mixing and encoding would take CPU from the tagger it measures.

Run: make bench-protocols   (or .venv/bin/python bench/protocol_bench.py)
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from engine.components import Factorization  # noqa: E402
from engine.mixing import Mixer  # noqa: E402
from engine.perturbations import perturb  # noqa: E402
from engine.segments import equal_segments  # noqa: E402
from engine.sources import Sources  # noqa: E402
from tests.integration.harness import Processes  # noqa: E402
from tests.servers.top_labels import LABELS as TOP_LABELS  # noqa: E402
from worker.querying import query_masks  # noqa: E402
from worker.tagger_client.client import TaggerClient  # noqa: E402
from backend.tagger.netguard import NetworkPolicy, guarded_session  # noqa: E402
from backend.tagger.spec import TaggerSpec  # noqa: E402

RATE, SECONDS, MIXES, CONCURRENCIES, REPEATS = 16000, 30, 96, (1, 2, 4), 3
RUN_SECONDS, MAX_CLIPS = 8, 1024
CORES = sorted(os.sched_getaffinity(0))
TAGGER_CORES, CLIENT_CORES = {CORES[-1]}, set(CORES[:-1]) or {CORES[-1]}
LABELS = ["low", "mid", "high", "loud"]


def mixer() -> Mixer:
    rng = np.random.default_rng(0)
    n = SECONDS * RATE
    t = np.arange(n) / RATE
    stems = {"bass": 0.3 * np.sin(2 * np.pi * 110 * t), "noise": 0.05 * rng.standard_normal(n),
             "tone": 0.2 * np.sin(2 * np.pi * 3000 * t)}
    sources = Sources.from_mapping(stems, RATE)
    return Mixer(Factorization(sources, equal_segments(n, RATE, 10)))


def specs(urls: dict[str, str]) -> dict[str, TaggerSpec]:
    return {
        "json (wav16)": TaggerSpec(url=urls["json"]),
        "json (flac)": TaggerSpec(url=urls["json"], encoding="flac"),
        "oip binary": TaggerSpec(url=urls["oip"], protocol="oip", options={"model": "bands", "binary": True,
                                                                            "binary_output": True}),
        "oip JSON": TaggerSpec(url=urls["oip"], protocol="oip",
                               options={"model": "bands", "binary": False, "binary_output": False}),
        "kserve_v1 samples": TaggerSpec(url=urls["kserve"], protocol="kserve_v1", options={"labels": LABELS}),
        "kserve_v1 b64 wav16": TaggerSpec(url=urls["kserve"], protocol="kserve_v1",
                                          options={"labels": LABELS, "input": "b64_wav"}),
        "file_upload (wav16)": _upload(urls["upload"], "wav16"),
        "file_upload (flac)": _upload(urls["upload"], "flac"),
        "file_upload raw (wav16)": _raw(urls["raw"], "wav16"),
        "file_upload raw (flac)": _raw(urls["raw"], "flac"),
    }


def _upload(url: str, encoding: str) -> TaggerSpec:
    return TaggerSpec(url=url, protocol="file_upload", encoding=encoding, headers={"X-Api-Key": "bench"},
                      options={"scores_path": "result.tags", "field": "audio_file", "form": {"model": "genre-v2"},
                               "name_key": "label", "score_key": "confidence"})


def _raw(url: str, encoding: str) -> TaggerSpec:
    """The clip as the whole body, Hugging Face audio classification's way (top 5 of 8 labels answered)."""
    return TaggerSpec(url=url, protocol="file_upload", encoding=encoding, headers={"Authorization": "Bearer bench"},
                      options={"body": "raw", "scores_path": "@", "name_key": "label", "score_key": "score",
                               "labels": list(TOP_LABELS)})


def start_servers(processes: Processes) -> dict[str, str]:
    commands = {"json": ["taggers.reference"], "oip": ["tests.servers.oip"], "kserve": ["tests.servers.kserve_v1"],
                "upload": ["tests.servers.commercial_api", "--api-key", "bench", "--rps", "100000"],
                "raw": ["tests.servers.huggingface", "--token", "bench"]}
    paths = {"json": "/predict", "oip": "", "kserve": "/v1/models/bands:predict", "upload": "/v1/analyze",
             "raw": "/models/audiolime/bands"}
    urls = {}
    for name, (module, *options) in commands.items():
        child = subprocess.Popen([sys.executable, "-m", module, "--port", "0", *options], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 preexec_fn=lambda: os.sched_setaffinity(0, TAGGER_CORES))
        processes.children.append(child)
        urls[name] = child.stdout.readline().decode().split()[-1] + paths[name]
    return urls


def best_concurrency(client: TaggerClient, mixes: np.ndarray) -> int:
    """The concurrency at which the tagger answers one replayed request fastest."""
    return max(CONCURRENCIES, key=lambda concurrency: direct(client, mixes, concurrency, MIXES))


def direct(client: TaggerClient, mixes: np.ndarray, concurrency: int, clips: int) -> float:
    """Clips/s of one prepared request replayed back to back: the tagger's maximum."""
    batch = client.encode(mixes[: client.spec.batch_size])
    rounds = max(2, clips // (len(batch.owners) * concurrency))
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda _: client.exchange(batch.outgoing), range(rounds * concurrency)))
    return rounds * concurrency * len(batch.owners) / (time.perf_counter() - start)


def through_worker(spec: TaggerSpec, session, the_mixer: Mixer, masks: np.ndarray, concurrency: int) -> float:
    client = TaggerClient(TaggerSpec(**{**spec.__dict__, "concurrency": concurrency}), session)
    start = time.perf_counter()
    query_masks(the_mixer, masks, list(range(len(masks))), client, lambda rows, p: None, lambda: True)
    return len(masks) / (time.perf_counter() - start)


def _clips_for(rate: float) -> int:
    """Enough clips for a run of about RUN_SECONDS: short runs are at the mercy of any hiccup."""
    return int(min(MAX_CLIPS, max(MIXES, rate * RUN_SECONDS)) // 16 * 16)


def main() -> None:
    os.sched_setaffinity(0, CLIENT_CORES)
    processes = Processes(Path(tempfile.mkdtemp(prefix="audiolime-protocols-")))
    session = guarded_session(NetworkPolicy.from_string("127.0.0.0/8"), pool_maxsize=8)
    the_mixer = mixer()
    masks = perturb(the_mixer.factorization.n_components, MAX_CLIPS, seed=0).unique
    mixes = the_mixer.mix(masks[:16])
    try:
        urls = start_servers(processes)
        print("bytes on the wire per 30 s clip (16 kHz mono), request body:")
        for name, spec in specs(urls).items():
            client = TaggerClient(spec, session)
            batch = client.encode(mixes[: spec.batch_size])
            print(f"  {name:24s} {len(batch.outgoing.body) / len(batch.owners) / 1e6:6.2f} MB")
        print("throughput, clips/s (30 s clips): tagger's maximum (direct, best concurrency) vs through the worker")
        for name, spec in specs(urls).items():
            client = TaggerClient(spec, session)
            concurrency = best_concurrency(client, mixes)
            clips = _clips_for(direct(client, mixes, concurrency, MIXES))
            maximum = reached = 0.0
            for _ in range(REPEATS):  # alternated, best of each: a passing load spike hits both alike
                maximum = max(maximum, direct(client, mixes, concurrency, clips))
                reached = max(reached, through_worker(spec, session, the_mixer, masks[:clips], concurrency))
            print(f"  {name:24s} max {maximum:6.1f} (concurrency {concurrency}), worker {reached:6.1f} "
                  f"-> {reached / maximum:.0%}   ({clips} clips a run)")
    finally:
        processes.stop_all()


if __name__ == "__main__":
    main()
