"""Minimum-norm, few-neuron representations of a fitted ReLU function (paper-notes §2.3).

On the data a sum of ReLU dictionary columns is a piecewise-linear function ``g`` with
kinks at the data points, described by its secant slopes ``m_0 … m_{N-2}``. Its cheapest
representation (the least ``‖z‖₁``) is known in closed form:

* depth ≥ 3: ``(|m_0| + Σ|m_k − m_{k−1}| + |m_{N−2}|)/2``, attained by the *skyline*
  decomposition of the slope profile into capped ramps ("bricks") between data points;
* depth 2: ``max(T, (T + |m_0 + m_{N−2}|)/2)`` (Savarese et al. 2019), attained by ramps.

Re-expressing a solver's solution this way never raises ``‖z‖₁`` and leaves the fit
unchanged, so the objective can only go down; it also makes the returned network
canonical and sparse.

Depth 4 has the same optimal value, but more optimal solutions: a capped ramp whose one
kink is a reflection ``R = 2q − p`` of the data equals, on the data, two adjacent bricks
sharing the other end. The sparsity rule used here (documented in the estimator):

1. build both the last-in-first-out and the first-in-first-out skyline;
2. in each, greedily merge pairs of same-sign bricks that share one end and whose other
   ends are adjacent data points whenever the merged kink is a valid reflection
   (paper-notes §2.2: one kink at R, the other on R's side of q);
3. keep the decomposition with fewer neurons (LIFO on ties).

This finds, e.g., the single neuron ``C_{5,8}`` on the paper's 'opt' data.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from convexforecast.core.dictionaries.implicit import pair_feature
from convexforecast.core.features import Feature

# A brick is (a, b, height): height · C_{u_a, u_b}; heights carry the sign.
Brick = tuple[int, int, float]


RAMP_UP, RAMP_DOWN, CAPPED = 0, 1, 2
ZERO_SLOPE = 1e-12  # slopes and slope changes below this times the largest slope are zero


def secant_slopes(features: list[Feature], coef: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Secant slopes of ``Σ coef · feature`` on the intervals ``[u_k, u_{k+1}]``.

    Computed from each ReLU feature's geometry (the fraction of the interval on which its
    slope is ±1), not by differencing values, so kinks at data points give exact 0/±1
    slopes and round-off cannot create spurious kinks between close data points.
    """
    kinds = np.array([CAPPED if f.kind != "ramp" else RAMP_UP if f.direction > 0 else RAMP_DOWN
                      for f in features], dtype=np.int64)
    first = np.array([f.kinks[0] for f in features], dtype=np.float64)
    last = np.array([f.kinks[-1] for f in features], dtype=np.float64)
    return _secant_slopes(kinds, first, last, np.asarray(coef, dtype=np.float64), u)


@njit(cache=True)
def _secant_slopes(kinds: np.ndarray, first: np.ndarray, last: np.ndarray, coef: np.ndarray,
                   u: np.ndarray) -> np.ndarray:
    """Compiled :func:`secant_slopes`; each feature only visits the intervals it touches."""
    lo, hi = u[:-1], u[1:]
    slopes = np.zeros(lo.shape[0])
    for f in range(kinds.shape[0]):
        start = 0 if kinds[f] == RAMP_DOWN else np.searchsorted(hi, first[f], side="right")
        stop = lo.shape[0] if kinds[f] == RAMP_UP else np.searchsorted(lo, last[f], side="left")
        for k in range(start, stop):
            width = hi[k] - lo[k]
            if kinds[f] == RAMP_UP:
                part = max(hi[k] - max(first[f], lo[k]), 0.0)
            elif kinds[f] == RAMP_DOWN:
                part = -max(min(first[f], hi[k]) - lo[k], 0.0)
            else:
                part = max(min(last[f], hi[k]) - max(first[f], lo[k]), 0.0)
            frac = 1.0 if part == width else (-1.0 if part == -width else part / width)
            slopes[k] += coef[f] * frac
    return slopes


