"""The shared forecaster interface: pandas-aware public wrappers over private numpy hooks.

Every forecaster is a scikit-learn :class:`~sklearn.base.BaseEstimator` (so ``get_params``,
``set_params`` and :func:`sklearn.base.clone` work) with three public methods:

``fit(y, exog=None)``
    Validate ``y`` (a numeric :class:`pandas.Series` indexed by a sorted, unique
    :class:`~pandas.DatetimeIndex` with a set or inferable frequency, a
    :class:`~pandas.PeriodIndex`, or an evenly spaced integer index such as a
    :class:`~pandas.RangeIndex`), remember the index metadata and call ``_fit(values)``.
``predict(steps, exog=None)``
    Return the next ``steps`` values as a Series indexed by the next ``steps`` timestamps.
``update(y_new, exog=None)``
    Append observations that continue ``y`` without a gap. Parameters are *not* refitted;
    only the forecast origin moves (``cutoff_`` and ``last_window_``).

``exog`` (exogenous inputs on ``y``'s index) is used by forecasters with
``supports_exog = True`` (see :mod:`convexforecast.forecasting.exog`, whose ``ExogMixin``
implements the ``_exog_fit``/``_exog_predict``/``_exog_update`` hooks); the others accept it
and ignore it, like sktime's ``ignores-exogeneous-X`` tag.

Subclasses implement:

- ``_check_params()`` -- validate hyper-parameters (raise ValueError naming the argument);
- ``min_train_size`` -- property, the fewest observations ``fit`` accepts;
- ``window_length`` -- property, how many trailing observations ``_predict`` needs;
- ``_fit(values)`` and ``_predict(steps)`` on float64 numpy arrays (``self._window`` holds the
  last ``window_length`` observations, updated by the base class);
- optionally ``_update(values)`` (extra work when observations are appended, e.g. ARIMA state),
  ``_check_values(values, name)`` (e.g. positivity for log transforms) and
  ``_get_state()`` / ``_set_state(meta, arrays)`` for persistence.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from .._index import first_decrease, first_step_change, infer_offset, same_labels
from .._validation import as_float_array, check_int, check_positive_int, short_repr

__all__ = ["BaseForecaster", "check_continuation", "check_series"]


def _describe(label: Any) -> str:
    """Render an index label (timestamp, period or integer) for an error message."""
    if isinstance(label, pd.Timestamp):
        return str(label.isoformat())
    return str(label)


def _validate_index(index: pd.Index, name: str) -> dict[str, Any]:
    """Check an index and return JSON-serialisable metadata describing its regular grid.

    Returns
    -------
    dict
        ``{"kind": "datetime", "freq": str, "tz": str | None}``,
        ``{"kind": "period", "freq": str}`` or ``{"kind": "integer", "step": int}``.
    """
    n = len(index)
    if n == 0:
        raise ValueError(f"`{name}` must not be empty. Got 0 observations.")
    if isinstance(index, pd.DatetimeIndex | pd.PeriodIndex) or pd.api.types.is_integer_dtype(index):
        if index.hasnans:
            pos = int(np.flatnonzero(index.isna())[0])
            raise ValueError(
                f"`{name}` index must not contain missing labels. Got NaT at position {pos}."
            )
        if not index.is_monotonic_increasing:
            pos = first_decrease(index)
            raise ValueError(
                f"`{name}` index must be sorted in increasing order. Got "
                f"{_describe(index[pos])} after {_describe(index[pos - 1])}."
            )
        if not index.is_unique:
            dup = index[index.duplicated()][0]
            raise ValueError(
                f"`{name}` index must not contain duplicate timestamps. Got {_describe(dup)} "
                "more than once."
            )
    else:
        raise TypeError(
            f"`{name}` must be indexed by a DatetimeIndex, a PeriodIndex or an integer index "
            f"(e.g. RangeIndex). Got {type(index).__name__} of dtype {index.dtype}."
        )

    if isinstance(index, pd.PeriodIndex):
        expected = pd.period_range(start=index[0], periods=n, freq=index.freq)
        _check_regular(index, expected, name, index.freqstr)
        return {"kind": "period", "freq": index.freqstr}

    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq
        if freq is None:
            if n >= 3:
                freq = infer_offset(index)
                if freq is None:
                    pos = first_step_change(index, index[1] - index[0]) or 1
                    raise ValueError(
                        f"`{name}` index must have a regular frequency (set `{name}.index.freq` or "
                        f"use `asfreq`). Could not infer one: the spacing first changes at "
                        f"{_describe(index[pos])}."
                    )
            elif n == 2:
                freq = pd.tseries.frequencies.to_offset(index[1] - index[0])
            else:
                raise ValueError(
                    f"`{name}` index frequency cannot be inferred from a single timestamp. "
                    f"Got {_describe(index[0])} with freq=None; set `{name}.index.freq`."
                )
        expected = pd.date_range(start=index[0], periods=n, freq=freq)
        _check_regular(index, expected, name, freq.freqstr)
        return {"kind": "datetime", "freq": freq.freqstr,
                "tz": None if index.tz is None else str(index.tz)}

    values = np.asarray(index, dtype=np.int64)
    step = int(values[1] - values[0]) if n >= 2 else 1
    pos = first_step_change(index, step)
    if pos is not None:
        raise ValueError(
            f"`{name}` integer index must be evenly spaced (step {step}). Got {values[pos]} "
            f"after {values[pos - 1]}."
        )
    return {"kind": "integer", "step": step}


def _check_regular(index: pd.Index, expected: pd.Index, name: str, freqstr: str) -> None:
    if len(index) and same_labels(index, expected):
        return
    mismatch = [i for i, (a, b) in enumerate(zip(index, expected, strict=True)) if a != b]
    pos = mismatch[0] if mismatch else 0
    raise ValueError(
        f"`{name}` index must follow frequency {freqstr!r} without gaps. Got "
        f"{_describe(index[pos])} where {_describe(expected[pos])} was expected."
    )


def _offset(meta: dict[str, Any]) -> pd.DateOffset:
    return pd.tseries.frequencies.to_offset(meta["freq"])


def _future_index(meta: dict[str, Any], cutoff: Any, steps: int) -> pd.Index:
    """The ``steps`` labels that follow ``cutoff`` on the grid described by ``meta``."""
    if meta["kind"] == "datetime":
        return pd.date_range(start=cutoff + _offset(meta), periods=steps, freq=meta["freq"])
    if meta["kind"] == "period":
        return pd.period_range(start=cutoff + 1, periods=steps, freq=meta["freq"])
    step = meta["step"]
    return pd.RangeIndex(cutoff + step, cutoff + step * (steps + 1), step)


def _past_index(meta: dict[str, Any], cutoff: Any, length: int) -> pd.Index:
    """The ``length`` labels that end at ``cutoff`` (inclusive)."""
    if meta["kind"] == "datetime":
        return pd.date_range(end=cutoff, periods=length, freq=meta["freq"])
    if meta["kind"] == "period":
        return pd.period_range(end=cutoff, periods=length, freq=meta["freq"])
    step = meta["step"]
    return pd.RangeIndex(cutoff - step * (length - 1), cutoff + step, step)


def _as_series(y: Any, name: str) -> pd.Series:
    if isinstance(y, pd.Series):
        return y
    if isinstance(y, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas Series (one column). Got a DataFrame of shape "
                        f"{y.shape}.")
    if isinstance(y, np.ndarray | list | tuple):
        arr = np.asarray(y)
        if arr.ndim != 1:
            raise ValueError(
                f"`{name}` must be one-dimensional. Got an array of shape {arr.shape}."
            )
        return pd.Series(arr)
    raise TypeError(f"`{name}` must be a pandas Series. Got {type(y).__name__}.")


def _validate_values(y: pd.Series, name: str) -> np.ndarray:
    """Return the values of ``y`` as a float64 copy, checking dtype and finiteness."""
    dtype = y.dtype
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise ValueError(f"`{name}` must have a numeric dtype. Got dtype {dtype!s}.")
    values = np.array(y.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64, copy=True)
    bad = ~np.isfinite(values)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"`{name}` must contain only finite values (no NaN or inf). Got "
            f"{float(values[pos])!r} at {_describe(y.index[pos])}."
        )
    return values


def _json_name(name: Any) -> Any:
    """The series name as a JSON-friendly value (tuples of scalars kept, others as str)."""
    if name is None or isinstance(name, str | bool):
        return name
    if isinstance(name, int | np.integer):
        return int(name)
    if isinstance(name, float | np.floating):
        return float(name)
    if isinstance(name, tuple):
        return tuple(_json_name(part) for part in name)
    return str(name)


def check_series(y: Any, name: str = "y") -> pd.Series:
    """A validated float64 copy of ``y``: numeric finite values on an index the forecasters
    accept (see :meth:`BaseForecaster.fit`). ``y`` itself is never modified."""
    series = _as_series(y, name)
    values = _validate_values(series, name)
    meta = _validate_index(series.index, name)
    index = series.index.copy()
    if meta["kind"] == "datetime" and index.freq is None:  # slices keep the inferred grid
        index = pd.DatetimeIndex(index, freq=meta["freq"])
    return pd.Series(values, index=index, name=series.name)


def _check_index_meta(meta: Any) -> dict[str, Any]:
    """A saved index description (see :func:`_validate_index`), checked to rebuild the grid."""
    if not isinstance(meta, dict):
        raise ValueError(f"`state['index']` must be an object. Got {short_repr(meta)}.")
    meta = dict(meta)
    kind = meta.get("kind")
    if kind in ("datetime", "period"):
        try:
            pd.tseries.frequencies.to_offset(meta.get("freq"))
        except (TypeError, ValueError):
            raise ValueError(f"`state['index']['freq']` must be a pandas frequency. Got "
                             f"{short_repr(meta.get('freq'))}.") from None
        if kind == "datetime" and meta.get("tz") is not None:
            try:
                pd.Timestamp("2000-01-01", tz=meta["tz"])
            except Exception:  # noqa: BLE001 - pytz/zoneinfo raise several types
                raise ValueError(f"`state['index']['tz']` must be a time zone. Got "
                                 f"{short_repr(meta['tz'])}.") from None
    elif kind == "integer":
        step = check_int("state['index']['step']", meta.get("step"))
        if step == 0:
            raise ValueError("`state['index']['step']` must be non-zero. Got 0.")
    else:
        raise ValueError(f"`meta['index']['kind']` must be one of ['datetime', 'period', "
                         f"'integer']. Got {short_repr(kind)}.")
    return meta


class BaseForecaster(BaseEstimator):
    """Base class of all forecasters (see the module docstring for the subclass contract).

    Attributes
    ----------
    cutoff_ : label
        The last observed timestamp (the forecast origin); moves with :meth:`update`.
    n_obs_ : int
        Observations seen so far (training plus updates).
    n_train_ : int
        Observations the parameters were estimated on.
    index_meta_ : dict
        ``kind`` ("datetime", "period" or "integer") and ``freq``/``tz`` or ``step``.
    last_window_ : pandas.Series
        The last ``window_length`` observations, on which the next forecast conditions.
    in_sample_residuals_ : numpy.ndarray or None
        One-step in-sample residuals on the original scale where cheap to compute.
    """

    #: Whether ``exog`` is used; when False, ``exog`` given to fit, predict and update is
    #: accepted and ignored (the naive baselines).
    supports_exog: ClassVar[bool] = False

    # ------------------------------------------------------------------ hooks
    @property
    def min_train_size(self) -> int:
        """Fewest observations :meth:`fit` accepts (depends on the hyper-parameters)."""
        return 1

    @property
    def window_length(self) -> int:
        """How many trailing observations :meth:`_predict` conditions on."""
        return 1

    @property
    def max_steps(self) -> int | None:
        """Most steps :meth:`predict` can forecast from one origin (None: no limit)."""
        return None

    def _check_params(self) -> None:
        """Validate hyper-parameters; raise ValueError naming the argument and the value."""

    def _check_values(self, values: np.ndarray, name: str) -> None:
        """Model-specific checks on observed values (e.g. positivity for log transforms)."""

    def _fit(self, values: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, steps: int) -> np.ndarray:
        raise NotImplementedError

    def _update(self, values: np.ndarray) -> None:
        """Extra work when ``values`` are appended (the base class already moves the window)."""

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Fitted parameters as (JSON-serialisable metadata, named float arrays)."""
        return {}, {}

    def _exog_fit(self, exog: Any, index: pd.Index) -> None:
        """Validate and keep ``exog`` for ``_fit`` (ignored unless ``supports_exog``)."""

    def _exog_predict(self, exog: Any, index: pd.Index) -> None:
        """Validate the future ``exog`` rows at ``index`` for ``_predict`` (ignored here)."""

    def _exog_update(self, exog: Any, index: pd.Index) -> None:
        """Validate and append the ``exog`` rows of new observations (ignored here)."""

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Inverse of :meth:`_get_state`."""

    # ------------------------------------------------------------ public API
    def fit(self, y: pd.Series, exog: pd.DataFrame | pd.Series | None = None) -> BaseForecaster:
        """Estimate the parameters on ``y``.

        Parameters
        ----------
        y : pandas.Series
            Numeric, finite observations indexed by a sorted, unique DatetimeIndex with a set or
            inferable frequency, a PeriodIndex, or an evenly spaced integer index. A 1-D array
            is accepted and given a RangeIndex. ``y`` is never modified.
        exog : pandas.DataFrame or Series, optional
            Exogenous inputs with one row per observation of ``y`` (same index), used by
            forecasters with ``supports_exog`` (see :mod:`~convexforecast.forecasting.exog`)
            and ignored by the others. Never modified.

        Returns
        -------
        self
        """
        self._check_params()
        series = _as_series(y, "y")
        values = _validate_values(series, "y")
        minimum = self.min_train_size
        if values.size < minimum:
            raise ValueError(
                f"`y` must have at least {minimum} observations for {type(self).__name__} with "
                f"these parameters. Got {values.size}."
            )
        meta = _validate_index(series.index, "y")
        self._check_values(values, "y")
        self._reset_fitted()
        self._exog_fit(exog, series.index)
        self._fit(values)
        self.index_meta_ = meta
        self.cutoff_ = series.index[-1]
        self.n_obs_ = int(values.size)
        self.n_train_ = int(values.size)
        self._y_name = series.name
        self._window = values[-self.window_length:].copy()
        return self

    def predict(self, steps: int = 1, exog: pd.DataFrame | pd.Series | None = None
                ) -> pd.Series:
        """Forecast the next ``steps`` observations after ``cutoff_``.

        Parameters
        ----------
        steps : int
            Horizon, an integer >= 1.
        exog : pandas.DataFrame or Series, optional
            The future values of known-in-advance exogenous columns: its first ``steps`` rows
            are the ``steps`` labels after ``cutoff_``. Required when the forecaster was fitted
            with such columns; other columns fitted are ignored here.

        Returns
        -------
        pandas.Series
            Forecasts indexed by the ``steps`` labels following ``cutoff_``, named like ``y``.
        """
        self._check_fitted()
        steps = check_positive_int("steps", steps)
        index = _future_index(self.index_meta_, self.cutoff_, steps)
        self._exog_predict(exog, index)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
            values = np.asarray(self._predict(steps), dtype=np.float64).reshape(-1)
        if values.size != steps:
            raise RuntimeError(f"{type(self).__name__}._predict returned {values.size} values "
                               f"for steps={steps}.")
        if not np.isfinite(values).all():
            step = int(np.flatnonzero(~np.isfinite(values))[0]) + 1
            raise FloatingPointError(
                f"{type(self).__name__} forecast {float(values[step - 1])!r} at step {step}: the "
                "computation overflowed in float64 (rescale the series, e.g. to other units)."
            )
        return pd.Series(values, index=index, name=self._y_name)

    def update(self, y_new: pd.Series, exog: pd.DataFrame | pd.Series | None = None
               ) -> BaseForecaster:
        """Append observations that directly follow ``cutoff_``; parameters are not refitted.

        Parameters
        ----------
        y_new : pandas.Series
            New observations whose index continues the training index without a gap
            (same frequency). An empty Series leaves the forecaster unchanged.
        exog : pandas.DataFrame or Series, optional
            The exogenous columns the forecaster was fitted with, on ``y_new``'s index
            (required then; they move the exogenous window with the origin).

        Returns
        -------
        self
        """
        self._check_fitted()
        series = _as_series(y_new, "y_new")
        if len(series) == 0:
            return self
        values = _validate_values(series, "y_new")
        self._check_continuation(series.index)
        self._check_values(values, "y_new")
        self._exog_update(exog, series.index)
        self._update(values)
        self._window = np.concatenate([self._window, values])[-self.window_length:]
        self.cutoff_ = series.index[-1]
        self.n_obs_ += int(values.size)
        return self

    @property
    def last_window_(self) -> pd.Series:
        """The last ``window_length`` observations (the next forecast conditions on these)."""
        self._check_fitted()
        index = _past_index(self.index_meta_, self.cutoff_, self._window.size)
        return pd.Series(self._window.copy(), index=index, name=self._y_name)

    # --------------------------------------------------------- persistence
    def get_fitted_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Return the fitted state as (JSON-serialisable metadata, dict of numpy arrays).

        Together with ``get_params()`` this is enough to rebuild an identical forecaster with
        :meth:`set_fitted_state` (used by :mod:`convexforecast.forecasting.persistence`).
        """
        self._check_fitted()
        model_meta, model_arrays = self._get_state()
        kind = self.index_meta_["kind"]
        if kind == "datetime":
            cutoff: Any = self.cutoff_.isoformat()
        elif kind == "period":
            cutoff = int(self.cutoff_.ordinal)
        else:
            cutoff = int(self.cutoff_)
        meta = {
            "index": dict(self.index_meta_),
            "cutoff": cutoff,
            "n_obs": self.n_obs_,
            "n_train": self.n_train_,
            "y_name": _json_name(self._y_name),
            "model": model_meta,
        }
        arrays = {"window": self._window.copy()}
        residuals = getattr(self, "in_sample_residuals_", None)
        if residuals is not None:
            arrays["in_sample_residuals"] = np.asarray(residuals, dtype=np.float64)
        for key, value in model_arrays.items():
            arrays[f"model__{key}"] = np.asarray(value)
        return meta, arrays

    def set_fitted_state(
        self, meta: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> BaseForecaster:
        """Restore a state produced by :meth:`get_fitted_state` (parameters must already match).

        The state is validated before anything can forecast from it: finite values, an index
        description that rebuilds the grid, observation counts, and a window as long as these
        parameters need (and valid for the transform). A ValueError names what is wrong.
        """
        self._check_params()
        self._reset_fitted()
        index_meta = _check_index_meta(meta["index"])
        kind = index_meta["kind"]
        if kind == "datetime":
            cutoff = pd.Timestamp(meta["cutoff"])
            tz = index_meta.get("tz")
            if tz is not None:
                cutoff = cutoff.tz_convert(tz) if cutoff.tz is not None else cutoff.tz_localize(tz)
        elif kind == "period":
            cutoff = pd.Period(ordinal=check_int("state['cutoff']", meta["cutoff"]),
                               freq=index_meta["freq"])
        else:
            cutoff = check_int("state['cutoff']", meta["cutoff"])
        n_obs = check_positive_int("state['n_obs']", meta["n_obs"])
        n_train = check_positive_int("state['n_train']", meta["n_train"])
        if n_train > n_obs:
            raise ValueError(f"`state['n_train']` must be <= `state['n_obs']` ({n_obs}). "
                             f"Got {n_train}.")
        model_arrays = {k[len("model__"):]: v for k, v in arrays.items() if k.startswith("model__")}
        self._set_state(meta["model"], model_arrays)
        window = as_float_array("state window", arrays["window"], 1)
        if window.size != self.window_length:
            raise ValueError(
                f"`state window` must hold {self.window_length} observations for "
                f"{type(self).__name__} with these parameters. Got {window.size}."
            )
        self._check_values(window, "state window")
        self.index_meta_ = index_meta
        self.cutoff_ = cutoff
        self.n_obs_ = n_obs
        self.n_train_ = n_train
        self._y_name = meta["y_name"]
        self._window = window
        if "in_sample_residuals" in arrays:
            residuals = np.asarray(arrays["in_sample_residuals"], dtype=np.float64)
            if residuals.ndim != 1:
                raise ValueError(f"`state in_sample_residuals` must be one-dimensional. Got "
                                 f"shape {residuals.shape}.")
            self.in_sample_residuals_ = residuals.copy()
        return self

    # -------------------------------------------------------------- helpers
    def _reset_fitted(self) -> None:
        for attr in ("index_meta_", "cutoff_", "n_obs_", "n_train_", "_window"):
            self.__dict__.pop(attr, None)
        self.in_sample_residuals_ = None

    def _check_fitted(self) -> None:
        if "cutoff_" not in self.__dict__:
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet. Call `fit` before using it."
            )

    def __sklearn_is_fitted__(self) -> bool:
        return "cutoff_" in self.__dict__

    def _check_continuation(self, index: pd.Index) -> None:
        check_continuation(index, self.index_meta_, self.cutoff_, "y_new")


