"""Issue-3 performance benchmark: the one-year daily BTC backtest with weekly refits.

Measured in one run, on the same data and fold plan (final ``--days`` daily origins,
1-step-ahead, refit every 7 origins, expanding window):

1. skforecast ``ForecasterRecursive`` with scikit-learn ``LassoCV`` on the same ``--lags``
   lags of the log returns (log prices with ``differentiation=1``; 20 alphas down to
   1e-2 x alpha_max and 5 forward-chaining folds, like ConvexNetRegressor's β-CV defaults),
   through ``skforecast.model_selection.backtesting_forecaster`` with
   ``TimeSeriesFold(steps=1, refit=7, fixed_train_size=False)``. Reference: 2.7 s.
2. :class:`convexforecast.ARIMAForecaster` through :func:`convexforecast.backtest`: the origin
   moves between refits with the statsmodels ``extend`` path. Target <= 30 s.
3. :class:`convexforecast.ConvexARForecaster` (depth 3, ``--lags`` lags, β by CV) through
   :func:`convexforecast.backtest`. Target <= 2 min and <= 10x skforecast.
4. The same with ``warm_start=True`` and ``refits_per_task=R`` (``--refits-per-task``, default
   ``ceil(fits / n_jobs)``: one chain of consecutive refits per worker), so that every refit
   but the first of a chain starts its cross-validation from the previous refit's solutions.
   The largest relative forecast difference to run 3 is reported (the solves meet the same
   tolerance, so it should be round-off).

When the convex backtest would take far longer than the budget, ``--convex-blocks K`` runs
only the first ``K`` refit blocks (the same folds as the full plan, truncated) and the full
time is **extrapolated** as ``K``-block mean task time x number of blocks / ``n_jobs``; the
output labels that figure as extrapolated. ``--convex-blocks 0`` runs the full plan.

Usage::

    python benchmarks/bench_backtest.py --convex-blocks 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import convexforecast as cf

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BTC = REPO_ROOT.parent / "shared" / "data" / "btc-usd-daily.csv"
CONVEX_TARGET_SECONDS = 120.0
RATIO_TARGET = 10.0
ARIMA_TARGET_SECONDS = 30.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--btc", type=Path, default=DEFAULT_BTC)
    parser.add_argument("--days", type=int, default=365, help="number of 1-step origins")
    parser.add_argument("--refit", type=int, default=7, help="refit every this many origins")
    parser.add_argument("--lags", type=int, default=10)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--convex-blocks", type=int, default=0,
                        help="run only this many refit blocks of the convex backtest and "
                             "extrapolate (0 = the full plan)")
    parser.add_argument("--refits-per-task", type=int, default=0,
                        help="refits per task of the warm-started run (0 = fits / n_jobs, "
                             "rounded up; -1 skips that run)")
    parser.add_argument("--arima-orders", nargs="+", default=["auto", "1,1,1"],
                        help="ARIMA orders to time: 'auto' (stepwise search) and/or 'p,d,q'")
    parser.add_argument("--out", type=Path, default=Path("/tmp/convexforecast-bench-backtest.md"))
    return parser.parse_args(argv)


def time_skforecast(y: pd.Series, n_train: int, args: argparse.Namespace) -> tuple[float, float]:
    """Wall time and MAE (price level) of the skforecast LassoCV backtest."""
    from skforecast.model_selection import TimeSeriesFold, backtesting_forecaster
    from skforecast.recursive import ForecasterRecursive
    from sklearn.linear_model import LassoCV
    from sklearn.model_selection import TimeSeriesSplit

    log_y = np.log(y).rename("log_price")
    log_y.index.freq = "D"
    forecaster = ForecasterRecursive(
        estimator=LassoCV(alphas=20, eps=1e-2, cv=TimeSeriesSplit(n_splits=5)),
        lags=args.lags, differentiation=1,
    )
    folds = TimeSeriesFold(steps=1, initial_train_size=n_train, refit=args.refit,
                           fixed_train_size=False, differentiation=1, verbose=False)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, predictions = backtesting_forecaster(forecaster, log_y, cv=folds,
                                                metric="mean_absolute_error", n_jobs="auto",
                                                show_progress=False)
    seconds = time.perf_counter() - start
    forecast = np.exp(predictions["pred"])
    mae = float(np.mean(np.abs(y.loc[forecast.index] - forecast)))
    return seconds, mae


def time_ours(model: cf.BaseForecaster, y: pd.Series, n_train: int, args: argparse.Namespace,
              refits_per_task: int = 1) -> tuple[float, cf.BacktestResult]:
    """Wall time of :func:`convexforecast.backtest` (and the result)."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = cf.backtest(model, y, initial_train_size=n_train, steps=1, refit=args.refit,
                             fixed_train_size=False, n_jobs=args.n_jobs, show_progress=False,
                             refits_per_task=refits_per_task)
    return time.perf_counter() - start, result


