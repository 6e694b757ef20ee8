"""Reference solvers on an explicit dictionary: cvxpy + Clarabel, and the min-norm LP.

Both solve the paper's Lasso ``min_{z, ξ} ½‖Az + ξ1 − y‖² + β‖z‖₁`` (a sum, β in the
units of y) on a materialised matrix ``A`` and return a
:class:`~convexforecast.core.solvers.lasso.LassoSolution` whose duality gap certifies the point.

Tiny β (paper-notes §4, §7.5)
-----------------------------
For tiny β an interior-point method is ill-conditioned (the notebook's MOSEK runs at
β = 1e-8 returned visibly suboptimal points). When ``β ≤ 1e-6`` — or ``β ≤ 1e-6·β_max``
with ``β_max = ‖A_cᵀ y_c‖_∞``, i.e. β tiny for the scale of the data, e.g. prices —
:func:`solve_cvxpy` solves the β → 0 limit instead, the linear program

    min ‖z‖₁  subject to  Az + ξ1 = ŷ,

with dual ``max ⟨ν, ŷ⟩ s.t. ‖Aᵀν‖_∞ ≤ 1, Σν = 0``. Here ``ŷ`` are the per-group means of
y over rows of ``A`` that are identical (tied inputs); if even those cannot be
interpolated, ``ŷ`` is the least-squares projection of y onto the span of ``[A, 1]``.
The primal point is the LP solution ``z`` with the optimal intercept. The dual point is
``θ = (y − ŷ) + β ν`` (``y − ŷ`` is orthogonal to the columns; it is 0 without ties),
scaled into the dual feasible set if round-off requires it, and evaluated with
:func:`~convexforecast.core.lasso.dual_objective`. Then ``P − D = O(β²)`` while
``P = Θ(β)``. At ``β = 0`` the dual constraint is ``A_cᵀθ = 0`` and is accepted up to
round-off (relative 1e-12).

Whichever route is tried first, if its certificate is weaker than ``1e-6`` relative (the
project-wide target) the other route is run as well and the better-certified point is
returned. On nearly interpolating problems at the scale of prices (``β/β_max`` around
1e-8 to 1e-6) neither route may reach 1e-6; the certificate then says so honestly.
"""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
from scipy.optimize import linprog

from convexforecast._validation import as_float_array, check_nonnegative_float
from convexforecast.core.solvers.lasso import LassoSolution, dual_objective, solve_result_from_matrix

__all__ = ["TINY_BETA", "min_norm_interpolation", "solve_cvxpy"]

#: β at or below which :func:`solve_cvxpy` uses the min-norm LP route.
TINY_BETA = 1e-6
_TRUSTED_GAP = 1e-6
_CLARABEL_SETTINGS = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12,
                      "tol_ktratio": 1e-10, "max_iter": 500}


def _check_problem(A, y) -> tuple[np.ndarray, np.ndarray]:
    A = as_float_array("A", A, 2)
    y = as_float_array("y", y, 1)
    if A.shape[0] != y.shape[0]:
        raise ValueError(f"`A` and `y` must have the same number of rows. "
                         f"Got {A.shape[0]} and {y.shape[0]}.")
    return A, y


