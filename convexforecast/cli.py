"""The ``convexforecast`` command line.

Subcommands
-----------
``backtest`` (also what a bare ``convexforecast`` runs)
    Rolling-origin comparison of forecasters; prints the fold plan and a metrics table and
    writes a report (CSV tables, PNG plots, one self-contained HTML file) to ``--out``.
``forecast``
    Fit on the whole series and print the next ``--steps`` forecasts with split-conformal
    prediction intervals calibrated on a short rolling backtest of the same model.
``fetch``
    Download a ticker with yfinance into the on-disk cache and summarise it.
``explain``
    Fit the convex network and print what it learned: its selected features per lag (kink
    locations, reflections ``2 x_j - x_k``, coefficients), the certified duality gap and, with
    ``--out DIR``, its response curves and CV curve as PNG and CSV files.

Data (every subcommand but ``fetch``): ``--dataset sp500`` (default, offline, S&P 500 daily
adjusted close 1999-2018 from the ``arch`` package), ``--ticker SYMBOL`` (yfinance, cached) or
``--csv PATH`` (a Yahoo-format CSV). ``backtest`` also takes a universe, ``--tickers A,B,C`` or
``--csv-dir DIR`` (see :mod:`convexforecast.cli_universe`), with portfolio options
``--portfolio`` and ``--top-k``. Daily stock data have exchange holidays; by default they
are forward-filled onto the business-day grid (``--fill ffill``, reported on stderr) because the
forecasters need a regular frequency.

Exogenous inputs (``backtest``): ``--exog COLUMN[,COLUMN]`` from the same CSV (e.g. ``Volume``)
and/or ``--exog-csv FILE`` (every column of a wide CSV, or the price column of another ticker's
Yahoo-format file, named after the file, e.g. ``SPY``), filled like the series and checked to
cover its dates. The convex, Adam, linear and ARIMA models use them as ``--exog-lags``,
``--known-exog`` and ``--exog-transform`` say; the naive and drift baselines ignore them.

Default flagship backtest: S&P 500, the final ``--last 250`` business days (one year) as
1-step-ahead origins, ``--initial 750`` observations (3 years) of expanding training history,
refit every ``--refit 50`` origins (5 fits per model, the origin moves by ``update`` in between),
5 lags of log returns, depth 3, beta by 5-fold CV (the Adam net trains at the beta the convex
CV picks, 300 epochs), models convex, ARIMA (auto order), Adam and naive, 90% conformal
intervals, long/flat strategy with 5 bps costs, ``--jobs 1`` (on 2 cores, parallel ARIMA fits
contend for the CPU and loky workers take seconds to start; use ``--jobs -1`` for long runs).

Exit status: 0 on success, 1 on bad input or unavailable data (one ``convexforecast: error:``
line on stderr, no traceback; ``--debug`` shows it), 2 on command-line usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._artefacts import library_version
from ._cli_shared import (
    PROG,
    describe_args,
    note,
    periods_per_year,
    print_strategies,
    print_table,
)
from ._validation import (
    InvalidParameterError,
    check_beta,
    check_fraction,
    check_nonnegative_float,
    check_positive_int,
)

__all__ = ["MODELS", "build_forecasters", "main"]

MODELS = ("convex", "convex-global", "arima", "adam", "naive", "linear", "drift")
DEFAULT_MODELS = "convex,arima,adam,naive"
DEFAULTS = {
    "lags": 5, "depth": 3, "beta": "cv", "steps_ahead": 1, "last": 250, "initial": 750,
    "refit": 50, "jobs": 1, "epochs": 300, "level": 0.9, "cost_bps": 5.0, "steps": 5,
    "calibration": 100, "top_k": 3,
}


class UsageError(Exception):
    """A command-line usage error (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors become one-line messages instead of usage + exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")


# ------------------------------------------------------------------------ option types
def _option_type(convert: Callable[[str], Any], check: Callable[[str, Any], Any],
                 must: str) -> Callable[[str], Any]:
    """An argparse type: convert the text, then apply the library's own check."""

    def parse(text: str) -> Any:
        try:
            return check("value", convert(text))
        except (ValueError, InvalidParameterError):
            raise argparse.ArgumentTypeError(f"must be {must}, got {text!r}") from None

    return parse


_positive_int = _option_type(int, check_positive_int, "an integer >= 1")
_nonnegative_float = _option_type(float, check_nonnegative_float, "a finite number >= 0")
_level = _option_type(float, check_fraction, "a number in (0, 1)")
_beta = _option_type(lambda t: "cv" if t.strip().lower() == "cv" else float(t),
                     lambda name, v: check_beta(v, name), "'cv' or a finite number > 0")


def _refits_per_task(text: str) -> int | str:
    return "auto" if text.strip().lower() == "auto" else _positive_int(text)


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-zero integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("must be a non-zero integer (-1: all cores), got '0'")
    return value


class _Renamed(argparse.Action):
    """A deprecated option name: stores into the new option's destination, with a note."""

    def __init__(self, option_strings, dest, new: str = "", **kwargs) -> None:
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        note(f"{option_string} is deprecated and will be removed in the next release; use "
              f"{self.new}")
        setattr(namespace, self.dest, values)


def _models(text: str) -> list[str]:
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"must list models from {','.join(MODELS)}, got {text!r}")
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown model(s) {','.join(unknown)}; choose from "
                                         f"{','.join(MODELS)}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"lists a model twice: {text!r}")
    return names


