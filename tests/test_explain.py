"""What the network learned: exact response curves, kinks, shares, β path, backtest transport."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from convexforecast import ConvexARForecaster, ConvexNetRegressor
from convexforecast.forecasting.backtest import backtest
from convexforecast.forecasting.baselines import NaiveForecaster
from convexforecast.forecasting.explain import (
    GRID_MARGIN,
    Explanation,
    check_explain_state,
)
from convexforecast.forecasting.persistence import load, save
from convexforecast.forecasting.transforms import get_transform
from convexforecast.forecasting.windows import lag_matrix

DATA = Path(__file__).resolve().parents[1] / "data"


def _opt():
    frame = pd.read_csv(DATA / "opt.csv")
    return frame[["x"]].to_numpy(), frame["y"].to_numpy()


def _design(n=50, seed=0):
    """y depends on column 0 (a kink) and column 1 (a V), not on column 2."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.maximum(X[:, 0], 0.0) + 0.5 * np.abs(X[:, 1]) + 0.05 * rng.normal(size=n)
    return X, y


def _sum_of_curves(curves: pd.DataFrame, n_inputs: int) -> np.ndarray:
    return curves["contribution"].to_numpy().reshape(n_inputs, -1).sum(axis=0)


# ------------------------------------------------------------------------ the regressor
@pytest.mark.parametrize(("activation", "depth"), [
    ("relu", 2), ("relu", 3), ("relu", 4), ("leaky_relu", 2), ("abs", 2), ("abs", 3),
    ("sign", 2), ("sign", 3), ("threshold", 2), ("threshold", 4)])
def test_response_curves_add_up_to_the_prediction_exactly(activation, depth):
    X, y = _design(n=24)  # deep abs/sign/threshold dictionaries grow fast with n
    model = ConvexNetRegressor(depth=depth, activation=activation, beta=0.5).fit(X, y)
    assert model.n_neurons_ > 0
    X_new = np.random.default_rng(9).normal(scale=2.0, size=(40, 3))  # off the data too
    for points in (X, X_new):
        curves = model.response_curves(grid=points)
        assert list(curves.columns) == ["input", "x", "contribution"]
        assert list(curves["input"]) == [j for j in range(3) for _ in range(len(points))]
        np.testing.assert_array_equal(curves["x"].to_numpy().reshape(3, -1), points.T)
        total = model.intercept_ + _sum_of_curves(curves, 3)
        np.testing.assert_allclose(total, model.predict(points), rtol=0, atol=1e-10)


def test_default_grid_covers_the_data_and_every_kink_a_little_beyond():
    X, y = _design()
    model = ConvexNetRegressor(depth=4, beta=0.2).fit(X, y)
    explanation = model.explain()
    for j in range(3):
        x = explanation.curves.loc[explanation.curves["input"] == j, "x"].to_numpy()
        kinks = explanation.kinks.loc[explanation.kinks["input"] == j, "x"].to_numpy()
        lo, hi = min(X[:, j].min(), kinks.min(initial=np.inf)), \
            max(X[:, j].max(), kinks.max(initial=-np.inf))
        assert np.all(np.diff(x) > 0)
        assert x[0] == pytest.approx(lo - GRID_MARGIN * (hi - lo))
        assert x[-1] == pytest.approx(hi + GRID_MARGIN * (hi - lo))
        assert set(kinks) <= set(x)  # every kink is a grid point, exactly
    # the curve at a kink is the value the kinks frame reports
    row = explanation.kinks.iloc[0]
    at = explanation.curves[(explanation.curves["input"] == row["input"])
                            & (explanation.curves["x"] == row["x"])]
    assert at["contribution"].iloc[0] == pytest.approx(row["contribution"], abs=1e-12)


def test_opt_kinks_and_their_provenance_at_depths_2_3_4():
    X, y = _opt()
    kinds = {}
    for depth in (2, 3, 4):
        kinks = ConvexNetRegressor(depth=depth, beta=1e-7).fit(X, y).explain().kinks
        kinds[depth] = kinks
    assert sorted(kinds[2]["x"]) == [5.0, 7.0, 10.0]
    assert set(kinds[2]["provenance"]) == set(kinds[3]["provenance"]) == {"data point"}
    depth4 = kinds[4].set_index("x")
    assert list(depth4.index) == [5.0, 8.0]  # C_{5,8}: one neuron, 8 = 2·4 − 0
    assert list(depth4["provenance"]) == ["data point", "reflection"]
    assert depth4.loc[8.0, "reflection_of_j"] == 4.0 and depth4.loc[8.0, "reflection_of_k"] == 0.0
    assert np.isnan(depth4.loc[5.0, "reflection_of_j"])
    assert depth4.loc[8.0, "contribution"] == pytest.approx(3.0)


