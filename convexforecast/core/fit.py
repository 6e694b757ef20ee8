"""Fit the additive convex network: the route to a certified solution, then the canonical network.

``X`` of shape (n, d) gets one 1-D dictionary per column; the columns are concatenated
under one penalty, i.e. the network is a sum of chains that each read one input
coordinate. :func:`solve_lasso` chooses the route:

* ``solver="fast"``: the working-set solver over implicit dictionaries
  (:mod:`.solvers.working_set`), which never materialises ReLU dictionaries of depth ≥ 3; for
  capped ramps (ReLU, depth 3 and 4) its working set holds kinks (:mod:`.solvers.kink_set`),
  and the working set of columns takes over wherever that one stops uncertified;
* ``solver="cvxpy"``: the reference, cvxpy + Clarabel on the explicit deduplicated
  dictionary (:mod:`.solvers.reference`);

and, for tiny β (``β ≤ 1e-6`` or ``β ≤ 1e-6·β_max``), the min-norm / LP route of paper-notes
§4 and §7.5 on the explicit dictionary, whatever the solver. Near interpolation (β a few
orders below β_max with support close to n) the working-set restricted solves can cycle;
when the fast solver stalls above ``tol`` and the explicit dictionary has at most
``FALLBACK_ENTRIES`` entries (or β ≤ ``NEAR_INTERPOLATION``·β_max on such a small problem),
the reference solves the problem instead (``ConvexFit.solver`` says which route was taken),
else a ConvergenceWarning is raised and the certified gap is reported as it is.

:func:`fit_convex_network` is the one entry point for a single fit: route, then
:func:`~.canonical.convex_fit.canonicalize`. β paths and cross-validation
(:mod:`.path`) call :func:`solve_lasso` directly, with their path-only options.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from convexforecast.core._threads import single_threaded_blas
from convexforecast.core.canonical.convex_fit import ConvexFit, canonicalize
from convexforecast.core.dictionaries.explicit import build_dictionary
from convexforecast.core.dictionaries.factory import make_dictionaries
from convexforecast.core.dictionaries.implicit import ImplicitDictionary, MatrixDictionary
from convexforecast.core.solvers.kink_set import is_capped_ramp, solve_kink_working_set
from convexforecast.core.solvers.lasso import LassoSolution
from convexforecast.core.solvers.reference import TINY_BETA, solve_cvxpy
from convexforecast.core.solvers.working_set import WorkingSet, beta_max, solve_working_set

__all__ = ["FALLBACK_ENTRIES", "NEAR_INTERPOLATION", "SOLVERS", "ConvexFit",
           "fit_convex_network", "solve_lasso"]

SOLVERS = ("fast", "cvxpy")
FALLBACK_ENTRIES = 20_000_000  # explicit dictionary entries (n × p) the fallback may build
NEAR_INTERPOLATION = 1e-4  # β/β_max below which small problems go to the reference directly


def _reference(X: np.ndarray, y: np.ndarray, beta: float, depth: int, activation: str,
               negative_slope: float, max_switches: int | None,
               ) -> tuple[LassoSolution, list[ImplicitDictionary]]:
    """The cvxpy/LP reference on the concatenated explicit dictionaries of every input."""
    dictionaries: list[ImplicitDictionary] = []
    for j in range(X.shape[1]):
        d = build_dictionary(X[:, j], depth=depth, activation=activation,
                             negative_slope=negative_slope, max_switches=max_switches)
        dictionaries.append(MatrixDictionary(X[:, j], d.features, d.matrix))
    res = solve_cvxpy(np.hstack([d.matrix for d in dictionaries]), y, beta)
    inputs = np.concatenate([np.full(d.n_columns, j, dtype=np.int64)
                             for j, d in enumerate(dictionaries)])
    keys = np.concatenate([np.arange(d.n_columns, dtype=np.int64) for d in dictionaries])
    # interior-point output carries round-off entries; drop them (the objective and the
    # certificate are recomputed from what is kept)
    nz = np.abs(res.coef) > 1e-9 * np.abs(res.coef).max(initial=0.0)
    solution = LassoSolution(res.coef[nz], res.intercept, res.beta, res.primal, res.dual,
                             res.n_iter, res.solver, inputs=inputs[nz], keys=keys[nz])
    return solution, dictionaries


def _solve_implicit(dictionaries: list[ImplicitDictionary], y: np.ndarray, beta: float, *,
                    tol: float, max_iter: int, warm_start: LassoSolution | None,
                    workspace: WorkingSet | None) -> LassoSolution:
    """The working set of kinks for capped ramps, else the working set of dictionary columns;
    when the kinks stop uncertified with rounds of ``max_iter`` left, the columns take over
    from the point the kinks reached, for those rounds (``n_iter`` counts both)."""
    if not is_capped_ramp(dictionaries):
        return solve_working_set(dictionaries, y, beta, tol=tol, max_iter=max_iter,
                                 warm_start=warm_start, warn=False, workspace=workspace)
    kinks = solve_kink_working_set(dictionaries, y, beta, tol=tol, max_iter=max_iter,
                                   warm_start=warm_start, warn=False, workspace=workspace)
    if kinks.converged or kinks.n_iter >= max_iter:
        return kinks
    columns = solve_working_set(dictionaries, y, beta, tol=tol,  # on their own buffers
                                max_iter=max_iter - kinks.n_iter, warm_start=kinks, warn=False)
    return dataclasses.replace(columns, n_iter=kinks.n_iter + columns.n_iter)


def solve_lasso(X: np.ndarray, y: np.ndarray, beta: float, *, depth: int, activation: str,
                solver: str = "fast", tol: float = 1e-6, max_iter: int = 500,
                negative_slope: float = 0.01, max_switches: int | None = None,
                dictionaries: list[ImplicitDictionary] | None = None,
                warm_start: LassoSolution | None = None, beta_maximum: float | None = None,
                workspace: WorkingSet | None = None,
                ) -> tuple[LassoSolution, list[ImplicitDictionary]]:
    """A certified solution of the additive network Lasso, on the route of the module docstring.

    Parameters
    ----------
    X, y, beta, depth, activation, solver, tol, max_iter, negative_slope, max_switches
        As in :func:`fit_convex_network`.
    dictionaries : list of ImplicitDictionary, optional
        The implicit dictionaries of ``X`` (built if not given).
    warm_start : LassoSolution, optional
        A previous solution over the same dictionaries to start the fast solver from.
    beta_maximum : float, optional
        ``β_max`` of ``y`` over ``dictionaries``, if known (a β path computes it once).
    workspace : WorkingSet, optional
        The working set of an earlier fast solve on the same data (a β path carries one).

    Returns
    -------
    solution : LassoSolution
    dictionaries : list of ImplicitDictionary
        The dictionaries the solution's ``(inputs, keys)`` refer to: the implicit ones on the
        fast route, the explicit ones (as MatrixDictionary) on the reference routes.
    """
    small = False
    if solver == "fast":
        dictionaries = dictionaries or make_dictionaries(X, depth, activation, negative_slope,
                                                         max_switches)
        bmax = beta_max(dictionaries, y) if beta_maximum is None else beta_maximum
        small = sum(d.n_columns for d in dictionaries) * len(y) <= FALLBACK_ENTRIES
        use_reference = beta <= TINY_BETA or beta <= TINY_BETA * bmax or (
            small and beta <= NEAR_INTERPOLATION * bmax)
    else:
        use_reference = True  # the reference always works on the explicit dictionary
    if not use_reference:
        solution = _solve_implicit(dictionaries, y, beta, tol=tol, max_iter=max_iter,
                                   warm_start=warm_start, workspace=workspace)
        if solution.converged:
            return solution, dictionaries
        if not small:
            warnings.warn(
                f"The fast solver stopped at relative duality gap {solution.relative_gap:.2e} > "
                f"tol={tol:.1e} and the explicit dictionary is too large for the reference; "
                f"the reported duality_gap_ certifies how far from optimal the result is.",
                ConvergenceWarning, stacklevel=3)
            return solution, dictionaries
        # the solver stalled; the explicit reference is cheap here
    exp_depth = 3 if (activation == "relu" and depth == 4 and solver != "cvxpy") else depth
    return _reference(X, y, beta, exp_depth, activation, negative_slope, max_switches)


@single_threaded_blas
def fit_convex_network(X: np.ndarray, y: np.ndarray, *, depth: int, activation: str,
                       beta: float, solver: str = "fast", tol: float = 1e-6,
                       max_iter: int = 500, negative_slope: float = 0.01,
                       max_switches: int | None = None,
                       dictionaries: list[ImplicitDictionary] | None = None,
                       warm_start: LassoSolution | None = None) -> ConvexFit:
    """Solve the additive network Lasso and return its certified, canonical network.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Inputs (validated by the caller).
    y : ndarray of shape (n,)
        Targets.
    depth, activation, negative_slope, max_switches
        The network family (see :func:`convexforecast.core.dictionaries.build_dictionary`).
    beta : float
        Penalty strength, > 0, in the units of y.
    solver : {"fast", "cvxpy"}
        The fast working-set solver or the cvxpy reference (see the module docstring).
    tol : float
        Target relative duality gap of the fast solver.
    max_iter : int
        Most outer iterations of the fast solver.
    dictionaries : list of ImplicitDictionary, optional
        The implicit dictionaries of ``X``, if the caller has them.
    warm_start : LassoSolution, optional
        A previous solution over the same dictionaries to start from.

    Returns
    -------
    ConvexFit
        Its ``solution`` is the solver's own, for warm-starting later fits.
    """
    solution, used = solve_lasso(X, y, beta, depth=depth, activation=activation, solver=solver,
                                 tol=tol, max_iter=max_iter, negative_slope=negative_slope,
                                 max_switches=max_switches, dictionaries=dictionaries,
                                 warm_start=warm_start)
    return canonicalize(X, y, solution, used, depth, activation)