def _columns(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"must list distinct column names, got {text!r}")
    return names


def _exog_transform(text: str) -> str | dict[str, str]:
    from .forecasting.exog import EXOG_TRANSFORMS

    if "=" not in text:
        pairs: dict[str, str] | str = text.strip()
        values = [text.strip()]
    else:
        pairs = {}
        for part in text.split(","):
            column, _, value = part.partition("=")
            pairs[column.strip()] = value.strip()
        values = list(pairs.values())
    if any(v not in EXOG_TRANSFORMS for v in values) or any(not k for k in pairs if
                                                             isinstance(pairs, dict)):
        raise argparse.ArgumentTypeError(f"must be one of {','.join(EXOG_TRANSFORMS)} or "
                                         f"COLUMN=TRANSFORM[,...], got {text!r}")
    return pairs


def _order(text: str) -> str | tuple[int, int, int]:
    if text.strip().lower() == "auto":
        return "auto"
    parts = text.split(",")
    try:
        order = tuple(int(p) for p in parts)
    except ValueError:
        order = ()
    if len(order) != 3 or min(order) < 0:
        raise argparse.ArgumentTypeError(f"must be 'auto' or p,d,q (e.g. 1,1,1), got {text!r}")
    return order  # type: ignore[return-value]


# ----------------------------------------------------------------------------- parser
def _data_options(parser: argparse.ArgumentParser, universe: bool = False) -> None:
    group = parser.add_argument_group("data")
    source = group.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None, metavar="NAME",
                        help="built-in dataset: sp500 (default) or nasdaq")
    source.add_argument("--ticker", metavar="SYMBOL", help="Yahoo Finance ticker, e.g. BTC-USD")
    source.add_argument("--csv", metavar="PATH", help="Yahoo-format CSV file")
    if universe:
        source.add_argument("--tickers", metavar="A,B,...",
                            help="a universe of Yahoo tickers, backtested together")
        source.add_argument("--csv-dir", metavar="DIR",
                            help="a universe: a folder of Yahoo-format CSVs (one per ticker) "
                                 "or one wide CSV")
    group.add_argument("--column", default=None,
                       help="price column (default: 'Adj Close' for datasets, else 'Close')")
    group.add_argument("--start", help="first date (inclusive), e.g. 2015-01-01")
    group.add_argument("--end", help="end date (exclusive)")
    group.add_argument("--interval", default="1d", help="bar interval for --ticker (default 1d)")
    group.add_argument("--fill", choices=("ffill", "strict"), default="ffill",
                       help="missing dates/NaNs: forward-fill onto the regular grid (default, "
                            "reported) or fail (strict)")
    group.add_argument("--drop-last", action="store_true",
                       help="drop the last row (e.g. an intraday snapshot at the end of a CSV)")
    group.add_argument("--cache-dir", metavar="DIR", help="price cache directory")


