"""Rolling-origin backtesting, written once for every forecaster.

The fold plan is computed up front (:func:`plan_backtest`). Fold ``k`` has an *origin* -- the
last observation the forecast may use -- at position ``o_k = initial_train_size - 1 + k *
fold_stride``; it forecasts the targets ``o_k + gap + 1, ..., o_k + gap + steps`` (the last fold
may be shorter), so ``horizon`` counts steps from the origin (``gap + 1, ..., gap + steps``).

Folds are grouped into *refit blocks*: a block starts with a fold whose model is fitted from
scratch on the training window ending at its origin (expanding from the start, or the last
``initial_train_size`` observations with ``fixed_train_size=True``); the following folds of the
block only :meth:`~convexforecast.forecasting.base.BaseForecaster.update` the model with the
observations up to their own origin. ``refit=True`` makes every fold a block, ``refit=False``
one block, ``refit=k`` a block every ``k`` folds. A *task* runs ``refits_per_task``
consecutive blocks (default 1) of one model, in order, on one fresh clone of the forecaster;
each block receives only the observations up to its own last origin -- so no fit, transform or
cross-validation can see data after an origin. Within a task a forecaster with
``warm_start=True`` starts every refit from the previous one. Tasks run through :mod:`joblib`
(``joblib.parallel_config(backend="dask")`` distributes them on a Dask cluster), and results
are assembled in plan order; the grouping into tasks is fixed by ``refits_per_task``, so
results do not depend on ``n_jobs`` or the backend.

With ``checkpoint_dir`` the blocks of every finished task are saved, and a rerun with the same
configuration loads them instead of recomputing them (see
:mod:`convexforecast.forecasting.checkpoints`: what the fingerprint covers, how damaged files
are recomputed, and the :class:`~convexforecast.forecasting.checkpoints.CheckpointError` for a
directory written by another backtest).
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from tqdm.auto import tqdm

from .._artefacts import library_version
from .._index import same_labels
from .._validation import _short, check_option, check_positive_int
from . import metrics as _m
from .base import _as_series, _validate_index, _validate_values
from .checkpoints import (
    CHECKPOINT_FORMAT_VERSION,
    CheckpointStore,
    describe_model,
    fingerprint,
    series_digest,
)
from .intervals import add_intervals, check_interval_options

__all__ = ["BacktestResult", "backtest", "plan_backtest"]

MAX_WARNINGS_PER_MODEL = 10  # distinct warnings re-raised per model (then one summary)


# ----------------------------------------------------------------------------- fold plan
@dataclass(frozen=True)
class _Fold:
    """One fold, in integer positions of ``y`` (all bounds inclusive)."""

    fold: int
    block: int
    refit: bool
    train_start: int
    train_end: int
    origin: int
    test_start: int
    test_end: int


def _check_series(y: Any) -> pd.Series:
    series = _as_series(y, "y")
    values = _validate_values(series, "y")
    _validate_index(series.index, "y")
    return pd.Series(values, index=series.index.copy(), name=series.name)


def _resolve_initial_train_size(index: pd.Index, value: Any) -> int:
    """An observation count, or a date-like label: the number of observations at or before it."""
    if isinstance(value, bool):
        raise ValueError(f"`initial_train_size` must be an integer >= 1 or a date. Got {value!r}.")
    if isinstance(value, int | np.integer):
        return check_positive_int("initial_train_size", value)
    if isinstance(index, pd.DatetimeIndex) and isinstance(
        value, str | _dt.date | np.datetime64 | pd.Timestamp
    ):
        try:
            label = pd.Timestamp(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"`initial_train_size` must be an integer or a date. Got {_short(value)}."
            ) from None
        if index.tz is not None and label.tz is None:
            label = label.tz_localize(index.tz)
        return int(index.searchsorted(label, side="right"))
    if isinstance(index, pd.PeriodIndex) and isinstance(value, str | pd.Period | _dt.date):
        label = pd.Period(value, freq=index.freq)
        return int(index.searchsorted(label, side="right"))
    raise ValueError(
        "`initial_train_size` must be an integer, or a date when `y` has a DatetimeIndex or "
        f"PeriodIndex. Got {_short(value)} for an index of type {type(index).__name__}."
    )


def _check_refit(refit: Any) -> int:
    """Refit period in folds: 1 for True, 0 for False (never), k for an integer k >= 1."""
    if isinstance(refit, bool):
        return 1 if refit else 0
    if isinstance(refit, int | np.integer) and refit >= 1:
        return int(refit)
    raise ValueError(f"`refit` must be True, False or an integer >= 1. Got {_short(refit)}.")


def _make_folds(
    y: pd.Series,
    *,
    initial_train_size: Any,
    steps: int,
    fold_stride: int | None,
    refit: Any,
    fixed_train_size: bool,
    gap: int,
) -> tuple[list[_Fold], dict[str, Any]]:
    steps = check_positive_int("steps", steps)
    stride = steps if fold_stride is None else check_positive_int("fold_stride", fold_stride)
    gap = check_positive_int("gap", gap, minimum=0)
    period = _check_refit(refit)
    if not isinstance(fixed_train_size, bool | np.bool_):
        raise ValueError(
            f"`fixed_train_size` must be True or False. Got {_short(fixed_train_size)}."
        )
    n = len(y)
    n0 = _resolve_initial_train_size(y.index, initial_train_size)
    if n0 < 1 or n0 + gap >= n:
        raise ValueError(
            f"`initial_train_size` must leave at least one test observation after the gap "
            f"(1 <= initial_train_size <= {n - gap - 1} for {n} observations and gap={gap}). "
            f"Got {_short(initial_train_size)} ({n0} observations)."
        )
    folds: list[_Fold] = []
    block_start: _Fold | None = None
    for k, origin in enumerate(range(n0 - 1, n - 1 - gap, stride)):
        block = k if period == 1 else (0 if period == 0 else k // period)
        starts_block = block_start is None or block != block_start.block
        if starts_block:
            train_start = origin - n0 + 1 if fixed_train_size else 0
            train_end = origin
        else:
            train_start, train_end = block_start.train_start, block_start.train_end
        fold = _Fold(
            fold=k, block=block, refit=starts_block, train_start=train_start,
            train_end=train_end, origin=origin, test_start=origin + gap + 1,
            test_end=min(origin + gap + steps, n - 1),
        )
        if starts_block:
            block_start = fold
        folds.append(fold)
    settings = {
        "initial_train_size": n0, "steps": steps, "fold_stride": stride, "refit": period,
        "fixed_train_size": bool(fixed_train_size), "gap": gap,
    }
    return folds, settings


def _folds_frame(folds: list[_Fold], index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "fold": [f.fold for f in folds],
            "block": [f.block for f in folds],
            "refit": [f.refit for f in folds],
            "train_start": index[[f.train_start for f in folds]],
            "train_end": index[[f.train_end for f in folds]],
            "origin": index[[f.origin for f in folds]],
            "test_start": index[[f.test_start for f in folds]],
            "test_end": index[[f.test_end for f in folds]],
            "n_train": [f.train_end - f.train_start + 1 for f in folds],
            "n_test": [f.test_end - f.test_start + 1 for f in folds],
        }
    )


def plan_backtest(
    y: pd.Series,
    *,
    initial_train_size: Any,
    steps: int = 1,
    fold_stride: int | None = None,
    refit: bool | int = True,
    fixed_train_size: bool = False,
    gap: int = 0,
) -> pd.DataFrame:
    """The fold plan :func:`backtest` would run, without fitting anything.

    Parameters are those of :func:`backtest`.

    Returns
    -------
    pandas.DataFrame
        One row per fold: ``fold``, ``block`` (refit block), ``refit`` (whether the model is
        fitted from scratch at this fold), ``train_start``/``train_end`` (the window the fold's
        model was fitted on), ``origin`` (last observation the forecast uses), ``test_start``/
        ``test_end`` (first and last target), ``n_train`` and ``n_test``.
    """
    series = _check_series(y)
    folds, _ = _make_folds(
        series, initial_train_size=initial_train_size, steps=steps, fold_stride=fold_stride,
        refit=refit, fixed_train_size=fixed_train_size, gap=gap,
    )
    return _folds_frame(folds, series.index)


# ------------------------------------------------------------------------ forecasters
def _check_forecasters(forecasters: Any) -> dict[str, Any]:
    def is_forecaster(obj: Any) -> bool:
        return all(callable(getattr(obj, name, None)) for name in ("fit", "predict", "update"))

    if isinstance(forecasters, Mapping):
        if not forecasters:
            raise ValueError("`forecasters` must not be empty. Got {}.")
        models = dict(forecasters)
    else:
        models = {type(forecasters).__name__: forecasters}
    for name, model in models.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"`forecasters` keys must be non-empty strings. Got {name!r}.")
        if not is_forecaster(model):
            raise TypeError(f"`forecasters[{name!r}]` must be a forecaster with fit, predict and "
                            f"update methods. Got {type(model).__name__}.")
    return models


# ------------------------------------------------------------------------- one task
def _run_blocks(
    forecaster: Any,
    visible: list[pd.Series],
    folds: list[list[_Fold]],
    target_labels: list[list[pd.Index]],
    gap: int,
    keys: list[tuple[int, int]],
) -> list[dict[str, Any]]:
    """Run consecutive refit blocks on one fresh copy: per block, fit then update/predict.

    ``visible[b]`` ends at block b's last origin: nothing after it is available to block b.
    Warnings are recorded per block (category path and message, each once) and returned, so
    that :func:`backtest` can re-emit them in the caller's process whatever the backend.
    """
    model = clone(forecaster, safe=False)
    results = []
    for y_visible, block_folds, labels, key in zip(visible, folds, target_labels, keys,
                                                   strict=True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _fit_and_predict(model, y_visible, block_folds, labels, gap)
        messages: dict[tuple[str, str], None] = {}
        for item in caught:
            path = f"{item.category.__module__}.{item.category.__qualname__}"
            messages[(path, str(item.message))] = None
        results.append({"key": key, **result, "warnings": [list(m) for m in messages]})
    return results


def _fit_and_predict(model: Any, y_visible: pd.Series, folds: list[_Fold],
                     target_labels: list[pd.Index], gap: int) -> dict[str, Any]:
    first = folds[0]
    start = time.perf_counter()
    model.fit(y_visible.iloc[first.train_start: first.train_end + 1])
    fit_seconds = time.perf_counter() - start
    residuals = getattr(model, "in_sample_residuals_", None)
    fold_ids, origins, targets, forecasts = [], [], [], []
    predict_seconds = 0.0
    previous = first.origin
    for fold, labels in zip(folds, target_labels, strict=True):
        start = time.perf_counter()
        if fold.origin > previous:
            model.update(y_visible.iloc[previous + 1: fold.origin + 1])
            previous = fold.origin
        n_test = fold.test_end - fold.test_start + 1
        prediction = model.predict(gap + n_test)
        predict_seconds += time.perf_counter() - start
        if not same_labels(prediction.index[gap:], labels):
            raise RuntimeError(
                f"{type(model).__name__}.predict returned targets {list(prediction.index[gap:])} "
                f"at fold {fold.fold}; expected {list(labels)}."
            )
        values = np.asarray(prediction.to_numpy(dtype=np.float64)[gap:])
        fold_ids.append(np.full(n_test, fold.fold, dtype=np.int64))
        origins.append(np.full(n_test, fold.origin, dtype=np.int64))
        targets.append(np.arange(fold.test_start, fold.test_end + 1, dtype=np.int64))
        forecasts.append(values)
    return {
        "fold": np.concatenate(fold_ids),
        "origin": np.concatenate(origins),
        "target": np.concatenate(targets),
        "forecast": np.concatenate(forecasts),
        "residuals": None if residuals is None else np.asarray(residuals, dtype=np.float64).copy(),
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
    }


# ---------------------------------------------------------------------------- result
@dataclass(repr=False)
class BacktestResult:
    """Outcome of :func:`backtest`.

    Attributes
    ----------
    predictions : pandas.DataFrame
        Tidy forecasts: ``origin`` (last observation used), ``target``, ``horizon`` (steps
        after the origin), ``model``, ``forecast``, ``actual``, ``fold`` and, with intervals,
        ``lower`` and ``upper``.
    folds : pandas.DataFrame
        The fold plan (see :func:`plan_backtest`).
    timings : pandas.DataFrame
        Per model: ``fit_seconds`` (total over refits), ``predict_seconds`` (updates and
        predictions) and ``n_fits``. Tasks loaded from a checkpoint keep their recorded times.
    config : dict
        The plan settings, the forecasters' parameters and the interval options.
    y : pandas.Series
        The backtested series (a copy).
    in_sample_residuals : dict
        ``(model, fold) -> one-step in-sample residuals`` of the model used at that fold (None
        when the forecaster does not expose them).
    """

    predictions: pd.DataFrame
    folds: pd.DataFrame
    timings: pd.DataFrame
    config: dict[str, Any]
    y: pd.Series
    in_sample_residuals: dict[tuple[str, int], np.ndarray | None] = field(default_factory=dict)

    def __repr__(self) -> str:
        models = list(pd.unique(self.predictions["model"]))
        return (f"BacktestResult(models={models}, folds={len(self.folds)}, "
                f"forecasts={len(self.predictions)})")

    @property
    def models(self) -> list[str]:
        """Model names in the order they were given."""
        return list(pd.unique(self.predictions["model"]))

    @property
    def fit_seconds(self) -> pd.Series:
        """Total fitting time per model, in seconds."""
        return self.timings["fit_seconds"]

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Model x metric table over all forecasts (see :meth:`compute_metrics`)."""
        return self.compute_metrics()

    @cached_property
    def metrics_by_horizon(self) -> pd.DataFrame:
        """Metrics indexed by (model, horizon)."""
        return self.compute_metrics(by_horizon=True)

    def compute_metrics(
        self, *, by_horizon: bool = False, seasonal_period: int = 1
    ) -> pd.DataFrame:
        """Accuracy metrics per model (and per horizon).

        Columns: ``n``, ``mae``, ``rmse``, ``mape`` and ``smape`` (percent; MAPE is NaN if an
        actual is zero), ``mase`` (each fold scaled by the in-sample MAE of the seasonal naive
        forecast on that fold's training window), ``directional_accuracy`` (share of right calls;
        flat forecasts call no direction, NaN if none) and ``directional_pvalue`` (two-sided
        exact binomial test against 0.5). With intervals also ``coverage``,
        ``nominal_coverage``, ``mean_width``, ``interval_score`` and ``n_intervals`` (forecasts
        that have an interval; coverage and width are over those).

        Parameters
        ----------
        by_horizon : bool
            Index by (model, horizon) instead of model.
        seasonal_period : int
            Seasonal period ``m`` of the MASE scale.
        """
        m = check_positive_int("seasonal_period", seasonal_period)
        values = self.y.to_numpy()
        scales = {}
        for row in self.folds.itertuples():
            start = self.y.index.get_loc(row.train_start)
            window = values[start: start + row.n_train]
            scales[row.fold] = (_m.naive_scale(window, m) if window.size > m else np.nan)
        frame = self.predictions
        origin_pos = self.y.index.get_indexer(pd.Index(frame["origin"]))
        last = values[origin_pos]
        scale = frame["fold"].map(scales).to_numpy(np.float64)
        keys = ["model", "horizon"] if by_horizon else ["model"]
        rows = {}
        for key, pos in frame.groupby(keys, sort=False).indices.items():
            rows[key] = self._group_metrics(frame.iloc[pos], last[pos], scale[pos])
        order = {name: i for i, name in enumerate(self.models)}
        if by_horizon:
            keys_sorted = sorted(rows, key=lambda k: (order[k[0]], k[1]))
            out = pd.DataFrame([rows[k] for k in keys_sorted],
                               index=pd.MultiIndex.from_tuples(keys_sorted, names=keys))
        else:
            keys_sorted = sorted(rows, key=lambda k: order[k])
            out = pd.DataFrame([rows[k] for k in keys_sorted],
                               index=pd.Index(keys_sorted, name="model"))
        out["n"] = out["n"].astype(int)
        return out

    def _group_metrics(self, group: pd.DataFrame, last: np.ndarray, scale: np.ndarray
                       ) -> dict[str, float]:
        actual = group["actual"].to_numpy(np.float64)
        forecast = group["forecast"].to_numpy(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            direction = _m.directional_accuracy_test(actual, forecast, last)
            row = {
                "n": len(group),
                "mae": _m.mae(actual, forecast),
                "rmse": _m.rmse(actual, forecast),
                "mape": _m.mape(actual, forecast),
                "smape": _m.smape(actual, forecast),
                "mase": (float(np.mean(np.abs(actual - forecast) / scale))
                         if np.all(scale > 0) else np.nan),
                "directional_accuracy": direction.accuracy,
                "directional_pvalue": direction.pvalue,
            }
        options = self.config.get("intervals")
        if options is not None:
            lower = group["lower"].to_numpy(np.float64)
            upper = group["upper"].to_numpy(np.float64)
            has = np.isfinite(lower) & np.isfinite(upper)
            row["nominal_coverage"] = options["level"]
            row["n_intervals"] = int(has.sum())
            if has.any():
                row["coverage"] = _m.coverage(actual[has], lower[has], upper[has])
                row["mean_width"] = _m.mean_interval_width(lower[has], upper[has])
                row["interval_score"] = _m.interval_score(actual[has], lower[has], upper[has],
                                                          options["level"])
            else:
                row.update(coverage=np.nan, mean_width=np.nan, interval_score=np.nan)
        return row

    def dm_tests(
        self,
        reference: str = "naive",
        *,
        loss: str = "squared",
        horizon: int | None = None,
        alternative: str = "two-sided",
    ) -> pd.DataFrame:
        """Diebold–Mariano tests (HLN-corrected) of every model against ``reference``.

        Losses are paired on (origin, target); the test at horizon ``h`` uses ``h`` as its
        autocovariance horizon. A negative statistic means the model beats the reference.

        Parameters
        ----------
        reference : str
            Name of the benchmark model.
        loss : {"squared", "absolute"}
            Loss applied to the forecast errors.
        horizon : int, optional
            Only this horizon; default every horizon.
        alternative : {"two-sided", "less", "greater"}
            ``"less"``: the model is more accurate than the reference.

        Returns
        -------
        pandas.DataFrame
            Indexed by (model, horizon) with ``statistic``, ``pvalue``,
            ``mean_loss_difference`` (model minus reference) and ``n``.
        """
        check_option("reference", reference, self.models)
        check_option("loss", loss, ("squared", "absolute"))
        frame = self.predictions
        horizons = sorted(int(h) for h in pd.unique(frame["horizon"]))
        if horizon is not None:
            check_option("horizon", horizon, horizons)
            horizons = [horizon]
        base = frame[frame["model"] == reference].set_index(["origin", "target"])
        rows = {}
        for name in self.models:
            if name == reference:
                continue
            other = frame[frame["model"] == name].set_index(["origin", "target"])
            for h in horizons:
                a = other[other["horizon"] == h]
                b = base[base["horizon"] == h]
                joined = a[["forecast", "actual"]].merge(
                    b[["forecast"]], left_index=True, right_index=True, how="inner",
                    suffixes=("", "_ref"))
                errors_a = joined["actual"] - joined["forecast"]
                errors_b = joined["actual"] - joined["forecast_ref"]
                try:
                    result = _m.diebold_mariano(errors_a, errors_b, horizon=h, loss=loss,
                                                alternative=alternative)
                except ValueError:  # identical losses or too few pairs: no test possible
                    diff = (errors_a**2 - errors_b**2 if loss == "squared"
                            else errors_a.abs() - errors_b.abs())
                    rows[(name, h)] = {"statistic": np.nan, "pvalue": np.nan,
                                       "mean_loss_difference": float(diff.mean()),
                                       "n": len(joined)}
                    continue
                rows[(name, h)] = {"statistic": result.statistic, "pvalue": result.pvalue,
                                   "mean_loss_difference": result.mean_loss_difference,
                                   "n": result.n}
        out = pd.DataFrame.from_dict(rows, orient="index")
        if len(out):
            out.index = pd.MultiIndex.from_tuples(out.index, names=["model", "horizon"])
        out.attrs["reference"] = reference
        return out


# -------------------------------------------------------------------------- backtest
def _check_n_jobs(n_jobs: Any) -> int | None:
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs == 0:
        raise ValueError(f"`n_jobs` must be a non-zero integer or None. Got {_short(n_jobs)}.")
    return int(n_jobs)


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"`{name}` must be True or False. Got {_short(value)}.")
    return bool(value)


