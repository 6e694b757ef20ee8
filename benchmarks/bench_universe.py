"""Universes (issue 14): the global convex model's β cross-validation at 78k pooled windows,
how its time grows with the number of series, and a universe backtest on 1 and 2 workers.

1. **Global CV fit.** All series of the shared universe (``--universe``, adjusted closes,
   holidays forward-filled onto business days), the last ``--windows`` (3,000) lag windows of
   each, ``lags=10``, depth 3, ``ConvexARForecaster(global_model=True, beta="cv")`` with the
   default grid (5 forward-chaining folds split by time × 20 βs, every path point certified to
   a relative gap ≤ 1e-6): wall time and peak traced memory (tracemalloc) of ``fit``. Targets:
   ≤ 5 min and ≤ 1 GB.
2. **Growth.** The same fit on the first 1, 2, 4, 8, 16 and all series.
3. **Backtest on 1 and 2 workers.** ``backtest`` of a local and a global convex model over the
   final ``--days`` origins, refit every ``--refit``, with ``n_jobs=1``, ``n_jobs=2`` (joblib's
   loky processes) and a 2-worker Dask ``LocalCluster`` (joblib's Dask backend); forecasts are
   checked to be bit-identical across the three.

Usage::

    python benchmarks/bench_universe.py                    # everything (~15-25 min)
    python benchmarks/bench_universe.py --parts fit        # one part
    python benchmarks/bench_universe.py --out BENCHMARKS.md

Results are printed as markdown and, with ``--out``, written under the heading
``## Universes (issue 14)`` (other sections kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import cpu_model
from btc_experiment import to_markdown
from universe_experiment import replace_section

import convexforecast as cf

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_UNIVERSE = REPO_ROOT.parent / "shared" / "data" / "universe"
SECTION = "## Universes (issue 14)"
PARTS = ("fit", "growth", "workers")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--universe", type=Path, default=DEFAULT_UNIVERSE)
    parser.add_argument("--windows", type=int, default=3000, help="lag windows per series")
    parser.add_argument("--lags", type=int, default=10)
    parser.add_argument("--growth", type=int, nargs="+", default=[1, 2, 4, 8, 16, 26])
    parser.add_argument("--days", type=int, default=60, help="backtest origins (part 3)")
    parser.add_argument("--refit", type=int, default=20)
    parser.add_argument("--history", type=int, default=1000,
                        help="training observations before the first origin (part 3)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def load_universe(folder: Path) -> pd.DataFrame:
    """Adjusted closes of every ticker in ``folder``, holidays forward-filled."""
    return cf.load_csv(folder, column="Adj Close", fill="ffill")


def last_windows(prices: pd.DataFrame, windows: int, lags: int) -> dict[str, pd.Series]:
    """Each series' last ``windows + lags + 1`` prices: ``windows`` lag windows of returns."""
    return {name: prices[name].dropna().iloc[-(windows + lags + 1):] for name in prices.columns}


def timed_fit(panel: dict[str, pd.Series], lags: int, trace: bool) -> dict[str, float]:
    """Fit the global CV model once: seconds, peak traced MB, β, neurons and the certificate."""
    model = cf.ConvexARForecaster(lags=lags, depth=3, beta="cv", global_model=True)
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(panel)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else float("nan")
    if trace:
        tracemalloc.stop()
    cv = model.regressors_[0].cv_results_
    gaps = cv.get("fold_relative_gap")
    return {"series": len(panel), "windows": sum(len(s) - lags - 1 for s in panel.values()),
            "seconds": seconds, "peak_traced_MB": peak, "beta": model.beta_,
            "neurons": model.n_neurons_,
            "relative_gap": model.duality_gap_ / model.objective_,
            "largest_cv_path_gap": float(np.max(gaps)) if gaps is not None else float("nan"),
            "warnings": len(caught)}


