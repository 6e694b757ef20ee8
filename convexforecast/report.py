"""Backtest reports: CSV tables, PNG plots and one self-contained HTML page.

The report needs only DataFrames (and, for the convex net's section, the explanations a
backtest keeps), so it does not depend on how the backtest was computed:

- ``predictions``: tidy forecasts with columns ``origin, target, horizon, model, forecast,
  actual, fold`` (optionally ``lower, upper``), the
  :attr:`convexforecast.forecasting.results.BacktestResult.predictions` schema;
- ``metrics``: a model x metric table;
- optionally ``dm_tests``: Diebold–Mariano tests against the random walk (``reference``), as
  :meth:`~convexforecast.forecasting.results.BacktestResult.dm_tests` returns them;
- optionally ``strategies``: per model an equity curve (a Series starting at 1.0) or an
  object with ``equity`` (and ``benchmark_equity``/``metrics``) attributes such as
  :class:`~convexforecast.forecasting.strategy.StrategyResult`;
- optionally ``explanations``: per convex model a
  :class:`~convexforecast.forecasting.explain.BacktestExplanation` (the certificate of every
  refit and what the last refit learned), as in ``BacktestResult.explanations``.

The page is a list of sections, each written by one *section builder*: a function that takes
the :class:`ReportContext` and returns a :class:`Section` (or None to leave it out). The
builders of :data:`SECTIONS` write, in order: the headline (which models, if any, beat the
random walk significantly, by the DM test with the HLN correction at 5%), accuracy relative to
the random walk with confidence intervals, the forecasts, what the network learned (response
curves, CV curve, certificate of every refit), all metrics, the strategies and any extra
tables. To add a section, write a builder and pass ``sections=[*SECTIONS, builder]`` (or
insert it where it belongs); builders save their figures and CSVs through the context.

:func:`write_report` writes into ``out_dir``:

=============================  ===============================================================
``predictions.csv``            the predictions frame
``metrics.csv``                the metrics table
``dm_tests_vs_<ref>.csv``      the DM tests against the reference (when given)
``<name>.csv``                 every extra table (``tables`` argument, e.g. timings)
``strategy_metrics.csv``       strategy and buy-and-hold performance (when strategies are given)
``forecast_vs_actual.png``     actual series and each model's forecasts (shortest horizon),
                               with a zoom on the last targets
``relative_error.png``         each model's squared error relative to the random walk, with
                               95% confidence intervals (``error_by_horizon.png``, MAE per
                               horizon, when there is no reference model)
``strategy_pnl.png``           cumulative strategy return per model and buy-and-hold
``network_<model>_*.png/csv``  per convex model: response curves and CV curve of the last
                               refit, the certificates of all refits, the curves, kinks,
                               inputs and β path as CSV (:func:`write_explanation`)
``report.html``                all of it on one page, the PNGs embedded as base64 ``data:``
                               URIs (no external files, scripts or network needed to view it)
=============================  ===============================================================

Plots are drawn with matplotlib's object-oriented API on the Agg canvas (no display, no
global ``pyplot`` state), so reports can be written from worker threads and headless CI.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["PREDICTION_COLUMNS", "SECTIONS", "ReportContext", "ReportFiles", "Section",
           "write_backtest_report", "write_explanation", "write_report"]

PREDICTION_COLUMNS = ("origin", "target", "horizon", "model", "forecast", "actual", "fold")
SIGNIFICANCE = 0.05  # the level of the DM tests in the headline and the accuracy section
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
        PNG files by plot name (``"forecast_vs_actual"``, ``"relative_error"``,
        ``"strategy_pnl"``, ``"network_<model>_response"``, ...).
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


def _stem(name: Any) -> str:
    """A file-name-safe version of a model name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-") or "model"


# ------------------------------------------------------------------------------ plots
def _new_figure(height: float = 4.2, width: float = 10.0) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _actual_series(frame: pd.DataFrame) -> pd.Series:
    actual = frame.drop_duplicates("target").set_index("target")["actual"]
    return actual.sort_index()


def plot_forecast_vs_actual(predictions: pd.DataFrame, path: Path, label: str = "") -> Path:
    """Actual values and each model's forecasts at the shortest horizon (+ zoom panel);
    ``label`` (e.g. the series) goes into the title."""
    frame = _check_predictions(predictions)
    horizon = int(frame["horizon"].min())
    frame = frame[frame["horizon"] == horizon]
    actual = _actual_series(frame)
    zoom = len(actual) > 2 * _ZOOM
    fig = _new_figure(6.5 if zoom else 4.2)
    axes = fig.subplots(2, 1) if zoom else [fig.subplots()]
    starts = [actual.index[0], actual.index[-_ZOOM]] if zoom else [actual.index[0]]
    banded = None
    for ax, start in zip(axes, starts, strict=True):
        shown = actual[actual.index >= start]
        ax.plot(shown.index, shown.to_numpy(), color="black", lw=1.4, label="actual")
        for i, (model, group) in enumerate(frame.groupby("model", sort=False)):
            group = group[group["target"] >= start].sort_values("target")
            ax.plot(group["target"], group["forecast"], color=f"C{i}", lw=0.9, alpha=0.85,
                    label=str(model))
            if banded in (None, model) and {"lower", "upper"} <= set(group.columns) \
                    and group["lower"].notna().any():  # one model's band: more would hide it
                banded = model
                ax.fill_between(group["target"], group["lower"], group["upper"], color=f"C{i}",
                                alpha=0.15, lw=0)
        ax.grid(alpha=0.3)
    band = "" if banded is None else f"; shaded: prediction interval of {banded}"
    axes[0].set_title(f"Forecast vs actual ({label}horizon {horizon}{band})")
    if zoom:
        axes[1].set_title(f"Last {_ZOOM} targets")
    axes[0].legend(loc="best", fontsize="small", ncols=min(5, frame["model"].nunique() + 1))
    fig.savefig(path, dpi=_DPI)
    return path


