"""Explicit (materialised) Lasso dictionaries for 1-D data (paper-notes §2, §7.1–§7.3).

:func:`build_dictionary` returns an :class:`ExplicitDictionary`: a list of
:class:`~convexforecast.core.features.Feature` functions and their values at the given
points. The columns are the unit-weight chains of the paper's architecture whose biases
the theory pins to the data.

Families (``u_1 < ... < u_N`` are the distinct values of ``x``)
-------------------------------------------------------------
``relu``, depth 2
    Ramps ``(x - u_j)_+`` and ``(u_j - x)_+``.
``leaky_relu``, depth 2
    ``sigma(x - u_j)`` and ``sigma(u_j - x)`` with ``sigma(t) = max(t, a t)``.
``abs``, depth 2
    ``|x - u_j|``.
``sign`` / ``threshold``, depth 2
    One-switch steps that switch *at* a data point: ``sign(x - u_j)`` with
    ``sign(0) = +1``, or ``1{x >= u_j}``.
``relu``, depth 3 (D₃)
    The depth-2 ramps and the capped ramps ``clip(x - u_j, 0, u_k - u_j)``, ``j < k``.
``relu``, depth 4
    D₃ plus the reflection features of paper-notes §2.2 (``L = 4, k = 1``): for an
    ordered pair ``p != q`` of data points, ``R = 2q - p`` and ``d = sign(q - p)``, the
    ramp ``(d (x - R))_+`` pointing away from the pair, and the capped ramps with one kink
    at ``R`` and the other at a data point ``u_l`` with ``d (u_l - q) >= 0``, ``u_l != R``.
``abs``, depth 3 (D_abs3, paper-notes §2.4)
    ``|x - u_i|``, the pinned folds ``||x - u_i| - |u_k - u_i||`` (kinks ``u_k``, ``u_i``
    and the reflection ``2 u_i - u_k``) and the midpoint folds ``||x - m| - |u_k - m||``
    with ``m = (u_i + u_j) / 2`` (kinks ``u_k``, ``m`` and ``2 m - u_k``).
``sign`` / ``threshold``, depth >= 3
    Every +-1 (or 0/1) step vector with at most ``K`` switches, all at data points.
    ``K = max_switches`` defaults to ``2 ** (depth - 2)``: a tree network whose hidden
    layers below the last have width 2 (paper-notes §2.5: at most ``prod_l m_l``
    switches per feature). Pass ``max_switches`` to model wider networks.

A kink that is a reflection (``2 q - p`` or ``2 m - u_k``) is flagged in
``Feature.reflected`` with its pair in ``Feature.sources``, unless it coincides with a
data point (within the tolerance below), in which case it is snapped onto that point and
is not a reflection. ``sources`` holds ``(p, q)`` with kink ``2q - p``; for the abs
midpoint folds ``q`` is the midpoint ``m`` (not a data point), which is itself never
flagged.

Cost: the candidates are evaluated on the N distinct points, so peak memory is a few
times ``8 * N * n_candidates`` bytes (about 0.8 GB for ReLU depth 3 at N = 400);
``max_columns`` bounds ``n_candidates``.

Ties and deduplication
----------------------
The dictionary is built on the *distinct* sorted values of ``x`` (kinks only at distinct
values, so no zero-length capped ramps), then evaluated at every given point, ties
included. Columns are compared on the distinct values: columns that are constant there
are dropped, and columns equal up to sign and an additive constant (the intercept absorbs
the constant; ℓ1 is indifferent to the sign) are merged into one class. Two centred
columns are equal when they differ by at most ``1e-9 * s`` in every entry, where ``s`` is
the largest absolute entry of all centred candidate columns. Columns that are only
*proportional* (e.g. the two linear leaky-ReLU columns of slopes 1 and ``a``) are kept.

Representative of each class (deterministic; matters off the data, paper-notes §7.3):

1. fewest kinks;
2. then no reflected kink;
3. then the smallest ``(KINDS.index(kind), kinks, direction)``, compared
   lexicographically (:data:`convexforecast.core.features.KINDS`).

Steps are generated with ``direction=+1`` only (``direction=-1`` gives the same function
up to sign and intercept everywhere). Features are returned in the order of rule 1–3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from math import comb

import numpy as np

from convexforecast._validation import as_float_array, check_option, check_positive_int
from convexforecast.core.features import KINDS, Feature, FeatureTable

__all__ = ["ACTIVATIONS", "SUPPORTED_DEPTHS", "ExplicitDictionary", "build_dictionary",
           "candidate_features", "feature_matrix"]

#: Depths supported by each activation.
SUPPORTED_DEPTHS: dict[str, tuple[int, ...]] = {
    "relu": (2, 3, 4),
    "leaky_relu": (2,),
    "abs": (2, 3),
    "sign": (2, 3, 4),
    "threshold": (2, 3, 4),
}
ACTIVATIONS = tuple(SUPPORTED_DEPTHS)

_RAMP, _CAPPED, _ABS, _FOLDED, _STEP = (KINDS.index(k) for k in
                                        ("ramp", "capped_ramp", "abs", "folded_abs", "step"))
_DEDUP_RTOL = 1e-9


# --------------------------------------------------------------------------------------
# Candidate tables: the closed-form families as arrays (one row per candidate column)
# --------------------------------------------------------------------------------------
@dataclass
class _Table:
    """Candidate features as parallel arrays; ``kinks`` is padded with ``+inf``."""

    kind: np.ndarray          # (P,) int, index into KINDS
    kinks: np.ndarray         # (P, K) float
    n_kinks: np.ndarray       # (P,) int
    direction: np.ndarray     # (P,) int
    reflected: np.ndarray     # (P, K) bool
    sources: np.ndarray       # (P, K, 2) float, NaN where not reflected

    @property
    def size(self) -> int:
        return int(self.kind.shape[0])


def _make_table(kind: int, kinks: np.ndarray, direction: np.ndarray | int = 1,
                reflected: np.ndarray | None = None,
                sources: np.ndarray | None = None) -> _Table:
    kinks = np.asarray(kinks, dtype=np.float64)
    n = kinks.shape[0]
    reflected = np.zeros(kinks.shape, bool) if reflected is None else reflected
    sources = np.full(kinks.shape + (2,), np.nan) if sources is None else sources
    return _Table(
        kind=np.full(n, kind, dtype=np.int64),
        kinks=kinks,
        n_kinks=np.sum(np.isfinite(kinks), axis=1).astype(np.int64),
        direction=np.broadcast_to(np.asarray(direction, dtype=np.int64), (n,)).copy(),
        reflected=reflected,
        sources=sources,
    )


def _concat(tables: list[_Table]) -> _Table:
    width = max(t.kinks.shape[1] for t in tables)

    def pad(a: np.ndarray, value: float | bool) -> np.ndarray:
        extra = width - a.shape[1]
        if extra == 0:
            return a
        shape = (a.shape[0], extra) + a.shape[2:]
        return np.concatenate([a, np.full(shape, value, dtype=a.dtype)], axis=1)

    return _Table(
        kind=np.concatenate([t.kind for t in tables]),
        kinks=np.concatenate([pad(t.kinks, np.inf) for t in tables]),
        n_kinks=np.concatenate([t.n_kinks for t in tables]),
        direction=np.concatenate([t.direction for t in tables]),
        reflected=np.concatenate([pad(t.reflected, False) for t in tables]),
        sources=np.concatenate([pad(t.sources, np.nan) for t in tables]),
    )


def _take(table: _Table, idx: np.ndarray) -> _Table:
    return _Table(table.kind[idx], table.kinks[idx], table.n_kinks[idx],
                  table.direction[idx], table.reflected[idx], table.sources[idx])


def _snap(values: np.ndarray, u: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Snap reflection points onto data points within ``tol``.

    Returns the snapped values and the index of the data point (-1 when not snapped).
    """
    pos = np.clip(np.searchsorted(u, values), 1, len(u) - 1)
    left, right = u[pos - 1], u[pos]
    nearest = np.where(np.abs(values - left) <= np.abs(right - values), pos - 1, pos)
    hit = np.abs(values - u[nearest]) <= tol
    return np.where(hit, u[nearest], values), np.where(hit, nearest, -1)