def test_inputs_switched_off_and_variance_shares():
    X, y = _design(n=120)
    model = ConvexNetRegressor(depth=3, beta=2.0).fit(X, y)
    explanation = model.explain()
    inputs = explanation.inputs.set_index("input")
    assert explanation.switched_off == [2] and bool(inputs.loc[2, "switched_off"])
    assert inputs.loc[2, "n_neurons"] == 0 and inputs.loc[2, "contribution_std"] == 0
    assert inputs["n_neurons"].sum() == model.n_neurons_
    assert inputs["variance_share"].sum() == pytest.approx(1.0)
    assert inputs.loc[0, "variance_share"] > inputs.loc[1, "variance_share"] > 0
    # the contribution's spread over the training data, computed independently
    g0 = model.response_curves(grid=X).query("input == 0")["contribution"]
    assert inputs.loc[0, "contribution_std"] == pytest.approx(g0.std(ddof=0))
    text = " ".join(explanation.describe())
    assert "Switched off by the ℓ1 penalty: input 2." in text


def test_empty_network_is_said_in_words():
    X, y = _design()
    model = ConvexNetRegressor(depth=2, beta=1e6).fit(X, y)
    explanation = model.explain()
    assert explanation.is_empty and explanation.switched_off == [0, 1, 2]
    assert (explanation.curves["contribution"] == 0).all()
    assert explanation.inputs["variance_share"].isna().all()
    assert explanation.describe()[0].startswith("The network is empty")


def test_beta_path_tells_the_cross_validation():
    X, y = _design(n=80)
    model = ConvexNetRegressor(depth=3, beta="cv", cv=3, n_betas=6).fit(X, y)
    path = model.beta_path()
    assert list(path.columns) == ["beta", "beta_ratio", "mean_mse", "std_mse", "std_error",
                                  "n_neurons", "max_relative_gap", "chosen",
                                  "one_standard_error"]
    assert len(path) == 6 and path["beta"].is_monotonic_decreasing
    assert path["chosen"].sum() == 1 and path.loc[path["chosen"], "beta"].iloc[0] == model.beta_
    np.testing.assert_allclose(path["mean_mse"], model.cv_results_["mean_mse"])
    assert path["beta_ratio"].iloc[0] == 1.0 and path["n_neurons"].iloc[0] == 0
    assert path["n_neurons"].iloc[-1] > 0
    assert (path["max_relative_gap"] <= 1e-6).all()  # every path point certified
    one_se = ConvexNetRegressor(depth=3, beta="cv", cv=3, n_betas=6,
                                one_standard_error=True).fit(X, y)
    assert path.loc[path["one_standard_error"], "beta"].iloc[0] == one_se.beta_
    assert model.explain().beta_path.equals(path)
    with pytest.raises(ValueError, match="`beta_path` needs a fit with beta='cv'. Got beta=0.5"):
        ConvexNetRegressor(beta=0.5).fit(X, y).beta_path()


def test_cv_curve_is_unchanged_by_the_new_records():
    """Recording gaps and neuron counts leaves the CV scores and the choice bit-identical."""
    from convexforecast.core.path import cross_validate_beta

    X, y = _design(n=80)
    options = dict(depth=3, activation="relu", n_folds=3, n_betas=5)
    first, second = cross_validate_beta(X, y, **options), cross_validate_beta(X, y, **options)
    np.testing.assert_array_equal(first.fold_mse, second.fold_mse)
    assert first.fold_relative_gap.shape == first.fold_n_neurons.shape == (3, 5)
    assert first.fold_n_neurons.dtype.kind == "i"


def test_grid_checks_and_no_mutation():
    X, y = _design()
    model = ConvexNetRegressor(depth=2, beta=0.5).fit(X, y)
    grid = X[:5].copy()
    model.response_curves(grid=grid)
    np.testing.assert_array_equal(grid, X[:5])
    common = model.response_curves(grid=np.linspace(-1, 1, 7))  # one grid for every input
    assert len(common) == 21
    with pytest.raises(ValueError, match=r"`grid` must have one column per input \(3\)"):
        model.response_curves(grid=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="`grid` must contain only finite values"):
        model.response_curves(grid=np.array([[0.0, np.nan, 1.0]]))


def test_explanation_round_trips_through_json():
    X, y = _design(n=80)
    explanation = ConvexNetRegressor(depth=4, beta="cv", cv=3, n_betas=4).fit(X, y).explain()
    restored = Explanation.from_dict(json.loads(json.dumps(explanation.to_dict())))
    for name in ("curves", "kinks", "inputs", "certificate", "beta_path"):
        pd.testing.assert_frame_equal(getattr(restored, name), getattr(explanation, name),
                                      check_dtype=False)
    assert restored.rug.keys() == explanation.rug.keys() and restored.units == "x"
    with pytest.raises(ValueError, match="`state` is not an explanation"):
        Explanation.from_dict({"curves": {"columns": ["x"], "data": [[1.0]]}})
    with pytest.raises(ValueError, match="`explain state` must be a dict"):
        check_explain_state([1, 2])