def plot_error_by_horizon(predictions: pd.DataFrame, path: Path) -> Path:
    """Mean absolute error per model and horizon, as points (no zero baseline)."""
    frame = _check_predictions(predictions)
    frame["abs_error"] = (frame["actual"] - frame["forecast"]).abs()
    table = frame.pivot_table(index="horizon", columns="model", values="abs_error",
                              aggfunc="mean", sort=False)
    table = table[list(pd.unique(frame["model"]))].sort_index()
    fig = _new_figure(3.6)
    ax = fig.subplots()
    for i, model in enumerate(table.columns):
        ax.plot(table.index, table[model].to_numpy(), marker="o", color=f"C{i}",
                label=str(model))
    ax.set_xticks(table.index)
    ax.set_xlabel("horizon (steps ahead)")
    ax.set_title("Mean absolute error by horizon")
    ax.legend(fontsize="small")
    ax.set_ylabel("MAE")
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=_DPI)
    return path


def plot_relative_error(comparison: pd.DataFrame, reference: str, path: Path) -> Path:
    """Each model's change in mean squared error against ``reference`` with its 95% CI."""
    frame = comparison.reset_index()
    models = list(pd.unique(frame["model"]))
    horizons = sorted(frame["horizon"].unique())
    fig = _new_figure(1.3 + 0.55 * len(models) * max(1, len(horizons) * 0.6), 10.0)
    ax = fig.subplots()
    colors = {"better": "#1e8449", "worse": "#c0392b", "no difference": "#555555"}
    offsets = np.linspace(-0.2, 0.2, len(horizons)) if len(horizons) > 1 else [0.0]
    markers = "osD^vP*X"
    for k, h in enumerate(horizons):
        part = frame[frame["horizon"] == h].set_index("model").reindex(models)
        for i, model in enumerate(models):
            row = part.loc[model]
            y = len(models) - 1 - i - offsets[k]  # horizon 1 on top
            color = colors.get(row["verdict"], "#555555")
            if np.isfinite(row["ci_low"]):
                ax.plot([row["ci_low"], row["ci_high"]], [y, y], color=color, lw=2.2,
                        solid_capstyle="butt")
            ax.plot(row["change"], y, markers[k % len(markers)], color=color, ms=7,
                    label=f"horizon {h}" if i == 0 and len(horizons) > 1 else None)
            text = _format_change(row["change"])
            if np.isfinite(row["pvalue"]):
                text += f"  (p = {_format_p(row['pvalue'])})"
            ax.annotate(text, (row["change"], y), xytext=(0, 7), textcoords="offset points",
                        ha="center", fontsize=8.5, color=color)
    ax.axvline(0.0, color="black", lw=1)
    ax.set_yticks(range(len(models)), [str(m) for m in reversed(models)])
    ax.set_ylim(-0.7, len(models) - 0.3)
    ax.set_xlabel(f"change in mean squared error against {reference} (%): left of 0 is better")
    ax.set_title(f"Squared error relative to the random walk ({reference}), with 95% "
                 f"confidence intervals (Diebold–Mariano, HLN)")
    ax.grid(axis="x", alpha=0.3)
    low = np.nanmin(np.r_[frame["ci_low"], frame["change"], 0.0])
    high = np.nanmax(np.r_[frame["ci_high"], frame["change"], 0.0])
    pad = 0.12 * (high - low if high > low else 1.0)
    ax.set_xlim(low - pad, high + pad)
    if len(horizons) > 1:
        ax.legend(fontsize="small", loc="lower right")
    fig.savefig(path, dpi=_DPI)
    return path


def plot_strategy_pnl(strategies: Mapping[str, Any], path: Path) -> Path:
    """Cumulative return (equity - 1) of each strategy and of buy-and-hold."""
    fig = _new_figure()
    ax = fig.subplots()
    benchmark, label = None, "buy and hold"
    for name, strategy in strategies.items():
        equity, bench, metrics = _equity_of(name, strategy)
        ax.plot(equity.index, equity.to_numpy() - 1.0, lw=1.1, label=str(name))
        if benchmark is None and bench is not None:
            benchmark = bench
            if isinstance(metrics, pd.DataFrame) and len(metrics) > 1:  # e.g. equal_weight
                label = str(metrics.index[1]).replace("_", "-") + " buy and hold"
    if benchmark is not None:
        ax.plot(benchmark.index, benchmark.to_numpy() - 1.0, color="black", lw=1.4, ls="--",
                label=label.replace("buy-and-hold buy and hold", "buy and hold"))
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_title("Cumulative strategy return (net of costs)")
    ax.set_ylabel("cumulative return")
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=_DPI)
    return path


