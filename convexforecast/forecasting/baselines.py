"""Reference forecasters: random walk (optionally seasonal), drift, and OLS autoregression."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import (
    check_finite_number,
    check_finite_state,
    check_option,
    check_positive_int,
)
from .base import BaseForecaster
from .transforms import get_transform
from .windows import BaseLagForecaster

__all__ = ["NaiveForecaster", "DriftForecaster", "LinearARForecaster"]


class NaiveForecaster(BaseForecaster):
    """Random walk: repeat the last observation (or the last season).

    Exogenous inputs are not used (``supports_exog = False``): ``exog`` given to ``fit``,
    ``predict`` or ``update`` is accepted and ignored, so the baseline runs in the same
    backtest as models that use it.

    Parameters
    ----------
    seasonal_period : int or None
        ``None`` (default) forecasts ``y_T`` for every step. With ``m``, the forecast for step
        ``h`` is ``y_{T - m + 1 + (h - 1) mod m}`` (the value one season earlier).
    """

    def __init__(self, seasonal_period: int | None = None) -> None:
        self.seasonal_period = seasonal_period

    def _check_params(self) -> None:
        if self.seasonal_period is not None:
            check_positive_int("seasonal_period", self.seasonal_period)

    @property
    def _period(self) -> int:
        return 1 if self.seasonal_period is None else int(self.seasonal_period)

    @property
    def min_train_size(self) -> int:
        """One season (one observation without seasonality)."""
        self._check_params()
        return self._period

    @property
    def window_length(self) -> int:
        """The last season."""
        return self._period

    def _fit(self, values: np.ndarray) -> None:
        m = self._period
        self.in_sample_residuals_ = values[m:] - values[:-m] if values.size > m else np.empty(0)

    def _predict(self, steps: int) -> np.ndarray:
        m = self._period
        return self._window[np.arange(steps) % m].copy()


class DriftForecaster(BaseForecaster):
    """Random walk with drift: ``y_T + h * (y_T - y_1) / (T - 1)``.

    The drift is estimated at ``fit`` and kept fixed by ``update`` (which only moves the
    origin ``y_T``). Exogenous inputs are not used: ``exog`` is accepted and ignored
    (``supports_exog = False``).

    Parameters
    ----------
    transform : {"none", "log"}
        ``"log"`` fits the drift to ``log y`` (a constant growth rate; needs positive values).
    """

    def __init__(self, transform: str = "none") -> None:
        self.transform = transform

    def _check_params(self) -> None:
        check_option("transform", self.transform, ["none", "log"])

    @property
    def min_train_size(self) -> int:
        """Two observations (one increment)."""
        self._check_params()
        return 2

    def _check_values(self, values: np.ndarray, name: str) -> None:
        get_transform(self.transform).check(values, name)

    def _fit(self, values: np.ndarray) -> None:
        z = get_transform(self.transform).transform(values, "y")
        self.drift_ = float((z[-1] - z[0]) / (z.size - 1))
        fitted = get_transform(self.transform).inverse(z[:-1] + self.drift_, values[:-1])
        self.in_sample_residuals_ = values[1:] - fitted

    def _predict(self, steps: int) -> np.ndarray:
        transform = get_transform(self.transform)
        z_last = transform.transform(self._window[-1:], "y")[-1]
        return transform.inverse(z_last + self.drift_ * np.arange(1, steps + 1), self._window)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"drift": self.drift_}, {}

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.drift_ = check_finite_number("state['drift']", meta["drift"])


class LinearARForecaster(BaseLagForecaster):
    """Ordinary least squares autoregression on the same lag windows as the neural models.

    ``target_t = c + sum_j phi_j * z_{t-j}`` on the transformed series ``z``, solved with
    :func:`numpy.linalg.lstsq` (minimum-norm solution if the design is rank deficient).
    With ``exog`` it is an ARX model: the exogenous design columns (``input_names_``) join
    the lags, on the scale of their ``exog_transform``.

    Parameters
    ----------
    lags : int
        Number of lags.
    transform : {"log_return", "diff", "log", "none"}
        Scale the model is fitted on; forecasts are mapped back to levels.
    multistep : {"recursive", "direct"}
        One one-step model iterated, or one model per step.
    steps : int
        Number of step models for ``multistep="direct"`` (ignored for ``"recursive"``).
    exog_lags : int or dict of str to int
        Lags ``1..p`` of the origin at which each past-only exogenous column enters (lag 1 is
        its value at the origin); a dict gives them per column (others get 1). Used only
        when ``fit`` gets ``exog`` (see :mod:`~convexforecast.forecasting.exog`).
    known_exog : list of str, optional
        Exogenous columns known in advance (calendar, scheduled events): used at the target
        time, so ``predict`` needs their future values in ``exog``.
    exog_transform : str or dict of str to str
        Per-column transform of the exogenous inputs, refitted on every training window:
        ``"none"`` (default), ``"diff"``, ``"log_return"`` or ``"standardize"``.
    strategy, horizon
        Deprecated names of ``multistep`` and ``steps`` (removed in the next release).

    Attributes
    ----------
    coef_ : ndarray of shape (n_inputs,)
        Coefficients of the (first) step model, one per ``input_names_``: ``coef_[j]`` is
        lag ``j + 1`` for ``j < lags``, then the exogenous inputs.
    intercept_ : float
    """

    _standardize = False  # OLS is scale-equivariant; keep coefficients on the scale of z

    def __init__(
        self,
        lags: int = 10,
        transform: str = "log_return",
        multistep: str = "recursive",
        steps: int = 1,
        exog_lags: int | dict[str, int] = 1,
        known_exog: list[str] | None = None,
        exog_transform: str | dict[str, str] = "none",
        strategy: str | None = None,
        horizon: int | None = None,
    ) -> None:
        self.lags = lags
        self.transform = transform
        self.multistep = multistep
        self.steps = steps
        self.exog_lags = exog_lags
        self.known_exog = known_exog
        self.exog_transform = exog_transform
        self.strategy = strategy
        self.horizon = horizon

    def _fit_model(self, X: np.ndarray, target: np.ndarray, step: int) -> np.ndarray:
        design = np.hstack([np.ones((X.shape[0], 1)), X])
        solution, *_ = np.linalg.lstsq(design, target, rcond=None)
        return solution

    def _predict_model(self, model: np.ndarray, X: np.ndarray) -> np.ndarray:
        return model[0] + X @ model[1:]

    def _model_state(self, model: np.ndarray) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"coef": model}

    def _model_from_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> np.ndarray:
        return check_finite_state("state coef", arrays["coef"], (self._n_inputs + 1,))

    @property
    def coef_(self) -> np.ndarray:
        """Coefficients of the first step model, in ``input_names_`` order (lag 1 first)."""
        return self.models_[0][1:].copy()

    @property
    def intercept_(self) -> float:
        """Intercept of the first step model."""
        return float(self.models_[0][0])