def _ramps(u: np.ndarray) -> _Table:
    n = len(u)
    return _make_table(_RAMP, np.concatenate([u, u])[:, None],
                       np.concatenate([np.ones(n, np.int64), -np.ones(n, np.int64)]))


def _capped_between_data(u: np.ndarray) -> _Table:
    lo, hi = np.triu_indices(len(u), 1)
    return _make_table(_CAPPED, np.column_stack([u[lo], u[hi]]))


def _relu_reflections(u: np.ndarray, tol: float) -> _Table:
    """The ``L = 4, k = 1`` features of paper-notes §2.2 for every ordered pair."""
    n = len(u)
    ip, iq = np.nonzero(~np.eye(n, dtype=bool))
    p, q = u[ip], u[iq]
    d = np.where(iq > ip, 1, -1)
    refl, refl_idx = _snap(2.0 * q - p, u, tol)
    is_refl = refl_idx < 0
    pair = np.column_stack([p, q])
    ramp_sources = np.where(is_refl[:, None], pair, np.nan)[:, None, :]
    ramps = _make_table(_RAMP, refl[:, None], d, is_refl[:, None], ramp_sources)

    # capped ramps [R, u_l] with d (u_l - q) >= 0 and u_l != R
    idx_l = np.arange(n)
    ok = np.where(d[:, None] > 0, idx_l[None, :] >= iq[:, None], idx_l[None, :] <= iq[:, None])
    ok &= idx_l[None, :] != refl_idx[:, None]
    rows, cols = np.nonzero(ok)
    r, ul, flag = refl[rows], u[cols], is_refl[rows]
    r_low = r < ul
    kinks = np.column_stack([np.minimum(r, ul), np.maximum(r, ul)])
    reflected = np.column_stack([r_low & flag, ~r_low & flag])
    src = np.where(flag[:, None], pair[rows], np.nan)
    nan2 = np.full_like(src, np.nan)
    sources = np.stack([np.where(r_low[:, None], src, nan2),
                        np.where(r_low[:, None], nan2, src)], axis=1)
    capped = _make_table(_CAPPED, kinks, 1, reflected, sources)
    return _concat([ramps, capped])


