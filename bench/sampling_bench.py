"""How many samples? Adaptive sampling against fixed budgets, on answers whose exact explanation is known.

    PYTHONPATH=. .venv/bin/python bench/sampling_bench.py [--seeds 60]      (make bench-sampling)

Two cases, each with a reference explanation:
  musicnn   the real MSD_musicnn tagger on the example clip, 2 sources x 6 segments (d' = 12): all
            4,096 masks were asked once (bench/musicnn_answers.py; cached in bench/output, and the
            tagger is deterministic, so hundreds of simulated runs replay them with no tagger call);
            the reference is LIME's exact answer, the fit on every mask once.
  synthetic a cheap nonlinear tagger at 5 sources x 10 segments (d' = 50): tags that need two
            components together, that saturate, that tie; the reference is a fixed run of 16,384.
For each of many seeds, runs of `adaptive` (paired and independent draws) and of `fixed` (at
adaptive's median number of calls, and at 2,048) are scored against the reference:
  right        the claim holds: the claimed top components are the reference's top ones, up to the
               ties claimed (a tie is right when the reference weights of the tied components are
               within the tolerance), and, when fewer than k are claimed, no other reference weight
               is above the tolerance; for fixed runs, which claim nothing, the top-3 set equals the
               reference's
  top-3 set    the run's three largest weights are the reference's three (the same test for all)
  calibration  among runs claiming confidence >= 0.95, the fraction whose claim holds (target: >= 0.95;
               fixed runs make the same claim at their one look)
  self-check   the fraction of the top-k mixes (k = 1..3) on which the tag stays on top of the tagger's scores
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # many small fits: threads only fight over 2 cores

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.musicnn_answers import load, rows_of  # noqa: E402
from engine.components import Factorization  # noqa: E402
from engine.explainer import Explainer, Query  # noqa: E402
from engine.sampling import SamplingSettings  # noqa: E402
from engine.segments import equal_segments  # noqa: E402
from engine.settings import ExplainSettings  # noqa: E402
from engine.sources import Sources  # noqa: E402
from engine.tagger import Predictions  # noqa: E402

TOP_K, TOLERANCE, TARGET = 3, 0.1, 0.95


@dataclass
class Case:
    name: str
    sources: list[str]
    segments: int
    labels: list[str]
    tags: list[str]  # explained
    score: callable  # masks (n, d') -> scores (n, labels)
    reference: dict  # tag -> reference weights


def layout(sources: list[str], segments: int) -> Factorization:
    """Silent sources of the case's layout: the explainer needs components, not audio, here."""
    rate, n = 1000, 1000 * segments
    stems = Sources.from_mapping({s: np.zeros((n, 1), np.float32) for s in sources}, rate)
    return Factorization(stems, equal_segments(n, rate, segments), 0.0)


def musicnn_case(n_tags: int = 1) -> Case:
    """The tagger's top tag (the service's default target), or its top `n_tags` explained together."""
    answers = load()
    tags = [answers.labels[i] for i in np.argsort(-answers.original)[:n_tags]]
    case = Case(f"musicnn, top {n_tags} tag{'s' if n_tags > 1 else ''}", ["vocals", "accompaniment"], 6,
                list(answers.labels), tags,
                lambda masks: answers.scores[rows_of(masks)], {})
    everything = np.ones((len(answers.masks), 1), dtype=np.int64)
    case.reference = reference_weights(case, answers.masks, everything[:, 0])
    return case


def reference_weights(case: Case, masks: np.ndarray, counts: np.ndarray) -> dict:
    from engine.surrogate import SurrogateOptions, fit_surrogates

    columns = [case.labels.index(t) for t in case.tags]
    fits = fit_surrogates(masks, case.score(masks)[:, columns], SurrogateOptions(), counts=counts)
    return {t: f.weights for t, f in zip(case.tags, fits)}


SYNTHETIC_SOURCES = ["vocals", "drums", "bass", "piano", "other"]


def synthetic_score(masks: np.ndarray) -> np.ndarray:
    """Tags with a known shape over 5 x 10 components (index = source * 10 + segment)."""
    m = masks.astype(np.float64)
    on = lambda source, segment: m[:, SYNTHETIC_SOURCES.index(source) * 10 + segment]  # noqa: E731
    drums = m[:, 10:20].sum(axis=1)
    duet = 0.5 * on("vocals", 3) * on("drums", 3) + 0.25 * on("bass", 5) + 0.01 * m[:, 30:40].sum(axis=1)
    groove = 1 / (1 + np.exp(-(drums - 5) / 1.5)) + 0.15 * on("bass", 2) * on("drums", 2)
    chorus = 0.2 * (on("piano", 1) + on("piano", 2) + on("piano", 3)) + 0.1 * on("vocals", 1) * on("vocals", 2)
    # a deterministic wobble, as a real tagger's nonlinearity adds to any linear reading of it
    wobble = 0.02 * np.sin(m @ np.arange(1, 51, dtype=np.float64))
    return np.column_stack([duet + wobble, groove + wobble, chorus + wobble, 0.3 + wobble])


def synthetic_case() -> Case:
    case = Case("synthetic", SYNTHETIC_SOURCES, 10, ["duet", "groove", "chorus", "flat"],
                ["duet", "groove", "chorus"], synthetic_score, {})
    from engine.sampling import MaskStream
    from engine.perturbations import _deduplicate

    drawn = _deduplicate(MaskStream(50, 10**6).first(16384))
    case.reference = reference_weights(case, drawn.unique, drawn.counts)
    return case


