"""Warm-started β paths and forward-chaining cross-validation of β.

The grid is geometric from ``β_max = ‖A_cᵀ(y − ȳ)‖_∞`` (the smallest β with z = 0) down to
``β_max · min_ratio``. Each point starts from the previous solution. Cross-validation uses
forward-chaining time-series splits (scikit-learn's ``TimeSeriesSplit``: every validation
block comes after its training block, never shuffled); each fold builds its own
dictionaries from its training rows only. Every point is scored with the canonical
network of its solution, the function the final model would use; for ReLU depth ≤ 3 that
function is evaluated in closed form (:class:`~convexforecast.core.canonical.interpolant.Interpolant`)
instead of being built as a network.

A cross-validation can also start from a previous one (``warm_start``, e.g. the last refit
of a growing window): point (fold, β) then starts from the previous (fold, β) solution,
carried over by training row (:class:`~convexforecast.core.solvers.warm_start.PortableSolution`).
Every point is still solved to the same certified tolerance, so only the round-off and the
time change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import TimeSeriesSplit

from convexforecast.core._threads import single_threaded_blas
from convexforecast.core.canonical.convex_fit import ConvexFit, canonicalize
from convexforecast.core.canonical.interpolant import Interpolant
from convexforecast.core.dictionaries.factory import make_dictionaries
from convexforecast.core.dictionaries.implicit import ImplicitDictionary, PairDictionary
from convexforecast.core.fit import solve_lasso
from convexforecast.core.solvers.warm_start import PortableSolution, WarmStart
from convexforecast.core.solvers.working_set import WorkingSet, beta_max

__all__ = ["CVResult", "beta_grid", "cross_validate_beta", "forward_chaining_splits", "lasso_path",
           "one_standard_error_index"]


def beta_grid(beta_maximum: float, n_betas: int, min_ratio: float) -> np.ndarray:
    """Geometric grid from ``beta_maximum`` down to ``beta_maximum * min_ratio``."""
    return beta_maximum * np.geomspace(1.0, min_ratio, n_betas)


def _solve_path(X: np.ndarray, y: np.ndarray, betas: np.ndarray,
                starts: list[PortableSolution | None] | None, options: dict,
                portable: bool = False, score: bool = False,
                dictionaries: list[ImplicitDictionary] | None = None,
                ) -> tuple[list[ConvexFit | Interpolant], list[PortableSolution | None],
                           np.ndarray]:
    """Fits along ``betas``, (with ``portable``) their portable forms, and per point the
    solver's certified relative gap, number of non-zero coefficients and outer iterations
    (shape (3, n_betas));
    point b starts from ``starts[b]`` if given, else from point b − 1. With ``score``, ReLU
    points of depth ≤ 3 solved by the fast route are returned as their closed-form
    :class:`Interpolant` (enough to score them) instead of building their networks.
    ``dictionaries``: those of ``X``, if built already."""
    depth, activation = options["depth"], options["activation"]
    dictionaries = dictionaries or make_dictionaries(X, depth, activation,
                                                     options.get("negative_slope", 0.01),
                                                     options.get("max_switches"))
    bmax = beta_max(dictionaries, y) if options.get("solver", "fast") != "cvxpy" else None
    fits, portables = [], []
    certificates = np.empty((3, len(betas)))
    largest = max((len(start.coef) for start in starts or () if start is not None), default=0)
    workspace = WorkingSet.with_room_for(y.shape[0], largest)  # carried along the path
    stack = workspace.stack_for(dictionaries)
    for b, beta in enumerate(betas):
        start = None  # the workspace holds point b − 1's solution
        if starts is not None and starts[b] is not None:
            start = starts[b].start(dictionaries, stack)
        solution, used = solve_lasso(X, y, float(beta), dictionaries=dictionaries,
                                     warm_start=start, beta_maximum=bmax, workspace=workspace,
                                     **options)
        fast = solution.solver == "fast"
        certificates[:, b] = (solution.relative_gap, np.count_nonzero(solution.coef),
                              solution.n_iter)
        if score and fast and activation == "relu" and depth <= 3:
            fits.append(Interpolant.from_solution(solution, used, depth, stack))
        else:
            fits.append(canonicalize(X, y, solution, used, depth, activation))
        if portable:
            portables.append(PortableSolution.from_solution(solution if fast else None,
                                                            dictionaries, stack))
    return fits, portables, certificates


@single_threaded_blas
def lasso_path(X: np.ndarray, y: np.ndarray, betas: np.ndarray, **options) -> list[ConvexFit]:
    """Certified solutions along a decreasing β grid, each warm-started from the last."""
    return _solve_path(X, y, betas, None, options)[0]


@dataclass
class CVResult:
    """Cross-validation curve of β.

    Attributes
    ----------
    betas : ndarray
        The grid (decreasing).
    fold_mse : ndarray of shape (n_folds, n_betas)
        Validation mean squared error per fold and β.
    mean_mse, std_error : ndarray
        Mean over folds and its standard error.
    best_beta : float
        β with the least mean MSE, or with ``one_standard_error`` the largest β whose mean
        MSE is within one standard error of that minimum.
    fold_relative_gap : ndarray of shape (n_folds, n_betas)
        The certified relative duality gap of every path point (the solver's, before the
        canonical re-expression, which never raises the objective).
    fold_n_neurons : ndarray of shape (n_folds, n_betas)
        Non-zero Lasso coefficients (neurons of the solver's network) of every path point.
    fold_n_iter : ndarray of shape (n_folds, n_betas)
        Outer (pricing) iterations of the solver at every path point (fewer when a warm
        start is close to the point's solution).
    min_mse_beta, one_se_beta : float
        The β of least mean MSE and the one the one-standard-error rule chooses, whichever
        rule chose ``best_beta``.
    solutions : list of list of PortableSolution or None, optional
        With ``return_solutions``: per fold and β, the solution in portable form (the
        ``warm_start`` of a later cross-validation); None for routes without one.
    """

    betas: np.ndarray
    fold_mse: np.ndarray
    mean_mse: np.ndarray
    std_error: np.ndarray
    best_beta: float
    fold_relative_gap: np.ndarray | None = None
    fold_n_neurons: np.ndarray | None = None
    min_mse_beta: float = float("nan")
    one_se_beta: float = float("nan")
    solutions: list[list[PortableSolution | None]] | None = None
    fold_n_iter: np.ndarray | None = None

    def as_dict(self) -> dict:
        return {"betas": self.betas, "fold_mse": self.fold_mse, "mean_mse": self.mean_mse,
                "std_error": self.std_error, "best_beta": self.best_beta,
                "fold_relative_gap": self.fold_relative_gap,
                "fold_n_neurons": self.fold_n_neurons, "fold_n_iter": self.fold_n_iter,
                "min_mse_beta": self.min_mse_beta,
                "one_se_beta": self.one_se_beta}


def one_standard_error_index(mean: np.ndarray, std_error: np.ndarray) -> int:
    """Index of the first (largest) β whose mean error is within one standard error of the
    least mean error (the grid is decreasing)."""
    best = int(np.argmin(mean))
    return int(np.flatnonzero(mean <= mean[best] + std_error[best])[0])


def forward_chaining_splits(n_rows: int, n_folds: int, groups: np.ndarray | None = None,
                            ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, validation) row indices of scikit-learn's ``TimeSeriesSplit``.

    With ``groups`` (non-decreasing, one per row: the time of rows pooled from several
    series) the split is made over the distinct groups, and each group's rows go whole to
    one side.
    """
    splitter = TimeSeriesSplit(n_splits=n_folds)
    if groups is None:
        return list(splitter.split(np.empty((n_rows, 0))))
    groups = np.asarray(groups)
    if groups.shape != (n_rows,) or np.any(groups[1:] < groups[:-1]):
        raise ValueError(f"`groups` must be non-decreasing with one value per row ({n_rows}). "
                         f"Got shape {groups.shape}.")
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    bounds = np.r_[starts, n_rows]
    if starts.size < n_folds + 1:
        raise ValueError(f"`groups` must hold at least cv + 1 = {n_folds + 1} distinct times. "
                         f"Got {starts.size}.")
    return [(np.arange(0, bounds[train[-1] + 1]),
             np.arange(bounds[test[0]], bounds[test[-1] + 1]))
            for train, test in splitter.split(np.empty((starts.size, 0)))]


@single_threaded_blas
def cross_validate_beta(X: np.ndarray, y: np.ndarray, *, n_folds: int = 5, n_betas: int = 20,
                        min_ratio: float = 1e-3, one_standard_error: bool = False,
                        warm_start: WarmStart | None = None, return_solutions: bool = False,
                        dictionaries: list[ImplicitDictionary] | None = None,
                        groups: np.ndarray | None = None, **options) -> CVResult:
    """Choose β by forward-chaining cross-validation over a warm-started path.

    The grid is built from the β_max of the *full* training data passed in; each fold's
    path is fitted on that fold's training rows only. ``warm_start``: the state a previous
    fit on a shorter window of the same series left (its cross-validation computed with
    ``return_solutions=True``), whose (fold, β) solutions start this one's when the grid has
    the same shape. ``dictionaries``: those of the full ``X``, if the caller has them already
    (they set the β grid). ``groups``: for rows pooled from several series, the time of
    each row (non-decreasing); the folds then split the distinct times, so that no time is
    partly in a fold's training rows and partly in its validation rows.
    """
    dictionaries = dictionaries or make_dictionaries(X, options["depth"], options["activation"],
                                                     options.get("negative_slope", 0.01),
                                                     options.get("max_switches"))
    betas = beta_grid(beta_max(dictionaries, y), n_betas, min_ratio)
    fold_mse = np.empty((n_folds, n_betas))
    previous = None
    if warm_start is not None and warm_start.cv is not None \
            and warm_start.cv_shape == fold_mse.shape:
        previous = warm_start.cv
    solutions = []
    certificates = np.empty((3, n_folds, n_betas))
    pairs = all(isinstance(d, PairDictionary) for d in dictionaries)
    for f, (train, test) in enumerate(forward_chaining_splits(len(y), n_folds, groups)):
        start = None if previous is None else previous[f]
        # the training rows are the first len(train): their dictionaries follow from these
        fold = [d.of_first_rows(len(train)) for d in dictionaries] if pairs else None
        fits, portables, certificates[:, f] = _solve_path(X[train], y[train], betas, start,
                                                          options, return_solutions, score=True,
                                                          dictionaries=fold)
        solutions.append(portables)
        X_test = X[test]
        for b, fit in enumerate(fits):
            err = fit.predict(X_test) - y[test]
            fold_mse[f, b] = float(err @ err) / len(test)
    mean = fold_mse.mean(axis=0)
    se = fold_mse.std(axis=0, ddof=1) / np.sqrt(n_folds) if n_folds > 1 else np.zeros(n_betas)
    least, one_se = int(np.argmin(mean)), one_standard_error_index(mean, se)
    best = one_se if one_standard_error else least
    return CVResult(betas, fold_mse, mean, se, float(betas[best]), certificates[0],
                    certificates[1].astype(np.int64), float(betas[least]), float(betas[one_se]),
                    solutions if return_solutions else None, certificates[2].astype(np.int64))