def _folds(centre: np.ndarray, data_kink: np.ndarray, u: np.ndarray, tol: float) -> _Table:
    """Folded abs ``||x - c| - |u_k - c||`` with kinks ``u_k``, ``c`` and ``2c - u_k``."""
    keep = np.abs(data_kink - centre) > tol
    c, uk = centre[keep], data_kink[keep]
    refl, refl_idx = _snap(2.0 * c - uk, u, tol)
    flag = refl_idx < 0
    r_low = refl < uk
    kinks = np.column_stack([np.minimum(refl, uk), c, np.maximum(refl, uk)])
    reflected = np.column_stack([r_low & flag, np.zeros_like(flag), ~r_low & flag])
    src = np.where(flag[:, None], np.column_stack([uk, c]), np.nan)
    nan2 = np.full_like(src, np.nan)
    sources = np.stack([np.where(r_low[:, None], src, nan2), nan2,
                        np.where(r_low[:, None], nan2, src)], axis=1)
    return _make_table(_FOLDED, kinks, 1, reflected, sources)


def _abs_depth3(u: np.ndarray, tol: float) -> _Table:
    n = len(u)
    ii, kk = np.nonzero(~np.eye(n, dtype=bool))
    pinned = _folds(u[ii], u[kk], u, tol)
    lo, hi = np.triu_indices(n, 1)
    mid = 0.5 * (u[lo] + u[hi])
    centre = np.repeat(mid, n)
    data_kink = np.tile(u, len(mid))
    midpoint = _folds(centre, data_kink, u, tol)
    return _concat([_make_table(_ABS, u[:, None]), pinned, midpoint])


def _steps(u: np.ndarray, max_switches: int) -> _Table:
    n = len(u)
    tables = []
    for k in range(1, min(max_switches, n - 1) + 1):
        switch_idx = np.array(list(combinations(range(1, n), k)), dtype=np.int64)
        tables.append(_make_table(_STEP, u[switch_idx]))
    return _concat(tables)