def check_continuation(index: pd.Index, meta: dict[str, Any], cutoff: Any, name: str) -> None:
    """Raise unless ``index`` continues the grid ``meta`` right after ``cutoff`` (no gap or
    overlap); ``name`` is the argument named in the message."""
    if meta["kind"] == "integer":
        if not pd.api.types.is_integer_dtype(index):
            raise TypeError(f"`{name}` must be indexed like `y` (integer index). Got "
                            f"{type(index).__name__} of dtype {index.dtype}.")
    elif meta["kind"] == "datetime" and not isinstance(index, pd.DatetimeIndex):
        raise TypeError(f"`{name}` must be indexed like `y` (DatetimeIndex). Got "
                        f"{type(index).__name__}.")
    elif meta["kind"] == "period" and not isinstance(index, pd.PeriodIndex):
        raise TypeError(f"`{name}` must be indexed like `y` (PeriodIndex). Got "
                        f"{type(index).__name__}.")
    expected = _future_index(meta, cutoff, len(index))
    if meta["kind"] == "datetime" and (index.tz is None) != (expected.tz is None):
        raise ValueError(f"`{name}` index must have the same time zone as `y` "
                         f"({meta.get('tz')}). Got {index.tz}.")
    if same_labels(index, expected):
        return
    labels = list(index)
    pos = next((i for i, (a, b) in enumerate(zip(labels, expected, strict=True)) if a != b), 0)
    grid = meta.get("freq", f"step {meta.get('step')}")
    raise ValueError(
        f"`{name}` must continue the observed series without gaps or overlap (grid {grid}, "
        f"last observation {_describe(cutoff)}). Got {_describe(labels[pos])} where "
        f"{_describe(expected[pos])} was expected."
    )
