"""Compiled feature-sign steps with an incrementally updated Cholesky factor.

:func:`feature_sign_steps` runs the classical feature-sign search (Lee et al., 2007) on a
Gram matrix while every step is well-conditioned: the active set's Cholesky factor is
extended by one forward substitution when a coordinate enters (O(a²)) and downdated by
Givens rotations when one leaves (O(a²)), the line search evaluates the objective
along the segment in closed form (O(a) per sign change), and the gradient moves with each
step by the product ``G d`` the line search needs anyway (it is recomputed in full every
:data:`FULL_GRADIENT_EVERY` steps and before optimality is declared). It hands back to the caller,
with :data:`NEEDS_ROBUST_STEP`, as soon as an entering column is numerically dependent on
the active ones or a step gives no descent; the caller then takes the eigendecomposition
step of :mod:`convexforecast.core.solvers.feature_sign`. It hands back with :data:`STALLED`
after :data:`STALL_STEPS` steps in a row that lower the objective by no more than round-off:
on large, nearly dependent active sets a factor updated over many steps can make the search
cycle between active sets of the same value, which a fresh factorisation ends.

The forward substitution's dot products may be reassociated (vectorised): the result is the
same on every run of one machine, and differs from the sequential sum by round-off only.
"""

from __future__ import annotations

import numpy as np
from numba import njit

OPTIMAL, NEEDS_ROBUST_STEP, STEP_LIMIT, STALLED = 0, 1, 2, 3
DEPENDENT_PIVOT = 1e-12  # squared pivot / squared column norm below which a column is dependent
FULL_GRADIENT_EVERY = 64  # steps between full gradients (in between: updated along each step)
STALL_STEPS = 64  # steps in a row without a decrease beyond round-off, then :data:`STALLED`


@njit(cache=True, fastmath={"reassoc"})
def _solve_lower(L: np.ndarray, m: int, b: np.ndarray) -> np.ndarray:
    """Solve ``L[:m, :m] x = b``."""
    x = np.empty(m)
    for i in range(m):
        s = b[i]
        for k in range(i):
            s -= L[i, k] * x[k]
        x[i] = s / L[i, i]
    return x


@njit(cache=True)
def _solve_upper(L: np.ndarray, m: int, b: np.ndarray) -> np.ndarray:
    """Solve ``L[:m, :m]ᵀ x = b`` (by rows of L, which are contiguous)."""
    x = b[:m].copy()
    for i in range(m - 1, -1, -1):
        x[i] /= L[i, i]
        xi, row = x[i], L[i]
        for k in range(i):
            x[k] -= row[k] * xi
    return x


@njit(cache=True)
def _append(L: np.ndarray, m: int, G: np.ndarray, active: np.ndarray, new: int) -> bool:
    """Extend the factor of ``G[active[:m]][:, active[:m]]`` by column ``new``; False if dependent."""
    b = np.empty(m)
    for p in range(m):
        b[p] = G[active[p], new]
    row = _solve_lower(L, m, b)
    pivot = G[new, new]
    for p in range(m):
        pivot -= row[p] * row[p]
    if pivot <= DEPENDENT_PIVOT * G[new, new]:
        return False
    for p in range(m):
        L[m, p] = row[p]
    L[m, m] = np.sqrt(pivot)
    return True


