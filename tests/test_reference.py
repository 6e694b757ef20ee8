"""Tests for convexforecast.core.reference (cvxpy/Clarabel Lasso and the min-norm LP)."""

from __future__ import annotations

from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest

from convexforecast.core.dictionaries import build_dictionary
from convexforecast.core.solvers.reference import min_norm_interpolation, solve_cvxpy

DATA = Path(__file__).resolve().parents[1] / "data"


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(DATA / f"{name}.csv", delimiter=",", skiprows=1)
    return table[:, 0], table[:, 1]


def min_norm(x, y, depth, **kwargs) -> float:
    dic = build_dictionary(x, depth=depth, **kwargs)
    return min_norm_interpolation(dic.matrix, y)[2]


# ---------------------------------------------------------------- worked examples (§4)
@pytest.mark.parametrize(
    ("name", "expected"),
    [("opt", (2.0, 1.0, 1.0)), ("zshape", (1.5, 0.75, 0.75)), ("bounce", (4.0, 4.0, 4.0))],
)
def test_paper_worked_examples(name, expected):
    x, y = load(name)
    got = tuple(min_norm(x, y, depth) for depth in (2, 3, 4))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-8)


def test_opt_depth4_single_reflected_neuron_is_a_minimum_norm_interpolant():
    x, y = load("opt")
    dic = build_dictionary(x, depth=4)
    j = next(i for i, f in enumerate(dic.features) if f.kinks == (5.0, 8.0))
    np.testing.assert_allclose(dic.matrix[:, j], y)  # one neuron, ‖z‖₁ = 1 interpolates
    assert min_norm_interpolation(dic.matrix, y)[2] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("n", [4, 6, 8])
def test_square_wave(n):
    x, y = load("square_wave")
    x, y = x[:n], y[:n]
    assert np.array_equal(y, (-1.0) ** np.arange(1, n + 1))
    assert min_norm(x, y, 2, activation="sign") == pytest.approx(n - 1, abs=1e-8)
    assert min_norm(x, y, 2, activation="threshold") == pytest.approx(2 * (n - 1), abs=1e-8)
    deep = min_norm(x, y, 3, activation="sign", max_switches=n - 1)
    assert deep == pytest.approx(1.0, abs=1e-8)


# ---------------------------------------------------------------- min-norm LP
def secant_formulas(x, y) -> tuple[float, float]:
    """Closed-form minimal norms of paper-notes §2.3 (depth 2, and depth 3 = depth 4)."""
    order = np.argsort(x)
    u, f = x[order], y[order]
    m = np.diff(f) / np.diff(u)
    t = np.abs(np.diff(m)).sum()
    return max(t, (t + abs(m[0] + m[-1])) / 2), (abs(m[0]) + t + abs(m[-1])) / 2


@pytest.mark.parametrize("seed", range(4))
def test_min_norm_matches_secant_formulas(seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 5, 7)
    y = rng.standard_normal(7)
    two, three = secant_formulas(x, y)
    assert min_norm(x, y, 2) == pytest.approx(two, rel=1e-8)
    assert min_norm(x, y, 3) == pytest.approx(three, rel=1e-8)
    assert min_norm(x, y, 4) == pytest.approx(three, rel=1e-8)


def test_min_norm_solution_and_dual_certificate():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, 9)
    y = rng.standard_normal(9)
    A = build_dictionary(x, depth=3).matrix
    coef, intercept, norm, nu = min_norm_interpolation(A, y)
    np.testing.assert_allclose(A @ coef + intercept, y, atol=1e-9)
    assert norm == pytest.approx(np.abs(coef).sum())
    assert np.abs(A.T @ nu).max() <= 1 + 1e-8
    assert abs(nu.sum()) <= 1e-8
    assert nu @ y == pytest.approx(norm, rel=1e-8)  # strong duality


def test_min_norm_ties_fit_group_means():
    x = np.array([0.0, 1.0, 1.0, 2.5, 4.0, 4.0, 4.0])
    y = np.array([0.0, 1.0, 3.0, -1.0, 2.0, 2.0, 5.0])
    A = build_dictionary(x, depth=3).matrix
    coef, intercept, norm, nu = min_norm_interpolation(A, y)
    fitted = A @ coef + intercept
    np.testing.assert_allclose(fitted, [0.0, 2.0, 2.0, -1.0, 3.0, 3.0, 3.0], atol=1e-9)
    merged_x = np.array([0.0, 1.0, 2.5, 4.0])
    merged_y = np.array([0.0, 2.0, -1.0, 3.0])
    assert norm == pytest.approx(secant_formulas(merged_x, merged_y)[1], rel=1e-9)
    assert nu @ y == pytest.approx(norm, rel=1e-8)


