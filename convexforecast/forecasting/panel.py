"""Many series at once: validating a panel of series given as a wide frame or a dict.

A *panel* is an ordered ``dict`` from series name to a validated series (see
:func:`~convexforecast.forecasting.base.check_series`), each on its own regular grid. Users
pass one of

- a wide :class:`pandas.DataFrame`, one column per series on one calendar. A column's leading
  and trailing NaN mark dates before its listing or after its delisting and are left out; a
  NaN between two observations is an error (a wide frame cannot say whether it is a holiday
  of another calendar or a missing price);
- a ``dict`` (any mapping) from name to :class:`pandas.Series`, whose calendars and lengths
  may differ (stocks on business days beside 24/7 crypto, late listings).

Names are non-empty strings. The caller's objects are never modified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._index import label_integers
from .._validation import short_repr
from .base import _describe, check_series

__all__ = ["check_panel", "is_panel", "panel_times"]


def is_panel(y: Any) -> bool:
    """Whether ``y`` is a panel (a DataFrame or a mapping of series) rather than one series."""
    return isinstance(y, pd.DataFrame | Mapping)


def _check_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"`{where}` series names must be non-empty strings. Got "
                        f"{short_repr(name)}.")
    return name


def _frame_column(frame: pd.DataFrame, column: str, name: str) -> pd.Series:
    """The observed span of one column of a wide frame (leading/trailing NaN left out)."""
    values = frame[column]
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values):
        raise ValueError(f"`{name}[{column!r}]` must have a numeric dtype. Got dtype "
                         f"{values.dtype!s}.")
    observed = np.flatnonzero(values.notna().to_numpy())
    if observed.size == 0:
        raise ValueError(f"`{name}[{column!r}]` must hold at least one value. Got only NaN.")
    span = values.iloc[observed[0]: observed[-1] + 1]
    missing = np.flatnonzero(span.isna().to_numpy())
    if missing.size:
        raise ValueError(
            f"`{name}[{column!r}]` must have no NaN between its first and last observation "
            f"(a wide frame marks only listings and delistings by NaN). Got NaN at "
            f"{_describe(span.index[missing[0]])}. Fill or drop it, or pass a dict of series "
            "when the series follow different calendars.")
    return span


def check_panel(y: Any, name: str = "y") -> dict[str, pd.Series]:
    """Validated float64 copies of the series of a wide frame or a dict of series.

    Parameters
    ----------
    y : pandas.DataFrame or mapping of str to pandas.Series
        See the module docstring. Each series must pass
        :func:`~convexforecast.forecasting.base.check_series` (numeric, finite, on a regular
        grid). Datetime indexes must all be time-zone aware or all naive.
    name : str
        The argument's name in error messages.

    Returns
    -------
    dict of str to pandas.Series
        In the order of the frame's columns or the mapping's keys, each named by its key.
    """
    if isinstance(y, pd.DataFrame):
        if y.shape[1] == 0:
            raise ValueError(f"`{name}` must have at least one column. Got a frame of shape "
                             f"{y.shape}.")
        columns = [_check_name(c, name) for c in y.columns]
        if len(set(columns)) < len(columns):
            repeated = sorted({c for c in columns if columns.count(c) > 1})
            raise ValueError(f"`{name}` column names must be unique. Got {repeated} more than "
                             "once.")
        raw = {column: _frame_column(y, column, name) for column in columns}
    elif isinstance(y, Mapping):
        if not y:
            raise ValueError(f"`{name}` must hold at least one series. Got an empty mapping.")
        raw = {_check_name(key, name): value for key, value in y.items()}
        for key, value in raw.items():
            if not isinstance(value, pd.Series):
                raise TypeError(f"`{name}[{key!r}]` must be a pandas Series. Got "
                                f"{type(value).__name__}.")
    else:
        raise TypeError(f"`{name}` must be a wide DataFrame or a dict of Series. Got "
                        f"{type(y).__name__}.")
    panel = {key: check_series(value, f"{name}[{key!r}]").rename(key)
             for key, value in raw.items()}
    _check_index_kinds(panel, name)
    return panel


def _index_kind(index: pd.Index) -> str:
    if isinstance(index, pd.DatetimeIndex):
        return "datetime (naive)" if index.tz is None else "datetime (time-zone aware)"
    if isinstance(index, pd.PeriodIndex):
        return f"period ({index.freqstr})"
    return "integer"


def _check_index_kinds(panel: dict[str, pd.Series], name: str) -> None:
    kinds = {key: _index_kind(series.index) for key, series in panel.items()}
    first = next(iter(kinds))
    for key, kind in kinds.items():
        if kind != kinds[first]:
            raise TypeError(f"`{name}` series must all have the same kind of index. Got "
                            f"{kinds[first]} for {first!r} and {kind} for {key!r}.")


def panel_times(index: pd.Index) -> np.ndarray:
    """One int64 per label that orders labels of different series of one panel in time."""
    return label_integers(index)
