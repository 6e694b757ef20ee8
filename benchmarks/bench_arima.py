"""ARIMA ``order="auto"``: the one-year daily BTC backtest with weekly refits, old vs new search.

The backtest of ``bench_backtest.py`` (final ``--days`` daily origins, 1-step-ahead, refit every
``--refit`` origins, expanding window, ``--n-jobs`` workers), run through
:func:`convexforecast.backtest` with :class:`convexforecast.ARIMAForecaster` (``order="auto"``,
AIC, ``p, q <= 3``) in these configurations, all in one run:

- ``old``: ``screen=None, reselect_every=1`` -- every refit runs the unit-root test and fits all
  16 candidates by maximum likelihood (the behaviour before screening and order re-use);
- ``new``: the defaults (the grid screened by Hannan-Rissanen estimates, the ``screen`` best
  fitted by maximum likelihood; a refit of the same object re-uses the order, searching again
  every ``reselect_every``-th fit), with ``refits_per_task=1`` (every refit on a fresh clone,
  so no re-use: the default of ``backtest``);
- ``new-chained``: the defaults with ``refits_per_task`` = ``--chain`` (default: all refits in
  one task, so the task runs serially on one worker and re-uses orders);
- ``new-chained-2``: the same with ``refits_per_task = ceil(refits / n_jobs)`` (one chain per
  worker);
- ``reuse-only-chained``: ``screen=None`` (exact search) with order re-use, chained like
  ``new-chained``.

Each prints its wall time, the fits' share of task time and the MAE in USD; forecasts of
configurations are compared with ``old`` (largest relative difference, and a Diebold-Mariano
test of equal mean absolute error).

Usage::

    python benchmarks/bench_arima.py                       # all configurations (~4 min)
    python benchmarks/bench_arima.py --configs old new     # a subset
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
from _machine import cpu_model

import convexforecast as cf

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BTC = REPO_ROOT.parent / "shared" / "data" / "btc-usd-daily.csv"
TARGET_SECONDS = 30.0
CONFIGS = ("old", "new", "new-chained", "new-chained-2", "reuse-only-chained")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--btc", type=Path, default=DEFAULT_BTC)
    parser.add_argument("--days", type=int, default=365, help="number of 1-step origins")
    parser.add_argument("--refit", type=int, default=7, help="refit every this many origins")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--chain", type=int, default=0,
                        help="refits_per_task of the chained runs (0 = all refits in one task)")
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per configuration (the median wall time is reported)")
    return parser.parse_args(argv)


def configuration(name: str, n_blocks: int, args: argparse.Namespace
                  ) -> tuple[cf.ARIMAForecaster, int]:
    """The forecaster and ``refits_per_task`` of a configuration."""
    chain = args.chain or n_blocks
    if name == "old":
        return cf.ARIMAForecaster(order="auto", screen=None, reselect_every=1), 1
    if name == "new":
        return cf.ARIMAForecaster(order="auto"), 1
    if name == "new-chained":
        return cf.ARIMAForecaster(order="auto"), chain
    if name == "new-chained-2":
        return cf.ARIMAForecaster(order="auto"), math.ceil(n_blocks / args.n_jobs)
    return cf.ARIMAForecaster(order="auto", screen=None), chain


def main(argv: list[str] | None = None) -> int:
    """Run the configurations and print one line each."""
    args = parse_args(argv)
    y = cf.load_csv(args.btc, drop_last=True)
    n_train = len(y) - args.days
    plan = cf.plan_backtest(y, initial_train_size=n_train, steps=1, refit=args.refit)
    n_blocks = int(plan["refit"].sum())
    print(f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {cpu_model()}, {os.cpu_count()} "
          f"cores, load average {os.getloadavg()[0]:.2f}; {len(plan)} origins from "
          f"{plan['origin'].iloc[0].date()}, refit every {args.refit} -> {n_blocks} fits, "
          f"expanding window, n_jobs={args.n_jobs}", flush=True)
    reference: tuple[np.ndarray, np.ndarray] | None = None
    for name in args.configs:
        model, per_task = configuration(name, n_blocks, args)
        runs = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = cf.backtest(model, y, initial_train_size=n_train, steps=1,
                                     refit=args.refit, fixed_train_size=False,
                                     n_jobs=args.n_jobs, show_progress=False,
                                     refits_per_task=per_task)
            runs.append(time.perf_counter() - start)
        seconds = float(np.median(runs))
        spread = f" (median of {len(runs)}: {', '.join(f'{r:.1f}' for r in runs)})" if len(
            runs) > 1 else ""
        timing = result.timings.iloc[0]
        forecast = result.predictions["forecast"].to_numpy()
        errors = result.predictions["actual"].to_numpy() - forecast
        if name == "old":
            reference = (forecast, errors)
        comparison = ""
        if reference is not None and name != "old":
            relative = np.max(np.abs(forecast - reference[0]) / np.abs(reference[0]))
            test = cf.diebold_mariano(errors, reference[1], loss="absolute")
            comparison = (f"; vs old: largest relative forecast difference {relative:.1e}, "
                          f"Diebold-Mariano (absolute loss) p = {test.pvalue:.2f}")
        verdict = "met" if seconds <= TARGET_SECONDS else "MISSED"
        print(f"{name:>18} (screen={model.screen}, reselect_every={model.reselect_every}, "
              f"refits_per_task={per_task}): {seconds:6.1f} s wall{spread} (fits "
              f"{timing['fit_seconds']:.1f} s, updates+predictions "
              f"{timing['predict_seconds']:.1f} s of task time); MAE "
              f"{result.metrics['mae'].iloc[0]:.1f}; target <= {TARGET_SECONDS:.0f} s: "
              f"{verdict}{comparison}; load now {os.getloadavg()[0]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
