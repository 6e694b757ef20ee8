"""Exact restricted solves: feature-sign search on a working set's Gram matrix.

:func:`feature_sign` minimises ``½ zᵀGz − qᵀz + β‖z‖₁`` exactly (feature-sign search, Lee
et al. 2007). Its well-conditioned steps run compiled with an incrementally updated Cholesky
factor (:mod:`._feature_sign_kernel`); a step whose entering column is numerically dependent
on the active ones (exactly dependent capped ramps, ``C_ab + C_bc = C_ac``), or which gives no
descent that way, is taken here by refactorisation: Cholesky, then an eigendecomposition that
follows the null direction.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from convexforecast.core.solvers._feature_sign_kernel import (
    NEEDS_ROBUST_STEP,
    OPTIMAL,
    STALLED,
    feature_sign_steps,
)

__all__ = ["feature_sign"]


def _lasso_value(points: np.ndarray, G: np.ndarray, q: np.ndarray, beta: float) -> np.ndarray:
    """``½ zᵀGz − qᵀz + β‖z‖₁`` for each row z of ``points``."""
    return 0.5 * np.einsum("ij,jk,ik->i", points, G, points) - points @ q \
        + beta * np.abs(points).sum(axis=1)


def _first_zero_crossing(start: np.ndarray, direction: np.ndarray,
                         t_max: float) -> tuple[np.ndarray, float]:
    """Points of ``start + t·direction`` where a coordinate changes sign, 0 < t < t_max."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -start / direction
    ok = (t > 0) & (t < t_max) & np.isfinite(t)
    return np.flatnonzero(ok), t


def _step_candidates(G_a: np.ndarray, q_a: np.ndarray, beta: float, theta_a: np.ndarray,
                     start: np.ndarray, robust: bool) -> np.ndarray | None:
    """Candidate points of one feature-sign step (rows), or None if there is no step.

    The fast variant solves the sign-restricted normal equations by Cholesky; the robust one
    uses an eigendecomposition, so that exactly singular active sets (``C_ab + C_bc = C_ac``)
    follow the null direction that lowers ``β θᵀz`` up to the first sign change.
    """
    rhs = q_a - beta * theta_a
    if not robust:
        try:
            factor = scipy.linalg.cho_factor(G_a, check_finite=False)
        except np.linalg.LinAlgError:
            return None
        diag = np.abs(np.diag(factor[0]))
        if diag.min() ** 2 <= 1e-12 * diag.max() ** 2:
            return None
        target = scipy.linalg.cho_solve(factor, rhs, check_finite=False)
    else:
        eigval, eigvec = np.linalg.eigh(G_a)
        null = eigval <= 1e-12 * max(eigval[-1], 0.0)
        descent = -(eigvec[:, null] @ (eigvec[:, null].T @ theta_a)) if null.any() else None
        if descent is not None and np.linalg.norm(descent) > 1e-8:
            crossing, t = _first_zero_crossing(start, descent, np.inf)
            if not crossing.size:
                return None
            j = crossing[np.argmin(t[crossing])]
            cand = start + t[j] * descent
            cand[j] = 0.0
            return cand[None, :]
        inv = np.where(null, 0.0, 1.0 / np.where(null, 1.0, eigval))
        target = eigvec @ (inv * (eigvec.T @ rhs))
    step = target - start
    crossing, t = _first_zero_crossing(start, step, 1.0)
    cands = np.vstack([start + t[crossing, None] * step, target])
    cands[np.arange(crossing.size), crossing] = 0.0
    if robust and null.any():
        # θ is orthogonal to the null space: moving along a null vector changes neither the
        # fit nor ‖z‖₁ until a coordinate reaches zero, which drops the dependent column
        cands = np.vstack([cands, _drop_along(start, eigvec[:, np.argmax(null)])])
    return cands


