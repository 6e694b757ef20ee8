"""The convex autoregressive forecaster: a globally optimal additive neural AR model.

Each step model is a :class:`convexforecast.ConvexNetRegressor` on the lag window of the
transformed, standardised series: an additive network ``f(z_{t-1}, ..., z_{t-p}) =
xi + sum_j g_j(z_{t-j})`` whose per-lag subnetworks are parallel width-1 chains of depth
``depth``, trained to the certified global optimum of

    ½ ‖f(X) - y‖² + (β / L) Σ |w|^L

through its Lasso reformulation (the duality gap certifies optimality).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import (
    check_bool,
    check_finite_number,
    check_finite_state,
    short_repr,
)
from ..core.additive import AdditiveFunction
from .explain import Explanation, beta_path, explain_network
from .global_model import GlobalModelMixin
from .windows import BaseLagForecaster, NetworkResultsMixin

__all__ = ["ConvexARForecaster"]


@dataclass
class _ConvexStepModel:
    """A fitted step model, reduced to what prediction and persistence need.

    Prediction is ``intercept + sum_k coef[k] * features[k](X[:, inputs[k]])`` through
    :class:`~convexforecast.core.additive.AdditiveFunction` (vectorised, cached groups), the
    same way whether the model was just fitted or loaded from disk, so forecasts are
    bit-identical across a save/load round trip.
    """

    features: list
    inputs: np.ndarray
    coef: np.ndarray
    intercept: float
    beta: float
    objective: float
    duality_gap: float
    regressor: Any = None
    _function: AdditiveFunction | None = field(default=None, init=False, repr=False)

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self._function is None:
            self._function = AdditiveFunction(self.features, self.inputs, self.coef, self.intercept)
        return self._function(X)


class ConvexARForecaster(NetworkResultsMixin, GlobalModelMixin, BaseLagForecaster):
    """Autoregressive forecaster built on :class:`convexforecast.ConvexNetRegressor`.

    Parameters
    ----------
    lags : int
        Number of lags ``p`` of the transformed series fed to the network.
    depth : int
        Number of layers ``L`` of every chain (2, 3 or 4).
    activation : str
        Activation of the network (passed to ConvexNetRegressor, e.g. ``"relu"``).
    beta : float or "cv"
        Regularisation strength on the standardised scale, or ``"cv"`` to choose it by the
        regressor's cross-validation over ``n_betas`` values with ``cv`` folds (refitted on
        each training window, so inside a backtest it only ever sees past data).
    transform : {"log_return", "diff", "log", "none"}
        Scale the model works on; forecasts are mapped back to levels (default
        ``"log_return"``, the usual choice for prices).
    multistep : {"recursive", "direct"}
        ``"recursive"``: one one-step model whose forecasts are fed back as lags.
        ``"direct"``: one model per step ``h = 1..steps``, each from the same lag window.
    steps : int
        Number of step models for ``multistep="direct"`` (ignored for ``"recursive"``).
    solver, tol, max_iter, negative_slope, max_switches, cv, n_betas, beta_min_ratio, one_standard_error
        Passed to every step model's :class:`~convexforecast.ConvexNetRegressor` (see there):
        the solver and its certified tolerance, the network family and the β
        cross-validation.
    warm_start : bool
        Start each ``fit`` from the previous fit's solutions (ConvexNetRegressor's
        ``warm_start``; default True): refits on a growing window, as in an expanding-window
        backtest, whose default runs every refit of a series on one copy of the forecaster,
        take a third to a half of the time. Every solve still meets ``tol``, so results
        equal cold fits up to that certified tolerance; the warm-start state is not saved by
        :func:`save`.
    global_model : bool
        Fit one network on the lag windows of many series pooled together (``fit`` takes a
        wide DataFrame or a dict of series, ``predict`` returns one column per series), each
        series transformed and standardised by its own statistics; see
        :mod:`convexforecast.forecasting.global_model`. :func:`backtest` gives a global
        model the whole panel and a local one (the default) one series at a time.
    exog_lags : int or dict of str to int
        Lags ``1..p`` of the origin at which each past-only exogenous column enters (lag 1 is
        its value at the origin); a dict gives them per column (others get 1). Each
        exogenous input at each lag is one more 1-D dictionary under the same ℓ1 penalty.
        Used only when ``fit`` gets ``exog`` (see :mod:`~convexforecast.forecasting.exog`).
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
    regressors_ : list of ConvexNetRegressor or None
        The fitted regressors, one per step model (``None`` after :func:`load`).
    beta_ : float
        β of the first step model (chosen by CV when ``beta="cv"``); ``betas_`` per step.
    objective_ : float
        Optimal training objective (sum over step models); ``objectives_`` per step.
    duality_gap_ : float
        Largest duality gap over the step models (the optimality certificate);
        ``duality_gaps_`` per step.
    n_neurons_ : int
        Selected features (= chains of the optimal network) over all step models.
    center_, scale_ : float
        Mean and standard deviation of the transformed training series; the networks see
        ``(z - center_) / scale_``.
    in_sample_residuals_ : ndarray
        One-step in-sample residuals on the level scale.
    input_names_ : list of str
        The network's inputs in column order: ``lag_1..lag_p``, then the exogenous ones
        (``<column>_lag_<k>``, ``<column>`` for known-in-advance columns).

    Notes
    -----
    The model is deterministic: the same data and parameters give bit-identical forecasts.
    """

    def __init__(
        self,
        lags: int = 10,
        depth: int = 3,
        activation: str = "relu",
        beta: float | str = "cv",
        transform: str = "log_return",
        multistep: str = "recursive",
        steps: int = 1,
        solver: str = "fast",
        tol: float = 1e-6,
        max_iter: int = 500,
        negative_slope: float = 0.01,
        max_switches: int | None = None,
        cv: int = 5,
        n_betas: int = 20,
        beta_min_ratio: float = 1e-2,
        one_standard_error: bool = False,
        warm_start: bool = True,
        global_model: bool = False,
        exog_lags: int | dict[str, int] = 1,
        known_exog: list[str] | None = None,
        exog_transform: str | dict[str, str] = "none",
        strategy: str | None = None,
        horizon: int | None = None,
    ) -> None:
        self.lags = lags
        self.depth = depth
        self.activation = activation
        self.beta = beta
        self.transform = transform
        self.multistep = multistep
        self.steps = steps
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.negative_slope = negative_slope
        self.max_switches = max_switches
        self.cv = cv
        self.n_betas = n_betas
        self.beta_min_ratio = beta_min_ratio
        self.one_standard_error = one_standard_error
        self.warm_start = warm_start
        self.global_model = global_model
        self.exog_lags = exog_lags
        self.known_exog = known_exog
        self.exog_transform = exog_transform
        self.strategy = strategy
        self.horizon = horizon

    #: The step models' ConvexNetRegressor parameters (every one is reachable from here).
    REGRESSOR_PARAMS = ("depth", "activation", "beta", "solver", "tol", "max_iter",
                        "negative_slope", "max_switches", "cv", "n_betas", "beta_min_ratio",
                        "one_standard_error", "warm_start")

    # ------------------------------------------------------------ params
    def _check_params(self) -> None:
        from ..estimators import ConvexNetRegressor

        super()._check_params()
        check_bool("global_model", self.global_model)
        ConvexNetRegressor(**self._regressor_params())._check_params()

    def _regressor_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.REGRESSOR_PARAMS}

    _needs_variation = True

    @property
    def _min_rows(self) -> int:  # type: ignore[override]
        return 2 * (self.cv + 1) if self.beta == "cv" else 2  # ConvexNetRegressor CV needs

    def _regressor(self, step: int) -> Any:
        """A new regressor, or with ``warm_start`` a copy of the last fit's (its solutions
        start the new fit; the old step model is left as it was)."""
        from ..estimators import ConvexNetRegressor

        params = self._regressor_params()
        previous = self.__dict__.get("models_") if self.warm_start else None
        if previous and step <= len(previous) and previous[step - 1].regressor is not None:
            return copy.copy(previous[step - 1].regressor).set_params(**params)
        return ConvexNetRegressor(**params)

    # ------------------------------------------------------------- hooks
    def _fit_model(self, X: np.ndarray, target: np.ndarray, step: int,
                   groups: np.ndarray | None = None) -> _ConvexStepModel:
        regressor = self._regressor(step).fit(X, target, groups=groups)
        return _ConvexStepModel(
            features=list(regressor.features_),
            inputs=np.asarray(regressor.feature_inputs_, dtype=np.int64),
            coef=np.asarray(regressor.coef_, dtype=np.float64).copy(),
            intercept=float(regressor.intercept_),
            beta=float(regressor.beta_),
            objective=float(regressor.objective_),
            duality_gap=float(regressor.duality_gap_),
            regressor=regressor,
        )

    def _predict_model(self, model: _ConvexStepModel, X: np.ndarray) -> np.ndarray:
        return model.predict(X)

    def _model_state(self, model: _ConvexStepModel) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "features": [feature.describe() for feature in model.features],
            "intercept": model.intercept,
            "beta": model.beta,
            "objective": model.objective,
            "duality_gap": model.duality_gap,
        }
        return meta, {"inputs": model.inputs, "coef": model.coef}

    def _model_from_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        from ..core.features import Feature

        features = [Feature.from_description(d) for d in meta["features"]]
        n = len(features)
        inputs = np.asarray(arrays["inputs"])
        if inputs.shape != (n,) or inputs.dtype.kind != "i" or (
                n and (inputs.min() < 0 or inputs.max() >= self._n_inputs)):
            raise ValueError(f"`state inputs` must be {n} input columns in [0, "
                             f"{self._n_inputs}). Got {short_repr(inputs)}.")
        for feature in features:
            kinks = np.asarray(feature.kinks, dtype=np.float64)
            if not np.isfinite(kinks).all() or np.any(np.diff(kinks) < 0):
                raise ValueError(f"`state features` must have finite, sorted kinks. Got "
                                 f"{short_repr(feature.kinks)}.")
        return _ConvexStepModel(
            features=features,
            inputs=inputs.astype(np.int64),
            coef=check_finite_state("state coef", arrays["coef"], (n,)),
            intercept=check_finite_number("state intercept", meta["intercept"]),
            beta=check_finite_number("state beta", meta["beta"], positive=True),
            objective=check_finite_number("state objective", meta["objective"]),
            duality_gap=check_finite_number("state duality_gap", meta["duality_gap"]),
        )

    # ----------------------------------------------------- fitted results
    @property
    def regressors_(self) -> list | None:
        """The fitted ConvexNetRegressor of every step model (``None`` after loading)."""
        self._check_fitted()
        regressors = [model.regressor for model in self.models_]
        return None if any(r is None for r in regressors) else regressors

    @property
    def duality_gaps_(self) -> np.ndarray:
        """Duality gap of every step model."""
        return self._per_step("duality_gap")

    @property
    def duality_gap_(self) -> float:
        """Largest duality gap over the step models."""
        return float(np.max(self.duality_gaps_))

    @property
    def n_neurons_(self) -> int:
        """Number of selected features (chains) over all step models."""
        self._check_fitted()
        return int(sum(int(np.count_nonzero(model.coef)) for model in self.models_))

    @property
    def cv_results_(self) -> dict | None:
        """The first step regressor's ``cv_results_`` (``beta="cv"`` and freshly fitted)."""
        regressors = self.regressors_
        if regressors is None:
            return None
        return getattr(regressors[0], "cv_results_", None)

    # ------------------------------------------------------------ explanations
    _UNITS = {"log_return": "log return", "diff": "difference", "log": "log level",
              "none": "level"}

    def explain(self, grid: Any = None) -> Explanation:
        """What the networks learned: response curves, kinks, certificate and β path.

        Parameters
        ----------
        grid : array-like of shape (m, lags) or (m,), optional
            Where to evaluate each input's response, on the scale of the transformed series
            (e.g. log returns; column ``j`` is lag ``j + 1``, as in
            :func:`~convexforecast.forecasting.windows.lag_matrix`). Default: the training
            range and every kink, a little beyond.

        Returns
        -------
        Explanation
            Inputs are named by :attr:`input_names_`; ``x`` and ``contribution`` are on the
            transformed scale (e.g. log returns) with ``x_standardised`` (what the networks
            see) alongside; direct models have a ``step`` column. A global model's series have
            scales of their own, so its ``x`` is on the network's standardised scale. ``intercept`` (in
            ``certificate``) plus the contributions of a lag window is the model's forecast of
            the next transformed value.

        Raises
        ------
        ValueError
            For a forecaster loaded from disk, which keeps its networks but not the training
            windows the explanation is computed on (refit it: fits are deterministic).
        """
        regressors = self.regressors_
        if regressors is None:
            raise ValueError("`explain` needs the training windows, which a loaded forecaster "
                             "does not keep: refit it (the fit is deterministic).")
        units = self._UNITS.get(self.transform, "value")
        if self.__dict__.get("_global_fit"):  # series of their own scales: the network's scale
            centers, scales = np.zeros(self.lags), np.ones(self.lags)
            target_center, target_scale, units = 0.0, 1.0, f"standardised {units}"
        else:
            (centers, scales), target_center, target_scale = (self._input_scales(), self.center_,
                                                              self.scale_)
        return explain_network([r._step_network() for r in regressors], self.input_names_,
                               centers=centers, scales=scales, target_center=target_center,
                               target_scale=target_scale, grid=grid, step_column=self._direct,
                               standardised_column=True, units=units)

    def response_curves(self, grid: Any = None) -> pd.DataFrame:
        """Each input's exact response: columns ``input, x, contribution, x_standardised``
        (``step`` first for direct models); see :meth:`explain`."""
        return self.explain(grid).curves

    def beta_path(self) -> pd.DataFrame:
        """The β cross-validation of every step model, one row per β (``step`` first for
        direct models); see :func:`convexforecast.forecasting.explain.beta_path`."""
        regressors = self.regressors_
        if regressors is None or getattr(regressors[0], "cv_results_", None) is None:
            raise ValueError(f"`beta_path` needs a fresh fit with beta='cv' (a loaded forecaster "
                             f"keeps no CV curve). Got beta={self.beta!r}.")
        paths = [beta_path(r.cv_results_, r.beta_) for r in regressors]
        if not self._direct:
            return paths[0]
        return pd.concat([p.assign(step=h)[["step", *p.columns]]
                          for h, p in enumerate(paths, start=1)], ignore_index=True)

    def explain_state(self, curves: bool = False) -> dict[str, Any]:
        """A small JSON-friendly summary of the fit, for backtest reports.

        ``{"certificate": [row per step model], "explanation": Explanation.to_dict() or
        absent}``; the rows hold ``beta``, ``objective``, ``duality_gap``, ``relative_gap``,
        ``n_neurons`` (and ``step``). With ``curves`` the whole explanation is included
        (a backtest asks for it on its last refit only).
        """
        self._check_fitted()
        rows = [{**({"step": h} if self._direct else {}), "beta": float(m.beta),
                 "objective": float(m.objective), "duality_gap": float(m.duality_gap),
                 "relative_gap": float(m.duality_gap / m.objective) if m.objective > 0 else 0.0,
                 "n_neurons": int(np.count_nonzero(m.coef))}
                for h, m in enumerate(self.models_, start=1)]
        state: dict[str, Any] = {"certificate": rows}
        if curves and self.regressors_ is not None:
            state["explanation"] = self.explain().to_dict()
        return state

    def to_network(self, step: int = 1) -> Any:
        """The optimal network of step model ``step`` (a :class:`ChainNetwork`).

        Its inputs are the standardised lags ``(z_{t-j} - center_) / scale_`` in lag order
        (column 0 is lag 1), then the standardised exogenous inputs (``input_names_``), and
        its output is the standardised transformed target.
        """
        model = self._step_model(step)
        if model.regressor is not None:
            return model.regressor.to_network()
        from ..core.network import network_from_lasso

        return network_from_lasso(model.features, list(model.inputs), model.coef,
                                  model.intercept, model.beta, self.depth)

    def selected_features(self) -> pd.DataFrame:
        """The selected features of every step model, per input.

        Returns
        -------
        pandas.DataFrame
            One row per selected feature with columns ``step`` (1-based step model),
            ``input`` (its name in ``input_names_``), ``lag`` (of the origin: 1..lags for
            the series, 1..exog_lags for past-only exogenous inputs, 0 for known-in-advance
            inputs at the target time), ``kind``, ``direction``, ``kinks`` (tuple of kink
            locations on the scale of the transformed series, e.g. log returns, or of the
            transformed exogenous input; for a global model, whose series have scales of
            their own, on the standardised scale), ``kinks_standardized`` (on the scale the
            network sees), ``reflected`` (per kink, whether it is a reflection of the data
            about itself), ``is_reflection`` and ``coef``.
        """
        self._check_fitted()
        names = self.input_names_
        exog = self._exog
        lags = list(range(1, self.lags + 1)) + ([] if exog is None else exog.spec.lag_of_inputs())
        if self.__dict__.get("_global_fit"):
            centers, scales = np.zeros(len(names)), np.ones(len(names))
        else:
            centers, scales = self._input_scales()
        rows = []
        for step, model in enumerate(self.models_, start=1):
            for feature, column, weight in zip(model.features, model.inputs, model.coef,
                                               strict=True):
                kinks = tuple(float(k) for k in feature.kinks)
                center, scale = float(centers[column]), float(scales[column])
                rows.append({
                    "step": step,
                    "input": names[column],
                    "position": int(column),
                    "lag": lags[column],
                    "kind": feature.kind,
                    "direction": int(feature.direction),
                    "kinks": tuple(k * scale + center for k in kinks),
                    "kinks_standardized": kinks,
                    "reflected": tuple(bool(r) for r in feature.reflected),
                    "is_reflection": bool(feature.is_reflection),
                    "coef": float(weight),
                })
        columns = ["step", "input", "lag", "kind", "direction", "kinks", "kinks_standardized",
                   "reflected", "is_reflection", "coef"]
        frame = pd.DataFrame(rows, columns=[*columns, "position"])
        frame = frame.sort_values(["step", "position"], kind="stable").reset_index(drop=True)
        return frame[columns]
