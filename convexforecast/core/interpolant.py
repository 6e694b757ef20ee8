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

:class:`InterpolatedFit` evaluates that function in O(N) per input, without building the
network's ``Feature`` objects; it predicts what the canonical :class:`~.fit.ConvexFit` of
the same solution predicts, up to round-off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convexforecast.core.implicit import LagDictionary
from convexforecast.core.lasso import CertifiedMixin
from convexforecast.core.working_set import WorkingSetSolution

ZERO_SLOPE = 1e-12  # relative size below which the decomposition treats a slope as zero


def left_slope(slopes: np.ndarray, depth: int) -> float:
    """Slope left of the smallest data point of the canonical function with these secant slopes."""
    scale = float(np.abs(slopes).max(initial=0.0))
    if depth == 2:  # see decomposition._decompose_depth2
        jumps = np.diff(slopes)
        jumps[np.abs(jumps) <= ZERO_SLOPE * scale] = 0.0
        pos, neg = jumps[jumps > 0].sum(), -jumps[jumps < 0].sum()
        return -float(np.clip(-slopes[0], -neg, pos))
    span = 0.0  # signed height of the brick spanning [u_0, u_{N−1}] (see decomposition._skyline)
    for sign in (1.0, -1.0):
        level = np.maximum(sign * slopes, 0.0)
        level[level <= ZERO_SLOPE * scale] = 0.0
        span += sign * float(level.min())
    return float(slopes[0]) - span


@dataclass
class InterpolatedFit(CertifiedMixin):
    """The canonical function of a ReLU working-set solution of depth 2 or 3, for prediction.

    Attributes
    ----------
    knots, values : list of ndarray or None
        Per input, the distinct data points and the function's values there (None for an
        input without selected features).
    left_slopes, right_slopes : ndarray
        Per input, the slopes beyond the smallest and the largest data point.
    intercept, beta, primal, dual : float
        The output bias, the penalty and the solver's certificate.
    """

    knots: list[np.ndarray | None]
    values: list[np.ndarray | None]
    left_slopes: np.ndarray
    right_slopes: np.ndarray
    intercept: float
    beta: float
    primal: float
    dual: float

    @classmethod
    def from_solution(cls, raw: WorkingSetSolution, dictionaries: list[LagDictionary],
                      y: np.ndarray, beta: float, depth: int) -> InterpolatedFit:
        """Build from the solver's solution over the ``PairDictionary`` columns it was fitted on."""
        n_inputs = len(dictionaries)
        knots: list[np.ndarray | None] = [None] * n_inputs
        values: list[np.ndarray | None] = [None] * n_inputs
        left, right = np.zeros(n_inputs), np.zeros(n_inputs)
        fitted = np.zeros(y.shape[0])
        for i in np.unique(raw.inputs):
            dictionary, mask = dictionaries[i], raw.inputs == i
            a, b = dictionary.decode(raw.keys[mask])
            n = dictionary.n_unique
            # column (a, b) = clip(x − u_a, 0, u_b − u_a): slope 1 on the intervals a … b − 1
            jumps = np.bincount(a, raw.coef[mask], n) - np.bincount(b, raw.coef[mask], n)
            slopes = np.cumsum(jumps[:-1])
            knots[i] = dictionary.u
            values[i] = np.concatenate([[0.0], np.cumsum(slopes * np.diff(dictionary.u))])
            left[i], right[i] = left_slope(slopes, depth), slopes[-1]
            fitted += values[i][dictionary.inverse]
        intercept = float(y.mean() - fitted.mean())
        return cls(knots, values, left, right, intercept, beta, raw.primal,
                   min(raw.dual, raw.primal))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Evaluate at new inputs ``X`` of shape (m, d)."""
        out = np.full(X.shape[0], self.intercept)
        for j, (u, g) in enumerate(zip(self.knots, self.values, strict=True)):
            if g is None:
                continue
            x = X[:, j]
            out += np.interp(x, u, g) + self.left_slopes[j] * np.minimum(x - u[0], 0.0) \
                + self.right_slopes[j] * np.maximum(x - u[-1], 0.0)
        return out