# ----------------------------------------------------------------------- formatting
def _format_number(value: Any, digits: int = 4) -> str:
    """``digits`` significant figures, thousands separators, no exponent for ordinary sizes."""
    if value is None or isinstance(value, str):
        return "–" if value is None else value
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(v):
        return "–"
    if v == 0:
        return "0"
    if v.is_integer() and abs(v) < 1e7:
        return f"{int(v):,}"
    magnitude = math.floor(math.log10(abs(v)))
    if magnitude >= 7 or magnitude < -3:
        return f"{v:.{digits - 1}e}"
    return f"{v:,.{max(0, digits - 1 - magnitude)}f}"


def _format_change(value: float) -> str:
    """A signed change in percent to three significant figures (at most two decimals)."""
    if not np.isfinite(value):
        return "–"
    magnitude = math.floor(math.log10(abs(value))) if value else 0
    return f"{value:+.{min(2, max(0, 2 - magnitude))}f}%"


def _format_p(value: float) -> str:
    if not np.isfinite(value):
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _format_percent(value: float, signed: bool = False) -> str:
    if not np.isfinite(value):
        return "–"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


#: How known columns are shown: (header, formatter).
_COLUMNS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "n": ("forecasts", _format_number),
    "mae": ("MAE", _format_number),
    "rmse": ("RMSE", _format_number),
    "mape": ("MAPE %", lambda v: _format_number(v, 3)),
    "smape": ("sMAPE %", lambda v: _format_number(v, 3)),
    "mase": ("MASE", _format_number),
    "directional_accuracy": ("direction hit rate", _format_percent),
    "directional_pvalue": ("direction p", _format_p),
    "nominal_coverage": ("nominal", _format_percent),
    "n_intervals": ("intervals", _format_number),
    "coverage": ("coverage", _format_percent),
    "mean_width": ("mean width", _format_number),
    "interval_score": ("interval score", _format_number),
    "statistic": ("DM statistic", lambda v: _format_number(v, 3)),
    "pvalue": ("p-value", _format_p),
    "mean_loss_difference": ("mean loss difference", _format_number),
    "fit_seconds": ("fit (s)", lambda v: _format_number(v, 3)),
    "predict_seconds": ("predict (s)", lambda v: _format_number(v, 3)),
    "n_fits": ("fits", _format_number),
    "total_return": ("total return", lambda v: _format_percent(v, True)),
    "annual_return": ("annual return", lambda v: _format_percent(v, True)),
    "volatility": ("volatility", _format_percent),
    "sharpe": ("Sharpe", lambda v: _format_number(v, 3)),
    "sortino": ("Sortino", lambda v: _format_number(v, 3)),
    "max_drawdown": ("max drawdown", _format_percent),
    "calmar": ("Calmar", lambda v: _format_number(v, 3)),
    "turnover": ("turnover / year", lambda v: _format_number(v, 3)),
    "hit_rate": ("hit rate", _format_percent),
    "exposure": ("exposure", _format_percent),
    "n_periods": ("bars", _format_number),
    "beta": ("β", lambda v: _format_number(v, 3)),
    "objective": ("objective", _format_number),
    "duality_gap": ("duality gap", lambda v: _format_number(v, 2)),
    "relative_gap": ("relative gap", lambda v: _format_number(v, 2)),
    "n_neurons": ("neurons", _format_number),
}


