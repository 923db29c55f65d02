"""Fairness benchmark: how long one key's explanation waits behind another key's study.

Two runs, the same but for AUDIOLIME_FAIR_TURNS: fair turns (a queue per key, workers take turns
between keys) and the FIFO baseline (one queue for every key, as before issue 17). In each: a
reference tagger (taggers/reference.py, `--delay DELAY` a request), 2 real `rq worker` processes,
the API under gunicorn, one Redis. Key A submits a study of CLIPS short clips (3 s, hpss, 3
segments, 64 fixed samples, the tag `low`, the self-check to k = 3); once the workers are busy
with it, key B submits one explanation of the same kind. Printed per run: B's wait (from its
POST to its run's start, from the job record), the median run of A's study (start to finish),
the wait in those runs, and how many of A's runs started before B's, and before B's was queued.
Fair turns promise: B starts when a worker ends the run it had (a wait of at most about one run);
FIFO: when A's backlog is done (about CLIPS / 2 runs).

Run: make bench-fairness   (or .venv/bin/python bench/fairness_bench.py [--clips 40] [--delay 0.1])
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from backend.config import Settings  # noqa: E402
from backend.connection import connect  # noqa: E402
from backend.store import Store  # noqa: E402
from tests.integration.harness import Api, Processes, start_api, start_tagger, start_worker  # noqa: E402
from tests.integration.test_studies import clips, study_request, submit_study  # noqa: E402

REDIS_URL = os.environ.get("AUDIOLIME_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
KEYS = ("bench-key-a", "bench-key-b")
WORKERS = 2
ENDED = ("finished", "failed", "cancelled")


@dataclasses.dataclass
class Outcome:
    mode: str
    wait: float  # seconds from B's POST to its run's start
    run: float  # median seconds of one of A's runs
    a_before_b: int  # A's runs started before B's
    a_before_queued: int  # A's runs started before B's was queued (counted just after)


def measure(mode: str, fair: bool, args, processes: Processes, tagger_url: str, prefix: str) -> Outcome:
    settings = Settings(redis_url=REDIS_URL, key_prefix=prefix, queue_name=f"{prefix}-queue", api_keys=KEYS,
                        fair_turns=int(fair), quota_active_jobs=0, tagger_allowed_networks="127.0.0.0/8",
                        preload_separators=(), max_study_clips=max(100, args.clips))
    store = Store(connect(REDIS_URL), prefix, settings.result_ttl)
    base = start_api(processes, settings)
    for number in range(WORKERS):
        start_worker(processes, settings, f"{prefix}-w{number}")
    a, b = Api(base, key=KEYS[0]), Api(base, key=KEYS[1])
    backlog = study_backlog(a, args.clips, tagger_url)
    while started(store, backlog) < WORKERS:  # B comes when both workers are busy with A's study
        time.sleep(0.05)
    posted = time.time()
    b_job = b.submit(clips(1)["clip-0.wav"], study_request(tagger_url)).json()["id"]
    a_before_queued = started(store, backlog)
    b.wait(b_job, timeout=3600)
    b_start = store.record(b_job)["started_at"]
    wait_until_ended(a, backlog)
    records = [store.record(job_id) for job_id in backlog]
    runs = [r["finished_at"] - r["started_at"] for r in records if r.get("finished_at")]
    a_before_b = sum(r["started_at"] < b_start for r in records)
    return Outcome(mode, b_start - posted, statistics.median(runs), a_before_b, a_before_queued)


def study_backlog(api: Api, count: int, tagger_url: str) -> list[str]:
    """Submit a study of `count` clips; its explanations' ids, in the order they were queued."""
    return [clip["explanation"] for clip in submit_study(api, clips(count), study_request(tagger_url))["clips"]]


def started(store: Store, job_ids: list[str]) -> int:
    return sum(store.record(job_id).get("started_at") is not None for job_id in job_ids)


def wait_until_ended(api: Api, job_ids: list[str]) -> None:
    for job_id in job_ids:
        api.wait(job_id, until=ENDED, timeout=3600)


def forget(prefix: str) -> None:
    """Delete this run's keys (ours, RQ's of our queues and workers) and its queues from RQ's set."""
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    for registry in ("rq:queues", "rq:workers"):
        for member in client.smembers(registry):
            if prefix.encode() in member:
                client.srem(registry, member)


def report(outcomes: list[Outcome], clips_count: int) -> None:
    print(f"\nKey A: a study of {clips_count} clips; key B, once both workers are busy with it: one explanation.")
    print(f"{'queueing':<34}{'B waits':>10}{'one run':>10}{'in runs':>9}{'A before B':>12}{'(queued)':>10}")
    for o in outcomes:
        print(f"{o.mode:<34}{o.wait:>9.1f}s{o.run:>9.2f}s{o.wait / o.run:>9.1f}{o.a_before_b:>12}"
              f"{o.a_before_queued:>10}")
    print("'A before B': A's runs that started before B's; '(queued)': of those, started before B was queued.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds the tagger waits before each answer")
    args = parser.parse_args()
    outcomes = []
    for mode, fair in (("fair turns (a queue per key)", True), ("FIFO (AUDIOLIME_FAIR_TURNS=0)", False)):
        processes = Processes(Path(tempfile.mkdtemp(prefix="audiolime-fairness-bench-")))
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        try:
            tagger = start_tagger(processes, "--labels", "low,mid,high", "--delay", str(args.delay))
            outcomes.append(measure(mode, fair, args, processes, tagger.url, prefix))
        finally:
            processes.stop_all()  # first: a stopping worker still writes RQ's keys of it
            forget(prefix)
    report(outcomes, args.clips)


if __name__ == "__main__":
    main()
