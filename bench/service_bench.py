"""Service benchmark: end to end through API + worker vs the in-process engine, and polling latency.

Both runs explain the same 30 s clip (the example clip looped), with Spleeter
2stems × 10 segments, 2,048 samples, against the same reference tagger (a real
HTTP server on loopback), measured in the same run:
  * in-process: separation (persistent session) + engine steps + the tagger client, batch by batch;
  * service: POST /explanations → an RQ worker → poll until finished (the API under gunicorn).
Then 20 concurrent clients poll GET /explanations/{id} of the finished job.

Run: make bench-service   (or .venv/bin/python bench/service_bench.py)
"""
from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402

from bench.worker_stems import MODEL_DIR  # noqa: E402
from engine.codec import decode, encode  # noqa: E402
from engine.pipeline import ExplainSettings, explain  # noqa: E402
from tests.integration.harness import Processes, start_api, start_tagger, start_worker  # noqa: E402
from backend.config import Settings  # noqa: E402
from worker.tagger_client.client import TaggerClient  # noqa: E402
from backend.tagger.netguard import NetworkPolicy, guarded_session  # noqa: E402
from backend.tagger.spec import TaggerSpec  # noqa: E402

SECONDS, SEGMENTS, SAMPLES, BATCH, POLLERS, POLLS_EACH = 30, 10, 2048, 16, 20, 100
REDIS_URL = os.environ.get("AUDIOLIME_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def clip_bytes() -> bytes:
    waveform, rate = decode((MODEL_DIR / "audio_example.mp3").read_bytes())
    looped = np.concatenate([waveform] * (-(-SECONDS * rate // len(waveform))))[: SECONDS * rate]
    return encode(looped, rate, "flac")


def in_process(audio: bytes, tagger_url: str) -> float:
    from worker.spleeter_separator import SpleeterSeparator

    separator = SpleeterSeparator(MODEL_DIR, "2stems")
    separator.load()  # a worker loads the model at start, not per job
    waveform, rate = decode(audio)
    spec = TaggerSpec(url=tagger_url, batch_size=BATCH)
    client = TaggerClient(spec, guarded_session(NetworkPolicy.from_string("127.0.0.0/8")))
    start = time.perf_counter()
    explain(waveform, rate, client, ExplainSettings(samples=SAMPLES, segments=SEGMENTS, batch_size=BATCH),
            separator=separator)
    return time.perf_counter() - start


def through_service(audio: bytes, tagger_url: str, base: str) -> tuple[float, str]:
    request = {"tagger": {"url": tagger_url, "batch_size": BATCH}, "segments": SEGMENTS, "samples": SAMPLES}
    start = time.perf_counter()
    response = requests.post(f"{base}/explanations", files={"audio": ("clip.flac", audio),
                                                            "request": (None, json.dumps(request))}, timeout=60)
    response.raise_for_status()
    job_id = response.json()["id"]
    while True:
        body = requests.get(f"{base}/explanations/{job_id}", timeout=10).json()
        if body["stage"] in ("finished", "failed"):
            break
        time.sleep(0.1)
    elapsed = time.perf_counter() - start
    if body["stage"] != "finished":
        raise SystemExit(f"service run failed: {body['error']}")
    return elapsed, job_id


def poll_latencies(host: str, port: int, path: str, interval: float) -> list[float]:
    """POLLERS keep-alive clients on asyncio streams, each waiting `interval` s between polls
    (0: back to back). Light enough that the latencies are the server's, not the client's."""
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()

    async def client(number: int) -> list[float]:
        reader, writer = await asyncio.open_connection(host, port)
        await asyncio.sleep(interval * number / POLLERS)  # spread the clients over the interval
        latencies = []
        for _ in range(POLLS_EACH):
            await asyncio.sleep(interval)
            start = time.perf_counter()
            writer.write(request)
            headers = await reader.readuntil(b"\r\n\r\n")
            if not headers.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"poll failed: {headers[:80]!r}")
            length = int(next(line.split(b":")[1] for line in headers.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
        writer.close()
        return latencies

    async def all_clients() -> list[float]:
        results = await asyncio.gather(*(client(number) for number in range(POLLERS)))
        return [latency for latencies in results for latency in latencies]

    return asyncio.run(all_clients())


def main() -> None:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(redis_url=REDIS_URL, key_prefix=prefix, queue_name=f"{prefix}-queue", model_dir=MODEL_DIR,
                        tagger_allowed_networks="127.0.0.0/8")
    processes = Processes(Path(tempfile.mkdtemp(prefix="audiolime-bench-")))
    try:
        tagger = start_tagger(processes)
        start_worker(processes, settings, f"{prefix}-worker", timeout=180)
        base = start_api(processes, settings)
        audio = clip_bytes()
        engine_seconds = in_process(audio, tagger.url)
        service_seconds, job_id = through_service(audio, tagger.url, base)
        print(f"end to end, 30 s clip, 2stems x {SEGMENTS} segments, {SAMPLES} samples, reference tagger: "
              f"service {service_seconds:.1f} s, in-process engine {engine_seconds:.1f} s "
              f"-> ratio {service_seconds / engine_seconds:.2f}")
        for interval, label in ((0.1, "each polling every 100 ms"), (0.0, "back to back (saturation)")):
            start = time.perf_counter()
            latencies = sorted(poll_latencies("127.0.0.1", urlsplit(base).port, f"/explanations/{job_id}", interval))
            rate = len(latencies) / (time.perf_counter() - start)
            p50, p95 = statistics.median(latencies), latencies[int(0.95 * len(latencies)) - 1]
            print(f"GET /explanations/{{id}} (finished job), {POLLERS} clients {label}: {rate:.0f} requests/s, "
                  f"p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
    finally:
        processes.stop_all()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


if __name__ == "__main__":
    main()