@njit(cache=True)
def _delete(L: np.ndarray, m: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove row and column ``j`` from the factor ``L[:m, :m]`` in place (Givens rotations);
    return the rotations ``(c, s)``: the one at k (> j) maps rows ``(a, b)`` kept alongside
    L's rows k and j to ``a' = (a + s[k] b) / c[k]``, ``b' = c[k] b − s[k] a'``."""
    x = L[:m, j].copy()
    c, s = np.ones(m), np.zeros(m)
    for k in range(j + 1, m):
        lkk = L[k, k]
        r = np.sqrt(lkk * lkk + x[k] * x[k])
        ck, sk = r / lkk, x[k] / lkk
        c[k], s[k], L[k, k] = ck, sk, r
        for i in range(k + 1, m):
            L[i, k] = (L[i, k] + sk * x[i]) / ck
            x[i] = ck * x[i] - sk * L[i, k]
    for i in range(j, m - 1):
        for k in range(i + 1):
            L[i, k] = L[i + 1, k] if k < j else L[i + 1, k + 1]
    L[m - 1, :m] = 0.0
    return c, s


@njit(cache=True)
def _gradient(G: np.ndarray, q: np.ndarray, z: np.ndarray, active: np.ndarray, m: int,
              grad: np.ndarray) -> None:
    """``grad = G z − q`` (z non-zero on ``active[:m]``), as axpys of G's contiguous rows."""
    for i in range(q.shape[0]):
        grad[i] = -q[i]
    for p in range(m):
        row, weight = G[active[p]], z[active[p]]
        for i in range(q.shape[0]):
            grad[i] += weight * row[i]


@njit(cache=True)
def feature_sign_steps(G: np.ndarray, q: np.ndarray, beta: float, z: np.ndarray, kkt_tol: float,
                       max_steps: int, factor: np.ndarray | None = None,
                       factor_order: np.ndarray | None = None,
                       ) -> tuple[np.ndarray, int, int, np.ndarray, np.ndarray]:
    """Feature-sign search on ``½ zᵀGz − qᵀz + β‖z‖₁`` from ``z`` while steps are well-posed.

    ``factor``, if given, is the lower Cholesky factor of ``G`` on the non-zeros of ``z``, in
    index order or in the order ``factor_order`` (the same indices), e.g. from LAPACK or the
    factor an earlier search ended with; without it the factor is built column by column.

    Returns
    -------
    z : ndarray
        The last iterate (a copy).
    status : int
        :data:`OPTIMAL` (KKT holds to ``kkt_tol``), :data:`NEEDS_ROBUST_STEP`,
        :data:`STALLED` or :data:`STEP_LIMIT`.
    n_steps : int
    factor, order : ndarray
        With :data:`OPTIMAL`, the Cholesky factor of ``G`` on the non-zeros of ``z`` and
        those indices in its order; empty otherwise.
    """
    n = q.shape[0]
    z = z.copy()
    L = np.zeros((n, n))
    active = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        if z[i] != 0.0:
            if factor is None and not _append(L, m, G, active, i):
                return z, NEEDS_ROBUST_STEP, 0, L[:0, :0], active[:0]
            active[m] = i
            m += 1
    if factor is not None:
        if factor_order is not None:
            active[:m] = factor_order
        for p in range(m):
            if factor[p, p] * factor[p, p] <= DEPENDENT_PIVOT * G[active[p], active[p]]:
                return z, NEEDS_ROBUST_STEP, 0, L[:0, :0], active[:0]
            for r in range(p + 1):
                L[p, r] = factor[p, r]
    grad, curvature = np.empty(n), np.empty(n)
    fresh = False  # whether grad was computed in full from z (else updated along the steps)
    reference, since = np.inf, 0  # the objective at the last decrease beyond round-off, and when
    for step in range(max_steps):
        if not fresh and step % FULL_GRADIENT_EVERY == 0:
            _gradient(G, q, z, active, m, grad)
            fresh = True
        optimal_on_active = True
        for p in range(m):
            i = active[p]
            if abs(grad[i] + beta * np.sign(z[i])) > kkt_tol:
                optimal_on_active = False
                break
        theta = np.empty(m + 1)
        for p in range(m):
            theta[p] = np.sign(z[active[p]])
        size = m
        if optimal_on_active:
            entering, largest = -1, beta + kkt_tol
            for i in range(n):
                if z[i] == 0.0 and abs(grad[i]) > largest:
                    entering, largest = i, abs(grad[i])
            if entering < 0:
                if fresh:
                    return z, OPTIMAL, step, L[:m, :m], active[:m]
                _gradient(G, q, z, active, m, grad)  # confirm on the exact gradient
                fresh = True
                continue
            if not _append(L, m, G, active, entering):
                return z, NEEDS_ROBUST_STEP, step, L[:0, :0], active[:0]
            active[m] = entering
            theta[m] = -np.sign(grad[entering])
            size = m + 1
        start = np.empty(size)
        rhs = np.empty(size)
        for p in range(size):
            start[p] = z[active[p]]
            rhs[p] = q[active[p]] - beta * theta[p]
        direction = _solve_upper(L, size, _solve_lower(L, size, rhs)) - start
        # objective along start + t·direction: t·gd + ½t²·dGd + β(‖start + t·d‖₁ − ‖start‖₁)
        gd, dGd, l1_start, current = 0.0, 0.0, 0.0, 0.0
        curvature[:] = 0.0  # G d on all columns, again as axpys of active rows
        for p in range(size):
            row, weight = G[active[p]], direction[p]
            for i in range(n):
                curvature[i] += weight * row[i]
        for p in range(size):
            i = active[p]
            gd += grad[i] * direction[p]
            l1_start += abs(start[p])
            current += 0.5 * start[p] * (grad[i] - q[i])
            dGd += direction[p] * curvature[i]
        current += beta * l1_start
        if current < reference - 1e-13 * abs(current):
            reference, since = current, step
        elif step - since >= STALL_STEPS:
            return z, STALLED, step, L[:0, :0], active[:0]
        best_t, best_delta, best_zero = -1.0, 1e-13 * abs(current), -1
        for p in range(-1, size):
            if p < 0:
                t = 1.0
            elif direction[p] != 0.0:
                t = -start[p] / direction[p]
                if not (0.0 < t < 1.0):
                    continue
            else:
                continue
            l1 = 0.0
            for r in range(size):
                if r != p:
                    l1 += abs(start[r] + t * direction[r])
            delta = t * gd + 0.5 * t * t * dGd + beta * (l1 - l1_start)
            if delta <= best_delta:
                best_t, best_delta, best_zero = t, delta, p
        if best_t < 0.0:
            return z, NEEDS_ROBUST_STEP, step, L[:0, :0], active[:0]
        for p in range(size):
            z[active[p]] = 0.0 if p == best_zero else start[p] + best_t * direction[p]
        # grad moves by t·G d, and by G's row times the round-off of the coordinate set to zero
        for i in range(n):
            grad[i] += best_t * curvature[i]
        if best_zero >= 0:
            row, leftover = G[active[best_zero]], start[best_zero] + best_t * direction[best_zero]
            for i in range(n):
                grad[i] -= leftover * row[i]
        fresh = False
        m = size
        for p in range(m - 1, -1, -1):
            if z[active[p]] == 0.0:
                _delete(L, m, p)
                for r in range(p, m - 1):
                    active[r] = active[r + 1]
                m -= 1
    return z, STEP_LIMIT, max_steps, L[:0, :0], active[:0]
