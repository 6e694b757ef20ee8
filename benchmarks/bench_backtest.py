"""Issue 13.1: the default convex backtest against skforecast + LassoCV, in one run.

The call of the issue, with the library's defaults (``n_jobs=1``, no opt-in argument)::

    backtest({"convex": ConvexARForecaster(lags=10, depth=3)}, px,
             initial_train_size=len(px) - 365, steps=1, refit=7, show_progress=False)

on daily BTC-USD (the intraday last row dropped): the final 365 one-step origins, a refit
every 7 origins (53 fits, each choosing β by 5-fold × 20-β cross-validation, every point
certified to a relative duality gap ≤ 1e-6). Measured in the same run, interleaved, ``--runs``
times each (medians reported):

- ``skforecast``: ``ForecasterRecursive(LassoCV(alphas=20, eps=1e-2, cv=TimeSeriesSplit(5)),
  lags=10, differentiation=1)`` on log prices, through ``backtesting_forecaster`` with the same
  folds (its default ``n_jobs``);
- ``default``: the call above (warm-started refits chained per series, as the defaults do);
- ``cold``: every refit cold (``warm_start=False``): the reference forecasts;
- ``opt-in``: ``refits_per_task=27`` and ``n_jobs=2`` (two warm chains on two workers).

Reported: wall time, ratio to skforecast (targets: default ≤ 10×, moonshot ≤ 3×), MAE, and the
largest relative forecast difference to the cold run (the fits meet the same certified
tolerance, so it should be round-off). Needs skforecast (the ``interop`` extra; skforecast
pins pandas < 3, so run it in that environment).

Usage::

    python benchmarks/bench_backtest.py --runs 3
    python benchmarks/bench_backtest.py --out BENCHMARKS.md     # replace its section
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import cpu_model

import convexforecast as cf

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BTC = REPO_ROOT.parent / "shared" / "data" / "btc-usd-daily.csv"
SECTION = "## Default backtest vs skforecast + LassoCV (issue 13.1)"
RATIO_TARGET, RATIO_MOONSHOT = 10.0, 3.0
CONFIGS = ("skforecast", "default", "cold", "opt-in")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--btc", type=Path, default=DEFAULT_BTC)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--refit", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def run_skforecast(y: pd.Series, n_train: int, refit: int) -> tuple[float, np.ndarray]:
    """Wall time and forecasts (price level) of the skforecast LassoCV backtest."""
    from skforecast.model_selection import TimeSeriesFold, backtesting_forecaster
    from skforecast.recursive import ForecasterRecursive
    from sklearn.linear_model import LassoCV
    from sklearn.model_selection import TimeSeriesSplit

    log_y = np.log(y).rename("log_price")
    log_y.index.freq = "D"
    forecaster = ForecasterRecursive(
        estimator=LassoCV(alphas=20, eps=1e-2, cv=TimeSeriesSplit(n_splits=5)),
        lags=10, differentiation=1)
    folds = TimeSeriesFold(steps=1, initial_train_size=n_train, refit=refit,
                           fixed_train_size=False, differentiation=1, verbose=False)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, predictions = backtesting_forecaster(forecaster, log_y, cv=folds,
                                                metric="mean_absolute_error",
                                                show_progress=False)
    return time.perf_counter() - start, np.exp(predictions["pred"].to_numpy())


def run_convex(config: str, y: pd.Series, n_train: int, refit: int) -> tuple[float, np.ndarray]:
    """Wall time and forecasts of one convex configuration."""
    options: dict = {}
    model = cf.ConvexARForecaster(lags=10, depth=3)
    if config == "cold":
        model = cf.ConvexARForecaster(lags=10, depth=3, warm_start=False)
    elif config == "opt-in":
        options = {"refits_per_task": 27, "n_jobs": 2}
    start = time.perf_counter()
    result = cf.backtest({"convex": model}, y, initial_train_size=n_train, steps=1, refit=refit,
                         show_progress=False, **options)
    return time.perf_counter() - start, result.predictions["forecast"].to_numpy()


def main(argv: list[str] | None = None) -> int:
    """Run the configurations interleaved, print and optionally write the markdown."""
    args = parse_args(argv)
    y = cf.load_csv(args.btc, drop_last=True)
    n_train = len(y) - args.days
    actual = y.iloc[n_train:].to_numpy()
    started = dt.datetime.now(dt.UTC)
    load = os.getloadavg()[0]
    seconds: dict[str, list[float]] = {c: [] for c in args.configs}
    forecasts: dict[str, np.ndarray] = {}
    for run in range(args.runs):
        for config in args.configs:
            runner = run_skforecast if config == "skforecast" else (
                lambda yy, nn, rr, c=config: run_convex(c, yy, nn, rr))
            wall, forecast = runner(y, n_train, args.refit)
            seconds[config].append(wall)
            forecasts.setdefault(config, forecast)
            if config != "skforecast" and not np.array_equal(forecasts[config], forecast):
                raise AssertionError(f"{config}: forecasts differ between runs")
            print(f"run {run + 1} {config}: {wall:.2f} s", flush=True)
    base = float(np.median(seconds["skforecast"])) if "skforecast" in seconds else np.nan
    rows = {}
    for config in args.configs:
        median = float(np.median(seconds[config]))
        forecast = forecasts[config]
        row = {"median_s": median, "runs_s": " / ".join(f"{s:.2f}" for s in seconds[config]),
               "ratio_to_skforecast": median / base,
               "mae": float(np.mean(np.abs(forecast - actual)))}
        if "cold" in forecasts and config not in ("skforecast", "cold"):
            row["max_rel_diff_to_cold"] = float(np.max(np.abs(forecast - forecasts["cold"])
                                                       / np.abs(forecasts["cold"])))
        rows[config] = row
    table = pd.DataFrame(rows).T
    verdict = ""
    if "default" in rows and np.isfinite(base):
        ratio = rows["default"]["ratio_to_skforecast"]
        verdict = (f"Default: {ratio:.1f}x skforecast (target <= {RATIO_TARGET:.0f}x: "
                   f"{'MET' if ratio <= RATIO_TARGET else 'MISSED'}; moonshot <= "
                   f"{RATIO_MOONSHOT:.0f}x: {'met' if ratio <= RATIO_MOONSHOT else 'not met'}).")
    from btc_experiment import to_markdown

    text = "\n\n".join([
        SECTION,
        f"Run {started:%Y-%m-%d %H:%M} UTC on {cpu_model()}, {os.cpu_count()} cores, numpy "
        f"{np.__version__}, pandas {pd.__version__}; 1-min load average at start {load:.2f}. "
        f"Command: `python benchmarks/bench_backtest.py {' '.join(argv or [])}`. "
        f"{args.days} one-step origins, refit every {args.refit} (53 fits), medians of "
        f"{args.runs} interleaved runs.",
        to_markdown(table, ".3g"), verdict]) + "\n"
    print(text)
    if args.out is not None:
        from universe_experiment import replace_section

        replace_section(args.out, SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
