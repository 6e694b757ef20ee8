"""Prediction intervals for rolling-origin forecasts, calibrated without look-ahead.

Both methods work on a tidy predictions frame (``origin, target, horizon, model, forecast,
actual``) and only ever use residuals that were observable at each forecast's origin:

- :func:`conformal_intervals` -- split-conformal: for the forecast made at origin ``o`` with
  horizon ``h`` the calibration set is the absolute out-of-sample residuals ``|actual -
  forecast|`` of the same model and horizon whose *targets* are at or before ``o``. The
  half-width is the ``ceil((n + 1) * level)``-th smallest of those ``n`` residuals, which gives
  coverage >= ``level`` under exchangeability (Vovk et al. 2005; Lei et al. 2018).
- :func:`bootstrap_intervals` -- residual bootstrap: ``n_boot`` residuals are resampled with
  replacement and added to the forecast; the interval is the central ``level`` percentile range.
  The pool is either the same past out-of-sample residuals (``residuals="out_of_sample"``) or
  the fold model's one-step in-sample residuals (``residuals="in_sample"``), whose ``h``-step
  error is simulated as the sum of ``h`` independent draws (exact for a random walk, an
  approximation for other models).

Forecasts whose calibration set is too small for a finite interval, i.e. fewer than
``ceil(level / (1 - level))`` residuals, get NaN bounds; the backtest reports how many rows have
intervals next to the empirical coverage.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._validation import (
    check_fraction,
    check_option,
    check_positive_int,
    renamed_argument,
)

__all__ = [
    "add_intervals",
    "bootstrap_intervals",
    "check_interval_options",
    "conformal_intervals",
    "conformal_quantile",
    "min_calibration_size",
]

_OPTIONS = {
    "conformal": {"method", "level"},
    "bootstrap": {"method", "level", "n_boot", "random_state", "seed", "residuals"},
}


def min_calibration_size(level: float) -> int:
    """Fewest residuals for which a split-conformal ``level`` interval is finite."""
    level = check_fraction("level", level)
    return max(1, math.ceil(level / (1.0 - level) - 1e-12))


def check_interval_options(intervals: Any) -> dict[str, Any] | None:
    """Validate the ``intervals`` argument of :func:`~convexforecast.forecasting.backtest.backtest`.

    Returns a complete options dict (defaults filled in) or None.
    """
    if intervals is None:
        return None
    if not isinstance(intervals, Mapping):
        raise TypeError(f"`intervals` must be a dict such as {{'method': 'conformal', "
                        f"'level': 0.9}} or None. Got {type(intervals).__name__}.")
    method = check_option("intervals['method']", intervals.get("method"), list(_OPTIONS))
    unknown = set(intervals) - _OPTIONS[method]
    if unknown:
        raise ValueError(f"`intervals` has unknown keys {sorted(unknown)} for method "
                         f"{method!r}; allowed {sorted(_OPTIONS[method])}. Got {dict(intervals)}.")
    out: dict[str, Any] = {"method": method, "level": check_fraction("intervals['level']",
                                                                intervals.get("level", 0.9))}
    if method == "bootstrap":
        out["n_boot"] = check_positive_int("intervals['n_boot']", intervals.get("n_boot", 1000))
        seed = renamed_argument("intervals['random_state']", intervals.get("random_state", 0),
                                "intervals['seed']", intervals.get("seed"), 0)
        out["random_state"] = check_positive_int("intervals['random_state']", seed, minimum=0)
        out["residuals"] = check_option("intervals['residuals']",
                                        intervals.get("residuals", "out_of_sample"),
                                        ("out_of_sample", "in_sample"))
    return out


def _check_frame(predictions: Any) -> pd.DataFrame:
    if not isinstance(predictions, pd.DataFrame):
        raise TypeError(f"`predictions` must be a DataFrame. Got {type(predictions).__name__}.")
    required = {"origin", "target", "horizon", "model", "forecast", "actual"}
    missing = required - set(predictions.columns)
    if missing:
        raise ValueError(f"`predictions` must have columns {sorted(required)}. "
                         f"Missing {sorted(missing)}.")
    return predictions


def _group_keys(frame: pd.DataFrame) -> list[str]:
    """Calibration groups: per model and horizon, and per series in a panel backtest."""
    return ["model", "series", "horizon"] if "series" in frame.columns else ["model", "horizon"]


def _calibration_counts(group: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Order of the group's rows by target, and for each row how many targets are <= its origin."""
    order = np.argsort(group["target"].to_numpy(), kind="stable")
    targets = pd.Index(group["target"].to_numpy()[order])
    counts = targets.searchsorted(pd.Index(group["origin"].to_numpy()), side="right")
    return order, np.asarray(counts)


