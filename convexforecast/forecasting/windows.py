"""Lag windows: turn a series into a supervised-learning design.

Column ``j`` (0-based) of a lag matrix holds lag ``j + 1``: ``X[t, j] = z[t - 1 - j]``, so the
first column is the most recent value. This order is shared by every autoregressive model
(convex, Adam, linear AR) so that their features can be compared lag by lag.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_finite_number, check_option, check_positive_int, renamed
from .base import BaseForecaster
from .exog import ExogMixin, ExogSpec, check_exog_params
from .transforms import get_transform

__all__ = ["BaseLagForecaster", "NetworkResultsMixin", "lag_matrix", "last_lags", "recursive_forecast"]


def lag_matrix(z: np.ndarray, lags: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Build ``(X, target)`` with ``target[i] = z[t + horizon - 1]`` and lags ending at ``t - 1``.

    Parameters
    ----------
    z : ndarray of shape (n,)
        The (transformed) series.
    lags : int
        Number of lags ``p``; ``X[i] = (z[t-1], z[t-2], ..., z[t-p])``.
    horizon : int
        Steps ahead of the target: 1 for a one-step (recursive) model, ``h`` for the
        direct model of step ``h``.

    Returns
    -------
    X : ndarray of shape (n - lags - horizon + 1, lags)
    target : ndarray of shape (n - lags - horizon + 1,)

    Raises
    ------
    ValueError
        If fewer than one row can be formed.
    """
    lags = check_positive_int("lags", lags)
    horizon = check_positive_int("horizon", horizon)
    z = np.asarray(z, dtype=np.float64)
    n_rows = z.size - lags - horizon + 1
    if n_rows < 1:
        raise ValueError(
            f"`z` must have at least lags + horizon = {lags + horizon} values. Got {z.size}."
        )
    # X[i, j] = z[lags - 1 - j + i]; built from strided views then copied.
    windows = np.lib.stride_tricks.sliding_window_view(z[: lags + n_rows - 1], lags)
    X = np.ascontiguousarray(windows[:, ::-1])
    target = z[lags + horizon - 1 : lags + horizon - 1 + n_rows].copy()
    return X, target


def last_lags(z: np.ndarray, lags: int) -> np.ndarray:
    """The design row for the step after ``z`` ends: ``(z[-1], ..., z[-lags])``, shape (1, lags)."""
    z = np.asarray(z, dtype=np.float64)
    if z.size < lags:
        raise ValueError(f"`z` must have at least `lags` = {lags} values. Got {z.size}.")
    return z[::-1][:lags].reshape(1, lags).copy()


def recursive_forecast(predict_one, z: np.ndarray, lags: int, steps: int,
                       exog_rows: np.ndarray | None = None) -> np.ndarray:
    """Iterate a one-step model ``steps`` times, feeding each forecast back as lag 1.

    Parameters
    ----------
    predict_one : callable
        Maps a design of shape (1, lags) to an array of shape (1,).
    z : ndarray
        The observed (transformed) series; only its last ``lags`` values are used.
    lags, steps : int
    exog_rows : ndarray of shape (steps, k), optional
        Exogenous design columns appended to the lags of step ``h`` (row ``h``).

    Returns
    -------
    ndarray of shape (steps,)
    """
    history = list(np.asarray(z, dtype=np.float64)[-lags:])
    out = np.empty(steps)
    for h in range(steps):
        row = np.asarray(history[::-1][:lags], dtype=np.float64).reshape(1, lags)
        if exog_rows is not None:
            row = np.hstack([row, exog_rows[h: h + 1]])
        out[h] = float(np.asarray(predict_one(row)).reshape(-1)[0])
        history.append(out[h])
    return out


