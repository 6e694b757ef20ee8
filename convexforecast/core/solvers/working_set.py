"""Exact working-set solver for the Lasso over implicit dictionaries (solver-notes §6.2).

Outer loop (column generation): solve the Lasso restricted to a small working set W
exactly, price *every* column of every input's dictionary against the residual (O(N)
per input for ramp families), stop when the relative duality gap ``(P − D)/P`` is at
most ``tol``, else add the most violating columns to W. The restricted problem is solved
by feature-sign search (an exact active-set method, Lee et al. 2007) on the Gram matrix of
W, updated incrementally; plain coordinate descent stalls on these coherent columns. Its
well-conditioned steps run compiled (numba) on an incrementally updated Cholesky factor;
steps on numerically dependent active sets fall back to an eigendecomposition.

The full dictionary is never materialised: peak memory is O(n·|W|) plus O(N) per input.
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit
from sklearn.exceptions import ConvergenceWarning

from convexforecast.core.dictionaries.implicit import ImplicitDictionary
from convexforecast.core.solvers.column_stack import CappedRampStack
from convexforecast.core.solvers.feature_sign import feature_sign
from convexforecast.core.solvers.lasso import LassoSolution, dual_objective

__all__ = ["WorkingSet", "beta_max", "codes", "price_all", "solve_working_set"]

#: The working set's buffers grow to the columns needed rounded up to a multiple of this.
_GROWTH_STEP = 16

#: Columns a working set's buffers hold before they first grow.
_INITIAL_CAPACITY = 64

#: A round adds at most one violator per this many columns of the support (or ``initial_size``):
#: each costs an n-row Gram update and many leave again, so an eighth of the support per round
#: costs less time than a quarter or a half (BENCHMARKS.md, "What moved the issue-13 figures").
_SUPPORT_PER_ADDED = 8

#: Restricted solves in a row that start from the Cholesky factor the previous one ended with
#: (instead of a LAPACK factorisation, O(a³) on a active columns); then it is recomputed, which
#: bounds the round-off its updates accumulate.
FACTOR_REUSES = 16

#: Rounds in a row without the decrease exact arithmetic guarantees before the solver stops.
STALLED_ROUNDS = 15


class WorkingSet:
    """Centred working-set columns with an incrementally maintained Gram matrix.

    Columns and Gram matrix live in preallocated buffers (columns Fortran-ordered); updates
    compact the kept columns and append new ones in place. The column buffer (n × capacity,
    the solver's one O(n·|W|) array) grows by reallocation in place, to the size needed
    rounded up to :data:`_GROWTH_STEP` columns: a copy into a doubled buffer would hold old and
    new at once (three times the columns) and leave up to half of it unused.
    """

    def __init__(self, n: int, capacity: int = _INITIAL_CAPACITY) -> None:
        self.inputs = np.empty(0, dtype=np.int64)
        self.keys = np.empty(0, dtype=np.int64)
        self.means = np.empty(0)
        self.coef = np.empty(0)
        self._cols = np.empty((n, capacity), order="F")
        self._gram = np.empty((capacity, capacity))
        self._stack: tuple | None = None  # (dictionaries, their CappedRampStack or None)
        self._factor: tuple | None = None  # (codes in factor order, factor, times carried)
        self._target: np.ndarray | None = None  # the centred target of the correlations
        self._correlations = np.empty(0)  # columnᵀ target, per column, once a target is set

    @classmethod
    def with_room_for(cls, n: int, columns: int) -> WorkingSet:
        """A working set on ``n`` rows whose buffers hold ``columns`` columns (a warm start's)
        and the rounds after them without growing: growth copies them."""
        return cls(n, capacity=max(_INITIAL_CAPACITY, columns + 3 * _GROWTH_STEP))

    @property
    def cols(self) -> np.ndarray:
        return self._cols[:, :self.keys.shape[0]]

    @property
    def gram(self) -> np.ndarray:
        size = self.keys.shape[0]
        return self._gram[:size, :size]

    def codes(self) -> np.ndarray:
        """One integer per column, ``input · 2⁴⁰ + key`` (see :func:`_codes`)."""
        return codes(self.inputs, self.keys)

    def _reserve(self, size: int) -> None:
        capacity = self._gram.shape[0]
        if size <= capacity:
            return
        capacity = -(-size // _GROWTH_STEP) * _GROWTH_STEP
        old = self.keys.shape[0]
        try:  # Fortran order: the kept columns stay where they are, new ones follow
            if self._cols.flags.c_contiguous:  # n × 1 is C-ordered too: resize would reshape it
                raise ValueError
            self._cols.resize((self._cols.shape[0], capacity))
        except ValueError:  # one column, or a view of the buffer is alive: copy instead
            cols = np.empty((self._cols.shape[0], capacity), order="F")
            cols[:, :old] = self._cols[:, :old]
            self._cols = cols
        gram = np.empty((capacity, capacity))
        gram[:old, :old] = self._gram[:old, :old]
        self._gram = gram

    def start_from(self, start: LassoSolution, dictionaries: list[ImplicitDictionary]) -> None:
        """Keep the columns of ``start`` already present (their Gram entries are reused), drop
        the others, set the coefficients to ``start``'s and append its missing columns.

        On a β path warm-started from a previous refit, the dropped columns are those of the
        path's previous point that the start does not use: few of them survive the first
        restricted solve (2 of 24 on the BTC backtest), so keeping them costs more Gram
        products than the rounds they save (BENCHMARKS.md, "What moved the issue-13 figures").
        """
        keep, found, at = _match(self.codes(), codes(start.inputs, start.keys))
        self.retain(keep)
        self.coef = np.zeros(self.keys.shape[0])
        self.coef[at[found]] = start.coef[found]
        if not found.all():
            self.append(start.inputs[~found], start.keys[~found], dictionaries,
                        start.coef[~found])

    def correlations(self, target: np.ndarray) -> np.ndarray:
        """``A_Wᵀ target``: kept per column, so that only new columns cost a pass over the
        rows while the target stays the same (a solve, or a β path)."""
        if self._target is None or not np.array_equal(self._target, target):
            self._target = target.copy()
            self._correlations = self.cols.T @ target
        return self._correlations

    def carried_factor(self) -> tuple[np.ndarray, np.ndarray, int] | None:
        """The Cholesky factor the last restricted solve ended with, as ``(order, L, times
        carried)`` (``order``: the columns in the factor's order), if the non-zero coefficients
        are still its columns and it was carried fewer than :data:`FACTOR_REUSES` times."""
        if self._factor is None or self._factor[2] >= FACTOR_REUSES:
            return None
        found, at = _locate(self._factor[0], self.codes())
        nonzero = np.flatnonzero(self.coef)
        if not found.all() or not np.array_equal(np.sort(at), nonzero):
            return None
        return at, self._factor[1], self._factor[2]

    def keep_factor(self, factor: tuple[np.ndarray, np.ndarray] | None, carried: int) -> None:
        """Keep a restricted solve's final factor ``(order, L)`` (or None) for the next one."""
        self._factor = None if factor is None else (self.codes()[factor[0]], factor[1], carried)

    def stack_for(self, dictionaries: list[ImplicitDictionary]) -> CappedRampStack | None:
        """The :class:`CappedRampStack` of ``dictionaries`` (built once per list), or None."""
        if self._stack is None or self._stack[0] is not dictionaries:
            self._stack = (dictionaries, CappedRampStack.of(dictionaries))
        return self._stack[1]

    def _fill(self, inputs: np.ndarray, keys: np.ndarray, dictionaries: list[ImplicitDictionary],
              out: np.ndarray) -> np.ndarray:
        """Write the centred columns (``inputs``, ``keys``; sorted by input) into ``out``."""
        stack = self.stack_for(dictionaries)
        if stack is not None:  # one compiled pass over all inputs
            return stack.centred_columns(inputs, keys, out)
        means = np.empty(keys.shape[0])
        bounds = np.searchsorted(inputs, np.arange(len(dictionaries) + 1))
        for i in np.flatnonzero(np.diff(bounds)):
            lo, hi = bounds[i], bounds[i + 1]
            means[lo:hi] = dictionaries[i].centred_columns(keys[lo:hi], out[:, lo:hi])
        return means

    def retain(self, keep: np.ndarray) -> None:
        """Keep only the columns ``keep`` (boolean), compacted in place."""
        kept = np.flatnonzero(keep)
        if kept.shape[0] == keep.shape[0]:
            return
        _compact(self._cols, self._gram, kept)
        self.means, self.inputs = self.means[kept], self.inputs[kept]
        self.keys, self.coef = self.keys[kept], self.coef[kept]
        if self._target is not None:
            self._correlations = self._correlations[kept]

    def append(self, inputs: np.ndarray, keys: np.ndarray, dictionaries: list[ImplicitDictionary],
               coef: np.ndarray | None = None) -> np.ndarray:
        """Append (input, key) columns, grouped by input (stable within an input), with
        coefficients ``coef`` (default zero); return that order (the last columns are the
        given ones taken in it)."""
        m, k = self.keys.shape[0], keys.shape[0]
        order = np.argsort(inputs, kind="stable")
        inputs, keys = inputs[order], keys[order]
        coef = np.zeros(k) if coef is None else coef[order]
        self._reserve(m + k)
        new_means = self._fill(inputs, keys, dictionaries, self._cols[:, m:m + k])
        new_cols = self._cols[:, m:m + k]
        cross = self._cols[:, :m].T @ new_cols
        self._gram[:m, m:m + k] = cross
        self._gram[m:m + k, :m] = cross.T
        self._gram[m:m + k, m:m + k] = new_cols.T @ new_cols
        self.means = np.concatenate([self.means, new_means])
        self.inputs = np.concatenate([self.inputs, inputs])
        self.keys = np.concatenate([self.keys, keys])
        self.coef = np.concatenate([self.coef, coef])
        if self._target is not None:
            self._correlations = np.concatenate([self._correlations,
                                                 new_cols.T @ self._target])
        return order


@njit(cache=True)
def _compact(cols: np.ndarray, gram: np.ndarray, kept: np.ndarray) -> None:
    """Move columns ``kept`` (increasing) to positions ``0, 1, …`` of ``cols`` and ``gram`` in
    place, skipping those in place already: every read is at or after the position written,
    so nothing is overwritten before it is read."""
    m = kept.shape[0]
    moved = 0
    while moved < m and kept[moved] == moved:
        moved += 1
    for t in range(moved, m):
        source = kept[t]
        for i in range(cols.shape[0]):
            cols[i, t] = cols[i, source]
    for a in range(m):
        row = kept[a]
        for b in range(moved if a < moved else 0, m):
            gram[a, b] = gram[row, kept[b]]


def _restricted_solve(ws: WorkingSet, y_c: np.ndarray, beta: float) -> None:
    """Set the working set's coefficients to the Lasso solution restricted to its columns
    (started from the current ones), then drop the columns left at zero: the residual then
    reads only the non-zeros."""
    q = ws.correlations(y_c)
    carried = ws.carried_factor()
    z, _, factor = feature_sign(ws.gram, q, beta, ws.coef, max_steps=50 * len(q) + 100,
                                factor=None if carried is None else carried[:2])
    ws.keep_factor(factor, 0 if carried is None else carried[2] + 1)
    ws.coef = z
    ws.retain(z != 0.0)


@njit(cache=True)
def _entering(correlations: np.ndarray, beta: float, tol: float, k: int) -> np.ndarray:
    """Which priced columns enter the working set: at most ``k`` of those whose correlation
    ``|c_j|`` (zero for columns held already) exceeds β by more than ``tol / 2`` relative,
    strongest first; if there are none, those exceeding β at all.

    A column with a smaller excess cannot keep the gap above ``tol`` by itself: with every
    correlation at most ``β(1 + e)``, the residual scaled by ``1 / (1 + e)`` is a dual point
    within ``e·P`` of the primal P (after an exact restricted solve). Such columns, many of them
    above β only by round-off, would cost Gram products and leave again.
    """
    for floor in (beta * (1.0 + 0.5 * tol), beta):
        candidates = np.flatnonzero(correlations > floor)
        if candidates.shape[0]:
            break
    strongest = candidates[np.argsort(-correlations[candidates], kind="mergesort")]  # stable
    return strongest[:k]


def _guaranteed_decrease(norms: np.ndarray, correlations: np.ndarray, beta: float) -> float:
    """The least primal decrease the next exact restricted solve brings, in exact arithmetic,
    once columns of squared norms ``norms`` (G_jj) and correlations ``correlations`` (c_j,
    with the residual) are in the working set.

    Moving only column j from the current point lowers the objective by
    ``(|c_j| − β)² / (2 G_jj)``; the restricted optimum over a working set that contains j is
    at least that much lower.
    """
    if not norms.shape[0]:
        return 0.0
    excess = np.abs(correlations) - beta
    return float(np.max(np.where(norms > 0.0, excess * excess / (2.0 * norms), 0.0)))


#: A column's code is ``input · 2^KEY_BITS + key``: keys are below 2⁴⁰ (N² for N < 10⁶ points).
KEY_BITS = 40


def codes(inputs: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Unique integer per (input, key) pair (:data:`KEY_BITS`)."""
    return (inputs.astype(np.int64) << KEY_BITS) + keys


@njit(cache=True)
def split_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``(inputs, keys)`` of :func:`codes`."""
    inputs = codes >> KEY_BITS
    return inputs, codes - (inputs << KEY_BITS)


@njit(cache=True)
def _match(held: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which ``held`` codes are ``wanted`` (``keep``), which ``wanted`` codes are held
    (``found``) and where each found one is among the kept (``at``); codes are distinct."""
    order = np.argsort(wanted)
    ordered = wanted[order]
    keep = np.zeros(held.shape[0], dtype=np.bool_)
    found = np.zeros(wanted.shape[0], dtype=np.bool_)
    at = np.zeros(wanted.shape[0], dtype=np.int64)
    kept = 0
    for i in range(held.shape[0]):
        s = np.searchsorted(ordered, held[i])
        if s < ordered.shape[0] and ordered[s] == held[i]:
            keep[i], found[order[s]], at[order[s]] = True, True, kept
            kept += 1
    return keep, found, at


@njit(cache=True)
def sum_by_code(codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``codes`` (increasing) and the sum of each one's ``values``, added in
    index order (``np.unique`` and ``np.bincount``, in one pass)."""
    order = np.argsort(codes, kind="mergesort")  # stable: equal codes in index order
    distinct = np.empty(codes.shape[0], dtype=np.int64)
    sums = np.empty(codes.shape[0])
    count = 0
    for j in order:
        if count == 0 or codes[j] != distinct[count - 1]:
            distinct[count], sums[count] = codes[j], 0.0
            count += 1
        sums[count - 1] += values[j]
    return distinct[:count], sums[:count]


def _locate(values: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which ``values`` occur in ``codes`` (distinct), and where (valid where found)."""
    if not codes.shape[0]:
        return np.zeros(values.shape[0], dtype=bool), np.zeros(values.shape[0], dtype=np.int64)
    order = np.argsort(codes)
    at = order[np.minimum(np.searchsorted(codes, values, sorter=order), codes.shape[0] - 1)]
    return codes[at] == values, at


def price_all(dictionaries: list[ImplicitDictionary], r: np.ndarray, k: int,
              stack: CappedRampStack | None = None,
              ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Exact ``‖A_cᵀ r‖_∞`` over all inputs and the top-k violators of each input
    (``stack``: the same in one compiled call, if it holds capped-ramp dictionaries)."""
    if stack is not None and stack.all_pairs:
        return stack.price(r, k)
    max_abs, inputs, keys, vals = 0.0, [], [], []
    for i, dictionary in enumerate(dictionaries):
        m, kk, vv = dictionary.price(r, k)
        max_abs = max(max_abs, m)
        inputs.append(np.full(len(kk), i, dtype=np.int64))
        keys.append(np.asarray(kk, dtype=np.int64))
        vals.append(vv)
    return max_abs, np.concatenate(inputs), np.concatenate(keys), np.concatenate(vals)


def beta_max(dictionaries: list[ImplicitDictionary], y: np.ndarray) -> float:
    """The smallest β for which z = 0 is optimal: ``‖A_cᵀ(y − ȳ)‖_∞``."""
    return price_all(dictionaries, y - y.mean(), 1)[0]


def solve_working_set(dictionaries: list[ImplicitDictionary], y: np.ndarray, beta: float, *,
                      tol: float = 1e-6, max_iter: int = 500,
                      warm_start: LassoSolution | None = None,
                      initial_size: int = 16, warn: bool = True,
                      workspace: WorkingSet | None = None) -> LassoSolution:
    """Solve ``min ½‖Σ_i A_i z_i + ξ − y‖² + β‖z‖₁`` to relative duality gap ``tol``.

    Parameters
    ----------
    dictionaries : list of ImplicitDictionary
        One implicit dictionary per input column.
    y : ndarray of shape (n,)
        Target.
    beta : float
        Penalty strength (> 0).
    tol : float
        Stop when ``(P − D) / P <= tol``.
    max_iter : int
        Maximum number of outer (pricing) iterations; a ConvergenceWarning is raised
        if the gap is still above ``tol`` after them.
    warm_start : LassoSolution, optional
        A previous solution (e.g. at a larger β on a path) to start from: its columns are
        the first working set, optimised on before the first pricing.
    initial_size : int
        Most columns added per iteration while the support is small: each iteration adds
        at most ``max(initial_size, support // 8)`` violators (and asks each input's pricing
        for up to that many; capped-ramp inputs return pairs with distinct ends). Warm-started
        solves need few new columns, and 16 instead of 32 makes the default backtest 7 %
        faster while cold solves at scale stay within a few per cent (BENCHMARKS.md, "What
        moved the issue-13 figures").
    warn : bool
        Emit a ConvergenceWarning when stopping above ``tol``: after ``max_iter``
        iterations, or after :data:`STALLED_ROUNDS` iterations in a row whose primal fell by
        less than half the decrease that exact arithmetic guarantees for the columns added
        (round-off, near interpolation).
    workspace : WorkingSet, optional
        The working set of an earlier solve on the same ``dictionaries`` and ``y`` (a β
        path): its columns and Gram matrix are reused, and it is updated in place. Without
        ``warm_start`` that solve's solution is the start.
    """
    y_mean = float(y.mean())
    y_c = y - y_mean
    ws = workspace if workspace is not None else WorkingSet.with_room_for(
        y.shape[0], 0 if warm_start is None else warm_start.coef.shape[0])
    if warm_start is not None:
        ws.start_from(warm_start, dictionaries)
    if len(ws.keys):
        # optimise on the start's columns first: the first pricing then finds the columns
        # missing from them, not the errors of a start made for other data or another β
        _restricted_solve(ws, y_c, beta)
    r = y_c - ws.cols @ ws.coef
    best_dual, primal, max_abs = -np.inf, np.inf, np.inf
    guaranteed, stalled, converged = 0.0, 0, False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        support = np.count_nonzero(ws.coef)
        k = max(initial_size, support // _SUPPORT_PER_ADDED)
        max_abs, c_inputs, c_keys, c_vals = price_all(dictionaries, r, k,
                                                      ws.stack_for(dictionaries))
        previous, primal = primal, 0.5 * float(r @ r) + beta * float(np.abs(ws.coef).sum())
        best_dual = max(best_dual, dual_objective(y_c, r, max_abs, beta))
        if primal <= 0.0 or (primal - best_dual) <= tol * primal:
            converged = True
            break
        # Progress is judged on the primal, not on the gap: far from the optimum the dual
        # point (the residual scaled by β / max_abs) stays poor, so the gap can stay flat
        # for many rounds that each lower the primal as much as exact arithmetic promises.
        progressed = previous - primal > 0.0 and previous - primal >= 0.5 * guaranteed
        stalled = 0 if progressed else stalled + 1
        if stalled >= STALLED_ROUNDS:
            break  # round-off undoes the promised decrease (near-interpolation): the caller decides
        fresh = ~_locate(codes(c_inputs, c_keys), ws.codes())[0]
        order = _entering(np.where(fresh, np.abs(c_vals), 0.0), beta, tol, k)
        added = ws.append(c_inputs[order], c_keys[order], dictionaries)
        guaranteed = _guaranteed_decrease(ws.gram.diagonal()[ws.keys.shape[0] - order.shape[0]:],
                                          c_vals[order][added], beta)
        _restricted_solve(ws, y_c, beta)
        r = y_c - ws.cols @ ws.coef
    if not converged and warn:
        warnings.warn(
            f"Working-set solver stopped after {n_iter} iterations with relative "
            f"duality gap {(primal - best_dual) / primal:.2e} > tol={tol:.1e}.",
            ConvergenceWarning, stacklevel=2,
        )
    nz = ws.coef != 0.0
    intercept = y_mean - float(ws.means[nz] @ ws.coef[nz])
    return LassoSolution(ws.coef[nz], intercept, float(beta), primal, best_dual, n_iter, "fast",
                         inputs=ws.inputs[nz], keys=ws.keys[nz], max_correlation=max_abs,
                         converged=converged)
