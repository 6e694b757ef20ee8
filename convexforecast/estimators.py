"""scikit-learn estimators for globally optimal (convex) neural networks.

Thin wrappers in the style of ``sklearn.linear_model``: they validate input and store
results; the math lives in :mod:`convexforecast.core`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from convexforecast._validation import (
    InvalidParameterError,
    check_beta,
    check_bool,
    check_fraction,
    check_nonnegative_float,
    check_option,
    check_positive_float,
    check_positive_int,
)
from convexforecast.core.dictionaries import SUPPORTED_DEPTHS, make_dictionaries
from convexforecast.core.fit import SOLVERS, fit_convex_network
from convexforecast.core.network import ChainNetwork, network_from_lasso
from convexforecast.core.path import cross_validate_beta
from convexforecast.core.solvers.warm_start import PortableSolution, WarmStart
from convexforecast.forecasting.explain import Explanation, StepNetwork, beta_path, explain_network


class ConvexNetRegressor(RegressorMixin, BaseEstimator):
    """A ReLU/abs/sign/threshold network trained to its certified global optimum.

    Training the paper's network (parallel width-1 chains of depth L, one per neuron,
    each reading one input column, plus an output bias) with the penalty
    ``(β/L)·Σ|w|^L`` on the weights is equivalent to the Lasso

        min_{z, ξ} ½‖Az + ξ1 − y‖² + β‖z‖₁

    over an explicit dictionary A (one 1-D dictionary per input column, concatenated).
    The Lasso is solved exactly with a duality-gap certificate and the network is read
    back from its solution (:meth:`to_network`).

    Parameters
    ----------
    depth : {2, 3, 4}
        Number of layers L. ReLU supports 2–4, leaky ReLU 2, abs 2–3, sign/threshold 2–4.
    activation : {"relu", "leaky_relu", "abs", "sign", "threshold"}
    beta : float or "cv"
        Penalty in the units of y (the loss is a sum, not a mean). ``"cv"`` chooses it by
        forward-chaining time-series cross-validation on a warm-started path.
    solver : {"fast", "cvxpy"}
        ``"fast"`` is the exact working-set solver over implicit
        dictionaries; ``"cvxpy"`` is the cvxpy + Clarabel reference on the explicit
        dictionary. For ``β ≤ 1e-6`` (or ``≤ 1e-6·β_max``) both use the min-norm LP route.
    tol : float
        Target relative duality gap ``(P − D)/P`` of the fast solver.
    max_iter : int
        Maximum outer iterations of the fast solver.
    negative_slope : float
        Leaky-ReLU slope.
    max_switches : int, optional
        Sign/threshold at depth ≥ 3: maximum number of switches per feature.
    cv, n_betas, beta_min_ratio, one_standard_error
        Cross-validation settings used when ``beta="cv"``.
    warm_start : bool
        Start a new ``fit`` from the previous one's solutions (every cross-validation point
        and the final fit), carried over by training row: made for refits on a growing
        window of the same series, where it roughly halves the time of a β-CV fit. Every
        solve still meets ``tol``, so the result equals a cold fit's up to that tolerance
        (ReLU only; other activations start cold).

    Attributes
    ----------
    objective_ : float
        Optimal Lasso objective in the original units of X and y.
    duality_gap_ : float
        Certified ``P − D ≥ P − P*``; ``relative_gap_`` is ``duality_gap_ / objective_``.
    intercept_ : float
    coef_ : ndarray
        Coefficients of the selected features.
    features_ : list of Feature
        Selected features; ``feature_inputs_`` gives the input column each one reads.
    n_neurons_ : int
        Number of non-zero features after merging duplicates.
    beta_ : float
        The β used (the CV choice when ``beta="cv"``).
    cv_results_ : dict
        CV curve (``betas``, ``fold_mse``, ``mean_mse``, ``std_error``, ``best_beta``, and per
        fold and β the certified ``fold_relative_gap``, ``fold_n_neurons`` and the solver's
        outer iterations ``fold_n_iter``; ``min_mse_beta`` and ``one_se_beta``);
        :meth:`beta_path` tells it as a frame.
    solver_ : str
        The route taken (``"fast"``, ``"cvxpy-clarabel"`` or ``"lp-highs"``).

    Notes
    -----
    Depth 4 reaches the same optimum as depth 3 (paper-notes §2.2). Among optimal
    solutions the returned one has few neurons: the solution's fitted function on the
    data is re-expressed by the minimum-norm skyline decomposition and adjacent capped
    ramps are merged into single reflection features ``C_{a, 2q−p}`` where possible
    (see :mod:`convexforecast.core.canonical.decomposition`).
    """

    def __init__(self, depth: int = 2, activation: str = "relu", beta: float | str = 1e-3,
                 solver: str = "fast", tol: float = 1e-6, max_iter: int = 500,
                 negative_slope: float = 0.01, max_switches: int | None = None, cv: int = 5,
                 n_betas: int = 20, beta_min_ratio: float = 1e-2,
                 one_standard_error: bool = False, warm_start: bool = False) -> None:
        self.depth = depth
        self.activation = activation
        self.beta = beta
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

    def _check_params(self) -> None:
        check_option("activation", self.activation, SUPPORTED_DEPTHS)
        check_option("depth", self.depth, SUPPORTED_DEPTHS[self.activation])
        if self.solver == "auto":  # the old name of "fast"
            warnings.warn("solver='auto' is deprecated and will be removed in the next release; "
                          "it is solver='fast'.", FutureWarning, stacklevel=3)
        else:
            check_option("solver", self.solver, SOLVERS)
        check_beta(self.beta)
        check_positive_float("tol", self.tol)
        check_positive_int("max_iter", self.max_iter)
        check_positive_int("cv", self.cv, minimum=2)
        check_positive_int("n_betas", self.n_betas, minimum=2)
        check_fraction("beta_min_ratio", self.beta_min_ratio)
        check_bool("one_standard_error", self.one_standard_error)
        check_bool("warm_start", self.warm_start)
        if check_nonnegative_float("negative_slope", self.negative_slope) >= 1.0:
            raise InvalidParameterError(f"`negative_slope` must be in [0, 1). Got "
                                        f"{self.negative_slope!r}.")
        if self.max_switches is not None:
            check_positive_int("max_switches", self.max_switches)

    def _options(self) -> dict:
        solver = "fast" if self.solver == "auto" else self.solver
        return {"depth": self.depth, "activation": self.activation, "solver": solver,
                "tol": self.tol, "max_iter": self.max_iter,
                "negative_slope": self.negative_slope, "max_switches": self.max_switches}

    def fit(self, X, y, groups=None) -> ConvexNetRegressor:
        """Fit the globally optimal network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs; each column gets its own 1-D dictionary.
        y : array-like of shape (n_samples,)
            Targets.
        groups : array-like of shape (n_samples,), optional
            For rows pooled from several series: the time of each row, non-decreasing. The
            β cross-validation then splits the distinct times, never one time's rows.
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, copy=True)
        if X.shape[0] < 2:
            raise ValueError(f"`X` must have at least 2 samples. Got n_samples={X.shape[0]}.")
        for j in range(X.shape[1]):
            if np.unique(X[:, j]).size < 2:
                raise ValueError(f"`X` must have at least 2 distinct values in every column. "
                                 f"Got {np.unique(X[:, j]).size} in column {j}.")
        options = self._options()
        dictionaries = make_dictionaries(X, self.depth, self.activation, self.negative_slope,
                                         self.max_switches) if options["solver"] != "cvxpy" else None
        state = self.__dict__.get("_warm_start_state") if self.warm_start else None
        result = None
        if self.beta == "cv":
            n_folds = min(self.cv, X.shape[0] - 1)
            if X.shape[0] < 2 * (n_folds + 1):
                raise ValueError(f"`X` needs at least {2 * (n_folds + 1)} samples for cv={self.cv}."
                                 f" Got {X.shape[0]}.")
            result = cross_validate_beta(X, y, n_folds=n_folds, n_betas=self.n_betas,
                                         min_ratio=self.beta_min_ratio,
                                         one_standard_error=self.one_standard_error,
                                         warm_start=state, return_solutions=self.warm_start,
                                         dictionaries=dictionaries, groups=groups,
                                         **options)
            self.cv_results_ = result.as_dict()
            self.beta_ = result.best_beta
        else:
            self.beta_ = float(self.beta)
            self.__dict__.pop("cv_results_", None)  # from an earlier fit with beta="cv"
        start = None
        if state is not None and state.final is not None and dictionaries is not None:
            start = state.final.start(dictionaries)
        fit = fit_convex_network(X, y, beta=self.beta_, dictionaries=dictionaries,
                                 warm_start=start, **options)
        self._warm_start_state = WarmStart(
            cv=None if result is None else result.solutions,
            cv_shape=(0, 0) if result is None else result.fold_mse.shape,
            final=PortableSolution.from_solution(fit.solution, dictionaries),
        ) if self.warm_start else None
        self.fit_ = fit
        self._fit_X = X  # validate_data copied it: the training inputs, for explain()
        self.features_ = fit.features
        self.feature_inputs_ = fit.inputs
        self.coef_ = fit.coef
        self.intercept_ = fit.intercept
        self.objective_ = fit.primal
        self.dual_objective_ = fit.dual
        self.duality_gap_ = fit.duality_gap
        self.relative_gap_ = fit.relative_gap
        self.n_neurons_ = int(np.count_nonzero(fit.coef))
        self.n_iter_ = fit.n_iter
        self.solver_ = fit.solver
        return self

    def predict(self, X) -> np.ndarray:
        """Network output at ``X`` (on or off the training points)."""
        check_is_fitted(self, "fit_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.fit_.predict(X)

    def selected_features(self) -> pd.DataFrame:
        """One row per neuron: input column, kind, kinks, reflection flags and coefficient."""
        check_is_fitted(self, "fit_")
        rows = []
        for feat, j, c in zip(self.features_, self.feature_inputs_, self.coef_, strict=True):
            rows.append({"input": int(j), "kind": feat.kind, "direction": feat.direction,
                         "kinks": feat.kinks, "reflected": feat.reflected,
                         "is_reflection": feat.is_reflection, "sources": feat.sources,
                         "coef": float(c)})
        return pd.DataFrame(rows, columns=["input", "kind", "direction", "kinks", "reflected",
                                           "is_reflection", "sources", "coef"])

    def _step_network(self) -> StepNetwork:
        """The fit as :func:`~convexforecast.forecasting.explain.explain_network` needs it."""
        check_is_fitted(self, "fit_")
        return StepNetwork(self.features_, np.asarray(self.feature_inputs_, dtype=np.int64),
                           self.coef_, self.intercept_, self._fit_X,
                           {"beta": self.beta_, "objective": self.objective_,
                            "dual_objective": self.dual_objective_,
                            "duality_gap": self.duality_gap_, "relative_gap": self.relative_gap_,
                            "solver": self.solver_},
                           getattr(self, "cv_results_", None))

    def explain(self, grid=None) -> Explanation:
        """What the network learned: response curves, kinks, certificate and β path.

        Parameters
        ----------
        grid : array-like of shape (m, n_features) or (m,), optional
            Where to evaluate each input's response (column by column; a 1-D grid for every
            input). Default: the training range and every kink, a little beyond.

        Returns
        -------
        Explanation
            See :class:`~convexforecast.forecasting.explain.Explanation`; ``input`` is the
            column index of ``X``.
        """
        return explain_network([self._step_network()], list(range(self.n_features_in_)),
                               grid=grid)

    def response_curves(self, grid=None) -> pd.DataFrame:
        """Each input's exact response ``g_j``: a frame with columns ``input, x, contribution``.

        ``input`` is the column index of ``X``; ``intercept_ + Σ_j g_j(X[:, j])`` is
        ``predict(X)`` (to round-off), so with ``grid=X`` (evaluated column by column, rows
        kept in order) the contributions of each row add up to its prediction. ``grid`` as in
        :meth:`explain`.
        """
        return self.explain(grid).curves

    def beta_path(self) -> pd.DataFrame:
        """The β cross-validation, one row per β (see
        :func:`convexforecast.forecasting.explain.beta_path`); needs ``beta="cv"``."""
        check_is_fitted(self, "fit_")
        if getattr(self, "cv_results_", None) is None:
            raise ValueError(f"`beta_path` needs a fit with beta='cv'. Got beta={self.beta!r}.")
        return beta_path(self.cv_results_, self.beta_)

    def to_network(self) -> ChainNetwork:
        """The optimal network itself (paper-notes §3): parallel chains and an output bias.

        Its ``objective(X, y)`` (the non-convex training objective) equals ``objective_``
        and its ``predict`` equals :meth:`predict` everywhere.
        """
        check_is_fitted(self, "fit_")
        return network_from_lasso(self.features_, list(self.feature_inputs_), self.coef_,
                                  self.intercept_, self.beta_, self.depth)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class ConvexNetCV(ConvexNetRegressor):
    """Deprecated: use ``ConvexNetRegressor(beta="cv")`` (removed in the next release).

    The same estimator with β always chosen by time-series cross-validation; constructing it
    raises a FutureWarning.
    """

    beta = "cv"

    def __init__(self, depth: int = 2, activation: str = "relu", solver: str = "fast",
                 tol: float = 1e-6, max_iter: int = 500, negative_slope: float = 0.01,
                 max_switches: int | None = None, cv: int = 5, n_betas: int = 20,
                 beta_min_ratio: float = 1e-2, one_standard_error: bool = False,
                 warm_start: bool = False) -> None:
        warnings.warn("ConvexNetCV is deprecated and will be removed in the next release; use "
                      "ConvexNetRegressor(beta='cv').", FutureWarning, stacklevel=2)
        super().__init__(depth=depth, activation=activation, beta="cv", solver=solver, tol=tol,
                         max_iter=max_iter, negative_slope=negative_slope,
                         max_switches=max_switches, cv=cv, n_betas=n_betas,
                         beta_min_ratio=beta_min_ratio, one_standard_error=one_standard_error,
                         warm_start=warm_start)
