"""A study of the real MSD_musicnn tagger over six freely licensed clips: its faithfulness curve.

    make bench-study-musicnn   (or PYTHONPATH=. .venv/bin/python bench/study_musicnn.py [--no-memo])
    PYTHONPATH=. .venv/bin/python bench/study_musicnn.py --render   (the figure again, from the saved report)

The clips are bench/study_clips.py's (rock, metal, pop, jazz, electronic, classical; 15 s each,
composed here and rendered with FluidSynth, CC0; run it first). This script starts the stack
pieces a study needs — Redis on database 10 of the machine's server (or AUDIOLIME_BENCH_REDIS_URL;
only this run's keys are touched), 2 `rq worker` processes, the API under gunicorn, and the
musicnn tagger (its own `.venv-musicnn`, Open Inference Protocol) — and submits one study of the
six clips through POST /studies:

  separator `spleeter:2stems+hpss` (vocals, and the accompaniment split into harmonic and
  percussive) × 5 segments = 15 components; each clip's own top tag (`targets: {"top_k": 1}`);
  adaptive sampling capped at 512 masks (`max_samples`); the self-check to k = 3; comparisons:
  10 random draws of k positive components per k (kept alone, and removed) and the whole study
  again with SLIME's frequency bands (`slime`, the paper's comparison).

The tagger remembers its answers (taggers/musicnn/memo.py) in bench/output/musicnn-study-memo.bin:
musicnn is deterministic, so a rerun with the same seeds answers every mix it has seen from that
file (about 30 minutes for the first run on 2 cores, a few for a rerun); a mix that differs by one
bit goes to the model. --no-memo asks the model about everything. The hits and misses are printed.

It prints progress while the study runs, saves the study document (report included) to
bench/output/study-musicnn.json, and prints each clip's explanation, the report's per-tag source
shares and faithfulness rows, the same rows pooled over all clips (each clip with its own top
tag; computed here with the service's own backend.study_report from the clips' explanations),
and the tagger calls and wall time. It also writes bench/output/study-musicnn.png (the report, one
row per tag) and study-musicnn-pooled.png (the pooled rows: the curve over all six clips, which
`make bench-study-musicnn` copies to docs/study-musicnn.png for the README).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import requests  # noqa: E402

from bench.worker_stems import MODEL_DIR  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.study_report import build_report  # noqa: E402
from tests.integration.harness import Processes, start_api, start_worker  # noqa: E402

CLIPS = ROOT / "bench" / "output" / "study-clips"
NAMES = ("rock", "metal", "pop", "jazz", "electronic", "classical")
OUT = ROOT / "bench" / "output" / "study-musicnn.json"
MEMO = ROOT / "bench" / "output" / "musicnn-study-memo.bin"
MUSICNN_PYTHON = ROOT / ".venv-musicnn" / "bin" / "python"
REDIS_URL = os.environ.get("AUDIOLIME_BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
WORKERS, STARTUP_SECONDS, ENDED = 2, 300, ("finished", "failed", "cancelled")


def study_request(tagger_url: str, max_samples: int, random_draws: int) -> dict:
    return {"tagger": {"url": tagger_url, "protocol": "oip", "options": {"model": "MSD_musicnn"},
                       "sample_rate": 16000, "channels": 1, "batch_size": 8},
            "separator": "spleeter:2stems+hpss", "segments": 5,
            "sampling": {"strategy": "adaptive", "max_samples": max_samples},
            "targets": {"top_k": 1}, "self_check_k": 3,
            "comparisons": {"random": random_draws, "separator": "slime"}}


# -- the stack -------------------------------------------------------------------------------------

def start_musicnn(processes: Processes, memo: Path | None) -> str:
    """The musicnn tagger from its own virtualenv; its base URL once the model is loaded."""
    log = open(processes.logs / "musicnn.log", "wb")  # noqa: SIM115 - closed with the child
    remember = [] if memo is None else ["--memo", str(memo)]
    child = subprocess.Popen([str(MUSICNN_PYTHON), "-m", "taggers.musicnn.server", "--host", "127.0.0.1",
                              "--port", "0", *remember], cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                             stdout=subprocess.PIPE, stderr=log)
    processes.children.append(child)
    ready, _, _ = select.select([child.stdout], [], [], STARTUP_SECONDS)
    line = child.stdout.readline().decode().strip() if ready else ""
    if not line.startswith("listening on "):
        raise SystemExit(f"the musicnn tagger did not start: {line!r}; see {log.name}")
    threading.Thread(target=child.stdout.read, daemon=True).start()  # keep its pipe drained
    return line.split()[-1]


# -- the study -------------------------------------------------------------------------------------

def submit(base: str, request: dict, names: list[str]) -> dict:
    files = [("request", ("request.json", json.dumps(request), "application/json"))]
    for name in names:
        files.append(("clips", (f"{name}.wav", (CLIPS / f"{name}.wav").read_bytes(), "audio/wav")))
    response = requests.post(f"{base}/studies", files=files, timeout=120)
    if response.status_code != 202:
        raise SystemExit(f"POST /studies: {response.status_code} {response.text[:1000]}")
    return response.json()


def wait(base: str, study_id: str, start: float) -> dict:
    """Polls until every job has ended, printing the progress whenever it moves (at most every 10 s)."""
    last, printed = None, 0.0
    while True:
        body = requests.get(f"{base}/studies/{study_id}", timeout=60).json()
        progress = body["progress"]
        now = time.perf_counter() - start
        line = (f"{body['status']:9s} clips {progress['done']}/{progress['total']} ended "
                f"({progress['failed']} failed), tagger calls {progress['tagger_calls']['done']}"
                f"/{progress['tagger_calls']['total']}")
        if body["status"] in ENDED or (line != last and now - printed >= 10):
            print(f"[{int(now) // 60:02d}:{int(now) % 60:02d}] {line}", flush=True)
            last, printed = line, now
        if body["status"] in ENDED:
            return body
        time.sleep(1.0)


def explanation(base: str, job_id: str | None) -> dict | None:
    if job_id is None:
        return None
    response = requests.get(f"{base}/explanations/{job_id}", timeout=60)
    response.raise_for_status()
    return response.json()


def pooled(documents: list[tuple[str, dict, dict | None]], k_max: int) -> dict:
    """The report over all clips as one group: each clip explained its own top tag."""
    def relabelled(result: dict) -> dict:
        result = copy.deepcopy(result)
        for tag in result["tags"]:
            tag["tag"] = "each clip's top tag"
        return result

    main = [{"clip": c, "result": relabelled(d["result"])} for c, d, _ in documents if d["stage"] == "finished"]
    compared = [{"clip": c, "result": relabelled(o["result"])} for c, _, o in documents
                if o is not None and o["stage"] == "finished"]
    return build_report(main, compared, k_max=k_max)


# -- printing --------------------------------------------------------------------------------------

def _pct(value) -> str:
    return "   –" if value is None else f"{value:4.0%}"


def print_clips(documents: list[tuple[str, dict, dict | None]]) -> None:
    print("clip             top tag (score)               masks  stopped (confidence)  R²     self-check k=1,2,3 "
          "still top   slime: top tag, masks, still top")
    for clip, document, other in documents:
        if document["stage"] != "finished":
            print(f"{clip:16s} {document['stage']}: {(document.get('error') or {}).get('detail')}")
            continue
        print(f"{clip:16s} {_clip_line(document)}   slime: {_clip_line(other, short=True)}")


def _clip_line(document: dict | None, short: bool = False) -> str:
    if document is None or document["stage"] != "finished":
        return "–" if document is None else document["stage"]
    result = document["result"]
    [tag] = result["tags"]
    stats = result["stats"]
    kept = ",".join("yes" if row["still_top"] else "no" for row in tag.get("self_check") or [])
    if short:
        return f"{tag['tag']}, {stats['samples']}, {kept}"
    confidence = (tag.get("stability") or {}).get("confidence")
    stopped = f"{stats.get('stop_reason', '')} ({'–' if confidence is None else format(confidence, '.2f')})"
    return (f"{tag['tag'] + ' (' + format(tag['original_score'], '.3f') + ')':29s} {stats['samples']:5d}  "
            f"{stopped:20s}  {tag['score']:5.2f}  {kept}")


def print_tag(row: dict) -> None:
    shares = ", ".join(f"{name} {share:.0%} [{q[0]:.0%}–{q[2]:.0%}]" for (name, share), q in
                       zip(row["source_shares"].items(), row["source_share_quartiles"].values()))
    print(f"“{row['tag']}” ({row['clips']} clip{'s' if row['clips'] != 1 else ''}): "
          f"source shares of the positive weight, median [quartiles]: {shares or 'none'}")
    print("   k  kept/clips  share [95 % interval]  random_share  comparison_share (slime)  dropped_share  "
          "random_dropped_share")
    for f in row["faithfulness"]:
        interval = "" if f["share_interval"] is None else \
            f"[{f['share_interval'][0]:.0%}–{f['share_interval'][1]:.0%}]"
        comparison = _pct(f["comparison_share"]) + f" of {f['comparison_clips']}"
        dropped = _pct(f["dropped_share"]) + f" of {f['deletion_clips']}"
        print(f"  {f['k']:2d}  {f['kept']:4d}/{f['clips']:<5d}  {_pct(f['share'])} {interval:13s}       "
              f"{_pct(f['random_share'])}  {comparison:>24s}  {dropped:>13s}  {_pct(f['random_dropped_share']):>20s}")


def print_summary(study: dict, documents, wall: float) -> None:
    report = study["report"]
    print()
    print_clips(documents)
    print()
    print("report, per tag:")
    for row in report["tags"]:
        print_tag(row)
    print()
    print("pooled over all clips (each clip's own top tag):")
    for row in pooled(documents, study["request"].get("self_check_k", 3))["tags"]:
        print_tag(row)
    calls = report["calls"]
    print()
    print(f"tagger calls: {study['progress']['tagger_calls']['done']} in all: the explanations "
          f"{calls['explanations']} (the faithfulness checks' {calls['faithfulness']} included), the slime "
          f"comparison {calls['comparison']}; wall time {wall:.0f} s ({wall / 60:.1f} min), submission to report")


def render_figure(saved: dict, documents, path: Path) -> None:
    """The report's figure (one row per tag), and the pooled report's (one row: every clip)."""
    from backend.study_figure import render  # noqa: PLC0415 - matplotlib: only when drawing
    comparison = saved["request"]["comparisons"].get("separator")
    path.write_bytes(render(saved["report"], "png", comparison=comparison))
    pooled_path = path.with_name(path.stem + "-pooled.png")
    pooled_path.write_bytes(render(pooled(documents, saved["request"].get("self_check_k", 3)), "png",
                                   comparison=comparison))
    print(f"wrote {path} and {pooled_path}")


# -- the run ---------------------------------------------------------------------------------------

def run(args) -> None:
    missing = [name for name in args.clips if not (CLIPS / f"{name}.wav").is_file()]
    if missing:
        raise SystemExit(f"missing clips {missing} in {CLIPS}: run bench/study_clips.py (make study-clips)")
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = Settings(redis_url=REDIS_URL, key_prefix=prefix, queue_name=f"{prefix}-queue",
                        model_dir=MODEL_DIR,
                        tagger_allowed_networks="127.0.0.0/8")
    processes = Processes(Path(tempfile.mkdtemp(prefix="audiolime-study-musicnn-")))
    print(f"logs in {processes.logs}", flush=True)
    try:
        tagger = start_musicnn(processes, None if args.no_memo else MEMO)
        for n in range(WORKERS):
            start_worker(processes, settings, f"{prefix}-w{n}", timeout=STARTUP_SECONDS)
        base = start_api(processes, settings)
        request = study_request(tagger, args.max_samples, args.random)
        print(f"musicnn at {tagger}, {WORKERS} workers, API at {base}; request: {json.dumps(request)}", flush=True)
        start = time.perf_counter()
        submitted = submit(base, request, args.clips)
        print(f"study {submitted['id']}: {len(args.clips)} clips", flush=True)
        study = wait(base, submitted["id"], start)
        wall = time.perf_counter() - start
        memo = requests.get(f"{tagger}/stats", timeout=30).json().get("memo")
        documents = [(c["clip"], explanation(base, c["explanation"]), explanation(base, c["comparison"]))
                     for c in study["clips"]]
        saved = {**study, "wall_seconds": wall, "memo": memo,
                 "explanations": {c: d for c, d, _ in documents},
                 "comparisons": {c: o for c, _, o in documents if o is not None}}
        args.out.write_text(json.dumps(saved, indent=1))
        print(f"saved {args.out}")
        print_summary(study, documents, wall)
        print(f"the tagger's memo: {memo['hits']} answers replayed from {MEMO.name}, {memo['misses']} asked of "
              f"the model ({memo['size']} remembered)" if memo else "the tagger's memo: off (--no-memo)")
        render_figure(study, documents, args.out.with_suffix(".png"))
    finally:
        processes.stop_all()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"*{prefix}*"):  # ours, and RQ's keys of our queue and workers
            client.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--render", action="store_true", help="only print and draw the saved report again")
    parser.add_argument("--clips", nargs="+", default=list(NAMES), choices=NAMES, metavar="NAME")
    parser.add_argument("--max-samples", type=int, default=512)
    parser.add_argument("--random", type=int, default=10, help="random draws per k (comparisons.random)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-memo", action="store_true", help=f"ask the model about every mix (no {MEMO.name})")
    args = parser.parse_args()
    if args.render:
        saved = json.loads(args.out.read_text())
        documents = [(c["clip"], saved["explanations"][c["clip"]], saved["comparisons"].get(c["clip"]))
                     for c in saved["clips"]]
        print_summary(saved, documents, saved["wall_seconds"])
        render_figure(saved, documents, args.out.with_suffix(".png"))
        return
    run(args)


if __name__ == "__main__":
    main()
