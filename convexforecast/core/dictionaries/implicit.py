"""Implicit (never materialised) dictionaries for one input column.

Everything here rests on one fact (solver-notes §2.1–2.2): for a centred residual r the
correlation of r with every ramp-like column is a value, or a difference of two values,
of the ramp-correlation vector

    c_j = Σ_n r_n (x_n − u_j)_+ ,   u_1 < … < u_N the distinct values of x,

which costs O(N) from suffix sums. Ties are merged implicitly: the residual is summed
over tied rows before pricing, so tied x never produce degenerate columns.

Column keys are integers local to a :class:`ImplicitDictionary`.

* :class:`PairDictionary` — ReLU depth 2, 3 and 4. On the data every column is, up to sign
  and intercept, a capped ramp ``C_{u_a, u_b}`` (a < b); its correlation is ``c_a − c_b``.
  Depth ≥ 3 has all C(N, 2) pairs, so ``max |Aᵀr| = max c − min c`` in O(N); depth 2 only
  has the pairs that touch an extreme point (the 2N − 3 distinct ramps). Depth 4 has the
  same optimal value and the same certificate as depth 3 (paper-notes §2.2: reflection
  columns are convex combinations of depth-3 columns on the data), so it is solved at
  depth 3 and its reflection features enter only in :mod:`.decomposition`.
* :class:`FormulaDictionary` — depth-2 leaky ReLU, abs, sign and threshold: O(N) columns
  whose correlations are closed forms in ``c`` and the suffix sums of r.
* :class:`MatrixDictionary` — any explicit dictionary (abs depth 3, deeper sign and
  threshold), priced with a dense product.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from convexforecast.core.features import Feature


@njit(cache=True)
def fill_capped_ramps(x_rows: np.ndarray, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                       out: np.ndarray, centre: bool) -> np.ndarray:
    """Write ``clip(x − lo_k, 0, hi_k − lo_k)``, x = ``x_rows[rows[k]]``, into column k of
    ``out``; return the means. With ``centre`` the columns are centred in place."""
    n = x_rows.shape[1]
    means = np.empty(lo.shape[0])
    for k in range(lo.shape[0]):
        x = x_rows[rows[k]]
        width, total = hi[k] - lo[k], 0.0
        for i in range(n):
            v = min(max(x[i] - lo[k], 0.0), width)
            out[i, k] = v
            total += v
        means[k] = total / n
        if centre:
            for i in range(n):
                out[i, k] -= means[k]
    return means


class ImplicitDictionary:
    """Interface of a per-column dictionary used by the working-set solver."""

    x: np.ndarray
    u: np.ndarray
    inverse: np.ndarray

    def _setup(self, x: np.ndarray, order: np.ndarray | None = None) -> None:
        """Distinct values ``u`` (sorted) and, per row, its value's index ``inverse`` (what
        ``np.unique(x, return_inverse=True)`` gives); the rows in value order ``order``
        (stable; computed unless given) and each value's first position in it, ``starts``
        (length ``n_unique + 1``)."""
        self.x = x
        self.order = np.argsort(x, kind="stable") if order is None else order
        ordered = x[self.order]
        new = np.empty(x.shape[0], dtype=bool)
        new[:1] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        self.u = ordered[new]
        self.inverse = np.empty(x.shape[0], dtype=np.int64)
        self.inverse[self.order] = np.cumsum(new) - 1
        self.starts = np.append(np.flatnonzero(new), x.shape[0])
        self.n_unique = self.u.shape[0]

    def aggregate(self, r: np.ndarray) -> np.ndarray:
        """Sum a row vector over tied x values (length ``n_unique``)."""
        return np.bincount(self.inverse, weights=r, minlength=self.n_unique)

    def ramp_correlations(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``c_j = Σ r_n (x_n − u_j)_+`` and the suffix sums ``S0_j = Σ_{x_n ≥ u_j} r_n``."""
        agg = self.aggregate(r)
        s0 = np.cumsum(agg[::-1])[::-1]
        s1 = np.cumsum((agg * self.u)[::-1])[::-1]
        return s1 - self.u * s0, s0

    def price(self, r: np.ndarray, k: int) -> tuple[float, np.ndarray, np.ndarray]:
        """Exact ``max_j |A_jᵀ r|`` and up to ``k`` keys with the largest ``|A_jᵀ r|``."""
        raise NotImplementedError

    def columns(self, keys: np.ndarray) -> np.ndarray:
        """Column values at the rows, shape (n, len(keys))."""
        raise NotImplementedError

    def centred_columns(self, keys: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write the centred columns of ``keys`` into ``out`` (n, len(keys)); return their means."""
        out[:] = self.columns(keys)
        means = out.mean(axis=0)
        out -= means
        return means

    def features(self, keys: np.ndarray) -> tuple[list[Feature], np.ndarray]:
        """Representative features of ``keys`` and signs s with ``column = s·feature + const``."""
        raise NotImplementedError

    @property
    def n_columns(self) -> int:
        raise NotImplementedError


def _top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest |values|, in a deterministic order (largest first)."""
    k = min(k, values.shape[0])
    idx = np.argpartition(-np.abs(values), k - 1)[:k] if k < values.shape[0] else np.arange(k)
    order = np.lexsort((idx, -np.abs(values[idx])))
    return idx[order]


@njit(cache=True)
def _keep_extreme(index: np.ndarray, value: np.ndarray, count: int, j: int, c_j: float,
                  sign: float) -> int:
    """Add point ``j`` (value ``c_j``) to the ``count`` extremes held in ``index``/``value``,
    ordered by ``sign · value`` descending and ties by index ascending, keeping at most
    ``len(index)``; ``j`` is below every index held. Return the new count."""
    m = index.shape[0]
    key = sign * c_j
    if count == m and key < sign * value[m - 1]:
        return count
    pos = min(count, m - 1)
    while pos > 0 and sign * value[pos - 1] <= key:
        index[pos], value[pos] = index[pos - 1], value[pos - 1]
        pos -= 1
    index[pos], value[pos] = j, c_j
    return min(count + 1, m)


@njit(cache=True)
def capped_ramp_prices(order: np.ndarray, starts: np.ndarray, u: np.ndarray, r: np.ndarray,
                       k: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Depth ≥ 3 pricing in one pass: ``max |c_a − c_b|`` and the top-k pairs.

    ``c_j = Σ r_n (x_n − u_j)_+`` is summed from the largest value down, reading the residual
    in value order (``order``, ``starts``: see :meth:`ImplicitDictionary._setup`). Candidate
    ends are the ``⌈√(2k)⌉ + 2`` strongest local maxima and minima of ``c`` (kept while it is
    summed), so that the pairs spread over distinct bumps of the residual instead of
    near-duplicates. Pairs are then taken strongest first, skipping any that shares an end
    with a pair taken before: pairs with a common end span few directions
    (``C_ab + C_bc = C_ac``), so most of them would enter a working set only to leave it
    again. Up to k pairs are returned (fewer when the candidates run out); the strongest pair
    is always among them. Ties are broken by key, so the result is deterministic.
    """
    n = u.shape[0]
    distinct = n == r.shape[0]
    m = min(n, int(np.ceil(np.sqrt(2.0 * k))) + 2)
    high, high_c = np.empty(m, dtype=np.int64), np.empty(m)  # peaks, highest first
    low, low_c = np.empty(m, dtype=np.int64), np.empty(m)  # troughs, lowest first
    n_high, n_low = 0, 0
    c = np.empty(n)
    s0, s1, top, bottom = 0.0, 0.0, -np.inf, np.inf
    centre, right = 0.0, 0.0  # c[j + 1] and c[j + 2] (c[j + 1] at the last point)
    for j in range(n - 1, -1, -1):
        if distinct:
            total = r[order[j]]
        else:  # the residual summed over the rows holding u_j, in row order
            total = 0.0
            for t in range(starts[j], starts[j + 1]):
                total += r[order[t]]
        s0 += total
        s1 += total * u[j]
        c_j = s1 - u[j] * s0
        c[j] = c_j
        top, bottom = max(top, c_j), min(bottom, c_j)
        if j == n - 2:
            right = centre
        if j < n - 1:  # both neighbours of j + 1 are known now
            if centre >= c_j and centre >= right:
                n_high = _keep_extreme(high, high_c, n_high, j + 1, centre, 1.0)
            if centre <= c_j and centre <= right:
                n_low = _keep_extreme(low, low_c, n_low, j + 1, centre, -1.0)
        right, centre = centre, c_j
    if n == 1:
        right = centre
    if centre >= right:
        n_high = _keep_extreme(high, high_c, n_high, 0, centre, 1.0)
    if centre <= right:
        n_low = _keep_extreme(low, low_c, n_low, 0, centre, -1.0)
    size = n_high * n_low  # the candidate pairs (a, b), a < b, key a·n + b
    keys = np.empty(size, dtype=np.int64)
    ends = np.empty((size, 2), dtype=np.int64)
    count = 0
    for s in range(n_high):
        for t in range(n_low):
            if high[s] != low[t]:
                a, b = min(high[s], low[t]), max(high[s], low[t])
                keys[count], ends[count, 0], ends[count, 1] = a * n + b, a, b
                count += 1
    by_key = np.argsort(keys[:count])  # a pair listed twice is taken at most once below
    vals = np.empty(count)
    for t in range(count):
        vals[t] = c[ends[by_key[t], 0]] - c[ends[by_key[t], 1]]
    used = np.zeros(n, dtype=np.bool_)  # ends of the pairs taken
    chosen = np.empty(min(k, count), dtype=np.int64)
    taken = 0
    for t in np.argsort(-np.abs(vals), kind="mergesort"):
        if taken == chosen.shape[0]:
            break
        a, b = ends[by_key[t], 0], ends[by_key[t], 1]
        if not (used[a] or used[b]):
            used[a] = used[b] = True
            chosen[taken] = t
            taken += 1
    chosen = chosen[:taken]
    return top - bottom, keys[by_key[chosen]], vals[chosen]


class PairDictionary(ImplicitDictionary):
    """ReLU ramps (depth 2) or ramps and capped ramps (depth 3, 4) on one input column.

    ``order``: the rows of ``x`` in stable value order, if known (see :meth:`of_first_rows`).
    """

    def __init__(self, x: np.ndarray, depth: int, order: np.ndarray | None = None) -> None:
        self._setup(x, order)
        self.depth = depth
        n = self.n_unique
        if depth == 2:
            right = np.arange(n - 1) * n + (n - 1)  # (j, N-1): right ramps, j = 0 is linear
            left = np.arange(1, n - 1)  # (0, j): left ramps at interior points
            self._keys = np.concatenate([right, left])

    def of_first_rows(self, n_rows: int) -> PairDictionary:
        """The dictionary of the first ``n_rows`` rows (a forward-chaining fold's training
        rows): their stable value order is this one's without the later rows, which costs
        one pass instead of a sort."""
        return PairDictionary(self.x[:n_rows], self.depth, self.order[self.order < n_rows])

    @property
    def n_columns(self) -> int:
        n = self.n_unique
        return 2 * n - 3 if self.depth == 2 else n * (n - 1) // 2

    def decode(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pair indices (a, b) of keys ``a·N + b``."""
        keys = np.asarray(keys, dtype=np.int64)
        return keys // self.n_unique, keys % self.n_unique

    def price(self, r: np.ndarray, k: int) -> tuple[float, np.ndarray, np.ndarray]:
        if self.depth == 2:
            c, _ = self.ramp_correlations(r)
            a, b = self.decode(self._keys)
            vals = c[a] - c[b]
            top = _top_k(vals, k)
            return float(np.abs(vals).max()), self._keys[top], vals[top]
        max_abs, keys, vals = capped_ramp_prices(self.order, self.starts, self.u, r, k)
        return float(max_abs), keys, vals

    def columns(self, keys: np.ndarray) -> np.ndarray:
        a, b = self.decode(keys)
        out = np.empty((len(a), self.x.shape[0])).T
        fill_capped_ramps(self.x[None, :], np.zeros(len(a), dtype=np.int64), self.u[a],
                           self.u[b], out, False)
        return out

    def features(self, keys: np.ndarray) -> tuple[list[Feature], np.ndarray]:
        a, b = self.decode(keys)
        feats, signs = [], np.ones(len(a))
        last = self.n_unique - 1
        for i, (ai, bi) in enumerate(zip(a, b, strict=True)):
            feat, signs[i] = pair_feature(self.u, int(ai), int(bi), last, self.depth)
            feats.append(feat)
        return feats, signs


def pair_feature(u: np.ndarray, a: int, b: int, last: int, depth: int) -> tuple[Feature, float]:
    """Representative feature of the on-data class of ``C_{u_a, u_b}`` and its sign.

    The representative has the fewest kinks: a capped ramp ending at the largest point is a
    right ramp on the data, one starting at the smallest point is (minus) a left ramp.
    """
    if b == last:
        return Feature("ramp", (float(u[a]),), depth=depth, direction=1), 1.0
    if a == 0:
        return Feature("ramp", (float(u[b]),), depth=depth, direction=-1), -1.0
    return Feature("capped_ramp", (float(u[a]), float(u[b])), depth=depth), 1.0


class FormulaDictionary(ImplicitDictionary):
    """Depth-2 leaky ReLU, abs, sign and threshold columns priced in closed form."""

    def __init__(self, x: np.ndarray, activation: str, negative_slope: float = 0.01) -> None:
        self._setup(x)
        self.activation = activation
        self.negative_slope = negative_slope
        n = self.n_unique
        if activation == "leaky_relu":
            # (direction, j): +1 at j = 0..N-1 and -1 at j = 1..N-2; the -1 columns at the
            # extremes equal +1 columns at the opposite extreme up to sign and intercept.
            self._direction = np.concatenate([np.ones(n), -np.ones(n - 2)]).astype(int)
            self._index = np.concatenate([np.arange(n), np.arange(1, n - 1)])
        elif activation == "abs":
            self._direction = np.ones(n - 1, dtype=int)  # |x - u_{N-1}| duplicates |x - u_0|
            self._index = np.arange(n - 1)
        else:  # sign / threshold: switch at u_j, j = 1..N-1
            self._direction = np.ones(n - 1, dtype=int)
            self._index = np.arange(1, n)

    @property
    def n_columns(self) -> int:
        return self._index.shape[0]

    def _correlations(self, r: np.ndarray) -> np.ndarray:
        c, s0 = self.ramp_correlations(r)
        j, d = self._index, self._direction
        if self.activation == "leaky_relu":
            a = self.negative_slope
            return np.where(d > 0, (1 - a) * c[j] + a * c[0], (1 - a) * (c[j] - c[0]) - a * c[0])
        if self.activation == "abs":
            return 2.0 * c[j] - c[0]
        scale = 2.0 if self.activation == "sign" else 1.0
        return scale * s0[j]

    def price(self, r: np.ndarray, k: int) -> tuple[float, np.ndarray, np.ndarray]:
        vals = self._correlations(r)
        top = _top_k(vals, k)
        return float(np.abs(vals).max()), top, vals[top]

    def features(self, keys: np.ndarray) -> tuple[list[Feature], np.ndarray]:
        feats = []
        for key in np.asarray(keys, dtype=np.int64):
            kink = (float(self.u[self._index[key]]),)
            if self.activation in ("sign", "threshold"):
                feats.append(Feature("step", kink, activation=self.activation, depth=2))
            elif self.activation == "abs":
                feats.append(Feature("abs", kink, activation="abs", depth=2))
            else:
                feats.append(Feature("ramp", kink, activation="leaky_relu", depth=2,
                                     direction=int(self._direction[key]),
                                     negative_slope=self.negative_slope))
        return feats, np.ones(len(feats))

    def columns(self, keys: np.ndarray) -> np.ndarray:
        feats, _ = self.features(keys)
        return np.column_stack([f(self.x) for f in feats]) if feats else np.empty((len(self.x), 0))


class MatrixDictionary(ImplicitDictionary):
    """An explicit dictionary (features evaluated at the rows) priced by a dense product."""

    def __init__(self, x: np.ndarray, features: list[Feature], matrix: np.ndarray) -> None:
        self._setup(x)
        self._features = features
        self._matrix = matrix

    @property
    def n_columns(self) -> int:
        return self._matrix.shape[1]

    @property
    def matrix(self) -> np.ndarray:
        """The columns at the rows, shape (n, n_columns)."""
        return self._matrix

    def price(self, r: np.ndarray, k: int) -> tuple[float, np.ndarray, np.ndarray]:
        vals = self._matrix.T @ r
        top = _top_k(vals, k)
        return float(np.abs(vals).max()), top, vals[top]

    def columns(self, keys: np.ndarray) -> np.ndarray:
        return self._matrix[:, np.asarray(keys, dtype=np.int64)]

    def features(self, keys: np.ndarray) -> tuple[list[Feature], np.ndarray]:
        return [self._features[int(k)] for k in keys], np.ones(len(keys))
