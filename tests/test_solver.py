"""The fast exact solver against the cvxpy + Clarabel reference, and its building blocks."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convexforecast.core.canonical.decomposition import decompose, secant_slopes
from convexforecast.core.dictionaries import FormulaDictionary, PairDictionary, build_dictionary, make_dictionaries
from convexforecast.core.fit import fit_convex_network
from convexforecast.core.solvers.column_stack import CappedRampStack
from convexforecast.core.solvers.lasso import LassoSolution, dual_objective
from convexforecast.core.solvers.working_set import (
    FACTOR_REUSES,
    WorkingSet,
    _entering,
    _locate,
    _match,
    beta_max,
    codes,
    price_all,
    solve_working_set,
    split_codes,
    sum_by_code,
)


def _problem(seed: int, n: int, d: int = 1, ties: bool = False, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, d))
    if ties:
        X = np.round(X * 4) / 4
    y = np.sin(3 * X[:, 0]) + 0.5 * np.abs(X[:, -1]) + 0.1 * rng.standard_normal(n)
    return X * scale + (scale if scale > 1 else 0.0), y * scale


def _both(X, y, ratio, **family):
    dicts = make_dictionaries(X, family["depth"], family.get("activation", "relu"), 0.01,
                              family.get("max_switches"))
    beta = ratio * beta_max(dicts, y)
    fast = fit_convex_network(X, y, beta=beta, solver="fast", **family)
    ref = fit_convex_network(X, y, beta=beta, solver="cvxpy", **family)
    return fast, ref


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("ratio", [0.5, 0.05, 2e-3])
@pytest.mark.parametrize("d", [1, 2])
def test_fast_relu_matches_cvxpy(depth, ratio, d):
    X, y = _problem(depth * 10 + d, 30 if depth < 4 else 14, d)
    fast, ref = _both(X, y, ratio, depth=depth, activation="relu")
    assert fast.solver == "fast"
    assert fast.relative_gap <= 1e-6
    assert abs(fast.primal - ref.primal) <= 1e-6 * ref.primal
    # the certificate brackets the reference optimum
    assert fast.dual <= ref.primal * (1 + 1e-9)


@pytest.mark.parametrize("activation,depth,extra", [
    ("leaky_relu", 2, {}), ("abs", 2, {}), ("sign", 2, {}), ("threshold", 2, {}),
    ("abs", 3, {}), ("sign", 3, {"max_switches": 2}), ("threshold", 4, {"max_switches": 3}),
])
def test_fast_other_activations_match_cvxpy(activation, depth, extra):
    X, y = _problem(7, 16, 2)
    fast, ref = _both(X, y, 0.05, depth=depth, activation=activation, **extra)
    assert fast.relative_gap <= 1e-6
    assert abs(fast.primal - ref.primal) <= 1e-6 * ref.primal


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(5, 25), depth=st.sampled_from([2, 3, 4]),
       ties=st.booleans(), scale=st.sampled_from([1.0, 1e5]),
       ratio=st.sampled_from([0.3, 0.03, 3e-3]))
def test_property_fast_equals_reference(seed, n, depth, ties, scale, ratio):
    X, y = _problem(seed, n, 1, ties=ties, scale=scale)
    if np.unique(X[:, 0]).size < 2:
        X[0, 0] += 1.0
    fast, ref = _both(X, y, ratio, depth=depth, activation="relu")
    assert fast.relative_gap <= 1e-6
    assert abs(fast.primal - ref.primal) <= 1e-6 * max(ref.primal, fast.primal)


@pytest.mark.parametrize("depth", [2, 3])
def test_implicit_pricing_equals_materialised(depth):
    X, y = _problem(3, 25, 1, ties=True)
    r = y - y.mean()
    implicit = PairDictionary(X[:, 0], depth)
    explicit = build_dictionary(X[:, 0], depth=depth).matrix
    max_abs, keys, vals = implicit.price(r, 5)
    assert max_abs == pytest.approx(np.abs(explicit.T @ r).max(), rel=1e-12)
    assert implicit.n_columns == explicit.shape[1]
    cols = implicit.columns(keys)
    np.testing.assert_allclose(cols.T @ r, vals, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_compiled_pricing_returns_the_strongest_candidates_in_order(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=int(rng.integers(3, 60)))
    if seed % 2:
        x = np.round(x, 1)  # ties
    r = rng.normal(size=x.size)
    r -= r.mean()
    dictionary = PairDictionary(x, 3)
    k = int(rng.integers(1, 40))
    max_abs, keys, vals = dictionary.price(r, k)
    explicit = build_dictionary(x, depth=3).matrix
    assert max_abs == pytest.approx(np.abs(explicit.T @ r).max(), rel=1e-12)
    assert 1 <= keys.size <= k and np.unique(keys).size == keys.size
    a, b = dictionary.decode(keys)
    assert (a < b).all() and (b < dictionary.n_unique).all()
    # no two pairs share an end: pairs with a common end span few directions
    assert np.unique(np.r_[a, b]).size == 2 * keys.size
    np.testing.assert_allclose(dictionary.columns(keys).T @ r, vals, rtol=1e-10, atol=1e-12)
    assert (np.diff(np.abs(vals)) <= 0).all()  # strongest first
    assert abs(vals[0]) == pytest.approx(max_abs, rel=1e-12)  # the best pair is always found


@pytest.mark.parametrize("depth", [2, 3])
def test_keys_carried_over_by_training_row(depth):
    rng = np.random.default_rng(2)
    x = np.round(rng.normal(size=80), 1)  # with ties
    short = PairDictionary(x[:50], depth)
    keys = short.price(rng.normal(size=50), 12)[1]
    on_short = CappedRampStack([short])
    zero = np.zeros(len(keys), dtype=np.int64)
    rows = on_short.key_rows(zero, keys)
    same, valid = on_short.keys_from_rows(zero, rows)
    assert valid.all()
    np.testing.assert_array_equal(same, keys)
    # a longer window, re-standardised: the same kinks (by row), mapped to the new values
    scaled = (x - x.mean()) / x.std()
    long = PairDictionary(scaled, depth)
    moved, valid = CappedRampStack([long]).keys_from_rows(zero, rows)
    a, b = short.decode(keys)
    new_a, new_b = long.decode(moved)
    checked = 0
    for old, new in ((a, new_a), (b, new_b)):
        interior = (old > 0) & (old < short.n_unique - 1)
        checked += int(interior.sum())
        np.testing.assert_allclose(long.u[new[interior]],
                                   (short.u[old[interior]] - x.mean()) / x.std())
    assert checked >= len(keys)
    if depth == 2:
        assert ((new_a[valid] == 0) | (new_b[valid] == long.n_unique - 1)).all()
    # rows beyond a shorter window are not columns there
    tiny = CappedRampStack([PairDictionary(x[:10], depth)])
    _, valid = tiny.keys_from_rows(np.zeros(2, dtype=np.int64), np.array([[3, 40], [1, 2]]))
    assert not valid[0]


def test_capped_ramp_columns_match_clip_and_are_column_major():
    x = np.random.default_rng(0).normal(size=50)
    dictionary = PairDictionary(x, 3)
    keys = np.array([0 * 50 + 49, 3 * 50 + 7, 10 * 50 + 40])
    a, b = dictionary.decode(keys)
    expected = np.clip(x[:, None] - dictionary.u[a], 0.0, dictionary.u[b] - dictionary.u[a])
    cols = dictionary.columns(keys)
    np.testing.assert_array_equal(cols, expected)
    assert cols.flags.f_contiguous


@pytest.mark.parametrize("hold_view", [False, True])
def test_working_set_buffers_stay_consistent_through_updates(hold_view):
    """Columns, Gram matrix, coefficients and correlations with a target stay those of the
    columns held; also while a view of the column buffer is alive: the buffer cannot then be
    reallocated in place, and its growth copies instead."""
    X, y = _problem(11, 40, 3)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    rng = np.random.default_rng(1)
    ws = WorkingSet(X.shape[0], capacity=2)  # forces buffer growth
    target = y - y.mean()
    ws.correlations(target)  # from now on kept per column
    view = ws._cols[:, :2] if hold_view else None
    snapshot = None if view is None else view.copy()
    for _ in range(6):
        keep = rng.random(ws.keys.size) < 0.6
        inputs = rng.integers(0, 3, 7)
        keys = rng.integers(1, 30, 7)  # keys 0·N + b: the pairs (0, b), valid columns
        fresh = ~np.isin(inputs * 10_000 + keys, ws.inputs[keep] * 10_000 + ws.keys[keep])
        _, first = np.unique(inputs * 10_000 + keys, return_index=True)
        fresh &= np.isin(np.arange(7), first)
        coef = rng.normal(size=7)
        before = dict(zip(zip(ws.inputs[keep].tolist(), ws.keys[keep].tolist(), strict=True),
                          ws.coef[keep], strict=True))
        ws.retain(keep)
        ws.append(inputs[fresh], keys[fresh], dicts, coef[fresh])
        expected = np.column_stack([dicts[i].columns(np.array([k]))[:, 0]
                                    for i, k in zip(ws.inputs, ws.keys, strict=True)])
        expected -= expected.mean(axis=0)
        np.testing.assert_allclose(ws.cols, expected, atol=1e-12)
        np.testing.assert_allclose(ws.gram, expected.T @ expected, atol=1e-10)
        np.testing.assert_allclose(ws.correlations(target), expected.T @ target, atol=1e-12)
        assert (np.diff(ws.inputs[ws.inputs.size - int(fresh.sum()):]) >= 0).all()
        after = dict(zip(zip(ws.inputs.tolist(), ws.keys.tolist(), strict=True), ws.coef,
                         strict=True))
        for pair, value in before.items():
            assert after[pair] == value
        for i, k, c in zip(inputs[fresh], keys[fresh], coef[fresh], strict=True):
            assert after[(int(i), int(k))] == c
    assert ws._cols.shape[1] > 2
    other = target[::-1].copy()  # another target: computed afresh
    np.testing.assert_allclose(ws.correlations(other), expected.T @ other, atol=1e-12)
    if hold_view:  # the old buffer was left to the view, untouched
        assert view.base is not ws._cols
        np.testing.assert_array_equal(view, snapshot)


def test_working_set_grows_its_column_buffer_without_a_second_copy():
    """Growing the n × capacity column buffer (the solver's one large array) reallocates it:
    a copy into a new buffer would hold old and new columns at once."""
    n = 100_000
    x = np.random.default_rng(2).normal(size=(n, 1))
    dicts = make_dictionaries(x, 3, "relu", 0.01, None)
    tracemalloc.start()  # before the buffer exists, so that it is traced
    try:
        ws = WorkingSet(n, capacity=16)
        ws.append(np.zeros(16, dtype=np.int64), np.arange(1, 17), dicts)
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        ws.append(np.zeros(16, dtype=np.int64), np.arange(17, 33), dicts)
        growth = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    new_bytes = n * 16 * 8
    assert ws._cols.shape == (n, 32)
    assert growth < 1.5 * new_bytes  # a copy would hold 32 new columns beside the 16 old: 2×
    expected = np.column_stack([dicts[0].columns(np.array([k]))[:, 0] for k in range(1, 33)])
    np.testing.assert_allclose(ws.cols, expected - expected.mean(axis=0), atol=1e-12)


def test_working_set_with_a_one_column_buffer_keeps_its_column_when_it_grows():
    """An n × 1 buffer is both C- and Fortran-contiguous: growing it must not reshape it."""
    X, _ = _problem(14, 50, 3)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    ws = WorkingSet(X.shape[0], capacity=1)
    ws.append(np.array([0]), np.array([7]), dicts)
    first = ws.cols[:, 0].copy()
    ws.append(np.array([1, 2]), np.array([9, 11]), dicts)
    np.testing.assert_array_equal(ws.cols[:, 0], first)
    np.testing.assert_allclose(ws.gram, ws.cols.T @ ws.cols, atol=1e-12)


def test_working_set_carries_the_factor_of_its_solution_to_the_next_restricted_solve():
    """A restricted solve ends with the Cholesky factor of its active columns; the next one (a
    later round or the next β of a path) starts from it while those columns are still the
    non-zeros, and from a fresh factorisation after FACTOR_REUSES carries or a new start."""
    X, y = _problem(13, 300, 3)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    bmax = beta_max(dicts, y)
    ws = WorkingSet(X.shape[0])
    solve_working_set(dicts, y, 1e-2 * bmax, workspace=ws)
    order, L, carried = ws.carried_factor()
    np.testing.assert_array_equal(np.sort(order), np.flatnonzero(ws.coef))
    scale = ws.gram.diagonal().max()
    np.testing.assert_allclose(L @ L.T, ws.gram[np.ix_(order, order)], atol=1e-10 * scale)
    path = solve_working_set(dicts, y, 5e-3 * bmax, workspace=ws)  # starts from that factor
    cold = solve_working_set(dicts, y, 5e-3 * bmax)
    assert path.converged and cold.converged
    assert abs(path.primal - cold.primal) <= 1e-6 * cold.primal
    order, L, carried = ws.carried_factor()
    ws.keep_factor((order, L), FACTOR_REUSES)
    assert ws.carried_factor() is None  # carried often enough: refactorised next time
    ws.keep_factor((order, L), 0)
    assert ws.carried_factor() is not None
    other = LassoSolution(np.array([1.0]), 0.0, 0.1, np.inf, -np.inf, 0, "warm start",
                          inputs=np.array([0]), keys=np.array([5]), converged=False)
    ws.start_from(other, dicts)
    assert ws.carried_factor() is None  # other non-zeros: the factor does not apply


def test_working_set_starts_from_a_solution_reusing_its_columns():
    X, y = _problem(12, 40, 2)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    ws = WorkingSet(X.shape[0])
    ws.append(np.array([0, 0, 1]), np.array([3, 7, 5]), dicts, np.array([1.0, 2.0, 0.0]))
    gram_before = ws.gram.copy()
    start = LassoSolution(np.array([-1.0, 4.0]), 0.0, 0.1, np.inf, -np.inf, 0, "warm start",
                          inputs=np.array([1, 0]), keys=np.array([9, 7]), converged=False)
    ws.start_from(start, dicts)
    coef = dict(zip(zip(ws.inputs.tolist(), ws.keys.tolist(), strict=True), ws.coef.tolist(),
                    strict=True))
    # the start's column (0, 7) stays (at the start's coefficient), the columns it does not
    # use go, even the current solution's non-zero (0, 3), and its new column (1, 9) is appended
    assert coef == {(0, 7): 4.0, (1, 9): -1.0}
    assert ws.gram[0, 0] == gram_before[1, 1]  # kept, not recomputed
    np.testing.assert_allclose(ws.gram, ws.cols.T @ ws.cols, atol=1e-10)


def test_capped_ramp_stack_fills_the_columns_of_every_input():
    X, _ = _problem(14, 50, 3, ties=True)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    stack = CappedRampStack.of(dicts)
    inputs = np.array([0, 0, 1, 2, 2])
    keys = np.array([5, 60, 7, 3, 44])
    out = np.empty((X.shape[0], 5), order="F")
    means = stack.centred_columns(inputs, keys, out)
    for j, (i, key) in enumerate(zip(inputs, keys, strict=True)):
        column = dicts[i].columns(np.array([key]))[:, 0]
        np.testing.assert_allclose(out[:, j], column - column.mean(), rtol=0, atol=1e-13)
        assert means[j] == pytest.approx(column.mean(), rel=1e-14)
    assert CappedRampStack.of(make_dictionaries(X, 2, "abs", 0.01, None)) is None


def test_columns_enter_only_if_their_excess_can_block_the_certificate():
    beta, tol = 2.0, 1e-6
    excess = np.array([0.0, 0.4, 3.0, 0.6, 50.0, -1.0, 0.6]) * tol  # relative to β
    correlations = beta * (1.0 + excess)
    # above β by more than tol / 2, strongest first (ties by position), at most k
    np.testing.assert_array_equal(_entering(correlations, beta, tol, 8), [4, 2, 3, 6])
    np.testing.assert_array_equal(_entering(correlations, beta, tol, 2), [4, 2])
    # none above tol / 2: every column above β enters, so that a round always adds something
    np.testing.assert_array_equal(_entering(correlations[:2], beta, tol, 8), [1])
    assert _entering(np.full(3, beta), beta, tol, 8).shape == (0,)


def test_solves_certify_with_the_entry_floor_and_agree_with_a_tighter_solve():
    """With columns above β by less than tol / 2 kept out, solves still certify tol, and agree
    within tol with a solve to tol = 1e-9 (whose floor is a thousand times lower)."""
    X, y = _problem(21, 400, 4)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    bmax = beta_max(dicts, y)
    for ratio in (1e-2, 1e-3):
        solution = solve_working_set(dicts, y, ratio * bmax)
        assert solution.converged and solution.relative_gap <= 1e-6
        loose = solve_working_set(dicts, y, ratio * bmax, tol=1e-9)
        assert abs(solution.primal - loose.primal) <= 1e-6 * loose.primal


@pytest.mark.parametrize("decimals", [None, 1, 0])
def test_dictionary_setup_is_numpy_unique_with_rows_in_value_order(decimals):
    x = np.random.default_rng(4).normal(size=300)
    if decimals is not None:
        x = np.round(x, decimals)  # ties
    dictionary = PairDictionary(x, 3)
    u, inverse = np.unique(x, return_inverse=True)
    np.testing.assert_array_equal(dictionary.u, u)
    np.testing.assert_array_equal(dictionary.inverse, inverse)
    np.testing.assert_array_equal(dictionary.order, np.argsort(x, kind="stable"))
    # value j's rows are order[starts[j]:starts[j + 1]], in row order
    assert dictionary.starts.shape == (u.size + 1,) and dictionary.starts[-1] == x.size
    for j in range(u.size):
        rows = dictionary.order[dictionary.starts[j]:dictionary.starts[j + 1]]
        np.testing.assert_array_equal(rows, np.flatnonzero(inverse == j))


@pytest.mark.parametrize("decimals", [None, 1])
def test_dictionary_of_first_rows_is_the_dictionary_built_on_them(decimals):
    """A forward-chaining fold's dictionary, filtered from the full data's value order, is the
    one built from its rows (every array equal), for stacked dictionaries too."""
    x = np.random.default_rng(5).normal(size=400)
    if decimals is not None:
        x = np.round(x, decimals)  # ties across the cut
    full = make_dictionaries(np.column_stack([x, x[::-1]]), 3, "relu", 0.01, None)
    CappedRampStack.of(full)  # the dictionaries now read views of the stack's arrays
    for n_rows in (2, 150, 399, 400):
        for dictionary, column in zip(full, (x, x[::-1]), strict=True):
            fold, built = dictionary.of_first_rows(n_rows), PairDictionary(column[:n_rows], 3)
            for name in ("x", "u", "inverse", "order", "starts"):
                np.testing.assert_array_equal(getattr(fold, name), getattr(built, name))
            assert fold.n_unique == built.n_unique and fold.depth == built.depth


@pytest.mark.parametrize("k", [1, 7, 32])
def test_stacked_pricing_is_each_inputs_pricing(k):
    rng = np.random.default_rng(k)
    X = rng.normal(size=(120, 4))
    X[:, 1] = np.round(X[:, 1], 1)  # inputs with and without ties
    X[:, 3] = np.round(X[:, 3])
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    r = rng.normal(size=120)
    stack = CappedRampStack.of(dicts)
    # the dictionaries read their per-row arrays from the stack's (one copy, not two)
    assert all(np.shares_memory(d.order, stack.order) and np.shares_memory(d.inverse, stack.inverse)
               for d in dicts)
    max_abs, inputs, keys, vals = stack.price(r, k)
    each = [d.price(r, k) for d in dicts]
    assert max_abs == max(m for m, _, _ in each)
    np.testing.assert_array_equal(inputs, np.repeat(np.arange(4), [len(kk) for _, kk, _ in each]))
    np.testing.assert_array_equal(keys, np.concatenate([kk for _, kk, _ in each]))
    np.testing.assert_array_equal(vals, np.concatenate([vv for _, _, vv in each]))


@pytest.mark.parametrize("depth", [2, 3])
def test_capped_ramp_stack_carries_keys_of_every_input(depth):
    X, _ = _problem(16, 60, 3, ties=True)
    dicts = make_dictionaries(X, depth, "relu", 0.01, None)
    stack = CappedRampStack.of(dicts)
    for i, d in enumerate(dicts):  # the first row holding each distinct value
        first = stack.first_rows[stack.offsets[i]:stack.offsets[i] + d.n_unique]
        np.testing.assert_array_equal(first, [np.flatnonzero(X[:, i] == v)[0] for v in d.u])
    rng = np.random.default_rng(2)
    inputs = rng.integers(0, 4, 200)  # input 3 does not exist here
    rows = rng.integers(0, 70, (200, 2))  # rows 60.. are beyond the data
    keys, valid = stack.keys_from_rows(inputs, rows)
    for t in range(200):  # the pair of the values at the two rows, by its definition
        i, (r1, r2) = inputs[t], rows[t]
        if i == 3 or max(r1, r2) >= 60:
            assert not valid[t]
            continue
        ends = np.searchsorted(dicts[i].u, X[[r1, r2], i])
        a, b = ends.min(), ends.max()
        extreme = a == 0 or b == dicts[i].n_unique - 1
        assert valid[t] == (a < b and (depth == 3 or extreme))
        if valid[t]:
            assert keys[t] == a * dicts[i].n_unique + b
            # and back: the first rows holding those values (smaller value first)
            first = stack.key_rows(inputs[t:t + 1], keys[t:t + 1])[0]
            by_value = np.array([r1, r2])[np.argsort(X[[r1, r2], i])]
            np.testing.assert_array_equal(X[first, i], X[by_value, i])
            assert (first <= by_value).all()
    assert valid.sum() >= 20 and not valid[inputs == 3].any()


@pytest.mark.parametrize("k", [1, 5, 40])
def test_capped_ramp_stack_prices_like_each_dictionary(k):
    X, y = _problem(15, 70, 4, ties=True)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    r = y - y.mean()
    fused = price_all(dicts, r, k, CappedRampStack.of(dicts))
    one_by_one = price_all(dicts, r, k)
    assert fused[0] == one_by_one[0]
    for a, b in zip(fused[1:], one_by_one[1:], strict=True):
        np.testing.assert_array_equal(a, b)
    assert not CappedRampStack.of(make_dictionaries(X, 2, "relu", 0.01, None)).all_pairs


def test_locate_finds_codes_and_their_positions():
    codes = np.array([40, 7, 1 << 41, 3])
    found, at = _locate(np.array([3, 5, 1 << 41, 40, 99]), codes)
    np.testing.assert_array_equal(found, [True, False, True, True, False])
    np.testing.assert_array_equal(at[found], [3, 2, 0])
    assert not _locate(np.array([1, 2]), np.empty(0, dtype=np.int64))[0].any()


def test_split_codes_inverts_codes():
    inputs = np.array([0, 3, 3, 9], dtype=np.int64)
    keys = np.array([0, 5, (1 << 40) - 1, 12], dtype=np.int64)
    back = split_codes(codes(inputs, keys))
    np.testing.assert_array_equal(back[0], inputs)
    np.testing.assert_array_equal(back[1], keys)


def test_match_is_locate_both_ways_with_positions_among_the_kept():
    rng = np.random.default_rng(4)
    for _ in range(20):
        held = rng.choice(60, size=rng.integers(0, 30), replace=False).astype(np.int64)
        wanted = rng.choice(60, size=rng.integers(0, 30), replace=False).astype(np.int64)
        keep, found, at = _match(held, wanted)
        np.testing.assert_array_equal(keep, _locate(held, wanted)[0])
        expected_found, expected_at = _locate(wanted, held[keep])
        np.testing.assert_array_equal(found, expected_found)
        np.testing.assert_array_equal(at[found], expected_at[expected_found])


def test_sum_by_code_is_unique_and_bincount_bit_for_bit():
    rng = np.random.default_rng(5)
    codes_ = rng.integers(0, 9, size=200).astype(np.int64) << 40
    values = rng.standard_normal(200) * 10.0 ** rng.integers(-8, 8, size=200)
    distinct, sums = sum_by_code(codes_, values)
    expected, inverse = np.unique(codes_, return_inverse=True)
    np.testing.assert_array_equal(distinct, expected)
    np.testing.assert_array_equal(sums, np.bincount(inverse, weights=values))


@pytest.mark.parametrize("depth", [2, 3])
def test_path_with_a_carried_workspace_matches_fresh_solves(depth):
    X, y = _problem(13, 60, 2)
    dicts = make_dictionaries(X, depth, "relu", 0.01, None)
    bmax = beta_max(dicts, y)
    ws = WorkingSet(X.shape[0])
    for ratio in (0.3, 0.1, 0.03, 0.01):
        carried = solve_working_set(dicts, y, ratio * bmax, workspace=ws)
        fresh = solve_working_set(dicts, y, ratio * bmax)
        assert carried.relative_gap <= 1e-6 and fresh.relative_gap <= 1e-6
        assert carried.primal == pytest.approx(fresh.primal, rel=2e-6)
        # the workspace ends holding the solution it returned
        nz = ws.coef != 0.0
        np.testing.assert_array_equal(ws.coef[nz], carried.coef)


@pytest.mark.parametrize("activation", ["leaky_relu", "abs", "sign", "threshold"])
def test_formula_pricing_equals_materialised(activation):
    X, y = _problem(5, 20, 1)
    r = y - y.mean()
    implicit = FormulaDictionary(X[:, 0], activation, 0.01)
    explicit = build_dictionary(X[:, 0], depth=2, activation=activation).matrix
    assert implicit.price(r, 1)[0] == pytest.approx(np.abs(explicit.T @ r).max(), rel=1e-12)


def _pen3(slopes):
    return (abs(slopes[0]) + np.abs(np.diff(slopes)).sum() + abs(slopes[-1])) / 2


def _pen2(slopes):
    t = np.abs(np.diff(slopes)).sum()
    return max(t, (t + abs(slopes[0] + slopes[-1])) / 2)


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("seed", range(5))
def test_decomposition_attains_closed_form_cost(depth, seed):
    rng = np.random.default_rng(seed)
    u = np.sort(rng.uniform(-3, 3, 12))
    slopes = rng.standard_normal(11) * (rng.uniform(size=11) < 0.6)
    feats, coef = decompose(u, slopes, depth)
    np.testing.assert_allclose(secant_slopes(feats, coef, u), slopes, atol=1e-12)
    expected = _pen2(slopes) if depth == 2 else _pen3(slopes)
    assert np.abs(coef).sum() == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_warm_start_path_matches_cold_start():
    X, y = _problem(11, 40, 2)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    bmax = beta_max(dicts, y)
    warm = solve_working_set(dicts, y, 0.1 * bmax)
    warm = solve_working_set(dicts, y, 0.01 * bmax, warm_start=warm)
    cold = solve_working_set(dicts, y, 0.01 * bmax)
    assert warm.relative_gap <= 1e-6 and cold.relative_gap <= 1e-6
    assert warm.primal == pytest.approx(cold.primal, rel=1e-6)


def test_fast_solver_is_bitwise_deterministic():
    X, y = _problem(2, 60, 3)
    a = fit_convex_network(X, y, beta=0.05, depth=3, activation="relu")
    b = fit_convex_network(X, y, beta=0.05, depth=3, activation="relu")
    assert a.primal == b.primal and a.intercept == b.intercept
    np.testing.assert_array_equal(a.coef, b.coef)
    assert a.features == b.features


def test_beta_above_beta_max_gives_empty_network():
    X, y = _problem(4, 30, 2)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    fit = fit_convex_network(X, y, beta=1.01 * beta_max(dicts, y), depth=3, activation="relu")
    assert fit.coef.size == 0
    assert fit.primal == pytest.approx(0.5 * np.sum((y - y.mean()) ** 2))


def test_single_threaded_blas_holds_for_nested_calls():
    from threadpoolctl import threadpool_info

    from convexforecast.core._threads import single_threaded_blas

    def blas_threads():
        return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")

    seen = []

    @single_threaded_blas
    def inner():
        seen.append(blas_threads())

    @single_threaded_blas
    def outer():
        inner()
        seen.append(blas_threads())

    outer()
    inner()
    assert seen == [1, 1, 1]


def test_single_threaded_blas_limits_numpy_and_scipy_blas_in_a_fresh_process():
    """Both BLAS libraries are limited even when the package is imported first (a controller
    built at import time would see neither)."""
    import json
    import subprocess
    import sys

    code = (
        "import json\n"
        "from convexforecast.core._threads import single_threaded_blas\n"
        "from threadpoolctl import threadpool_info\n"
        "@single_threaded_blas\n"
        "def seen():\n"
        "    return [(i['filepath'], i['num_threads']) for i in threadpool_info()"
        " if i['user_api'] == 'blas']\n"
        "print(json.dumps(seen()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    libraries = json.loads(out.stdout)
    assert len(libraries) >= 2, libraries  # numpy's and scipy's OpenBLAS
    assert all(threads == 1 for _, threads in libraries), libraries


def _pooled_returns(n_series: int, windows: int, lags: int, seed: int = 0):
    """Windows of heavy-tailed, separately standardised series pooled together (the shape of a
    global model's training set, at a reduced size)."""
    rng = np.random.default_rng(seed)
    Xs, ys = [], []
    for _ in range(n_series):
        r = rng.standard_t(3, size=windows + lags) * rng.uniform(0.5, 2.0)
        r = (r - r.mean()) / r.std()
        Xs.append(np.lib.stride_tricks.sliding_window_view(r[:-1], lags))
        ys.append(r[lags:])
    return np.vstack(Xs), np.concatenate(ys)


@pytest.mark.slow
def test_small_beta_on_pooled_series_certifies_instead_of_giving_up():
    """Far from the optimum (max correlation ~100 β) the duality gap stays flat for many rounds
    while each round lowers the primal as promised; the solver used to read that as a stall and
    stop at relative gap 0.94 after 16 rounds (the 78k-window universe stopped at 0.87)."""
    X, y = _pooled_returns(8, 1000, 5)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    beta = 1e-3 * beta_max(dicts, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning
        solution = solve_working_set(dicts, y, beta)
    assert solution.converged
    assert solution.relative_gap <= 1e-6
    assert solution.n_iter > 16
    # re-certified independently: price the returned residual over every column
    fit = fit_convex_network(X, y, beta=beta, depth=3, activation="relu")
    residual = y - fit.predict(X)
    residual -= residual.mean()
    dual = dual_objective(y - y.mean(), residual, price_all(dicts, residual, 1)[0], beta)
    # two certified solves of one problem: each primal is within its gap of the optimum, so they
    # agree to the tolerance, not bit for bit (BLAS builds round differently)
    assert abs(fit.primal - solution.primal) <= 1e-6 * solution.primal
    assert (fit.primal - dual) <= 1e-6 * fit.primal
