"""Compiled forward and backward passes of the parallel-chain objective of :mod:`.adam`.

The network has ``m`` chains of ``k = L - 1`` hidden scalar layers ``h <- σ(w h + b)``; chain
``j`` reads column ``input_index[j]`` of ``X`` and contributes ``α_j h_k`` to the prediction.
The parameters live in the flat vector of :class:`convexforecast.core.adam._ChainProblem`:
``theta = [W (k, m), B (k, m), α (m), ξ]``, so rows ``0 .. 2k`` of ``theta[:(2k + 1) m]``
reshaped to ``(2k + 1, m)`` are ``W_0 .. W_{k-1}, B_0 .. B_{k-1}, α``. The gradient vector
has the same layout.

Nothing of shape ``(n_samples, m)`` is materialised:

- :func:`chain_residuals` loops over chains and, per chain, over the rows (contiguous and
  vectorised), accumulating ``α_j h_k`` into the residual vector ``f(X) − y``, in partial
  sums over tiles of :data:`CHAIN_BLOCK` chains.
- :func:`chain_gradient` recomputes the cheap forward pass instead of storing it: it copies a
  tile of at most :data:`CHAIN_BLOCK` chains (all reading one column) into a small buffer,
  then loops over the rows and, per row, over the chains of the tile with the forward and
  backward passes fused in registers; the gradient accumulators are per chain, so the inner
  loop is vectorised over chains without reassociating any sum. The sums over rows are
  accumulated in partial sums over blocks of :data:`ROW_BLOCK` rows.

Every sum is accumulated in a fixed order (the residual of row ``i`` over chains in chain
order, each gradient entry over rows in row order, both two-level: blocks of 64 summed
sequentially, then the block sums; as accurate as numpy's pairwise sums in practice) on one
thread and without ``fastmath``, so results are deterministic and do not depend on the SIMD
width.

Activations are encoded by two numbers: ``σ(t) = t`` for ``t > 0`` and ``a t`` otherwise
(``a = 0`` relu, the slope for leaky relu, ``a = −1`` abs), and the derivative is ``1`` for
``t > 0``, ``a`` for ``t < 0`` and ``d0`` at ``t = 0`` (``0`` for relu and abs, the slope for
leaky relu: the behaviour of the numpy implementation this replaces).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from convexforecast.core.activations import act, act_derivative

#: Chains per tile of :func:`chain_gradient` (their parameters and gradients stay in L1),
#: and per partial sum of the residuals in :func:`chain_residuals`.
CHAIN_BLOCK = 64
#: Rows per partial sum of the gradient in :func:`chain_gradient`.
ROW_BLOCK = 64
# Row stride (in doubles) of the tile buffer: 576 bytes, so that no two of its rows are a
# multiple of 4 KiB apart (loads and stores to such rows falsely alias on x86 and stall).
_TILE_STRIDE = 72


def column_runs(input_index: np.ndarray) -> np.ndarray:
    """``(start, stop, column)`` of every maximal run of chains reading the same column."""
    index = np.asarray(input_index, dtype=np.int64)
    if index.size == 0:
        return np.empty((0, 3), dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], index[1:] != index[:-1]]))
    stops = np.append(starts[1:], index.size)
    return np.column_stack([starts, stops, index[starts]]).astype(np.int64)


@njit(cache=True)
def chain_residuals(
    Xt: np.ndarray,
    runs: np.ndarray,
    y: np.ndarray,
    theta: np.ndarray,
    n_hidden: int,
    a: float,
    resid: np.ndarray,
    buffer: np.ndarray,
) -> None:
    """Write ``f(X) − y`` into ``resid``.

    Parameters
    ----------
    Xt : ndarray of shape (n_features, n_samples)
        ``X`` transposed, C-contiguous.
    runs : ndarray of shape (n_runs, 3)
        :func:`column_runs` of the chains' input columns.
    y : ndarray of shape (n_samples,)
    theta : ndarray of shape (2 k m + m + 1,)
        Flat parameters (module docstring).
    n_hidden : int
        ``k``, hidden layers per chain.
    a : float
        Negative-side slope of the activation (see :func:`~convexforecast.core.activations.kernel_code`).
    resid : ndarray of shape (n_samples,)
        Output.
    buffer : ndarray of shape (2, n_samples)
        Scratch space.
    """
    n = y.size
    m = (theta.size - 1) // (2 * n_hidden + 1)
    xi = theta[theta.size - 1]
    h = buffer[0]
    partial = buffer[1]
    for i in range(n):
        resid[i] = xi - y[i]
    for q in range(runs.shape[0]):
        x = Xt[runs[q, 2]]
        for tile_start in range(runs[q, 0], runs[q, 1], CHAIN_BLOCK):
            for i in range(n):
                partial[i] = 0.0
            for j in range(tile_start, min(tile_start + CHAIN_BLOCK, runs[q, 1])):
                w = theta[j]
                b = theta[n_hidden * m + j]
                for i in range(n):
                    h[i] = act(w * x[i] + b, a)
                for layer in range(1, n_hidden):
                    w = theta[layer * m + j]
                    b = theta[(n_hidden + layer) * m + j]
                    for i in range(n):
                        h[i] = act(w * h[i] + b, a)
                alpha = theta[2 * n_hidden * m + j]
                for i in range(n):
                    partial[i] += alpha * h[i]
            for i in range(n):
                resid[i] += partial[i]


@njit(cache=True)
def _tile_depth2(
    x: np.ndarray, resid: np.ndarray, P: np.ndarray, G: np.ndarray, S: np.ndarray, nb: int, a: float,
    d0: float,
) -> None:
    """Add the data-fit gradient of ``nb`` depth-2 chains to ``G`` (rows ordered as ``theta``).

    ``S`` (same shape as ``G``) holds the partial sums over one block of :data:`ROW_BLOCK`
    rows, added to ``G`` after each block.
    """
    W0, B0, A = P[0], P[1], P[2]
    sW0, sB0, sA = S[0], S[1], S[2]
    n = resid.size
    for row_start in range(0, n, ROW_BLOCK):
        S[:, :nb] = 0.0
        for i in range(row_start, min(row_start + ROW_BLOCK, n)):
            r = resid[i]
            h0 = x[i]
            for j in range(nb):
                t1 = W0[j] * h0 + B0[j]
                sA[j] += r * act(t1, a)
                u = r * A[j] * act_derivative(t1, a, d0)
                sB0[j] += u
                sW0[j] += u * h0
        G[:, :nb] += S[:, :nb]


@njit(cache=True)
def _tile_depth3(
    x: np.ndarray, resid: np.ndarray, P: np.ndarray, G: np.ndarray, S: np.ndarray, nb: int, a: float,
    d0: float,
) -> None:
    """:func:`_tile_depth2` for depth-3 chains."""
    W0, W1, B0, B1, A = P[0], P[1], P[2], P[3], P[4]
    sW0, sW1, sB0, sB1, sA = S[0], S[1], S[2], S[3], S[4]
    n = resid.size
    for row_start in range(0, n, ROW_BLOCK):
        S[:, :nb] = 0.0
        for i in range(row_start, min(row_start + ROW_BLOCK, n)):
            r = resid[i]
            h0 = x[i]
            for j in range(nb):
                t1 = W0[j] * h0 + B0[j]
                h1 = act(t1, a)
                t2 = W1[j] * h1 + B1[j]
                sA[j] += r * act(t2, a)
                u = r * A[j] * act_derivative(t2, a, d0)
                sB1[j] += u
                sW1[j] += u * h1
                u = u * W1[j] * act_derivative(t1, a, d0)
                sB0[j] += u
                sW0[j] += u * h0
        G[:, :nb] += S[:, :nb]


@njit(cache=True)
def _tile_depth4(
    x: np.ndarray, resid: np.ndarray, P: np.ndarray, G: np.ndarray, S: np.ndarray, nb: int, a: float,
    d0: float,
) -> None:
    """:func:`_tile_depth2` for depth-4 chains."""
    W0, W1, W2, B0, B1, B2, A = P[0], P[1], P[2], P[3], P[4], P[5], P[6]
    sW0, sW1, sW2, sB0, sB1, sB2, sA = S[0], S[1], S[2], S[3], S[4], S[5], S[6]
    n = resid.size
    for row_start in range(0, n, ROW_BLOCK):
        S[:, :nb] = 0.0
        for i in range(row_start, min(row_start + ROW_BLOCK, n)):
            r = resid[i]
            h0 = x[i]
            for j in range(nb):
                t1 = W0[j] * h0 + B0[j]
                h1 = act(t1, a)
                t2 = W1[j] * h1 + B1[j]
                h2 = act(t2, a)
                t3 = W2[j] * h2 + B2[j]
                sA[j] += r * act(t3, a)
                u = r * A[j] * act_derivative(t3, a, d0)
                sB2[j] += u
                sW2[j] += u * h2
                u = u * W2[j] * act_derivative(t2, a, d0)
                sB1[j] += u
                sW1[j] += u * h1
                u = u * W1[j] * act_derivative(t1, a, d0)
                sB0[j] += u
                sW0[j] += u * h0
        G[:, :nb] += S[:, :nb]


@njit(cache=True)
def chain_gradient(
    Xt: np.ndarray,
    runs: np.ndarray,
    resid: np.ndarray,
    theta: np.ndarray,
    grad: np.ndarray,
    n_hidden: int,
    a: float,
    d0: float,
) -> None:
    """Write the gradient of ``½‖resid‖²`` in ``W``, ``B`` and ``α`` into ``grad[:(2k+1) m]``.

    ``resid`` must be :func:`chain_residuals` at ``theta``; the output bias entry
    ``grad[-1]`` and the penalty are left to the caller. Other parameters as in
    :func:`chain_residuals`; ``d0`` is the derivative of the activation at 0.
    """
    if n_hidden < 1 or n_hidden > 3:
        raise ValueError("`n_hidden` must be 1, 2 or 3.")
    n_rows = 2 * n_hidden + 1
    m = (theta.size - 1) // n_rows
    params = theta[: n_rows * m].reshape((n_rows, m))
    grads = grad[: n_rows * m].reshape((n_rows, m))
    tile = np.empty((3 * n_rows, _TILE_STRIDE))
    P = tile[:n_rows]
    G = tile[n_rows : 2 * n_rows]
    S = tile[2 * n_rows :]
    for q in range(runs.shape[0]):
        x = Xt[runs[q, 2]]
        for start in range(runs[q, 0], runs[q, 1], CHAIN_BLOCK):
            nb = min(start + CHAIN_BLOCK, runs[q, 1]) - start
            P[:, :nb] = params[:, start : start + nb]
            G[:, :nb] = 0.0
            if n_hidden == 1:
                _tile_depth2(x, resid, P, G, S, nb, a, d0)
            elif n_hidden == 2:
                _tile_depth3(x, resid, P, G, S, nb, a, d0)
            else:
                _tile_depth4(x, resid, P, G, S, nb, a, d0)
            grads[:, start : start + nb] = G[:, :nb]
