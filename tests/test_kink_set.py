"""The working set of kinks (depth-3 capped ramps): restricted searches, solves and hand-over."""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from test_solver import _problem  # the solver tests' data: sin 3x + 0.5|x| + noise

import convexforecast.core.fit as fit_module
from convexforecast.core.dictionaries import make_dictionaries
from convexforecast.core.fit import fit_convex_network, solve_lasso
from convexforecast.core.solvers import kink_set
from convexforecast.core.solvers._jump_kernel import DEPENDENT, OPTIMAL, jump_steps
from convexforecast.core.solvers.column_stack import CappedRampStack
from convexforecast.core.solvers.kink_set import (
    is_capped_ramp,
    jump_feature_sign,
    jump_penalty,
    solve_kink_working_set,
)
from convexforecast.core.solvers.working_set import WorkingSet, beta_max, codes, solve_working_set


def _jump_problem(seed: int, n: int = 60, m: int = 14, inputs: int = 4):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, m))
    A -= A.mean(axis=0)
    groups = np.sort(rng.integers(0, inputs, m))
    y = rng.normal(size=n) + A[:, 0]
    return rng, A, groups, y, (0.5, 2.0, 8.0, 20.0)[seed % 4]


def _cvxpy_jump_minimum(A, y, beta, groups) -> float:
    """The jump problem by cvxpy + Clarabel, in least-squares form (accurate on coherent ramps)."""
    jumps = cp.Variable(A.shape[1])
    penalty = sum(cp.norm1(jumps[groups == i]) + cp.abs(cp.sum(jumps[groups == i]))
                  for i in np.unique(groups))
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(y - A @ jumps) + beta / 2 * penalty))
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-14, tol_gap_rel=1e-13, tol_feas=1e-13)
    return float(problem.value)


def _kernel(G, q, beta, groups, start, factor=kink_set._NO_FACTOR):
    jumps, status, _, factor = jump_steps(G, q, beta, groups, int(groups.max()) + 1, start,
                                          1e-12, 100_000, *factor)
    assert status == OPTIMAL
    return jumps, factor


def _dense(G, q, beta, groups, start):
    return jump_feature_sign(G, q, beta, groups, start)


@pytest.mark.parametrize("search", [_kernel, _dense], ids=["compiled", "dense"])
@pytest.mark.parametrize("seed", range(12))
def test_restricted_search_reaches_the_cvxpy_optimum(search, seed):
    rng, A, groups, y, beta = _jump_problem(seed)
    minimum = _cvxpy_jump_minimum(A, y, beta, groups)
    for start in (np.zeros(A.shape[1]), np.where(rng.random(A.shape[1]) < 0.3,
                                                 rng.normal(size=A.shape[1]), 0.0)):
        jumps = search(A.T @ A, A.T @ y, beta, groups, start)[0]
        residual = y - A @ jumps
        value = 0.5 * residual @ residual + beta * jump_penalty(jumps, groups)
        assert value <= minimum + 1e-10 * minimum  # any j is feasible: this is optimality


@pytest.mark.parametrize("seed", range(4))
def test_compiled_search_returns_its_factor_and_a_search_starts_from_it(seed):
    _, A, groups, y, beta = _jump_problem(seed)
    G, q = A.T @ A, A.T @ y
    jumps, (active, L, W) = _kernel(G, q, beta, groups, np.zeros(A.shape[1]))
    np.testing.assert_array_equal(np.sort(active), np.flatnonzero(jumps))
    scale = G.diagonal().max()
    np.testing.assert_allclose(L @ L.T, G[np.ix_(active, active)], atol=1e-10 * scale)
    indicators = (groups[active][:, None] == np.arange(W.shape[1])).astype(float)
    np.testing.assert_allclose(L @ W, indicators, atol=1e-10)
    smaller = 0.6 * beta  # the next point of a path, from the last one's jumps and factor
    carried, _ = _kernel(G, q, smaller, groups, jumps, (active, L, W))
    fresh, _ = _kernel(G, q, smaller, groups, jumps)
    residual = y - A @ carried
    value = 0.5 * residual @ residual + smaller * jump_penalty(carried, groups)
    minimum = _cvxpy_jump_minimum(A, y, smaller, groups)
    assert value <= minimum + 1e-10 * minimum
    np.testing.assert_allclose(carried, fresh, atol=1e-8 * np.abs(fresh).max())


