"""Index arithmetic that gives the same answer for every datetime resolution and pandas major.

pandas 2 builds ``datetime64[ns]`` indexes; pandas 3 keeps the resolution of its input
(``datetime64[us]`` from strings, ``s`` or ``ms`` from numpy arrays). ``DatetimeIndex.asi8``
counts in that resolution, so comparing it with ``Timedelta(...).value`` (always nanoseconds)
or hashing it gives answers that depend on how the index was made. The helpers here compare
labels with labels and Timedeltas with Timedeltas instead, and are used by every layer that
reasons about an index (forecasters, data loaders, backtests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

__all__ = ["first_decrease", "first_step_change", "infer_offset", "label_integers", "modal_step",
           "same_labels", "steps"]

_OFFSET_OPTION = "future.infer_freq_returns_offset"  # pandas >= 3: opt in to offsets
try:
    pd.get_option(_OFFSET_OPTION)
    _HAS_OFFSET_OPTION = True
except (KeyError, pd.errors.OptionError):
    _HAS_OFFSET_OPTION = False


def steps(index: pd.Index) -> pd.Index | np.ndarray:
    """Differences between consecutive labels.

    Timedeltas for a DatetimeIndex (comparable with any ``pd.Timedelta``, whatever the
    resolution), numbers of periods for a PeriodIndex, integers otherwise.
    """
    if isinstance(index, pd.DatetimeIndex):
        return index[1:] - index[:-1]
    if isinstance(index, pd.PeriodIndex):
        return np.diff(index.asi8)
    return np.diff(np.asarray(index, dtype=np.int64))


def first_decrease(index: pd.Index) -> int | None:
    """Position of the first label that is smaller than the one before it (None if sorted)."""
    bad = np.flatnonzero(np.asarray(index[1:] < index[:-1]))
    return int(bad[0]) + 1 if bad.size else None


def first_step_change(index: pd.Index, step: pd.Timedelta | int) -> int | None:
    """Position ``i >= 1`` of the first label whose distance to label ``i - 1`` is not ``step``."""
    bad = np.flatnonzero(np.asarray(steps(index) != step))
    return int(bad[0]) + 1 if bad.size else None


def modal_step(index: pd.Index) -> pd.Timedelta | int:
    """The most frequent distance between consecutive labels (the smallest on ties)."""
    return pd.Series(steps(index)).mode().iloc[0]


def infer_offset(index: pd.DatetimeIndex) -> pd.DateOffset | None:
    """:func:`pandas.infer_freq` as a DateOffset, the same on pandas 2 and 3 (no warning).

    None for fewer than three labels or when no frequency fits.
    """
    if len(index) < 3:
        return None
    if _HAS_OFFSET_OPTION:
        with pd.option_context(_OFFSET_OPTION, True):
            inferred = pd.infer_freq(index)
    else:
        inferred = pd.infer_freq(index)
    return None if inferred is None else to_offset(inferred)


def label_integers(index: pd.Index) -> np.ndarray:
    """One int64 per label that does not depend on the datetime resolution (for hashing).

    Nanoseconds since the epoch (UTC) for a DatetimeIndex, period ordinals for a
    PeriodIndex, the labels themselves for an integer index.
    """
    if isinstance(index, pd.DatetimeIndex):
        return np.asarray(index.as_unit("ns").asi8, dtype=np.int64)
    if isinstance(index, pd.PeriodIndex):
        return np.asarray(index.asi8, dtype=np.int64)
    return np.asarray(index, dtype=np.int64)


def same_labels(index: pd.Index, expected: pd.Index) -> bool:
    """Label-wise equality that ignores the datetime resolution (``Index.equals`` does not)."""
    if len(index) != len(expected):
        return False
    try:
        return bool(np.all(np.asarray(index == expected)))
    except TypeError:  # e.g. tz-naive vs tz-aware
        return False
