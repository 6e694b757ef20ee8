"""Output helpers shared by the command-line modules (:mod:`convexforecast.cli`,
:mod:`convexforecast.cli_universe`)."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

PROG = "convexforecast"


def note(message: str) -> None:
    print(f"{PROG}: note: {message}", file=sys.stderr)


def print_table(title: str, frame: pd.DataFrame) -> None:
    print(f"\n{title}")
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        print(frame.to_string(float_format=lambda v: f"{v:.4g}"))


def print_strategies(title: str, results: dict, benchmark: str, columns: list[str]) -> None:
    """One row per model's strategy (``results``: name -> StrategyResult or PortfolioResult)
    plus the ``benchmark`` row, with ``columns`` of their metrics."""
    if not results:
        return
    table = pd.DataFrame({name: r.metrics.loc["strategy"] for name, r in results.items()})
    table[benchmark] = next(iter(results.values())).metrics.loc[benchmark]
    print_table(title, table.T[columns])


def periods_per_year(index: pd.DatetimeIndex) -> float:
    freq = index.freq
    if freq is None:
        return 252.0
    name = freq.name if hasattr(freq, "name") else str(freq)
    table = {"B": 252.0, "C": 252.0, "D": 365.0, "W": 52.0, "MS": 12.0, "ME": 12.0, "M": 12.0}
    if name in table:
        return table[name] / max(1, getattr(freq, "n", 1))
    try:
        return pd.Timedelta(days=365.25) / pd.Timedelta(freq)
    except (TypeError, ValueError):
        return 252.0


def describe_args(args: argparse.Namespace, initial: int) -> str:
    """The backtest's settings in one line (the report's notes)."""
    beta = args.beta if isinstance(args.beta, str) else f"{args.beta:g}"
    text = (f"models={','.join(args.models)} lags={args.lags} depth={args.depth} beta={beta} "
            f"transform={args.transform} steps={args.steps} last={args.last} "
            f"initial={initial} refit={args.refit} level={args.level} rule={args.rule} "
            f"cost_bps={args.cost_bps:g}")
    if getattr(args, "exog", None) is not None or getattr(args, "exog_csv", None) is not None:
        known = ",".join(args.known_exog or []) or "none"
        transform = args.exog_transform if isinstance(args.exog_transform, str) else ",".join(
            f"{k}={v}" for k, v in args.exog_transform.items())
        text += (f" exog_lags={args.exog_lags} known_exog={known} "
                 f"exog_transform={transform}")
    return text
