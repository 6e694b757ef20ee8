"""Working set of kinks: the exact solver for depth-3 capped-ramp dictionaries (issue 13).

At depth 3 the Lasso over capped ramps ``C_ab = R_a − R_b`` (``R_k = (x − u_k)_+`` on the data)
is the problem over slope jumps ``j_k`` at the data points with penalty
``(β/2)(‖j‖₁ + |Σ_k j_k|)`` per input: a representation's ‖z‖₁ is at least half the total jump
(the largest point's jump is ``−Σ j``, its ramp is zero on the data), with equality for a
pairing of positive with negative jumps (paper-notes §2.3). Restricted to a set of kinks, the
jump problem holds *every* pairing of them, so a round only has to find new kinks, where the
pair working set (:mod:`.working_set`) also has to find the pairings one priced column at a
time. On the default backtest this takes 57 % fewer pricings and 37 % fewer restricted-solve
steps (BENCHMARKS.md, "The kink working set: the design, measured").

The outer loop is :func:`~.working_set.solve_working_set`'s: the same pricing of every capped
ramp, the same certificate on the capped-ramp Lasso, the same tolerance. The working set holds
a kink k of input i as the capped ramp ``(k, N_i − 1)``, which is ``R_k`` centred. Restricted
problems are solved exactly by feature-sign search with one linear constraint per input
(compiled in :mod:`._jump_kernel`; :func:`jump_feature_sign` is its dense numpy form, used when
a ramp is numerically dependent on the others). Solutions are returned as capped-ramp pairs
(:func:`_pairs`), so warm starts, cross-validation and canonical networks read them unchanged.

The kernel factors its active kinks (LAPACK) at the first restricted solve of a solve and
carries the factor between its rounds; its steps cost O(m·n) on m active of n held kinks, and
solves on many kinks grow slowly: past :data:`MAX_KINKS`, and whenever a restricted solve
fails, the solve stops uncertified and :func:`~convexforecast.core.fit.solve_lasso` hands its
point, and the rounds of ``max_iter`` left, to the pair working set.
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit
from sklearn.exceptions import ConvergenceWarning

from convexforecast.core.dictionaries.implicit import ImplicitDictionary, PairDictionary
from convexforecast.core.solvers._jump_kernel import OPTIMAL, jump_steps
from convexforecast.core.solvers.column_stack import CappedRampStack
from convexforecast.core.solvers.lasso import LassoSolution, dual_objective
from convexforecast.core.solvers.working_set import (
    _SUPPORT_PER_ADDED,
    FACTOR_REUSES,
    KEY_BITS,
    STALLED_ROUNDS,
    WorkingSet,
    _entering,
    price_all,
    split_codes,
    sum_by_code,
)

__all__ = ["MAX_KINKS", "is_capped_ramp", "jump_feature_sign", "jump_penalty",
           "solve_kink_working_set"]

#: Kinks beyond which a solve hands over to the pair working set: BTC at 1e-4·β_max (~1,200
#: kinks) took 408 s without this bound (over 150 s with the carried factor of 5fce3fe); none of
#: the default backtest's solves reaches it (BENCHMARKS.md, "not kept", for 768 and 1,024).
MAX_KINKS = 512


def is_capped_ramp(dictionaries: list[ImplicitDictionary]) -> bool:
    """Whether every dictionary holds all capped ramps of its input (ReLU, depth 3 and 4)."""
    return all(isinstance(d, PairDictionary) and d.depth >= 3 for d in dictionaries)


def jump_feature_sign(G: np.ndarray, q: np.ndarray, beta: float, groups: np.ndarray,
                      j: np.ndarray, tol: float = 1e-12, max_steps: int = 100_000,
                      ) -> tuple[np.ndarray, int]:
    """Exactly minimise ``½ jᵀGj − qᵀj + (β/2) Σ_i (‖j_i‖₁ + |Σ j_i|)`` from ``j`` (``groups``:
    the input of each variable); return the minimiser and the steps taken.

    Feature-sign search (Lee et al. 2007) with the sum of each input's jumps as one more signed
    quantity: on a face, every non-zero jump keeps its sign, and every input either keeps the
    sign of its sum or keeps its sum at zero (a linear constraint, whose multiplier is the sum's
    subgradient). A step solves the face's KKT system and moves to the target or to the first
    sign change. At a face optimum the most violated condition is fixed: an input's
    multiplier beyond ±β/2 frees its sum; a zero jump whose gradient leaves the band enters
    (into an input without jumps, as a pair that keeps the sum at zero when that is what the
    gradients ask for, else alone with the sum following it).
    """
    h = beta / 2.0
    d = int(groups.max()) + 1 if groups.shape[0] else 0
    j = j.astype(float).copy()
    scale = max(beta, float(np.abs(q).max(initial=0.0)))
    sums = np.bincount(groups, weights=j, minlength=d)
    free, tau = sums != 0.0, np.sign(sums)
    for step in range(max_steps):
        active = np.flatnonzero(j)
        held = np.bincount(groups[active], minlength=d) > 0
        free &= held  # an input whose jumps all left has a zero sum
        tau[~free] = 0.0
        constrained = np.flatnonzero(~free & held)
        m, c = active.shape[0], constrained.shape[0]
        multiplier = np.zeros(d)
        if m:
            kkt = np.zeros((m + c, m + c))
            kkt[:m, :m] = G[np.ix_(active, active)]
            rows = groups[active][:, None] == constrained[None, :]
            kkt[:m, m:], kkt[m:, :m] = rows, rows.T
            rhs = np.zeros(m + c)
            rhs[:m] = q[active] - h * (np.sign(j[active]) + tau[groups[active]])
            solution = np.linalg.solve(kkt, rhs)
            multiplier[constrained] = solution[m:] / h
            begin, direction = j[active], solution[:m] - j[active]
            with np.errstate(divide="ignore", invalid="ignore"):
                t_jump = -begin / direction
                sum_begin = np.bincount(groups[active], weights=begin, minlength=d)
                sum_step = np.bincount(groups[active], weights=direction, minlength=d)
                t_sum = np.maximum(-sum_begin / sum_step, 0.0)
            t_jump = np.where((t_jump > 0) & (t_jump < 1), t_jump, np.inf)
            t_sum = np.where(free & (sum_step * tau < 0) & (t_sum < 1), t_sum, np.inf)
            if min(t_jump.min(), t_sum.min()) < 1.0:
                if t_jump.min() <= t_sum.min():
                    k = int(np.argmin(t_jump))
                    moved = begin + t_jump[k] * direction
                    moved[k] = 0.0
                else:
                    i = int(np.argmin(t_sum))
                    moved = begin + t_sum[i] * direction
                    free[i], tau[i] = False, 0.0
                # jumps that reach zero together leave together (not as round-off of either sign)
                moved[np.abs(moved) <= 1e-13 * np.abs(begin).max(initial=0.0)] = 0.0
                j[active] = moved
                continue
            j[active] = solution[:m]
        gradient = G @ j - q
        for i in np.flatnonzero(~held & (np.bincount(groups, minlength=d) > 0)):
            members = gradient[groups == i]  # no jumps: the sum's best subgradient
            multiplier[i] = np.clip(-(members.max() + members.min()) / (2 * h), -1.0, 1.0)
        subgradient = np.where(free, tau, np.clip(multiplier, -1.0, 1.0))
        release = np.where(~free & held, (np.abs(multiplier) - 1.0) * h, -np.inf)
        violation = np.where(j == 0.0, np.abs(gradient + h * subgradient[groups]) - h, -np.inf)
        if max(violation.max(initial=-np.inf), release.max(initial=-np.inf)) <= tol * scale:
            return j, step
        if release.max(initial=-np.inf) >= violation.max(initial=-np.inf):
            i = int(np.argmax(release))
            free[i], tau[i] = True, np.sign(multiplier[i])
            continue
        k = int(np.argmax(violation))
        i = groups[k]
        if held[i]:
            j[k] = -1e-300 * np.sign(gradient[k] + h * subgradient[i])  # enters with this sign
            continue
        members = np.flatnonzero(groups == i)
        top, bottom = members[np.argmax(gradient[members])], members[np.argmin(gradient[members])]
        if gradient[top] - gradient[bottom] > 2 * h:  # a capped ramp: the sum stays zero
            j[top], j[bottom] = -1e-300, 1e-300
        else:  # one jump, and the sum follows it
            k, sign = (top, -1.0) if gradient[top] > 2 * h else (bottom, 1.0)
            free[i], tau[i] = True, sign
            j[k] = 1e-300 * sign
    raise RuntimeError(f"jump_feature_sign: no optimum after {max_steps} steps")


def jump_penalty(jumps: np.ndarray, inputs: np.ndarray) -> float:
    """``½ Σ_i (‖j_i‖₁ + |Σ j_i|)``, ``inputs`` holding the input of each jump: the least ‖z‖₁
    of the capped-ramp coefficients that make these jumps."""
    sums = np.bincount(inputs, weights=jumps)
    return 0.5 * (float(np.abs(jumps).sum()) + float(np.abs(sums).sum()))


#: The factor argument of :func:`jump_steps` when there is none to carry.
_NO_FACTOR = (np.empty(0, dtype=np.int64), np.empty((0, 0)), np.empty((0, 0)))


def _restricted_solve(ws: WorkingSet, y_c: np.ndarray, beta: float, n_inputs: int,
                      factor: tuple = _NO_FACTOR) -> tuple[bool, tuple]:
    """Set the working set's coefficients to the jump problem's solution restricted to its kinks
    (started from the current ones) and drop the kinks left at zero; False if no exact search
    reached it (the coefficients are then unchanged).

    ``factor``: the compiled search's factor on the current non-zeros, as the previous call
    returned it (its positions are the kept kinks'), or :data:`_NO_FACTOR`. Returns the
    factor to pass to the next call while the non-zeros stay the same (kinks appended at zero
    do not change them), or :data:`_NO_FACTOR`."""
    q = ws.correlations(y_c)
    G = np.ascontiguousarray(ws.gram)
    jumps, status, _, (active, L, W) = jump_steps(G, q, beta, ws.inputs, n_inputs, ws.coef,
                                                  1e-12, 100_000, *factor)
    kept = np.flatnonzero(jumps)
    carried = _NO_FACTOR
    if status == OPTIMAL and active.shape[0] == kept.shape[0]:  # the factor is on the kept
        carried = (np.searchsorted(kept, active), L, W)
    elif status != OPTIMAL:  # a numerically dependent ramp: the dense search
        try:
            jumps, _ = jump_feature_sign(G, q, beta, ws.inputs, ws.coef,
                                         max_steps=20 * G.shape[0] + 100)
        except (RuntimeError, np.linalg.LinAlgError):
            return False, _NO_FACTOR
    ws.coef = jumps
    ws.retain(jumps != 0.0)
    return True, carried


@njit(cache=True)
def _pair_up(inputs: np.ndarray, kinks: np.ndarray, jumps: np.ndarray, n_unique: np.ndarray,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_pairs` on jumps sorted by input, then kink."""
    m = inputs.shape[0]
    out_inputs = np.empty(m + n_unique.shape[0], dtype=np.int64)
    out_keys = np.empty(m + n_unique.shape[0], dtype=np.int64)
    out_coef = np.empty(m + n_unique.shape[0])
    count, start = 0, 0
    while start < m:
        i, stop, total = inputs[start], start, 0.0
        while stop < m and inputs[stop] == i:
            total += jumps[stop]
            stop += 1
        size = stop - start + (total != 0.0)
        at, value = np.empty(size, dtype=np.int64), np.empty(size)
        at[:stop - start], value[:stop - start] = kinks[start:stop], jumps[start:stop]
        if total != 0.0:  # the largest point's jump
            at[size - 1], value[size - 1] = n_unique[i] - 1, -total
        p, q = 0, 0
        while p < size and value[p] <= 0.0:
            p += 1
        while q < size and value[q] >= 0.0:
            q += 1
        rest_p = value[p] if p < size else 0.0
        rest_q = -value[q] if q < size else 0.0
        while p < size and q < size:
            flow = min(rest_p, rest_q)
            low, high = min(at[p], at[q]), max(at[p], at[q])
            out_inputs[count], out_keys[count] = i, low * n_unique[i] + high
            out_coef[count] = flow if at[p] == low else -flow  # C_ab = R_a − R_b
            count += 1
            rest_p -= flow
            rest_q -= flow
            if rest_p <= 1e-15 * flow:
                p += 1
                while p < size and value[p] <= 0.0:
                    p += 1
                rest_p = value[p] if p < size else 0.0
            if q < size and rest_q <= 1e-15 * flow:
                q += 1
                while q < size and value[q] >= 0.0:
                    q += 1
                rest_q = -value[q] if q < size else 0.0
        start = stop
    return out_inputs[:count], out_keys[:count], out_coef[:count]


def _pairs(ws: WorkingSet, stack: CappedRampStack) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The working set's jumps as capped-ramp pairs ``(inputs, keys, coef)``: per input,
    positive jumps paired with negative ones in kink order (the largest point's jump is
    ``−Σ j``), so ``‖z‖₁`` is :func:`jump_penalty` and ``Σ z C = Σ j R``."""
    order = np.argsort(ws.codes(), kind="stable")  # by input, then kink
    kinks, _ = stack.decode(ws.inputs[order], ws.keys[order])
    return _pair_up(ws.inputs[order], kinks, ws.coef[order], stack.n_unique)


def _start_kinks(ws: WorkingSet, warm_start: LassoSolution, stack: CappedRampStack,
                 dictionaries: list[ImplicitDictionary], beta: float) -> None:
    """Fill the working set with the kinks of a capped-ramp solution, each with its jump."""
    inputs, keys, jumps = _kinks_of_pairs(warm_start.inputs, warm_start.keys, warm_start.coef,
                                          stack.n_unique)
    ws.start_from(LassoSolution(jumps, 0.0, beta, np.inf, -np.inf, 0, "warm start",
                                inputs=inputs, keys=keys, converged=False), dictionaries)


@njit(cache=True)
def _kinks_of_pairs(inputs: np.ndarray, keys: np.ndarray, coef: np.ndarray,
                    n_unique: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kinks (inputs, keys), ordered by code, and non-zero jumps of capped ramps
    ``C_ab = R_a − R_b``: each pair's a-end gains its coefficient, its b-end loses it (an
    input's largest point has no kink); a kink's jumps are summed a-ends first."""
    m = inputs.shape[0]
    kink_codes = np.empty(2 * m, dtype=np.int64)
    jumps = np.empty(2 * m)
    count = 0
    for side in range(2):
        for t in range(m):
            size = n_unique[inputs[t]]
            end = keys[t] // size if side == 0 else keys[t] % size
            if end != size - 1:
                kink_codes[count] = (inputs[t] << KEY_BITS) + end * size + size - 1
                jumps[count] = coef[t] if side == 0 else -coef[t]
                count += 1
    distinct, summed = sum_by_code(kink_codes[:count], jumps[:count])
    nonzero = summed != 0.0
    kink_inputs, kink_keys = split_codes(distinct[nonzero])
    return kink_inputs, kink_keys, summed[nonzero]


@njit(cache=True)
def _new_kinks(c_inputs: np.ndarray, c_keys: np.ndarray, c_vals: np.ndarray,
               held: np.ndarray, n_unique: np.ndarray, beta: float, tol: float, k: int,
               ) -> tuple[np.ndarray, np.ndarray]:
    """The kinks (inputs, keys) to add: the ends, not yet held (``held``: the working set's
    codes, sorted) and not an input's largest point, of the priced pairs that
    :func:`~.working_set._entering` takes among those lacking a kink."""
    n = c_inputs.shape[0]
    ends = np.empty((n, 2), dtype=np.int64)  # each end's kink code, or -1
    strength = np.zeros(n)
    for t in range(n):
        i = c_inputs[t]
        size = n_unique[i]
        for e, end in enumerate((c_keys[t] // size, c_keys[t] % size)):
            code = (i << KEY_BITS) + end * size + size - 1
            at = np.searchsorted(held, code)
            fresh = end != size - 1 and (at == held.shape[0] or held[at] != code)
            ends[t, e] = code if fresh else -1
            if fresh:
                strength[t] = abs(c_vals[t])
    chosen = ends[_entering(strength, beta, tol, k)].ravel()
    codes_ = np.unique(chosen[chosen >= 0])
    return split_codes(codes_)


def solve_kink_working_set(dictionaries: list[ImplicitDictionary], y: np.ndarray, beta: float,
                           *, tol: float = 1e-6, max_iter: int = 500,
                           warm_start: LassoSolution | None = None, initial_size: int = 16,
                           warn: bool = True, workspace: WorkingSet | None = None,
                           ) -> LassoSolution:
    """Solve the capped-ramp Lasso ``min ½‖Σ_i A_i z_i + ξ − y‖² + β‖z‖₁`` on kinks.

    Parameters
    ----------
    dictionaries : list of PairDictionary
        One depth-3 (capped-ramp) dictionary per input column (:func:`is_capped_ramp`).
    y, beta, tol, max_iter, initial_size, warn
        As in :func:`~.working_set.solve_working_set`.
    warm_start : LassoSolution, optional
        A capped-ramp solution to start from: its kinks, with their jumps, are the first
        working set.
    workspace : WorkingSet, optional
        The working set of an earlier kink solve on the same ``dictionaries`` and ``y`` (a β
        path), updated in place. Without ``warm_start`` its kinks are the start.

    Returns
    -------
    LassoSolution
        Capped-ramp pairs and the certificate of the capped-ramp Lasso. ``converged`` is False
        when the gap is above ``tol`` after ``max_iter`` rounds, after :data:`STALLED_ROUNDS`
        rounds without progress, past :data:`MAX_KINKS` kinks, or when no exact restricted
        search succeeded.
    """
    y_mean = float(y.mean())
    y_c = y - y_mean
    ws = workspace if workspace is not None else WorkingSet.with_room_for(
        y.shape[0], 0 if warm_start is None else 2 * warm_start.coef.shape[0])
    stack = ws.stack_for(dictionaries)
    n_inputs = len(dictionaries)
    if warm_start is not None:
        _start_kinks(ws, warm_start, stack, dictionaries, beta)
    solved, factor = _restricted_solve(ws, y_c, beta, n_inputs) if len(ws.keys) \
        else (True, _NO_FACTOR)
    r = y_c - ws.cols @ ws.coef
    best_dual, primal, max_abs = -np.inf, np.inf, np.inf
    stalled, converged, n_iter = 0, False, 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        k = max(initial_size, np.count_nonzero(ws.coef) // _SUPPORT_PER_ADDED)
        max_abs, c_inputs, c_keys, c_vals = price_all(dictionaries, r, k, stack)
        previous = primal
        primal = 0.5 * float(r @ r) + beta * jump_penalty(ws.coef, ws.inputs)
        best_dual = max(best_dual, dual_objective(y_c, r, max_abs, beta))
        if primal <= 0.0 or (primal - best_dual) <= tol * primal:
            converged = True
            break
        stalled = 0 if previous - primal > 1e-15 * primal else stalled + 1
        if not solved or stalled >= STALLED_ROUNDS:
            break
        new_inputs, new_keys = _new_kinks(c_inputs, c_keys, c_vals, np.sort(ws.codes()),
                                          stack.n_unique, beta, tol, k)
        if not new_keys.shape[0]:
            break  # only pairs of held kinks violate: round-off of the restricted solve
        if ws.keys.shape[0] + new_keys.shape[0] > MAX_KINKS:
            break
        ws.append(new_inputs, new_keys, dictionaries)
        if n_iter % FACTOR_REUSES == 0:  # bound the round-off the factor's updates accumulate
            factor = _NO_FACTOR
        solved, factor = _restricted_solve(ws, y_c, beta, n_inputs, factor)
        r = y_c - ws.cols @ ws.coef
    if not converged and warn:
        warnings.warn(
            f"Kink working-set solver stopped after {n_iter} iterations with relative "
            f"duality gap {(primal - best_dual) / primal:.2e} > tol={tol:.1e}.",
            ConvergenceWarning, stacklevel=2)
    intercept = y_mean - float(ws.means @ ws.coef)
    inputs, keys, coef = _pairs(ws, stack)
    return LassoSolution(coef, intercept, float(beta), primal, best_dual, n_iter, "fast",
                         inputs=inputs, keys=keys, max_correlation=max_abs, converged=converged)
