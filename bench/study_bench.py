"""Study benchmark: one study of short clips with 1, 2 and 4 workers, against a tagger of fixed capacity.

Each run submits the same study — CLIPS synthetic 4 s clips (a bass tone, a mid chord and clicks,
different in each clip), separator `hpss` (model-free, so no Spleeter load time; about 0.1 s a
clip), 2 sources × 5 segments, 128 fixed samples, the tag `low`, the self-check to k = 3 — through
POST /studies (the API under gunicorn) to k real `rq worker` processes on one Redis, and times it
from the POST to the study's report. Printed: clips per minute, the speed-up over one worker and
its ratio to ideal (k×), the share of the tagger's own maximum throughput the workers kept busy,
and the machine's CPU use during the run.

The tagger: SLOTS reference taggers (taggers/reference.py), each with `--delay DELAY`, behind a
tiny proxy of this module's own (`python -m bench.study_bench --proxy URL,URL,…`) that gives each
request to a free tagger and holds it there until it answers: every tagger serves one request at
a time, as a tagger process without threads does (musicnn, or one GPU replica), and the whole
serves SLOTS at once — the reference tagger "with several processes". A study has one tagger URL,
so the proxy is what spreads its requests. Why the fixed latency: this machine has 2 cores,
shared by the workers, the API, Redis and the tagger. A CPU-bound tagger would be saturated by
one worker, and adding workers would only take CPU from it; with a fixed latency per request
(a remote tagger's model time) the tagger's capacity is SLOTS × batch / DELAY whatever the
CPU, and what more workers add is measurable: each keeps `concurrency` (2) requests in flight,
so 4 workers can fill 8 slots. What the workers still need CPU for (separation, mixing and
encoding, fitting, the self-check) and what the proxy and taggers need is shown as "CPU busy".

The tagger's maximum is measured as bench/protocol_bench.py measures it, in the same run before
and after the studies (the best kept): a direct load generator replaying one prepared request of
`batch` clips through the proxy, at concurrency SLOTS and 2·SLOTS, the best. "Tagger busy" is the
clips the taggers answered during a run over its wall time, as a share of that maximum; "slots
busy" is the time the proxy held a tagger, over SLOTS × wall time (the two differ by the proxy's
own forwarding time). "Stack CPU" is the cores this bench's processes used during a run (the
taggers, the proxy, the API, the workers and this process; not Redis), "machine CPU busy" the
whole machine's use, whatever else runs on it.

Run: make bench-study   (or .venv/bin/python bench/study_bench.py [--clips 16] [--slots 8] [--delay 0.5])
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402

from backend.config import Settings  # noqa: E402
from backend.tagger.netguard import NetworkPolicy, guarded_session  # noqa: E402
from backend.tagger.spec import TaggerSpec  # noqa: E402
from tests.integration.harness import (Processes, start_api, start_module_server, start_tagger,  # noqa: E402
                                       start_worker, wav_bytes)
from worker.tagger_client.client import TaggerClient  # noqa: E402

RATE, SECONDS, SEGMENTS, SAMPLES, BATCH, CONCURRENCY = 16000, 4.0, 5, 128, 16, 2
WORKER_COUNTS = (1, 2, 4)
CORES = os.cpu_count()
REDIS_URL = os.environ.get("AUDIOLIME_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
ENDED = ("finished", "failed", "cancelled")


# -- the proxy: SLOTS one-request-at-a-time taggers behind one URL ------------------------------

class Upstream:
    """One tagger and one keep-alive connection to it; used by one request at a time."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def forward(self, method: str, path: str, body: bytes, headers: dict) -> tuple[int, str, bytes]:
        for attempt in (1, 2):  # a keep-alive connection the tagger closed is opened again, once
            try:
                self.connection.request(method, path, body, headers)
                response = self.connection.getresponse()
                return response.status, response.getheader("Content-Type", ""), response.read()
            except (http.client.HTTPException, OSError):
                self.connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, upstreams: list[str]):
        super().__init__(address, ProxyHandler)
        self.free: queue.Queue[Upstream] = queue.Queue()
        for url in upstreams:
            self.free.put(Upstream(url))
        self.lock = threading.Lock()
        self.busy_seconds, self.requests = 0.0, 0


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Proxy

    def log_message(self, *args) -> None:  # one line per request would cost more than the forwarding
        pass

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/stats":
            with self.server.lock:
                self.reply(200, "application/json", json.dumps(
                    {"busy_seconds": self.server.busy_seconds, "requests": self.server.requests}).encode())
        else:
            self.reply(404, "text/plain", b"not found")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = self.server.free.get()  # waits for a free tagger: the capacity is the number of taggers
        start = time.perf_counter()
        try:
            status, content_type, answer = upstream.forward(
                "POST", self.path, body, {"Content-Type": self.headers.get("Content-Type", "")})
        except (http.client.HTTPException, OSError) as exc:
            status, content_type, answer = 502, "text/plain", f"upstream: {exc}".encode()
        finally:
            held = time.perf_counter() - start
            self.server.free.put(upstream)
        with self.server.lock:
            self.server.busy_seconds += held
            self.server.requests += 1
        self.reply(status, content_type, answer)

    def reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_proxy(upstreams: list[str], port: int) -> None:
    with Proxy(("127.0.0.1", port), upstreams) as server:
        print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
        server.serve_forever()


