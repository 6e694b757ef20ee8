"""Test helper: a faithful port of the authors' dictionary recursion (paper-notes §2.2).

Source: ``pilancilab/1d-convex-nn``, ``codeForFigs/convex_training.ipynb``, functions
``reflect``, ``reludic``, ``convertIndex2Tuple`` and the column loop of
``lasso_nn_deepnarrow``; the data are sorted in *descending* order as in ``makedata``.
It is deliberately small and slow (recursive, one column at a time) and is used only to
check the closed-form dictionaries of :mod:`convexforecast.core.dictionaries`.
"""

from __future__ import annotations

import numpy as np


def relu(x):
    return np.maximum(0, x)


def reflect(a1, a2):
    return 2 * a2 - a1


def reludic(l, s, j, k, data, x):  # noqa: E741 - the notebook's argument names
    """``F_l`` of the column ``(s, j, k)`` at ``x``; ``data`` is sorted descending.

    ``F_1(x) = x`` and ``F_{l+1}(x) = relu(s_l (F_l(x) - F_l(c_l)))`` with
    ``c_1 = data[j_1]``, or ``c_1 = 2 data[j_2] - data[j_1]`` when ``k == 1``, and
    ``c_l = data[j_l]`` for ``l >= 2`` (1-based, as in the notebook).
    """
    if l == 1:
        return x
    l = l - 1
    if l == 1 and k == 1:
        a = reflect(data[j[0]], data[j[1]])
    else:
        a = data[j[l - 1]]
    xterm = reludic(l, s, j, k, data, x)
    aterm = reludic(l, s, j, k, data, a)
    sterm = s[l - 1]
    return relu(sterm * (xterm - aterm))


def convert_index_to_tuple(index, n, arraylen):
    """The notebook's ``convertIndex2Tuple``: column index -> (s, j, k)."""
    s = np.zeros((arraylen,))
    j = np.zeros((arraylen,))
    q, mod = divmod(index, (n ** arraylen) * (2 ** arraylen))
    k = q
    for i in range(arraylen):
        q, mod = divmod(mod, (n ** arraylen) * (2 ** (arraylen - i - 1)))
        s[arraylen - i - 1] = q
    for i in range(arraylen):
        q, mod = divmod(mod, n ** (arraylen - i - 1))
        j[arraylen - i - 1] = q
    s = (2 * s - 1).astype(int)
    return s, j.astype(int), k


def paper_columns(x_train, depth, points):
    """All ``2^(L-1) N^(L-1)`` (doubled for L = 4) notebook columns evaluated at ``points``.

    Parameters
    ----------
    x_train : array-like of shape (N,)
        Distinct training inputs (any order; sorted descending here as in ``makedata``).
    depth : int
        L in {2, 3, 4}.
    points : array-like of shape (m,)
        Where to evaluate the columns.

    Returns
    -------
    ndarray of shape (m, P)
    """
    data = np.sort(np.asarray(x_train, dtype=float))[::-1]
    points = np.asarray(points, dtype=float)
    n = len(data)
    n_cols = (2 ** (depth - 1)) * (n ** (depth - 1))
    if depth == 4:
        n_cols *= 2
    out = np.zeros((len(points), n_cols))
    for i in range(n_cols):
        s, j, k = convert_index_to_tuple(i, n, depth - 1)
        out[:, i] = reludic(depth, s, j, k, data, points)
    return out
