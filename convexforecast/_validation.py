"""Input validation shared by every layer.

Every check raises :class:`ValueError` (or :class:`TypeError` for wrong types) whose
message names the offending argument and shows the offending value after ``Got``.
No check modifies its input; the array helpers return float copies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_option(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError naming ``name``."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"`{name}` must be one of {allowed}. Got {_short(value)}.")
    return value


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` as int if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Got {_short(value)}.")
    return int(value)


def check_nonnegative_float(name: str, value: Any) -> float:
    """Return ``value`` as float if it is a finite number >= 0."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a non-negative number. Got {_short(value)}.") from None
    if isinstance(value, bool) or not np.isfinite(out) or out < 0:
        raise ValueError(f"`{name}` must be a finite non-negative number. Got {_short(value)}.")
    return out


def as_float_array(name: str, value: Any, ndim: int | tuple[int, ...]) -> np.ndarray:
    """Return a finite float64 *copy* of ``value`` with the allowed number of dimensions.

    Raises
    ------
    ValueError
        If the array has the wrong number of dimensions, is empty, is not numeric,
        or contains NaN or infinite values.
    """
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be numeric. Got {_short(value)}.") from None
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in allowed:
        raise ValueError(
            f"`{name}` must have {' or '.join(map(str, allowed))} dimension(s). "
            f"Got an array of shape {arr.shape}."
        )
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty. Got an array of shape {arr.shape}.")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.argwhere(bad)[0]
        raise ValueError(
            f"`{name}` must contain only finite values. Got {arr[tuple(first)]!r} at index "
            f"{tuple(int(i) for i in first) if arr.ndim > 1 else int(first[0])}."
        )
    return arr


def check_xy(x: Any, y: Any, *, x_name: str = "x", y_name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Validate a design (1-D or 2-D) and a target of matching length; return float copies.

    A 1-D ``x`` is returned as a single column of shape (n, 1).
    """
    x_arr = as_float_array(x_name, x, (1, 2))
    y_arr = as_float_array(y_name, y, 1)
    if x_arr.ndim == 1:
        x_arr = x_arr[:, None]
    if x_arr.shape[0] != y_arr.shape[0]:
        raise ValueError(
            f"`{x_name}` and `{y_name}` must have the same number of samples. "
            f"Got {x_arr.shape[0]} and {y_arr.shape[0]}."
        )
    return x_arr, y_arr


def check_finite_state(name: str, value: Any, shape: tuple[int | None, ...]) -> np.ndarray:
    """A float64 copy of a stored array with the expected ``shape`` (None: any length) and
    only finite values (empty arrays allowed): for validating saved states."""
    arr = np.array(value, dtype=np.float64, copy=True)
    if arr.ndim != len(shape) or any(e is not None and e != n for e, n in zip(shape, arr.shape,
                                                                             strict=True)):
        expected = "(" + ", ".join("n" if e is None else str(e) for e in shape) + ")"
        raise ValueError(f"`{name}` must have shape {expected}. Got {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must contain only finite values. Got "
                         f"{arr[~np.isfinite(arr)][0]!r}.")
    return arr


def check_finite_number(name: str, value: Any, *, positive: bool = False) -> float:
    """A finite float (``positive``: > 0) from a saved state."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a number. Got {_short(value)}.") from None
    if isinstance(value, bool) or not np.isfinite(out) or (positive and out <= 0):
        raise ValueError(f"`{name}` must be a finite{' positive' if positive else ''} number. "
                         f"Got {_short(value)}.")
    return out
