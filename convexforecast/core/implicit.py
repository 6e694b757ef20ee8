"""Implicit (never materialised) dictionaries for one input column.

Everything here rests on one fact (solver-notes §2.1–2.2): for a centred residual r the
correlation of r with every ramp-like column is a value, or a difference of two values,
of the ramp-correlation vector

    c_j = Σ_n r_n (x_n − u_j)_+ ,   u_1 < … < u_N the distinct values of x,

which costs O(N) from suffix sums. Ties are merged implicitly: the residual is summed
over tied rows before pricing, so tied x never produce degenerate columns.

Column keys are integers local to a :class:`LagDictionary`.

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

import functools

import numpy as np
from numba import njit

from convexforecast.core.features import Feature


@njit(cache=True)
def _fill_capped_ramps(x_rows: np.ndarray, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray,
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


class LagDictionary:
    """Interface of a per-column dictionary used by the working-set solver."""

    x: np.ndarray
    u: np.ndarray
    inverse: np.ndarray

    def _setup(self, x: np.ndarray) -> None:
        self.x = x
        self.u, self.inverse = np.unique(x, return_inverse=True)
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
def _capped_ramp_prices(inverse: np.ndarray, u: np.ndarray, r: np.ndarray,
                        k: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Depth ≥ 3 pricing in one pass: ``max |c_a − c_b|`` and the top-k pairs.

    Candidate ends are the ``⌈√(2k)⌉ + 2`` strongest local maxima and minima of ``c``, so
    that the k pairs spread over distinct bumps of the residual instead of near-duplicates;
    ties are broken by key, so the result is deterministic.
    """
    n = u.shape[0]
    agg = np.zeros(n)
    for i in range(r.shape[0]):
        agg[inverse[i]] += r[i]
    c = np.empty(n)
    s0, s1 = 0.0, 0.0
    for j in range(n - 1, -1, -1):
        s0 += agg[j]
        s1 += agg[j] * u[j]
        c[j] = s1 - u[j] * s0
    max_abs = c.max() - c.min()
    m = min(n, int(np.ceil(np.sqrt(2.0 * k))) + 2)
    peaks, troughs = [], []
    for j in range(n):
        left, right = c[j - 1] if j > 0 else c[j], c[j + 1] if j < n - 1 else c[j]
        if c[j] >= left and c[j] >= right:
            peaks.append(j)
        if c[j] <= left and c[j] <= right:
            troughs.append(j)
    high, low = np.array(peaks), np.array(troughs)
    high = high[np.argsort(-c[high], kind="mergesort")[:m]]
    low = low[np.argsort(c[low], kind="mergesort")[:m]]
    pairs = []
    for i in high:
        for j in low:
            if i != j:
                pairs.append(min(i, j) * n + max(i, j))
    keys = np.unique(np.array(pairs, dtype=np.int64))
    vals = c[keys // n] - c[keys % n]
    top = np.argsort(-np.abs(vals), kind="mergesort")[:k]
    return max_abs, keys[top], vals[top]


@njit(cache=True)
def _capped_ramp_prices_all(inverse_rows: np.ndarray, u: np.ndarray, offsets: np.ndarray,
                            n_unique: np.ndarray, r: np.ndarray, k: int,
                            ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_capped_ramp_prices` of every input, results concatenated in input order."""
    d = inverse_rows.shape[0]
    inputs = np.empty(d * k, dtype=np.int64)
    keys = np.empty(d * k, dtype=np.int64)
    vals = np.empty(d * k)
    count, max_abs = 0, 0.0
    for i in range(d):
        m, top_keys, top_vals = _capped_ramp_prices(inverse_rows[i],
                                                    u[offsets[i]:offsets[i] + n_unique[i]], r, k)
        max_abs = max(max_abs, m)
        for t in range(top_keys.shape[0]):
            inputs[count], keys[count], vals[count] = i, top_keys[t], top_vals[t]
            count += 1
    return max_abs, inputs[:count], keys[:count], vals[:count]


class PairDictionary(LagDictionary):
    """ReLU ramps (depth 2) or ramps and capped ramps (depth 3, 4) on one input column."""

    def __init__(self, x: np.ndarray, depth: int) -> None:
        self._setup(x)
        self.depth = depth
        n = self.n_unique
        if depth == 2:
            right = np.arange(n - 1) * n + (n - 1)  # (j, N-1): right ramps, j = 0 is linear
            left = np.arange(1, n - 1)  # (0, j): left ramps at interior points
            self._keys = np.concatenate([right, left])

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
        max_abs, keys, vals = _capped_ramp_prices(self.inverse, self.u, r, k)
        return float(max_abs), keys, vals

    def columns(self, keys: np.ndarray) -> np.ndarray:
        a, b = self.decode(keys)
        out = np.empty((len(a), self.x.shape[0])).T
        _fill_capped_ramps(self.x[None, :], np.zeros(len(a), dtype=np.int64), self.u[a],
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


class CappedRampStack:
    """Several inputs' :class:`PairDictionary` data side by side, so that the working-set
    solver prices, fills columns and maps warm-start keys for all inputs in one pass instead
    of one call per input (the results are those of the per-input methods)."""

    def __init__(self, dictionaries: list[PairDictionary]) -> None:
        self.x = np.stack([d.x for d in dictionaries])
        self.inverse = np.stack([d.inverse for d in dictionaries])
        self.n_unique = np.array([d.n_unique for d in dictionaries], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.n_unique)[:-1]])
        self.u = np.concatenate([d.u for d in dictionaries])
        self.all_pairs = all(d.depth >= 3 for d in dictionaries)
        self.depth2 = np.array([d.depth == 2 for d in dictionaries])

    @functools.cached_property
    def first_rows(self) -> np.ndarray:
        """Per input, the first row holding each distinct value (indexed like :attr:`u`)."""
        n_inputs, n_rows = self.inverse.shape
        first = np.full(self.u.shape[0], n_rows, dtype=np.int64)
        np.minimum.at(first, (self.inverse + self.offsets[:, None]).ravel(),
                      np.tile(np.arange(n_rows), n_inputs))
        return first

    def key_rows(self, inputs: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """The rows ``(i, j)`` where the ends ``u_a, u_b`` of each column's pair first occur,
        shape (k, 2): they identify kinks across refits of a growing window even when the
        data are re-standardised (:meth:`keys_from_rows` maps them back on the new data)."""
        n_unique, base = self.n_unique[inputs], self.offsets[inputs]
        return np.column_stack([self.first_rows[base + keys // n_unique],
                                self.first_rows[base + keys % n_unique]])

    def keys_from_rows(self, inputs: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keys of the capped ramps between the values at ``rows`` here, and which are valid.

        A pair is invalid when its input does not exist here, a row is beyond this data or
        both rows hold the same value; at depth 2 only pairs with an end at an extreme point
        are columns.
        """
        known = inputs < self.n_unique.shape[0]
        i = np.where(known, inputs, 0)
        inside = known & (rows < self.inverse.shape[1]).all(axis=1)
        ends = self.inverse[i[:, None], np.where(inside[:, None], rows, 0)]
        a, b = ends.min(axis=1), ends.max(axis=1)
        n_unique = self.n_unique[i]
        valid = inside & (a < b) & (~self.depth2[i] | (a == 0) | (b == n_unique - 1))
        return a * n_unique + b, valid

    @classmethod
    def of(cls, dictionaries: list[LagDictionary]) -> CappedRampStack | None:
        """The stack of ``dictionaries``, or None unless they are all PairDictionary."""
        if all(isinstance(d, PairDictionary) for d in dictionaries):
            return cls(dictionaries)
        return None

    def price(self, r: np.ndarray, k: int) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """:func:`~convexforecast.core.working_set.price_all` in one compiled call (depth ≥ 3)."""
        max_abs, inputs, keys, vals = _capped_ramp_prices_all(self.inverse, self.u, self.offsets,
                                                              self.n_unique, r, k)
        return float(max_abs), inputs, keys, vals

    def centred_columns(self, inputs: np.ndarray, keys: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write the centred columns (``inputs[k]``, ``keys[k]``) into ``out``; return their means."""
        n_unique = self.n_unique[inputs]
        first = self.offsets[inputs] + keys // n_unique
        last = self.offsets[inputs] + keys % n_unique
        return _fill_capped_ramps(self.x, inputs, self.u[first], self.u[last], out, True)


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


class FormulaDictionary(LagDictionary):
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


class MatrixDictionary(LagDictionary):
    """An explicit dictionary (features evaluated at the rows) priced by a dense product."""

    def __init__(self, x: np.ndarray, features: list[Feature], matrix: np.ndarray) -> None:
        self._setup(x)
        self._features = features
        self._matrix = matrix

    @property
    def n_columns(self) -> int:
        return self._matrix.shape[1]

    def price(self, r: np.ndarray, k: int) -> tuple[float, np.ndarray, np.ndarray]:
        vals = self._matrix.T @ r
        top = _top_k(vals, k)
        return float(np.abs(vals).max()), top, vals[top]

    def columns(self, keys: np.ndarray) -> np.ndarray:
        return self._matrix[:, np.asarray(keys, dtype=np.int64)]

    def features(self, keys: np.ndarray) -> tuple[list[Feature], np.ndarray]:
        return [self._features[int(k)] for k in keys], np.ones(len(keys))
