"""ConvexNetRegressor: the paper's worked examples, reconstruction, CV, sklearn API, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import check_estimator

from convexforecast import ConvexNetCV, ConvexNetRegressor
from convexforecast.core.path import cross_validate_beta
from convexforecast.core.solvers.warm_start import WarmStart
from convexforecast.core.solvers.working_set import WorkingSet

DATA = Path(__file__).resolve().parents[1] / "data"


def _toy(name):
    frame = pd.read_csv(DATA / f"{name}.csv")
    return frame[["x"]].to_numpy(), frame["y"].to_numpy()


def _min_norm(name, depth, **kw):
    X, y = _toy(name)
    beta = 1e-7
    model = ConvexNetRegressor(depth=depth, beta=beta, **kw).fit(X, y)
    assert model.relative_gap_ <= 1e-6
    return model, np.abs(model.coef_).sum()


@pytest.mark.parametrize("name,norms", [("opt", (2, 1, 1)), ("zshape", (1.5, 0.75, 0.75)),
                                        ("bounce", (4, 4, 4))])
def test_paper_min_norm_values(name, norms):
    for depth, expected in zip((2, 3, 4), norms, strict=True):
        model, norm = _min_norm(name, depth)
        assert norm == pytest.approx(expected, rel=1e-6)
        assert model.objective_ == pytest.approx(1e-7 * expected, rel=1e-5)


def test_opt_depth4_is_the_single_reflection_neuron():
    model, _ = _min_norm("opt", 4)
    assert model.n_neurons_ == 1
    feat = model.features_[0]
    assert feat.kind == "capped_ramp" and feat.kinks == (5.0, 8.0)
    assert feat.reflected == (False, True) and feat.sources[1] == (0.0, 4.0)
    assert model.coef_[0] == pytest.approx(1.0)
    depth3, _ = _min_norm("opt", 3)
    assert depth3.n_neurons_ == 2


def test_opt_larger_beta_needs_more_than_one_neuron():
    X, y = _toy("opt")
    d3 = ConvexNetRegressor(depth=3, beta=0.01).fit(X, y)
    d4 = ConvexNetRegressor(depth=4, beta=0.01).fit(X, y)
    # both certified to the default relative gap 1e-6: equal optima, to that tolerance
    assert d4.objective_ == pytest.approx(d3.objective_, rel=1e-6)
    assert d4.n_neurons_ > 1
    single = ConvexNetRegressor(depth=4, beta=1e-7).fit(X, y).to_network()
    single.beta = 0.01  # the β→0 neuron, scored at β = 0.01, is strictly worse
    assert single.objective(X, y) > d4.objective_ * 1.001


@pytest.mark.parametrize("n", [4, 6, 8])
def test_square_wave_sign_depth_turns_n_minus_1_neurons_into_one(n):
    X = np.arange(1, n + 1, dtype=float)[:, None]
    y = (-1.0) ** np.arange(1, n + 1)
    shallow = ConvexNetRegressor(depth=2, activation="sign", beta=1e-7).fit(X, y)
    deep = ConvexNetRegressor(depth=3, activation="sign", beta=1e-7, max_switches=n - 1).fit(X, y)
    assert np.abs(shallow.coef_).sum() == pytest.approx(n - 1, rel=1e-6)
    assert np.abs(deep.coef_).sum() == pytest.approx(1, rel=1e-6)
    assert deep.n_neurons_ == 1


FAMILIES = [("relu", 2, {}), ("relu", 3, {}), ("relu", 4, {}), ("leaky_relu", 2, {}),
            ("abs", 2, {}), ("abs", 3, {}), ("sign", 2, {}), ("threshold", 3, {})]


@pytest.mark.parametrize("activation,depth,extra", FAMILIES)
def test_reconstructed_network_equals_lasso(activation, depth, extra):
    rng = np.random.default_rng(depth)
    X = rng.uniform(-2, 2, (24, 2))
    y = np.sin(2 * X[:, 0]) - X[:, 1] ** 2 + 0.1 * rng.standard_normal(24)
    model = ConvexNetRegressor(depth=depth, activation=activation, beta=0.05, **extra).fit(X, y)
    net = model.to_network()
    assert net.n_neurons == model.n_neurons_
    assert net.objective(X, y) == pytest.approx(model.objective_, rel=1e-8)
    off = rng.uniform(-6, 6, (200, 2))
    np.testing.assert_allclose(net.predict(off), model.predict(off), rtol=0, atol=1e-10)
    np.testing.assert_allclose(net.predict(X), model.predict(X), rtol=0, atol=1e-10)


def test_torch_export_matches_network():
    import torch  # the CI installs the torch extra
    X, y = _toy("opt")
    model = ConvexNetRegressor(depth=4, beta=0.01).fit(X, y)
    module = model.to_network().to_torch()
    grid = np.linspace(-3, 15, 50)[:, None]
    with torch.no_grad():
        out = module(torch.as_tensor(grid)).numpy()
    np.testing.assert_allclose(out, model.predict(grid), atol=1e-12)


def test_cv_selects_from_grid_and_one_se_is_sparser():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (120, 2))
    y = np.sin(3 * X[:, 0]) + 0.3 * rng.standard_normal(120)
    best = ConvexNetRegressor(depth=3, beta="cv", cv=4, n_betas=10).fit(X, y)
    res = best.cv_results_
    assert best.beta_ in res["betas"]
    assert res["fold_mse"].shape == (4, 10)
    assert best.beta_ == res["betas"][np.argmin(res["mean_mse"])]
    one_se = ConvexNetRegressor(depth=3, beta="cv", cv=4, n_betas=10,
                                one_standard_error=True).fit(X, y)
    assert one_se.beta_ >= best.beta_
    with pytest.warns(FutureWarning, match="ConvexNetCV is deprecated"):
        cv_model = ConvexNetCV(depth=3, cv=4, n_betas=10)  # one release more, then removed
    cv_model.fit(X, y)
    assert cv_model.beta_ == best.beta_ and cv_model.objective_ == best.objective_


def test_cv_uses_only_the_training_rows_given():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (80, 1))
    y = X[:, 0] ** 2 + 0.1 * rng.standard_normal(80)
    a = ConvexNetRegressor(depth=2, beta="cv", cv=3, n_betas=6).fit(X[:60], y[:60])
    y2 = y.copy()
    y2[60:] += 100.0
    b = ConvexNetRegressor(depth=2, beta="cv", cv=3, n_betas=6).fit(X[:60], y2[:60])
    assert a.beta_ == b.beta_


def _growing_window(n=160, seed=4):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    y = np.sin(3 * X[:, 0]) + np.abs(X[:, 1]) + 0.2 * rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("beta", ["cv", 0.5])
def test_warm_start_refit_reaches_the_cold_optimum(beta):
    X, y = _growing_window()
    params = dict(depth=3, beta=beta, cv=3, n_betas=8)
    # a refit on a longer, re-standardised window, as in a backtest
    X2 = (X - X.mean(axis=0)) / X.std(axis=0)
    warm = ConvexNetRegressor(**params, warm_start=True).fit(X[:120], y[:120])
    warm.fit(X2, y)
    cold = ConvexNetRegressor(**params).fit(X2, y)
    assert warm.beta_ == cold.beta_ and warm.n_neurons_ > 0
    assert warm.relative_gap_ <= 1e-6
    assert abs(warm.objective_ - cold.objective_) <= 2e-6 * cold.objective_
    np.testing.assert_allclose(warm.predict(X2), cold.predict(X2), atol=1e-3)
    if beta == "cv":
        np.testing.assert_allclose(warm.cv_results_["fold_mse"], cold.cv_results_["fold_mse"],
                                   rtol=1e-4)
        # the carried solutions start the CV paths close to their points
        assert warm.cv_results_["fold_n_iter"].sum() < cold.cv_results_["fold_n_iter"].sum()


def test_refit_with_a_fixed_beta_drops_the_old_cv_results():
    X, y = _growing_window()
    model = ConvexNetRegressor(depth=3, beta="cv", cv=3, n_betas=4, warm_start=True).fit(X, y)
    assert hasattr(model, "cv_results_")
    model.set_params(beta=0.5).fit(X, y)
    assert not hasattr(model, "cv_results_") and model.beta_ == 0.5


def test_warm_start_across_a_change_of_family_starts_cold():
    X, y = _growing_window()
    model = ConvexNetRegressor(depth=3, beta=0.5, warm_start=True).fit(X, y)
    model.set_params(activation="abs", depth=2).fit(X, y)  # ReLU solutions do not carry over
    fresh = ConvexNetRegressor(depth=2, activation="abs", beta=0.5).fit(X, y)
    assert model.objective_ == fresh.objective_


def test_without_warm_start_a_refit_equals_a_fresh_fit():
    X, y = _growing_window()
    model = ConvexNetRegressor(depth=3, beta="cv", cv=3, n_betas=6).fit(X[:100], y[:100])
    model.fit(X, y)
    fresh = ConvexNetRegressor(depth=3, beta="cv", cv=3, n_betas=6).fit(X, y)
    assert model.objective_ == fresh.objective_
    np.testing.assert_array_equal(model.predict(X), fresh.predict(X))


def test_a_warm_started_cross_validation_does_not_grow_its_working_sets(monkeypatch):
    """A path started from an earlier cross-validation's solutions allocates room for the
    largest of them and the rounds after it, so its buffers are never copied into larger ones
    (with the default room of 64 columns, these 100-neuron paths grow several times)."""
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, (800, 8))
    y = np.sin(3 * X[:, 0]) + rng.standard_normal(800)
    options = dict(n_folds=3, n_betas=8, min_ratio=1e-3, depth=3, activation="relu")
    first = cross_validate_beta(X[:780], y[:780], return_solutions=True, **options)
    assert first.fold_n_neurons.max() > 64
    grown = []
    reserve = WorkingSet._reserve

    def counting_reserve(self, size):
        if size > self._gram.shape[0]:
            grown.append(size)
        reserve(self, size)

    monkeypatch.setattr(WorkingSet, "_reserve", counting_reserve)
    warm = WarmStart(cv=first.solutions, cv_shape=first.fold_mse.shape)
    second = cross_validate_beta(X, y, warm_start=warm, **options)
    assert (second.fold_relative_gap <= 1e-6).all()
    assert grown == []


def test_selected_features_table():
    X, y = _toy("opt")
    table = ConvexNetRegressor(depth=4, beta=1e-7).fit(X, y).selected_features()
    assert list(table.columns[:4]) == ["input", "kind", "direction", "kinks"]
    assert bool(table.loc[0, "is_reflection"]) is True


@pytest.mark.slow
@pytest.mark.parametrize("params", [{}, {"depth": 3, "beta": 0.1}])
def test_sklearn_estimator_checks(params):
    check_estimator(ConvexNetRegressor(**params))


@pytest.mark.parametrize("kwargs,X,y,match", [
    ({}, [[0.0], [np.nan], [2.0]], [0, 1, 2], "X"),
    ({}, [[0.0], [np.inf], [2.0]], [0, 1, 2], "X"),
    ({}, [[0.0], [1.0], [2.0]], [0, np.nan, 2], "y"),
    ({}, [[0.0], [1.0], [2.0]], [0, 1], "samples"),
    ({}, [[1.0], [1.0], [1.0]], [0, 1, 2], "`X` must have at least 2 distinct"),
    ({"beta": -1.0}, [[0.0], [1.0], [2.0]], [0, 1, 2], "`beta`"),
    ({"activation": "tanh"}, [[0.0], [1.0], [2.0]], [0, 1, 2], "`activation`.*tanh"),
    ({"activation": "leaky_relu", "depth": 3}, [[0.0], [1.0], [2.0]], [0, 1, 2], "`depth`.*3"),
    ({"depth": 5}, [[0.0], [1.0], [2.0]], [0, 1, 2], "`depth`.*5"),
    ({"solver": "magic"}, [[0.0], [1.0], [2.0]], [0, 1, 2], "`solver`.*magic"),
    ({"warm_start": "yes"}, [[0.0], [1.0], [2.0]], [0, 1, 2], "`warm_start`.*yes"),
])
def test_bad_input_raises_named_value_error(kwargs, X, y, match):
    with pytest.raises(ValueError, match=match):
        ConvexNetRegressor(**kwargs).fit(np.array(X), np.array(y, dtype=float))


def test_inputs_are_not_mutated():
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (30, 2))
    y = rng.standard_normal(30)
    X0, y0 = X.copy(), y.copy()
    ConvexNetRegressor(depth=4, beta=0.1).fit(X, y).predict(X)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
