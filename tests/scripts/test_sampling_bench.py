"""The sampling benchmark's budgeted runs (bench/sampling_bench.py, `clips-3x10`): a run stopped at
a budget asks no mask past it and says it did not converge; a budget it never reaches changes nothing."""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from bench.sampling_bench import border_case, run_once, variant_settings  # noqa: E402
from tests.border import layout  # noqa: E402


def _border():
    case = border_case(0.02)  # a near tie: the default claim needs several hundred masks
    return case, layout(case.sources, case.segments)


def test_a_budget_stops_the_run_unconverged_before_it_samples_past_it():
    case, factorization = _border()
    asked = []
    score = case.score
    case.score = lambda masks: asked.append(len(masks)) or score(masks)
    [outcome] = run_once(case, factorization, 0, variant_settings("default", 0.95), None, budget=192)
    assert not outcome.converged and outcome.confidence < 0.95
    assert outcome.calls == sum(asked) <= 192
    assert outcome.converged_at == outcome.calls  # censored where it stopped


def test_a_budget_never_reached_changes_nothing():
    case, factorization = _border()
    settings = variant_settings("tolerant-adjusted", 0.95)
    free = run_once(case, factorization, 1, settings, None)
    [budgeted] = run_once(case, factorization, 1, settings, None, budget=free[0].converged_at)
    assert free[0].converged and budgeted.converged
    assert budgeted == free[0]
