"""The universe experiment of issue 14: one-step daily forecasts of 26 US stocks and ETFs.

Design (defaults): the shared universe (``../shared/data/universe``, adjusted closes, exchange
holidays forward-filled onto the business-day grid), origins over the final ``--days`` (504,
two years) business days, 1-step-ahead, refit every ``--refit`` (21, monthly) origins on an
expanding window that starts ``--history`` (2,500) observations before the first origin.
Models: naive (random walk), linear AR (OLS), ARIMA (automatic order), the convex AR network
fitted per series (local) and one convex network on the pooled windows of all series (global),
both depth 3, ``--lags`` lags, β by 5-fold × 20-β cross-validation in every refit,
warm-started along each series' refits (``refits_per_task`` = all refits; same certified
tolerance as cold fits).

Reported: pooled metrics (MASE is scale-free), pooled Diebold–Mariano tests against naive
(MASE-scaled squared loss averaged over series per origin), per-series DM tests with Holm and
Benjamini–Hochberg corrections, and the long-short top-``k`` portfolio of each model's
forecasts with its annualised Sharpe ratio and a circular block-bootstrap confidence interval
(``--block-length`` days), against equal-weight buy-and-hold.

Usage::

    python benchmarks/universe_experiment.py                 # full design (~1 h on 2 cores)
    python benchmarks/universe_experiment.py --quick         # 4 series, 60 days (~1 min)
    python benchmarks/universe_experiment.py --out EXPERIMENTS.md   # replace its section

The data are read in place, never copied.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
from btc_experiment import machine_description, to_markdown

import convexforecast as cf

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_UNIVERSE = REPO_ROOT.parent / "shared" / "data" / "universe"
SECTION = "## Universe: 26 US stocks and ETFs, daily, 1-step (issue 14)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--universe", type=Path, default=DEFAULT_UNIVERSE)
    parser.add_argument("--days", type=int, default=504, help="test origins (business days)")
    parser.add_argument("--history", type=int, default=2500,
                        help="training observations before the first origin")
    parser.add_argument("--refit", type=int, default=21, help="refit every K origins")
    parser.add_argument("--lags", type=int, default=5)
    parser.add_argument("--models", nargs="+",
                        default=["naive", "linear", "arima", "convex", "convex-global"])
    parser.add_argument("--series", nargs="+", default=None, help="only these tickers")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--cost-bps", type=float, default=5.0)
    parser.add_argument("--block-length", type=int, default=10)
    parser.add_argument("--n-boot", type=int, default=5000)
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 4 series, 60 days, 300 observations of history")
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/convexforecast-universe"))
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown file whose universe section is replaced by the results")
    args = parser.parse_args(argv)
    if args.quick:
        args.days, args.history, args.refit = 60, 300, 30
        args.series = args.series or ["SPY", "XLE", "AMZN", "JNJ"]
    return args


def build_models(names: list[str], lags: int) -> dict:
    """The compared forecasters, by name."""
    convex = {"lags": lags, "depth": 3, "beta": "cv", "warm_start": True}
    builders = {
        "naive": lambda: cf.NaiveForecaster(),
        "linear": lambda: cf.LinearARForecaster(lags=lags),
        "arima": lambda: cf.ARIMAForecaster(order="auto"),
        "convex": lambda: cf.ConvexARForecaster(**convex),
        "convex-global": lambda: cf.ConvexARForecaster(**convex, global_model=True),
    }
    return {name: builders[name]() for name in names}


def portfolio_table(result: cf.BacktestResult, prices: pd.DataFrame,
                    args: argparse.Namespace) -> pd.DataFrame:
    """Long-short top-k portfolio of every model, with block-bootstrap Sharpe intervals."""
    rows = {}
    benchmark = None
    for name in result.models:
        if name == "naive":
            continue
        book = cf.run_portfolio(result, prices, model=name, rule="long_short",
                                top_k=args.top_k, cost_bps=args.cost_bps, horizon=1)
        interval = cf.sharpe_interval(book.returns, block_length=args.block_length,
                                      n_boot=args.n_boot)
        metrics = book.metrics.loc["strategy"]
        rows[name] = {"total_return": metrics["total_return"], "sharpe": interval["sharpe"],
                      "sharpe_lower_95": interval["lower"], "sharpe_upper_95": interval["upper"],
                      "max_drawdown": metrics["max_drawdown"], "turnover": metrics["turnover"]}
        if benchmark is None:
            bench = cf.sharpe_interval(book.benchmark_returns, block_length=args.block_length,
                                       n_boot=args.n_boot)
            bench_metrics = book.metrics.loc["equal_weight"]
            benchmark = {"total_return": bench_metrics["total_return"],
                         "sharpe": bench["sharpe"], "sharpe_lower_95": bench["lower"],
                         "sharpe_upper_95": bench["upper"],
                         "max_drawdown": bench_metrics["max_drawdown"],
                         "turnover": bench_metrics["turnover"]}
    if benchmark is not None:
        rows["equal_weight (buy and hold)"] = benchmark
    return pd.DataFrame(rows).T


def significance_counts(tests: pd.DataFrame) -> pd.DataFrame:
    """Per model: series where it beats / loses to naive at 5 %, raw, Holm and BH."""
    rows = {}
    for model, group in tests.groupby(level="model", sort=False):
        better, worse = group["statistic"] < 0, group["statistic"] > 0
        rows[model] = {
            "series": len(group),
            "better_raw": int(((group["pvalue"] < 0.05) & better).sum()),
            "worse_raw": int(((group["pvalue"] < 0.05) & worse).sum()),
            "better_holm": int(((group["pvalue_holm"] < 0.05) & better).sum()),
            "worse_holm": int(((group["pvalue_holm"] < 0.05) & worse).sum()),
            "better_bh": int(((group["pvalue_bh"] < 0.05) & better).sum()),
            "worse_bh": int(((group["pvalue_bh"] < 0.05) & worse).sum()),
        }
    return pd.DataFrame(rows).T


def replace_section(path: Path, section: str, body: str) -> None:
    """Replace (or append) the ``section`` heading and its text in the markdown ``path``."""
    text = path.read_text() if path.exists() else ""
    start = text.find(section)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(section))
        text = text[:start] + body + ("" if end < 0 else text[end:])
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Run the experiment, write predictions and a markdown report (see the module docstring)."""
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    machine = machine_description()
    prices = cf.load_csv(args.universe, column="Adj Close", fill="ffill")
    if args.series:
        prices = prices[args.series]
    origin = prices.index[len(prices) - args.days - 1]
    start = max(0, len(prices) - args.days - args.history)
    window = prices.iloc[start:]
    series = {name: window[name].dropna() for name in window.columns}
    models = build_models(args.models, args.lags)
    print(f"{len(series)} series; origins from {origin.date()} ({args.days} days), refit every "
          f"{args.refit}, models {list(models)}", flush=True)

    wall = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cf.backtest(models, series, initial_train_size=origin, steps=1,
                             refit=args.refit, n_jobs=args.n_jobs,
                             refits_per_task=args.days // args.refit + 1, show_progress=True)
    wall = time.perf_counter() - wall
    warning_counts = pd.Series([f"{w.category.__name__}: {str(w.message)[:100]}"
                                for w in caught], dtype=object).value_counts()

    metrics = result.metrics[["n", "mae", "mase", "smape", "directional_accuracy",
                              "directional_pvalue"]]
    pooled = result.dm_tests("naive").droplevel("horizon")
    per_series = result.dm_tests("naive", by_series=True, correction="holm")
    per_series["pvalue_holm"] = per_series.pop("pvalue_adjusted")
    per_series["pvalue_bh"] = result.dm_tests("naive", by_series=True,
                                              correction="fdr_bh")["pvalue_adjusted"]
    mase = result.metrics_by_series["mase"].unstack("model")[result.models]
    portfolio = portfolio_table(result, prices.loc[origin:], args)
    timings = result.timings.copy()

    args.out_dir.mkdir(parents=True, exist_ok=True)
    result.predictions.to_csv(args.out_dir / "predictions.csv", index=False)
    per_series.to_csv(args.out_dir / "dm_by_series.csv")
    command = "python benchmarks/universe_experiment.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    design = {"universe": str(args.universe), "series": len(series),
              "first_origin": str(origin.date()), "last_target": str(prices.index[-1].date()),
              "origins": args.days, "history": args.history, "refit": args.refit,
              "lags": args.lags, "depth": 3, "beta": "cv (5 folds x 20)",
              "n_jobs": args.n_jobs, "top_k": args.top_k, "cost_bps": args.cost_bps,
              "block_length": args.block_length, "n_boot": args.n_boot}
    body = "\n\n".join([
        SECTION,
        f"Command: `{command.strip()}`",
        f"Started {started:%Y-%m-%d %H:%M} UTC; machine: {machine}",
        f"Design: `{json.dumps(design)}`",
        f"Backtest wall time (all models, n_jobs={args.n_jobs}): {wall:.0f} s",
        "### Accuracy, all series pooled (1-step, price level; MASE and sMAPE are scale-free)",
        to_markdown(metrics),
        "### Diebold–Mariano vs naive, pooled (MASE-scaled squared loss averaged over series "
        "per origin; negative statistic = better than naive)", to_markdown(pooled),
        "### Per-series Diebold–Mariano vs naive: series significant at 5 %",
        to_markdown(significance_counts(per_series)),
        "### MASE per series", to_markdown(mase, ".3f"),
        f"### Long-short top-{args.top_k} portfolio, {args.cost_bps:g} bps per unit traded, "
        f"252 bars/year; Sharpe 95 % interval by circular block bootstrap (block "
        f"{args.block_length} days, {args.n_boot} resamples)", to_markdown(portfolio),
        "### Time per model (seconds, summed over tasks)", to_markdown(timings, ".1f"),
        "### Warnings", to_markdown(warning_counts.rename("count").to_frame())
        if len(warning_counts) else "none",
    ]) + "\n"
    (args.out_dir / "report.md").write_text(body)
    if args.out is not None:
        replace_section(args.out, SECTION, body)
    print(body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