def skyline(slopes: np.ndarray, lifo: bool = True, rel_tol: float = ZERO_SLOPE) -> list[Brick]:
    """Split a slope profile into capped-ramp bricks with minimal total height."""
    starts, ends, heights = _skyline(np.asarray(slopes, dtype=np.float64), lifo, rel_tol)
    return [(int(a), int(b), float(h)) for a, b, h in zip(starts, ends, heights, strict=True)]


@njit(cache=True)
def _skyline(slopes: np.ndarray, lifo: bool, rel_tol: float,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compiled :func:`skyline`: a stack of open bricks per sign, popped LIFO or FIFO."""
    scale = np.abs(slopes).max() if slopes.shape[0] else 0.0
    tol = rel_tol * scale
    starts, ends, heights = [0][:0], [0][:0], [0.0][:0]
    for sign in (1.0, -1.0):
        level = np.maximum(sign * slopes, 0.0)
        level[level <= tol] = 0.0
        padded = np.zeros(level.shape[0] + 2)
        padded[1:-1] = level
        deltas = np.diff(padded)
        open_at, open_height = [0][:0], [0.0][:0]
        head = 0  # first open brick (FIFO)
        for k in np.flatnonzero(deltas) + 1:  # only where the level changes
            delta = deltas[k - 1]
            if delta > 0:
                open_at.append(k - 1)
                open_height.append(delta)
                continue
            need = -delta
            while need > tol and head < len(open_at):
                top = len(open_at) - 1 if lifo else head
                take = min(open_height[top], need)
                starts.append(open_at[top])
                ends.append(k - 1)
                heights.append(sign * take)
                open_height[top] -= take
                need -= take
                if open_height[top] <= tol:
                    if lifo:
                        open_at.pop()
                        open_height.pop()
                    else:
                        head += 1
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64), \
        np.array(heights, dtype=np.float64)


def _reflection_sources(u: np.ndarray, kink: float, other: float | None,
                        direction: int = 0) -> tuple[float, float] | None:
    """A pair (p, q) of data points with ``2q − p == kink`` that makes a valid depth-4 feature.

    For a capped ramp the other kink must lie on the reflection's side of q (or at q);
    for a ramp (``other is None``) the ramp must point away from the pair.
    """
    tol = 1e-9 * max(float(u[-1] - u[0]), 1e-300)
    p = 2.0 * u - kink
    pos = np.clip(np.searchsorted(u, p), 0, len(u) - 1)
    for cand in (pos, np.clip(pos - 1, 0, len(u) - 1)):
        hit = np.abs(u[cand] - p) <= tol
        for qi in np.flatnonzero(hit):
            q, pp = float(u[qi]), float(u[cand[qi]])
            d = np.sign(q - pp)
            if d == 0 or abs(kink - q) <= tol:
                continue
            if other is None and direction == d:
                return pp, q
            if other is not None and d * (other - q) >= -tol and abs(other - kink) > tol:
                return pp, q
    return None


def _merge_reflections(u: np.ndarray, bricks: list[Brick]) -> list[tuple]:
    """Greedily merge adjacent same-sign bricks into reflection capped ramps."""
    items: list[tuple] = [("brick", b) for b in bricks]
    merged = True
    while merged:
        merged = False
        plain = [i for i, it in enumerate(items) if it[0] == "brick"]
        for ii in plain:
            for jj in plain:
                if ii >= jj or merged:
                    continue
                (a1, b1, h1), (a2, b2, h2) = items[ii][1], items[jj][1]
                if np.sign(h1) != np.sign(h2):
                    continue
                if a1 == a2 and abs(b1 - b2) == 1:
                    lo, hi = (b1, b2) if b1 < b2 else (b2, b1)
                    w_hi = (h2 if b2 == hi else h1) / (h1 + h2)
                    kink = u[lo] + w_hi * (u[hi] - u[lo])
                    src = _reflection_sources(u, kink, float(u[a1]))
                    new = ("reflect", (float(u[a1]), kink), h1 + h2, (False, True), src)
                elif b1 == b2 and abs(a1 - a2) == 1:
                    lo, hi = (a1, a2) if a1 < a2 else (a2, a1)
                    w_hi = (h2 if a2 == hi else h1) / (h1 + h2)
                    kink = u[lo] + w_hi * (u[hi] - u[lo])
                    src = _reflection_sources(u, kink, float(u[b1]))
                    new = ("reflect", (kink, float(u[b1])), h1 + h2, (True, False), src)
                else:
                    continue
                if src is None:
                    continue
                exact = 2.0 * src[1] - src[0]  # snap the kink onto its reflection
                kinks = tuple(exact if r else k for k, r in zip(new[1], new[3], strict=True))
                new = (new[0], kinks, *new[2:])
                items = [it for k, it in enumerate(items) if k not in (ii, jj)] + [new]
                merged = True
    return items


def decompose(u: np.ndarray, slopes: np.ndarray, depth: int) -> tuple[list[Feature], np.ndarray]:
    """Few-neuron minimum-norm representation of the function with the given slopes.

    Parameters
    ----------
    u : ndarray of shape (N,)
        Sorted distinct data points of one input.
    slopes : ndarray of shape (N − 1,)
        Secant slopes of the fitted function between consecutive points.
    depth : int
        Network depth (2, 3 or 4).

    Returns
    -------
    features, coef
        ``Σ coef_i · features_i`` equals the function on the data up to a constant and
        ``‖coef‖₁`` is the minimal cost of the function at that depth.
    """
    last = u.shape[0] - 1
    if depth == 2:
        return _decompose_depth2(u, slopes)
    best: tuple[list[Feature], np.ndarray] | None = None
    for lifo in (True, False) if depth >= 4 else (True,):
        bricks = skyline(slopes, lifo=lifo)
        items = _merge_reflections(u, bricks) if depth >= 4 else [("brick", b) for b in bricks]
        feats, coefs = [], []
        for item in items:
            if item[0] == "brick":
                a, b, h = item[1]
                feat, sign = pair_feature(u, a, b, last, depth)
                feats.append(feat)
                coefs.append(sign * h)
            else:
                _, kinks, h, reflected, src = item
                sources = tuple(src if r else None for r in reflected)
                feats.append(Feature("capped_ramp", kinks, depth=depth, reflected=reflected,
                                     sources=sources))
                coefs.append(h)
        if best is None or len(feats) < len(best[0]):
            best = (feats, np.asarray(coefs, dtype=np.float64))
    return best


def _decompose_depth2(u: np.ndarray, slopes: np.ndarray) -> tuple[list[Feature], np.ndarray]:
    """Ramps with ``‖z‖₁ = max(T, (T + |m_0 + m_{N−2}|)/2)`` (few splits, greedy)."""
    jumps = np.diff(slopes)  # at interior points u_1 .. u_{N-2}
    scale = float(np.abs(slopes).max(initial=0.0))
    jumps[np.abs(jumps) <= ZERO_SLOPE * scale] = 0.0
    m0 = float(slopes[0]) if slopes.size else 0.0
    pos, neg = jumps[jumps > 0].sum(), -jumps[jumps < 0].sum()
    target = float(np.clip(-m0, -neg, pos))  # total weight carried by left ramps
    left = np.zeros_like(jumps)
    remaining = target
    for k in np.argsort(-np.abs(jumps), kind="stable"):
        if remaining == 0.0:
            break
        if jumps[k] != 0.0 and np.sign(jumps[k]) == np.sign(remaining):
            take = np.sign(remaining) * min(abs(jumps[k]), abs(remaining))
            left[k] = take
            remaining -= take
    right = jumps - left
    feats, coefs = [], []
    linear = m0 + target
    if abs(linear) > ZERO_SLOPE * scale:
        feats.append(Feature("ramp", (float(u[0]),), depth=2, direction=1))
        coefs.append(linear)
    for k in range(jumps.shape[0]):
        kink = (float(u[k + 1]),)
        if right[k] != 0.0:
            feats.append(Feature("ramp", kink, depth=2, direction=1))
            coefs.append(right[k])
        if left[k] != 0.0:
            feats.append(Feature("ramp", kink, depth=2, direction=-1))
            coefs.append(left[k])
    return feats, np.asarray(coefs, dtype=np.float64)
