"""Verified parts with the real MSD_musicnn tagger, for each way of switching a segment off.

    make bench-verification      (or PYTHONPATH=. .venv/bin/python bench/verification_bench.py [options])

Two sets of clips: the *tuning* set, on which the searches and the off modes were designed (the
six study clips of bench/study_clips.py and the example clip), and the *judging* set, ten real
30-second excerpts of game soundtracks (bench/real_clips.py) that nothing was tuned on. Every clip
is separated with Spleeter 2stems in this process (FLAC round trip, as the worker does; stems
cached by bench/worker_stems.py) and explained in process by the engine, default
settings (adaptive, about one segment a second up to 10, its top tag, self-check to k = 3), with
the faithfulness checks (10 random draws per k, deletion) for the curves, once per way of switching
off and seed: `silence` everywhere, `cut` everywhere, and `silence/cut` (sampling with silence, the
checks cut: request fields off and check_off). The tagger is the musicnn server (its own virtualenv, Open Inference
Protocol) remembering its answers in bench/output/musicnn-verification-memo.bin: musicnn is
deterministic, so a rerun replays every mix it has heard (printed: hits and misses).

It prints, per clip set and off mode: the share of clips with a verified sufficient set of at
most 3 components and with a verified necessary one, how many of them proven minimal, the calls
each search took beyond the explanation's own (median, max), the explanation's own calls, the
share where the top-3 mix keeps the tag on top (the self-check) and where the mix the page offers
first does (the sufficient set when found, else the top 3), the baseline's confounded share, the
keep and remove curves against random (k = 1…3), and the stability over seeds (the share of clip
pairs of runs whose top-3 sets agree, and of sufficient sets that agree). Per-run records go to
bench/output/verification-bench.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.real_clips import CLIPS as REAL_CLIPS, OUT as REAL_DIR  # noqa: E402
from bench.study_musicnn import CLIPS as STUDY_DIR, NAMES as STUDY_NAMES, start_musicnn  # noqa: E402
from bench.worker_stems import MODEL_DIR, worker_stems  # noqa: E402
from engine.codec import decode  # noqa: E402
from engine.pipeline import explain  # noqa: E402
from engine.settings import ExplainSettings, FaithfulnessSettings  # noqa: E402
from tests.integration.harness import Processes  # noqa: E402

OUT = ROOT / "bench" / "output"
MEMO = OUT / "musicnn-verification-memo.bin"
EXAMPLE = MODEL_DIR / "audio_example.mp3"
MODES = ("silence", "cut", "silence/cut")  # off, or off/check_off
K = 3


def clip_sets() -> dict[str, dict[str, Path]]:
    tuning = {name: STUDY_DIR / f"{name}.wav" for name in STUDY_NAMES}
    tuning["example"] = EXAMPLE
    judging = {name: REAL_DIR / f"{name}.wav" for name in REAL_CLIPS}
    for path in [*tuning.values(), *judging.values()]:
        if not path.is_file():
            raise SystemExit(f"{path} is missing: run `make study-clips real-clips models`")
    return {"tuning": tuning, "judging": judging}


# -- separation, as the worker does it, cached ------------------------------------------------------

def sources_of(path: Path):
    waveform, rate = decode(path.read_bytes())
    return worker_stems(waveform, rate)[0]


# -- one explanation ------------------------------------------------------------------------------

def tagger(url: str):
    from backend.tagger.netguard import NetworkPolicy, guarded_session  # noqa: PLC0415
    from backend.tagger.spec import TaggerSpec  # noqa: PLC0415
    from worker.tagger_client.client import TaggerClient  # noqa: PLC0415

    spec = TaggerSpec(url=url, protocol="oip", options={"model": "MSD_musicnn"}, sample_rate=16000, channels=1,
                      batch_size=16, read_timeout=600.0)
    return TaggerClient(spec, guarded_session(NetworkPolicy.from_string("127.0.0.0/8")))


def run(client, path: Path, sources, off: str, seed: int, budget: int | None) -> dict:
    waveform, rate = decode(path.read_bytes())
    extra = {} if budget is None else {"verification": {"budget": budget}}
    off, _, check_off = off.partition("/")
    settings = ExplainSettings(seed=seed, off=off, check_off=check_off or off, self_check_k=K,
                               faithfulness=FaithfulnessSettings(random_draws=10, deletion=True), **extra)
    result = explain(waveform, rate, client, settings, sources=sources)
    [tag] = result.tags
    stats = result.stats
    own = stats["tagger_calls"] - stats["verification_calls"] - stats["faithfulness_calls"]
    return {"tag": tag.tag, "score": tag.original_score, "own_calls": own, "stop": stats["stop_reason"],
            "verification_calls": stats["verification_calls"], "top3": sorted(tag.ranking()[:K]),
            "self_check": [row.still_top for row in tag.self_check], "sufficient": tag.sufficient,
            "necessary": tag.necessary, "confounded": tag.baseline["confounded"] if tag.baseline else None,
            "baseline_rank": tag.baseline["rank"] if tag.baseline else None,
            "random_keep": tag.faithfulness["random"]["keep"], "random_remove": tag.faithfulness["random"]["remove"],
            "removed_drops": [r["dropped"] for r in tag.faithfulness["remove"]]}


# -- the figures -------------------------------------------------------------------------------------

def share(values) -> str:
    values = list(values)
    return f"{sum(values)}/{len(values)} ({sum(values) / len(values):.0%})" if values else "–"


def spread(values) -> str:
    values = list(values)
    return f"{statistics.median(values):.0f} / {max(values)}" if values else "–"


def part_found(record: dict, part: str) -> bool:
    found = record[part]
    return bool(found and found["found"] and found["size"] <= K)


def trivial(record: dict) -> bool:
    """A sufficient set heard with silence for off while the all-off mix keeps the tag on top (records
    from before the engine said so are judged from the baseline: the top tag's rank on the all-off mix)."""
    found = record["sufficient"] or {}
    if "trivial" in found:
        return bool(found["trivial"])
    return part_found(record, "sufficient") and not record["off"].endswith("cut") and record["baseline_rank"] == 1


def offered_kept(record: dict) -> bool:
    """The page's first mix: the verified sufficient set when there is one, else the top-3 mix."""
    return part_found(record, "sufficient") or (len(record["self_check"]) >= K and record["self_check"][K - 1])


def curve(records: list[dict], field: str) -> str:
    return ", ".join(f"{np.mean([r[field][k] for r in records if len(r[field]) > k]):.0%}" for k in range(K))


def keep_curve(records: list[dict]) -> str:
    return ", ".join(f"{np.mean([r['self_check'][k] for r in records if len(r['self_check']) > k]):.0%}"
                     for k in range(K))


def remove_curve(records: list[dict]) -> str:
    return ", ".join(f"{np.mean([r['removed_drops'][k] for r in records if len(r['removed_drops']) > k]):.0%}"
                     for k in range(K))


def agreement(records: list[dict], key) -> str:
    """The share of pairs of runs of one clip (other seeds) that agree on `key`."""
    pairs = [key(a) == key(b) for clip in {r["clip"] for r in records}
             for a, b in combinations([r for r in records if r["clip"] == clip], 2)]
    return share(pairs) if pairs else "–"


def report(records: list[dict]) -> None:
    print()
    for clip_set in ("tuning", "judging"):
        for mode in MODES:
            rows = [r for r in records if r["set"] == clip_set and r["off"] == mode]
            if not rows:
                continue
            first = [r for r in rows if r["seed"] == min(x["seed"] for x in rows)]
            print(f"== {clip_set} clips ({len({r['clip'] for r in rows})}), off = {mode}, {len(rows)} runs")
            for part in ("sufficient", "necessary"):
                found = [part_found(r, part) for r in rows]
                proven = [part_found(r, part) and r[part]["minimal"] == "proven" for r in rows]
                calls = [r[part]["calls"] for r in rows]
                print(f"  {part:10s} set of ≤ {K} found: {share(found)}, proven minimal {share(proven)}; "
                      f"its calls median / max {spread(calls)}")
            print(f"  sufficient sets not trivial (silence for off while the tagger tags silence so): "
                  f"{share(part_found(r, 'sufficient') and not trivial(r) for r in rows)}")
            print(f"  explanation's own calls median / max {spread(r['own_calls'] for r in rows)}; "
                  f"verification calls (searches + baseline) {spread(r['verification_calls'] for r in rows)}")
            print(f"  top-3 mix keeps the tag on top {share(r['self_check'][-1] for r in first if r['self_check'])}"
                  f"; the page's first mix does {share(offered_kept(r) for r in first)}"
                  f"; confounded by the all-off mix {share(bool(r['confounded']) for r in first)}")
            print(f"  keep k=1..3: top-k {keep_curve(rows)} vs random {curve(rows, 'random_keep')}; "
                  f"remove: top-k drops {remove_curve(rows)} vs random {curve(rows, 'random_remove')}")
            print(f"  stability over seeds: top-3 sets agree {agreement(rows, lambda r: r['top3'])}, "
                  f"sufficient sets agree {agreement(rows, lambda r: (r['sufficient'] or {}).get('components'))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=2, help="seeds per clip and mode (stability needs 2+)")
    parser.add_argument("--sets", default="tuning,judging")
    parser.add_argument("--clips", default=None, help="only these clips (comma-separated names)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--budget", type=int, default=None, help="verification.budget (default: the service's)")
    parser.add_argument("--report", action="store_true", help="print the report of the last run's records")
    parser.add_argument("--resume", action="store_true",
                        help="keep the records already saved and run only the (clip, off, seed) they lack")
    args = parser.parse_args()
    out = OUT / "verification-bench.json"
    if args.report:
        report(json.loads(out.read_text()))
        return
    sets = clip_sets()
    records, started = json.loads(out.read_text()) if args.resume and out.is_file() else [], time.perf_counter()
    done = {(r["clip"], r["off"], r["seed"]) for r in records}
    processes = Processes(OUT)
    try:
        url = start_musicnn(processes, MEMO)
        client = tagger(url)
        for clip_set in args.sets.split(","):
            for name, path in sets[clip_set].items():
                if args.clips and name not in args.clips.split(","):
                    continue
                sources = sources_of(path)
                for off in args.modes.split(","):
                    for seed in range(args.seeds):
                        if (name, off, seed) in done:
                            continue
                        record = run(client, path, sources, off, seed, args.budget)
                        records.append({"set": clip_set, "clip": name, "off": off, "seed": seed, **record})
                        print(f"[{time.perf_counter() - started:6.0f} s] {clip_set:7s} {name:15s} {off:7s} "
                              f"seed {seed}: {record['tag']} {record['own_calls']} calls, sufficient "
                              f"{(record['sufficient'] or {}).get('components')}, necessary "
                              f"{(record['necessary'] or {}).get('components')}", flush=True)
                        out.write_text(json.dumps(records, indent=1))
        memo = client.session.get(url.rstrip("/") + "/stats", timeout=30).json().get("memo")
    finally:
        processes.stop_all()
    report(records)
    print(f"\nmusicnn memo: {memo}; wall {time.perf_counter() - started:.0f} s; records in {out}")


if __name__ == "__main__":
    main()
