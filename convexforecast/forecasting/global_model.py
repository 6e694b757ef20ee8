"""Global lag models: one model fitted on the lag windows of many series pooled together.

:class:`GlobalModelMixin` gives a lag forecaster (a
:class:`~convexforecast.forecasting.windows.BaseLagForecaster` with a ``global_model``
parameter) a second mode. With ``global_model=True``:

``fit(y)``
    ``y`` is a panel (a wide DataFrame or a dict of series, see
    :mod:`~convexforecast.forecasting.panel`; one Series is a panel of one). Every series is
    transformed and standardised by its *own* training mean and standard deviation (so each
    series keeps its own level, scale and intercept), its lag windows are built as for one
    series, and the windows of all series are pooled, ordered by target time (ties in series
    order), into one design. The step models are fitted on it once; a β cross-validation
    splits the pooled rows by distinct times, so no validation row is contemporaneous with a
    training row.
``predict(steps)``
    A DataFrame with one column per series: each series forecast from its own last window
    and cutoff, on its own grid (the index is the union of the series' next ``steps``
    labels; a series' column is NaN at the labels of other calendars).
``update(y_new)``
    New observations of some or all series (a dict, or a wide frame whose all-NaN columns
    mean "nothing new"); each must continue its series.

Fitted attributes are then per series: ``cutoff_``, ``n_obs_``, ``n_train_``, ``center_`` and
``scale_`` are Series indexed by series name, ``index_meta_``, ``last_window_`` and
``in_sample_residuals_`` dicts. The step models (``models_``) are shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._validation import (
    as_float_array,
    check_finite_number,
    check_int,
    check_positive_int,
    short_repr,
)
from .base import (
    _as_series,
    _check_index_meta,
    _future_index,
    _past_index,
    _validate_index,
    _validate_values,
    check_continuation,
    check_series,
)
from .panel import _frame_column, check_panel, is_panel, panel_times
from .transforms import get_transform
from .windows import lag_matrix

__all__ = ["GlobalModelMixin"]


@dataclass
class _SeriesState:
    """What a global model keeps of one series: its grid, origin, window and scaling."""

    meta: dict[str, Any]
    cutoff: Any
    n_obs: int
    n_train: int
    window: np.ndarray
    center: float
    scale: float


def _single_name(y: pd.Series) -> str:
    return y.name if isinstance(y.name, str) and y.name else "y"


class GlobalModelMixin:
    """The ``global_model=True`` mode of a lag forecaster (see the module docstring).

    Listed before the forecaster's base class, it routes ``fit``, ``predict``, ``update``
    and the persistence hooks to the pooled implementation when ``global_model`` is true,
    and to the one-series implementation otherwise.
    """

    global_model: bool

    # ------------------------------------------------------------------ routing
    def fit(self, y: Any, *args: Any, **kwargs: Any) -> Any:
        """Fit on one series, or with ``global_model=True`` on a panel (module docstring)."""
        if self.global_model:
            self._check_no_extras("fit", args, kwargs)
            return self._fit_panel(y)
        if is_panel(y):
            raise TypeError(
                f"`y` must be a pandas Series for {type(self).__name__} with "
                f"global_model=False. Got a {type(y).__name__} of several series: pass "
                "global_model=True to fit one model on all of them, or backtest() them, "
                "which fits one model per series.")
        return super().fit(y, *args, **kwargs)

    def predict(self, steps: int = 1, *args: Any, **kwargs: Any) -> Any:
        """Forecast; a DataFrame (one column per series) for a global model."""
        if self.global_model:
            self._check_no_extras("predict", args, kwargs)
            return self._predict_panel(steps)
        return super().predict(steps, *args, **kwargs)

    def update(self, y_new: Any, *args: Any, **kwargs: Any) -> Any:
        """Append observations; for a global model, of any subset of its series."""
        if self.global_model:
            self._check_no_extras("update", args, kwargs)
            return self._update_panel(y_new)
        return super().update(y_new, *args, **kwargs)

    @property
    def last_window_(self) -> Any:
        """The last ``window_length`` observations (per series for a global model)."""
        if not self.__dict__.get("_global_fit", False):
            return super().last_window_
        return {name: pd.Series(state.window.copy(),
                                index=_past_index(state.meta, state.cutoff, state.window.size),
                                name=name)
                for name, state in self._series.items()}

    def _check_no_extras(self, method: str, args: tuple, kwargs: dict) -> None:
        extras = [*map(repr, args), *(f"{k}={short_repr(v)}" for k, v in kwargs.items()
                                      if v is not None)]
        if extras:
            raise TypeError(f"{type(self).__name__}.{method} with global_model=True takes no "
                            f"further arguments. Got {', '.join(extras)}.")

    @property
    def min_series_length(self) -> int:
        """Fewest observations a series needs to add a row to every step model's design."""
        return self.window_length + self._n_models

    # ---------------------------------------------------------------------- fit
    def _fit_panel(self, y: Any) -> Any:
        self._check_params()
        panel = check_panel(y, "y") if is_panel(y) else {
            _single_name(y): check_series(y, "y").rename(_single_name(y))}
        transform = get_transform(self.transform)
        minimum = self.min_series_length
        standardised, states = {}, {}
        for name, series in panel.items():
            label = f"y[{name!r}]"
            values = series.to_numpy()
            if values.size < minimum:
                raise ValueError(f"`{label}` must have at least {minimum} observations for "
                                 f"{type(self).__name__} with these parameters (one lag window "
                                 f"per step model). Got {values.size}.")
            self._check_values(values, label)
            z = transform.transform(values, label)
            center, scale = float(np.mean(z)), float(np.std(z))
            if not (np.isfinite(scale) and scale > 0):
                scale = 1.0
            standardised[name] = (z - center) / scale
            states[name] = _SeriesState(
                meta=_validate_index(series.index, label), cutoff=series.index[-1],
                n_obs=int(values.size), n_train=int(values.size),
                window=values[-self.window_length:].copy(), center=center, scale=scale)
        models = []
        for step in range(1, self._n_models + 1):
            X, target, times = self._pooled_rows(panel, standardised, step)
            if X.shape[0] < self._min_rows:
                raise ValueError(f"`y` must give at least {self._min_rows} pooled lag windows "
                                 f"for {type(self).__name__} with these parameters. Got "
                                 f"{X.shape[0]}.")
            if self._needs_variation and np.any(np.ptp(X, axis=0) == 0):
                raise ValueError("`y` must vary: some lag takes a single value over every "
                                 "series' training window.")
            models.append(self._fit_model(X, target, step, groups=times))
        self._reset_fitted()
        self.models_ = models
        self._series = states
        self._global_fit = True
        self.series_names_ = list(panel)
        self._set_panel_attributes()
        self.in_sample_residuals_ = {
            name: self._panel_residuals(panel[name].to_numpy(), standardised[name],
                                        states[name]) for name in panel}
        return self

    def _pooled_rows(self, panel: dict[str, pd.Series], standardised: dict[str, np.ndarray],
                     step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The lag windows of every series for step model ``step``, ordered by target time."""
        offset = self.window_length + step - 1  # position of the first target in levels
        blocks, targets, times, codes = [], [], [], []
        for code, (name, zs) in enumerate(standardised.items()):
            X, target = lag_matrix(zs, self.lags, step)
            blocks.append(X)
            targets.append(target)
            times.append(panel_times(panel[name].index)[offset:])
            codes.append(np.full(target.size, code, dtype=np.int64))
        time = np.concatenate(times)
        order = np.lexsort((np.concatenate(codes), time))
        return (np.ascontiguousarray(np.vstack(blocks)[order]), np.concatenate(targets)[order],
                time[order])

    def _panel_residuals(self, values: np.ndarray, zs: np.ndarray,
                         state: _SeriesState) -> np.ndarray:
        """One-step in-sample residuals of one series on its level scale."""
        transform = get_transform(self.transform)
        X1, _ = lag_matrix(zs, self.lags, 1)
        z_hat = self._predict_model(self.models_[0], X1) * state.scale + state.center
        start = self.window_length
        fitted = transform.one_step_levels(z_hat, values[start - 1: -1] if start else
                                           np.full(z_hat.size, np.nan))
        return values[start:] - fitted

    def _set_panel_attributes(self) -> None:
        names = list(self._series)
        self.index_meta_ = {name: state.meta for name, state in self._series.items()}
        self.cutoff_ = pd.Series([s.cutoff for s in self._series.values()], index=names,
                                 dtype=object, name="cutoff")
        self.n_obs_ = pd.Series([s.n_obs for s in self._series.values()], index=names,
                                name="n_obs")
        self.n_train_ = pd.Series([s.n_train for s in self._series.values()], index=names,
                                  name="n_train")
        self.center_ = pd.Series([s.center for s in self._series.values()], index=names,
                                 name="center")
        self.scale_ = pd.Series([s.scale for s in self._series.values()], index=names,
                                name="scale")

    # ------------------------------------------------------------------ predict
    def _predict_panel(self, steps: int) -> pd.DataFrame:
        self._check_fitted()
        steps = check_positive_int("steps", steps)
        if self._direct and steps > self._n_models:
            raise ValueError(f"`steps` must be <= {self._n_models}, the steps this direct model "
                             f"(multistep='direct') was fitted for. Got {steps}.")
        transform = get_transform(self.transform)
        states = list(self._series.values())
        names = list(self._series)
        lags = self.lags
        history = np.stack([(transform.transform(s.window, f"y[{n!r}]") - s.center) / s.scale
                            for n, s in zip(names, states, strict=True)])
        rows = np.ascontiguousarray(history[:, ::-1][:, :lags])
        out = np.empty((len(states), steps))
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
            for h in range(steps):
                if self._direct:
                    out[:, h] = self._predict_model(self.models_[h], rows)
                else:
                    out[:, h] = self._predict_model(self.models_[0], rows)
                    rows = np.ascontiguousarray(np.column_stack([out[:, h], rows[:, :-1]]))
            columns = {}
            for i, (name, state) in enumerate(zip(names, states, strict=True)):
                levels = transform.inverse(out[i] * state.scale + state.center, state.window)
                bad = np.flatnonzero(~np.isfinite(levels))
                if bad.size:
                    raise FloatingPointError(
                        f"{type(self).__name__} forecast {float(levels[bad[0]])!r} for series "
                        f"{name!r} at step {int(bad[0]) + 1}: the computation overflowed in "
                        "float64 (rescale the series, e.g. to other units).")
                columns[name] = pd.Series(levels, index=_future_index(state.meta, state.cutoff,
                                                                      steps))
        indexes = [series.index for series in columns.values()]
        if all(index.equals(indexes[0]) for index in indexes):
            return pd.DataFrame(columns, index=indexes[0])
        return pd.concat(columns, axis=1, sort=True)

    # ------------------------------------------------------------------- update
    def _update_panel(self, y_new: Any) -> Any:
        self._check_fitted()
        if isinstance(y_new, pd.Series):
            y_new = {_single_name(y_new): y_new}
        if isinstance(y_new, pd.DataFrame):  # all-NaN columns: nothing new for that series
            new = {column: _frame_column(y_new, column, "y_new") for column in y_new.columns
                   if y_new[column].notna().any()}
        elif isinstance(y_new, Mapping):
            new = {key: _as_series(value, f"y_new[{key!r}]") for key, value in y_new.items()}
        else:
            raise TypeError(f"`y_new` must be a wide DataFrame or a dict of Series. Got "
                            f"{type(y_new).__name__}.")
        unknown = [name for name in new if name not in self._series]
        if unknown:
            raise ValueError(f"`y_new` must hold only the fitted series {list(self._series)}. "
                             f"Got {unknown}.")
        updates = {}
        for name, series in new.items():
            if series.empty:
                continue
            label = f"y_new[{name!r}]"
            values = _validate_values(series, label)
            state = self._series[name]
            check_continuation(series.index, state.meta, state.cutoff, label)
            self._check_values(values, label)
            updates[name] = (series.index[-1], values)
        for name, (cutoff, values) in updates.items():
            state = self._series[name]
            state.window = np.concatenate([state.window, values])[-self.window_length:]
            state.cutoff = cutoff
            state.n_obs += int(values.size)
        self._set_panel_attributes()
        return self

    # -------------------------------------------------------------- persistence
    def get_fitted_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted state; for a global model, per series plus the shared step models."""
        if not self.__dict__.get("_global_fit", False):
            return super().get_fitted_state()
        self._check_fitted()
        metas, arrays = [], {}
        for h, model in enumerate(self.models_):
            meta, arrs = self._model_state(model)
            metas.append(meta)
            arrays.update({f"model__step{h + 1}__{key}": value for key, value in arrs.items()})
        series = []
        for i, (name, state) in enumerate(self._series.items()):
            series.append({"name": name, "index": dict(state.meta),
                           "cutoff": _cutoff_json(state.meta, state.cutoff),
                           "n_obs": state.n_obs, "n_train": state.n_train,
                           "center": state.center, "scale": state.scale})
            arrays[f"series{i}__window"] = state.window.copy()
            arrays[f"series{i}__in_sample_residuals"] = np.asarray(
                self.in_sample_residuals_[name], dtype=np.float64)
        return {"global": True, "series": series, "model": {"models": metas}}, arrays

    def set_fitted_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        """Restore a state of :meth:`get_fitted_state` (validated; see the base class)."""
        if not (isinstance(meta, dict) and meta.get("global")):
            if self.global_model:
                raise ValueError("`state` must be that of a global model (global_model=True). "
                                 "Got a one-series state.")
            return super().set_fitted_state(meta, arrays)
        if not self.global_model:
            raise ValueError("`state` is that of a global model; set global_model=True. Got "
                             "global_model=False.")
        self._check_params()
        self._reset_fitted()
        models = []
        for h, model_meta in enumerate(meta["model"]["models"]):
            prefix = f"model__step{h + 1}__"
            arrs = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            models.append(self._model_from_state(model_meta, arrs))
        if len(models) != self._n_models:
            raise ValueError(f"`state` must hold {self._n_models} step model(s) for these "
                             f"parameters (multistep, steps). Got {len(models)}.")
        entries = meta["series"]
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"`state['series']` must be a non-empty list. Got "
                             f"{short_repr(entries)}.")
        states, residuals = {}, {}
        for i, entry in enumerate(entries):
            name = entry["name"]
            if not isinstance(name, str) or not name or name in states:
                raise ValueError(f"`state['series'][{i}]['name']` must be a new non-empty "
                                 f"string. Got {short_repr(name)}.")
            index_meta = _check_index_meta(entry["index"])
            window = as_float_array(f"state window of {name!r}", arrays[f"series{i}__window"], 1)
            if window.size != self.window_length:
                raise ValueError(f"`state window of {name!r}` must hold {self.window_length} "
                                 f"observations. Got {window.size}.")
            self._check_values(window, f"state window of {name!r}")
            n_obs = check_positive_int(f"state n_obs of {name!r}", entry["n_obs"])
            states[name] = _SeriesState(
                meta=index_meta, cutoff=_cutoff_from_json(index_meta, entry["cutoff"], name),
                n_obs=n_obs, n_train=check_positive_int(f"state n_train of {name!r}",
                                                        entry["n_train"]),
                window=window,
                center=check_finite_number(f"state center of {name!r}", entry["center"]),
                scale=check_finite_number(f"state scale of {name!r}", entry["scale"],
                                          positive=True))
            residuals[name] = as_float_array(f"state residuals of {name!r}",
                                             arrays[f"series{i}__in_sample_residuals"], 1)
        self.models_ = models
        self._series = states
        self._global_fit = True
        self.series_names_ = list(states)
        self._set_panel_attributes()
        self.in_sample_residuals_ = residuals
        return self

    def _reset_fitted(self) -> None:
        super()._reset_fitted()
        for attr in ("_series", "_global_fit", "series_names_", "center_", "scale_"):
            self.__dict__.pop(attr, None)


def _cutoff_json(meta: dict[str, Any], cutoff: Any) -> Any:
    if meta["kind"] == "datetime":
        return cutoff.isoformat()
    if meta["kind"] == "period":
        return int(cutoff.ordinal)
    return int(cutoff)


def _cutoff_from_json(meta: dict[str, Any], value: Any, name: str) -> Any:
    if meta["kind"] == "datetime":
        cutoff = pd.Timestamp(value)
        tz = meta.get("tz")
        if tz is not None:
            cutoff = cutoff.tz_convert(tz) if cutoff.tz is not None else cutoff.tz_localize(tz)
        return cutoff
    if meta["kind"] == "period":
        return pd.Period(ordinal=check_int(f"state cutoff of {name!r}", value),
                         freq=meta["freq"])
    return check_int(f"state cutoff of {name!r}", value)