def test_compiled_search_reports_a_dependent_ramp_and_the_dense_one_solves_it():
    _, A, groups, y, beta = _jump_problem(3)
    A = np.hstack([A, A[:, :1]])  # the first ramp twice, in the same input
    groups = np.append(groups, groups[0])
    G, q = A.T @ A, A.T @ y
    start = np.zeros(A.shape[1])
    start[0], start[-1] = 0.5, 0.5
    assert jump_steps(G, q, beta, groups, int(groups.max()) + 1, start, 1e-12, 100,
                      *kink_set._NO_FACTOR)[1] == DEPENDENT
    jumps = _dense(G, q, beta, groups, np.zeros(A.shape[1]))[0]
    residual = y - A @ jumps
    value = 0.5 * residual @ residual + beta * jump_penalty(jumps, groups)
    assert value <= _cvxpy_jump_minimum(A, y, beta, groups) * (1 + 1e-9)


def _pair_primal(dicts, y, beta, solution) -> float:
    """The capped-ramp Lasso objective of the returned pairs, evaluated column by column."""
    stack = CappedRampStack(dicts)
    A = np.empty((y.shape[0], solution.coef.shape[0]), order="F")
    stack.centred_columns(solution.inputs, solution.keys, A)
    residual = y - y.mean() - A @ solution.coef
    return 0.5 * residual @ residual + beta * np.abs(solution.coef).sum()


