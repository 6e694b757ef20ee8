"""The compiled feature-sign kernel: Cholesky updates, optimality, hand-over to the robust step."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from convexforecast.core.solvers._feature_sign_kernel import (
    FULL_GRADIENT_EVERY,
    NEEDS_ROBUST_STEP,
    OPTIMAL,
    STALL_STEPS,
    STALLED,
    _append,
    _delete,
    feature_sign_steps,
)
from convexforecast.core.solvers.feature_sign import _robust_step, feature_sign


def _lasso_problem(seed: int, n: int = 60, p: int = 25, duplicate: bool = False):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, p))
    if duplicate:
        A[:, 1] = A[:, 0]  # an exactly dependent pair, as centring creates for ramps
        A[:, 3] = A[:, 2] + A[:, 4]
    y = A[:, :5] @ rng.standard_normal(5) + 0.3 * rng.standard_normal(n)
    G, q = A.T @ A, A.T @ y
    beta = 0.05 * float(np.abs(q).max())
    return G, q, beta


def _kkt_violation(G, q, beta, z):
    grad = G @ z - q
    active = z != 0
    return max(np.abs(grad[active] + beta * np.sign(z[active])).max(initial=0.0),
               (np.abs(grad[~active]) - beta).max(initial=0.0))


def _objective(G, q, beta, z):
    return 0.5 * z @ G @ z - q @ z + beta * np.abs(z).sum()


def _python_only(G, q, beta, z):
    kkt_tol = 1e-11 * max(beta, float(np.abs(q).max()))
    while (new := _robust_step(G, q, beta, z, kkt_tol)) is not None:
        z = new
    return z


@pytest.mark.parametrize("remove", [0, 3, 6])
def test_cholesky_append_and_delete_match_refactorisation(remove):
    G, _, _ = _lasso_problem(0)
    order = np.array([4, 0, 7, 2, 9, 11, 5], dtype=np.int64)
    L = np.zeros((len(G), len(G)))
    for m, i in enumerate(order):
        assert _append(L, m, G, order, i)
    np.testing.assert_allclose(L[:7, :7], np.linalg.cholesky(G[np.ix_(order, order)]), atol=1e-10)
    _delete(L, 7, remove)
    kept = np.delete(order, remove)
    np.testing.assert_allclose(L[:6, :6], np.linalg.cholesky(G[np.ix_(kept, kept)]), atol=1e-10)
    assert not L[6].any()


def test_append_refuses_a_dependent_column():
    G, _, _ = _lasso_problem(1, duplicate=True)
    L = np.zeros((len(G), len(G)))
    order = np.array([0, 1], dtype=np.int64)
    assert _append(L, 0, G, order, 0)
    assert not _append(L, 1, G, order, 1)


@pytest.mark.parametrize("seed", range(5))
def test_kernel_reaches_the_same_optimum_as_refactorised_steps(seed):
    G, q, beta = _lasso_problem(seed)
    z, status, n_steps, _, _ = feature_sign_steps(G, q, beta, np.zeros(len(q)), 1e-11 * beta, 10_000)
    assert status == OPTIMAL and n_steps > 0
    assert _kkt_violation(G, q, beta, z) <= 1e-8 * beta
    np.testing.assert_allclose(z, _python_only(G, q, beta, np.zeros(len(q))), atol=1e-9)


def test_kernel_updates_its_gradient_over_many_steps_and_ends_on_the_exact_one():
    """The gradient is updated along each step and recomputed every FULL_GRADIENT_EVERY steps
    and before optimality is declared: a long search ends where the refactorised one does."""
    rng = np.random.default_rng(7)
    A = rng.standard_normal((400, 240))
    y = A @ (rng.standard_normal(240) * (rng.random(240) < 0.6)) + 0.1 * rng.standard_normal(400)
    G, q = A.T @ A, A.T @ y
    beta = 1e-3 * float(np.abs(q).max())
    z, status, n_steps, _, _ = feature_sign_steps(G, q, beta, np.zeros(len(q)), 1e-11 * beta, 10_000)
    assert status == OPTIMAL and n_steps > 2 * FULL_GRADIENT_EVERY
    assert _kkt_violation(G, q, beta, z) <= 1e-8 * beta
    np.testing.assert_allclose(z, _python_only(G, q, beta, np.zeros(len(q))), atol=1e-8)


def test_kernel_hands_dependent_columns_to_the_robust_step():
    G, q, beta = _lasso_problem(2, duplicate=True)
    start = np.zeros(len(q))
    start[2] = start[3] = start[4] = 1.0  # column 3 = column 2 + column 4: no Cholesky factor
    z, status, n_steps, _, _ = feature_sign_steps(G, q, beta, start, 1e-11 * beta, 10_000)
    assert (status, n_steps) == (NEEDS_ROBUST_STEP, 0)
    np.testing.assert_array_equal(z, start)
    solved, _, _ = feature_sign(G, q, beta, start, max_steps=10_000)
    assert _kkt_violation(G, q, beta, solved) <= 1e-8 * beta
    reference = _python_only(G, q, beta, start)

    assert _objective(G, q, beta, solved) == pytest.approx(_objective(G, q, beta, reference),
                                                           rel=1e-12)


def _negligible_entries(n_weak: int):
    """One strong column and ``n_weak`` orthogonal columns that each violate the KKT conditions
    by 1e-10 β: each entry lowers the objective by ~1e-22 of its value, below round-off."""
    beta = 1.0
    G = np.eye(1 + n_weak)
    q = np.r_[10.0, np.full(n_weak, beta * (1 + 1e-10))]
    start = np.r_[9.0, np.zeros(n_weak)]  # optimal on the strong column alone
    return G, q, beta, start


def test_kernel_hands_back_a_search_that_lowers_the_objective_only_by_round_off():
    G, q, beta, start = _negligible_entries(3 * STALL_STEPS)
    z, status, n_steps, _, _ = feature_sign_steps(G, q, beta, start, 1e-11 * beta, 10_000)
    assert status == STALLED and n_steps == STALL_STEPS
    assert np.count_nonzero(z[1:]) == n_steps  # one column entered per step
    assert z[0] == start[0]
    # without stalling it would take one step per weak column and declare the KKT conditions
    few = _negligible_entries(STALL_STEPS // 2)
    assert feature_sign_steps(*few[:3], few[3], 1e-11 * beta, 10_000)[1] == OPTIMAL


def test_search_that_stalls_refactorises_then_ends_at_the_optimum_to_round_off():
    G, q, beta, start = _negligible_entries(3 * STALL_STEPS)

    solved, n_steps, _ = feature_sign(G, q, beta, start, max_steps=10_000)
    exact = np.r_[9.0, np.full(3 * STALL_STEPS, 1e-10)]
    assert n_steps < 3 * STALL_STEPS  # the search did not enter every weak column
    assert _objective(G, q, beta, solved) == pytest.approx(_objective(G, q, beta, exact),
                                                           rel=1e-15)
    assert abs(solved[0] - 9.0) <= 1e-12


def test_kernel_does_not_mutate_its_start():
    G, q, beta = _lasso_problem(3)
    start = np.zeros(len(q))
    feature_sign_steps(G, q, beta, start, 1e-11 * beta, 10_000)
    assert not start.any()


@pytest.mark.parametrize("seed", range(6))
def test_search_on_dependent_columns_ends_in_few_steps(seed):
    # Robust steps on exactly dependent columns (C_ab + C_bc = C_ac) may give descents at the
    # level of round-off; the search used to retry them until max_steps (5,000 no-op steps in
    # one BTC refit). From dependent starts it now ends, optimal, in a handful of steps.
    G, q, beta = _lasso_problem(seed, duplicate=True)
    rng = np.random.default_rng(seed)
    start = np.zeros(len(q))
    start[[0, 1, 2, 3, 4]] = rng.uniform(0.5, 1.5, 5)  # both dependent groups active
    solved, n_steps, _ = feature_sign(G, q, beta, start, max_steps=10_000)
    assert n_steps <= 4 * len(q)
    assert _kkt_violation(G, q, beta, solved) <= 1e-8 * beta


@pytest.mark.parametrize("seed", [1, 14, 21, 77])
def test_search_leaves_a_nearly_dependent_active_set(seed):
    # Column 3 = 0 + 1 − 2 up to 1e-9 noise: the active set {0, 1, 2, 3} is numerically
    # singular, and with all signs positive θ is orthogonal to its null vector, so no
    # feature-sign step on it descends. The search used to stop there, 9-19 β away from the
    # KKT conditions for these seeds (a working-set refit of IBM stalled at relative gap
    # 2.4e-4 this way); now it moves along the null vector until a dependent column leaves,
    # then goes on.
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((120, 12))
    A[:, 3] = A[:, 0] + A[:, 1] - A[:, 2] + 1e-9 * rng.standard_normal(120)
    y = A[:, :4].sum(axis=1) + A[:, 4:] @ (0.5 * rng.standard_normal(8)) \
        + 0.3 * rng.standard_normal(120)
    G, q = A.T @ A, A.T @ y
    beta = 0.02 * float(np.abs(q).max())
    start = np.zeros(12)
    start[:4] = rng.uniform(0.5, 1.5, 4)
    solved, _, _ = feature_sign(G, q, beta, start, max_steps=10_000)
    assert _kkt_violation(G, q, beta, solved) <= 1e-8 * beta


def test_kernel_accepts_a_lapack_factor_of_its_start():
    G, q, beta = _lasso_problem(4)
    start, _, _, _, _ = feature_sign_steps(G, q, 2.0 * beta, np.zeros(len(q)), 1e-11 * beta, 10_000)
    active = np.flatnonzero(start)
    assert active.size >= 3
    factor = scipy.linalg.cholesky(G[np.ix_(active, active)], lower=True)
    with_factor = feature_sign_steps(G, q, beta, start, 1e-11 * beta, 10_000, factor)
    built = feature_sign_steps(G, q, beta, start, 1e-11 * beta, 10_000)
    assert with_factor[1] == built[1] == OPTIMAL
    np.testing.assert_allclose(with_factor[0], built[0], rtol=1e-9, atol=1e-12)


def test_kernel_returns_the_factor_it_ends_with_and_accepts_it_in_its_order():
    """The factor a search ends with (in the order the columns entered) starts the next search
    on the same columns, e.g. the next restricted solve of a working set, without refactoring."""
    G, q, beta = _lasso_problem(4)
    z, status, _, L, order = feature_sign_steps(G, q, 2.0 * beta, np.zeros(len(q)),
                                                1e-11 * beta, 10_000)
    assert status == OPTIMAL and order.size >= 3
    np.testing.assert_array_equal(np.sort(order), np.flatnonzero(z))
    assert not (np.diff(order) > 0).all()  # entry order, not index order: the order matters
    np.testing.assert_allclose(L @ L.T, G[np.ix_(order, order)], rtol=1e-10, atol=1e-10)
    carried = feature_sign_steps(G, q, beta, z, 1e-11 * beta, 10_000, L.copy(), order.copy())
    built = feature_sign_steps(G, q, beta, z, 1e-11 * beta, 10_000)
    assert carried[1] == built[1] == OPTIMAL
    np.testing.assert_allclose(carried[0], built[0], rtol=1e-9, atol=1e-12)
    solved, _, factor = feature_sign(G, q, beta, z, 10_000, (order, L))
    np.testing.assert_allclose(solved, built[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(np.sort(factor[0]), np.flatnonzero(solved))
    np.testing.assert_allclose(factor[1] @ factor[1].T, G[np.ix_(factor[0], factor[0])],
                               rtol=1e-10, atol=1e-10)


def test_kernel_rejects_a_factor_with_a_vanishing_pivot():
    G, q, beta = _lasso_problem(2, duplicate=True)
    start = np.zeros(len(q))
    start[2] = start[3] = start[4] = 1.0  # column 3 = column 2 + column 4
    active = np.flatnonzero(start)
    # the jitter makes the factor exist, with a last squared pivot ~3e-11 (< 1e-12·G_jj)
    factor = np.linalg.cholesky(G[np.ix_(active, active)] + 1e-11 * np.eye(3))
    z, status, n_steps, _, _ = feature_sign_steps(G, q, beta, start, 1e-11 * beta, 10_000, factor)
    assert (status, n_steps) == (NEEDS_ROBUST_STEP, 0)