def _tied_rows(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique rows of ``A`` (first occurrence order), row -> group index, group sizes."""
    _, first, inverse, counts = np.unique(A, axis=0, return_index=True,
                                          return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return A[first[order]], rank[inverse], counts[order]


def _solve_lp(A_u: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float, np.ndarray,
                                                           int] | None:
    """``min ‖z‖₁ s.t. A_u z + ξ = target`` by HiGHS dual simplex (a sparse vertex).

    Returns ``(z, ξ, ν, iterations)`` or None when infeasible. The problem is scaled
    internally (centred target, unit-scale matrix) and unscaled on return.
    """
    g, p = A_u.shape
    a_scale = float(np.abs(A_u).max()) or 1.0
    t_mean = float(target.mean())
    t_c = target - t_mean
    t_scale = float(np.abs(t_c).max()) or 1.0
    A_s = A_u / a_scale
    cost = np.concatenate([np.ones(2 * p), [0.0]])
    a_eq = np.hstack([A_s, -A_s, np.ones((g, 1))])
    bounds = [(0, None)] * (2 * p) + [(None, None)]
    res = linprog(cost, A_eq=a_eq, b_eq=t_c / t_scale, bounds=bounds, method="highs-ds",
                  options={"primal_feasibility_tolerance": 1e-10,
                           "dual_feasibility_tolerance": 1e-10})
    if res.status == 2:
        return None
    if res.status != 0:
        raise RuntimeError(f"The min-norm LP failed: {res.message}")
    sol = res.x
    z = (sol[:p] - sol[p:2 * p]) * t_scale / a_scale
    xi = t_mean + sol[-1] * t_scale
    nu = np.asarray(res.eqlin.marginals, dtype=np.float64) / a_scale
    return z, float(xi), nu, int(getattr(res, "nit", 0))


def _interpolation_target(A_u: np.ndarray, y_mean_g: np.ndarray,
                          counts: np.ndarray) -> np.ndarray:
    """Weighted least-squares projection of the group means onto span([A_u, 1])."""
    w = np.sqrt(counts.astype(np.float64))
    design = np.hstack([A_u, np.ones((A_u.shape[0], 1))])
    coef, *_ = np.linalg.lstsq(design * w[:, None], y_mean_g * w, rcond=None)
    return design @ coef


def _min_norm(A: np.ndarray, y: np.ndarray, *, allow_projection: bool):
    """LP solution ``(z, ξ, ν, iterations, target)``; ``target`` is the fitted value per row."""
    A_u, group, counts = _tied_rows(A)
    y_mean_g = np.bincount(group, weights=y, minlength=len(counts)) / counts
    target = y_mean_g
    solved = _solve_lp(A_u, target)
    if solved is None:
        if not allow_projection:
            raise ValueError("No interpolant exists: `A` (with an intercept) cannot fit the "
                             "group means of `y`. Use solve_cvxpy with a positive beta.")
        target = _interpolation_target(A_u, y_mean_g, counts)
        solved = _solve_lp(A_u, target)
        if solved is None:
            raise RuntimeError("The min-norm LP is infeasible even for the projected target.")
    z, xi, nu_g, n_iter = solved
    nu = nu_g[group] / counts[group]
    return z, xi, nu, n_iter, target[group]


def min_norm_interpolation(A, y) -> tuple[np.ndarray, float, float, np.ndarray]:
    """Minimum-ℓ1 interpolation ``min ‖z‖₁ s.t. Az + ξ1 = y`` (the β → 0 Lasso limit).

    Rows of ``A`` that are identical (tied inputs) must share one fitted value: their
    ``y`` are replaced by the group mean, i.e. the tied points are interpolated in the
    least-squares sense (paper-notes §7.1). Solved with HiGHS dual simplex, which returns
    a vertex (sparse) solution.

    Parameters
    ----------
    A : array-like of shape (n, p)
    y : array-like of shape (n,)

    Returns
    -------
    coef : ndarray of shape (p,)
    intercept : float
    norm : float
        ``‖coef‖₁``, the minimal ℓ1 norm.
    nu : ndarray of shape (n,)
        An optimal dual point: ``‖Aᵀν‖_∞ ≤ 1``, ``Σν = 0`` and ``⟨ν, y⟩ = norm`` (up to
        solver tolerance; a tied group shares its multiplier equally).

    Raises
    ------
    ValueError
        For invalid input, or when no interpolant of the group means exists.
    """
    A, y = _check_problem(A, y)
    z, xi, nu, _, _ = _min_norm(A, y, allow_projection=False)
    return z, xi, float(np.abs(z).sum()), nu


def _solve_lp_route(A: np.ndarray, y: np.ndarray, beta: float) -> LassoSolution:
    z, _, nu, n_iter, target = _min_norm(A, y, allow_projection=True)
    result = solve_result_from_matrix(A, y, z, beta, n_iter, "lp-highs")
    # y − target is orthogonal to [A, 1] by construction (within-group deviations, or the
    # least-squares residual), unlike the LP's own residual, which carries its tolerance.
    orthogonal_resid = y - target
    orthogonal_resid -= orthogonal_resid.mean()
    theta = orthogonal_resid + beta * nu
    a_centred = A - A.mean(axis=0)
    corr = float(np.abs(a_centred.T @ theta).max())
    y_centred = y - y.mean()
    if beta == 0.0:
        # the dual feasible set is {A_cᵀθ = 0}: accept θ when the correlation is round-off
        roundoff = 1e-12 * float(np.abs(a_centred).max()) * float(np.abs(theta).sum())
        lp_dual = dual_objective(y_centred, theta, 0.0, 0.0) if corr <= roundoff else 0.0
    else:
        lp_dual = dual_objective(y_centred, theta, corr, beta)
    result.dual = max(result.dual, lp_dual)
    return result


def _solve_clarabel(A: np.ndarray, y: np.ndarray, beta: float) -> LassoSolution:
    p = A.shape[1]
    a_centred = A - A.mean(axis=0)
    y_centred = y - y.mean()
    a_scale = float(np.abs(a_centred).max()) or 1.0
    y_scale = float(np.abs(y_centred).max()) or 1.0
    z = cp.Variable(p)
    objective = (0.5 * cp.sum_squares(a_centred / a_scale @ z - y_centred / y_scale)
                 + beta / (a_scale * y_scale) * cp.norm1(z))
    problem = cp.Problem(cp.Minimize(objective))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        problem.solve(solver=cp.CLARABEL, **_CLARABEL_SETTINGS)
    if problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or z.value is None:
        raise RuntimeError(f"Clarabel did not solve the Lasso: status {problem.status!r}.")
    coef = np.asarray(z.value, dtype=np.float64) * (y_scale / a_scale)
    n_iter = int(problem.solver_stats.num_iters or 0)
    return solve_result_from_matrix(A, y, coef, beta, n_iter, "cvxpy-clarabel")


def solve_cvxpy(A, y, beta: float) -> LassoSolution:
    """Reference Lasso ``min ½‖Az + ξ1 − y‖² + β‖z‖₁`` on an explicit dictionary.

    Uses cvxpy with Clarabel (tolerances 1e-12 on an internally rescaled problem), or
    for tiny β (``beta <= 1e-6`` or ``beta <= 1e-6 * β_max``) the min-norm LP route of the
    module docstring; if the first route's relative gap exceeds 1e-6 the other one is
    tried and the better certificate wins. The certificate is always recomputed on the
    original ``A`` and ``y``.

    Parameters
    ----------
    A : array-like of shape (n, p)
        Dictionary matrix (columns need not be centred).
    y : array-like of shape (n,)
    beta : float
        Penalty strength β >= 0.

    Returns
    -------
    LassoSolution
        ``solver`` is ``"cvxpy-clarabel"`` or ``"lp-highs"``.
    """
    A, y = _check_problem(A, y)
    beta = check_nonnegative_float("beta", beta)
    if A.shape[1] == 0:
        return solve_result_from_matrix(A, y, np.zeros(0), beta, 0, "cvxpy-clarabel")
    a_centred = A - A.mean(axis=0)
    beta_max = float(np.abs(a_centred.T @ (y - y.mean())).max())
    routes = [_solve_lp_route, _solve_clarabel]
    if beta > TINY_BETA and beta > TINY_BETA * beta_max:
        routes.reverse()
    result = routes[0](A, y, beta)
    if result.relative_gap > _TRUSTED_GAP and beta > 0:
        alternative = routes[1](A, y, beta)
        if alternative.relative_gap < result.relative_gap:
            return alternative
    return result
