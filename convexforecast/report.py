"""Backtest reports: CSV tables, PNG plots and one self-contained HTML page.

The report only needs DataFrames, so it does not depend on how the backtest was computed:

- ``predictions``: tidy forecasts with columns ``origin, target, horizon, model, forecast,
  actual, fold`` (optionally ``lower, upper``), the
  :attr:`convexforecast.forecasting.results.BacktestResult.predictions` schema;
- ``metrics``: a model x metric table;
- optionally ``strategies``: per model an equity curve (a Series starting at 1.0) or an
  object with ``equity`` (and ``benchmark_equity``/``metrics``) attributes such as
  :class:`~convexforecast.forecasting.strategy.StrategyResult`.

:func:`write_report` writes into ``out_dir``:

==========================  ================================================================
``predictions.csv``         the predictions frame
``metrics.csv``             the metrics table
``<name>.csv``              every extra table (``tables`` argument, e.g. DM tests, timings)
``strategy_metrics.csv``    strategy and buy-and-hold performance (when strategies are given)
``forecast_vs_actual.png``  actual series and each model's forecasts (shortest horizon), with a
                            zoom on the last targets
``error_by_horizon.png``    MAE per horizon (bars when there is a single horizon)
``strategy_pnl.png``        cumulative strategy return per model and buy-and-hold
``report.html``             all tables plus the PNGs embedded as base64 ``data:`` URIs (no
                            external files or network needed to view it)
==========================  ================================================================

Plots are drawn with matplotlib's object-oriented API on the Agg canvas (no display, no
global ``pyplot`` state), so reports can be written from worker threads and headless CI.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["PREDICTION_COLUMNS", "ReportFiles", "write_backtest_report", "write_report"]

PREDICTION_COLUMNS = ("origin", "target", "horizon", "model", "forecast", "actual", "fold")
_ZOOM = 60
_DPI = 110


@dataclass(frozen=True)
class ReportFiles:
    """Paths written by :func:`write_report`.

    Attributes
    ----------
    directory : Path
    html : Path
        The self-contained report.
    tables : dict[str, Path]
        CSV files by table name (``"predictions"``, ``"metrics"``, ...).
    plots : dict[str, Path]
        PNG files by plot name (``"forecast_vs_actual"``, ``"error_by_horizon"``,
        ``"strategy_pnl"``).
    """

    directory: Path
    html: Path
    tables: dict[str, Path] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)


# ----------------------------------------------------------------------------- checks
def _check_predictions(predictions: Any) -> pd.DataFrame:
    if not isinstance(predictions, pd.DataFrame):
        raise TypeError(f"`predictions` must be a pandas DataFrame. Got "
                        f"{type(predictions).__name__}.")
    missing = [c for c in PREDICTION_COLUMNS if c not in predictions.columns]
    if missing:
        raise ValueError(f"`predictions` must have columns {list(PREDICTION_COLUMNS)}. Got "
                         f"{list(predictions.columns)} (missing {missing}).")
    if predictions.empty:
        raise ValueError("`predictions` must not be empty. Got 0 rows.")
    return predictions.copy()


def _check_frame(name: str, frame: Any) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame. Got {type(frame).__name__}.")
    return frame.copy()


def _equity_of(name: str, strategy: Any) -> tuple[pd.Series, pd.Series | None, Any]:
    """(equity, benchmark equity or None, metrics or None) of one strategy entry."""
    if isinstance(strategy, pd.Series):
        return strategy.astype("float64"), None, None
    equity = getattr(strategy, "equity", None)
    if not isinstance(equity, pd.Series):
        raise TypeError(f"`strategies[{name!r}]` must be an equity Series or have an `equity` "
                        f"Series attribute. Got {type(strategy).__name__}.")
    bench = getattr(strategy, "benchmark_equity", None)
    return equity.astype("float64"), bench if isinstance(bench, pd.Series) else None, \
        getattr(strategy, "metrics", None)


# ------------------------------------------------------------------------------ plots
def _new_figure(height: float = 4.2) -> Figure:
    fig = Figure(figsize=(10, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _actual_series(frame: pd.DataFrame) -> pd.Series:
    actual = frame.drop_duplicates("target").set_index("target")["actual"]
    return actual.sort_index()


def plot_forecast_vs_actual(predictions: pd.DataFrame, path: Path) -> Path:
    """Actual values and each model's forecasts at the shortest horizon (+ zoom panel)."""
    frame = _check_predictions(predictions)
    horizon = int(frame["horizon"].min())
    frame = frame[frame["horizon"] == horizon]
    actual = _actual_series(frame)
    zoom = len(actual) > 2 * _ZOOM
    fig = _new_figure(6.5 if zoom else 4.2)
    axes = fig.subplots(2, 1) if zoom else [fig.subplots()]
    starts = [actual.index[0], actual.index[-_ZOOM]] if zoom else [actual.index[0]]
    for ax, start in zip(axes, starts, strict=True):
        shown = actual[actual.index >= start]
        ax.plot(shown.index, shown.to_numpy(), color="black", lw=1.4, label="actual")
        for i, (model, group) in enumerate(frame.groupby("model", sort=False)):
            group = group[group["target"] >= start].sort_values("target")
            ax.plot(group["target"], group["forecast"], color=f"C{i}", lw=0.9, alpha=0.85,
                    label=str(model))
            if {"lower", "upper"} <= set(group.columns) and group["lower"].notna().any():
                ax.fill_between(group["target"], group["lower"], group["upper"], color=f"C{i}",
                                alpha=0.12, lw=0)
        ax.grid(alpha=0.3)
    axes[0].set_title(f"Forecast vs actual (horizon {horizon})")
    if zoom:
        axes[1].set_title(f"Last {_ZOOM} targets")
    axes[0].legend(loc="best", fontsize="small", ncols=min(4, frame["model"].nunique() + 1))
    fig.savefig(path, dpi=_DPI)
    return path