@dataclass
class Outcome:
    calls: int
    right: bool
    claim_right: bool  # the claim holds (fixed runs claim too, at their one look)
    top3: bool
    confidence: float
    converged: bool
    self_check: float  # the fraction of top-k mixes (k = 1..3) on which the tag stays on top


def run_once(case: Case, factorization: Factorization, seed: int, sampling: SamplingSettings | None,
             samples: int | None) -> list[Outcome]:
    settings = ExplainSettings(samples=samples, seed=seed, segments=case.segments, tags=tuple(case.tags),
                               sampling=sampling, self_check_k=3)
    explainer = Explainer(factorization, settings)
    calls = 0

    def ask(query: Query) -> Predictions:
        nonlocal calls
        calls += len(query.masks)
        return Predictions(tuple(case.labels), case.score(query.masks))

    explanation = explainer.run(ask)
    outcomes = []
    for tag, claim in zip(explanation.tags, explainer.claims):
        reference = case.reference[tag.tag]
        top3 = set(np.argsort(-np.asarray(tag.weights))[:TOP_K]) == set(np.argsort(-reference)[:TOP_K])
        adaptive = settings.sampling_plan().strategy.value == "adaptive"
        holds = claim_right(claim, reference)
        right = holds if adaptive else top3
        passes = np.mean([row.still_top for row in tag.self_check]) if tag.self_check else 0.0
        outcomes.append(Outcome(calls, right, holds, top3, claim.confidence, claim.converged, passes))
    return outcomes


def claim_right(claim, reference: np.ndarray) -> bool:
    tau = TOLERANCE * float(np.max(np.abs(reference)))
    claimed, tied = set(claim.claimed), set(claim.tied)
    ranked = list(np.argsort(-reference, kind="stable"))
    truth = set(ranked[:len(claimed)])
    if not (claimed - tied) <= truth <= (claimed | tied):
        return False
    if any(abs(reference[i] - reference[j]) > tau for i, j in claim.tie_pairs):
        return False
    if len(claimed) < claim.top_k:  # the claim says no other component matters
        return all(reference[j] <= tau for j in range(len(reference)) if j not in claimed)
    return True


def summarise(label: str, outcomes: list[list[Outcome]]) -> dict:
    flat = [o for run in outcomes for o in run]
    calls = np.array([run[0].calls for run in outcomes])
    sure = [o for o in flat if o.confidence >= TARGET]
    row = {"design": label, "median calls": int(np.median(calls)), "p90 calls": int(np.percentile(calls, 90)),
           "right": np.mean([o.right for o in flat]), "top-3 set": np.mean([o.top3 for o in flat]),
           "claims >= 0.95": len(sure) / len(flat),
           "calibration": np.mean([o.claim_right for o in sure]) if sure else float("nan"),
           "self-check": np.mean([o.self_check for o in flat])}
    return row


def print_table(case: str, rows: list[dict]) -> None:
    print(f"\n{case}: {rows[0]['tags']} x {rows[0]['seeds']} seeds")
    header = ["design", "median calls", "p90 calls", "right", "top-3 set", "claims >= 0.95", "calibration",
              "self-check"]
    print("  " + " | ".join(f"{h:>14}" for h in header))
    for row in rows:
        cells = [row[h] if isinstance(row[h], str) else f"{row[h]:.3f}" if isinstance(row[h], float)
                 else str(row[h]) for h in header]
        print("  " + " | ".join(f"{c:>14}" for c in cells))


def evaluate(case: Case, seeds: int) -> list[dict]:
    factorization = layout(case.sources, case.segments)
    rows = []
    started = time.perf_counter()
    for design in ("paired", "independent"):
        sampling = SamplingSettings(top_k=TOP_K, tolerance=TOLERANCE, confidence=TARGET, design=design)
        outcomes = [run_once(case, factorization, seed, sampling, None) for seed in range(seeds)]
        rows.append(summarise(f"adaptive {design}", outcomes))
    budget = rows[0]["median calls"]
    matched = draws_for_calls(case, budget)
    for label, samples in ((f"fixed, {budget} calls (paired's median)", matched), ("fixed 2048", 2048)):
        outcomes = [run_once(case, factorization, seed, None, samples) for seed in range(seeds)]
        rows.append(summarise(label, outcomes))
    for row in rows:
        row.update(tags=", ".join(case.tags), seeds=seeds)
    print_table(case.name, rows)
    print(f"  ({time.perf_counter() - started:.0f} s; reference top 3: "
          + "; ".join(f"{t}: {list(np.argsort(-w)[:3])}" for t, w in case.reference.items()) + ")")
    return rows


def draws_for_calls(case: Case, calls: int) -> int:
    """The fixed sample count whose distinct masks (the calls; draws repeat at small d') match `calls`."""
    from engine.perturbations import perturb

    d = len(case.sources) * case.segments
    low, high = 2, 1 << 16
    while low < high:
        middle = (low + high) // 2
        if len(perturb(d, middle, 0).unique) + 3 < calls:  # + the self-check's few masks
            low = middle + 1
        else:
            high = middle
    return low


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=60)
    parser.add_argument("--case", choices=("musicnn", "synthetic", "both"), default="both")
    args = parser.parse_args(argv)
    print(__doc__.split("\n\n")[1])
    if args.case in ("musicnn", "both"):
        evaluate(musicnn_case(), args.seeds)
        evaluate(musicnn_case(3), args.seeds)
    if args.case in ("synthetic", "both"):
        evaluate(synthetic_case(), args.seeds)


if __name__ == "__main__":
    main()