def test_min_norm_without_interpolant_raises():
    A = np.array([[0.0], [1.0], [2.0]])
    with pytest.raises(ValueError, match="interpolant"):
        min_norm_interpolation(A, np.array([0.0, 5.0, 0.0]))


# ---------------------------------------------------------------- cvxpy reference
def function_space_optimum(x, y, beta, depth) -> float:
    """Independent formulation: min_f ½‖f − y‖² + β·pen(f) over fitted values (§2.3)."""
    order = np.argsort(x)
    u, yy = x[order], y[order]
    f = cp.Variable(len(u))
    m = cp.multiply(1.0 / np.diff(u), cp.diff(f))
    t = cp.norm1(cp.diff(m))
    if depth == 2:
        pen = cp.maximum(t, (t + cp.abs(m[0] + m[-1])) / 2)
    else:
        pen = (cp.abs(m[0]) + t + cp.abs(m[-1])) / 2
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(f - yy) + beta * pen))
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return float(problem.value)


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("beta", [1e-3, 0.05, 0.5])
def test_cvxpy_gap_small_and_matches_function_space(depth, beta):
    rng = np.random.default_rng(int(beta * 1000) + depth)
    x = rng.uniform(0, 3, 8)
    y = np.sin(2 * x) + 0.3 * rng.standard_normal(8)
    A = build_dictionary(x, depth=depth).matrix
    res = solve_cvxpy(A, y, beta)
    assert res.solver == "cvxpy-clarabel"
    assert res.relative_gap <= 1e-6
    assert res.primal >= res.dual
    expected = function_space_optimum(x, y, beta, min(depth, 3))
    assert res.primal == pytest.approx(expected, rel=1e-6)
    fitted = A @ res.coef + res.intercept
    assert res.primal == pytest.approx(
        0.5 * np.sum((fitted - y) ** 2) + beta * np.abs(res.coef).sum(), rel=1e-12)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_tiny_beta_uses_lp_route_with_certificate(depth):
    x, y = load("opt")
    A = build_dictionary(x, depth=depth).matrix
    beta = 1e-7
    res = solve_cvxpy(A, y, beta)
    assert res.solver == "lp-highs"
    assert res.relative_gap <= 1e-6
    assert res.primal == pytest.approx(beta * min_norm_interpolation(A, y)[2], rel=1e-6)
    zero = solve_cvxpy(A, y, 0.0)
    assert zero.primal == pytest.approx(0.0, abs=1e-12)
    assert zero.duality_gap <= 1e-12


def test_tiny_beta_with_tied_inputs_is_certified():
    x = np.array([0.0, 1.0, 1.0, 2.0, 3.5, 3.5])
    y = np.array([0.0, 1.0, 2.0, 0.5, 1.0, -1.0])
    A = build_dictionary(x, depth=3).matrix
    res = solve_cvxpy(A, y, 1e-7)
    assert res.solver == "lp-highs"
    assert res.relative_gap <= 1e-6
    within = 0.5 * (0.5 ** 2 * 2 + 1.0 ** 2 * 2)  # residual of the group means
    assert res.primal >= within


def test_tiny_beta_relative_to_data_scale_falls_back_to_clarabel():
    # β = 1e-6 is 1% of β_max when y is of order 1e-5: the β → 0 point is not optimal
    x, y = load("opt")
    y = y * 1e-5
    A = build_dictionary(x, depth=3).matrix
    res = solve_cvxpy(A, y, 1e-6)
    assert res.relative_gap <= 1e-6
    assert res.solver == "cvxpy-clarabel"


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((np.ones((3, 2)), np.ones(4), 0.1), "`A` and `y`"),
        ((np.array([[0.0, np.nan], [1.0, 2.0]]), np.ones(2), 0.1), "`A`"),
        ((np.ones(3), np.ones(3), 0.1), "`A`"),
        ((np.ones((3, 2)), np.array([0.0, np.inf, 1.0]), 0.1), "`y`"),
        ((np.ones((3, 2)), np.ones(3), -1.0), "`beta`"),
        ((np.ones((3, 2)), np.ones(3), np.nan), "`beta`"),
    ],
)
def test_bad_input_names_the_argument(args, name):
    with pytest.raises(ValueError, match=name):
        solve_cvxpy(*args)
    if name != "`beta`":
        with pytest.raises(ValueError, match=name):
            min_norm_interpolation(*args[:2])


def test_inputs_not_mutated():
    x, y = load("zshape")
    A = build_dictionary(x, depth=4).matrix
    a_before, y_before = A.copy(), y.copy()
    solve_cvxpy(A, y, 0.1)
    solve_cvxpy(A, y, 1e-8)
    min_norm_interpolation(A, y)
    np.testing.assert_array_equal(A, a_before)
    np.testing.assert_array_equal(y, y_before)
