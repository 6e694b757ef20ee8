"""The non-convex baseline: the same additive AR network trained with Adam (PyTorch).

:class:`AdamNetForecaster` shares everything with
:class:`~convexforecast.forecasting.convex.ConvexARForecaster` except the optimiser: the
same lag windows of the same transformed, standardised series, the same parallel-chain
architecture and the same objective ``½‖f(X) - y‖² + (β/L) Σ|w|^L``, minimised by
:func:`convexforecast.core.adam.train_adam` instead of being solved to certified optimality.
With ``beta="cv"`` the β is the one :class:`convexforecast.ConvexNetRegressor` chooses by
cross-validation on the same design, so both models minimise the *same* objective and
``objective_`` can be compared with ``convex_objective_`` (the certified optimum, a lower
bound for every Adam iterate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    check_beta,
    check_finite_number,
    check_finite_state,
    check_option,
    check_positive_float,
    check_positive_int,
    renamed,
    short_repr,
)
from .windows import BaseLagForecaster, NetworkResultsMixin

__all__ = ["AdamNetForecaster"]


@dataclass
class _AdamStepModel:
    network: Any  # convexforecast.core.network.ChainNetwork
    beta: float
    objective: float
    convex_objective: float | None
    objective_history: np.ndarray

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.network.predict(X)


class AdamNetForecaster(NetworkResultsMixin, BaseLagForecaster):
    """Autoregressive additive chain network trained with full-batch Adam.

    Parameters
    ----------
    lags : int
        Number of lags of the transformed series.
    depth : int
        Layers ``L`` of every chain (2, 3 or 4).
    activation : {"relu", "leaky_relu", "abs"}
        Hidden activation (sign/threshold cannot be trained by gradient descent).
    beta : float or "cv"
        Regularisation strength on the standardised scale. ``"cv"`` uses the β that
        ConvexNetRegressor selects by cross-validation (``cv`` folds, ``n_betas`` values,
        ``solver``, ``tol``) on the same design, and records that convex fit's optimal
        objective as ``convex_objective_``.
    transform : {"log_return", "diff", "log", "none"}
        Scale the model works on; forecasts are mapped back to levels.
    multistep : {"recursive", "direct"}
        One iterated one-step network, or one network per step.
    steps : int
        Number of step models for ``multistep="direct"``.
    epochs : int
        Full-batch Adam steps.
    lr : float
        Adam learning rate.
    random_state : int
        Seed of the random initialisation (the run is deterministic given it).
    width : int or None
        Chains per lag; ``None`` uses train_adam's default (``min(2 * n_samples, 100)``).
    cv, n_betas, solver, tol
        Passed to ConvexNetRegressor when ``beta="cv"``.
    exog_lags : int or dict of str to int
        Lags ``1..p`` of the origin at which each past-only exogenous column enters (lag 1 is
        its value at the origin); a dict gives them per column (others get 1). Each
        exogenous input at each lag gets its own chains, as in the convex net. Used only
        when ``fit`` gets ``exog`` (see :mod:`~convexforecast.forecasting.exog`).
    known_exog : list of str, optional
        Exogenous columns known in advance (calendar, scheduled events): used at the target
        time, so ``predict`` needs their future values in ``exog``.
    exog_transform : str or dict of str to str
        Per-column transform of the exogenous inputs, refitted on every training window:
        ``"none"`` (default), ``"diff"``, ``"log_return"`` or ``"standardize"``.
    strategy, horizon, seed
        Deprecated names of ``multistep``, ``steps`` and ``random_state`` (removed in the next
        release).

    Attributes
    ----------
    objective_ : float
        Final Adam objective (summed over step models); ``objectives_`` per step.
    convex_objective_ : float or None
        The convex optimum at the same β (``beta="cv"`` only), summed over step models.
    objective_history_ : ndarray
        Objective after each Adam epoch of the first step model.
    beta_ : float
        β of the first step model; ``betas_`` per step.

    Raises
    ------
    ImportError
        At ``fit`` if PyTorch is not installed (``pip install convexforecast[torch]``).
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
        epochs: int = 2000,
        lr: float = 5e-3,
        random_state: int = 0,
        width: int | None = None,
        cv: int = 5,
        n_betas: int = 20,
        solver: str = "fast",
        tol: float = 1e-6,
        exog_lags: int | dict[str, int] = 1,
        known_exog: list[str] | None = None,
        exog_transform: str | dict[str, str] = "none",
        strategy: str | None = None,
        horizon: int | None = None,
        seed: int | None = None,
    ) -> None:
        self.lags = lags
        self.depth = depth
        self.activation = activation
        self.beta = beta
        self.transform = transform
        self.multistep = multistep
        self.steps = steps
        self.epochs = epochs
        self.lr = lr
        self.random_state = random_state
        self.width = width
        self.cv = cv
        self.n_betas = n_betas
        self.solver = solver
        self.tol = tol
        self.exog_lags = exog_lags
        self.known_exog = known_exog
        self.exog_transform = exog_transform
        self.strategy = strategy
        self.horizon = horizon
        self.seed = seed

    # ------------------------------------------------------------ params
    def _check_params(self) -> None:
        from ..core.adam import ADAM_ACTIVATIONS  # torch itself is imported only by fit

        super()._check_params()
        check_option("depth", self.depth, (2, 3, 4))
        check_option("activation", self.activation, ADAM_ACTIVATIONS)
        check_beta(self.beta)
        check_positive_int("epochs", self.epochs)
        check_positive_float("lr", self.lr)
        check_positive_int("random_state", renamed(self, "random_state", "seed", 0), minimum=0)
        if self.width is not None:
            check_positive_int("width", self.width)
        check_positive_int("cv", self.cv, minimum=2)
        check_positive_int("n_betas", self.n_betas, minimum=2)
        check_option("solver", self.solver, ("fast", "cvxpy", "auto"))
        check_positive_float("tol", self.tol)

    _needs_variation = True

    @property
    def _min_rows(self) -> int:  # type: ignore[override]
        return 2 * (self.cv + 1) if self.beta == "cv" else 2  # ConvexNetRegressor CV needs

    # ------------------------------------------------------------- hooks
    def _fit_model(self, X: np.ndarray, target: np.ndarray, step: int) -> _AdamStepModel:
        from ..core.adam import train_adam

        convex_objective = None
        beta = self.beta
        if beta == "cv":
            from ..estimators import ConvexNetRegressor

            regressor = ConvexNetRegressor(
                depth=self.depth, activation=self.activation, beta="cv", solver=self.solver,
                tol=self.tol, cv=self.cv, n_betas=self.n_betas,
            ).fit(X, target)
            beta = float(regressor.beta_)
            convex_objective = float(regressor.objective_)
        result = train_adam(
            X, target, depth=self.depth, beta=float(beta), width=self.width,
            activation=self.activation, epochs=self.epochs, lr=self.lr,
            random_state=renamed(self, "random_state", "seed", 0, warn=False),
        )
        return _AdamStepModel(
            network=result.network,
            beta=float(beta),
            objective=float(result.final_objective),
            convex_objective=convex_objective,
            objective_history=np.asarray(result.objective_history, dtype=np.float64),
        )

    def _predict_model(self, model: _AdamStepModel, X: np.ndarray) -> np.ndarray:
        return model.predict(X)

    def _model_state(self, model: _AdamStepModel) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        net = model.network
        chains = net.chains
        meta = {
            "beta": model.beta,
            "objective": model.objective,
            "convex_objective": model.convex_objective,
            "output_bias": float(net.output_bias),
            "depth": int(net.depth),
            "network_beta": float(net.beta),
            "activations": [chain.activation for chain in chains],
            "negative_slopes": [float(chain.negative_slope) for chain in chains],
        }
        n_hidden = int(net.depth) - 1
        arrays = {
            "inputs": np.array([chain.input_index for chain in chains], dtype=np.int64),
            "weights": np.array([chain.weights for chain in chains],
                                dtype=np.float64).reshape(len(chains), n_hidden),
            "biases": np.array([chain.biases for chain in chains],
                               dtype=np.float64).reshape(len(chains), n_hidden),
            "output_weights": np.array([chain.output_weight for chain in chains],
                                       dtype=np.float64),
            "objective_history": model.objective_history,
        }
        return meta, arrays

    def _model_from_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
        from ..core.network import Chain, ChainNetwork

        depth = int(meta["depth"])
        if depth != self.depth:
            raise ValueError(f"`state depth` must be the `depth` parameter {self.depth}. "
                             f"Got {short_repr(meta['depth'])}.")
        inputs = np.asarray(arrays["inputs"])
        m = inputs.shape[0] if inputs.ndim == 1 else -1
        if m < 0 or inputs.dtype.kind != "i" or (m and (inputs.min() < 0
                                                        or inputs.max() >= self._n_inputs)):
            raise ValueError(f"`state inputs` must be input columns in [0, {self._n_inputs}). "
                             f"Got {short_repr(inputs)}.")
        weights = check_finite_state("state weights", arrays["weights"], (m, depth - 1))
        biases = check_finite_state("state biases", arrays["biases"], (m, depth - 1))
        alphas = check_finite_state("state output_weights", arrays["output_weights"], (m,))
        activations, slopes = list(meta["activations"]), list(meta["negative_slopes"])
        if len(activations) != m or len(slopes) != m or any(a != self.activation
                                                            for a in activations):
            raise ValueError(f"`state activations` must be {m} times {self.activation!r} (the "
                             f"`activation` parameter). Got {short_repr(activations)}.")
        chains = [Chain(int(j), self.activation, w, b, float(a),
                        check_finite_number("state negative_slopes", slope))
                  for j, w, b, a, slope in zip(inputs, weights, biases, alphas, slopes,
                                               strict=True)]
        network = ChainNetwork(chains, check_finite_number("state output_bias", meta["output_bias"]),
                               depth, check_finite_number("state network_beta", meta["network_beta"]))
        return _AdamStepModel(
            network=network,
            beta=check_finite_number("state beta", meta["beta"]),
            objective=check_finite_number("state objective", meta["objective"]),
            convex_objective=None if meta["convex_objective"] is None
            else check_finite_number("state convex_objective", meta["convex_objective"]),
            objective_history=check_finite_state("state objective_history",
                                                 arrays["objective_history"], (None,)),
        )

    # ----------------------------------------------------- fitted results
    @property
    def convex_objective_(self) -> float | None:
        """Sum over step models of the convex optimum at the same β (``beta="cv"`` only)."""
        self._check_fitted()
        values = [model.convex_objective for model in self.models_]
        return None if any(v is None for v in values) else float(np.sum(values))

    @property
    def objective_history_(self) -> np.ndarray:
        """Objective history of the first step model's Adam run."""
        self._check_fitted()
        return self.models_[0].objective_history.copy()

    def to_network(self, step: int = 1) -> Any:
        """The trained :class:`ChainNetwork` of step model ``step`` (standardised scale)."""
        return self._step_model(step).network