def part_fit(prices: pd.DataFrame, args: argparse.Namespace) -> str:
    panel = last_windows(prices, args.windows, args.lags)
    row = timed_fit(panel, args.lags, trace=False)
    traced = timed_fit(panel, args.lags, trace=True)
    row["peak_traced_MB"] = traced["peak_traced_MB"]
    row["seconds_traced_run"] = traced["seconds"]
    frame = pd.DataFrame([row]).set_index("series")
    return (f"### Global CV fit: all series, last {args.windows} windows each, 10 lags, depth 3, "
            "beta='cv' (5 folds x 20 betas); targets <= 300 s and <= 1,024 MB traced\n\n"
            + to_markdown(frame))


def part_growth(prices: pd.DataFrame, args: argparse.Namespace) -> str:
    rows = []
    for count in args.growth:
        chosen = prices.iloc[:, :min(count, prices.shape[1])]
        rows.append(timed_fit(last_windows(chosen, args.windows, args.lags), args.lags,
                              trace=False))
        print(rows[-1], flush=True)
    frame = pd.DataFrame(rows).set_index("series")
    frame["seconds_per_1k_windows"] = frame["seconds"] / frame["windows"] * 1000
    return "### Growth with the number of series (same fit)\n\n" + to_markdown(
        frame.drop(columns=["peak_traced_MB"]))


def part_workers(prices: pd.DataFrame, args: argparse.Namespace) -> str:
    from dask.distributed import Client, LocalCluster
    from joblib import parallel_config

    origin = prices.index[-args.days - 1]
    start = max(0, len(prices) - args.days - args.history)
    universe = {name: prices[name].iloc[start:].dropna() for name in prices.columns}
    models = {"convex": cf.ConvexARForecaster(lags=5, depth=3),
              "convex-global": cf.ConvexARForecaster(lags=5, depth=3, global_model=True)}
    kwargs = {"initial_train_size": origin, "steps": 1, "refit": args.refit,
              "show_progress": False}
    rows, predictions = {}, {}
    for label, n_jobs in (("n_jobs=1", 1), ("n_jobs=2 (loky)", 2)):
        start_time = time.perf_counter()
        result = cf.backtest(models, universe, n_jobs=n_jobs, **kwargs)
        rows[label] = {"seconds": time.perf_counter() - start_time}
        predictions[label] = result.predictions
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster), \
            parallel_config(backend="dask"):
        start_time = time.perf_counter()
        result = cf.backtest(models, universe, n_jobs=-1, **kwargs)
        rows["Dask LocalCluster, 2 workers"] = {"seconds": time.perf_counter() - start_time}
        predictions["Dask LocalCluster, 2 workers"] = result.predictions
    reference = predictions["n_jobs=1"]
    for label, frame in predictions.items():
        rows[label]["bit_identical_to_n_jobs_1"] = bool(frame.equals(reference))
        rows[label]["speed-up"] = rows["n_jobs=1"]["seconds"] / rows[label]["seconds"]
    table = pd.DataFrame(rows).T
    return (f"### Universe backtest on 1 and 2 workers: {len(universe)} series, local and global "
            f"convex (lags 5, depth 3, beta='cv'), {args.days} origins, refit every "
            f"{args.refit}, {args.history} observations of history\n\n" + to_markdown(table))


def main(argv: list[str] | None = None) -> int:
    """Run the selected parts and print (and optionally write) the markdown."""
    args = parse_args(argv)
    prices = load_universe(args.universe)
    load = os.getloadavg()[0]
    header = (f"{SECTION}\n\nRun {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {cpu_model()}, "
              f"{os.cpu_count()} cores, numpy {np.__version__}, pandas {pd.__version__}; 1-min "
              f"load average at start {load:.2f}. Command: `python benchmarks/bench_universe.py "
              f"{' '.join(argv) if argv else ''}`.".rstrip())
    parts = {"fit": part_fit, "growth": part_growth, "workers": part_workers}
    body = [header]
    for name in args.parts:
        body.append(parts[name](prices, args))
        print(body[-1], flush=True)
    text = "\n\n".join(body) + "\n"
    if args.out is not None:
        replace_section(args.out, SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