@pytest.mark.parametrize("ratio", [0.3, 0.03, 3e-3])
@pytest.mark.parametrize("d,ties", [(1, False), (2, False), (2, True)])
def test_kink_working_set_matches_cvxpy(ratio, d, ties):
    X, y = _problem(int(ratio * 1e4) + d, 40, d, ties)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    beta = ratio * beta_max(dicts, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        solution = solve_kink_working_set(dicts, y, beta)
    reference = fit_convex_network(X, y, beta=beta, depth=3, activation="relu", solver="cvxpy")
    assert solution.converged and solution.relative_gap <= 1e-6
    assert abs(solution.primal - reference.primal) <= 1e-6 * reference.primal
    assert solution.dual <= reference.primal * (1 + 1e-9)
    # the pairs are the jumps' function and their ‖z‖₁ the jump penalty: same objective
    assert _pair_primal(dicts, y, beta, solution) == pytest.approx(solution.primal, rel=1e-9)
    assert np.all(solution.coef != 0.0)


def test_kink_working_set_warm_starts_from_pairs_and_from_its_workspace():
    X, y = _problem(5, 80, 2)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    bmax = beta_max(dicts, y)
    pairs = solve_working_set(dicts, y, 0.1 * bmax)
    cold = solve_kink_working_set(dicts, y, 0.01 * bmax)
    warm = solve_kink_working_set(dicts, y, 0.01 * bmax, warm_start=pairs)
    ws = WorkingSet(X.shape[0])
    solve_kink_working_set(dicts, y, 0.1 * bmax, workspace=ws)
    carried = solve_kink_working_set(dicts, y, 0.01 * bmax, workspace=ws)
    for solution in (cold, warm, carried):
        assert solution.converged and solution.relative_gap <= 1e-6
        assert solution.primal == pytest.approx(cold.primal, rel=2e-6)
    assert warm.n_iter < cold.n_iter


def test_past_max_kinks_the_pair_working_set_takes_over(monkeypatch):
    X, y = _problem(8, 60, 2)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    beta = 0.01 * beta_max(dicts, y)
    monkeypatch.setattr(kink_set, "MAX_KINKS", 4)
    with pytest.warns(ConvergenceWarning, match="Kink working-set solver stopped"):
        stopped = solve_kink_working_set(dicts, y, beta)
    assert not stopped.converged and stopped.coef.shape[0] > 0
    handed_over, _ = solve_lasso(X, y, beta, depth=3, activation="relu", dictionaries=dicts)
    reference = fit_convex_network(X, y, beta=beta, depth=3, activation="relu", solver="cvxpy")
    assert handed_over.converged and handed_over.relative_gap <= 1e-6
    assert abs(handed_over.primal - reference.primal) <= 1e-6 * reference.primal
    assert handed_over.n_iter > stopped.n_iter  # the rounds of both working sets
    # max_iter bounds the rounds of both: none are left for the columns after the kinks' own
    spent = fit_module._solve_implicit(dicts, y, beta, tol=1e-6, max_iter=stopped.n_iter,
                                       warm_start=None, workspace=None)
    assert not spent.converged and spent.n_iter == stopped.n_iter
    assert spent.primal == stopped.primal
    one_more = fit_module._solve_implicit(dicts, y, beta, tol=1e-6, max_iter=stopped.n_iter + 1,
                                          warm_start=None, workspace=None)
    assert one_more.n_iter == stopped.n_iter + 1


@pytest.mark.parametrize("depth,on_kinks", [(2, False), (3, True), (4, True)])
def test_solve_lasso_solves_capped_ramps_on_kinks(monkeypatch, depth, on_kinks):
    calls = {"kinks": 0, "pairs": 0}

    def counted(name, solve):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return solve(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(fit_module, "solve_kink_working_set",
                        counted("kinks", solve_kink_working_set))
    monkeypatch.setattr(fit_module, "solve_working_set", counted("pairs", solve_working_set))
    X, y = _problem(9, 30, 2)
    dicts = make_dictionaries(X, depth, "relu", 0.01, None)
    assert is_capped_ramp(dicts) is on_kinks
    solution, _ = solve_lasso(X, y, 0.05 * beta_max(dicts, y), depth=depth, activation="relu",
                              dictionaries=dicts)
    assert solution.converged
    assert calls == ({"kinks": 1, "pairs": 0} if on_kinks else {"kinks": 0, "pairs": 1})


def test_kink_working_set_is_bitwise_deterministic():
    X, y = _problem(2, 60, 3)
    dicts = make_dictionaries(X, 3, "relu", 0.01, None)
    beta = 0.01 * beta_max(dicts, y)
    a, b = (solve_kink_working_set(dicts, y, beta) for _ in range(2))
    assert a.primal == b.primal and a.dual == b.dual and a.intercept == b.intercept
    for name in ("coef", "inputs", "keys"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_new_kinks_are_the_missing_ends_of_the_strongest_lacking_pairs():
    n_unique = np.array([5, 4])
    # priced pairs (input, a, b) with correlations; input 0's kink 1 is held
    priced = [(0, 1, 4, 9.0), (0, 0, 2, 8.0), (1, 1, 2, 7.0), (0, 1, 3, 6.0), (1, 0, 1, 0.5)]
    c_inputs = np.array([i for i, *_ in priced], dtype=np.int64)
    c_keys = np.array([a * n_unique[i] + b for i, a, b, _ in priced], dtype=np.int64)
    c_vals = np.array([v for *_, v in priced]) * np.array([1, -1, 1, -1, 1])
    held = np.sort(codes(np.array([0]), np.array([1 * 5 + 4])))
    inputs, keys = kink_set._new_kinks(c_inputs, c_keys, c_vals, held, n_unique, 1.0, 1e-6, 2)
    # (0, 1, 4) lacks nothing (1 is held, 4 is the largest point); the two strongest lacking
    # pairs are (0, 0, 2) and (1, 1, 2): their kinks 0 and 2 of input 0, 1 and 2 of input 1
    assert inputs.tolist() == [0, 0, 1, 1]
    assert (keys // n_unique[inputs]).tolist() == [0, 2, 1, 2]
    assert np.all(keys % n_unique[inputs] == n_unique[inputs] - 1)


def test_kinks_of_pairs_make_the_same_function_on_the_data():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((40, 2))
    stack = CappedRampStack.of(make_dictionaries(X, 3, "relu", 0.01, None))
    n_unique = stack.n_unique
    inputs = rng.integers(0, 2, size=30).astype(np.int64)
    a = rng.integers(0, n_unique[inputs] - 1)
    b = a + 1 + rng.integers(0, n_unique[inputs] - 1 - a)
    keys = (a * n_unique[inputs] + b).astype(np.int64)
    coef = rng.standard_normal(30)
    coef[:3] = [1.0, -1.0, 0.5]  # a pair and its negation (which cancel), and a duplicate
    inputs[:3], keys[:3] = inputs[3], keys[3]
    k_inputs, k_keys, jumps = kink_set._kinks_of_pairs(inputs, keys, coef, n_unique)
    assert np.all(jumps != 0.0) and np.all(np.diff(codes(k_inputs, k_keys)) > 0)
    assert np.all(k_keys % n_unique[k_inputs] == n_unique[k_inputs] - 1)  # kinks (k, N - 1)
    assert np.all(k_keys // n_unique[k_inputs] < n_unique[k_inputs] - 1)  # never the largest
    pairs = np.empty((40, 30), order="F")
    kinks = np.empty((40, k_keys.shape[0]), order="F")
    stack.centred_columns(inputs, keys, pairs)
    stack.centred_columns(k_inputs, k_keys, kinks)
    np.testing.assert_allclose(kinks @ jumps, pairs @ coef, atol=1e-12)