def conformal_quantile(abs_residuals: np.ndarray, level: float) -> float:
    """The split-conformal half-width: the ``ceil((n + 1) * level)``-th smallest of ``n``
    absolute residuals (NaN when that rank exceeds ``n``; non-finite residuals are ignored).

    ``(n + 1) * level`` is rounded down by 1e-12 before the ceiling, so that a product that is
    an integer in exact arithmetic (e.g. ``0.55 * 100``) is not pushed one rank up by
    floating-point round-off.
    """
    values = np.sort(np.asarray(abs_residuals, dtype=np.float64))
    values = values[np.isfinite(values)]
    rank = math.ceil((values.size + 1) * level - 1e-12)
    return float(values[rank - 1]) if 1 <= rank <= values.size else float("nan")


def conformal_intervals(predictions: pd.DataFrame, *, level: float = 0.9) -> pd.DataFrame:
    """Split-conformal intervals from past out-of-sample absolute residuals.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Tidy backtest predictions (``origin, target, horizon, model, forecast, actual``).
    level : float
        Nominal coverage in (0, 1).

    Returns
    -------
    pandas.DataFrame
        Columns ``lower`` and ``upper`` aligned with ``predictions.index`` (NaN where fewer
        than :func:`min_calibration_size` residuals were observable at the origin).
    """
    frame = _check_frame(predictions)
    level = check_fraction("level", level)
    lower = np.full(len(frame), np.nan)
    upper = np.full(len(frame), np.nan)
    for rows in frame.groupby(_group_keys(frame), sort=False).indices.values():
        group = frame.iloc[rows]
        order, counts = _calibration_counts(group)
        residuals = np.abs(group["actual"].to_numpy(np.float64) - group["forecast"].to_numpy(
            np.float64))[order]
        forecast = group["forecast"].to_numpy(np.float64)
        for n in np.unique(counts):
            half = conformal_quantile(residuals[:n], level)
            if not np.isfinite(half):
                continue
            mask = counts == n
            lower[rows[mask]] = forecast[mask] - half
            upper[rows[mask]] = forecast[mask] + half
    return pd.DataFrame({"lower": lower, "upper": upper}, index=frame.index)


def _stable_seed(*parts: Any) -> list[int]:
    return [zlib.crc32(repr(p).encode()) for p in parts]