def _table_html(frame: pd.DataFrame, index: bool = True, css: str = "",
                bold: set[tuple[int, Any]] | None = None) -> str:
    """A table with readable headers and sensible significant figures (the CSVs keep every
    digit); ``bold`` lists (row position, column) cells to emphasise."""
    shown = frame.reset_index() if index and not isinstance(frame.index, pd.RangeIndex) \
        else frame.copy()
    headers, cells = [], []
    for column in shown.columns:
        header, formatter = _COLUMNS.get(str(column), (str(column).replace("_", " "),
                                                       _format_number))
        headers.append(header)
        cells.append([formatter(v) if not isinstance(v, pd.Timestamp) else _format_date(v)
                      for v in shown[column].tolist()])
    bold = bold or set()
    rows = []
    for i, values in enumerate(zip(*cells, strict=True)):
        rows.append("<tr>" + "".join(
            f"<td><b>{html.escape(str(v))}</b></td>" if (i, column) in bold
            else f"<td>{html.escape(str(v))}</td>"
            for column, v in zip(shown.columns, values, strict=True)) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    return (f'<div class="table-wrap"><table class="{css}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _format_date(value: pd.Timestamp) -> str:
    if value == value.normalize():
        return str(value.date())
    return str(value)


def _heading(stem: str) -> str:
    """``"dm_tests_vs_naive"`` -> ``"DM tests vs naive"``."""
    acronyms = {"dm": "DM", "mae": "MAE", "rmse": "RMSE", "pnl": "PnL", "arima": "ARIMA"}
    words = [acronyms.get(w.lower(), w) for w in stem.replace("-", "_").split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _figure_html(path: Path, caption: str = "") -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    text = html.escape(caption) if caption else html.escape(path.name)
    return (f'<figure id="{html.escape(path.stem)}"><img alt="{html.escape(path.name)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{text}</figcaption></figure>')


def _paragraphs(lines: Sequence[str], css: str = "") -> str:
    attr = f' class="{css}"' if css else ""
    return "".join(f"<p{attr}>{html.escape(line)}</p>" for line in lines)


def _list_models(names: Sequence[str]) -> str:
    names = [str(n) for n in names]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# ---------------------------------------------------------------------- the context
@dataclass
class Section:
    """One part of the page: a heading (None for the headline) and its HTML."""

    heading: str | None
    html: str


@dataclass
class ReportContext:
    """What section builders read, and where they write their files.

    Attributes
    ----------
    files : ReportFiles
        The output directory and every file written so far.
    predictions, metrics : pandas.DataFrame
    reference : str or None
        The random-walk benchmark (a model name), if it is in the backtest.
    dm_tests : pandas.DataFrame or None
        DM tests of every model against ``reference``.
    strategies : dict
    tables : dict of pandas.DataFrame
        Extra tables (written as CSV; shown by the "Other tables" section).
    explanations : dict
        ``model -> BacktestExplanation`` for the convex models.
    notes : list of str
        Bullet points (data source, settings, ...).
    """

    files: ReportFiles
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    reference: str | None = None
    dm_tests: pd.DataFrame | None = None
    strategies: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    explanations: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def directory(self) -> Path:
        return self.files.directory

    def save_figure(self, name: str, figure: Figure | Callable[[Path], Path],
                    caption: str = "") -> str:
        """Save a figure (or call a plotting function with the path) as ``<name>.png`` and
        return its ``<figure>`` HTML."""
        path = self.directory / f"{name}.png"
        if isinstance(figure, Figure):
            figure.savefig(path, dpi=_DPI)
        else:
            figure(path)
        self.files.plots[name] = path
        return _figure_html(path, caption)

    def save_table(self, name: str, frame: pd.DataFrame, index: bool = True) -> Path:
        """Write ``<name>.csv`` (every digit) and register it."""
        path = self.directory / f"{name}.csv"
        frame.to_csv(path, index=index)
        self.files.tables[name] = path
        return path

    @property
    def many_series(self) -> bool:
        """Whether the predictions are of many series (a ``series`` column)."""
        return "series" in self.predictions.columns

    def comparison(self) -> pd.DataFrame | None:
        """Per (model, horizon) against the reference: ``mse``, ``reference_mse``, ``change``
        (relative change of the MSE, in %), its 95% confidence interval ``ci_low, ci_high``
        (from the HLN-corrected DM statistic), ``statistic``, ``pvalue``, ``n`` and
        ``verdict`` (``better``/``worse`` at the 5% level, else ``no difference``).

        With many series the DM tests are pooled over MASE-scaled losses, whose scale the
        predictions do not carry: the MSE columns and the relative change are then NaN.
        """
        if self.reference is None or self.dm_tests is None or self.dm_tests.empty:
            return None
        from scipy import stats

        frame = self.predictions
        squared = (frame["actual"] - frame["forecast"]) ** 2
        mse = squared.groupby([frame["model"], frame["horizon"]]).mean()
        if self.many_series:  # raw squared errors of several series do not share a scale
            mse = mse * np.nan
        rows = {}
        for (model, horizon), test in self.dm_tests.iterrows():
            base = float(mse.loc[(self.reference, horizon)])
            diff, stat, n = test["mean_loss_difference"], test["statistic"], int(test["n"])
            half = np.nan
            if np.isfinite(stat) and stat != 0 and n > 1:
                half = stats.t.ppf(1 - SIGNIFICANCE / 2, n - 1) * abs(diff / stat)
            p = test["pvalue"]
            verdict = "no difference"
            if np.isfinite(p) and p < SIGNIFICANCE:
                verdict = "better" if diff < 0 else "worse"
            rows[(model, horizon)] = {
                "mse": float(mse.loc[(model, horizon)]), "reference_mse": base,
                "change": 100 * diff / base, "ci_low": 100 * (diff - half) / base,
                "ci_high": 100 * (diff + half) / base, "statistic": stat, "pvalue": p, "n": n,
                "verdict": verdict}
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index = pd.MultiIndex.from_tuples(out.index, names=["model", "horizon"])
        return out


# ------------------------------------------------------------------ section builders
def headline_section(ctx: ReportContext) -> Section:
    """Which models, if any, beat the random walk significantly (DM-HLN at 5%)."""
    frame = ctx.predictions
    models = list(pd.unique(frame["model"]))
    n_origins = frame["origin"].nunique()
    span = (f"{n_origins:,} forecast origins, targets {_format_date(pd.Timestamp(frame['target'].min()))}"
            f" to {_format_date(pd.Timestamp(frame['target'].max()))}"
            if isinstance(frame["target"].iloc[0], pd.Timestamp)
            else f"{n_origins:,} forecast origins")
    comparison = ctx.comparison()
    if ctx.reference is None:
        text = ("This backtest has no random-walk benchmark (the reference model, 'naive' by "
                "default), so no model was tested against it.")
    elif len(models) == 1:
        text = f"Only the random walk ({ctx.reference}) was backtested."
    elif comparison is None:
        text = (f"No Diebold–Mariano tests against the random walk ({ctx.reference}) were given, "
                "so no model was tested against it.")
    else:
        by_model = comparison.reset_index()
        horizons = sorted(by_model["horizon"].unique())
        at = "" if len(horizons) == 1 else " at any horizon"
        better = by_model[by_model["verdict"] == "better"]
        worse = by_model[by_model["verdict"] == "worse"]
        others = [m for m in models if m != ctx.reference]
        pooled = (f" pooled over {frame['series'].nunique()} series (MASE-scaled)"
                  if ctx.many_series else "")
        test = (f"Diebold–Mariano test with the HLN correction on squared errors{pooled}, "
                f"{SIGNIFICANCE:.0%} level")
        if better.empty:
            text = (f"No model beat the random walk ({ctx.reference}) significantly{at}: the "
                    f"differences in squared error between {_list_models(others)} and the "
                    f"random walk are within noise ({test}).")
        else:
            parts = [f"{row.model} ("
                     + (f"{_format_change(row.change)} MSE, " if np.isfinite(row.change) else "")
                     + (f"horizon {row.horizon}, " if len(horizons) > 1 else "")
                     + f"p = {_format_p(row.pvalue)})" for row in better.itertuples()]
            winners = list(pd.unique(better["model"]))
            rest = [m for m in others if m not in winners]
            text = (f"{_list_models(winners)} beat the random walk ({ctx.reference}) "
                    f"significantly: {'; '.join(parts)} ({test})."
                    + (f" {_list_models(rest)} did not." if rest else ""))
        if not worse.empty:
            losers = list(pd.unique(worse["model"]))
            text += (f" {_list_models(losers)} {'was' if len(losers) == 1 else 'were'} "
                     f"significantly worse than the random walk.")
    notes = "".join(f"<li>{html.escape(str(n))}</li>" for n in [*ctx.notes, span])
    return Section(None, f'<p class="headline">{html.escape(text)}</p>'
                         f'<ul class="notes">{notes}</ul>')


def accuracy_section(ctx: ReportContext) -> Section:
    """Errors relative to the random walk, with their uncertainty."""
    comparison = ctx.comparison()
    metrics = ctx.metrics
    if comparison is None:
        figure = ctx.save_figure("error_by_horizon",
                                 lambda p: plot_error_by_horizon(ctx.predictions, p))
        shown = metrics[[c for c in ("n", "mae", "rmse", "mase") if c in metrics.columns]]
        return Section("Accuracy", figure + _table_html(shown))
    if ctx.many_series:
        return Section("Accuracy against the random walk", _pooled_accuracy(ctx, comparison))
    figure = ctx.save_figure(
        "relative_error", lambda p: plot_relative_error(comparison, ctx.reference, p),
        "Change in mean squared error against the random walk; bars are 95% confidence "
        "intervals from the Diebold–Mariano statistic (HLN correction).")
    rows = []
    multi = comparison.index.get_level_values("horizon").nunique() > 1
    for (model, horizon), row in comparison.iterrows():
        rows.append({"model": model, **({"horizon": horizon} if multi else {}),
                     "forecasts": row["n"], "MSE": row["mse"],
                     "MSE vs random walk": _format_change(row["change"]),
                     "95% interval": (f"{_format_change(row['ci_low'])} to "
                                      f"{_format_change(row['ci_high'])}"
                                      if np.isfinite(row["ci_low"]) else "–"),
                     "DM statistic": _format_number(row["statistic"], 3),
                     "p-value": _format_p(row["pvalue"]), "verdict": row["verdict"]})
    table = pd.DataFrame(rows)
    for column in ("forecasts", "MSE"):
        table[column] = table[column].map(_format_number)
    intro = (f"Each model's mean squared error relative to the random walk ({ctx.reference}) "
             "on the same forecasts. A model beats the random walk when the whole interval is "
             "left of zero (p < 0.05).")
    return Section("Accuracy against the random walk",
                   _paragraphs([intro]) + figure + _table_html(table, index=False))


def _pooled_accuracy(ctx: ReportContext, comparison: pd.DataFrame) -> str:
    """The pooled DM tests of a backtest of many series, as a table with its reading."""
    multi = comparison.index.get_level_values("horizon").nunique() > 1
    rows = [{"model": model, **({"horizon": horizon} if multi else {}), "origins": row["n"],
             "DM statistic": _format_number(row["statistic"], 3),
             "p-value": _format_p(row["pvalue"]), "verdict": row["verdict"]}
            for (model, horizon), row in comparison.iterrows()]
    intro = (f"Diebold–Mariano tests against the random walk ({ctx.reference}) pooled over the "
             f"{ctx.predictions['series'].nunique()} series: each series' errors are scaled by "
             "its in-sample naive MAE and the loss differences are averaged over the series at "
             "each origin. A negative statistic means a lower squared error than the random "
             "walk.")
    table = pd.DataFrame(rows)
    table["origins"] = table["origins"].map(_format_number)
    return _paragraphs([intro]) + _table_html(table, index=False)


def series_section(ctx: ReportContext) -> Section | None:
    """Many series: MASE per series and model (the best marked) and how many series each model
    beats the random walk on, per-series DM tests with Holm's correction."""
    by_series = ctx.tables.get("metrics_by_series")
    if not ctx.many_series or by_series is None or "mase" not in by_series.columns:
        return None
    mase = by_series["mase"].unstack("model")
    mase = mase[[m for m in pd.unique(ctx.predictions["model"]) if m in mase.columns]]
    best = {(i, model) for i, model in enumerate(mase.idxmin(axis=1)) if isinstance(model, str)}
    parts = [_paragraphs([f"MASE (mean absolute error over the in-sample MAE of the naive "
                          f"forecast; below 1 beats it in sample) of every model on each of "
                          f"the {len(mase)} series; the best per series in bold."])]
    parts.append(_table_html(mase, bold=best))
    tests = ctx.tables.get("dm_tests_by_series")
    if tests is not None and "pvalue_adjusted" in tests.columns and ctx.reference is not None:
        rows = {}
        for model, group in tests.groupby(level="model", sort=False):
            adjusted, sign = group["pvalue_adjusted"], group["statistic"]
            rows[model] = {"series": len(group),
                           "better (raw p < 5%)": int(((group["pvalue"] < SIGNIFICANCE)
                                                       & (sign < 0)).sum()),
                           "better (Holm)": int(((adjusted < SIGNIFICANCE) & (sign < 0)).sum()),
                           "worse (Holm)": int(((adjusted < SIGNIFICANCE) & (sign > 0)).sum())}
        parts.append(_paragraphs([f"Diebold–Mariano tests against {ctx.reference} series by "
                                  "series (every test: dm_tests_by_series.csv); with many "
                                  "series some raw p-values fall below 5% by chance alone, so "
                                  "the counts after Holm's correction (family-wise 5% over the "
                                  "series) are the ones to read."]))
        parts.append(_table_html(pd.DataFrame(rows).T.rename_axis("model")))
    return Section("Per series", "".join(parts))


def forecasts_section(ctx: ReportContext) -> Section:
    """The actual series and every model's forecasts."""
    frame, label = ctx.predictions, ""
    if ctx.many_series:  # one series' forecasts (the series do not share a scale)
        first = frame["series"].iloc[0]
        frame, label = frame[frame["series"] == first], f"series {first}, "
    figure = ctx.save_figure("forecast_vs_actual",
                             lambda p: plot_forecast_vs_actual(frame, p, label))
    return Section("Forecasts", figure)


def network_section(ctx: ReportContext) -> Section | None:
    """What each convex network learned at its last refit, and the certificate of every refit."""
    if not ctx.explanations:
        return None
    parts = [_paragraphs([
        "The convex network is additive: its forecast is a constant plus one response curve per "
        "input (lag), and these curves are the model itself, not an approximation. Every refit "
        "is a certified global optimum: its duality gap bounds how far its objective is from "
        "the best network of its architecture."])]
    for name, explained in ctx.explanations.items():
        stem = f"network_{_stem(name)}"
        parts.append(f"<h3>{html.escape(str(name))}</h3>")
        certificates = explained.certificates
        ctx.save_table(f"{stem}_certificates", certificates, index=False)
        last, which = explained.last, "Last refit"
        if last is None and explained.by_series:  # a local model of many series: the first
            series, last = next(iter(explained.by_series.items()))
            which = (f"Last refit on series {series} (each series' last refit is in "
                     f"BacktestResult.explanations[{str(name)!r}].by_series)")
        parts.append(_paragraphs(_refit_summary(
            certificates, cv=last is not None and last.beta_path is not None)))
        if last is not None:
            from .plotting import plot_cv_curve, plot_response_curves

            parts.append(_paragraphs([f"{which}: " + " ".join(last.describe())]))
            write_explanation(last, ctx.directory, prefix=f"{stem}_", plots=False,
                              registry=ctx.files.tables)
            for step in last.steps:
                suffix = "" if len(last.steps) == 1 else f"_step{step}"
                if not last.is_empty:
                    parts.append(ctx.save_figure(
                        f"{stem}_response{suffix}", plot_response_curves(last, step=step),
                        f"Response curves of the last refit: the contribution of each input "
                        f"to the forecast ({last.units}); dots are kinks at data points, red "
                        f"diamonds kinks at reflections, the rug shows the training data."))
                if last.beta_path is not None:
                    parts.append(ctx.save_figure(
                        f"{stem}_cv{suffix}", plot_cv_curve(last, step=step),
                        "Cross-validation of β at the last refit: mean validation error "
                        "± 1 standard error, the chosen β (solid) and the 1-SE rule's β "
                        "(dashed); grey: neurons."))
            if len(last.kinks):
                kinks = last.kinks.drop(columns=[c for c in ("x_standardised", "neuron")
                                                 if c in last.kinks.columns])
                parts.append(f"<details><summary>Kinks of the last refit ({len(kinks)})"
                             f"</summary>{_table_html(kinks, index=False)}</details>")
        is_open = " open" if len(certificates) <= 12 else ""
        parts.append(f"<details{is_open}><summary>Certificates of all {len(certificates)} refits"
                     f"</summary>{_table_html(certificates, index=False)}</details>")
    return Section("What the network learned", "".join(parts))


def _refit_summary(certificates: pd.DataFrame, cv: bool) -> list[str]:
    """One sentence on the certificates of all refits (``cv``: β was chosen by CV)."""
    n = len(certificates)

    def span(values: pd.Series, digits: int = 3) -> str:
        low, high = _format_number(values.min(), digits), _format_number(values.max(), digits)
        return low if low == high else f"from {low} to {high}"

    neurons = certificates["n_neurons"]
    gap = float(certificates["relative_gap"].max())
    median = "" if neurons.min() == neurons.max() else \
        f" (median {_format_number(float(neurons.median()), 3)})"
    text = (f"{n} refit{'s' if n != 1 else ''}: β {span(certificates['beta'])}, "
            f"{span(neurons)} neurons{median}; largest certified relative duality gap "
            f"{f'{gap:.1e}' if gap > 0 else '0'}.")
    empty = int((neurons == 0).sum())
    if empty:
        why = ("cross-validation found no network that beat a constant forecast (a drift) on "
               "held-out data" if cv else "the ℓ1 penalty switched every input off (a drift)")
        text += f" In {empty} of {n} refits the network was empty: {why}."
    return [text]


_INTERVAL_COLUMNS = ("nominal_coverage", "coverage", "mean_width", "interval_score",
                     "n_intervals")


def _metric_tables(metrics: pd.DataFrame) -> str:
    """Point-forecast metrics, then interval metrics (one table would not fit the page)."""
    intervals = [c for c in _INTERVAL_COLUMNS if c in metrics.columns]
    parts = [_table_html(metrics.drop(columns=intervals))]
    if intervals:
        parts.append(_table_html(metrics[intervals]))
    return "".join(parts)


def metrics_section(ctx: ReportContext) -> Section:
    """Every metric (by horizon too, when there are several): point forecasts, then intervals."""
    parts = [_metric_tables(ctx.metrics)]
    by_horizon = ctx.tables.get("metrics_by_horizon")
    if by_horizon is not None:
        parts.append("<h3>By horizon</h3>" + _metric_tables(by_horizon))
    return Section("All metrics", "".join(parts))


_STRATEGY_COLUMNS = ("total_return", "annual_return", "volatility", "sharpe", "max_drawdown",
                     "turnover", "hit_rate", "exposure")


def strategy_section(ctx: ReportContext) -> Section | None:
    """Trading the forecasts: performance table and cumulative returns."""
    if not ctx.strategies:
        return None
    parts = []
    table = ctx.tables.get("strategy_metrics")
    if table is not None:  # the headline columns; strategy_metrics.csv has them all
        parts.append(_table_html(table[[c for c in _STRATEGY_COLUMNS if c in table.columns]]))
    parts.append(ctx.save_figure("strategy_pnl", lambda p: plot_strategy_pnl(ctx.strategies, p)))
    return Section("Trading the forecasts", "".join(parts))


def tables_section(ctx: ReportContext) -> Section | None:
    """The extra tables (timings, DM tests by horizon, ...), each under its own heading."""
    shown = {k: v for k, v in ctx.tables.items()  # the others are in their own sections
             if k not in ("strategy_metrics", "metrics_by_horizon", "metrics_by_series",
                          "dm_tests_by_series")}
    if not shown:
        return None
    return Section("Other tables", "".join(f"<h3>{html.escape(_heading(name))}</h3>"
                                           + _metric_tables(table)  # wide ones split in two
                                           for name, table in shown.items()))


#: The default sections, in page order.
SECTIONS: tuple[Callable[[ReportContext], Section | None], ...] = (
    headline_section, accuracy_section, series_section, forecasts_section, network_section,
    metrics_section, strategy_section, tables_section)


# ------------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5rem auto;
max-width:1100px;color:#1d1d1f;padding:0 1rem;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.4rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}
.headline{font-size:1.1rem;background:#f4f7fb;border-left:4px solid #1f4e79;
padding:.7rem 1rem;margin:.6rem 0}
.notes{font-size:.8rem;color:#555;margin:.3rem 0 1rem;padding-left:1.2rem}
.table-wrap{max-width:100%;overflow-x:auto}
table{border-collapse:collapse;font-size:.82rem;margin:.5rem 0;
font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e3e3e3;padding:.25rem .6rem;text-align:right;white-space:nowrap}
th{background:#f3f3f3;font-weight:600}td:first-child,th:first-child{text-align:left}
figure{margin:1rem 0}img{max-width:100%;height:auto}
figcaption{font-size:.8rem;color:#555}details{margin:.5rem 0}summary{cursor:pointer;
font-size:.9rem}p{max-width:75ch}
"""


def _render_html(title: str, sections: list[Section]) -> str:
    body = [f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        heading = "" if section.heading is None else f"<h2>{html.escape(section.heading)}</h2>"
        body.append(f"<section>{heading}{section.html}</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
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
    dm_tests: pd.DataFrame | None = None,
    reference: str | None = "naive",
    explanations: Mapping[str, Any] | None = None,
    sections: Sequence[Callable[[ReportContext], Section | None]] = SECTIONS,
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
        ``{"timings": ...}``; each becomes ``<name>.csv`` and an HTML table.
    title : str
        Report title.
    notes : sequence of str
        Bullet points under the headline (data source, settings, ...).
    dm_tests : pandas.DataFrame, optional
        Diebold–Mariano tests of the models against ``reference``, indexed by (model,
        horizon) with ``statistic``, ``pvalue``, ``mean_loss_difference`` and ``n`` (as
        ``BacktestResult.dm_tests(reference)`` returns them, squared loss). They make the
        headline and the accuracy section; without them the page says no model was tested.
    reference : str or None
        The random-walk benchmark the DM tests are against (default ``"naive"``).
    explanations : mapping, optional
        Model name -> BacktestExplanation (``BacktestResult.explanations``): adds the section
        "What the network learned".
    sections : sequence of callables
        The section builders, in page order (default :data:`SECTIONS`).

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
    if dm_tests is not None:
        dm_tests = _check_frame("dm_tests", dm_tests)
    models = set(frame["model"].astype(str))
    if reference is not None and str(reference) not in models:
        reference, dm_tests = None, None
    strategies = {} if strategies is None else dict(strategies)
    strategy_table = _strategy_metrics(strategies)
    if strategy_table is not None:
        extra["strategy_metrics"] = strategy_table
    directory.mkdir(parents=True, exist_ok=True)

    files = ReportFiles(directory=directory, html=directory / "report.html")
    ctx = ReportContext(files=files, predictions=frame, metrics=metrics, reference=reference,
                        dm_tests=dm_tests, strategies=strategies, tables=extra,
                        explanations=dict(explanations or {}), notes=[str(n) for n in notes])
    ctx.save_table("predictions", frame, index=False)
    ctx.save_table("metrics", metrics)
    if dm_tests is not None:
        ctx.save_table(f"dm_tests_vs_{_stem(reference)}", dm_tests)
    for name, table in extra.items():
        ctx.save_table(name, table)
    built = [section for builder in sections if (section := builder(ctx)) is not None]
    files.html.write_text(_render_html(title, built), encoding="utf-8")
    return files


def write_explanation(explanation: Any, out_dir: str | os.PathLike[str], *, prefix: str = "",
                      plots: bool = True, registry: dict[str, Path] | None = None,
                      ) -> dict[str, Path]:
    """Write what a network learned: CSV tables and (with ``plots``) PNG figures.

    Files (each name preceded by ``prefix``): ``response_curves.csv``, ``kinks.csv``,
    ``inputs.csv``, ``certificate.csv``, ``beta_path.csv`` (β chosen by CV only),
    ``response_curves.png`` (per step ``response_curves_step<h>.png`` for direct models) and
    ``cv_curve.png``.

    Parameters
    ----------
    explanation : Explanation or fitted estimator/forecaster
        What to write (an object with ``explain()`` is explained with its default grid).
    out_dir : path-like
        Output directory (created if needed).
    prefix : str
        Prefix of every file name.
    plots : bool
        Also draw the PNGs.
    registry : dict, optional
        Written CSVs are also recorded here by stem (used by the report).

    Returns
    -------
    dict
        Path of every file written, by file name.
    """
    from .plotting import _explanation, plot_cv_curve, plot_response_curves

    explanation = _explanation(explanation)
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    frames = {"response_curves": explanation.curves, "kinks": explanation.kinks,
              "inputs": explanation.inputs, "certificate": explanation.certificate,
              "beta_path": explanation.beta_path}
    for name, frame in frames.items():
        if frame is not None:
            path = directory / f"{prefix}{name}.csv"
            frame.to_csv(path, index=False)
            written[path.name] = path
    if plots:
        for step in explanation.steps:
            suffix = "" if len(explanation.steps) == 1 else f"_step{step}"
            path = directory / f"{prefix}response_curves{suffix}.png"
            plot_response_curves(explanation, step=step).savefig(path, dpi=_DPI)
            written[path.name] = path
            if explanation.beta_path is not None:
                path = directory / f"{prefix}cv_curve{suffix}.png"
                plot_cv_curve(explanation, step=step).savefig(path, dpi=_DPI)
                written[path.name] = path
    if registry is not None:
        registry.update({v.stem: v for v in written.values() if v.suffix == ".csv"})
    return written


def _strategy_metrics(strategies: Mapping[str, Any]) -> pd.DataFrame | None:
    """One row per strategy, then its benchmark's row (``buy_and_hold`` for one asset,
    ``equal_weight`` for a portfolio), taken from the first strategy that has one."""
    rows: dict[str, pd.Series] = {}
    benchmarks: dict[str, pd.Series] = {}
    for name, strategy in strategies.items():
        _, _, metrics = _equity_of(name, strategy)
        if isinstance(metrics, pd.DataFrame) and len(metrics):
            rows[str(name)] = metrics.iloc[0]
            for bench in metrics.index[1:]:
                benchmarks.setdefault(str(bench), metrics.loc[bench])
    if not rows:
        return None
    table = pd.DataFrame({**rows, **{k: v for k, v in benchmarks.items() if k not in rows}}).T
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
    reference: str | None = "naive",
    sections: Sequence[Callable[[ReportContext], Section | None]] = SECTIONS,
) -> ReportFiles:
    """:func:`write_report` for a BacktestResult-like object.

    ``result`` needs ``predictions`` and ``metrics`` DataFrame attributes; when present,
    ``metrics_by_horizon`` (only written with more than one horizon) and ``timings`` are
    added as extra tables (with many series also ``metrics_by_series`` and the per-series DM
    tests, Holm-corrected, for the section "Per series"), ``explanations`` make the section "What the network learned",
    ``dm_tests(reference)`` (when ``reference`` is one of the models) makes the headline and
    the accuracy section, and ``config`` (a dict) is written to ``config.json``.
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
    models = list(pd.unique(predictions["model"]))
    compare = reference is not None and reference in models and len(models) > 1 \
        and callable(getattr(result, "dm_tests", None))
    if "series" in predictions.columns:  # many series: the "Per series" section's tables
        by_series = getattr(result, "metrics_by_series", None)
        if isinstance(by_series, pd.DataFrame):
            extra["metrics_by_series"] = by_series
        if compare:
            extra["dm_tests_by_series"] = result.dm_tests(reference, by_series=True)
    extra.update(tables or {})
    dm = result.dm_tests(reference) if compare else None
    config = getattr(result, "config", None)
    exog_note = _exog_note(config)
    if exog_note:
        notes = [*notes, exog_note]
    files = write_report(out_dir, predictions, metrics, strategies=strategies, tables=extra,
                         title=title, notes=notes, dm_tests=dm, reference=reference,
                         explanations=getattr(result, "explanations", None), sections=sections)
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
