"""The Lasso ``min_{z, ξ} ½‖Az + ξ1 − y‖² + β‖z‖₁``: results, objective and certificate.

The intercept ξ is free, so it is eliminated by centring: with centred columns ``A_c`` and
centred target ``y_c`` the problem is ``P(z) = ½‖y_c − A_c z‖² + β‖z‖₁``. Its dual is

    D(θ) = ½‖y_c‖² − ½‖y_c − θ‖²   subject to ‖A_cᵀθ‖_∞ ≤ β,

and from any primal point the scaled residual ``θ = r · min(1, β / ‖A_cᵀ r‖_∞)`` is dual
feasible, so ``P(z) − D(θ) ≥ P(z) − P* ≥ 0`` *certifies* how far ``z`` is from optimal.
The relative gap reported everywhere is ``(P − D) / P``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class CertifiedMixin:
    """``duality_gap`` and ``relative_gap`` from a ``primal`` value and a ``dual`` bound."""

    primal: float
    dual: float

    @property
    def duality_gap(self) -> float:
        """Absolute duality gap ``P − D`` (clipped at 0 for round-off)."""
        return max(self.primal - self.dual, 0.0)

    @property
    def relative_gap(self) -> float:
        """``(P − D) / P``; the optimality certificate used for stopping."""
        return self.duality_gap / self.primal if self.primal > 0 else 0.0


@dataclass
class LassoSolution(CertifiedMixin):
    """A solution of the Lasso with its optimality certificate; every solver returns one.

    Attributes
    ----------
    coef : ndarray
        Coefficients ``z``. From the working-set solver over implicit dictionaries,
        ``coef[i]`` multiplies column ``keys[i]`` of input ``inputs[i]``; from a solver on an
        explicit matrix, ``coef[j]`` multiplies column ``j`` (``inputs`` and ``keys`` None).
    intercept : float
        The optimal free intercept ξ for ``coef``.
    beta : float
        Penalty strength β (in the units of y).
    primal : float
        ``½‖Az + ξ1 − y‖² + β‖z‖₁`` at the returned point.
    dual : float
        Dual objective at a feasible dual point; a lower bound on the optimum.
    n_iter : int
        Iterations of the solver (outer iterations for working-set solvers).
    solver : str
        Name of the solver that produced the result.
    inputs, keys : ndarray or None
        Column identities over implicit dictionaries (see ``coef``).
    max_correlation : float
        ``‖A_cᵀr‖_∞`` at the last pricing (working-set solver).
    converged : bool
        Whether the solver reached its tolerance.
    """

    coef: np.ndarray
    intercept: float
    beta: float
    primal: float
    dual: float
    n_iter: int
    solver: str
    inputs: np.ndarray | None = None
    keys: np.ndarray | None = None
    max_correlation: float = float("nan")
    converged: bool = True


def dual_objective(y_centred: np.ndarray, residual: np.ndarray, max_abs_corr: float,
                   beta: float) -> float:
    """Dual objective at the feasible point obtained by scaling a centred residual.

    Parameters
    ----------
    y_centred : ndarray
        Centred target ``y − mean(y)``.
    residual : ndarray
        Centred residual ``y_c − A_c z``.
    max_abs_corr : float
        ``‖A_cᵀ residual‖_∞`` over the *whole* dictionary.
    beta : float
        Penalty strength.
    """
    scale = 1.0 if max_abs_corr <= beta else beta / max_abs_corr
    theta = residual * scale
    # ½‖y_c‖² − ½‖y_c − θ‖² written without the cancellation of two large squares
    return float(theta @ y_centred - 0.5 * (theta @ theta))


def lasso_objective(fitted: np.ndarray, y: np.ndarray, coef: np.ndarray, beta: float) -> float:
    """``½‖fitted − y‖² + β‖coef‖₁`` where ``fitted = Az + ξ``."""
    r = fitted - y
    return float(0.5 * (r @ r) + beta * np.abs(coef).sum())


def solve_result_from_matrix(A: np.ndarray, y: np.ndarray, coef: np.ndarray, beta: float,
                             n_iter: int, solver: str) -> LassoSolution:
    """Certify ``coef`` on an explicit dictionary ``A``: optimal intercept, primal, dual."""
    coef = np.asarray(coef, dtype=np.float64)
    y_mean = float(y.mean())
    fitted_c = A @ coef
    intercept = y_mean - float(fitted_c.mean())
    fitted = fitted_c + intercept
    resid = y - fitted
    a_centred = A - A.mean(axis=0)
    max_corr = float(np.abs(a_centred.T @ resid).max()) if A.shape[1] else 0.0
    primal = lasso_objective(fitted, y, coef, beta)
    dual = dual_objective(y - y_mean, resid, max_corr, beta)
    return LassoSolution(coef, intercept, float(beta), primal, dual, n_iter, solver)