def _n_candidates(n: int, activation: str, depth: int, max_switches: int) -> int:
    """Number of candidate columns before deduplication (combinatorial, no building)."""
    if activation in ("sign", "threshold"):
        return sum(comb(n - 1, k) for k in range(1, min(max_switches, n - 1) + 1))
    if activation == "abs":
        return n if depth == 2 else n + n * (n - 1) + comb(n, 2) * n
    count = 2 * n
    if depth >= 3:
        count += comb(n, 2)
    if depth == 4:
        iq = np.arange(n)
        # ramps at the reflections + capped ramps to every data point on the far side of q
        count += n * (n - 1) + int(np.sum(iq * (n - iq) + (n - 1 - iq) * (iq + 1)))
    return count


def _candidate_table(u: np.ndarray, activation: str, depth: int, max_switches: int,
                     tol: float) -> _Table:
    if activation in ("sign", "threshold"):
        return _steps(u, max_switches)
    if activation == "abs":
        return _make_table(_ABS, u[:, None]) if depth == 2 else _abs_depth3(u, tol)
    if depth == 2:
        return _ramps(u)
    d3 = [_ramps(u), _capped_between_data(u)]
    return _concat(d3 if depth == 3 else d3 + [_relu_reflections(u, tol)])


def _feature_table(table: _Table, slopes: np.ndarray, activation: str) -> FeatureTable:
    """The candidates of ``table`` as a :class:`~convexforecast.core.features.FeatureTable`."""
    return FeatureTable(kind=table.kind, kinks=table.kinks, direction=table.direction,
                        slope=slopes, sign=np.full(table.size, activation == "sign"))


def feature_matrix(features: list[Feature], x: np.ndarray) -> np.ndarray:
    """Evaluate many features at once (vectorised :meth:`Feature.__call__`).

    Parameters
    ----------
    features : list of Feature
    x : array-like of shape (n,)
        Finite evaluation points.

    Returns
    -------
    ndarray of shape (n, len(features))
        Column ``j`` equals ``features[j](x)`` exactly.
    """
    x = as_float_array("x", x, 1)
    if not features:
        return np.empty((x.shape[0], 0))
    return FeatureTable.from_features(features).evaluate(x)


# --------------------------------------------------------------------------------------
# Deduplication mod sign and intercept
# --------------------------------------------------------------------------------------
def _priority_order(table: _Table) -> np.ndarray:
    """Candidate indices sorted by the representative rule (module docstring)."""
    kinks = np.where(np.isfinite(table.kinks), table.kinks, 0.0)
    keys = [table.direction]
    keys += [kinks[:, i] for i in range(kinks.shape[1] - 1, -1, -1)]
    keys += [table.kind, table.reflected.any(axis=1), table.n_kinks]
    return np.lexsort(keys)