def _model_options(parser: argparse.ArgumentParser, models_default: str | None) -> None:
    group = parser.add_argument_group("models")
    if models_default is not None:
        group.add_argument("--models", type=_models, default=_models(models_default),
                           help=f"comma-separated subset of {','.join(MODELS)} "
                                f"(default {models_default})")
    group.add_argument("--lags", type=_positive_int, default=DEFAULTS["lags"],
                       help=f"autoregressive lags (default {DEFAULTS['lags']})")
    group.add_argument("--depth", type=_positive_int, default=DEFAULTS["depth"],
                       help=f"network depth of convex and Adam nets (default {DEFAULTS['depth']})")
    group.add_argument("--beta", type=_beta, default=DEFAULTS["beta"],
                       help="regularisation: 'cv' (cross-validated, default) or a number >= 0")
    group.add_argument("--transform", default="log_return",
                       choices=("log_return", "diff", "log", "none"),
                       help="scale the AR models are fitted on (default log_return)")
    group.add_argument("--arima-order", type=_order, default="auto",
                       help="ARIMA order: 'auto' (default) or p,d,q")
    group.add_argument("--epochs", type=_positive_int, default=DEFAULTS["epochs"],
                       help=f"Adam epochs (default {DEFAULTS['epochs']})")
    group.add_argument("--random-state", type=int, default=0, dest="random_state",
                       help="Adam's random seed (default 0)")
    group.add_argument("--seed", type=int, dest="random_state", action=_Renamed,
                       new="--random-state", help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = _Parser(prog=PROG, description="Forecast price series with convex (globally "
                     "optimal) neural networks and compare them with ARIMA, Adam and baselines.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {library_version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    bt = sub.add_parser("backtest", help="rolling-origin comparison with a report (default)",
                        description="Rolling-origin backtest; writes CSVs, PNGs and an HTML "
                                    "report to --out.")
    _data_options(bt, universe=True)
    _model_options(bt, DEFAULT_MODELS)
    run = bt.add_argument_group("backtest")
    run.add_argument("--steps", type=_positive_int, default=DEFAULTS["steps_ahead"],
                     help=f"steps forecast from each origin (default {DEFAULTS['steps_ahead']})")
    run.add_argument("--horizon", type=_positive_int, dest="steps", action=_Renamed,
                     new="--steps", help=argparse.SUPPRESS)
    run.add_argument("--last", type=_positive_int, default=DEFAULTS["last"],
                     help=f"backtest the final N observations (default {DEFAULTS['last']})")
    run.add_argument("--initial", type=_positive_int, default=None,
                     help=f"training observations before the first origin (default "
                          f"{DEFAULTS['initial']}, or all available if fewer)")
    run.add_argument("--refit", type=_positive_int, default=DEFAULTS["refit"],
                     help=f"refit every K origins, update in between (default {DEFAULTS['refit']})")
    run.add_argument("--jobs", type=_jobs, default=DEFAULTS["jobs"],
                     help=f"parallel workers, -1 = all cores (default {DEFAULTS['jobs']})")
    run.add_argument("--refits-per-task", type=_refits_per_task, default="auto", metavar="K",
                     help="consecutive refits per task: 'auto' (default: all refits of a "
                          "series in one task for the warm-started convex net, one per task "
                          "for the other models) or K")
    run.add_argument("--level", type=_level, default=DEFAULTS["level"],
                     help=f"conformal interval level (default {DEFAULTS['level']})")
    run.add_argument("--rule", choices=("long_flat", "long_short", "sized"), default="long_flat",
                     help="strategy position rule (default long_flat)")
    run.add_argument("--cost-bps", type=_nonnegative_float, default=DEFAULTS["cost_bps"],
                     help=f"transaction cost per unit traded in bps (default "
                          f"{DEFAULTS['cost_bps']:g})")
    run.add_argument("--portfolio", choices=("top_k", "long_short", "sign"),
                     default="long_short",
                     help="universes: how forecasts become portfolio weights (default "
                          "long_short)")
    run.add_argument("--top-k", type=_positive_int, default=DEFAULTS["top_k"], metavar="K",
                     help=f"universes: assets per side of the portfolio (default "
                          f"{DEFAULTS['top_k']})")
    run.add_argument("--out", default="convexforecast-report", metavar="DIR",
                     help="report directory (default ./convexforecast-report)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    exog = bt.add_argument_group("exogenous inputs")
    exog.add_argument("--exog", type=_columns, metavar="COLUMN[,COLUMN]",
                      help="columns of the --csv file used as exogenous inputs, e.g. Volume")
    exog.add_argument("--exog-csv", metavar="FILE",
                      help="CSV of exogenous inputs on the same dates: every column of a wide "
                           "CSV, or the price column (--column) of a Yahoo-format file, named "
                           "after the file (e.g. SPY)")
    exog.add_argument("--exog-lags", type=_positive_int, default=1, metavar="P",
                      help="lags 1..P of the origin for past-only inputs (default 1: the "
                           "value at the origin)")
    exog.add_argument("--known-exog", type=_columns, default=None, metavar="COLUMN[,COLUMN]",
                      help="inputs known in advance (used at the target time)")
    exog.add_argument("--exog-transform", type=_exog_transform, default="none",
                      metavar="T|COLUMN=T,...",
                      help="none (default), diff, log_return or standardize, for every input "
                           "or per column")

    fc = sub.add_parser("forecast", help="forecast the next steps with intervals",
                        description="Fit on the whole series and forecast the next --steps "
                                    "values with split-conformal intervals.")
    _data_options(fc)
    _model_options(fc, "convex")
    opts = fc.add_argument_group("forecast")
    opts.add_argument("--steps", type=_positive_int, default=DEFAULTS["steps"],
                      help=f"forecast horizon (default {DEFAULTS['steps']})")
    opts.add_argument("--level", type=_level, default=DEFAULTS["level"],
                      help=f"interval level (default {DEFAULTS['level']})")
    opts.add_argument("--calibration", type=_positive_int, default=DEFAULTS["calibration"],
                      help=f"rolling origins used to calibrate the intervals (default "
                           f"{DEFAULTS['calibration']})")
    opts.add_argument("--out", default=None, metavar="DIR",
                      help="also write forecast.csv into DIR")

    fe = sub.add_parser("fetch", help="download a ticker into the cache",
                        description="Download a ticker with yfinance and cache it on disk.")
    fe.add_argument("--ticker", required=True, metavar="SYMBOL", help="Yahoo ticker")
    fe.add_argument("--start", help="first date (inclusive)")
    fe.add_argument("--end", help="end date (exclusive)")
    fe.add_argument("--interval", default="1d", help="bar interval (default 1d)")
    fe.add_argument("--column", default="Close", help="column to summarise (default Close)")
    fe.add_argument("--cache-dir", metavar="DIR", help="price cache directory")

    ex = sub.add_parser("explain", help="show what the convex network learned",
                        description="Fit the convex AR network and print, per lag, the "
                                    "selected features: kinks, reflections and coefficients; "
                                    "with --out also write its response curves and CV curve "
                                    "(PNG) and the tables behind them (CSV).")
    _data_options(ex)
    _model_options(ex, None)
    ex.add_argument("--out", default=None, metavar="DIR",
                    help="write response_curves.png, cv_curve.png and the CSVs (curves, kinks, "
                         "inputs, certificate, beta_path) into DIR")
    return parser


# ------------------------------------------------------------------------------- data
def load_series(args: argparse.Namespace) -> pd.Series:
    """Load the series selected by the data options (validated, regular frequency)."""
    from .data import load_csv, load_dataset, load_prices

    fill = None if args.fill == "strict" else "ffill"
    if args.ticker:
        y = load_prices(args.ticker, start=args.start, end=args.end, interval=args.interval,
                        column=args.column or "Close", cache_dir=args.cache_dir, fill=fill)
        label = f"{args.ticker} ({y.attrs.get('column')}, {y.attrs.get('source')})"
    elif args.csv:
        y = load_csv(args.csv, column=args.column or "Close", fill=fill,
                     drop_last=args.drop_last)
        label = f"{Path(args.csv).name} ({y.attrs.get('column')})"
    else:
        name = args.dataset or "sp500"
        y = load_dataset(name, column=args.column, fill=fill)
        label = f"{name} ({y.attrs.get('column')}, built-in)"
    if args.drop_last and not args.csv:
        y = y.iloc[:-1]
    if not args.ticker and (args.start or args.end):
        y = _slice_dates(y, args.start, args.end)
    if y.attrs.get("n_filled"):
        note(f"{label}: forward-filled {y.attrs['n_filled']} missing date(s) or value(s) "
              "of the full series (e.g. exchange holidays); --fill strict refuses them")
    if y.index.freq is None and len(y) > 2:
        raise ValueError(f"{label} has no regular frequency (irregular timestamps); the "
                         "forecasters need a regular grid.")
    y.attrs["label"] = label
    return y


def _slice_dates(y: pd.Series, start: str | None, end: str | None) -> pd.Series:
    bounds = {}
    for name, value in (("--start", start), ("--end", end)):
        if value is not None:
            try:
                bounds[name] = pd.Timestamp(value)
            except ValueError:
                raise ValueError(f"`{name}` must be a date such as 2015-01-31. Got "
                                 f"{value!r}.") from None
    lo = 0 if "--start" not in bounds else int(y.index.searchsorted(bounds["--start"]))
    hi = len(y) if "--end" not in bounds else int(y.index.searchsorted(bounds["--end"]))
    out = y.iloc[lo:hi]  # positional slice keeps index.freq
    if out.empty:
        window = f"{start or 'the first date'} .. {end or 'the last date'}"
        raise ValueError(f"No observations in the window --start/--end {window}; the series "
                         f"covers {y.index[0].date()} to {y.index[-1].date()}.")
    return out


# ----------------------------------------------------------------------------- models
@dataclass(frozen=True)
class ModelSettings:
    """Hyper-parameters shared by the forecasters the CLI builds."""

    lags: int = DEFAULTS["lags"]
    depth: int = DEFAULTS["depth"]
    beta: str | float = DEFAULTS["beta"]
    transform: str = "log_return"
    arima_order: Any = "auto"
    epochs: int = DEFAULTS["epochs"]
    random_state: int = 0
    exog_lags: int = 1
    known_exog: tuple[str, ...] | None = None
    exog_transform: Any = "none"

    def exog(self) -> dict[str, Any]:
        """The exogenous parameters of the models that use exog."""
        known = None if self.known_exog is None else list(self.known_exog)
        return {"exog_lags": self.exog_lags, "known_exog": known,
                "exog_transform": self.exog_transform}


def _import(module: str, name: str, model: str) -> Any:
    try:
        return getattr(importlib.import_module(f"convexforecast.forecasting.{module}"), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"model {model!r} is unavailable: convexforecast.forecasting.{module}."
                         f"{name} could not be imported ({exc}).") from None


def _builders() -> dict[str, Callable[[ModelSettings], Any]]:
    return {
        "convex": lambda s: _import("convex", "ConvexARForecaster", "convex")(
            lags=s.lags, depth=s.depth, beta=s.beta, transform=s.transform, **s.exog()),
        "convex-global": lambda s: _import("convex", "ConvexARForecaster", "convex-global")(
            lags=s.lags, depth=s.depth, beta=s.beta, transform=s.transform, global_model=True),
        "arima": lambda s: _import("arima", "ARIMAForecaster", "arima")(order=s.arima_order,
                                                                        **s.exog()),
        "adam": lambda s: _import("neural", "AdamNetForecaster", "adam")(
            lags=s.lags, depth=s.depth, beta=s.beta, transform=s.transform, epochs=s.epochs,
            random_state=s.random_state, **s.exog()),
        "naive": lambda s: _import("baselines", "NaiveForecaster", "naive")(),
        "linear": lambda s: _import("baselines", "LinearARForecaster", "linear")(
            lags=s.lags, transform=s.transform, **s.exog()),
        "drift": lambda s: _import("baselines", "DriftForecaster", "drift")(),
    }


def build_forecasters(names: Sequence[str], settings: ModelSettings | None = None
                      ) -> dict[str, Any]:
    """Forecasters by CLI name (``convex, convex-global, arima, adam, naive, linear, drift``;
    ``convex-global`` is one convex network fitted on all series of a universe).

    The Adam net uses the same lags, transform, depth and beta as the convex net (with
    ``beta="cv"`` it trains at the beta the convex net's cross-validation picks on the same
    window), so the two minimise the same objective.
    """
    settings = settings or ModelSettings()
    builders = _builders()
    unknown = [n for n in names if n not in builders]
    if unknown:
        raise ValueError(f"`models` must be chosen from {list(MODELS)}. Got {unknown}.")
    return {name: builders[name](settings) for name in names}


def _settings(args: argparse.Namespace) -> ModelSettings:
    known = getattr(args, "known_exog", None)
    return ModelSettings(lags=args.lags, depth=args.depth, beta=args.beta,
                         transform=args.transform, arima_order=args.arima_order,
                         epochs=args.epochs, random_state=args.random_state,
                         exog_lags=getattr(args, "exog_lags", 1),
                         known_exog=None if known is None else tuple(known),
                         exog_transform=getattr(args, "exog_transform", "none"))


def load_exog_inputs(args: argparse.Namespace, y: pd.Series) -> pd.DataFrame | None:
    """The exogenous inputs of ``--exog``/``--exog-csv`` on ``y``'s dates (None without)."""
    from .data import csv_layout, load_exog

    if args.exog is None and args.exog_csv is None:
        if args.known_exog is not None or args.exog_transform != "none" or args.exog_lags != 1:
            raise ValueError("--exog-lags, --known-exog and --exog-transform need --exog or "
                             "--exog-csv")
        return None
    fill = None if args.fill == "strict" else "ffill"
    frames = []
    if args.exog is not None:
        if args.csv is None:
            raise ValueError("--exog names columns of the --csv file; use --csv (or "
                             "--exog-csv for another file)")
        frames.append(load_exog(args.csv, args.exog, index=y.index, fill=fill,
                                drop_last=args.drop_last))
    if args.exog_csv is not None:
        if csv_layout(args.exog_csv) == "yahoo":  # another ticker: its price, named after it
            column = args.column or "Close"
            frame = load_exog(args.exog_csv, [column], index=y.index, fill=fill,
                              drop_last=args.drop_last)
            frames.append(frame.set_axis([Path(args.exog_csv).stem], axis=1))
        else:
            frames.append(load_exog(args.exog_csv, None, index=y.index, fill=fill,
                                    drop_last=args.drop_last))
    frame = pd.concat(frames, axis=1)
    if frame.columns.has_duplicates:
        raise ValueError(f"The exogenous inputs must have distinct names. Got "
                         f"{list(frame.columns)}.")
    return frame


# --------------------------------------------------------------------------- output
@contextmanager
def _one_line_warnings() -> Iterator[None]:
    """Show each distinct warning once, as one ``convexforecast: warning:`` line."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(str(message).split())
        if text not in seen:
            seen.add(text)
            print(f"{PROG}: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        warnings.showwarning = show
        yield


# ---------------------------------------------------------------------------- commands
def cmd_backtest(args: argparse.Namespace) -> int:
    """Run the backtest subcommand."""
    from .forecasting.backtest import backtest
    from .forecasting.folds import TimeSeriesFold, trailing_window
    from .forecasting.strategy import run_strategy
    from .report import write_backtest_report

    models = build_forecasters(args.models, _settings(args))
    if args.tickers or args.csv_dir:
        from .cli_universe import run_universe_backtest

        if args.exog is not None or args.exog_csv is not None:
            raise ValueError("--exog and --exog-csv take one series (--csv); a universe "
                             "(--tickers, --csv-dir) is backtested without exogenous inputs")
        return run_universe_backtest(args, models)
    y = load_series(args)
    initial = args.initial
    if initial is None and args.last < len(y):
        initial = min(DEFAULTS["initial"], len(y) - args.last)
    y, initial = trailing_window(y, args.last, initial)
    exog = load_exog_inputs(args, y)
    cv = TimeSeriesFold(initial_train_size=initial, steps=args.steps, fold_stride=1,
                        refit=args.refit)
    first_origin = y.index[initial - 1]
    print(f"{PROG} backtest: {y.attrs['label']}, {len(y)} observations "
          f"{y.index[0].date()} .. {y.index[-1].date()}")
    print(f"plan: {args.last} origins from {first_origin.date()} (expanding window from "
          f"{initial} obs), {args.steps} step(s) per origin, refit every {args.refit} origins, "
          f"models {', '.join(models)}, jobs {args.jobs}")
    if exog is not None:
        print(f"exogenous inputs: {', '.join(exog.columns)}")
    result = backtest(models, y, cv, n_jobs=args.jobs, show_progress=not args.no_progress,
                      refits_per_task=args.refits_per_task, exog=exog,
                      intervals={"method": "conformal", "level": args.level})
    metrics = result.metrics
    shown = [c for c in ("mae", "rmse", "mape", "mase", "directional_accuracy", "coverage")
             if c in metrics.columns]
    print_table("metrics (all horizons):", metrics[shown])
    if "naive" in models and len(models) > 1:  # the report writes them (dm_tests_vs_naive.csv)
        dm = result.dm_tests("naive")
        print_table("Diebold-Mariano (HLN) vs naive, squared loss "
                    "(negative = better than naive):", dm[["statistic", "pvalue"]])
    strategies = {
        name: run_strategy(result, y, model=name, rule=args.rule, horizon=1,
                           cost_bps=args.cost_bps, periods_per_year=periods_per_year(y.index))
        for name in models if name != "naive"
    }
    print_strategies(f"strategy ({args.rule}, {args.cost_bps:g} bps):", strategies,
                     "buy_and_hold", ["total_return", "sharpe", "max_drawdown", "exposure"])
    print_table("fit time (s):", result.timings[["fit_seconds", "n_fits"]])
    notes = [f"data: {y.attrs['label']}", f"span: {y.index[0].date()} to {y.index[-1].date()}",
             f"settings: {describe_args(args, initial)}"]
    files = write_backtest_report(result, args.out, strategies=strategies,
                                  title=f"convexforecast backtest: {y.attrs['label']}",
                                  notes=notes)
    print(f"\nreport: {files.html}")
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    """Run the forecast subcommand."""
    from .forecasting.backtest import backtest
    from .forecasting.intervals import conformal_quantile

    y = load_series(args)
    models = build_forecasters(args.models, _settings(args))
    calibration = min(args.calibration, len(y) - 1)
    initial = len(y) - calibration
    result = backtest(models, y, initial_train_size=initial, steps=args.steps, fold_stride=1,
                      refit=False, n_jobs=1, show_progress=False)
    errors = result.predictions.assign(
        abs_error=lambda f: (f["actual"] - f["forecast"]).abs())
    rows = []
    for name, model in models.items():
        fitted = model.fit(y)
        forecast = fitted.predict(args.steps)
        for h, (target, value) in enumerate(forecast.items(), start=1):
            pool = errors.loc[(errors["model"] == name) & (errors["horizon"] == h), "abs_error"]
            half = conformal_quantile(pool.to_numpy(), args.level)
            rows.append({"model": name, "target": target, "horizon": h, "forecast": value,
                         "lower": value - half, "upper": value + half,
                         "n_calibration": len(pool)})
    table = pd.DataFrame(rows)
    print(f"{PROG} forecast: {y.attrs['label']}, last observation {y.index[-1].date()} = "
          f"{y.iloc[-1]:.6g}; {args.level:.0%} split-conformal intervals from "
          f"{calibration} rolling origins")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    if table["lower"].isna().any():
        note("some intervals are NaN: too few calibration errors for that horizon and level "
              "(raise --calibration)")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "forecast.csv", index=False)
        print(f"written: {out / 'forecast.csv'}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """Run the fetch subcommand."""
    from .data import get_cache_dir, load_prices
    from .data.cache import cache_key

    y = load_prices(args.ticker, start=args.start, end=args.end, interval=args.interval,
                    column=args.column, cache_dir=args.cache_dir, fill="keep")
    path = get_cache_dir(args.cache_dir) / "prices" / f"{cache_key(args.ticker, args.interval)}.csv"
    print(f"{args.ticker}: {len(y)} {args.interval} bars {y.index[0]} .. {y.index[-1]} "
          f"(source: {y.attrs.get('source')}); last {y.attrs.get('column')} {y.iloc[-1]:.6g}")
    print(f"cache: {path}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Run the explain subcommand."""
    y = load_series(args)
    model = build_forecasters(["convex"], _settings(args))["convex"]
    model.fit(y)
    print(f"{PROG} explain: convex AR network on {y.attrs['label']}, {len(y)} observations, "
          f"lags={args.lags}, depth={args.depth}, transform={args.transform}")
    for label, attr in (("beta", "beta_"), ("duality gap", "duality_gap_"),
                        ("objective", "objective_"), ("neurons", "n_neurons_")):
        value = getattr(model, attr, None)
        if value is not None:
            print(f"{label}: {value:.6g}" if isinstance(value, float) else f"{label}: {value}")
    explanation = model.explain()
    for line in explanation.describe():
        print(line)
    if args.out:
        from .report import write_explanation

        written = write_explanation(explanation, args.out)
        print(f"written to {args.out}: " + ", ".join(p.name for p in written.values()))
    features = model.selected_features()
    if len(features) == 0:
        print("no feature selected: the network is constant (add lags or lower --beta)")
        return 0
    counts = features.groupby("lag").size()
    print("features per lag: " + ", ".join(f"lag {lag}: {n}" for lag, n in counts.items()))
    print("kinks are on the scale of the transformed series "
          f"({args.transform}); reflected = kink is a reflection 2 x_j - x_k")
    shown = features.drop(columns=[c for c in ("step", "kinks_standardized")
                                   if c in features.columns and (c != "step"
                                                                 or features[c].nunique() == 1)])
    for column in ("kinks", "reflected"):
        if column in shown.columns:
            shown[column] = shown[column].map(_format_tuple)
    with pd.option_context("display.width", 160, "display.max_rows", 500,
                           "display.max_colwidth", 80):
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    return 0


def _format_tuple(values: Any) -> str:
    if not isinstance(values, tuple | list):
        return str(values)
    return "(" + ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in values) + ")"


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "backtest": cmd_backtest, "forecast": cmd_forecast, "fetch": cmd_fetch,
    "explain": cmd_explain,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``convexforecast`` console script; returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    first = 0
    while first < len(argv) and argv[first] == "--debug":
        first += 1
    if first == len(argv) or (argv[first].startswith("-")
                              and argv[first] not in ("-h", "--help", "--version")):
        argv.insert(first, "backtest")  # a bare `convexforecast [options]` is a backtest
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help / --version
        return exc.code if isinstance(exc.code, int) else 0
    try:
        with _one_line_warnings():
            return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        if not isinstance(exc, ValueError | TypeError | OSError | LookupError):
            message = f"{type(exc).__name__}: {message} (rerun with --debug for the traceback)"
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