def _drop_along(start: np.ndarray, null_vector: np.ndarray) -> np.ndarray:
    """``start`` moved along ``±null_vector`` to the nearest zero crossing (that coordinate
    zeroed); ``start`` itself if no coordinate crosses zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -start / null_vector
    t = np.where(np.isfinite(t) & (t != 0.0), t, np.inf)
    j = int(np.argmin(np.abs(t)))
    if not np.isfinite(t[j]):
        return start.copy()
    cand = start + t[j] * null_vector
    cand[j] = 0.0
    return cand


def _robust_step(G: np.ndarray, q: np.ndarray, beta: float, z: np.ndarray,
                 kkt_tol: float) -> np.ndarray | None:
    """One feature-sign step by refactorisation: a better ``z``, or None (optimal / no descent).

    Tries Cholesky, then an eigendecomposition (see :func:`_step_candidates`), and takes the
    best point of the segment among its sign changes. When the active set violates the KKT
    conditions but gives no descent in floating point (numerically dependent columns), the most
    violating inactive column enters instead, as it does when the active set is optimal.
    """
    grad = G @ z - q
    active = z != 0.0
    theta = np.sign(z)
    if (active & (np.abs(grad + beta * theta) > kkt_tol)).any():
        out = _step_on(G, q, beta, z, active, theta, strict=True)
        if out is not None:
            return out
        # no descent is left on this active set in floating point (it is numerically
        # dependent): it is as optimal as it gets, so let the most violating column enter
    free_grad = np.where(active, 0.0, np.abs(grad))
    i = int(np.argmax(free_grad)) if free_grad.size else 0
    if free_grad.size == 0 or free_grad[i] <= beta + kkt_tol:
        return None
    theta[i] = -np.sign(grad[i])
    active = active.copy()
    active[i] = True
    return _step_on(G, q, beta, z, active, theta)


def _step_on(G: np.ndarray, q: np.ndarray, beta: float, z: np.ndarray, active: np.ndarray,
             theta: np.ndarray, strict: bool = False) -> np.ndarray | None:
    """The best point of one feature-sign step on the coordinates ``active`` with signs
    ``theta`` (Cholesky, else eigendecomposition), or None if it gives no descent (with
    ``strict``, none beyond round-off)."""
    idx = np.flatnonzero(active)
    G_a, q_a, theta_a, start = G[np.ix_(idx, idx)], q[idx], theta[idx], z[idx]
    current = _lasso_value(start[None, :], G_a, q_a, beta)[0]
    for robust in (False, True):
        cands = _step_candidates(G_a, q_a, beta, theta_a, start, robust)
        if cands is None:
            continue
        values = _lasso_value(cands, G_a, q_a, beta)
        best = int(np.argmin(values))
        # exact arithmetic guarantees descent; allow for round-off in the comparison
        if values[best] <= current + (-1e-15 if strict else 1e-13) * abs(current):
            out = z.copy()
            out[idx] = cands[best]
            return out
        # no descent beyond round-off: a move that drops a dependent column (same value to
        # round-off) still makes progress, since the smaller active set can be factored
        fewer = (np.count_nonzero(cands, axis=1) < np.count_nonzero(start)) & (
            values <= current + 1e-13 * abs(current))
        if strict and fewer.any():
            out = z.copy()
            out[idx] = cands[np.flatnonzero(fewer)[np.argmin(values[fewer])]]
            return out
    return None


SMALL_ACTIVE_SET = 16


def _start_factor(G: np.ndarray, z: np.ndarray) -> np.ndarray | None:
    """LAPACK Cholesky factor of ``G`` on the non-zeros of ``z`` (None for small active sets,
    or if not positive definite: the kernel then finds the dependent column itself)."""
    active = np.flatnonzero(z)
    if active.size < SMALL_ACTIVE_SET:  # column-by-column appends cost less than the call
        return None
    try:
        return scipy.linalg.cholesky(G[np.ix_(active, active)], lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None


def feature_sign(G: np.ndarray, q: np.ndarray, beta: float, z: np.ndarray, max_steps: int,
                 factor: tuple[np.ndarray, np.ndarray] | None = None,
                 ) -> tuple[np.ndarray, int, tuple[np.ndarray, np.ndarray] | None]:
    """Exactly minimise ``½ zᵀGz − qᵀz + β‖z‖₁`` by feature-sign search from ``z``.

    Well-conditioned steps run compiled with an incrementally updated Cholesky factor
    (:func:`~convexforecast.core._feature_sign_kernel.feature_sign_steps`); a step whose
    entering column is numerically dependent on the active ones, or which gives no descent
    that way, is taken by :func:`_robust_step`; a compiled search that stalls (no decrease
    beyond round-off for many steps) restarts once from a fresh factorisation, then takes a
    robust step. Stops when the KKT conditions hold, when no descent is left in floating
    point, or after ``max_steps`` steps.

    Parameters
    ----------
    factor : (order, L), optional
        The lower Cholesky factor ``L`` of ``G`` on the non-zeros of ``z`` taken in the order
        ``order`` (e.g. the factor an earlier search returned); else it is computed.

    Returns
    -------
    z : ndarray
        The minimiser.
    n_steps : int
        Steps taken (compiled and robust).
    factor : (order, L) or None
        The Cholesky factor on the minimiser's non-zeros, if the compiled search ended there.
    """
    kkt_tol = 1e-11 * max(beta, float(np.abs(q).max(initial=0.0)))
    G = np.ascontiguousarray(G)
    steps, status = 0, OPTIMAL
    while steps < max_steps:
        order, start = (None, _start_factor(G, z)) if factor is None else factor
        factor = None  # after a robust step the factor is recomputed
        previous = status
        z, status, used, L, active = feature_sign_steps(G, q, beta, z, kkt_tol,
                                                        max_steps - steps, start, order)
        steps += used + 1
        if status == STALLED and previous != STALLED:
            continue  # the round-off of a long-updated factor can stall the search: refactorise
        if status not in (NEEDS_ROBUST_STEP, STALLED):
            return z, steps, ((active.copy(), np.ascontiguousarray(L)) if status == OPTIMAL
                              else None)
        new_z = _robust_step(G, q, beta, z, kkt_tol)
        if new_z is None:
            return z, steps, None
        before, after = _lasso_value(np.vstack([z, new_z]), G, q, beta)
        dropped = np.count_nonzero(new_z) < np.count_nonzero(z)  # a dependent column left
        if after >= before - 1e-15 * abs(before) and not dropped:
            return (new_z if after <= before else z), steps, None  # no descent beyond round-off
        z = new_z
    return z, steps, None
