"""Exogenous inputs on real data (issue 15): does the market's and a stock's own volume help?

Design (defaults): for every single stock of ``../shared/data/universe/`` (the ETFs are left
out), 1-step-ahead forecasts of the daily adjusted close over the final ``--days`` business
days, expanding window from ``--initial`` observations, refit every ``--refit`` origins (the
origin moves by ``update`` in between). Each model is run twice on the same folds: without
exogenous inputs, and with two past-only inputs at lag 1 of the origin (the value observed
there): SPY's adjusted close and the stock's own volume, both as log returns
(``exog_transform="log_return"``; refitted per training window). Models: the convex AR
network (5 lags of log returns, depth 3, β by 5-fold forward-chaining CV in every fit) and the
linear AR (OLS, same lags; ARX with exog); the naive random walk as the common reference.

Reported (markdown on stdout, or ``--out FILE``): per stock the RMSE of each model, the
Diebold-Mariano test (HLN, squared loss, two-sided) of each model *with* exog against the
same model *without*, Holm-adjusted p-values over the stocks, how often the convex net selects
an exogenous input, and the wall time.

Data are read in place. Daily bars are forward-filled onto the business-day grid (exchange
holidays; the volume of a holiday repeats the day before, as the price does). The price CSVs
end on 2024-02-16.

Usage::

    python benchmarks/exog_experiment.py                       # full design (~5-10 min)
    python benchmarks/exog_experiment.py --stocks JNJ NVDA --days 60 --refit 20   # smoke
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _machine import cpu_model

import convexforecast as cf
from convexforecast.data import load_exog
from convexforecast.forecasting.metrics import diebold_mariano

REPO_ROOT = Path(__file__).resolve().parents[1]
UNIVERSE = REPO_ROOT.parent / "shared" / "data" / "universe"
ETFS = {"SPY", "DIA", "EEM", "SLV", "SMH", "XBI", "XLE", "XLF", "XLK", "XOP"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--universe", type=Path, default=UNIVERSE)
    parser.add_argument("--stocks", nargs="+", default=None, help="default: every non-ETF file")
    parser.add_argument("--days", type=int, default=252, help="test origins (final N days)")
    parser.add_argument("--initial", type=int, default=1500, help="training observations")
    parser.add_argument("--refit", type=int, default=5, help="refit every K origins")
    parser.add_argument("--lags", type=int, default=5)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    return parser.parse_args(argv)


def load(universe: Path, stock: str, n: int) -> tuple[pd.Series, pd.DataFrame]:
    """The stock's adjusted close (last ``n`` business days) and its exogenous inputs."""
    y = cf.load_csv(universe / f"{stock}.csv", column="Adj Close", fill="ffill")
    y = y.iloc[-n:]
    volume = load_exog(universe / f"{stock}.csv", ["Volume"], index=y.index, fill="ffill")
    market = load_exog(universe / "SPY.csv", ["Adj Close"], index=y.index, fill="ffill")
    exog = pd.DataFrame({"SPY": market["Adj Close"], "Volume": volume["Volume"]})
    return y, exog


def models(args: argparse.Namespace) -> dict[str, object]:
    exog = {"exog_transform": "log_return"}  # both inputs as log returns, lag 1 of the origin
    return {
        "convex": cf.ConvexARForecaster(lags=args.lags, depth=args.depth, **exog),
        "linear": cf.LinearARForecaster(lags=args.lags, **exog),
    }


