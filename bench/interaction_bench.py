"""What limits the adjusted estimate at 3 x 10: how fast g learns musicnn's interactions.

    PYTHONPATH=. .venv/bin/python bench/interaction_bench.py [--layout 3x10]      (make bench-interactions)

On the finer layout's reference stream (the 16,384 independent draws bench/sampling_bench.py uses,
answered by musicnn once and replayed from bench/musicnn_memo.py's cache), two figures:
  learning curve  each of g's candidate interaction sets (engine/adjustment.py's neighbourhoods())
                  and the line alone, fitted as a kernel-weighted ridge on n draws (its best penalty),
                  scored by the kernel-weighted mean squared error on 2,000 draws it did not see
                  (mean of 4 splits); a lasso on the best set at the smallest n, for comparison
  error by n      the adjusted and the plain estimate on disjoint chunks of n draws, their
                  root-mean-square error per weight against the adjusted estimate of all the draws
The adjusted estimate's variance is what g leaves, so a g that learns faster would be a cheaper claim.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.sampling_bench import REFERENCE_DRAWS, REFERENCE_SEED  # noqa: E402
from engine.adjustment import Interactions, adjusted_with_covariance, neighbourhoods  # noqa: E402
from engine.perturbations import draw_rows  # noqa: E402
from engine.sampling import MaskStream  # noqa: E402
from engine.stability import ridge_with_covariance  # noqa: E402
from engine.surrogate import SurrogateOptions, kernel_weights  # noqa: E402

PENALTIES = (1e-4, 1e-3, 1e-2, 3e-2, 0.1, 1.0)  # × the mean eigenvalue of the weighted Gram
HELD_OUT, SPLITS = 2000, 4


def ridge_error(z, y, k, train, test, penalty) -> float:
    """Kernel-weighted ridge of y on z fitted on `train`, its kernel-weighted squared error on `test`."""
    w = k[train]
    z_mean, y_mean = w @ z[train] / w.sum(), w @ y[train] / w.sum()
    centred = z[train] - z_mean
    gram = centred.T @ (w[:, None] * centred)
    scale = np.trace(gram) / gram.shape[0]
    b = np.linalg.solve(gram + penalty * scale * np.eye(gram.shape[0]), centred.T @ (w * (y[train] - y_mean)))
    return held_out_error(y[test], y_mean + (z[test] - z_mean) @ b, k[test])


def held_out_error(y, predicted, k) -> float:
    """The kernel-weighted mean squared error of a prediction on draws its fit did not see."""
    return float(k @ (y - predicted) ** 2 / k.sum())


def learning_curve(draws, y, k, candidates, sizes) -> None:
    rng = np.random.default_rng(0)
    splits = [rng.permutation(len(draws)) for _ in range(SPLITS)]
    sets = [("the line alone", ())] + [(f"candidate {i} ({sum(len(t) for t in terms)} interactions)", terms)
                                       for i, terms in enumerate(candidates)]
    print(f"  learning curve: kernel-weighted squared error on {HELD_OUT} unseen draws (x 1e-4), by training draws")
    print("    " + f"{'g':38s}" + "".join(f"{n:>10d}" for n in sizes))
    best = (np.inf, None)
    for name, terms in sets:
        z = Interactions.features(draws, terms) if terms else draws.astype(np.float64)
        row = []
        for n in sizes:
            row.append(min(np.mean([ridge_error(z, y, k, s[:n], s[n:n + HELD_OUT], p) for s in splits])
                           for p in PENALTIES))
        if row[0] < best[0]:
            best = (row[0], terms)
        print("    " + f"{name:38s}" + "".join(f"{e * 1e4:10.2f}" for e in row), flush=True)
    from sklearn.exceptions import ConvergenceWarning  # noqa: PLC0415
    from sklearn.linear_model import Lasso  # noqa: PLC0415

    z, n = Interactions.features(draws, best[1]), sizes[0]

    def lasso_error(alpha, train, test) -> float:
        fit = Lasso(alpha=alpha, max_iter=20000).fit(z[train], y[train], sample_weight=k[train])
        return held_out_error(y[test], fit.predict(z[test]), k[test])

    with warnings.catch_warnings():  # a lasso at a small penalty may stop before full convergence
        warnings.simplefilter("ignore", ConvergenceWarning)
        errors = [np.mean([lasso_error(alpha, s[:n], s[n:n + HELD_OUT]) for s in splits])
                  for alpha in (1e-5, 3e-5, 1e-4)]
    print(f"    {'lasso on the best set, best penalty':38s}{min(errors) * 1e4:10.2f}", flush=True)


def error_by_size(draws, y, candidates, sizes) -> None:
    options = SurrogateOptions()

    def fits(chunk):
        masks, rows = draw_rows(draws[chunk])
        k = kernel_weights(masks.astype(np.float64), options.kernel_width)
        units = np.arange(len(chunk))
        answers = _answers(y[chunk], rows, len(masks))
        adjusted, _ = adjusted_with_covariance(masks, rows, units, answers, k, options.alpha, options.kernel_width,
                                               candidates)
        plain = ridge_with_covariance(masks, rows, units, answers, k, options.alpha)
        return adjusted.weights[0], plain.weights[0]

    reference, _ = fits(np.arange(len(draws)))
    print(f"  error by draws: root-mean-square error per weight against the adjusted estimate of all {len(draws)}"
          f" (top 5 weights {', '.join(f'{w:.4f}' for w in np.sort(reference)[::-1][:5])})")
    for n in sizes:
        adjusted, plain = [], []
        for c in range(len(draws) // n):
            a, p = fits(np.arange(c * n, (c + 1) * n))
            adjusted.append(a - reference)
            plain.append(p - reference)
        print(f"    {n:5d} draws, {len(adjusted):2d} chunks: adjusted {np.sqrt(np.mean(np.square(adjusted))):.5f}, "
              f"plain {np.sqrt(np.mean(np.square(plain))):.5f}", flush=True)


def _answers(y, rows, n_masks):
    out = np.empty((n_masks, 1))
    out[rows, 0] = y
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layout", default="3x10", choices=("2x10", "3x10"))
    args = parser.parse_args(argv)
    from bench.musicnn_memo import MusicnnMemo  # noqa: PLC0415

    with MusicnnMemo(args.layout) as memo:
        d = memo.n_components
        draws = MaskStream(d, REFERENCE_SEED).first(REFERENCE_DRAWS)[1:]  # row 0 is the original
        scores = memo.score(draws)
        top = int(np.argmax(memo.score(np.ones((1, d), dtype=bool))[0]))
        print(f"{memo.layout}: musicnn's top tag {memo.labels[top]}; {len(draws)} draws ({memo.report()})")
    y = scores[:, top]
    k = kernel_weights(draws.astype(np.float64), SurrogateOptions().kernel_width)
    candidates = neighbourhoods(len(memo.sources), memo.segments)
    learning_curve(draws, y, k, candidates, (448, 896, 3500))
    error_by_size(draws, y, candidates, (512, 1024, 2048))


if __name__ == "__main__":
    main()