# ------------------------------------------------------------------------ the forecaster
def _prices(n=300, seed=3):
    """A threshold AR process in log returns: the convex net finds structure in it."""
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    for t in range(2, n):
        r[t] = 0.6 * max(r[t - 1], 0.0) - 0.3 * r[t - 2] + rng.normal(0, 0.01)
    return pd.Series(100 * np.exp(np.cumsum(r)), index=pd.date_range("2020-01-01", periods=n))


@pytest.mark.parametrize("multistep", ["recursive", "direct"])
def test_forecaster_curves_are_on_the_user_scale_and_exact(multistep):
    y = _prices()
    model = ConvexARForecaster(lags=3, depth=3, beta=1.0, multistep=multistep, steps=2).fit(y)
    explanation = model.explain()
    assert model.input_names_ == ["lag_1", "lag_2", "lag_3"] == explanation.input_names
    z = get_transform("log_return").transform(y.to_numpy(), "y")
    X_train, _ = lag_matrix(z, 3, 1)
    X_new = np.random.default_rng(0).normal(0, 0.02, size=(30, 3))
    steps = [1, 2] if multistep == "direct" else [1]
    for points in (X_train, X_new):
        curves = model.response_curves(grid=points)
        expected = ["step"] * (multistep == "direct") + ["input", "x", "contribution",
                                                          "x_standardised"]
        assert list(curves.columns) == expected
        np.testing.assert_allclose(curves["x"], model.center_ + model.scale_
                                   * curves["x_standardised"], rtol=1e-12)
        for step in steps:
            part = curves[curves["step"] == step] if "step" in curves else curves
            intercept = explanation.certificate["intercept"].iloc[step - 1]
            total = intercept + _sum_of_curves(part, 3)
            network = model.models_[step - 1].predict((points - model.center_) / model.scale_)
            np.testing.assert_allclose(total, model.center_ + model.scale_ * network, rtol=0,
                                       atol=1e-10)
    # the one-step forecast from the last window is the sum of its curves
    window = z[::-1][:3][None, :]
    one = model.response_curves(grid=window)
    one = one[one["step"] == 1] if "step" in one else one
    forecast_z = explanation.certificate["intercept"].iloc[0] + one["contribution"].sum()
    level = float(y.iloc[-1] * np.exp(forecast_z))
    assert model.predict(1).iloc[0] == pytest.approx(level, rel=1e-12)


def test_forecaster_beta_path_and_loaded_models(tmp_path):
    y = _prices()
    model = ConvexARForecaster(lags=2, depth=2, beta="cv", cv=3, n_betas=5).fit(y)
    path = model.beta_path()
    assert len(path) == 5 and path.loc[path["chosen"], "beta"].iloc[0] == model.beta_
    save(model, tmp_path / "m")
    loaded = load(tmp_path / "m")
    with pytest.raises(ValueError, match="`explain` needs the training windows"):
        loaded.explain()
    with pytest.raises(ValueError, match="`beta_path` needs a fresh fit with beta='cv'"):
        loaded.beta_path()


# ------------------------------------------------------------------------ backtests
def test_backtest_keeps_every_certificate_and_the_last_explanation(tmp_path):
    y = _prices(160)
    models = {"convex": ConvexARForecaster(lags=2, depth=2, beta="cv", cv=3, n_betas=4),
              "naive": NaiveForecaster()}
    kwargs = dict(initial_train_size=120, steps=1, refit=10, show_progress=False)
    result = backtest(models, y, **kwargs)
    assert list(result.explanations) == ["convex"]
    explained = result.explanations["convex"]
    certificates = explained.certificates
    assert len(certificates) == result.timings.loc["convex", "n_fits"] == 4
    assert list(certificates["origin"]) == list(result.folds.groupby("block")["origin"].first())
    assert (certificates["relative_gap"] <= 1e-6).all()
    # the last refit, refitted by hand on the same window, explains itself identically
    last_origin = result.folds["origin"].iloc[-10]
    refit = ConvexARForecaster(**models["convex"].get_params()).fit(y.loc[:last_origin])
    pd.testing.assert_frame_equal(explained.last.curves, refit.explain().curves,
                                  check_dtype=False)
    assert certificates["beta"].iloc[-1] == refit.beta_

    # no leakage: data after the last origin change neither certificates nor explanation
    changed = y.copy()
    changed.iloc[-5:] *= 1.2
    other = backtest(models, changed, **kwargs).explanations["convex"]
    pd.testing.assert_frame_equal(other.certificates, certificates)
    pd.testing.assert_frame_equal(other.last.curves, explained.last.curves)

    # checkpoints carry them; a resumed run restores them
    first = backtest(models, y, checkpoint_dir=tmp_path, **kwargs)
    resumed = backtest(models, y, checkpoint_dir=tmp_path, **kwargs)
    pd.testing.assert_frame_equal(resumed.explanations["convex"].certificates,
                                  first.explanations["convex"].certificates)
    pd.testing.assert_frame_equal(resumed.explanations["convex"].last.kinks,
                                  first.explanations["convex"].last.kinks, check_dtype=False)