# -- the study ---------------------------------------------------------------------------------------

def clip(i: int) -> bytes:
    """A 4 s clip: a bass tone, a mid chord from 1 s to 3 s, clicks; pitches and rates vary by clip."""
    t = np.arange(int(SECONDS * RATE)) / RATE
    bass = 0.3 * np.sin(2 * np.pi * (55 + 5 * i) * t) * np.clip(np.sin(np.pi * t / SECONDS) * 2, 0, 1)
    chord = sum(0.08 * np.sin(2 * np.pi * f * (1 + 0.02 * i) * t) for f in (440.0, 554.4, 659.3))
    wave = bass + chord * ((t >= 1.0) & (t < 3.0))
    wave[::int(RATE * (0.125 + 0.01 * i))] += 0.6
    return wav_bytes(wave.astype(np.float32)[:, None], RATE)


def study_files(clips: int, tagger_url: str) -> list:
    request = {"tagger": {"url": tagger_url, "sample_rate": RATE, "batch_size": BATCH, "concurrency": CONCURRENCY},
               "separator": "hpss", "segments": SEGMENTS, "samples": SAMPLES, "targets": {"tags": ["low"]},
               "self_check_k": 3}
    files = [("request", ("request.json", json.dumps(request), "application/json"))]
    return files + [("clips", (f"clip-{i:02d}.wav", clip(i), "audio/wav")) for i in range(clips)]


def run_study(base: str, files: list) -> tuple[float, dict]:
    start = time.perf_counter()
    response = requests.post(f"{base}/studies", files=files, timeout=120)
    if response.status_code != 202:
        raise SystemExit(f"POST /studies: {response.status_code} {response.text[:500]}")
    study_id = response.json()["id"]
    while True:
        body = requests.get(f"{base}/studies/{study_id}", timeout=30).json()
        if body["status"] in ENDED:
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - start
    if body["status"] != "finished" or body["progress"]["failed"]:
        raise SystemExit(f"study {study_id} {body['status']}: {[c['error'] for c in body['clips'] if c['error']]}")
    requests.delete(f"{base}/studies/{study_id}", timeout=30)  # the next run starts from an empty store
    return elapsed, body


# -- measuring ---------------------------------------------------------------------------------------

def cpu_times() -> tuple[int, int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat, and the CPU jiffies of this
    process and its descendants (the taggers, the proxy, the API, the workers; not Redis)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values), _tree_jiffies()


def _tree_jiffies() -> int:
    parents, used = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # it ended meanwhile
                continue
            parents[int(entry.name)] = int(fields[1])
            used[int(entry.name)] = int(fields[11]) + int(fields[12])  # utime + stime
    ours, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in ours]
        ours.update(children)
        frontier += children
    return sum(used[pid] for pid in ours if pid in used)


def tagger_maximum(proxy_url: str, slots: int) -> tuple[float, int]:
    """Clips/s of one prepared request replayed through the proxy, at its best concurrency."""
    session = guarded_session(NetworkPolicy.from_string("127.0.0.0/8"), pool_maxsize=4 * slots)
    client = TaggerClient(TaggerSpec(url=proxy_url, sample_rate=RATE, batch_size=BATCH), session)
    t = np.arange(int(SECONDS * RATE)) / RATE
    mixes = np.stack([0.3 * np.sin(2 * np.pi * (55 + 5 * i) * t) for i in range(BATCH)])[:, :, None]
    batch = client.encode(mixes.astype(np.float32))

    def rate(concurrency: int) -> float:
        rounds = 4
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda _: client.exchange(batch.outgoing), range(rounds * concurrency)))
        return rounds * concurrency * len(batch.owners) / (time.perf_counter() - start)

    rates = {concurrency: rate(concurrency) for concurrency in (slots, 2 * slots)}
    best = max(rates, key=rates.get)
    return max(rates[best], rate(best)), best


def tagger_clips(taggers) -> int:
    return sum(tagger.stats()["clips"] for tagger in taggers)


def proxy_busy(proxy_url: str) -> float:
    return requests.get(proxy_url + "/stats", timeout=5).json()["busy_seconds"]


# -- the run -----------------------------------------------------------------------------------------