def _verdict(label: str, seconds: float, sk_seconds: float) -> str:
    ratio = seconds / sk_seconds
    return (f"{label}: {seconds:.0f} s vs target {CONVEX_TARGET_SECONDS:.0f} s: "
            f"{'met' if seconds <= CONVEX_TARGET_SECONDS else 'MISSED'}; ratio to skforecast "
            f"{ratio:.1f}x vs target {RATIO_TARGET:.0f}x: {'met' if ratio <= RATIO_TARGET else 'MISSED'}")


def main(argv: list[str] | None = None) -> int:
    """Run the three timings and write a markdown summary to ``--out``."""
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    y = cf.load_csv(args.btc, drop_last=True)
    n_train = len(y) - args.days
    plan = cf.plan_backtest(y, initial_train_size=n_train, steps=1, refit=args.refit)
    n_blocks = int(plan["refit"].sum())
    load = os.getloadavg()[0]
    lines = [
        f"Run {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, 1-min load average at start "
        f"{load:.2f}; {len(plan)} origins from {plan['origin'].iloc[0].date()}, refit every "
        f"{args.refit} -> {n_blocks} fits; lags={args.lags}; n_jobs={args.n_jobs}",
    ]
    print(lines[0], flush=True)

    sk_seconds, sk_mae = time_skforecast(y, n_train, args)
    lines.append(f"skforecast ForecasterRecursive + LassoCV: {sk_seconds:.2f} s (MAE {sk_mae:.1f})")
    print(lines[-1], flush=True)

    for order_text in args.arima_orders:
        order = "auto" if order_text == "auto" else tuple(int(v) for v in order_text.split(","))
        model = cf.ARIMAForecaster(order=order, search="stepwise")
        seconds, result = time_ours(model, y, n_train, args)
        timing = result.timings.iloc[0]
        lines.append(
            f"ARIMA order={order_text}: {seconds:.2f} s wall (fits {timing['fit_seconds']:.1f} s, "
            f"extend-updates+predictions {timing['predict_seconds']:.2f} s; MAE "
            f"{result.metrics['mae'].iloc[0]:.1f}); target <= {ARIMA_TARGET_SECONDS:.0f} s: "
            f"{'met' if seconds <= ARIMA_TARGET_SECONDS else 'MISSED'}"
        )
        print(lines[-1], flush=True)

    convex = cf.ConvexARForecaster(lags=args.lags, depth=3, beta="cv")
    if args.convex_blocks and args.convex_blocks < n_blocks:
        # The full plan truncated after K blocks: identical folds, fits and training windows.
        n_keep = n_train + args.convex_blocks * args.refit
        seconds, result = time_ours(convex, y.iloc[:n_keep], n_train, args)
        timing = result.timings.iloc[0]
        per_block = (timing["fit_seconds"] + timing["predict_seconds"]) / args.convex_blocks
        waves = math.ceil(n_blocks / args.n_jobs)
        estimate = per_block * n_blocks / args.n_jobs
        lines.append(
            f"Convex depth 3 (β-CV): MEASURED {args.convex_blocks} of {n_blocks} refit blocks in "
            f"{seconds:.1f} s wall ({per_block:.1f} s per block task, fits "
            f"{timing['fit_seconds']:.1f} s); EXTRAPOLATED full backtest ~ {estimate:.0f} s "
            f"(= {per_block:.1f} s x {n_blocks} blocks / {args.n_jobs} jobs; {waves} waves at "
            f"perfect parallelism; later windows are up to {args.days} rows longer, so this is "
            f"a lower-side estimate)"
        )
        convex_seconds, label = estimate, "extrapolated"
    else:
        seconds, result = time_ours(convex, y, n_train, args)
        lines.append(f"Convex depth 3 (β-CV): {seconds:.1f} s wall, full plan "
                     f"(MAE {result.metrics['mae'].iloc[0]:.1f})")
        convex_seconds, label = seconds, "measured"
    print(lines[-1], flush=True)
    lines.append(_verdict(f"Convex {label}", convex_seconds, sk_seconds))
    print(lines[-1], flush=True)

    if args.refits_per_task >= 0 and not args.convex_blocks:
        per_task = args.refits_per_task or math.ceil(n_blocks / args.n_jobs)
        warm = cf.ConvexARForecaster(lags=args.lags, depth=3, beta="cv", warm_start=True)
        seconds, warm_result = time_ours(warm, y, n_train, args, refits_per_task=per_task)
        cold_forecast = result.predictions["forecast"].to_numpy()
        difference = np.max(np.abs(warm_result.predictions["forecast"].to_numpy() - cold_forecast)
                            / np.abs(cold_forecast))
        lines.append(
            f"Convex depth 3 (β-CV), warm_start=True, refits_per_task={per_task}: {seconds:.1f} s "
            f"wall ({math.ceil(n_blocks / per_task)} cold fits of {n_blocks}; largest relative "
            f"forecast difference to the cold run {difference:.1e}; MAE "
            f"{warm_result.metrics['mae'].iloc[0]:.1f})"
        )
        print(lines[-1], flush=True)
        lines.append(_verdict("Convex warm-started", seconds, sk_seconds))
        print(lines[-1], flush=True)
    args.out.write_text("\n".join(f"- {line}" for line in lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
