"""The closed-form evaluator of canonical ReLU fits used to score β paths."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import TimeSeriesSplit

from convexforecast.core.canonical.interpolant import Interpolant
from convexforecast.core.dictionaries import make_dictionaries
from convexforecast.core.fit import fit_convex_network, solve_lasso
from convexforecast.core.path import cross_validate_beta, lasso_path
from convexforecast.core.solvers.working_set import beta_max


def _interpolant(X, y, beta, depth=3, dictionaries=None):
    """The closed-form canonical function of the fast solution at ``beta``."""
    dictionaries = dictionaries or make_dictionaries(X, depth, "relu", 0.01, None)
    solution, used = solve_lasso(X, y, beta, depth=depth, activation="relu",
                                 dictionaries=dictionaries)
    assert solution.solver == "fast" and solution.relative_gap <= 1e-6
    return Interpolant.from_solution(solution, used, depth)


def _problem(seed: int, n: int, d: int, linear: bool = False, ties: bool = False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if ties:
        X = np.round(X, 1)
    y = 2.0 * X[:, 0] if linear else np.sin(2.0 * X[:, 0]) + 0.5 * np.abs(X[:, -1])
    return X, y + 0.05 * rng.standard_normal(n)


@pytest.mark.parametrize("depth", [2, 3])
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ratio", [0.5, 0.05, 0.01])
def test_interpolated_fit_predicts_the_canonical_network(depth, seed, ratio):
    X, y = _problem(seed, 60, 2, linear=seed % 2 == 0, ties=seed % 3 == 0)
    dictionaries = make_dictionaries(X, depth, "relu", 0.01, None)
    beta = ratio * beta_max(dictionaries, y)
    network = fit_convex_network(X, y, depth=depth, activation="relu", beta=beta,
                                 dictionaries=dictionaries)
    fast = _interpolant(X, y, beta, depth, dictionaries)
    # far outside the data on both sides, and between the data points
    Z = np.random.default_rng(seed).uniform(-6.0, 6.0, (400, 2))
    np.testing.assert_allclose(fast.predict(Z), network.predict(Z), rtol=0, atol=1e-10)
    np.testing.assert_allclose(fast.predict(X), network.predict(X), rtol=0, atol=1e-10)


def test_spanning_piece_is_flat_left_of_the_data():
    # y = x on the data: one capped ramp spans all of it, and the canonical network writes it
    # as a right ramp (flat below the smallest point), not as a line
    x = np.linspace(0.0, 1.0, 12)
    X, y = x[:, None], x.copy()
    fast = _interpolant(X, y, 1e-3)
    slope_inside = fast.right_slopes[0]
    assert slope_inside == pytest.approx(1.0, abs=0.01)
    assert fast.left_slopes[0] == 0.0
    at = fast.predict(np.array([[-1.0], [0.0], [1.0], [2.0]]))
    assert at[0] == pytest.approx(at[1], abs=1e-12)
    assert at[3] - at[2] == pytest.approx(slope_inside)


@pytest.mark.parametrize("activation,depth", [("relu", 4), ("abs", 2)])
def test_other_families_are_scored_with_their_network(activation, depth):
    X, y = _problem(3, 30, 1)
    options = dict(depth=depth, activation=activation, tol=1e-6, max_iter=500, solver="fast")
    result = cross_validate_beta(X, y, n_folds=2, n_betas=3, min_ratio=0.1, **options)
    train, test = list(TimeSeriesSplit(n_splits=2).split(X))[0]
    networks = lasso_path(X[train], y[train], result.betas, **options)
    mse = [np.mean((net.predict(X[test]) - y[test]) ** 2) for net in networks]
    np.testing.assert_allclose(result.fold_mse[0], mse, rtol=1e-12)


def test_cross_validation_scores_the_canonical_networks():
    X, y = _problem(5, 120, 3)
    options = dict(depth=3, activation="relu", tol=1e-6, max_iter=500, solver="fast")
    result = cross_validate_beta(X, y, n_folds=3, n_betas=6, min_ratio=1e-2, **options)
    for f, (train, test) in enumerate(TimeSeriesSplit(n_splits=3).split(X)):
        networks = lasso_path(X[train], y[train], result.betas, **options)
        mse = [np.mean((net.predict(X[test]) - y[test]) ** 2) for net in networks]
        np.testing.assert_allclose(result.fold_mse[f], mse, rtol=1e-9)


def test_interpolant_needs_capped_ramp_dictionaries():
    X, y = _problem(9, 30, 1)
    dictionaries = make_dictionaries(X, 2, "abs", 0.01, None)  # not capped ramps
    solution, used = solve_lasso(X, y, 0.1, depth=2, activation="abs",
                                 dictionaries=dictionaries)
    with pytest.raises(TypeError, match="PairDictionary"):
        Interpolant.from_solution(solution, used, 2)
