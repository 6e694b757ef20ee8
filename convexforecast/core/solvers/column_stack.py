"""Several inputs' capped-ramp dictionaries side by side, for one compiled pass per operation.

The working-set solver prices every input, fills new columns and maps warm-start keys once per
iteration. :class:`CappedRampStack` holds the data of all :class:`~convexforecast.core.
dictionaries.implicit.PairDictionary` inputs in stacked arrays, so each of those operations is
one compiled or vectorised call instead of one call per input; the results are those of the
per-input methods.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from convexforecast.core.dictionaries.implicit import (
    ImplicitDictionary,
    PairDictionary,
    capped_ramp_prices,
    fill_capped_ramps,
)

__all__ = ["CappedRampStack"]


@njit(cache=True)
def _capped_ramp_prices_all(orders: np.ndarray, starts: np.ndarray, u: np.ndarray,
                            offsets: np.ndarray, n_unique: np.ndarray, r: np.ndarray, k: int,
                            ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`capped_ramp_prices` of every input, results concatenated in input order
    (input i's ``starts`` begin at ``offsets[i] + i``)."""
    d = orders.shape[0]
    inputs = np.empty(d * k, dtype=np.int64)
    keys = np.empty(d * k, dtype=np.int64)
    vals = np.empty(d * k)
    count, max_abs = 0, 0.0
    for i in range(d):
        lo, size = offsets[i], n_unique[i]
        m, top_keys, top_vals = capped_ramp_prices(orders[i], starts[lo + i:lo + i + size + 1],
                                                   u[lo:lo + size], r, k)
        max_abs = max(max_abs, m)
        for t in range(top_keys.shape[0]):
            inputs[count], keys[count], vals[count] = i, top_keys[t], top_vals[t]
            count += 1
    return max_abs, inputs[:count], keys[:count], vals[:count]


@njit(cache=True)
def _pair_keys(inverse: np.ndarray, n_unique: np.ndarray, depth2: np.ndarray,
               inputs: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`CappedRampStack.keys_from_rows` (keys of invalid pairs are 0)."""
    keys = np.zeros(inputs.shape[0], dtype=np.int64)
    valid = np.zeros(inputs.shape[0], dtype=np.bool_)
    for t in range(inputs.shape[0]):
        i = inputs[t]
        if i >= n_unique.shape[0] or rows[t, 0] >= inverse.shape[1] \
                or rows[t, 1] >= inverse.shape[1]:
            continue
        a = min(inverse[i, rows[t, 0]], inverse[i, rows[t, 1]])
        b = max(inverse[i, rows[t, 0]], inverse[i, rows[t, 1]])
        size = n_unique[i]
        if a < b and (not depth2[i] or a == 0 or b == size - 1):
            keys[t], valid[t] = a * size + b, True
    return keys, valid


class CappedRampStack:
    """Several inputs' :class:`PairDictionary` data side by side, so that the working-set
    solver prices, fills columns and maps warm-start keys for all inputs in one pass instead
    of one call per input (the results are those of the per-input methods)."""

    def __init__(self, dictionaries: list[PairDictionary]) -> None:
        self.x = np.stack([d.x for d in dictionaries])
        self.inverse = np.stack([d.inverse for d in dictionaries])
        self.order = np.stack([d.order for d in dictionaries])
        self.starts = np.concatenate([d.starts for d in dictionaries])
        self.n_unique = np.array([d.n_unique for d in dictionaries], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.n_unique)[:-1]])
        self.u = np.concatenate([d.u for d in dictionaries])
        self.all_pairs = all(d.depth >= 3 for d in dictionaries)
        for i, d in enumerate(dictionaries):  # one copy of the per-row arrays, not two
            d.inverse, d.order = self.inverse[i], self.order[i]
        self.depth2 = np.array([d.depth == 2 for d in dictionaries])

    @functools.cached_property
    def first_rows(self) -> np.ndarray:
        """Per input, the first row holding each distinct value (indexed like :attr:`u`): the
        first of its rows in value order, which is stable (input i's ``starts`` begin at
        ``offsets[i] + i``)."""
        ends = zip(self.offsets, self.n_unique, strict=True)
        return np.concatenate([self.order[i, self.starts[lo + i:lo + i + size]]
                               for i, (lo, size) in enumerate(ends)])

    def decode(self, inputs: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pair indices ``(a, b)`` of each column's key ``a·N_i + b`` (N_i: its input's number
        of distinct values), as :meth:`PairDictionary.decode` gives them per input."""
        n_unique = self.n_unique[inputs]
        return keys // n_unique, keys % n_unique

    def key_rows(self, inputs: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """The rows ``(i, j)`` where the ends ``u_a, u_b`` of each column's pair first occur,
        shape (k, 2): they identify kinks across refits of a growing window even when the
        data are re-standardised (:meth:`keys_from_rows` maps them back on the new data)."""
        a, b = self.decode(inputs, keys)
        base = self.offsets[inputs]
        return np.column_stack([self.first_rows[base + a], self.first_rows[base + b]])

    def keys_from_rows(self, inputs: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keys of the capped ramps between the values at ``rows`` here, and which are valid.

        A pair is invalid when its input does not exist here, a row is beyond this data or
        both rows hold the same value; at depth 2 only pairs with an end at an extreme point
        are columns.
        """
        return _pair_keys(self.inverse, self.n_unique, self.depth2, inputs, rows)

    @classmethod
    def of(cls, dictionaries: list[ImplicitDictionary]) -> CappedRampStack | None:
        """The stack of ``dictionaries``, or None unless they are all PairDictionary."""
        if all(isinstance(d, PairDictionary) for d in dictionaries):
            return cls(dictionaries)
        return None

    def price(self, r: np.ndarray, k: int) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """:func:`~convexforecast.core.working_set.price_all` in one compiled call (depth ≥ 3)."""
        max_abs, inputs, keys, vals = _capped_ramp_prices_all(self.order, self.starts, self.u,
                                                              self.offsets, self.n_unique, r, k)
        return float(max_abs), inputs, keys, vals

    def centred_columns(self, inputs: np.ndarray, keys: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write the centred columns (``inputs[k]``, ``keys[k]``) into ``out``; return their means."""
        a, b = self.decode(inputs, keys)
        base = self.offsets[inputs]
        return fill_capped_ramps(self.x, inputs, self.u[base + a], self.u[base + b], out, True)