def backtest(
    forecasters: Any,
    y: pd.Series,
    *,
    initial_train_size: Any,
    steps: int = 1,
    fold_stride: int | None = None,
    refit: bool | int = True,
    fixed_train_size: bool = False,
    gap: int = 0,
    n_jobs: int | None = 1,
    refits_per_task: int = 1,
    intervals: Mapping[str, Any] | None = None,
    show_progress: bool = True,
    checkpoint_dir: str | os.PathLike | None = None,
    verbose: bool = False,
) -> BacktestResult:
    """Rolling-origin backtest of one forecaster or a dict of named forecasters.

    Parameters
    ----------
    forecasters : forecaster or dict[str, forecaster]
        Objects with ``fit(y)``, ``predict(steps)`` and ``update(y_new)`` (see
        :class:`~convexforecast.forecasting.base.BaseForecaster`). They are cloned
        (:func:`sklearn.base.clone`) for every refit and never modified. A single forecaster is
        named after its class.
    y : pandas.Series
        The series (see ``BaseForecaster.fit`` for the accepted indexes). Not modified.
    initial_train_size : int or date-like
        Observations in the first training window, or a date: the window ends at the last
        observation at or before it (and the first origin is there).
    steps : int
        Forecast horizon of each fold.
    fold_stride : int, optional
        Observations between consecutive origins; default ``steps`` (non-overlapping tests).
    refit : bool or int
        ``True``: refit at every fold; ``False``: fit once and only ``update`` afterwards;
        ``k``: refit every ``k`` folds and ``update`` in between.
    fixed_train_size : bool
        Sliding training windows of ``initial_train_size`` observations instead of expanding.
    gap : int
        Observations skipped between each origin and its first target.
    n_jobs : int or None
        Parallel tasks for :class:`joblib.Parallel` (-1: all cores; None: the value of an
        enclosing ``joblib.parallel_config``). Under ``parallel_config(backend="dask")`` the
        cluster decides. Results do not depend on it.
    refits_per_task : int
        Consecutive refit blocks run by one task on one copy of a forecaster (see the module
        docstring). With ``warm_start=True`` forecasters, e.g. ``ConvexARForecaster``, each
        refit then starts from the previous one; larger values mean fewer cold fits but
        fewer tasks to spread over workers. Forecasts depend on it only through such warm
        starts (within the solver tolerance), never on ``n_jobs``. Checkpoints are written
        per finished task, so an interrupted task is rerun whole.
    intervals : dict, optional
        ``{"method": "conformal", "level": 0.9}`` or ``{"method": "bootstrap", "level": 0.9,
        "n_boot": 1000, "seed": 0, "residuals": "out_of_sample" | "in_sample"}``; see
        :mod:`convexforecast.forecasting.intervals`. Adds ``lower``/``upper`` columns and
        coverage metrics.
    show_progress : bool
        Show a tqdm progress bar over (model, block) tasks.
    checkpoint_dir : path-like, optional
        Directory to save finished tasks to and resume from (see the module docstring).
    verbose : bool
        Print the fold plan before running.

    Returns
    -------
    BacktestResult

    Warns
    -----
    Warning
        Warnings raised while fitting or predicting (e.g. a solver's ConvergenceWarning) are
        recorded in every task, including tasks in worker processes and tasks restored from
        a checkpoint, and re-raised here with their category, once per model and message,
        naming the model, how many fits raised it and the first origin.

    Raises
    ------
    ValueError
        For invalid options (the message names the argument and the value), a training
        window shorter than a forecaster's ``min_train_size``, or a ``checkpoint_dir`` written
        for another configuration.
    """
    models = _check_forecasters(forecasters)
    series = _check_series(y)
    folds, settings = _make_folds(
        series, initial_train_size=initial_train_size, steps=steps, fold_stride=fold_stride,
        refit=refit, fixed_train_size=fixed_train_size, gap=gap,
    )
    n_jobs = _check_n_jobs(n_jobs)
    refits_per_task = check_positive_int("refits_per_task", refits_per_task)
    interval_options = check_interval_options(intervals)
    show_progress = _check_flag("show_progress", show_progress)
    verbose = _check_flag("verbose", verbose)
    n0 = settings["initial_train_size"]
    reach = settings["gap"] + settings["steps"]
    for name, model in models.items():
        limit = getattr(model, "max_steps", None)
        if isinstance(limit, int | np.integer) and reach > limit:
            raise ValueError(
                f"`gap` + `steps` must be <= {limit} for forecaster {name!r} "
                f"({type(model).__name__} forecasts at most {limit} steps from an origin, e.g. "
                f"strategy='direct' with horizon={limit}). Got gap={settings['gap']} + "
                f"steps={settings['steps']} = {reach}."
            )
        minimum = getattr(model, "min_train_size", 1)
        if isinstance(minimum, int | np.integer) and n0 < minimum:
            raise ValueError(
                f"`initial_train_size` must be at least {minimum} for forecaster {name!r} "
                f"({type(model).__name__}). Got {_short(initial_train_size)} ({n0} observations)."
            )

    plan = _folds_frame(folds, series.index)
    blocks: dict[int, list[_Fold]] = {}
    for fold in folds:
        blocks.setdefault(fold.block, []).append(fold)
    names = list(models)
    config = {
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "library_version": library_version(),
        "y": series_digest(series),
        "plan": settings,
        "models": [describe_model(name, models[name]) for name in names],
        **({"refits_per_task": refits_per_task} if refits_per_task > 1 else {}),
    }
    block_ids = list(blocks)
    groups = [tuple(block_ids[g: g + refits_per_task])
              for g in range(0, len(block_ids), refits_per_task)]
    if verbose:
        print(f"Backtest plan: {len(folds)} folds in {len(blocks)} refit blocks x {len(names)} "
              f"models ({len(groups) * len(names)} tasks); settings {settings}")
        with pd.option_context("display.max_rows", 50, "display.width", 200):
            print(plan.to_string(index=False) if len(plan) <= 50 else plan)

    store = None
    if checkpoint_dir is not None:
        models_fingerprint = [fingerprint(name, models[name]) for name in names]
        store = CheckpointStore(checkpoint_dir, {**config, "models": models_fingerprint})
    results: dict[tuple[int, int], dict[str, Any]] = {}
    pending = []
    for i in range(len(names)):
        for group in groups:
            loaded = [store.load((i, block)) if store is not None else None for block in group]
            if all(result is not None for result in loaded):
                results.update({(i, block): result for block, result in zip(group, loaded,
                                                                            strict=True)})
            else:
                pending.append((i, group))

    def task(model: int, group: tuple[int, ...]):
        visible = [series.iloc[: blocks[b][-1].origin + 1] for b in group]
        labels = [[series.index[f.test_start: f.test_end + 1] for f in blocks[b]] for b in group]
        return delayed(_run_blocks)(models[names[model]], visible, [blocks[b] for b in group],
                                    labels, settings["gap"], [(model, b) for b in group])

    n_done = len(names) * len(groups) - len(pending)
    progress = tqdm(total=len(names) * len(groups), initial=n_done,
                    disable=not show_progress, desc="backtest", unit="task")
    try:
        if pending:
            try:
                parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
            except ValueError:  # backends without generator support (e.g. multiprocessing)
                parallel = Parallel(n_jobs=n_jobs, return_as="list")
            for task_results in parallel(task(*key) for key in pending):
                for result in task_results:
                    if store is not None:
                        store.save(result)
                    results[result["key"]] = result
                progress.update(1)
    finally:
        progress.close()

    _reemit_warnings(names, blocks, results, series.index)
    return _assemble(series, names, blocks, results, plan, settings, config, interval_options)