def measure(args, processes: Processes, settings: Settings, base: str, proxy_url: str, taggers) -> None:
    files = study_files(args.clips, proxy_url + "/predict")
    maximum, best = tagger_maximum(proxy_url + "/predict", args.slots)
    rows = []
    for count in WORKER_COUNTS:
        workers = [start_worker(processes, settings, f"{settings.key_prefix}-{count}w{n}") for n in range(count)]
        clips_before, busy_before, cpu_before = tagger_clips(taggers), proxy_busy(proxy_url), cpu_times()
        wall, study = run_study(base, files)
        cpu_after = cpu_times()
        answered = tagger_clips(taggers) - clips_before
        rows.append({"workers": count, "wall": wall, "answered": answered,
                     "calls": study["progress"]["tagger_calls"]["done"],
                     "slots_busy": (proxy_busy(proxy_url) - busy_before) / (args.slots * wall),
                     "cpu": (cpu_after[0] - cpu_before[0]) / (cpu_after[1] - cpu_before[1]),
                     "stack_cpu": (cpu_after[2] - cpu_before[2]) / os.sysconf("SC_CLK_TCK") / wall})
        for worker in workers:  # warm shutdown: each leaves RQ's registry before the next run starts
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    again, best_again = tagger_maximum(proxy_url + "/predict", args.slots)
    if again > maximum:
        maximum, best = again, best_again
    report(args, rows, maximum, best)


def report(args, rows: list[dict], maximum: float, best: int) -> None:
    calls = rows[0]["calls"]
    print(f"study of {args.clips} clips of {SECONDS:g} s (16 kHz mono), separator hpss (model-free; no Spleeter), "
          f"2 sources x {SEGMENTS} segments, {SAMPLES} fixed samples + self-check k<=3: {calls} tagger calls a study")
    print(f"tagger: {args.slots} reference taggers, each one request at a time with --delay {args.delay:g} s, behind "
          f"one proxy; batch {BATCH}, each worker {CONCURRENCY} requests in flight")
    print(f"tagger's own maximum (one prepared request of {BATCH} clips replayed, concurrency {best}): "
          f"{maximum:.1f} clips/s, enough for {maximum * 60 / (calls / args.clips):.0f} study clips/min")
    print()
    print(f"workers  clips  wall s  clips/min  speed-up  ratio to ideal  tagger busy  slots busy  "
          f"stack CPU (of {CORES} cores)  machine CPU busy")
    first = rows[0]["wall"]
    for row in rows:
        speed_up = first / row["wall"]
        tagger_rate = row["answered"] / row["wall"]
        print(f"{row['workers']:7d}  {args.clips:5d}  {row['wall']:6.1f}  {args.clips * 60 / row['wall']:9.1f}  "
              f"{speed_up:7.2f}x  {speed_up / row['workers']:14.0%}  {tagger_rate / maximum:11.0%}  "
              f"{row['slots_busy']:10.0%}  {row['stack_cpu']:22.2f}  {row['cpu']:16.0%}")
    print()
    print(f"what limits scaling: the tagger's {args.slots} slots, of which each worker fills at most {CONCURRENCY}; "
          "per clip, the steps where a worker has nothing in flight (separation, fitting, the self-check's "
          "one request, job start and end); the last clips, when fewer are left than workers; and the "
          f"{CORES} cores that the workers, the API, Redis, the proxy and the taggers share with each other "
          "(and with whatever else runs on the machine): the fixed --delay keeps the tagger's capacity "
          "out of that contest; a CPU-bound tagger on these cores would compete with the workers for them, "
          "and the speed-up would measure that contest, not the workers.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--slots", type=int, default=8, help="taggers behind the proxy, one request at a time each")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds each tagger waits before answering")
    parser.add_argument("--proxy", default=None, help=argparse.SUPPRESS)  # the proxy's own process
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.proxy:
        serve_proxy(args.proxy.split(","), args.port)
        return
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(redis_url=REDIS_URL, key_prefix=prefix, queue_name=f"{prefix}-queue",
                        tagger_allowed_networks="127.0.0.0/8", preload_separators=(),
                        max_study_clips=max(100, args.clips))
    processes = Processes(Path(tempfile.mkdtemp(prefix="audiolime-study-bench-")))
    try:
        taggers = [start_tagger(processes, "--delay", str(args.delay)) for _ in range(args.slots)]
        proxy_url, _ = start_module_server(processes, "bench.study_bench", "--proxy",
                                           ",".join(tagger.base for tagger in taggers))
        base = start_api(processes, settings)
        measure(args, processes, settings, base, proxy_url, taggers)
    finally:
        processes.stop_all()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{prefix}*"):  # ours, and RQ's keys of our queue and workers
            client.delete(key)


if __name__ == "__main__":
    main()
