"""Where the truth sits at a claim's boundary, the whole adaptive loop (its looks, the claim chosen
from the data, the statements' joint law) is wrong no more often than its confidence allows.

Far from every boundary a valid claim is right almost always, whatever it pays; at the boundary
a wrong claim is a fair coin weighted 1 − c, so this is where validity is tested (the benchmark's
border cases measure how close to c it gets over 1,000 seeds: bench/sampling_bench.py).
"""
import pytest

from engine.explainer import Explainer
from engine.sampling import SamplingSettings
from engine.settings import ExplainSettings
from engine.tagger import Predictions
from tests.border import LABELS, border_tagger, claim_right, layout

SEEDS, TOLERANCE = 100, 0.1


def claims_at_the_border(gap: float, **sampling) -> list:
    weights, score = border_tagger(gap, TOLERANCE)
    components, out = layout(["accompaniment", "vocals"], 10), []
    for seed in range(SEEDS):
        settings = ExplainSettings(seed=seed, segments=10, tags=("border",), self_check_k=0,
                                   sampling=SamplingSettings(tolerance=TOLERANCE, **sampling))
        explainer = Explainer(components, settings)
        explainer.run(lambda query: Predictions(LABELS, score(query.masks)))
        out.append(explainer.claims[0])
    return weights, out


@pytest.mark.parametrize("gap, estimator", [(0.02, "plain"), (1.05, "plain"), (0.02, "adjusted")],
                         ids=["near-tie", "just-not-a-tie", "near-tie-adjusted"])
def test_a_claim_at_its_boundary_is_wrong_no_more_often_than_its_confidence_allows(gap, estimator):
    """0.02 tolerances apart, either order of the third and fourth is a statement at its boundary;
    1.05 apart, a tie is. Every run converges at 0.95, and at most 9 of 100 are wrong (more than 9 of
    100 has a chance under 3 % if the truth is 5 %; measured: 6 and 3, and 5 with the adjusted
    estimate, whose pairs find nothing in this noise to read). Paying for one look instead of the
    schedule's 31 is wrong in 20 and 16 of the same 100."""
    weights, claims = claims_at_the_border(gap, estimator=estimator)
    assert all(c.converged and c.confidence >= 0.95 for c in claims)
    assert len(claims[0].claimed) == 3
    wrong = sum(not claim_right(c, weights, tolerance=TOLERANCE) for c in claims)
    assert wrong <= 9, f"{wrong} of {SEEDS} claims at 0.95 wrong"


def test_a_tolerant_claim_at_its_boundary_is_wrong_no_more_often_than_its_confidence_allows():
    """The fourth 1.05 tolerances below the third: claiming the fourth instead of the third leaves one
    out above a claimed one by more than the tolerance, which a tolerant claim says does not happen
    (measured: 4 of 100 wrong; paying for one look only, 11)."""
    weights, claims = claims_at_the_border(1.05, claim="tolerant")
    assert all(c.converged for c in claims)
    wrong = sum(not claim_right(c, weights, tolerant=True, tolerance=TOLERANCE) for c in claims)
    assert wrong <= 9, f"{wrong} of {SEEDS} tolerant claims at 0.95 wrong"