def _deduplicate(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Representatives of the classes of non-constant columns equal mod sign and intercept.

    ``values`` holds the columns on the distinct data points; ``order`` is the priority
    order. Returns representative column indices in priority order.
    """
    centred = values - values.mean(axis=0)
    col_max = np.abs(centred).max(axis=0)
    scale = float(col_max.max()) if col_max.size else 0.0
    tol = _DEDUP_RTOL * scale
    order = order[col_max[order] > tol]
    if order.size == 0:
        return order
    # Equal columns (mod sign) have |r.c| within ||r||_1 * tol: sort by that key and
    # compare exactly only inside runs of close keys.
    proj = np.random.default_rng(0).standard_normal(centred.shape[0])
    key = np.abs(proj @ centred[:, order])
    by_key = np.argsort(key, kind="stable")
    gaps = np.diff(key[by_key]) > 2.0 * tol * np.abs(proj).sum() + 4 * np.finfo(float).eps * (
        key.max() if key.size else 0.0)
    run_starts = np.concatenate([[0], np.flatnonzero(gaps) + 1])
    run_ends = np.concatenate([run_starts[1:], [len(order)]])
    keep = np.zeros(len(order), bool)
    singles = run_starts[run_ends - run_starts == 1]
    keep[by_key[singles]] = True
    for start, end in zip(run_starts, run_ends, strict=True):
        if end - start == 1:
            continue
        members = np.sort(by_key[start:end])  # positions in priority order
        while members.size:
            lead = centred[:, order[members[0]]][:, None]
            block = centred[:, order[members]]
            diff = np.minimum(np.abs(block - lead).max(axis=0), np.abs(block + lead).max(axis=0))
            keep[members[0]] = True
            members = members[diff > tol]
    return order[keep]


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------
@dataclass
class ExplicitDictionary:
    """A materialised, deduplicated dictionary.

    Attributes
    ----------
    features : list of Feature
        One representative feature per column (see the module docstring for the rule).
    matrix : ndarray of shape (n, p)
        ``matrix[:, j] == features[j](x)`` at the points the dictionary was built from,
        in the caller's order, ties included.
    x_unique : ndarray of shape (N,)
        The distinct sorted data values the kinks are pinned to.
    activation : str
    depth : int
    """

    features: list[Feature]
    matrix: np.ndarray
    x_unique: np.ndarray
    activation: str
    depth: int
    _table: FeatureTable | None = field(default=None, repr=False, compare=False)

    @property
    def n_columns(self) -> int:
        """Number of columns (distinct features)."""
        return len(self.features)

    def evaluate(self, x_new: np.ndarray) -> np.ndarray:
        """Evaluate all features at new points.

        Parameters
        ----------
        x_new : array-like of shape (m,)
            Finite evaluation points (anywhere, not only at the data).

        Returns
        -------
        ndarray of shape (m, p)
            Column ``j`` equals ``features[j](x_new)``.
        """
        x_new = as_float_array("x_new", x_new, 1)
        if not self.features:
            return np.empty((x_new.shape[0], 0))
        if self._table is None:
            self._table = FeatureTable.from_features(self.features)
        return self._table.evaluate(x_new)


def _validate(x, activation, depth, negative_slope, max_switches, max_columns):
    x = as_float_array("x", x, 1)
    u = np.unique(x)
    if u.size < 2:
        raise ValueError(f"`x` must contain at least 2 distinct values. Got {u.size} distinct "
                         f"value(s) {u.tolist()}.")
    check_option("activation", activation, ACTIVATIONS)
    if isinstance(depth, bool) or depth not in SUPPORTED_DEPTHS[activation]:
        raise ValueError(f"`depth` must be one of {list(SUPPORTED_DEPTHS[activation])} for "
                         f"activation={activation!r}. Got {depth!r}.")
    depth = int(depth)
    try:
        slope = float(negative_slope)
    except (TypeError, ValueError):
        slope = np.nan
    if activation == "leaky_relu" and not (np.isfinite(slope) and 0.0 <= slope < 1.0):
        raise ValueError(f"`negative_slope` must be a number in [0, 1). Got {negative_slope!r}.")
    steps = activation in ("sign", "threshold")
    if max_switches is not None:
        if not steps:
            raise ValueError(f"`max_switches` applies to the sign and threshold activations "
                             f"only. Got max_switches={max_switches!r} with "
                             f"activation={activation!r}.")
        max_switches = check_positive_int("max_switches", max_switches)
        if depth == 2 and max_switches != 1:
            raise ValueError(f"`max_switches` must be 1 at depth 2 (one-switch steps). "
                             f"Got {max_switches}.")
    elif steps:
        max_switches = 2 ** (depth - 2)
    max_columns = check_positive_int("max_columns", max_columns)
    return x, u, depth, slope, max_switches or 0, max_columns


def candidate_features(x: np.ndarray, *, depth: int, activation: str = "relu",
                       negative_slope: float = 0.01, max_switches: int | None = None,
                       max_columns: int = 200_000) -> list[Feature]:
    """The closed-form family *before* deduplication (columns zero on the data included).

    Same arguments as :func:`build_dictionary`. Useful to compare the closed forms with
    the paper's recursion off the data, where representatives of one class differ.
    """
    x, u, depth, slope, k, max_columns = _validate(x, activation, depth, negative_slope,
                                                   max_switches, max_columns)
    table = _build_table(u, activation, depth, k, max_columns)
    return _features_from_table(table, np.arange(table.size), activation, depth, slope)


def _build_table(u: np.ndarray, activation: str, depth: int, max_switches: int,
                 max_columns: int) -> _Table:
    count = _n_candidates(len(u), activation, depth, max_switches)
    if count > max_columns:
        hint = ("lower `max_switches`, " if activation in ("sign", "threshold") else "")
        raise ValueError(
            f"The {activation} dictionary of depth {depth} on {len(u)} distinct points has "
            f"{count} candidate columns, more than `max_columns`={max_columns}"
            + (f" (`max_switches`={max_switches})" if hint else "")
            + f". Use fewer points, {hint}or raise `max_columns`. Got max_columns={max_columns}."
        )
    span = float(u[-1] - u[0])
    snap_tol = max(_DEDUP_RTOL * span, 8 * np.finfo(float).eps * float(np.abs(u).max()))
    return _candidate_table(u, activation, depth, max_switches, snap_tol)


def _features_from_table(table: _Table, idx: np.ndarray, activation: str, depth: int,
                         slope: float) -> list[Feature]:
    feat_slope = slope if activation == "leaky_relu" else 0.0
    kinds = table.kind[idx].tolist()
    n_kinks = table.n_kinks[idx].tolist()
    kinks = table.kinks[idx].tolist()
    directions = table.direction[idx].tolist()
    reflected = table.reflected[idx].tolist()
    sources = table.sources[idx].tolist()
    out = []
    for i in range(len(kinds)):
        m = n_kinks[i]
        refl = tuple(reflected[i][:m])
        src = tuple(tuple(sources[i][j]) if refl[j] else None for j in range(m))
        out.append(Feature(kind=KINDS[kinds[i]], kinks=tuple(kinks[i][:m]),
                           activation=activation, depth=depth, direction=directions[i],
                           negative_slope=feat_slope, reflected=refl, sources=src))
    return out


def build_dictionary(x: np.ndarray, *, depth: int, activation: str = "relu",
                     negative_slope: float = 0.01, max_switches: int | None = None,
                     max_columns: int = 200_000) -> ExplicitDictionary:
    """Build the deduplicated explicit dictionary of a 1-D network family.

    Parameters
    ----------
    x : array-like of shape (n,)
        Finite 1-D inputs with at least 2 distinct values. Not modified.
    depth : int
        Number of layers L: relu 2, 3, 4; leaky_relu 2; abs 2, 3; sign/threshold 2, 3, 4.
    activation : {"relu", "leaky_relu", "abs", "sign", "threshold"}
    negative_slope : float
        Leaky-ReLU slope ``a`` in ``[0, 1)`` (leaky_relu only).
    max_switches : int, optional
        Sign/threshold only: maximal number of switches K per step feature. Default
        ``2 ** (depth - 2)`` (1 at depth 2, the only allowed value there).
    max_columns : int
        Upper bound on the number of candidate columns before deduplication; the count is
        computed combinatorially before anything is built.

    Returns
    -------
    ExplicitDictionary

    Raises
    ------
    ValueError
        For non-finite or non-1-D ``x``, fewer than 2 distinct values, an unknown
        ``activation``, an unsupported ``depth``, a bad ``negative_slope`` or
        ``max_switches``, or more candidates than ``max_columns``.
    """
    x, u, depth, slope, k, max_columns = _validate(x, activation, depth, negative_slope,
                                                   max_switches, max_columns)
    table = _build_table(u, activation, depth, k, max_columns)
    slopes = np.full(table.size, slope if activation == "leaky_relu" else 0.0)
    on_data = _feature_table(table, slopes, activation).evaluate(u)
    reps = _deduplicate(on_data, _priority_order(table))
    features = _features_from_table(table, reps, activation, depth, slope)
    rows = np.searchsorted(u, x)
    matrix = np.ascontiguousarray(on_data[np.ix_(rows, reps)])
    cached = _feature_table(_take(table, reps), slopes[reps], activation)
    return ExplicitDictionary(features, matrix, u, activation, depth, cached)