def run_stock(args: argparse.Namespace, stock: str) -> dict[str, object]:
    y, exog = load(args.universe, stock, args.initial + args.days)
    settings = dict(initial_train_size=args.initial, steps=1, refit=args.refit,
                    show_progress=False)
    base = models(args)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = cf.backtest({**base, "naive": cf.NaiveForecaster()}, y, **settings)
        with_exog = cf.backtest({f"{k}+exog": v for k, v in base.items()}, y, exog=exog,
                                **settings)
    seconds = time.perf_counter() - start
    predictions = pd.concat([plain.predictions, with_exog.predictions], ignore_index=True)
    row: dict[str, object] = {"stock": stock, "seconds": seconds,
                              "first_origin": str(y.index[args.initial - 1].date()),
                              "last_target": str(y.index[-1].date())}
    for name, group in predictions.groupby("model", sort=False):
        error = group["actual"] - group["forecast"]
        row[f"rmse_{name}"] = float(np.sqrt(np.mean(error ** 2)))
    for name in base:
        a = predictions[predictions["model"] == f"{name}+exog"].set_index("target")
        b = predictions[predictions["model"] == name].set_index("target")
        try:
            test = diebold_mariano(a["actual"] - a["forecast"], b["actual"] - b["forecast"])
            row[f"dm_{name}"], row[f"p_{name}"] = test.statistic, test.pvalue
        except ValueError:  # identical forecasts (e.g. both networks empty): no test
            row[f"dm_{name}"], row[f"p_{name}"] = np.nan, np.nan
    # how often the convex net uses an exogenous input (refit on the last window)
    last = cf.ConvexARForecaster(lags=args.lags, depth=args.depth, exog_transform="log_return")
    last.fit(y.iloc[:-1], exog=exog.iloc[:-1])
    inputs = set(last.selected_features()["input"])
    row["last_fit_exog_inputs"] = ", ".join(sorted(i for i in inputs if not i.startswith("lag_")))
    row["last_fit_beta"] = last.beta_
    return row


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment (family-wise error over the stocks)."""
    p = np.nan_to_num(np.asarray(pvalues, dtype=np.float64), nan=1.0)  # no test: p = 1
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (len(p) - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted


def markdown(frame: pd.DataFrame) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stocks = args.stocks or sorted(p.stem for p in args.universe.glob("*.csv")
                                   if p.stem not in ETFS)
    rows = []
    for stock in stocks:
        row = run_stock(args, stock)
        rows.append(row)
        print(f"{stock}: {row['seconds']:.1f} s; convex DM {row['dm_convex']:.3f} "
              f"(p {row['p_convex']:.3f}), linear DM {row['dm_linear']:.3f} "
              f"(p {row['p_linear']:.3f})", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    for name in ("convex", "linear"):
        table[f"p_holm_{name}"] = holm(table[f"p_{name}"].to_numpy())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                            capture_output=True, text=True).stdout.strip()
    header = (f"Run {dt.date.today()}, commit {commit}, {cpu_model()}, Python "
              f"{platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}; "
              f"{len(stocks)} stocks, {args.days} origins each (first "
              f"{table['first_origin'].iloc[0]}, last target {table['last_target'].iloc[0]}), "
              f"initial window {args.initial}, refit every {args.refit}, lags {args.lags}, "
              f"depth {args.depth}; total {table['seconds'].sum():.0f} s of wall time.")
    accuracy = table[["stock", "rmse_naive", "rmse_convex", "rmse_convex+exog", "rmse_linear",
                      "rmse_linear+exog"]]
    tests = table[["stock", "dm_convex", "p_convex", "p_holm_convex", "dm_linear", "p_linear",
                   "p_holm_linear", "last_fit_exog_inputs", "last_fit_beta", "seconds"]]
    text = "\n\n".join([header, "RMSE (USD, 1-step, price level):", markdown(accuracy),
                        "Diebold-Mariano, model with exog vs the same model without (HLN, "
                        "squared loss; negative = exog better):", markdown(tests)])
    summary = []
    for name in ("convex", "linear"):
        better = int((table[f"dm_{name}"] < 0).sum())
        significant = int((table[f"p_{name}"] < 0.05).sum())
        identical = int(table[f"dm_{name}"].isna().sum())
        summary.append(f"{name}: exog lowers the squared loss on {better} of {len(table)} "
                       f"stocks (identical forecasts, no test, on {identical}); p < 0.05 "
                       f"(unadjusted) on {significant}, after Holm on "
                       f"{int((table[f'p_holm_{name}'] < 0.05).sum())}; mean DM statistic "
                       f"{table[f'dm_{name}'].mean():.3f} (over the tested stocks).")
    text += "\n\n" + "\n".join(f"- {line}" for line in summary) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