class BaseLagForecaster(ExogMixin, BaseForecaster):
    """Shared machinery of autoregressive forecasters on a lag window of a transformed series.

    Subclasses declare ``lags``, ``transform``, ``multistep``, ``steps``, ``exog_lags``,
    ``known_exog`` and ``exog_transform`` (plus their own
    hyper-parameters, and ``strategy`` and ``horizon``, the deprecated names of ``multistep`` and
    ``steps``, defaulting to None) in ``__init__`` and implement

    - ``_fit_model(X, target, step)`` -> a fitted model for step ``step`` (1-based);
    - ``_predict_model(model, X)`` -> predictions of shape (n,);
    - ``_model_state(model)`` / ``_model_from_state(meta, arrays)`` for persistence.

    ``multistep="recursive"`` fits one one-step model and feeds its forecasts back as lags;
    ``multistep="direct"`` fits one model per step ``h = 1..steps`` on the target ``h`` steps
    ahead, all from the same lag window, so ``predict(k)`` needs ``k <= steps``.
    When ``_standardize`` is true the models see ``(z - center_) / scale_`` with the training
    mean and standard deviation of the transformed series ``z`` (so a penalty ``beta`` means the
    same for any price level or volatility); forecasts are un-standardised and then mapped
    back to levels by the transform's inverse.

    With ``exog`` (:mod:`~convexforecast.forecasting.exog`) the design gains the exogenous
    columns after the lags (``input_names_``), read at the origin of each row: lags
    ``1..exog_lags`` of past-only columns (lag 1 is the value at the origin) and the value at
    the target time of known-in-advance columns; rows whose exogenous lags reach before the
    training window are dropped.
    """

    lags: int
    transform: str
    multistep: str
    steps: int
    strategy: str | None  # deprecated name of multistep
    horizon: int | None  # deprecated name of steps

    #: Fewest design rows the furthest-ahead model is fitted on.
    _min_rows: int = 2
    #: Whether models see the transformed series standardised by its training mean and
    #: standard deviation (``center_``, ``scale_``); forecasts are mapped back.
    _standardize: bool = True
    #: Whether every lag column must take at least two distinct values (neural models).
    _needs_variation: bool = False

    # -------------------------------------------------------- parameters
    def _check_params(self) -> None:
        check_positive_int("lags", self.lags)
        get_transform(self.transform)
        check_option("multistep", renamed(self, "multistep", "strategy", "recursive"),
                     ["recursive", "direct"])
        check_positive_int("steps", renamed(self, "steps", "horizon", 1))
        check_exog_params(self.exog_lags, self.known_exog, self.exog_transform)

    @property
    def _direct(self) -> bool:
        return renamed(self, "multistep", "strategy", "recursive", warn=False) == "direct"

    @property
    def _n_models(self) -> int:
        return renamed(self, "steps", "horizon", 1, warn=False) if self._direct else 1

    @property
    def min_train_size(self) -> int:
        """``lags + n_lost + n_models - 1 + min_rows``: enough rows for every step model."""
        self._check_params()
        n_lost = get_transform(self.transform).n_lost
        return self.lags + n_lost + self._n_models - 1 + self._min_rows

    @property
    def window_length(self) -> int:
        """``lags`` transformed values, i.e. ``lags + n_lost`` levels."""
        return self.lags + get_transform(self.transform).n_lost

    @property
    def max_steps(self) -> int | None:
        """``steps`` for ``multistep="direct"`` (one model per step), else no limit."""
        return self._n_models if self._direct else None

    def _check_values(self, values: np.ndarray, name: str) -> None:
        get_transform(self.transform).check(values, name)

    # -------------------------------------------------------------- exog
    @property
    def _exog_scaling(self) -> str:
        return "standardize" if self._standardize else "none"

    @property
    def _exog_direct(self) -> bool:
        return self._direct

    @property
    def _first_origin(self) -> int:
        """Position of the first lag window's origin in the training levels."""
        return self.lags - 1 + get_transform(self.transform).n_lost

    def _exog_extra_rows(self, spec: ExogSpec) -> int:
        return max(0, spec.first_origin - self._first_origin)

    def _own_input_names(self) -> list[str]:
        return [f"lag_{k}" for k in range(1, self.lags + 1)]

    @property
    def _n_inputs(self) -> int:
        """Design columns: the lags and the exogenous columns."""
        return self.lags + (0 if self._exog is None else self._exog.spec.width)

    def _with_exog(self, X: np.ndarray, target: np.ndarray, values: np.ndarray | None,
                   step: int) -> tuple[np.ndarray, np.ndarray]:
        """Append the exogenous columns of every row, dropping rows they cannot fill."""
        if values is None:
            return X, target
        skip = self._exog_extra_rows(self._exog.spec)
        origins = self._first_origin + skip + np.arange(X.shape[0] - skip)
        columns = self._exog.design(values, origins, step)
        if self._needs_variation and np.any(np.ptp(columns, axis=0) == 0):
            j = int(np.flatnonzero(np.ptp(columns, axis=0) == 0)[0])
            raise ValueError(f"`exog` must vary: input {self._exog.spec.names()[j]!r} takes the "
                             f"single value {float(columns[0, j])!r} over the training window.")
        return np.hstack([X[skip:], columns]), target[skip:]

    # ------------------------------------------------------------ hooks
    def _fit_model(self, X: np.ndarray, target: np.ndarray, step: int) -> Any:
        raise NotImplementedError

    def _predict_model(self, model: Any, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _model_state(self, model: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        raise NotImplementedError

    def _model_from_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------ fit / predict
    def _fit(self, values: np.ndarray) -> None:
        transform = get_transform(self.transform)
        z = transform.transform(values, "y")
        center, scale = 0.0, 1.0
        if self._standardize:
            center, scale = float(np.mean(z)), float(np.std(z))
            if not (np.isfinite(scale) and scale > 0):
                scale = 1.0
        self.center_, self.scale_ = center, scale
        zs = (z - center) / scale
        exog = None
        if self._exog is not None:
            exog, self._exog.train = self._exog.train, None
        models = []
        for step in range(1, self._n_models + 1):
            X, target = lag_matrix(zs, self.lags, step)
            if self._needs_variation and np.any(np.ptp(X, axis=0) == 0):
                raise ValueError(
                    f"`y` must vary: with transform={self.transform!r} and lags={self.lags} "
                    f"some lag takes a single value over the training window. Got the constant "
                    f"{float(z[-1])!r} on the transformed scale."
                )
            X, target = self._with_exog(X, target, exog, step)
            models.append(self._fit_model(X, target, step))
        self.models_ = models
        X1, _ = self._with_exog(*lag_matrix(zs, self.lags, 1), exog, 1)
        z_hat = self._predict_model(models[0], X1) * scale + center
        start = self.lags + transform.n_lost
        if exog is not None:
            start += self._exog_extra_rows(self._exog.spec)
        fitted_levels = transform.one_step_levels(z_hat, values[start - 1 : -1] if start else
                                                  np.full(z_hat.size, np.nan))
        self.in_sample_residuals_ = values[start:] - fitted_levels

    def _predict(self, steps: int) -> np.ndarray:
        transform = get_transform(self.transform)
        zs = (transform.transform(self._window, "y") - self.center_) / self.scale_
        if self._direct and steps > self._n_models:
            raise ValueError(
                f"`steps` must be <= {self._n_models}, the steps this direct model "
                f"(multistep='direct') was fitted for. Got {steps}."
            )
        exog_rows = None if self._exog is None else self._exog.forecast_rows(steps, self._direct)
        if not self._direct:
            model = self.models_[0]
            zs_path = recursive_forecast(lambda row: self._predict_model(model, row), zs,
                                         self.lags, steps, exog_rows)
        else:
            row = last_lags(zs, self.lags)
            rows = [row if exog_rows is None else np.hstack([row, exog_rows[h: h + 1]])
                    for h in range(steps)]
            zs_path = np.array([float(self._predict_model(self.models_[h], rows[h])[0])
                                for h in range(steps)])
        return transform.inverse(zs_path * self.scale_ + self.center_, self._window)

    # ------------------------------------------------------------- inputs
    def _input_scales(self) -> tuple[np.ndarray, np.ndarray]:
        """Per design column (``input_names_``), ``(center, scale)`` with ``column = (input -
        center) / scale``: the lags share the series' statistics, each exogenous input at
        each of its lags has its own."""
        centers, scales = [self.center_] * self.lags, [self.scale_] * self.lags
        exog = self._exog
        if exog is not None:
            for j, lag in enumerate(exog.spec.lags):
                centers += [float(exog.center[j])] * max(lag, 1)
                scales += [float(exog.scale[j])] * max(lag, 1)
        return np.asarray(centers, dtype=np.float64), np.asarray(scales, dtype=np.float64)

    # -------------------------------------------------------- persistence
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        metas, arrays = [], {}
        for h, model in enumerate(self.models_):
            meta, arrs = self._model_state(model)
            metas.append(meta)
            arrays.update({f"step{h + 1}__{key}": value for key, value in arrs.items()})
        return {"models": metas, "center": self.center_, "scale": self.scale_}, arrays

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        models = []
        for h, model_meta in enumerate(meta["models"]):
            prefix = f"step{h + 1}__"
            arrs = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
            models.append(self._model_from_state(model_meta, arrs))
        self.center_ = check_finite_number("state['center']", meta["center"])
        self.scale_ = check_finite_number("state['scale']", meta["scale"], positive=True)
        if len(models) != self._n_models:
            raise ValueError(
                f"`state` must hold {self._n_models} step model(s) for these parameters "
                f"(multistep, steps). Got {len(models)}."
            )
        self.models_ = models


class NetworkResultsMixin:
    """β and objective accessors of forecasters whose step models are networks.

    Step models (``self.models_``) carry ``beta`` and ``objective`` attributes; the
    objective is the certified optimum for the convex forecaster and Adam's final value for
    the Adam forecaster.
    """

    models_: list

    def _per_step(self, attribute: str) -> np.ndarray:
        """``attribute`` of every step model, as an array (fitted models only)."""
        self._check_fitted()
        return np.array([getattr(model, attribute) for model in self.models_])

    @property
    def betas_(self) -> np.ndarray:
        """β of every step model."""
        return self._per_step("beta")

    @property
    def beta_(self) -> float:
        """β of the first step model."""
        return float(self.betas_[0])

    @property
    def objectives_(self) -> np.ndarray:
        """Training objective of every step model."""
        return self._per_step("objective")

    @property
    def objective_(self) -> float:
        """Sum of the step models' training objectives (the single model's for recursive)."""
        return float(np.sum(self.objectives_))

    def _step_model(self, step: Any) -> Any:
        """Step model number ``step`` (1-based), validated."""
        self._check_fitted()
        step = check_positive_int("step", step)
        if step > len(self.models_):
            raise ValueError(f"`step` must be <= {len(self.models_)} (the number of step "
                             f"models). Got {step}.")
        return self.models_[step - 1]
