"""``convexforecast backtest`` on a universe of series (``--tickers`` or ``--csv-dir``).

Every series is backtested on its own calendar over the same final ``--last`` dates of the
union of the calendars: the first origin is the same date for all (so the portfolio trades one
book), and each series trains on up to ``--initial`` observations before it. Local models are
fitted per series; ``convex-global`` is one convex network on the pooled windows of all
series. The command prints pooled and per-series accuracy, pooled Diebold–Mariano tests and
per-series ones with Holm's correction, and trades each model's forecasts as a portfolio
(``--portfolio``, ``--top-k``) against the equal-weight buy-and-hold of the universe.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from ._cli_shared import (
    PROG,
    describe_args,
    note,
    periods_per_year,
    print_strategies,
    print_table,
)

__all__ = ["load_universe", "run_universe_backtest", "universe_window"]


def load_universe(args: argparse.Namespace) -> pd.DataFrame:
    """The prices of ``--tickers`` or ``--csv-dir`` as one wide frame (union of the dates)."""
    from .data import load_csv, load_prices

    fill = None if args.fill == "strict" else "ffill"
    if args.tickers:
        tickers = [t.strip() for t in args.tickers.split(",") if t.strip()]
        prices = load_prices(tickers, start=args.start, end=args.end, interval=args.interval,
                             column=args.column or "Close", cache_dir=args.cache_dir, fill=fill)
        label = f"{len(tickers)} tickers ({args.column or 'Close'}, yfinance)"
    else:
        prices = load_csv(args.csv_dir, column=args.column or "Close", fill=fill,
                          drop_last=args.drop_last)
        if isinstance(prices, pd.Series):
            raise ValueError(f"`--csv-dir` must be a folder of CSV files or a wide CSV with one "
                             f"column per series. Got {args.csv_dir!r}, a file of one series.")
        label = f"{prices.shape[1]} series from {Path(args.csv_dir).name}"
        if args.start or args.end:
            lo = prices.index.searchsorted(pd.Timestamp(args.start)) if args.start else 0
            hi = (prices.index.searchsorted(pd.Timestamp(args.end)) if args.end
                  else len(prices))
            prices = prices.iloc[lo:hi]
    filled = {k: v for k, v in prices.attrs.get("n_filled", {}).items() if v}
    if filled:
        note(f"{label}: forward-filled missing dates or values in {len(filled)} series "
              f"({', '.join(f'{k}: {v}' for k, v in filled.items())}); --fill strict refuses "
              "them")
    prices.attrs["label"] = label
    return prices


def universe_window(prices: pd.DataFrame, last: int, initial: int | None
                    ) -> tuple[dict[str, pd.Series], pd.Timestamp]:
    """Each series over the window the backtest needs, and the common first origin.

    The first origin is the date ``last`` rows before the end of the union calendar; each
    series keeps at most ``initial`` observations up to it (default: all it has), and only
    its own observed dates (a union calendar's NaN are other calendars' dates).
    """
    if last >= len(prices):
        raise ValueError(f"`--last` must be smaller than the {len(prices)} dates of the "
                         f"universe. Got {last}.")
    origin = prices.index[len(prices) - last - 1]
    series = {}
    for name in prices.columns:
        column = prices[name].dropna()
        position = int(column.index.searchsorted(origin, side="right"))
        start = 0 if initial is None else max(0, position - initial)
        series[str(name)] = column.iloc[start:]
    return series, origin


def run_universe_backtest(args: argparse.Namespace, models: dict[str, Any]) -> int:
    """The backtest subcommand for a universe (module docstring)."""
    from .forecasting.backtest import backtest
    from .forecasting.folds import TimeSeriesFold
    from .forecasting.portfolio import run_portfolio
    from .report import write_backtest_report

    prices = load_universe(args)
    series, origin = universe_window(prices, args.last, args.initial)
    cv = TimeSeriesFold(initial_train_size=origin, steps=args.steps, fold_stride=1,
                        refit=args.refit)
    print(f"{PROG} backtest: {prices.attrs['label']}: {', '.join(series)}")
    print(f"plan: origins from {origin.date()} to the end ({args.last} dates of the union "
          f"calendar), {args.steps} step(s) per origin, refit every {args.refit} origins, "
          f"models {', '.join(models)}, jobs {args.jobs}")
    result = backtest(models, series, cv, n_jobs=args.jobs, show_progress=not args.no_progress,
                      refits_per_task=args.refits_per_task,
                      intervals={"method": "conformal", "level": args.level})
    shown = [c for c in ("mae", "mase", "smape", "directional_accuracy", "coverage")
             if c in result.metrics.columns]
    print_table("metrics, all series pooled (MASE and sMAPE are scale-free):",
                 result.metrics[shown])
    print_table("MASE per series:", result.metrics_by_series["mase"].unstack("model"))
    if "naive" in models and len(models) > 1:  # the report writes both tables
        pooled = result.dm_tests("naive")
        per_series = result.dm_tests("naive", by_series=True, correction="holm")
        print_table("Diebold-Mariano (HLN) vs naive, pooled over series (MASE-scaled squared "
                     "loss; negative = better than naive):",
                     pooled[["statistic", "pvalue", "n_series"]])
        wins = per_series[(per_series["pvalue_adjusted"] < 0.05)
                          & (per_series["statistic"] < 0)]
        print(f"series where a model beats naive at 5% after Holm's correction: "
              f"{len(wins)} of {len(per_series)} tests")
    portfolios = {
        name: run_portfolio(result, prices.loc[origin:], model=name, rule=args.portfolio,
                            top_k=min(args.top_k, max(1, len(series) // 2)), horizon=1,
                            cost_bps=args.cost_bps,
                            periods_per_year=periods_per_year(prices.index))
        for name in models if name != "naive"
    }
    print_strategies(f"portfolio ({args.portfolio}, top {args.top_k}, {args.cost_bps:g} bps):",
                     portfolios, "equal_weight",
                     ["total_return", "sharpe", "max_drawdown", "turnover"])
    print_table("fit time (s):", result.timings[["fit_seconds", "n_fits"]])
    notes = [f"data: {prices.attrs['label']}", f"series: {', '.join(series)}",
             f"settings: {describe_args(args, args.initial or 0)} "
             f"portfolio={args.portfolio} top_k={args.top_k}"]
    files = write_backtest_report(result, args.out, strategies=portfolios,
                                  title=f"convexforecast universe backtest: "
                                        f"{prices.attrs['label']}", notes=notes)
    print(f"\nreport: {files.html}")
    return 0
