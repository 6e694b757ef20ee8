"""Compiled exact solve of the restricted jump problem of a kink working set (:mod:`.kink_set`),

    min_j ½ jᵀGj − qᵀj + (β/2) Σ_i (‖j_i‖₁ + |Σ_k j_ik|)      (``groups[k]`` = i),

by feature-sign search with one linear constraint per input whose jump sum is held at zero
(:func:`.kink_set.jump_feature_sign` is its dense numpy form). The active jumps' Cholesky
factor L is computed by LAPACK at the start (or carried from a previous search), updated by one
row when a jump enters and by Givens rotations when one leaves (the kernel of
:mod:`._feature_sign_kernel`), and so is W = L⁻¹Eᵀ, E holding one indicator row per input over
the active jumps: a face solve is then two triangular solves and a c × c system for the c
constrained inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from convexforecast.core.solvers._feature_sign_kernel import (
    DEPENDENT_PIVOT,
    _solve_lower,
    _solve_upper,
)
from convexforecast.core.solvers._feature_sign_kernel import _append as _append_to_factor
from convexforecast.core.solvers._feature_sign_kernel import _delete as _delete_from_factor

OPTIMAL, DEPENDENT, STEP_LIMIT = 0, 1, 2


@njit(cache=True)
def _append(L, W, m, G, active, groups, new) -> bool:
    """Extend L (:func:`._feature_sign_kernel._append`) and W's rows by the jump ``new``; False
    if its ramp is numerically dependent."""
    if not _append_to_factor(L, m, G, active, new):
        return False
    _extend_w(L, W, m, groups[new])
    return True


@njit(cache=True)
def _extend_w(L, W, m, group) -> None:
    """W's row m from L's: ``L[m] · W[:, r] + L[m, m] W[m, r] = [group == r]``."""
    w = W[m]
    w[:] = 0.0
    w[group] = 1.0
    for p in range(m):
        lp, wp = L[m, p], W[p]
        for r in range(w.shape[0]):
            w[r] -= lp * wp[r]
    for r in range(w.shape[0]):
        w[r] /= L[m, m]


@njit(cache=True)
def _factor(L, W, G, j, active, groups) -> int:
    """Factor the Gram matrix of the non-zero jumps (in index order) into L and W by LAPACK
    and fill ``active``; their number, or −1 if a ramp is numerically dependent on those
    before it (the pivot test of :func:`._feature_sign_kernel._append`)."""
    m = 0
    for k in range(j.shape[0]):
        if j[k] != 0.0:
            active[m] = k
            m += 1
    if m == 0:
        return 0
    S = np.empty((m, m))
    for a in range(m):
        row = G[active[a]]
        for b in range(m):
            S[a, b] = row[active[b]]
    try:
        F = np.linalg.cholesky(S)
    except Exception:  # not positive definite
        return -1
    for p in range(m):
        if F[p, p] * F[p, p] <= DEPENDENT_PIVOT * S[p, p]:
            return -1
        for q in range(p + 1):
            L[p, q] = F[p, q]
        _extend_w(L, W, p, groups[active[p]])
    return m


@njit(cache=True)
def _delete(L, W, m, j) -> None:
    """Remove jump ``j`` (position) from L (:func:`._feature_sign_kernel._delete`) and W in
    place: the rotations that restore L's triangle act on W's rows as well (W' = L'⁻¹E'ᵀ)."""
    w = W[j].copy()
    c, s = _delete_from_factor(L, m, j)
    for k in range(j + 1, m):
        ck, sk, row = c[k], s[k], W[k]
        for r in range(row.shape[0]):
            row[r] = (row[r] + sk * w[r]) / ck
            w[r] = ck * w[r] - sk * row[r]
    for i in range(j, m - 1):
        W[i] = W[i + 1]
    W[m - 1] = 0.0


@njit(cache=True)
def jump_steps(G, q, beta, groups, n_groups, j, tol, max_steps, start_active, start_L, start_W):
    """Feature-sign search on the jump problem from ``j``, to violations at most ``tol`` times
    ``max(β, ‖q‖_∞)``; returns ``(j, status, steps, (active, L, W))``, status
    :data:`OPTIMAL`, :data:`DEPENDENT` (a jump's ramp is numerically dependent on the active
    ones: ``j`` is where the search stopped) or :data:`STEP_LIMIT`, and the factor the search
    ended with: L and W on the jumps ``active``, in that order.

    ``start_active``, ``start_L``, ``start_W``: such a factor on exactly the non-zeros of
    ``j`` (a previous search's, carried), or empty arrays to factor them here.
    """
    h = beta / 2.0
    n = q.shape[0]
    j = j.copy()
    scale = beta
    for i in range(n):
        scale = max(scale, abs(q[i]))
    L = np.zeros((n, n))
    W = np.zeros((n, n_groups))
    active = np.empty(n, dtype=np.int64)
    no_factor = (active[:0], L[:0, :0], W[:0])  # returned unless the search is optimal
    m = start_active.shape[0]
    if m:
        active[:m], L[:m, :m], W[:m] = start_active, start_L, start_W
    else:
        m = _factor(L, W, G, j, active, groups)
    if m < 0:
        return j, DEPENDENT, 0, no_factor
    sums = np.zeros(n_groups)
    for k in range(n):
        sums[groups[k]] += j[k]
    free = np.zeros(n_groups, dtype=np.bool_)
    tau = np.zeros(n_groups)
    for i in range(n_groups):
        if sums[i] != 0.0:
            free[i], tau[i] = True, np.sign(sums[i])
    grad = np.empty(n)
    for step in range(max_steps):
        held = np.zeros(n_groups, dtype=np.bool_)
        for p in range(m):
            held[groups[active[p]]] = True
        for i in range(n_groups):
            if not held[i]:
                free[i], tau[i] = False, 0.0
        constrained = np.empty(n_groups, dtype=np.int64)
        c = 0
        for i in range(n_groups):
            if held[i] and not free[i]:
                constrained[c] = i
                c += 1
        multiplier = np.zeros(n_groups)
        if m:
            rhs = np.empty(m)
            for p in range(m):
                k = active[p]
                rhs[p] = q[k] - h * (np.sign(j[k]) + tau[groups[k]])
            y = _solve_lower(L, m, rhs)
            if c:
                S = np.empty((c, c))
                t = np.empty(c)
                for a in range(c):
                    ca = constrained[a]
                    s = 0.0
                    for p in range(m):
                        s += W[p, ca] * y[p]
                    t[a] = s
                    for b in range(a + 1):
                        cb = constrained[b]
                        s = 0.0
                        for p in range(m):
                            s += W[p, ca] * W[p, cb]
                        S[a, b] = s
                        S[b, a] = s
                lam = np.linalg.solve(S, t)
                for a in range(c):
                    multiplier[constrained[a]] = lam[a] / h
                    for p in range(m):
                        y[p] -= W[p, constrained[a]] * lam[a]
            target = _solve_upper(L, m, y)
            best_t, kind, which = 1.0, 0, -1
            for p in range(m):
                d = target[p] - j[active[p]]
                if d != 0.0:
                    tp = -j[active[p]] / d
                    if 0.0 < tp < best_t:
                        best_t, kind, which = tp, 1, p
            s0 = np.zeros(n_groups)
            ds = np.zeros(n_groups)
            for p in range(m):
                g = groups[active[p]]
                s0[g] += j[active[p]]
                ds[g] += target[p] - j[active[p]]
            for i in range(n_groups):
                if free[i] and ds[i] * tau[i] < 0.0:
                    ti = max(-s0[i] / ds[i], 0.0)
                    if ti < best_t:
                        best_t, kind, which = ti, 2, i
            if kind:
                biggest = 0.0
                for p in range(m):
                    biggest = max(biggest, abs(j[active[p]]))
                for p in range(m):
                    k = active[p]
                    j[k] = j[k] + best_t * (target[p] - j[k])
                    if abs(j[k]) <= 1e-13 * biggest:
                        j[k] = 0.0
                if kind == 1:
                    j[active[which]] = 0.0
                else:
                    free[which], tau[which] = False, 0.0
                for p in range(m - 1, -1, -1):
                    if j[active[p]] == 0.0:
                        _delete(L, W, m, p)
                        for r in range(p, m - 1):
                            active[r] = active[r + 1]
                        m -= 1
                continue
            for p in range(m):
                j[active[p]] = target[p]
        for k in range(n):
            grad[k] = -q[k]
        for p in range(m):
            row, weight = G[active[p]], j[active[p]]
            for k in range(n):
                grad[k] += weight * row[k]
        lowest = np.full(n_groups, np.inf)
        highest = np.full(n_groups, -np.inf)
        for k in range(n):
            lowest[groups[k]] = min(lowest[groups[k]], grad[k])
            highest[groups[k]] = max(highest[groups[k]], grad[k])
        sub = np.empty(n_groups)
        best_release, release_at = -np.inf, -1
        for i in range(n_groups):
            if free[i]:
                sub[i] = tau[i]
            elif held[i]:
                sub[i] = min(max(multiplier[i], -1.0), 1.0)
                if (abs(multiplier[i]) - 1.0) * h > best_release:
                    best_release, release_at = (abs(multiplier[i]) - 1.0) * h, i
            elif highest[i] > -np.inf:
                sub[i] = min(max(-(highest[i] + lowest[i]) / (2 * h), -1.0), 1.0)
            else:
                sub[i] = 0.0
        best_violation, entering = -np.inf, -1
        for k in range(n):
            if j[k] == 0.0:
                v = abs(grad[k] + h * sub[groups[k]]) - h
                if v > best_violation:
                    best_violation, entering = v, k
        if max(best_violation, best_release) <= tol * scale:
            return j, OPTIMAL, step, (active[:m], L[:m, :m], W[:m])
        if best_release >= best_violation:
            free[release_at], tau[release_at] = True, np.sign(multiplier[release_at])
            continue
        i = groups[entering]
        if held[i]:
            new = np.array([entering])
            signs = np.array([-np.sign(grad[entering] + h * sub[i])])
        else:
            top, bottom = -1, -1
            for k in range(n):
                if groups[k] == i:
                    if top < 0 or grad[k] > grad[top]:
                        top = k
                    if bottom < 0 or grad[k] < grad[bottom]:
                        bottom = k
            if grad[top] - grad[bottom] > 2 * h:  # a capped ramp: the sum stays zero
                new, signs = np.array([top, bottom]), np.array([-1.0, 1.0])
            else:  # one jump, and the sum follows it
                if grad[top] > 2 * h:
                    new, signs = np.array([top]), np.array([-1.0])
                else:
                    new, signs = np.array([bottom]), np.array([1.0])
                free[i], tau[i] = True, signs[0]
        for a in range(new.shape[0]):
            if not _append(L, W, m, G, active, groups, new[a]):
                return j, DEPENDENT, step, no_factor
            active[m] = new[a]
            m += 1
            j[new[a]] = 1e-300 * signs[a]
    return j, STEP_LIMIT, max_steps, no_factor
