"""Closed-form evaluation of canonical ReLU fits of depth 2 and 3 (for scoring β paths).

On the data, a working-set solution over capped-ramp columns is, per input, a
piecewise-linear function with kinks at the distinct data points ``u_0 < … < u_{N−1}``. Its
canonical network (:mod:`.decomposition`) has kinks only there too, so on ``[u_0, u_{N−1}]``
it is the linear interpolant of its values at the data points. Beyond them it is linear,
with the slopes the decomposition gives its end pieces:

* right of ``u_{N−1}``: the last secant slope (every piece reaching ``u_{N−1}`` is a right
  ramp);
* left of ``u_0`` at depth 3: the first secant slope less the signed height of the skyline
  brick that spans all the data (that brick is a right ramp, flat on the left);
* left of ``u_0`` at depth 2: minus the weight the decomposition puts on left ramps.

:class:`Interpolant` holds that function by its values where it may bend (the ends of the
data and the ends of the solution's columns), built in O(m log m) for m columns per input,
without building the network's ``Feature`` objects; it predicts what the canonical
:class:`~.convex_fit.ConvexFit` of the same solution predicts, up to round-off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from convexforecast.core.canonical.decomposition import ZERO_SLOPE
from convexforecast.core.dictionaries.implicit import PairDictionary
from convexforecast.core.solvers.column_stack import CappedRampStack
from convexforecast.core.solvers.lasso import LassoSolution

__all__ = ["Interpolant"]


@njit(cache=True)
def _left_slope(slopes: np.ndarray, depth: int) -> float:
    """Slope left of the smallest data point of the canonical function with these secant slopes."""
    tol = ZERO_SLOPE * np.abs(slopes).max()
    if depth == 2:  # minus the weight on left ramps (see decomposition._decompose_depth2)
        pos, neg = 0.0, 0.0
        for k in range(slopes.shape[0] - 1):
            jump = slopes[k + 1] - slopes[k]
            if jump > tol:
                pos += jump
            elif jump < -tol:
                neg -= jump
        return -min(max(-slopes[0], -neg), pos)
    span = 0.0  # signed height of the brick spanning [u_0, u_{N−1}] (see decomposition._skyline)
    for sign in (1.0, -1.0):
        lowest = np.inf
        for k in range(slopes.shape[0]):
            level = max(sign * slopes[k], 0.0)
            lowest = min(lowest, level if level > tol else 0.0)
        span += sign * lowest
    return slopes[0] - span


@njit(cache=True)
def _fit_input(u: np.ndarray, a: np.ndarray, b: np.ndarray, coef: np.ndarray, depth: int,
               ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Breakpoints (the ends ``u_0``, ``u_{N−1}`` and the columns' ends), values there and end
    slopes of ``Σ coef_t · clip(x − u_{a_t}, 0, u_{b_t} − u_{a_t})``'s canonical function
    (zero at ``u_0``): between breakpoints it is linear."""
    ends = np.unique(np.concatenate((np.array([0, u.shape[0] - 1]), a, b)))
    jumps = np.zeros(ends.shape[0])
    for t in range(a.shape[0]):  # column t has slope 1 from u_{a_t} to u_{b_t}
        jumps[np.searchsorted(ends, a[t])] += coef[t]
        jumps[np.searchsorted(ends, b[t])] -= coef[t]
    slopes = np.cumsum(jumps[:-1])  # one per piece between breakpoints
    knots = u[ends]
    values = np.zeros(ends.shape[0])
    for k in range(ends.shape[0] - 1):
        values[k + 1] = values[k] + slopes[k] * (knots[k + 1] - knots[k])
    return knots, values, _left_slope(slopes, depth), slopes[-1]