def bootstrap_intervals(
    predictions: pd.DataFrame,
    *,
    level: float = 0.9,
    n_boot: int = 1000,
    random_state: int = 0,
    residuals: str = "out_of_sample",
    in_sample_residuals: Mapping[tuple[str, int], np.ndarray | None] | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Residual-bootstrap percentile intervals.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Tidy backtest predictions; ``residuals="in_sample"`` also needs a ``fold`` column.
    level : float
        Nominal coverage in (0, 1).
    n_boot : int
        Bootstrap draws per forecast.
    random_state : int
        Base seed. Each forecast's draws use a generator seeded from ``(random_state, model,
        [series,] horizon, origin)``, so results do not depend on row order or on parallel
        execution.
    residuals : {"out_of_sample", "in_sample"}
        Residual pool (see the module docstring).
    in_sample_residuals : mapping, optional
        ``(model, fold) -> one-step in-sample residuals`` of the model used for that fold
        (``(model, series, fold)`` when ``predictions`` has a ``series`` column; required for
        ``residuals="in_sample"``; None entries give NaN bounds).
    seed : int, optional
        Deprecated name of ``random_state`` (removed in the next release).

    Returns
    -------
    pandas.DataFrame
        Columns ``lower`` and ``upper`` aligned with ``predictions.index``.
    """
    frame = _check_frame(predictions)
    level = check_fraction("level", level)
    n_boot = check_positive_int("n_boot", n_boot)
    seed = check_positive_int("random_state", renamed_argument("random_state", random_state,
                                                               "seed", seed, 0), minimum=0)
    check_option("residuals", residuals, ("out_of_sample", "in_sample"))
    if residuals == "in_sample" and in_sample_residuals is None:
        raise ValueError("`in_sample_residuals` must be given for residuals='in_sample'. Got None.")
    quantiles = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
    minimum = min_calibration_size(level)
    lower = np.full(len(frame), np.nan)
    upper = np.full(len(frame), np.nan)
    for key, rows in frame.groupby(_group_keys(frame), sort=False).indices.items():
        model, horizon = key[0], key[-1]
        series = key[1:-1]  # () for one series, (name,) in a panel backtest
        group = frame.iloc[rows]
        forecast = group["forecast"].to_numpy(np.float64)
        origins = group["origin"].to_numpy()
        if residuals == "out_of_sample":
            order, counts = _calibration_counts(group)
            pool_all = (group["actual"].to_numpy(np.float64) - forecast)[order]
            pools = [pool_all[:n] for n in counts]
        else:
            folds = group["fold"].to_numpy()
            pools = [in_sample_residuals.get((model, *series, int(f))) for f in folds]
        for i, pool in enumerate(pools):
            if pool is None:
                continue
            pool = np.asarray(pool, dtype=np.float64)
            pool = pool[np.isfinite(pool)]
            if pool.size < minimum:
                continue
            rng = np.random.default_rng(_stable_seed(seed, model, *series, int(horizon),
                                                     origins[i]))
            steps = int(horizon) if residuals == "in_sample" else 1
            draws = pool[rng.integers(0, pool.size, size=(n_boot, steps))].sum(axis=1)
            lo, hi = np.quantile(forecast[i] + draws, quantiles)
            lower[rows[i]], upper[rows[i]] = lo, hi
    return pd.DataFrame({"lower": lower, "upper": upper}, index=frame.index)


def add_intervals(
    predictions: pd.DataFrame,
    options: Mapping[str, Any],
    *,
    in_sample_residuals: Mapping[tuple[str, int], np.ndarray | None] | None = None,
) -> pd.DataFrame:
    """Return a copy of ``predictions`` with ``lower`` and ``upper`` columns.

    Parameters
    ----------
    predictions : pandas.DataFrame
        Tidy backtest predictions.
    options : mapping
        ``{"method": "conformal" | "bootstrap", "level": float, ...}`` as accepted by
        :func:`check_interval_options`.
    in_sample_residuals : mapping, optional
        For the in-sample bootstrap, see :func:`bootstrap_intervals`.
    """
    opts = check_interval_options(options)
    if opts is None:
        raise ValueError("`options` must describe an interval method. Got None.")
    if opts["method"] == "conformal":
        bounds = conformal_intervals(predictions, level=opts["level"])
    else:
        bounds = bootstrap_intervals(
            predictions, level=opts["level"], n_boot=opts["n_boot"], random_state=opts["random_state"],
            residuals=opts["residuals"], in_sample_residuals=in_sample_residuals,
        )
    out = predictions.copy()
    out["lower"] = bounds["lower"].to_numpy()
    out["upper"] = bounds["upper"].to_numpy()
    return out