# ------------------------------------------------------------------------ pictures
def test_plots_return_figures_without_touching_pyplot():
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_hex

    from convexforecast.plotting import REFLECTION_COLOR, plot_cv_curve, plot_response_curves

    rc = dict(matplotlib.rcParams)
    open_figures = plt.get_fignums()
    X, y = _opt()
    fig = plot_response_curves(ConvexNetRegressor(depth=4, beta=1e-7).fit(X, y))
    assert isinstance(fig.canvas, FigureCanvasAgg)
    (ax,) = [a for a in fig.axes if a.get_visible()]
    reflections = [line for line in ax.get_lines() if line.get_marker() == "D"]
    assert to_hex(reflections[0].get_color()) == REFLECTION_COLOR
    np.testing.assert_allclose(reflections[0].get_xydata(), [[8.0, 3.0]])
    assert "reflection" in " ".join(t.get_text() for t in fig.legends[0].get_texts())

    Xd, yd = _design(n=80)
    model = ConvexNetRegressor(depth=3, beta="cv", cv=3, n_betas=6).fit(Xd, yd)
    curves = plot_response_curves(model.explain())
    assert [a.get_title() for a in curves.axes if a.get_visible()][2] == "input 2 (switched off)"
    cv = plot_cv_curve(model)
    path = model.beta_path()
    vertical = {line.get_linestyle(): line.get_xdata()[0] for line in cv.axes[0].get_lines()
                if len(line.get_xdata()) == 2 and len(set(line.get_xdata())) == 1}
    assert vertical["-"] == path.loc[path["chosen"], "beta"].iloc[0] == model.beta_
    assert vertical["--"] == path.loc[path["one_standard_error"], "beta"].iloc[0]
    assert len(cv.axes) == 2 and cv.axes[1].get_ylabel() == "neurons (median over folds)"
    assert plt.get_fignums() == open_figures and dict(matplotlib.rcParams) == rc
    with pytest.raises(ValueError, match="no β path"):
        plot_cv_curve(ConvexNetRegressor(beta=0.5).fit(Xd, yd).explain())
    with pytest.raises(ValueError, match="`step` must be one of"):
        plot_response_curves(model, step=2)
    with pytest.raises(TypeError, match="`explanation` must be an Explanation"):
        plot_response_curves([1, 2])


def test_many_series_keep_each_series_and_the_global_model_explained():
    rng = np.random.default_rng(7)
    index = pd.bdate_range("2021-01-04", periods=140)
    frame = pd.DataFrame({name: 100 * np.exp(np.cumsum(rng.normal(0, vol, 140)))
                          for name, vol in (("A", 0.01), ("B", 0.02))}, index=index)
    models = {"local": ConvexARForecaster(lags=2, beta="cv", cv=3, n_betas=4),
              "global": ConvexARForecaster(lags=2, beta="cv", cv=3, n_betas=4,
                                           global_model=True),
              "naive": NaiveForecaster()}
    result = backtest(models, frame, initial_train_size="2021-06-01", refit=20,
                      show_progress=False)
    local, pooled = result.explanations["local"], result.explanations["global"]
    assert local.last is None and list(local.by_series) == ["A", "B"]
    assert list(local.certificates["series"].unique()) == ["A", "B"]
    assert len(local.certificates) == result.timings.loc["local", "n_fits"]
    # each series' last refit, refitted by hand, explains itself identically
    last_origin = result.folds[result.folds["series"] == "B"].query("refit")["origin"].iloc[-1]
    refit = ConvexARForecaster(**models["local"].get_params()).fit(frame["B"].loc[:last_origin])
    pd.testing.assert_frame_equal(local.by_series["B"].curves, refit.explain().curves,
                                  check_dtype=False)
    # the global network's inputs are on its own standardised scale
    assert pooled.last is not None and not pooled.by_series
    assert set(pooled.certificates["series"]) == {"(pooled)"}
    assert pooled.last.units == "standardised log return"
    curves = pooled.last.curves
    np.testing.assert_array_equal(curves["x"], curves["x_standardised"])