@njit(cache=True)
def _fit_inputs(u: np.ndarray, offsets: np.ndarray, n_unique: np.ndarray, inputs: np.ndarray,
                a: np.ndarray, b: np.ndarray, coef: np.ndarray, depth: int,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_fit_input` of every input with columns, concatenated in input order: knots,
    values, each input's number of knots (zero without columns), left and right slopes."""
    d = n_unique.shape[0]
    knots, values = np.empty(2 * (d + a.shape[0])), np.empty(2 * (d + a.shape[0]))
    n_knots, left, right = np.zeros(d, dtype=np.int64), np.zeros(d), np.zeros(d)
    order = np.argsort(inputs, kind="mergesort")
    filled, t = 0, 0
    while t < order.shape[0]:
        i, stop = inputs[order[t]], t
        while stop < order.shape[0] and inputs[order[stop]] == i:
            stop += 1
        mine = order[t:stop]
        lo = offsets[i]
        k, v, left[i], right[i] = _fit_input(u[lo:lo + n_unique[i]], a[mine], b[mine],
                                             coef[mine], depth)
        knots[filled:filled + k.shape[0]] = k
        values[filled:filled + k.shape[0]] = v
        n_knots[i] = k.shape[0]
        filled += k.shape[0]
        t = stop
    return knots[:filled], values[:filled], n_knots, left, right


@njit(cache=True)
def _predict_inputs(X: np.ndarray, knots: np.ndarray, offsets: np.ndarray,
                    n_knots: np.ndarray, values: np.ndarray, left: np.ndarray,
                    right: np.ndarray, intercept: float) -> np.ndarray:
    """``intercept`` plus, per input with knots, its piecewise-linear function (linear between
    the knots, with the end slopes beyond them)."""
    out = np.full(X.shape[0], intercept)
    for j in range(n_knots.shape[0]):
        size = n_knots[j]
        if not size:
            continue
        u, v = knots[offsets[j]:offsets[j] + size], values[offsets[j]:offsets[j] + size]
        for r in range(X.shape[0]):
            x = X[r, j]
            if x <= u[0]:
                out[r] += v[0] + left[j] * (x - u[0])
            elif x >= u[size - 1]:
                out[r] += v[size - 1] + right[j] * (x - u[size - 1])
            else:
                k = np.searchsorted(u, x, side="right") - 1
                out[r] += v[k] + (v[k + 1] - v[k]) / (u[k + 1] - u[k]) * (x - u[k])
    return out


@dataclass
class Interpolant:
    """The canonical function of a ReLU working-set solution of depth 2 or 3, for prediction.

    It predicts what :func:`~convexforecast.core.canonical.convex_fit.canonicalize` of the same
    solution would, without building the network (used to score β paths).

    Attributes
    ----------
    knots, offsets, n_knots : ndarray
        Per input, the points where the function may bend (the smallest and the largest data
        point and the ends of the selected columns), concatenated: input j's ``n_knots[j]``
        knots start at ``offsets[j]`` (none on inputs without selected columns).
    values : ndarray
        The function's values at the knots.
    left_slopes, right_slopes : ndarray
        Per input, the slopes beyond the smallest and the largest data point.
    intercept : float
        The output bias.
    """

    knots: np.ndarray
    offsets: np.ndarray
    n_knots: np.ndarray
    values: np.ndarray
    left_slopes: np.ndarray
    right_slopes: np.ndarray
    intercept: float

    @classmethod
    def from_solution(cls, solution: LassoSolution, dictionaries: list[PairDictionary],
                      depth: int, stack: CappedRampStack | None = None) -> Interpolant:
        """Build from a working-set solution over the ``PairDictionary`` columns it was fitted
        on (``stack``: their :class:`CappedRampStack`, if built already). Its intercept is the
        solution's: each column is zero at the smallest data point, so the canonical function
        is the solution's ``Σ coef · column``, whose training mean that intercept accounts for."""
        stack = CappedRampStack.of(dictionaries) if stack is None else stack
        if stack is None:
            raise TypeError("`dictionaries` must all be PairDictionary (ReLU of depth 2 or 3). "
                            f"Got {sorted({type(d).__name__ for d in dictionaries})}.")
        knots, values, n_knots, left, right = _fit_inputs(
            stack.u, stack.offsets, stack.n_unique, solution.inputs,
            *stack.decode(solution.inputs, solution.keys), solution.coef, depth)
        offsets = np.concatenate([[0], np.cumsum(n_knots)[:-1]])
        return cls(knots, offsets, n_knots, values, left, right, float(solution.intercept))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Evaluate at new inputs ``X`` of shape (m, d)."""
        return _predict_inputs(X, self.knots, self.offsets, self.n_knots, self.values,
                               self.left_slopes, self.right_slopes, self.intercept)
