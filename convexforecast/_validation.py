"""Input validation shared by every layer: one vocabulary of checks and messages.

Every check raises :class:`InvalidParameterError`, a subclass of both ValueError and
TypeError (as scikit-learn's), whose message names the offending argument in backticks and
shows the offending value after ``Got``:

==========================  ==========================================================
check                       accepts
==========================  ==========================================================
:func:`check_bool`          True or False (numpy booleans too)
:func:`check_positive_int`  an integer >= ``minimum`` (default 1)
:func:`check_int`           any integer
:func:`check_positive_float`  a finite number > 0
:func:`check_nonnegative_float`  a finite number >= 0
:func:`check_fraction`      a number strictly between 0 and 1
:func:`check_option`        one of a list of choices
:func:`check_beta`          the penalty β: a finite number > 0, or ``"cv"``
==========================  ==========================================================

No check modifies its input; the array helpers return float copies.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np


class InvalidParameterError(ValueError, TypeError):
    """An argument has a wrong type or value (a ValueError and a TypeError, like sklearn's)."""


def short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(name: str, must: str, value: Any) -> InvalidParameterError:
    return InvalidParameterError(f"`{name}` must be {must}. Got {short_repr(value)}.")


def check_option(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``."""
    allowed = list(allowed)
    for choice in allowed:  # True is not 1 here, and arrays never match
        if value is choice or (isinstance(value, bool | np.bool_) == isinstance(choice, bool)
                               and isinstance(value, str | int | float | np.generic | None)
                               and value == choice):
            return value
    raise _fail(name, f"one of {allowed}", value)


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` as bool if it is True or False."""
    if not isinstance(value, bool | np.bool_):
        raise _fail(name, "True or False", value)
    return bool(value)


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` as int if it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise _fail(name, f"an integer >= {minimum}", value)
    return int(value)


def check_int(name: str, value: Any) -> int:
    """Return ``value`` as int if it is an integer (of any sign)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise _fail(name, "an integer", value)
    return int(value)


def _number(name: str, value: Any, must: str) -> float:
    if isinstance(value, bool | str | bytes) or value is None:
        raise _fail(name, must, value)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise _fail(name, must, value) from None
    if not np.isfinite(out):
        raise _fail(name, must, value)
    return out


def check_positive_float(name: str, value: Any) -> float:
    """Return ``value`` as float if it is a finite number > 0."""
    out = _number(name, value, "a finite number > 0")
    if out <= 0:
        raise _fail(name, "a finite number > 0", value)
    return out


def check_nonnegative_float(name: str, value: Any) -> float:
    """Return ``value`` as float if it is a finite number >= 0."""
    out = _number(name, value, "a finite number >= 0")
    if out < 0:
        raise _fail(name, "a finite number >= 0", value)
    return out


def check_fraction(name: str, value: Any) -> float:
    """Return ``value`` as float if it is a number strictly between 0 and 1."""
    out = _number(name, value, "a number in (0, 1)")
    if not 0.0 < out < 1.0:
        raise _fail(name, "a number in (0, 1)", value)
    return out


def check_beta(value: Any, name: str = "beta") -> float | str:
    """The one β rule of every layer: a finite number > 0, or ``"cv"`` (cross-validated)."""
    if isinstance(value, str):
        if value != "cv":
            raise _fail(name, "a finite number > 0 or 'cv'", value)
        return value
    out = _number(name, value, "a finite number > 0 or 'cv'")
    if out <= 0:
        raise _fail(name, "a finite number > 0 or 'cv'", value)
    return out


def renamed(owner: object, new: str, old: str, default: Any, *, warn: bool = True) -> Any:
    """The value of parameter ``new`` of ``owner``, honouring its deprecated old name.

    ``owner.<old>`` is None unless a caller still uses the old name (see
    :func:`renamed_argument`).
    """
    return renamed_argument(new, getattr(owner, new), old, getattr(owner, old), default,
                            warn=warn, stacklevel=5)


def renamed_argument(new: str, value: Any, old: str, legacy: Any, default: Any, *,
                     warn: bool = True, stacklevel: int = 4) -> Any:
    """``value`` of argument ``new``, or ``legacy`` passed under its deprecated name ``old``.

    ``legacy`` is None unless a caller still uses the old name; then it wins, with a
    FutureWarning when ``warn`` (old names are kept for one release). Passing both is an error.
    """
    if legacy is None:
        return value
    if not warn:
        return legacy
    if value != default:
        raise InvalidParameterError(f"`{old}` is the deprecated name of `{new}`; pass only "
                                    f"`{new}`. Got {new}={short_repr(value)} and "
                                    f"{old}={short_repr(legacy)}.")
    warnings.warn(f"`{old}` is deprecated and will be removed in the next release; use "
                  f"`{new}` instead.", FutureWarning, stacklevel=stacklevel)
    return legacy


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
        raise ValueError(f"`{name}` must be numeric. Got {short_repr(value)}.") from None
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
        raise ValueError(f"`{name}` must be a number. Got {short_repr(value)}.") from None
    if isinstance(value, bool) or not np.isfinite(out) or (positive and out <= 0):
        raise ValueError(f"`{name}` must be a finite{' positive' if positive else ''} number. "
                         f"Got {short_repr(value)}.")
    return out