def _warning_category(path: str) -> type[Warning]:
    """The warning class at ``module.QualName`` among loaded modules, else UserWarning.

    Nothing is imported: the path may come from a checkpoint file.
    """
    module, _, name = path.rpartition(".")
    category = getattr(sys.modules.get(module), name, None)
    return category if isinstance(category, type) and issubclass(category, Warning) else UserWarning


def _reemit_warnings(names: list[str], blocks: dict[int, list[_Fold]],
                     results: dict[tuple[int, int], dict[str, Any]], index: pd.Index) -> None:
    """Re-raise the tasks' warnings in the caller, once per model and message, in plan order.

    Each names the model, the number of fits that raised it and the first fit's origin; past
    ``MAX_WARNINGS_PER_MODEL`` distinct messages per model, one summary warning says how many
    more there were.
    """
    for i, name in enumerate(names):
        seen: dict[tuple[str, str], list[int]] = {}
        for block, block_folds in blocks.items():
            for path, message in results[(i, block)]["warnings"]:
                seen.setdefault((path, message), []).append(block_folds[0].origin)
        for n, ((path, message), origins) in enumerate(seen.items()):
            if n == MAX_WARNINGS_PER_MODEL:
                warnings.warn(f"Model {name!r}: {len(seen) - n} more distinct warnings not shown.",
                              UserWarning, stacklevel=3)
                break
            warnings.warn(f"Model {name!r} ({len(origins)} of {len(blocks)} fits, first at origin "
                          f"{index[origins[0]]}): {message}", _warning_category(path), stacklevel=3)


