"""The fold plan of a rolling-origin backtest: one object, shared by every entry point.

:class:`TimeSeriesFold` (named like skforecast's) holds the six settings of a plan and turns a
series into :class:`Fold` records. Fold ``k`` has an *origin*, the last observation its
forecast may use, at position ``o_k = initial_train_size - 1 + k * fold_stride``; it forecasts
the targets ``o_k + gap + 1, ..., o_k + gap + steps`` (the last fold may be shorter), so a
forecast's *horizon* counts steps from its origin (``gap + 1, ..., gap + steps``).

Folds are grouped into *refit blocks*: a block starts with a fold whose model is fitted from
scratch on the training window ending at its origin (expanding from the start, or the last
``initial_train_size`` observations with ``fixed_train_size=True``); the following folds of the
block only update the model with the observations up to their own origin. ``refit=True``
makes every fold a block, ``refit=False`` one block, ``refit=k`` a block every ``k`` folds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._validation import InvalidParameterError, check_bool, check_positive_int, short_repr
from .base import check_series
from .panel import panel_times

__all__ = ["Fold", "PooledBlock", "TimeSeriesFold", "plan_backtest", "plan_pooled_blocks",
           "trailing_window"]


@dataclass(frozen=True)
class Fold:
    """One fold, in integer positions of the series (all bounds inclusive)."""

    fold: int
    block: int
    refit: bool
    train_start: int
    train_end: int
    origin: int
    test_start: int
    test_end: int


@dataclass(frozen=True)
class TimeSeriesFold:
    """A rolling-origin fold plan.

    Parameters
    ----------
    initial_train_size : int or date-like
        Observations in the first training window, or a date: the window ends at the last
        observation at or before it (and the first origin is there).
    steps : int
        Forecast horizon of each fold.
    fold_stride : int, optional
        Observations between consecutive origins; default ``steps`` (non-overlapping tests).
    refit : bool or int
        ``True``: refit at every fold; ``False``: fit once and only update afterwards; ``k``:
        refit every ``k`` folds and update in between.
    fixed_train_size : bool
        Sliding training windows of ``initial_train_size`` observations instead of expanding.
    gap : int
        Observations skipped between each origin and its first target.

    The scalar settings are validated on construction (a ValueError names the argument and
    the value); ``initial_train_size`` is resolved against a series by :meth:`split`.
    """

    initial_train_size: Any
    steps: int = 1
    fold_stride: int | None = None
    refit: bool | int = True
    fixed_train_size: bool = False
    gap: int = 0

    def __post_init__(self) -> None:
        check_positive_int("steps", self.steps)
        if self.fold_stride is not None:
            check_positive_int("fold_stride", self.fold_stride)
        check_positive_int("gap", self.gap, minimum=0)
        check_bool("fixed_train_size", self.fixed_train_size)
        if not isinstance(self.refit, bool) and not (
                isinstance(self.refit, int | np.integer) and self.refit >= 1):
            raise InvalidParameterError(f"`refit` must be True, False or an integer >= 1. Got "
                                        f"{short_repr(self.refit)}.")
        value = self.initial_train_size
        if isinstance(value, bool) or (isinstance(value, int | np.integer) and value < 1):
            raise InvalidParameterError(f"`initial_train_size` must be an integer >= 1 or a "
                                        f"date. Got {short_repr(value)}.")

    @classmethod
    def resolve(cls, cv: Any, options: dict[str, Any], caller: str) -> TimeSeriesFold:
        """``cv`` itself, or a plan built from the fold ``options`` a caller passed by name."""
        if cv is not None:
            if not isinstance(cv, cls):
                raise InvalidParameterError(f"`cv` must be a TimeSeriesFold. Got "
                                            f"{type(cv).__name__}.")
            if options:
                raise InvalidParameterError(f"{caller}: pass either `cv` or the fold settings "
                                            f"{sorted(options)}, not both.")
            return cv
        unknown = sorted(set(options) - set(cls.__dataclass_fields__))
        if unknown:
            raise InvalidParameterError(
                f"{caller} got unknown argument(s) {unknown}; the fold settings are "
                f"{list(cls.__dataclass_fields__)}.")
        if "initial_train_size" not in options:
            raise InvalidParameterError(f"{caller} needs `initial_train_size` (or `cv`, a "
                                        "TimeSeriesFold).")
        return cls(**options)

    @property
    def stride(self) -> int:
        """Observations between consecutive origins."""
        return self.steps if self.fold_stride is None else int(self.fold_stride)

    @property
    def refit_period(self) -> int:
        """Folds per refit block: 1 for ``refit=True``, 0 (never) for False, else ``refit``."""
        return (1 if self.refit else 0) if isinstance(self.refit, bool) else int(self.refit)

    def initial_size(self, index: pd.Index) -> int:
        """``initial_train_size`` as a number of observations of a series with ``index``."""
        value = self.initial_train_size
        if isinstance(value, int | np.integer):
            return int(value)
        if isinstance(index, pd.DatetimeIndex) and isinstance(
                value, str | dt.date | np.datetime64 | pd.Timestamp):
            try:
                label = pd.Timestamp(value)
            except (TypeError, ValueError):
                raise InvalidParameterError(f"`initial_train_size` must be an integer or a date. "
                                            f"Got {short_repr(value)}.") from None
            if index.tz is not None and label.tz is None:
                label = label.tz_localize(index.tz)
            return int(index.searchsorted(label, side="right"))
        if isinstance(index, pd.PeriodIndex) and isinstance(value, str | pd.Period | dt.date):
            return int(index.searchsorted(pd.Period(value, freq=index.freq), side="right"))
        raise InvalidParameterError(
            "`initial_train_size` must be an integer, or a date when `y` has a DatetimeIndex or "
            f"PeriodIndex. Got {short_repr(value)} for an index of type {type(index).__name__}.")

    def settings(self, index: pd.Index) -> dict[str, Any]:
        """The plan's settings with ``initial_train_size`` resolved (JSON-friendly)."""
        return {"initial_train_size": self.initial_size(index), "steps": int(self.steps),
                "fold_stride": self.stride, "refit": self.refit_period,
                "fixed_train_size": bool(self.fixed_train_size), "gap": int(self.gap)}

    def split(self, y: pd.Series) -> list[Fold]:
        """The folds of the validated series ``y``."""
        n = len(y)
        n0, gap, steps = self.initial_size(y.index), int(self.gap), int(self.steps)
        if n0 < 1 or n0 + gap >= n:
            raise InvalidParameterError(
                f"`initial_train_size` must leave at least one test observation after the gap "
                f"(1 <= initial_train_size <= {n - gap - 1} for {n} observations and "
                f"gap={gap}). Got {short_repr(self.initial_train_size)} ({n0} observations).")
        period = self.refit_period
        folds: list[Fold] = []
        block_start: Fold | None = None
        for k, origin in enumerate(range(n0 - 1, n - 1 - gap, self.stride)):
            block = k if period == 1 else (0 if period == 0 else k // period)
            starts_block = block_start is None or block != block_start.block
            if starts_block:
                train_start = origin - n0 + 1 if self.fixed_train_size else 0
                train_end = origin
            else:
                train_start, train_end = block_start.train_start, block_start.train_end
            fold = Fold(fold=k, block=block, refit=starts_block, train_start=train_start,
                        train_end=train_end, origin=origin, test_start=origin + gap + 1,
                        test_end=min(origin + gap + steps, n - 1))
            if starts_block:
                block_start = fold
            folds.append(fold)
        return folds

    def plan(self, y: pd.Series) -> pd.DataFrame:
        """The folds of ``y`` as a table (see :func:`plan_backtest`)."""
        series = check_series(y)
        return folds_frame(self.split(series), series.index)


def folds_frame(folds: list[Fold], index: pd.Index) -> pd.DataFrame:
    """One row per fold, with the positions turned into labels of ``index``."""
    return pd.DataFrame({
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
    })


def plan_backtest(y: pd.Series, cv: TimeSeriesFold | None = None,
                  **fold_settings: Any) -> pd.DataFrame:
    """The fold plan :func:`~convexforecast.forecasting.backtest.backtest` would run.

    Parameters
    ----------
    y : pandas.Series
        The series.
    cv : TimeSeriesFold, optional
        The plan; or pass its settings by name (``initial_train_size=..., steps=...``).

    Returns
    -------
    pandas.DataFrame
        One row per fold: ``fold``, ``block`` (refit block), ``refit`` (whether the model is
        fitted from scratch at this fold), ``train_start``/``train_end`` (the window the fold's
        model was fitted on), ``origin`` (last observation the forecast uses), ``test_start``/
        ``test_end`` (first and last target), ``n_train`` and ``n_test``.
    """
    return TimeSeriesFold.resolve(cv, fold_settings, "plan_backtest").plan(y)


def trailing_window(y: pd.Series, last: int, initial: int | None) -> tuple[pd.Series, int]:
    """The end of ``y`` that a backtest of its final ``last`` one-step origins needs.

    Returns the last ``initial + last`` observations and ``initial``, the
    ``initial_train_size`` that puts the first origin ``last`` observations before the end
    (``initial`` None: all the history the series has).
    """
    n = len(y)
    last = check_positive_int("last", last)
    if last >= n:
        raise InvalidParameterError(f"`last` must be smaller than the series length {n}. "
                                    f"Got {last}.")
    initial = n - last if initial is None else check_positive_int("initial", initial)
    if initial + last > n:
        raise InvalidParameterError(f"`initial` + `last` must not exceed the {n} observations. "
                                    f"Got {initial} + {last}.")
    return y.iloc[n - initial - last:], initial


@dataclass
class PooledBlock:
    """One refit of a global model in a backtest of many series.

    Attributes
    ----------
    names : list of str
        Series names by code (the panel's order).
    visible : dict of str to pandas.Series
        Each series up to the last observation the block may use: its last origin in the
        block, or for a series without one, the refit time.
    train : dict of str to (int, int)
        First and last position, in ``visible``, of each series' training window at the
        refit time (series too short to give a lag window are not listed).
    events : list of (int, Fold, pandas.Index)
        The block's folds as (series code, fold, target labels), ordered by origin time, then
        series code.
    times : ndarray
        The origin time of every event (see :func:`~convexforecast.forecasting.panel.panel_times`).
    """

    names: list[str]
    visible: dict[str, pd.Series]
    train: dict[str, tuple[int, int]]
    events: list[tuple[int, Fold, pd.Index]]
    times: np.ndarray

    def by_time(self) -> list[list[tuple[int, Fold, pd.Index]]]:
        """The events grouped by origin time, in time order."""
        cuts = np.flatnonzero(np.diff(self.times)) + 1
        bounds = np.r_[0, cuts, len(self.events)]
        return [self.events[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def plan_pooled_blocks(panel: dict[str, pd.Series], plans: dict[str, list[Fold]],
                       initial_sizes: dict[str, int], fixed_train_size: bool,
                       min_length: int) -> list[PooledBlock]:
    """The refits of a global model over the per-series fold plans ``plans``.

    A global model is refitted at every time one of the series' own plans refits (with one
    calendar and one plan, exactly the series' common refit times). Each fold is forecast by
    the latest refit at or before its origin; a refit at time ``t`` trains on every series'
    observations at or before ``t`` (the last ``initial_sizes[name]`` of them with
    ``fixed_train_size``), leaving out series with fewer than ``min_length``.
    """
    names = list(panel)
    times = {name: panel_times(series.index) for name, series in panel.items()}
    starts = np.unique(np.array([times[name][f.origin] for name in names for f in plans[name]
                                 if f.refit], dtype=np.int64))
    assigned: list[list[tuple[int, int, Fold]]] = [[] for _ in starts]
    for code, name in enumerate(names):
        for fold in plans[name]:
            time = times[name][fold.origin]
            assigned[int(np.searchsorted(starts, time, side="right")) - 1].append(
                (int(time), code, fold))
    blocks = []
    for start, block_events in zip(starts, assigned, strict=True):
        block_events.sort(key=lambda event: (event[0], event[1], event[2].fold))
        train, ends = {}, {}
        for name in names:
            end = int(np.searchsorted(times[name], start, side="right")) - 1
            if end + 1 >= min_length:
                train[name] = (max(0, end - initial_sizes[name] + 1) if fixed_train_size
                               else 0, end)
                ends[name] = end
        events = []
        for _, code, fold in block_events:
            name = names[code]
            if name not in train:
                raise RuntimeError(f"series {name!r} has a fold at position {fold.origin} but "
                                   "too few observations at its refit time")
            ends[name] = max(ends[name], fold.origin)
            series = panel[name]
            events.append((code, fold, series.index[fold.test_start: fold.test_end + 1]))
        blocks.append(PooledBlock(
            names=names, visible={name: panel[name].iloc[: end + 1] for name, end in ends.items()},
            train=train, events=events,
            times=np.array([event[0] for event in block_events], dtype=np.int64)))
    return blocks