def plot_error_by_horizon(predictions: pd.DataFrame, path: Path) -> Path:
    """Mean absolute error per model and horizon."""
    frame = _check_predictions(predictions)
    frame["abs_error"] = (frame["actual"] - frame["forecast"]).abs()
    table = frame.pivot_table(index="horizon", columns="model", values="abs_error",
                              aggfunc="mean", sort=False)
    table = table[list(pd.unique(frame["model"]))].sort_index()
    fig = _new_figure()
    ax = fig.subplots()
    if len(table.index) == 1:
        values = table.iloc[0]
        ax.bar(np.arange(len(values)), values.to_numpy(),
               color=[f"C{i}" for i in range(len(values))])
        ax.set_xticks(np.arange(len(values)), [str(m) for m in values.index])
        ax.set_xlabel("model")
        ax.set_title(f"Mean absolute error (horizon {int(table.index[0])})")
    else:
        for model in table.columns:
            ax.plot(table.index, table[model].to_numpy(), marker="o", label=str(model))
        ax.set_xticks(table.index)
        ax.set_xlabel("horizon (steps ahead)")
        ax.set_title("Mean absolute error by horizon")
        ax.legend(fontsize="small")
    ax.set_ylabel("MAE")
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=_DPI)
    return path


def plot_strategy_pnl(strategies: Mapping[str, Any], path: Path) -> Path:
    """Cumulative return (equity - 1) of each strategy and of buy-and-hold."""
    fig = _new_figure()
    ax = fig.subplots()
    benchmark = None
    for name, strategy in strategies.items():
        equity, bench, _ = _equity_of(name, strategy)
        ax.plot(equity.index, equity.to_numpy() - 1.0, lw=1.1, label=str(name))
        if benchmark is None and bench is not None:
            benchmark = bench
    if benchmark is not None:
        ax.plot(benchmark.index, benchmark.to_numpy() - 1.0, color="black", lw=1.4, ls="--",
                label="buy and hold")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_title("Cumulative strategy return (net of costs)")
    ax.set_ylabel("cumulative return")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=_DPI)
    return path