def _assemble(
    series: pd.Series,
    names: list[str],
    blocks: dict[int, list[_Fold]],
    results: dict[tuple[int, int], dict[str, Any]],
    plan: pd.DataFrame,
    settings: dict[str, Any],
    config: dict[str, Any],
    interval_options: dict[str, Any] | None,
) -> BacktestResult:
    parts, timing_rows, residual_map = [], {}, {}
    values = series.to_numpy()
    for i, name in enumerate(names):
        fit_s = predict_s = 0.0
        for block, block_folds in blocks.items():
            result = results[(i, block)]
            fit_s += result["fit_seconds"]
            predict_s += result["predict_seconds"]
            for fold in block_folds:
                residual_map[(name, fold.fold)] = result["residuals"]
            origin, target = result["origin"], result["target"]
            parts.append(pd.DataFrame({
                "origin": series.index[origin],
                "target": series.index[target],
                "horizon": (target - origin).astype(np.int64),
                "model": name,
                "forecast": result["forecast"],
                "actual": values[target],
                "fold": result["fold"],
            }))
        timing_rows[name] = {"fit_seconds": fit_s, "predict_seconds": predict_s,
                             "n_fits": len(blocks)}
    predictions = pd.concat(parts, ignore_index=True)
    if interval_options is not None:
        predictions = add_intervals(predictions, interval_options,
                                    in_sample_residuals=residual_map)
    timings = pd.DataFrame.from_dict(timing_rows, orient="index")
    timings.index.name = "model"
    return BacktestResult(
        predictions=predictions,
        folds=plan,
        timings=timings,
        config={**config, "intervals": interval_options, "plan": settings},
        y=series,
        in_sample_residuals=residual_map,
    )

