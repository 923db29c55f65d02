"""How many samples? Adaptive sampling against fixed budgets, on answers whose exact explanation is known.

    PYTHONPATH=. .venv/bin/python bench/sampling_bench.py [--seeds 200] [--cases …]      (make bench-sampling)

--variants runs some of the estimators only (a change to the adjusted estimate leaves the plain and
older rows as they were: the same seeds draw the same masks, and the tagger answers them the same).

Cases, each with a reference explanation:
  musicnn   the real MSD_musicnn tagger on the example clip, 2 sources x 6 segments (d' = 12): all
            4,096 masks were asked once (bench/musicnn_answers.py; cached in bench/output, and the
            tagger is deterministic, so hundreds of simulated runs replay them with no tagger call);
            the reference is LIME's exact answer, the fit on every mask once. Its top tag, and
            its top 3 tags together (musicnn-tags).
  synthetic a cheap nonlinear tagger at 5 sources x 10 segments (d' = 50): tags that need two
            components together, that saturate, that tie; the reference: the adjusted estimate over a
            fixed run of 16,384 (sampled_reference(): four times more precise than the plain fit's).
  example-2x10, example-3x10   the example clip's top tag with musicnn at 2 x 10 (Spleeter 2stems,
            d' = 20) and 3 x 10 (spleeter:2stems+hpss, d' = 30): too many masks to ask them all, so
            musicnn is asked about each mask the runs draw, once (bench/musicnn_memo.py remembers
            them in bench/output: a first run asks about an hour of musicnn per layout, a rerun
            replays); the reference as the synthetic one's. --memo-seeds seeds (10), which
            measure calls, not calibration.
  clips-3x10   ten real recordings nothing was tuned on (bench/real_clips.py; `make real-clips`) at
            3 x 10, each for its own top tag, --clip-seeds runs each (1): does the default converge
            within 512 masks? Each run keeps the default schedule (its looks paid as a full run's) and
            is stopped where it would sample past 512 unconverged; rows pool the clips, each clip is
            printed too. The reference per clip: the adjusted estimate over a fixed run of 2,048
            (its standard errors printed; musicnn answers are remembered per clip as above).
  border    where calibration can be measured (tests/border.py): a tagger linear in 2 x 10 components
            plus noise that no linear surrogate can read (its kernel-weighted linear part projected
            out, so the exact answer, the fit on all 2^20 masks, is the weights themselves), its third
            and fourth weights set at a claim's boundary: 0.02 tolerances apart (a near tie: a tie is right, either order
            is a statement at its boundary) and 1.05 apart (just not a tie: a tie claimed is wrong by
            5 % of a tolerance). Far from every boundary any valid claim is right more often than its
            confidence; here a claim at c that is earned, not overpaid, is right in about c of runs.
For each seed (200 by default: enough to tell a calibration of 0.95 from 1.0, whose 95 % Wilson
interval with 200 of 200 right is [0.981, 1]), adaptive runs with paired draws are made on the same
masks: with LIME's plain fit and the default inference (`sequential`: the claim's statements tested
together from their joint normal law, the looks paid by their crossing chance), with the older one
(`bonferroni`: a union bound over statements, Bonferroni over the 31 looks), with the default
inference and a tolerant claim (`sampling.claim`), and with the regression-adjusted
estimate (`sampling.estimator`, engine/adjustment.py; the adaptive default) for either claim; the
musicnn cases add fixed runs of 2,048. Each is scored against the reference:
  right        the claim holds: the claimed top components are the reference's top ones, up to the
               ties claimed (a tie is right when the reference weights of the tied components are
               within the tolerance), and, when fewer than k are claimed, no other reference weight
               is above the tolerance; a tolerant claim holds when no reference weight left out is
               above a claimed one by more than the reference's tolerance; for fixed runs, which
               claim nothing, the top-3 set equals the reference's
  top-3 set    the run's three largest weights are the reference's three (the same test for all)
  calibration  among runs claiming confidence >= c (0.95; --confidence), the fraction whose claim holds, with its 95 %
               Wilson interval (fixed runs make the same claim at their one look)
  top-1 settled at  the calls after which every tag's top component was certain (the confident prefix)
  self-check   the fraction of the top-k mixes (k = 1..3) on which the tag stays on top of the tagger's scores,
               heard with silence for off (the replayed answers are of silence mixes; the service's checks cut)
Calls are distinct masks, the checks' mixes (self-check, baseline, verified parts) included.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # many small fits: threads only fight over 2 cores

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.musicnn_answers import load, rows_of  # noqa: E402
from engine.components import Factorization  # noqa: E402
from engine.explainer import Explainer, Phase, Query  # noqa: E402
from engine.sampling import SamplingSettings  # noqa: E402
from engine.settings import ExplainSettings  # noqa: E402
from engine.surrogate import SurrogateOptions, fit_surrogates  # noqa: E402
from tests.border import claim_right, layout  # noqa: E402
from engine.tagger import Predictions  # noqa: E402

TOP_K, TOLERANCE, TARGET = 3, 0.1, 0.95
REFERENCE_DRAWS, REFERENCE_SEED = 16384, 10**6  # the finer layouts' reference: one fixed run


@dataclass
class Case:
    name: str
    sources: list[str]
    segments: int
    labels: list[str]
    tags: list[str]  # explained
    score: callable  # masks (n, d') -> scores (n, labels)
    reference: dict  # tag -> reference weights


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
    case.reference = sampled_reference(case)
    return case


def sampled_reference(case: Case, draws: int = REFERENCE_DRAWS) -> dict:
    """Where the masks are too many to ask them all: the regression-adjusted estimate over a fixed
    run of 16,384 independent draws (`draws`). The plain fit of the same draws was the reference until
    2026-12-06, but at d' = 30 its standard errors (musicnn, 3 x 10: 0.0004) are four times the
    adjusted one's (0.0001) and as large as the near-ties the runs must score: it ranked two
    components 0.0003 apart in the order that the adjusted estimates of this run and of 15,488
    other draws both put 0.0011 the other way. Neither estimate is biased against the other: over
    all 30 weights, the two estimators on the two sets of draws differ by 0.90-1.02 of their
    standard errors (root mean square)."""
    from engine.adjustment import adjusted_with_covariance, neighbourhoods  # noqa: PLC0415
    from engine.perturbations import draw_rows  # noqa: PLC0415
    from engine.sampling import MaskStream  # noqa: PLC0415
    from engine.stability import ridge_with_covariance  # noqa: PLC0415
    from engine.surrogate import kernel_weights  # noqa: PLC0415

    d = len(case.sources) * case.segments
    drawn = MaskStream(d, REFERENCE_SEED).first(draws)
    masks, rows = draw_rows(drawn)
    columns = [case.labels.index(t) for t in case.tags]
    options = SurrogateOptions()
    units, scores = np.arange(len(drawn)), case.score(masks)[:, columns]
    kernel = kernel_weights(masks.astype(np.float64), options.kernel_width)
    fit, _ = adjusted_with_covariance(masks, rows, units, scores, kernel, options.alpha, options.kernel_width,
                                      neighbourhoods(len(case.sources), case.segments))
    plain = ridge_with_covariance(masks, rows, units, scores, kernel, options.alpha)  # how much g reads

    def errors(f):
        return [np.sqrt(np.diagonal(c)) for c in f.covariance]

    print(f"  reference: the adjusted estimate over a fixed run of {draws} draws ({len(masks)} distinct masks);"
          f" standard errors by tag, median (largest): " + ", ".join(
              f"{np.median(a):.2g} ({np.max(a):.2g}), the plain fit's {np.median(b):.2g} ({np.max(b):.2g})"
              for a, b in zip(errors(fit), errors(plain))), flush=True)
    return {t: fit.weights[i] for i, t in enumerate(case.tags)}


BORDER_GAPS = (0.02, 1.05)  # tolerances between the third and fourth weights (tests/border.py)


def border_case(gap: float) -> Case:
    from tests.border import LABELS, border_tagger  # noqa: PLC0415

    weights, score = border_tagger(gap, TOLERANCE, REFERENCE_SEED)
    name = f"border, 3rd and 4th {gap} tolerances apart ({'a near tie' if gap < 1 else 'just not a tie'})"
    return Case(name, ["accompaniment", "vocals"], 10, list(LABELS), ["border"], score, {"border": weights})


@dataclass
class Outcome:
    calls: int
    right: bool
    claim_right: bool  # the claim holds (fixed runs claim too, at their one look)
    top3: bool
    confidence: float
    converged: bool
    self_check: float  # the fraction of top-k mixes (k = 1..3) on which the tag stays on top
    first_settled: int | None  # calls when every tag's top component was first settled (the confident prefix)
    converged_at: int  # calls when this tag's claim first reached the target (the run's calls if never)


class OverBudget(Exception):
    """A run about to sample more masks than its budget with a claim still open."""


def run_once(case: Case, factorization: Factorization, seed: int, sampling: SamplingSettings | None,
             samples: int | None, budget: int | None = None) -> list[Outcome]:
    """One seed's run scored against the case's reference. With a budget, the run (the default
    schedule, so its looks are paid as a full run's) is stopped where it would sample past `budget`
    masks unconverged: what a user capped there would get is a claim that did not converge."""
    settings = ExplainSettings(samples=samples, seed=seed, segments=case.segments, tags=tuple(case.tags),
                               sampling=sampling, self_check_k=3)
    explainer = Explainer(factorization, settings)
    calls, first_settled, converged_at = 0, None, {}

    def ask(query: Query) -> Predictions:
        nonlocal calls, first_settled
        if first_settled is None and explainer.claims and all(c.settled for c in explainer.claims):
            first_settled = calls
        for t, claim in enumerate(explainer.claims or ()):
            if claim.converged:
                converged_at.setdefault(t, calls)
        if budget is not None and query.phase is Phase.SAMPLING and calls + len(query.masks) > budget:
            raise OverBudget
        calls += len(query.masks)
        return Predictions(tuple(case.labels), case.score(query.masks))

    try:
        explanation = explainer.run(ask)
    except OverBudget:
        tolerant = sampling is not None and sampling.claim.value == "tolerant"
        return [_open(case, tag, claim, tolerant, calls, first_settled)
                for tag, claim in zip(case.tags, explainer.claims)]
    outcomes = []
    for t, (tag, claim) in enumerate(zip(explanation.tags, explainer.claims)):
        reference = case.reference.get(tag.tag)
        settled = first_settled if first_settled is not None else calls
        at = converged_at.get(t, calls)
        if reference is None:  # no reference for this case: only what it cost
            outcomes.append(Outcome(calls, False, False, False, claim.confidence, claim.converged, 0.0, settled, at))
            continue
        top3 = set(np.argsort(-np.asarray(tag.weights))[:TOP_K]) == set(np.argsort(-reference)[:TOP_K])
        plan = settings.sampling_plan()
        adaptive = plan.strategy.value == "adaptive"
        holds = claim_right(claim, reference, adaptive and plan.claim.value == "tolerant", TOLERANCE)
        right = holds if adaptive else top3
        passes = np.mean([row.still_top for row in tag.self_check]) if tag.self_check else 0.0
        outcomes.append(Outcome(calls, right, holds, top3, claim.confidence, claim.converged, passes, settled, at))
    return outcomes


def _open(case: Case, tag: str, claim, tolerant: bool, calls: int, first_settled: int | None) -> Outcome:
    """A claim still open when the budget ran out: scored as it stands, never converged (its weights
    are not final, so the top-3 set and the self-check are not scored)."""
    holds = claim_right(claim, case.reference[tag], tolerant, TOLERANCE)
    settled = first_settled if first_settled is not None else calls
    return Outcome(calls, holds, holds, False, claim.confidence, False, 0.0, settled, calls)


def wilson(hits: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95 % Wilson interval of a share: with 200 runs all right it is [0.981, 1], so 0.95 and
    1.0 are told apart; with 60 it would be [0.940, 1] and they would not."""
    if n == 0:
        return float("nan"), float("nan")
    share, spread = hits / n, z * z / n
    centre = (share + spread / 2) / (1 + spread)
    half = z * np.sqrt(share * (1 - share) / n + spread / (4 * n)) / (1 + spread)
    return max(0.0, centre - half), min(1.0, centre + half)


def summarise(label: str, outcomes: list[list[Outcome]], has_reference: bool, target: float = TARGET,
              budget: int | None = None) -> dict:
    flat = [o for run in outcomes for o in run]
    sure = [o for o in flat if o.confidence >= target]
    hits = sum(o.claim_right for o in sure)
    low, high = wilson(hits, len(sure))
    converged = [all(o.converged for o in run) for run in outcomes]
    if budget is None:
        calls = np.array([run[0].calls for run in outcomes])
        median, p90 = int(np.median(calls)), int(np.percentile(calls, 90))
    else:  # the sampled masks when the claims converged; runs stopped at the budget count as above it
        at = np.array([max(o.converged_at for o in run) if done else np.inf
                       for run, done in zip(outcomes, converged)])
        median, p90 = (_censored(np.percentile(at, q, method="inverted_cdf"), budget) for q in (50, 90))
    row = {"design": label, "median calls": median, "p90 calls": p90,
           "converged": np.mean(converged),
           "top-1 settled at": int(np.median([run[0].first_settled for run in outcomes])),
           f"claims >= {target}": len(sure) / len(flat)}
    if len(outcomes[0]) > 1:  # several tags: what each one's claim took alone (the slowest sets the run's)
        row["each tag converged at"] = ", ".join(str(int(np.median([run[t].converged_at for run in outcomes])))
                                                 for t in range(len(outcomes[0])))
    if has_reference:
        # a run stopped at the budget has no final weights: its top-3 set and self-check are not scored
        final = flat if budget is None else [o for o in flat if o.converged]
        row.update({"right": np.mean([o.right for o in flat]),
                    "top-3 set": np.mean([o.top3 for o in final]) if final else float("nan"),
                    "calibration": f"{hits / len(sure):.3f} [{low:.3f}, {high:.3f}]" if sure else "–",
                    "self-check": np.mean([o.self_check for o in final]) if final else float("nan")})
    return row


def _censored(calls: float, budget: int):
    return int(calls) if np.isfinite(calls) else f"> {budget}"


def print_table(case: str, rows: list[dict]) -> None:
    print(f"\n{case}: {rows[0]['tags']} x {rows[0]['seeds']} seeds")
    header = [h for h in rows[0] if h not in ("tags", "seeds")]
    print("  " + " | ".join(f"{h:>14}" for h in header))
    for row in rows:
        cells = [row[h] if isinstance(row[h], str) else f"{row[h]:.3f}" if isinstance(row[h], float)
                 else str(row[h]) for h in header]
        print("  " + " | ".join(f"{c:>14}" for c in cells))


def runs(case: Case, factorization: Factorization, seeds: int, sampling: SamplingSettings | None,
         samples: int | None, parallel: bool, budget: int | None = None) -> list[list[Outcome]]:
    """Every seed's run, in seed order; a case whose answers are computed or replayed (no tagger to
    ask) runs on every core, each seed alone as it would run in sequence."""
    global _SHARED
    cores = os.cpu_count() or 1
    if not parallel or cores < 2 or budget is not None:
        return [run_once(case, factorization, seed, sampling, samples, budget) for seed in range(seeds)]
    _SHARED = (case, factorization, sampling, samples)
    with ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(_run_seed, range(seeds), chunksize=max(1, seeds // (8 * cores))))


_SHARED = None  # what forked workers inherit: the case (its answers are a closure, not picklable) and settings


def _run_seed(seed: int) -> list[Outcome]:
    case, factorization, sampling, samples = _SHARED
    return run_once(case, factorization, seed, sampling, samples)


VARIANTS = {  # name: (inference, claim, estimator); "older" is the baseline every ratio is against
    "plain": ("sequential", "strict", "plain"), "older": ("bonferroni", "strict", "plain"),
    "tolerant-plain": ("sequential", "tolerant", "plain"), "default": ("sequential", "strict", "adjusted"),
    "tolerant-adjusted": ("sequential", "tolerant", "adjusted")}


def variant_settings(name: str, target: float) -> SamplingSettings:
    inference, kind, estimator = VARIANTS[name]
    return SamplingSettings(top_k=TOP_K, tolerance=TOLERANCE, confidence=target, design="paired",
                            inference=inference, claim=kind, estimator=estimator)


def variant_label(name: str) -> str:
    inference, kind, estimator = VARIANTS[name]
    return (f"adaptive, {inference}" + (", tolerant" if kind == "tolerant" else "") + f", {estimator}"
            + (" (default)" if name == "default" else ""))


def evaluate(case: Case, seeds: int, fixed: bool, target: float = TARGET, parallel: bool = True,
             variants: tuple[str, ...] = tuple(VARIANTS)) -> list[dict]:
    """Today's default (paired draws, the joint law, looks paid by their crossing chance) against the
    older estimator (union bound, Bonferroni over looks) on the same seeds, hence the same masks."""
    factorization = layout(case.sources, case.segments)
    rows, started = [], time.perf_counter()
    has_reference = bool(case.reference)
    for name in variants:
        outcomes = runs(case, factorization, seeds, variant_settings(name, target), None, parallel)
        rows.append(summarise(variant_label(name), outcomes, has_reference, target))
    if fixed:
        outcomes = runs(case, factorization, seeds, None, 2048, parallel)
        rows.append(summarise("fixed 2048", outcomes, has_reference, target))
    older = rows[variants.index("older")]["median calls"] if "older" in variants else None
    for row in rows:
        row["calls vs older"] = f"{row['median calls'] / older:.2f}x" if older else "(older not run)"
        row.update(tags=", ".join(case.tags), seeds=seeds)
    print_table(case.name, rows)
    print(f"  ({time.perf_counter() - started:.0f} s; " + ("reference top 3: " + "; ".join(
        f"{t}: {list(np.argsort(-w)[:3])}" for t, w in case.reference.items()) if has_reference
        else "no reference: calls and convergence only") + ")", flush=True)
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


def example_case(memo, name: str = "example clip", reference_draws: int = REFERENCE_DRAWS) -> Case:
    """A clip (the example clip, unless named) in a finer layout, its top tag; the reference is
    sampled_reference()'s, every answer musicnn's own (asked once, then replayed from the memo)."""
    original = memo.score(np.ones((1, memo.n_components), dtype=bool))[0]
    labels = list(memo.labels)
    top = labels[int(np.argmax(original))]
    case = Case(f"{name} {memo.layout} ({memo.separator}), top tag", memo.sources, memo.segments, labels,
                [top], memo.score, {})
    case.reference = sampled_reference(case, reference_draws)
    print("  " + memo.report(), flush=True)
    return case


CLIP_BUDGET, CLIP_REFERENCE_DRAWS = 512, 2048


def evaluate_clips(clips: list[Path], seeds: int, target: float, variants: tuple[str, ...],
                   budget: int = CLIP_BUDGET, reference_draws: int = CLIP_REFERENCE_DRAWS) -> list[dict]:
    """Clips nothing was tuned on (bench/real_clips.py) at 3 x 10, each for its own top tag: how many
    runs of each estimator converge within `budget` masks (the default schedule, stopped there), and
    whether their claims hold. Every clip's runs are pooled into one row per estimator; each clip is
    printed too. The reference per clip is a fixed run of `reference_draws` (musicnn's answers to it
    are most of the cost: about an hour and three quarters for ten clips on a fresh machine, then
    a minute or two replayed)."""
    from bench.musicnn_memo import MusicnnMemo  # noqa: PLC0415

    pooled, started = {name: [] for name in variants}, time.perf_counter()
    for clip in clips:
        with MusicnnMemo("3x10", clip=clip) as memo:
            case = example_case(memo, clip.stem, reference_draws)
            factorization = layout(case.sources, case.segments)
            reference = case.reference[case.tags[0]]
            order = np.argsort(-reference)
            tau = TOLERANCE * np.max(np.abs(reference))
            print(f"  {clip.stem}: {case.tags[0]}; reference top 4 {list(order[:4])} at "
                  f"{', '.join(f'{reference[i]:.4f}' for i in order[:4])} (tolerance {tau:.4f})", flush=True)
            for name in variants:
                outcomes = runs(case, factorization, seeds, variant_settings(name, target), None, False, budget)
                pooled[name] += outcomes
                print(f"    {name}: converged at " + ", ".join(
                    str(run[0].converged_at) if run[0].converged else f">{budget}" for run in outcomes)
                    + f"; right {sum(run[0].right for run in outcomes)} of {len(outcomes)}", flush=True)
            print("  " + memo.report(), flush=True)
    rows = [summarise(variant_label(name), pooled[name], True, target, budget) for name in variants]
    for row in rows:
        row.update(tags="each clip's top tag", seeds=f"{len(clips)} clips x {seeds}")
        row["calls vs older"] = "(within the budget)"
    print_table(f"{len(clips)} real clips at 3 x 10 (spleeter:2stems+hpss), converged within {budget} masks", rows)
    print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=200, help="seeds of the replayed cases (calibration)")
    parser.add_argument("--memo-seeds", type=int, default=10,
                        help="seeds of the example-clip layouts, whose new masks musicnn must be asked about")
    parser.add_argument("--cases", default="musicnn,musicnn-tags,synthetic,border,example-2x10,example-3x10,"
                                           "clips-3x10")
    parser.add_argument("--clips", type=int, default=10, help="how many of the real clips clips-3x10 takes (10)")
    parser.add_argument("--clip-seeds", type=int, default=1, help="seeds per real clip (clips-3x10)")
    parser.add_argument("--border-seeds", type=int, default=1000,
                        help="seeds of the border cases (1,000: a calibration of 0.95 has a Wilson interval "
                             "about +-0.013, enough to place it between c and c + 0.04)")
    parser.add_argument("--confidence", type=float, default=TARGET, help="the claims' confidence c (0.95)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="the estimators to run, of " + ", ".join(VARIANTS) + " (all: the table's ratios "
                             "are against `older`, so leave it in where they are quoted)")
    args = parser.parse_args(argv)
    print(__doc__.split("\n\n")[1])
    cases, target, variants = args.cases.split(","), args.confidence, tuple(args.variants.split(","))
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {', '.join(sorted(unknown))}; use some of {', '.join(VARIANTS)}")
    if "musicnn" in cases:
        evaluate(musicnn_case(), args.seeds, fixed=True, target=target, variants=variants)
    if "musicnn-tags" in cases:
        evaluate(musicnn_case(3), args.seeds, fixed=True, target=target, variants=variants)
    if "synthetic" in cases:
        evaluate(synthetic_case(), args.seeds, fixed=False, target=target, variants=variants)
    if "border" in cases:
        for gap in BORDER_GAPS:
            evaluate(border_case(gap), args.border_seeds, fixed=False, target=target, variants=variants)
    if "clips-3x10" in cases:
        from bench.real_clips import paths  # noqa: PLC0415

        missing = [p for p in paths() if not p.is_file()]
        if missing:
            raise SystemExit(f"{missing[0]} is missing: run `make real-clips`")
        evaluate_clips(paths()[:args.clips], args.clip_seeds, target, variants)
    for finer in ("2x10", "3x10"):
        if f"example-{finer}" in cases:
            from bench.musicnn_memo import MusicnnMemo

            with MusicnnMemo(finer) as memo:
                evaluate(example_case(memo), args.memo_seeds, fixed=False, target=target, parallel=False,
                         variants=variants)
                print("  " + memo.report(), flush=True)


if __name__ == "__main__":
    main()