# ------------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d1d1f;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f3f3f3}figure{margin:1rem 0}img{max-width:100%}
figcaption{font-size:.8rem;color:#555}.notes li{font-size:.9rem}
"""


def _table_html(frame: pd.DataFrame) -> str:
    return frame.to_html(float_format=lambda v: f"{v:.6g}", border=0, na_rep="–")


def _figure_html(name: str, path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure id="{html.escape(name)}"><img alt="{html.escape(path.name)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(path.name)}'
            "</figcaption></figure>")


def _render_html(title: str, notes: Sequence[str], sections: list[tuple[str, str]]) -> str:
    body = [f"<h1>{html.escape(title)}</h1>"]
    if notes:
        body.append('<ul class="notes">' + "".join(f"<li>{html.escape(str(n))}</li>"
                                                   for n in notes) + "</ul>")
    for heading, content in sections:
        body.append(f"<h2>{html.escape(heading)}</h2>{content}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


# ------------------------------------------------------------------------------ public
def write_report(
    out_dir: str | os.PathLike[str],
    predictions: pd.DataFrame,
    metrics: pd.DataFrame,
    *,
    strategies: Mapping[str, Any] | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    title: str = "convexforecast backtest report",
    notes: Sequence[str] = (),
) -> ReportFiles:
    """Write CSV tables, PNG plots and a self-contained HTML report into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Output directory (created if needed; existing report files are overwritten).
    predictions : pandas.DataFrame
        Tidy forecasts with columns ``origin, target, horizon, model, forecast, actual, fold``
        (and optionally ``lower, upper``). Not modified.
    metrics : pandas.DataFrame
        Model x metric table (index = model).
    strategies : mapping, optional
        Model name -> equity Series, or an object with an ``equity`` Series and optionally
        ``benchmark_equity`` and ``metrics`` (a StrategyResult). Adds ``strategy_pnl.png`` and
        ``strategy_metrics.csv``.
    tables : mapping, optional
        Extra tables by file stem (letters, digits, ``_`` and ``-``), e.g.
        ``{"dm_tests": ..., "timings": ...}``; each becomes ``<name>.csv`` and an HTML section.
    title : str
        Report title.
    notes : sequence of str
        Bullet points under the title (data source, settings, ...).

    Returns
    -------
    ReportFiles
    """
    try:
        directory = Path(out_dir)
    except TypeError:
        raise TypeError(f"`out_dir` must be a path. Got {type(out_dir).__name__}.") from None
    frame = _check_predictions(predictions)
    metrics = _check_frame("metrics", metrics)
    extra = {} if tables is None else dict(tables)
    for name, table in extra.items():
        if not isinstance(name, str) or not name or not all(c.isalnum() or c in "_-"
                                                             for c in name):
            raise ValueError(f"`tables` keys must be file stems of letters, digits, '_' or '-'. "
                             f"Got {name!r}.")
        extra[name] = _check_frame(f"tables[{name!r}]", table)
    strategies = {} if strategies is None else dict(strategies)
    strategy_table = _strategy_metrics(strategies)
    if strategy_table is not None:
        extra["strategy_metrics"] = strategy_table
    directory.mkdir(parents=True, exist_ok=True)

    files = ReportFiles(directory=directory, html=directory / "report.html")
    files.tables["predictions"] = directory / "predictions.csv"
    frame.to_csv(files.tables["predictions"], index=False)
    files.tables["metrics"] = directory / "metrics.csv"
    metrics.to_csv(files.tables["metrics"])
    for name, table in extra.items():
        files.tables[name] = directory / f"{name}.csv"
        table.to_csv(files.tables[name])

    files.plots["forecast_vs_actual"] = plot_forecast_vs_actual(
        frame, directory / "forecast_vs_actual.png")
    files.plots["error_by_horizon"] = plot_error_by_horizon(
        frame, directory / "error_by_horizon.png")
    if strategies:
        files.plots["strategy_pnl"] = plot_strategy_pnl(strategies, directory / "strategy_pnl.png")

    sections = [("Metrics", _table_html(metrics))]
    sections += [(_heading(name), _table_html(table)) for name, table in extra.items()]
    sections.append(("Plots", "".join(_figure_html(n, p) for n, p in files.plots.items())))
    span = (f"{len(frame)} forecasts by {frame['model'].nunique()} model(s), targets "
            f"{frame['target'].min()} to {frame['target'].max()}")
    files.html.write_text(_render_html(title, [*notes, span], sections), encoding="utf-8")
    return files


def _heading(stem: str) -> str:
    """``"dm_tests_vs_naive"`` -> ``"DM tests vs naive"``."""
    acronyms = {"dm": "DM", "mae": "MAE", "rmse": "RMSE", "pnl": "PnL", "arima": "ARIMA"}
    words = [acronyms.get(w.lower(), w) for w in stem.replace("-", "_").split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _strategy_metrics(strategies: Mapping[str, Any]) -> pd.DataFrame | None:
    rows: dict[str, pd.Series] = {}
    for name, strategy in strategies.items():
        _, _, metrics = _equity_of(name, strategy)
        if isinstance(metrics, pd.DataFrame) and len(metrics):
            rows[str(name)] = metrics.iloc[0]
            if "buy_and_hold" in metrics.index and "buy_and_hold" not in rows:
                rows["buy_and_hold"] = metrics.loc["buy_and_hold"]
    if not rows:
        return None
    order = [k for k in rows if k != "buy_and_hold"] + (["buy_and_hold"]
                                                        if "buy_and_hold" in rows else [])
    table = pd.DataFrame({k: rows[k] for k in order}).T
    table.index.name = "strategy"
    return table


def write_backtest_report(
    result: Any,
    out_dir: str | os.PathLike[str],
    *,
    strategies: Mapping[str, Any] | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    title: str = "convexforecast backtest report",
    notes: Sequence[str] = (),
) -> ReportFiles:
    """:func:`write_report` for a BacktestResult-like object.

    ``result`` needs ``predictions`` and ``metrics`` DataFrame attributes; when present,
    ``metrics_by_horizon`` (only written with more than one horizon) and ``timings`` are
    added as extra tables, and ``config`` (a dict) is written to ``config.json``.
    """
    predictions = getattr(result, "predictions", None)
    metrics = getattr(result, "metrics", None)
    if not isinstance(predictions, pd.DataFrame) or not isinstance(metrics, pd.DataFrame):
        raise TypeError("`result` must have `predictions` and `metrics` DataFrame attributes "
                        f"(a BacktestResult). Got {type(result).__name__}.")
    extra: dict[str, pd.DataFrame] = {}
    if predictions["horizon"].nunique() > 1:
        by_horizon = getattr(result, "metrics_by_horizon", None)
        if isinstance(by_horizon, pd.DataFrame):
            extra["metrics_by_horizon"] = by_horizon
    timings = getattr(result, "timings", None)
    if isinstance(timings, pd.DataFrame):
        extra["timings"] = timings
    extra.update(tables or {})
    config = getattr(result, "config", None)
    exog_note = _exog_note(config)
    if exog_note:
        notes = [*notes, exog_note]
    files = write_report(out_dir, predictions, metrics, strategies=strategies, tables=extra,
                         title=title, notes=notes)
    if isinstance(config, dict):  # the plan, the models' parameters, the library version
        files.tables["config"] = files.directory / "config.json"
        files.tables["config"].write_text(json.dumps(config, indent=1, default=str),
                                          encoding="utf-8")
    return files


def _exog_note(config: Any) -> str | None:
    """The exogenous inputs of a backtest (``config["exog"]``) as one line, or None."""
    exog = config.get("exog") if isinstance(config, dict) else None
    if not isinstance(exog, dict):
        return None
    used = ", ".join(map(str, exog.get("used_by", []))) or "no model"
    return f"exogenous inputs: {', '.join(map(str, exog.get('columns', [])))} (used by {used})"
