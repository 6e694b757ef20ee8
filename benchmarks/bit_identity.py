"""Bit-identity check: the same fits, certificates and forecasts before and after a refactor.

``record`` runs a fixed set of problems and writes every number that matters (objectives, dual
bounds, coefficients, kinks, predictions, CV curves, backtest forecasts) to an ``.npz``;
``compare`` loads two such files and reports every array that differs, bit for bit. Run
``record`` on the old commit (e.g. a ``git worktree`` with ``PYTHONPATH`` pointing at it) and on
the new one, then ``compare``. The script uses only API that both sides have.

Problems:

1. the core solver table's data (``y = sin 3x + 0.5|x| + 0.1ε``, N ∈ {50, 100, 200}, ReLU
   depths 2-4, β ∈ {1e-2, 1e-3}·β_max), the cvxpy reference at N = 50, and other families
   (leaky ReLU and abs depth 2, abs and sign depth 3);
2. BTC daily log returns, 10 lags, depth 3 at 0.01·β_max (the scale problem);
3. the β cross-validation of one BTC refit (5 folds × 20 βs);
4. the default convex backtest of the final ``--days`` BTC origins with weekly refits, cold and
   with warm-started refit chains.

Usage::

    python benchmarks/bit_identity.py record --out /tmp/new.npz
    PYTHONPATH=/tmp/old python benchmarks/bit_identity.py record --out /tmp/old.npz
    python benchmarks/bit_identity.py compare /tmp/old.npz /tmp/new.npz
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BTC = REPO_ROOT.parent / "shared" / "data" / "btc-usd-daily.csv"


def _imports():
    from convexforecast.core.fit import fit_convex_network
    try:
        from convexforecast.core.dictionaries import make_dictionaries
        from convexforecast.core.solvers.working_set import beta_max
    except ImportError:  # the layout before the core was split into packages
        from convexforecast.core.working_set import beta_max

        from convexforecast.core.fit import make_dictionaries
    return fit_convex_network, make_dictionaries, beta_max


def _fit(X, y, **kwargs):
    fit_convex_network, _, _ = _imports()
    result = fit_convex_network(X, y, **kwargs)
    return result[0] if isinstance(result, tuple) else result


def _record_fit(out: dict, key: str, fit, grid: np.ndarray) -> None:
    out[f"{key}/primal"] = np.array(fit.primal)
    out[f"{key}/dual"] = np.array(fit.dual)
    out[f"{key}/intercept"] = np.array(fit.intercept)
    out[f"{key}/coef"] = np.asarray(fit.coef)
    out[f"{key}/inputs"] = np.asarray(fit.inputs)
    out[f"{key}/kinks"] = np.array([k for f in fit.features for k in f.kinks])
    out[f"{key}/predict"] = fit.predict(grid)
    out[f"{key}/route"] = np.array(fit.solver)


def _synthetic(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, n)
    return x[:, None], np.sin(3 * x) + 0.5 * np.abs(x) + 0.1 * rng.standard_normal(n)


def _btc(path: Path) -> pd.Series:
    import convexforecast as cf

    return cf.load_csv(path, drop_last=True)


def record(args: argparse.Namespace) -> None:
    _, make_dictionaries, beta_max = _imports()
    out: dict[str, np.ndarray] = {}
    grid1 = np.linspace(-1.5, 1.5, 301)[:, None]
    for n in (50, 100, 200):
        X, y = _synthetic(n)
        for depth in (2, 3, 4):
            bmax = beta_max(make_dictionaries(X, depth, "relu", 0.01, None), y)
            for ratio in (1e-2, 1e-3):
                fit = _fit(X, y, depth=depth, activation="relu", beta=ratio * bmax, solver="fast")
                _record_fit(out, f"relu/{n}/{depth}/{ratio}", fit, grid1)
    X, y = _synthetic(50)
    bmax = beta_max(make_dictionaries(X, 3, "relu", 0.01, None), y)
    _record_fit(out, "cvxpy/50/3", _fit(X, y, depth=3, activation="relu", beta=1e-2 * bmax,
                                        solver="cvxpy"), grid1)
    for activation, depth in (("leaky_relu", 2), ("abs", 2), ("abs", 3), ("sign", 3)):
        X, y = _synthetic(40)
        _record_fit(out, f"{activation}/{depth}", _fit(X, y, depth=depth, activation=activation,
                                                        beta=0.05), grid1)
    print("synthetic problems recorded", flush=True)

    prices = _btc(args.btc)
    z = np.diff(np.log(prices.to_numpy()))
    z = (z - z.mean()) / z.std()
    lags = 10
    X = np.column_stack([z[lags - 1 - j: len(z) - 1 - j] for j in range(lags)])
    y = z[lags:]
    bmax = beta_max(make_dictionaries(X, 3, "relu", 0.01, None), y)
    _record_fit(out, "btc/scale", _fit(X, y, depth=3, activation="relu", beta=1e-2 * bmax,
                                       solver="fast"), X[-200:])
    print("BTC scale problem recorded", flush=True)

    from convexforecast import ConvexNetRegressor

    window = slice(len(y) - 3833, len(y))
    cv = ConvexNetRegressor(depth=3, beta="cv", beta_min_ratio=1e-2).fit(X[window], y[window])
    for name in ("betas", "fold_mse", "mean_mse"):
        out[f"btc/cv/{name}"] = np.asarray(cv.cv_results_[name])
    out["btc/cv/objective"] = np.array(cv.objective_)
    out["btc/cv/coef"] = np.asarray(cv.coef_)
    print("BTC cross-validation recorded", flush=True)

    from convexforecast import ConvexARForecaster, backtest

    n0 = len(prices) - args.days
    for name, model, per_task in (
            ("cold", ConvexARForecaster(lags=10, depth=3), 1),
            ("warm", ConvexARForecaster(lags=10, depth=3, warm_start=True), 4)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = backtest({"convex": model}, prices, initial_train_size=n0, steps=1,
                              refit=7, show_progress=False, refits_per_task=per_task)
        out[f"btc/backtest/{name}"] = result.predictions["forecast"].to_numpy()
        print(f"BTC backtest ({name}) recorded", flush=True)
    np.savez(args.out, **out)
    print(f"wrote {len(out)} arrays to {args.out}")


def compare(args: argparse.Namespace) -> int:
    with np.load(args.old) as a, np.load(args.new) as b:
        old, new = {k: a[k] for k in a.files}, {k: b[k] for k in b.files}
    differ = []
    for key in sorted(set(old) | set(new)):
        if key not in old or key not in new:
            differ.append(f"{key}: only in {'old' if key in old else 'new'}")
        elif old[key].shape != new[key].shape or not np.array_equal(old[key], new[key]):
            detail = ""
            if old[key].dtype.kind == "f" and old[key].shape == new[key].shape:
                scale = np.maximum(np.abs(old[key]), 1e-300)
                detail = f" (largest relative difference {np.max(np.abs(old[key] - new[key]) / scale):.2e})"
            differ.append(f"{key}: differs{detail}")
    print(f"{len(old)} arrays compared: {len(old) - len(differ)} bit-identical, {len(differ)} differ")
    for line in differ:
        print("  " + line)
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--out", type=Path, required=True)
    rec.add_argument("--btc", type=Path, default=DEFAULT_BTC)
    rec.add_argument("--days", type=int, default=56, help="backtest origins (weekly refits)")
    cmp = sub.add_parser("compare")
    cmp.add_argument("old", type=Path)
    cmp.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    if args.command == "record":
        record(args)
        return 0
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
