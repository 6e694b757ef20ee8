"""Exogenous inputs: validation, per-column use, per-window transforms and design columns.

A forecaster that uses exogenous inputs (``supports_exog = True``) takes ``exog`` -- a
:class:`pandas.DataFrame` (or a named Series) -- on ``fit(y, exog)``, ``update(y_new, exog)``
and ``predict(steps, exog)``. Three constructor parameters, the same for every such
forecaster, say how each column is used:

``exog_lags`` (int or dict column -> int, default 1)
    A **past-only** column (the default) is known up to the forecast origin only. It enters
    at lags ``1..p`` *of the origin*: lag 1 is its value at the origin itself (observed there),
    lag ``k`` its value ``k - 1`` steps earlier. Columns missing from a dict get 1.
``known_exog`` (list of column names, default None)
    A **known-in-advance** column (calendar, scheduled events) enters at the target time, so
    ``predict`` needs its future values: ``exog`` there holds the ``steps`` rows after the
    origin. Past-only columns may be given there too; they are ignored.
``exog_transform`` (str or dict column -> str, default "none")
    Per column: ``"none"``, ``"diff"`` (``x_t - x_{t-1}``), ``"log_return"``
    (``log x_t - log x_{t-1}``, positive values only) or ``"standardize"`` (minus the
    training mean, divided by the training standard deviation). Fitted on each training
    window (inside a backtest: on data before the origin only) and kept by ``update``.
    Network forecasters also standardise every design column by its training mean and
    standard deviation (as they do the target); ARIMA divides each regressor by its
    training standard deviation.

Leakage is impossible by construction: design columns are read at positions ``<= origin``
for past-only columns (the rows after the origin are NaN in the matrix that ``predict``
builds, so a read would show as NaN and raise), and only known-in-advance columns are
taken from the future rows. A recursive multi-step forecast with past-only columns would
need their values after the origin: it is refused with a ValueError naming ``steps``
(use ``multistep="direct"``, declare the column in ``known_exog``, or forecast one step).

Bad input raises :class:`ExogError` (a ValueError) naming ``exog`` and the offending column,
label or value: missing future values, misaligned or short indexes, NaN or inf, and columns
other than those the forecaster was fitted with (also after :func:`load`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .._artefacts import sha256
from .._index import label_integers, same_labels
from .._validation import (
    InvalidParameterError,
    check_option,
    check_positive_int,
    short_repr,
)
from .transforms import TRANSFORMS

__all__ = ["EXOG_TRANSFORMS", "ExogError", "ExogMixin", "ExogSpec", "ExogState",
           "check_backtest_exog", "check_exog", "check_exog_params", "exog_digest",
           "exog_rows_for_model"]

#: Per-column transforms of ``exog_transform``.
EXOG_TRANSFORMS = ("none", "diff", "log_return", "standardize")


class ExogError(ValueError):
    """Exogenous input that cannot be used: missing, misaligned, short, non-finite, or with
    other columns than the forecaster was fitted with. The message names ``exog``."""


# ------------------------------------------------------------------------ parameters
def _names(name: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidParameterError(f"`{name}` must be a list of column names or None. Got "
                                    f"{short_repr(value)}.")
    if any(not isinstance(v, str) or not v for v in value) or len(set(value)) != len(value):
        raise InvalidParameterError(f"`{name}` must hold unique, non-empty column names. Got "
                                    f"{short_repr(value)}.")
    return list(value)


def _per_column(name: str, value: Any, check: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                raise InvalidParameterError(f"`{name}` keys must be column names. Got "
                                            f"{short_repr(key)}.")
            check(f"{name}[{key!r}]", item)
    else:
        check(name, value)


def check_exog_params(exog_lags: Any, known_exog: Any, exog_transform: Any) -> None:
    """Validate ``exog_lags``, ``known_exog`` and ``exog_transform`` (see the module docstring)."""
    _per_column("exog_lags", exog_lags, check_positive_int)
    known = [] if known_exog is None else _names("known_exog", known_exog)
    _per_column("exog_transform", exog_transform,
                lambda name, v: check_option(name, v, EXOG_TRANSFORMS))
    if isinstance(exog_lags, Mapping) and set(exog_lags) & set(known):
        both = sorted(set(exog_lags) & set(known))
        raise InvalidParameterError(
            f"`exog_lags` must not give lags for known-in-advance columns (`known_exog`, used "
            f"at the target time only). Got {both} in both.")


# ------------------------------------------------------------------------ the spec
@dataclass(frozen=True)
class ExogSpec:
    """How each exogenous column is used: its lags (0 = known in advance) and transform."""

    columns: tuple[str, ...]
    lags: tuple[int, ...]
    transforms: tuple[str, ...]

    @classmethod
    def resolve(cls, columns: Any, exog_lags: Any, known_exog: Any, exog_transform: Any
                ) -> ExogSpec:
        """The spec of ``columns`` under the constructor parameters (validated)."""
        check_exog_params(exog_lags, known_exog, exog_transform)
        columns = tuple(columns)
        known = [] if known_exog is None else list(known_exog)
        for name, listed in (("known_exog", known),
                             ("exog_lags", exog_lags if isinstance(exog_lags, Mapping) else ()),
                             ("exog_transform", exog_transform
                              if isinstance(exog_transform, Mapping) else ())):
            unknown = [c for c in listed if c not in columns]
            if unknown:
                raise ExogError(f"`{name}` names column(s) {unknown} that `exog` does not have. "
                                f"Got `exog` columns {list(columns)}.")
        lags = tuple(0 if c in known else int(exog_lags.get(c, 1) if isinstance(
            exog_lags, Mapping) else exog_lags) for c in columns)
        transforms = tuple(exog_transform.get(c, "none") if isinstance(exog_transform, Mapping)
                           else exog_transform for c in columns)
        return cls(columns, lags, transforms)

    @property
    def known(self) -> tuple[bool, ...]:
        """Per column: known in advance (used at the target time)."""
        return tuple(lag == 0 for lag in self.lags)

    @property
    def has_past(self) -> bool:
        """Whether some column is past-only."""
        return not all(self.known)

    def n_lost(self, j: int) -> int:
        """Leading values column ``j`` loses to its transform (1 for differences)."""
        return 1 if self.transforms[j] in ("diff", "log_return") else 0

    @property
    def first_origin(self) -> int:
        """First row position that can be a forecast origin (every column defined)."""
        return max([0] + [lag - 1 + self.n_lost(j) if lag else self.n_lost(j) - 1
                          for j, lag in enumerate(self.lags)])

    @property
    def window(self) -> int:
        """Raw rows kept at the origin to build the next design rows."""
        return max([1] + [lag + self.n_lost(j) for j, lag in enumerate(self.lags)])

    @property
    def width(self) -> int:
        """Design columns: ``lags`` per past-only column, one per known column."""
        return sum(max(lag, 1) for lag in self.lags)

    def names(self) -> list[str]:
        """Design column names: ``<column>_lag_<k>`` (past-only), ``<column>`` (known)."""
        out = []
        for column, lag in zip(self.columns, self.lags, strict=True):
            out += [f"{column}_lag_{k}" for k in range(1, lag + 1)] if lag else [column]
        return out

    def lag_of_inputs(self) -> list[int]:
        """Per design column: the lag of the origin (0 = the target time)."""
        return [k for lag in self.lags for k in (range(1, lag + 1) if lag else [0])]

    def describe(self) -> dict[str, Any]:
        """JSON description (persistence, reports)."""
        return {"columns": list(self.columns), "lags": list(self.lags),
                "known": list(self.known), "transforms": list(self.transforms)}


# ------------------------------------------------------------------------ input checks
def _labels(index: pd.Index) -> str:
    if len(index) == 0:
        return "none"
    return f"{index[0]} .. {index[-1]}" if len(index) > 1 else str(index[0])


def _as_frame(exog: Any) -> pd.DataFrame:
    if isinstance(exog, pd.Series):
        return exog.to_frame(name=exog.name if exog.name is not None else "exog")
    if not isinstance(exog, pd.DataFrame):
        raise TypeError(f"`exog` must be a pandas DataFrame or Series indexed like `y`. Got "
                        f"{type(exog).__name__}.")
    columns = list(exog.columns)
    if any(not isinstance(c, str) or not c for c in columns) or len(set(columns)) != len(columns):
        raise ExogError(f"`exog` column names must be unique, non-empty strings. Got "
                        f"{short_repr(columns)}.")
    if not columns:
        raise ExogError("`exog` must have at least one column. Got none.")
    return exog


def check_exog(exog: Any, index: pd.Index, *, columns: Any = None, ignored: Any = (),
               future: bool = False, origin: Any = None) -> pd.DataFrame:
    """A validated float64 copy of ``exog`` on ``index`` (``exog`` is never modified).

    Parameters
    ----------
    exog : pandas.DataFrame or Series
    index : pandas.Index
        The labels ``exog`` must have: those of ``y`` (fit, update, backtest), or the
        ``steps`` labels after the origin (``future=True``: ``exog``'s first rows must be
        these labels; further rows are ignored).
    columns : sequence of str, optional
        The columns required, in this order (default: every column of ``exog``).
    ignored : sequence of str
        Columns that may be present and are dropped (past-only columns at ``predict``).
    origin : label, optional
        The forecast origin, for messages when ``future=True``.

    Raises
    ------
    ExogError
        Missing or unexpected columns, a short or misaligned index, non-numeric dtypes,
        NaN or inf in a required column.
    """
    frame = _as_frame(exog)
    present = list(frame.columns)
    wanted = present if columns is None else list(columns)
    missing = [c for c in wanted if c not in present]
    unexpected = [c for c in present if c not in wanted and c not in ignored]
    if missing or unexpected:
        fitted = list(wanted) + [c for c in ignored if c not in wanted]
        problem = (f"must have the column(s) {missing}" if missing
                   else f"has column(s) {unexpected} that the forecaster does not use")
        raise ExogError(f"`exog` {problem} (its exogenous inputs: {fitted}). Got columns "
                        f"{present}.")
    n = len(index)
    if future:
        where = f"the {n} step(s) after the origin {origin} ({_labels(index)})"
        if len(frame) < n or not same_labels(frame.index[:n], index):
            raise ExogError(f"`exog` must start with the rows of {where}. Got {len(frame)} "
                            f"row(s) ({_labels(frame.index)}).")
        frame = frame.iloc[:n]
    elif len(frame) != n:
        raise ExogError(f"`exog` must have one row per observation of `y` ({n} rows, "
                        f"{_labels(index)}). Got {len(frame)} rows ({_labels(frame.index)}).")
    elif not same_labels(frame.index, index):
        pos = next((i for i, (a, b) in enumerate(zip(frame.index, index, strict=True))
                    if not same_labels(pd.Index([a]), pd.Index([b]))), 0)
        raise ExogError(f"`exog` must be indexed like `y`. Got {frame.index[pos]} at row {pos} "
                        f"where {index[pos]} was expected.")
    values = np.empty((n, len(wanted)), dtype=np.float64)
    for j, column in enumerate(wanted):
        series = frame[column]
        dtype = series.dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise ExogError(f"`exog` column {column!r} must have a numeric dtype. Got dtype "
                            f"{dtype!s}.")
        values[:, j] = series.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(values[:, j]))
        if bad.size:
            raise ExogError(f"`exog` column {column!r} must contain only finite values (no NaN "
                            f"or inf). Got {float(values[bad[0], j])!r} at {index[bad[0]]}.")
    return pd.DataFrame(values, index=index.copy(), columns=wanted)


def _check_positive(spec: ExogSpec, raw: np.ndarray, index: pd.Index | None) -> None:
    for j, column in enumerate(spec.columns):
        if TRANSFORMS.get(spec.transforms[j], TRANSFORMS["none"]).positive:
            bad = np.flatnonzero(raw[:, j] <= 0)
            if bad.size:
                where = index[bad[0]] if index is not None else f"row {bad[0]}"
                raise ExogError(f"`exog` column {column!r} must be strictly positive for "
                                f"exog_transform={spec.transforms[j]!r}. Got "
                                f"{float(raw[bad[0], j])!r} at {where}.")


def exog_digest(frame: pd.DataFrame) -> dict[str, Any]:
    """SHA-256 of an exog frame's labels, column names and values (checkpoint configs)."""
    body = label_integers(frame.index).tobytes() + json.dumps(list(frame.columns)).encode()
    body += np.ascontiguousarray(frame.to_numpy(dtype=np.float64)).tobytes()
    return {"sha256": sha256(body), "n": len(frame), "columns": list(frame.columns)}


