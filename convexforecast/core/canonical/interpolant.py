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

:class:`Interpolant` evaluates that function in O(N) per input, without building the
network's ``Feature`` objects; it predicts what the canonical
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
def _fit_input(u: np.ndarray, inverse: np.ndarray, a: np.ndarray, b: np.ndarray,
               coef: np.ndarray, depth: int) -> tuple[np.ndarray, float, float, float]:
    """Values at ``u``, end slopes and training-row mean of ``Σ coef_t · clip(x − u_{a_t}, 0,
    u_{b_t} − u_{a_t})``'s canonical function (zero at ``u_0``)."""
    n = u.shape[0]
    jumps = np.zeros(n)
    for t in range(a.shape[0]):  # column t has slope 1 on the intervals a_t … b_t − 1
        jumps[a[t]] += coef[t]
        jumps[b[t]] -= coef[t]
    slopes = np.cumsum(jumps[:-1])
    values = np.zeros(n)
    for k in range(n - 1):
        values[k + 1] = values[k] + slopes[k] * (u[k + 1] - u[k])
    total = 0.0
    for i in range(inverse.shape[0]):
        total += values[inverse[i]]
    return values, _left_slope(slopes, depth), slopes[-1], total / inverse.shape[0]


@njit(cache=True)
def _add_input(x: np.ndarray, u: np.ndarray, values: np.ndarray, left: float, right: float,
               interval: np.ndarray, out: np.ndarray) -> None:
    """Add the piecewise-linear function (knots ``u``, ``values``, end slopes) at ``x`` to
    ``out``; ``u[interval[i]] <= x[i] < u[interval[i] + 1]`` for the points inside the knots."""
    last = u.shape[0] - 1
    for i in range(x.shape[0]):
        v = x[i]
        if v <= u[0]:
            out[i] += values[0] + left * (v - u[0])
        elif v >= u[last]:
            out[i] += values[last] + right * (v - u[last])
        else:
            k = interval[i]
            slope = (values[k + 1] - values[k]) / (u[k + 1] - u[k])
            out[i] += values[k] + slope * (v - u[k])


@njit(cache=True)
def _fit_inputs(u: np.ndarray, offsets: np.ndarray, n_unique: np.ndarray, inverse: np.ndarray,
                inputs: np.ndarray, a: np.ndarray, b: np.ndarray, coef: np.ndarray, depth: int,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """:func:`_fit_input` of every input with columns (in input order): values at the stacked
    knots ``u``, left and right slopes, which inputs have columns, and the sum of the means."""
    d = n_unique.shape[0]
    values, left, right = np.zeros(u.shape[0]), np.zeros(d), np.zeros(d)
    used = np.zeros(d, dtype=np.bool_)
    fitted_mean = 0.0
    for i in range(d):
        mask = inputs == i
        if not mask.any():
            continue
        used[i] = True
        lo, hi = offsets[i], offsets[i] + n_unique[i]
        values[lo:hi], left[i], right[i], mean = _fit_input(u[lo:hi], inverse[i], a[mask],
                                                            b[mask], coef[mask], depth)
        fitted_mean += mean
    return values, left, right, used, fitted_mean


@njit(cache=True)
def _predict_inputs(X: np.ndarray, u: np.ndarray, offsets: np.ndarray, n_unique: np.ndarray,
                    values: np.ndarray, used: np.ndarray, left: np.ndarray, right: np.ndarray,
                    intervals: np.ndarray, intercept: float) -> np.ndarray:
    """``intercept`` plus :func:`_add_input` of every input with columns, in input order."""
    out = np.full(X.shape[0], intercept)
    for j in range(n_unique.shape[0]):
        if used[j]:
            lo, hi = offsets[j], offsets[j] + n_unique[j]
            _add_input(X[:, j], u[lo:hi], values[lo:hi], left[j], right[j], intervals[:, j],
                       out)
    return out


@dataclass
class Interpolant:
    """The canonical function of a ReLU working-set solution of depth 2 or 3, for prediction.

    It predicts what :func:`~convexforecast.core.canonical.convex_fit.canonicalize` of the same
    solution would, without building the network (used to score β paths).

    Attributes
    ----------
    knots, offsets, n_knots : ndarray
        The distinct data points of every input, concatenated: input j's ``n_knots[j]``
        points start at ``offsets[j]``.
    values : ndarray
        The function's values at the knots (zero on inputs without selected features).
    used : ndarray of bool
        Per input, whether it has selected features.
    left_slopes, right_slopes : ndarray
        Per input, the slopes beyond the smallest and the largest data point.
    intercept : float
        The output bias.
    """

    knots: np.ndarray
    offsets: np.ndarray
    n_knots: np.ndarray
    values: np.ndarray
    used: np.ndarray
    left_slopes: np.ndarray
    right_slopes: np.ndarray
    intercept: float

    @classmethod
    def from_solution(cls, solution: LassoSolution, dictionaries: list[PairDictionary],
                      y: np.ndarray, depth: int,
                      stack: CappedRampStack | None = None) -> Interpolant:
        """Build from a solution over the ``PairDictionary`` columns it was fitted on
        (``stack``: their :class:`CappedRampStack`, if built already)."""
        stack = CappedRampStack.of(dictionaries) if stack is None else stack
        if stack is None:
            raise TypeError("`dictionaries` must all be PairDictionary (ReLU of depth 2 or 3). "
                            f"Got {sorted({type(d).__name__ for d in dictionaries})}.")
        values, left, right, used, fitted_mean = _fit_inputs(
            stack.u, stack.offsets, stack.n_unique, stack.inverse, solution.inputs,
            *stack.decode(solution.inputs, solution.keys), solution.coef, depth)
        return cls(stack.u, stack.offsets, stack.n_unique, values, used, left, right,
                   float(y.mean() - fitted_mean))

    def predict(self, X: np.ndarray, intervals: dict | None = None) -> np.ndarray:
        """Evaluate at new inputs ``X`` of shape (m, d).

        ``intervals``: a dict to share between fits on the same dictionaries and the same
        ``X`` (a β path scored on one validation block); it caches where the points fall
        among each input's knots.
        """
        cached = None if intervals is None else intervals.get("knots")
        if cached is None or cached[0] is not self.knots:
            located = np.empty(X.shape, dtype=np.int64)
            for j, (lo, size) in enumerate(zip(self.offsets, self.n_knots, strict=True)):
                located[:, j] = np.searchsorted(self.knots[lo:lo + size], X[:, j],
                                                side="right") - 1
            cached = (self.knots, located)
            if intervals is not None:
                intervals["knots"] = cached
        return _predict_inputs(X, self.knots, self.offsets, self.n_knots, self.values,
                               self.used, self.left_slopes, self.right_slopes, cached[1],
                               self.intercept)
