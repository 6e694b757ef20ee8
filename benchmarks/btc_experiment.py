"""The BTC experiment of issue 3 (section 7): rolling-origin 1-step forecasts of daily BTC-USD.

Design (defaults): origins over the final ``--years`` years, 1-step-ahead, refit every
``--refit-days`` days on an expanding window, split-conformal 90 % intervals. Models: the
convex AR network at depths 2, 3 and 4 (same lags, β by cross-validation), ARIMA with
automatic order selection (stepwise search), the Adam-trained network of the same
architecture with three seeds, the naive random walk and the linear AR model (OLS).

Reported: the metrics table, the Diebold-Mariano test (HLN-corrected) of every model against
naive, long/flat strategy metrics at 10 bps per unit traded, and the wall time per model.

Usage::

    python benchmarks/btc_experiment.py                       # full design (slow)
    python benchmarks/btc_experiment.py --quick               # smoke test, ~1-2 minutes
    python benchmarks/btc_experiment.py --days 365 --refit-days 0 --adam-beta convex-initial

The data file is read in place (never copied): ``../shared/data/btc-usd-daily.csv`` relative
to the repository root by default; its last row is an intraday snapshot and is dropped.
``--refit-days 0`` means "fit once at the first origin, then only move the origin".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import cpu_model

import convexforecast as cf

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BTC = REPO_ROOT.parent / "shared" / "data" / "btc-usd-daily.csv"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--btc", type=Path, default=DEFAULT_BTC, help="BTC-USD daily CSV")
    parser.add_argument("--years", type=float, default=3.0, help="test period, in years")
    parser.add_argument("--days", type=int, default=None, help="test period in days (overrides --years)")
    parser.add_argument("--refit-days", type=int, default=7, help="refit period in days; 0 = fit once")
    parser.add_argument("--lags", type=int, default=10)
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--convex-beta", default="cv",
                        help="'cv' (β by forward-chaining CV in every fit) or a fixed number "
                             "(standardised scale)")
    parser.add_argument("--adam-epochs", type=int, default=2000)
    parser.add_argument("--adam-width", type=int, default=None,
                        help="chains per lag of the Adam net (default: the library's min(2N, 100))")
    parser.add_argument(
        "--adam-beta", default="cv",
        help="'cv' (Adam runs the convex β-CV itself in every fit), 'convex-initial' (the β the "
             "depth-3 convex CV picks on the first training window, fixed for all folds), or a number",
    )
    parser.add_argument("--models", nargs="+", default=None,
                        help="only these model names (default all)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--cost-bps", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: final 30 days, fit once, fixed β=10, 200 Adam epochs, 1 seed")
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/convexforecast-btc-experiment"),
                        help="where predictions.csv and the markdown report are written")
    args = parser.parse_args(argv)
    if args.quick:
        args.days = 30 if args.days is None else args.days
        args.refit_days = 0
        args.adam_epochs = 200
        args.seeds = args.seeds[:1]
        args.adam_beta = "10"
    return args


def build_models(args: argparse.Namespace, y: pd.Series, n_train: int) -> tuple[dict, dict]:
    """The forecasters of the experiment and notes on how β was set."""
    notes: dict[str, str] = {}
    convex_beta: float | str = 10.0 if args.quick else (
        "cv" if args.convex_beta == "cv" else float(args.convex_beta))
    if convex_beta != "cv" and not args.quick:
        notes["convex_beta"] = f"β fixed at {convex_beta:g} (standardised scale, no CV)"
    models: dict[str, cf.BaseForecaster] = {}
    for depth in args.depths:
        models[f"convex_d{depth}"] = cf.ConvexARForecaster(lags=args.lags, depth=depth, beta=convex_beta)
    models["arima_auto"] = cf.ARIMAForecaster(order="auto", search="stepwise")
    adam_beta: float | str
    if args.adam_beta == "cv":
        adam_beta = "cv"
        notes["adam_beta"] = "β chosen by the convex cross-validation inside every Adam fit"
    elif args.adam_beta == "convex-initial":
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            probe = cf.ConvexARForecaster(lags=args.lags, depth=3).fit(y.iloc[:n_train])
        adam_beta = float(probe.beta_)
        notes["adam_beta"] = (
            f"β fixed at {adam_beta:.6g}: the value the depth-3 convex CV chose on the first "
            f"training window (data up to {y.index[n_train - 1].date()}, no look-ahead); that "
            f"probe fit took {time.perf_counter() - start:.1f} s and is not in the model timings"
        )
    else:
        adam_beta = float(args.adam_beta)
        notes["adam_beta"] = f"β fixed at {adam_beta:g}"
    if args.quick:
        notes["convex_beta"] = "β fixed at 10 (quick smoke test, no CV)"
    for seed in args.seeds:
        models[f"adam_d3_s{seed}"] = cf.AdamNetForecaster(
            lags=args.lags, depth=3, beta=adam_beta, random_state=seed, epochs=args.adam_epochs,
            width=args.adam_width,
        )
    models["naive"] = cf.NaiveForecaster()
    models["linear_ar"] = cf.LinearARForecaster(lags=args.lags)
    if args.models:
        unknown = sorted(set(args.models) - set(models))
        if unknown:
            raise ValueError(f"`--models` must be among {sorted(models)}. Got {unknown}.")
        models = {name: m for name, m in models.items() if name in args.models or name == "naive"}
    return models, notes


def strategy_table(result: cf.BacktestResult, y: pd.Series, cost_bps: float) -> pd.DataFrame:
    """Long/flat strategy metrics per model, with buy-and-hold over the same bars."""
    rows = {}
    benchmark = None
    for name in result.models:
        outcome = cf.run_strategy(result, y, model=name, rule="long_flat", cost_bps=cost_bps,
                                  periods_per_year=365)
        rows[name] = outcome.metrics.loc["strategy"]
        benchmark = outcome.metrics.loc["buy_and_hold"]
    if benchmark is not None:
        rows["buy_and_hold"] = benchmark
    return pd.DataFrame(rows).T


def machine_description() -> str:
    """CPU model, cores and Python/library versions."""
    cpu = cpu_model()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy "
            f"{np.__version__}, pandas {pd.__version__}, convexforecast {cf.__version__}; "
            f"1-min load average at start {load:.2f}")


def to_markdown(frame: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A markdown table without the optional ``tabulate`` dependency."""
    frame = frame.reset_index()
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [header, rule]
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, float | np.floating):
                cells.append(format(float(value), floatfmt))
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the experiment and write ``report.md`` and ``predictions.csv`` to ``--out-dir``."""
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    machine = machine_description()
    y = cf.load_csv(args.btc, drop_last=True)
    n_test = args.days if args.days is not None else int(round(365 * args.years))
    if not 1 <= n_test < len(y) - 100:
        raise ValueError(f"`--days`/`--years` must leave a training window. Got {n_test} test days "
                         f"for {len(y)} observations.")
    n_train = len(y) - n_test
    refit: bool | int = False if args.refit_days == 0 else args.refit_days
    models, notes = build_models(args, y, n_train)
    plan = cf.plan_backtest(y, initial_train_size=n_train, steps=1, refit=refit)
    print(f"BTC-USD {y.index[0].date()} .. {y.index[-1].date()} ({len(y)} days); "
          f"{len(plan)} origins from {plan['origin'].iloc[0].date()}, "
          f"{int(plan['refit'].sum())} fits per model, {len(models)} models", flush=True)

    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cf.backtest(models, y, initial_train_size=n_train, steps=1, refit=refit,
                             fixed_train_size=False, n_jobs=args.n_jobs,
                             intervals={"method": "conformal", "level": 0.9}, show_progress=True)
    wall = time.perf_counter() - start
    warning_counts = pd.Series([f"{w.category.__name__}: {str(w.message)[:90]}" for w in caught],
                               dtype=object).value_counts()

    metrics = result.metrics.drop(columns=["nominal_coverage"], errors="ignore")
    dm = result.dm_tests("naive", loss="squared").droplevel("horizon")
    dm_abs = result.dm_tests("naive", loss="absolute").droplevel("horizon")
    dm["pvalue_absolute_loss"] = dm_abs["pvalue"]
    strategy = strategy_table(result, y, args.cost_bps)
    timings = result.timings.copy()
    timings["total_seconds"] = timings["fit_seconds"] + timings["predict_seconds"]

    args.out_dir.mkdir(parents=True, exist_ok=True)
    result.predictions.to_csv(args.out_dir / "predictions.csv", index=False)
    command = "python benchmarks/btc_experiment.py " + " ".join(argv if argv is not None else sys.argv[1:])
    design = {
        "data": str(args.btc), "first": str(y.index[0].date()), "last": str(y.index[-1].date()),
        "test_origins": len(plan), "first_origin": str(plan["origin"].iloc[0].date()),
        "last_target": str(plan["test_end"].iloc[-1].date()), "refit": refit,
        "fits_per_model": int(plan["refit"].sum()), "lags": args.lags, "n_jobs": args.n_jobs,
        "adam_epochs": args.adam_epochs, "adam_width": args.adam_width, **notes,
    }
    sections = [
        f"Command: `{command.strip()}`",
        f"Started {started:%Y-%m-%d %H:%M} UTC; machine: {machine}",
        f"Design: `{json.dumps(design)}`",
        f"Backtest wall time (all models, n_jobs={args.n_jobs}): {wall:.1f} s",
        "### Accuracy (1-step, price level; conformal 90 % intervals)", to_markdown(metrics),
        "### Diebold-Mariano vs naive (HLN; negative statistic = better than naive)", to_markdown(dm),
        f"### Long/flat strategy, {args.cost_bps:g} bps per unit traded, 365 bars/year",
        to_markdown(strategy),
        "### Time per model (seconds, summed over refit tasks)", to_markdown(timings, ".1f"),
        "### Warnings (re-raised by `backtest` from every fit, including those in worker processes)",
        to_markdown(warning_counts.rename("count").to_frame()) if len(warning_counts) else "none",
    ]
    report = "\n\n".join(sections) + "\n"
    (args.out_dir / "report.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