# ------------------------------------------------------------------------ fitted state
#: How a forecaster scales design columns after the transform: every column by its
#: training mean and standard deviation ("standardize"), by the standard deviation only
#: ("scale"), or not at all ("none"; ``exog_transform="standardize"`` columns always are).
SCALINGS = ("standardize", "scale", "none")


@dataclass
class ExogState:
    """A fitted exogenous configuration: the spec, the per-column affine map fitted on the
    training window, and the raw rows ending at the origin.

    Design values are ``(T_c(x) - center[c]) / scale[c]`` with ``T_c`` the column's transform.
    """

    spec: ExogSpec
    center: np.ndarray
    scale: np.ndarray
    window: np.ndarray
    #: Transient: the transformed training rows (read once by ``_fit``).
    train: np.ndarray | None = field(default=None, repr=False)
    #: Transient: the window before the last ``update`` plus the new rows (ARIMA's extend).
    recent: np.ndarray | None = field(default=None, repr=False)
    #: Transient: raw rows after the origin for ``predict`` (NaN in past-only columns).
    future: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def fit(cls, spec: ExogSpec, raw: np.ndarray, scaling: str) -> ExogState:
        """Fit the per-column transforms on the training rows ``raw`` (shape (n, k))."""
        k = len(spec.columns)
        state = cls(spec, np.zeros(k), np.ones(k), raw[-spec.window:].copy())
        transformed = state._transform(raw)
        for j, name in enumerate(spec.transforms):
            values = transformed[spec.n_lost(j):, j]
            centre = name == "standardize" or scaling == "standardize"
            if centre or scaling == "scale":
                sd = float(np.std(values))
                state.scale[j] = sd if np.isfinite(sd) and sd > 0 else 1.0
            if centre:
                state.center[j] = float(np.mean(values))
        state.train = (transformed - state.center) / state.scale
        return state

    def _transform(self, raw: np.ndarray) -> np.ndarray:
        out = np.full(raw.shape, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):  # NaN future rows stay NaN
            for j, name in enumerate(self.spec.transforms):
                lost = self.spec.n_lost(j)
                forward = TRANSFORMS["none" if name == "standardize" else name]()._forward
                out[lost:, j] = forward(raw[:, j])
        return out

    def values(self, raw: np.ndarray) -> np.ndarray:
        """Transformed, scaled values of consecutive raw rows (NaN where undefined)."""
        return (self._transform(raw) - self.center) / self.scale

    def design(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """Design columns for forecast origins (row positions in ``values``) and a horizon.

        Past-only column ``c`` at lag ``k``: ``values[origin - k + 1, c]``; known column:
        ``values[origin + horizon, c]``.
        """
        origins = np.asarray(origins, dtype=np.int64)
        columns = []
        for j, lag in enumerate(self.spec.lags):
            if lag:
                columns += [values[origins - k + 1, j] for k in range(1, lag + 1)]
            else:
                columns.append(values[origins + horizon, j])
        return np.column_stack(columns) if columns else np.empty((origins.size, 0))

    def forecast_rows(self, steps: int, direct: bool) -> np.ndarray:
        """Exogenous design rows for ``steps`` forecasts from the origin (shape (steps, width)).

        ``direct``: row ``h`` is step model ``h``'s (origin, horizon ``h``); else row ``h``
        feeds the one-step model at origin ``+ h - 1`` (recursive, ARIMA).
        """
        k = len(self.spec.columns)
        future = self.future if self.future is not None else np.full((steps, k), np.nan)
        values = self.values(np.vstack([self.window, future[:steps]]))
        last = self.window.shape[0] - 1
        if direct:
            rows = np.vstack([self.design(values, [last], h) for h in range(1, steps + 1)])
        else:
            rows = self.design(values, last + np.arange(steps), 1)
        if not np.isfinite(rows).all():  # a past-only value after the origin was read
            raise RuntimeError("exogenous design rows read values after the forecast origin")
        return rows

    def extend(self, raw_new: np.ndarray) -> None:
        """Append observed rows (``update``): ``recent`` holds the old window and them."""
        self.recent = np.vstack([self.window, raw_new])
        self.window = self.recent[-self.spec.window:].copy()

    # ------------------------------------------------------------ persistence
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {**self.spec.describe(), "center": [float(v) for v in self.center],
                "scale": [float(v) for v in self.scale]}
        return meta, {"exog_window": self.window.copy()}

    @classmethod
    def from_state(cls, meta: Any, window: Any, params: tuple[Any, Any, Any]) -> ExogState:
        """Rebuild a saved state; it must agree with the forecaster's parameters."""
        if not isinstance(meta, dict) or not isinstance(meta.get("columns"), list):
            raise ValueError(f"`state['exog']` must describe the exogenous columns. Got "
                             f"{short_repr(meta)}.")
        spec = ExogSpec.resolve(meta["columns"], *params)
        if spec.describe() != {k: meta.get(k) for k in ("columns", "lags", "known",
                                                          "transforms")}:
            raise ValueError(f"`state['exog']` must match the parameters exog_lags, known_exog "
                             f"and exog_transform ({spec.describe()}). Got "
                             f"{short_repr(meta)}.")
        k = len(spec.columns)
        center = np.array(meta.get("center"), dtype=np.float64)
        scale = np.array(meta.get("scale"), dtype=np.float64)
        window = np.array(window, dtype=np.float64)
        if center.shape != (k,) or scale.shape != (k,) or not (
                np.isfinite(center).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError(f"`state['exog']` center and scale must be {k} finite numbers "
                             f"(scales > 0). Got {short_repr(meta)}.")
        if window.shape != (spec.window, k) or not np.isfinite(window).all():
            raise ValueError(f"`state exog_window` must be a finite array of shape "
                             f"({spec.window}, {k}). Got shape {window.shape}.")
        _check_positive(spec, window, None)
        return cls(spec, center, scale, window)


# ------------------------------------------------------------------------ the mixin
class ExogMixin:
    """``exog`` on fit, predict and update, for forecasters that use exogenous inputs.

    Used by the forecasters with the constructor parameters ``exog_lags``, ``known_exog``
    and ``exog_transform`` (module docstring). It validates ``exog`` against ``y``'s index,
    fits the per-column transforms on the training window, keeps the raw rows the next
    forecast needs (moved by ``update``), and saves all of it with the fitted state.
    A subclass builds its design from :class:`ExogState` (``self._exog``; None when fitted
    without ``exog``) and may override

    - ``_exog_scaling`` -- one of :data:`SCALINGS`;
    - ``_exog_direct`` -- whether each step has its own model (past-only columns then allow
      any number of steps, else one);
    - ``_exog_extra_rows(spec)`` -- training rows lost to exogenous lags beyond its own;
    - ``_own_input_names()`` -- names of its design columns before the exogenous ones.
    """

    supports_exog: ClassVar[bool] = True
    exog_lags: Any
    known_exog: Any
    exog_transform: Any
    _exog: ExogState | None = None

    @property
    def _exog_scaling(self) -> str:
        return "standardize"

    @property
    def _exog_direct(self) -> bool:
        return False

    def _exog_extra_rows(self, spec: ExogSpec) -> int:
        return 0

    def _own_input_names(self) -> list[str]:
        return []

    def _check_exog_params(self) -> None:
        check_exog_params(self.exog_lags, self.known_exog, self.exog_transform)

    def _exog_spec(self, columns: Any) -> ExogSpec:
        return ExogSpec.resolve(columns, self.exog_lags, self.known_exog, self.exog_transform)

    def exog_max_steps(self, columns: Any) -> int | None:
        """Most steps one origin can forecast with these ``exog`` columns (None: no limit
        from exog): 1 for a one-step model with past-only columns."""
        spec = self._exog_spec(columns)
        return 1 if spec.has_past and not self._exog_direct else None

    def _exog_state_for(self, exog: Any) -> ExogState | None:
        """The fitted exog state; None (and ``exog`` must be None too) if fitted without."""
        if self._exog is None and exog is not None:
            raise ExogError(f"`exog` must be None: this {type(self).__name__} was fitted "
                            f"without exogenous inputs. Got {type(exog).__name__}.")
        return self._exog

    # ------------------------------------------------------------------ hooks
    def _exog_fit(self, exog: Any, index: pd.Index) -> None:
        self._exog = None
        if exog is None:
            return
        frame = check_exog(exog, index)
        spec = self._exog_spec(frame.columns)
        names = self._own_input_names() + spec.names()
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise ExogError(f"`exog` column names must not clash with the names of the model's "
                            f"inputs {names}. Got {clash} more than once.")
        minimum = self.min_train_size + self._exog_extra_rows(spec)  # type: ignore[attr-defined]
        if len(index) < minimum:
            raise ValueError(
                f"`y` must have at least {minimum} observations for {type(self).__name__} with "
                f"these parameters and exogenous lags {dict(zip(spec.columns, spec.lags, strict=True))}"
                f". Got {len(index)}.")
        raw = frame.to_numpy()
        _check_positive(spec, raw, index)
        self._exog = ExogState.fit(spec, raw, self._exog_scaling)

    def _exog_predict(self, exog: Any, index: pd.Index) -> None:
        state = self._exog_state_for(exog)
        if state is None:
            return
        spec = state.spec
        limit = self.exog_max_steps(spec.columns)
        if limit is not None and len(index) > limit:
            past = [c for c, known in zip(spec.columns, spec.known, strict=True) if not known]
            raise ValueError(
                f"`steps` must be 1 for a one-step model with past-only exogenous columns "
                f"{past}: step 2 would need their values after the origin, which are not "
                "known there. Use multistep='direct', list the columns in `known_exog` if "
                f"their future values are known, or forecast one step. Got {len(index)}.")
        known = [c for c, flag in zip(spec.columns, spec.known, strict=True) if flag]
        state.future = np.full((len(index), len(spec.columns)), np.nan)
        if exog is None:
            if known:
                raise ExogError(
                    f"`exog` must give the future values of the known-in-advance column(s) "
                    f"{known} for the {len(index)} step(s) after the origin {self.cutoff_} "  # type: ignore[attr-defined]
                    f"({_labels(index)}). Got None.")
            return
        past = [c for c in spec.columns if c not in known]
        frame = check_exog(exog, index, columns=known, ignored=past, future=True,
                           origin=self.cutoff_)  # type: ignore[attr-defined]
        rows = frame.to_numpy()
        positions = [spec.columns.index(c) for c in known]
        state.future[:, positions] = rows
        _check_positive(ExogSpec(tuple(known), (0,) * len(known),
                                 tuple(spec.transforms[j] for j in positions)), rows, index)

    def _exog_update(self, exog: Any, index: pd.Index) -> None:
        state = self._exog_state_for(exog)
        if state is None:
            return
        if exog is None:
            raise ExogError(f"`exog` must give the values of {list(state.spec.columns)} at the "
                            f"new observations ({_labels(index)}). Got None.")
        raw = check_exog(exog, index, columns=state.spec.columns).to_numpy()
        _check_positive(state.spec, raw, index)
        state.extend(raw)

    # ------------------------------------------------------------ fitted results
    @property
    def exog_columns_(self) -> list[str]:
        """The exogenous columns the forecaster was fitted with ([] without ``exog``)."""
        self._check_fitted()  # type: ignore[attr-defined]
        return [] if self._exog is None else list(self._exog.spec.columns)

    @property
    def input_names_(self) -> list[str]:
        """Names of the model's design columns, in column order: its own (e.g. ``lag_1``),
        then ``<column>_lag_<k>`` per past-only and ``<column>`` per known column."""
        self._check_fitted()  # type: ignore[attr-defined]
        return self._own_input_names() + ([] if self._exog is None else self._exog.spec.names())

    # --------------------------------------------------------------- persistence
    def get_fitted_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = super().get_fitted_state()  # type: ignore[misc]
        if self._exog is not None:
            exog_meta, exog_arrays = self._exog.get_state()
            meta["exog"] = exog_meta
            arrays.update(exog_arrays)
        return meta, arrays

    def set_fitted_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        self._check_params()  # type: ignore[attr-defined]
        exog = meta.get("exog")
        self._exog = None if exog is None else ExogState.from_state(
            exog, arrays.get("exog_window"),
            (self.exog_lags, self.known_exog, self.exog_transform))
        return super().set_fitted_state(meta, arrays)  # type: ignore[misc]


# ------------------------------------------------------------------------ backtests
def _uses_exog(model: Any) -> bool:
    return bool(getattr(model, "supports_exog", False))


def check_backtest_exog(name: str, model: Any, columns: Any, reach: int) -> None:
    """Before a backtest: ``model``'s exog parameters fit ``columns`` and it can forecast
    ``gap + steps = reach`` steps with them (ValueError naming the model otherwise)."""
    if not _uses_exog(model):
        return
    limit = model.exog_max_steps(columns)
    if limit is not None and reach > limit:
        raise ValueError(
            f"`gap` + `steps` must be <= {limit} for forecaster {name!r} with past-only "
            f"exogenous columns ({type(model).__name__} is a one-step model: step 2 would need "
            f"their values after the origin; use multistep='direct' or `known_exog`). Got "
            f"{reach}.")


def exog_rows_for_model(model: Any, exog: pd.DataFrame | None, start: int, stop: int,
                        future: bool = False) -> dict[str, Any]:
    """``{"exog": rows start..stop-1}`` for ``model`` (``{}`` if it does not use exog).

    ``future=True`` (rows after an origin, for ``predict``): only the model's
    known-in-advance columns, so past-only values after the origin never reach it.
    """
    if exog is None or not _uses_exog(model):
        return {}
    rows = exog.iloc[start:stop]
    if future:
        known = [c for c in (getattr(model, "known_exog", None) or []) if c in rows.columns]
        return {"exog": rows[known] if known else None}
    return {"exog": rows}
