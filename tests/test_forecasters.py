"""Contract tests run over every forecaster, plus model-specific checks."""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from convexforecast.forecasting.arima import ARIMAForecaster
from convexforecast.forecasting.baselines import (
    DriftForecaster,
    LinearARForecaster,
    NaiveForecaster,
)
from convexforecast.forecasting.convex import ConvexARForecaster
from convexforecast.forecasting.neural import AdamNetForecaster
from convexforecast.forecasting.windows import lag_matrix

# Small, fast configurations of every forecaster (id -> factory).
FORECASTERS = {
    "naive": lambda: NaiveForecaster(),
    "naive_seasonal": lambda: NaiveForecaster(seasonal_period=5),
    "drift": lambda: DriftForecaster(),
    "drift_log": lambda: DriftForecaster(transform="log"),
    "linear_ar": lambda: LinearARForecaster(lags=3),
    "linear_ar_direct": lambda: LinearARForecaster(lags=3, transform="diff", multistep="direct",
                                                  steps=4),
    "arima": lambda: ARIMAForecaster(order=(1, 1, 0)),
    "arima_auto": lambda: ARIMAForecaster(order="auto", max_p=1, max_q=1, max_d=1),
    "convex": lambda: ConvexARForecaster(lags=3, depth=2, beta=0.5),
    "convex_depth3_cv": lambda: ConvexARForecaster(lags=2, depth=3, beta="cv", cv=2, n_betas=3),
    "convex_direct": lambda: ConvexARForecaster(lags=2, depth=2, beta=0.5, transform="log",
                                                multistep="direct", steps=4),
    "adam": lambda: AdamNetForecaster(lags=3, depth=2, beta=0.5, epochs=30, width=3),
}

# (parameter, invalid value) pairs each forecaster must reject with a ValueError.
BAD_OPTIONS = {
    "naive": [("seasonal_period", 0), ("seasonal_period", "weekly")],
    "naive_seasonal": [("seasonal_period", -2)],
    "drift": [("transform", "log_return"), ("transform", "bogus")],
    "drift_log": [("transform", "sqrt")],
    "linear_ar": [("transform", "bogus"), ("multistep", "multioutput"), ("lags", 0)],
    "linear_ar_direct": [("steps", 0)],
    "arima": [("order", (1, -1, 0)), ("order", "best"), ("trend", "ct"),
              ("information_criterion", "hqic"), ("transform", "boxcox")],
    "arima_auto": [("unit_root_test", "pp"), ("search", "random"), ("method", "css"),
                   ("screen", 0), ("reselect_every", 0)],
    "convex": [("transform", "bogus"), ("multistep", "multioutput"), ("beta", "auto"),
               ("beta", -1.0), ("activation", "tanh"), ("depth", 1), ("lags", 0)],
    "convex_depth3_cv": [("cv", 1), ("n_betas", 0), ("depth", 5), ("warm_start", "yes")],
    "convex_direct": [("steps", 0), ("solver", "magic"), ("beta", 0.0),
                      ("negative_slope", 2.0), ("one_standard_error", "yes")],
    "adam": [("activation", "sign"), ("transform", "bogus"), ("epochs", 0), ("lr", -1.0),
             ("beta", "auto")],
}

N_OBS = 70


def make_prices(n: int = N_OBS, index_kind: str = "daily", seed: int = 0) -> pd.Series:
    """A positive price path whose log returns follow an AR(1)."""
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0.0, 0.01, n)
    returns = np.zeros(n)
    for t in range(1, n):
        returns[t] = 0.4 * returns[t - 1] + shocks[t]
    values = 100.0 * np.exp(np.cumsum(returns + 0.0005))
    if index_kind == "daily":
        index = pd.date_range("2021-03-01", periods=n, freq="D")
    elif index_kind == "business":
        index = pd.bdate_range("2021-03-01", periods=n)
    elif index_kind == "range":
        index = pd.RangeIndex(n)
    else:
        raise AssertionError(index_kind)
    return pd.Series(values, index=index, name="price")


def expected_future(index: pd.Index, steps: int) -> pd.Index:
    """The next ``steps`` labels, computed independently of the library."""
    if isinstance(index, pd.RangeIndex):
        return pd.RangeIndex(index[-1] + 1, index[-1] + 1 + steps)
    freq = pd.infer_freq(index)
    return pd.date_range(index[-1], periods=steps + 1, freq=freq)[1:]


_FITTED: dict[tuple[str, str, int], object] = {}


def fitted(name: str, index_kind: str = "daily", drop_last: int = 0):
    """A fresh deep copy of ``FORECASTERS[name]()`` fitted on ``make_prices(index_kind)``
    without its last ``drop_last`` observations (each configuration is fitted once)."""
    key = (name, index_kind, drop_last)
    if key not in _FITTED:
        y = make_prices(index_kind=index_kind)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITTED[key] = FORECASTERS[name]().fit(y.iloc[: len(y) - drop_last])
    return copy.deepcopy(_FITTED[key])


def steps_for(forecaster) -> int:
    return getattr(forecaster, "steps", 4) if getattr(forecaster, "multistep", "") == "direct" \
        else 4


@pytest.fixture(params=sorted(FORECASTERS))
def name(request) -> str:
    return request.param


@pytest.fixture(autouse=True)
def _quiet_fallbacks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ----------------------------------------------------------------- contract
@pytest.mark.parametrize("index_kind", ["daily", "business", "range"])
def test_fit_predict_shape_and_index(name, index_kind):
    y = make_prices(index_kind=index_kind)
    forecaster = fitted(name, index_kind)
    steps = steps_for(forecaster)
    forecast = forecaster.predict(steps)
    assert isinstance(forecast, pd.Series)
    assert forecast.shape == (steps,)
    assert forecast.index.equals(expected_future(y.index, steps))
    assert forecast.name == "price"
    assert np.all(np.isfinite(forecast.to_numpy()))
    assert forecaster.predict(1).index[0] == expected_future(y.index, 1)[0]
    # forecasts stay on the price scale (within a wide band of the last level)
    assert np.all(np.abs(np.log(forecast.to_numpy() / y.iloc[-1])) < 0.5)


def test_deterministic(name):
    y = make_prices()
    first = FORECASTERS[name]().fit(y)
    second = clone(first).fit(y)
    steps = steps_for(first)
    pd.testing.assert_series_equal(first.predict(steps), second.predict(steps), check_exact=True)


def test_does_not_mutate_input(name):
    y = make_prices(index_kind="business")
    original = y.copy(deep=True)
    freq_before = y.index.freq
    forecaster = FORECASTERS[name]().fit(y.iloc[:-5])
    pd.testing.assert_series_equal(y, original, check_exact=True)
    new = y.iloc[-5:]
    forecaster.update(new)
    forecaster.predict(steps_for(forecaster))
    pd.testing.assert_series_equal(y, original, check_exact=True)
    assert y.index.freq == freq_before
    assert new.index.equals(original.index[-5:])


def test_update_moves_origin_without_refitting(name):
    y = make_prices()
    forecaster = fitted(name, drop_last=6)
    meta_before, arrays_before = forecaster.get_fitted_state()
    forecaster.update(y.iloc[-6:-2]).update(y.iloc[-2:])
    meta_after, arrays_after = forecaster.get_fitted_state()
    assert forecaster.cutoff_ == y.index[-1]
    assert forecaster.n_obs_ == len(y)
    assert forecaster.n_train_ == len(y) - 6
    steps = steps_for(forecaster)
    assert forecaster.predict(steps).index.equals(expected_future(y.index, steps))
    window = forecaster.last_window_
    assert len(window) == forecaster.window_length
    pd.testing.assert_series_equal(window, y.iloc[-forecaster.window_length:], check_freq=False,
                                   check_exact=True)
    # parameters are untouched: the model part of the state is identical
    assert meta_after["model"] == meta_before["model"]
    for key, value in arrays_before.items():
        if key.startswith("model__") and key != "model__endog":  # ARIMA keeps its history
            np.testing.assert_array_equal(arrays_after[key], value)


def test_update_equals_fit_then_window_for_lag_models():
    y = make_prices()
    fitted = LinearARForecaster(lags=3).fit(y.iloc[:-10]).update(y.iloc[-10:])
    # The same parameters conditioned on the last window, computed by hand:
    z = np.diff(np.log(y.to_numpy()))
    design = np.r_[1.0, z[::-1][:3]]
    expected = y.iloc[-1] * np.exp(design @ fitted.models_[0])
    assert fitted.predict(1).iloc[0] == pytest.approx(expected, rel=1e-12)


def test_update_rejects_gaps_and_overlaps(name):
    y = make_prices()
    forecaster = fitted(name, drop_last=5)
    with pytest.raises(ValueError, match=r"`y_new`.*Got 2021-05-06.*2021-05-05"):
        forecaster.update(y.iloc[-4:])  # skips one day
    with pytest.raises(ValueError, match=r"`y_new`"):
        forecaster.update(y.iloc[-6:])  # overlaps the last observation
    assert forecaster.cutoff_ == y.index[-6]


def test_last_window_and_residuals(name):
    y = make_prices(index_kind="range")
    forecaster = fitted(name, "range")
    window = forecaster.last_window_
    np.testing.assert_array_equal(window.to_numpy(), y.to_numpy()[-forecaster.window_length:])
    assert window.index.equals(y.index[-forecaster.window_length:])
    residuals = forecaster.in_sample_residuals_
    assert residuals is not None
    assert residuals.ndim == 1 and 0 < residuals.size < len(y)
    assert np.all(np.isfinite(residuals))


def test_fits_on_exactly_min_train_size(name):
    forecaster = FORECASTERS[name]()
    y = make_prices(n=forecaster.min_train_size)
    forecast = forecaster.fit(y).predict(steps_for(forecaster))
    assert np.all(np.isfinite(forecast.to_numpy()))


def test_clone_and_params(name):
    forecaster = fitted(name)
    fresh = clone(forecaster)
    assert fresh.get_params() == forecaster.get_params()
    with pytest.raises(NotFittedError, match="not fitted"):
        fresh.predict(1)
    with pytest.raises(NotFittedError):
        fresh.last_window_  # noqa: B018


# ---------------------------------------------------------------- bad input
def _bad_series(kind: str, forecaster) -> tuple[pd.Series, str]:
    """A bad ``y`` and a regex the error message must match (argument and value)."""
    y = make_prices()
    if kind == "nan":
        y.iloc[20] = np.nan
        return y, r"`y`.*nan.*2021-03-21"
    if kind == "inf":
        y.iloc[30] = np.inf
        return y, r"`y`.*inf.*2021-03-31"
    if kind == "unsorted":
        order = list(range(len(y)))
        order[10], order[11] = order[11], order[10]
        return y.iloc[order], r"`y`.*sorted.*2021-03-11.*2021-03-12"
    if kind == "duplicate":
        return pd.concat([y.iloc[:15], y.iloc[14:]]), r"`y`.*duplicate.*2021-03-15"
    if kind == "too_short":
        n = forecaster.min_train_size - 1
        return y.iloc[:n], rf"`y`.*at least {n + 1}.*Got {n}\."
    if kind == "non_numeric":  # dtype object on pandas 2, str on pandas 3
        text = y.astype(str)
        return text, rf"`y`.*numeric.*Got dtype {re.escape(str(text.dtype))}\."
    if kind == "irregular":
        return y.drop(y.index[25]), r"`y`.*frequency.*2021-03-27"
    if kind == "non_positive":
        y.iloc[40] = -1.0
        return y, r"`y`.*positive.*-1\.0"
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["nan", "inf", "unsorted", "duplicate", "too_short", "non_numeric", "irregular"]
)
def test_bad_y_raises_value_error_naming_argument_and_value(name, kind):
    forecaster = FORECASTERS[name]()
    y, pattern = _bad_series(kind, forecaster)
    with pytest.raises(ValueError, match=pattern):
        forecaster.fit(y)


def test_non_positive_prices_with_log_transform():
    for forecaster in (ConvexARForecaster(lags=2, depth=2, beta=0.5),
                       LinearARForecaster(lags=2, transform="log"), ARIMAForecaster(),
                       DriftForecaster(transform="log")):
        y, pattern = _bad_series("non_positive", forecaster)
        with pytest.raises(ValueError, match=pattern):
            forecaster.fit(y)
    fitted = LinearARForecaster(lags=2).fit(make_prices().iloc[:-1])
    bad_new = make_prices().iloc[-1:] * -1
    with pytest.raises(ValueError, match=r"`y_new`.*positive"):
        fitted.update(bad_new)


def test_bad_steps(name):
    forecaster = fitted(name)
    for steps in (0, -3, 1.5, "2", True, None):
        message = re.escape(f"`steps` must be an integer >= 1. Got {steps!r}.")
        with pytest.raises(ValueError, match=message):
            forecaster.predict(steps)


def test_unknown_options(name):
    for param, value in BAD_OPTIONS[name]:
        forecaster = FORECASTERS[name]().set_params(**{param: value})
        with pytest.raises(ValueError, match=rf"`{param}`.*{re.escape(repr(value))}"):
            forecaster.fit(make_prices())


def test_direct_strategy_limits_steps():
    forecaster = LinearARForecaster(lags=2, multistep="direct", steps=3).fit(make_prices())
    with pytest.raises(ValueError, match=r"`steps` must be <= 3, .*multistep='direct'.*Got 4"):
        forecaster.predict(4)


def test_wrong_types():
    with pytest.raises(TypeError, match="`y`.*DataFrame"):
        NaiveForecaster().fit(make_prices().to_frame())
    with pytest.raises(TypeError, match="`y`.*Index of dtype float64"):
        NaiveForecaster().fit(pd.Series([1.0, 2.0, 3.0], index=[0.5, 1.5, 2.5]))


# ----------------------------------------------------- index support details
def test_period_index_and_integer_step_and_timezone():
    values = make_prices(n=30).to_numpy()
    monthly = pd.Series(values, index=pd.period_range("2000-01", periods=30, freq="M"))
    forecast = LinearARForecaster(lags=2).fit(monthly).predict(3)
    assert forecast.index.equals(pd.period_range("2002-07", periods=3, freq="M"))

    stepped = pd.Series(values, index=pd.Index(np.arange(10, 70, 2)))
    forecast = NaiveForecaster().fit(stepped).predict(2)
    assert list(forecast.index) == [70, 72]

    hourly = pd.Series(values, index=pd.date_range("2022-01-01", periods=30, freq="h",
                                                   tz="Europe/Zurich"))
    forecaster = DriftForecaster().fit(hourly.iloc[:-3]).update(hourly.iloc[-3:])
    forecast = forecaster.predict(2)
    assert forecast.index.equals(pd.date_range(hourly.index[-1], periods=3, freq="h")[1:])
    assert str(forecast.index.tz) == "Europe/Zurich"

    coarse = pd.Series(values, index=pd.date_range("2022-01-01", periods=30).as_unit("s"))
    forecaster = NaiveForecaster().fit(coarse.iloc[:-2]).update(coarse.iloc[-2:])
    assert forecaster.predict(1).index[0] == pd.Timestamp("2022-01-31")


def test_numpy_input_gets_a_range_index():
    values = make_prices().to_numpy()
    forecast = NaiveForecaster().fit(values).predict(2)
    assert list(forecast.index) == [len(values), len(values) + 1]
    assert forecast.iloc[0] == values[-1]


# ---------------------------------------------------------- model specifics
def test_naive_and_drift_hand_values():
    y = pd.Series([1.0, 2.0, 4.0, 3.0, 5.0, 6.0, 8.0], index=pd.RangeIndex(7))
    np.testing.assert_array_equal(NaiveForecaster().fit(y).predict(3), [8.0, 8.0, 8.0])
    np.testing.assert_array_equal(NaiveForecaster(seasonal_period=3).fit(y).predict(5),
                                  [5.0, 6.0, 8.0, 5.0, 6.0])
    drift = DriftForecaster().fit(y)
    assert drift.drift_ == pytest.approx(7.0 / 6.0)
    np.testing.assert_allclose(drift.predict(2), [8.0 + 7 / 6, 8.0 + 14 / 6])
    log_drift = DriftForecaster(transform="log").fit(y)
    np.testing.assert_allclose(log_drift.predict(1), [8.0 * 8.0 ** (1 / 6)])


def test_linear_ar_matches_statsmodels_autoreg():
    from statsmodels.tsa.ar_model import AutoReg

    y = make_prices(n=200)
    forecaster = LinearARForecaster(lags=3).fit(y)
    z = np.diff(np.log(y.to_numpy()))
    reference = AutoReg(z, lags=3, trend="c").fit()
    np.testing.assert_allclose(forecaster.intercept_, reference.params[0], rtol=1e-8)
    np.testing.assert_allclose(forecaster.coef_, reference.params[1:], rtol=1e-8)
    z_path = reference.predict(start=len(z), end=len(z) + 2)
    np.testing.assert_allclose(forecaster.predict(3), y.iloc[-1] * np.exp(np.cumsum(z_path)),
                               rtol=1e-10)


def test_linear_ar_direct_step_models_are_horizon_regressions():
    y = make_prices(n=120)
    forecaster = LinearARForecaster(lags=2, transform="none", multistep="direct",
                                    steps=3).fit(y)
    values = y.to_numpy()
    for h in (1, 2, 3):
        X, target = lag_matrix(values, 2, h)
        design = np.column_stack([np.ones(len(X)), X])
        solution = np.linalg.lstsq(design, target, rcond=None)[0]
        np.testing.assert_allclose(forecaster.models_[h - 1], solution, rtol=1e-10)
    expected = [forecaster.models_[h] @ np.r_[1.0, values[-1], values[-2]] for h in range(3)]
    np.testing.assert_allclose(forecaster.predict(3), expected, rtol=1e-12)


def _series_for_convex(n: int = 90) -> pd.Series:
    return make_prices(n=n, seed=3)


def test_convex_matches_its_regressor_and_network():
    y = _series_for_convex()
    forecaster = ConvexARForecaster(lags=3, depth=3, beta=0.5).fit(y)
    regressor = forecaster.regressors_[0]
    z = np.diff(np.log(y.to_numpy()))
    zs = (z - forecaster.center_) / forecaster.scale_
    X, target = lag_matrix(zs, 3)
    own = forecaster.models_[0].predict(X)
    np.testing.assert_allclose(own, regressor.predict(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(forecaster.to_network().predict(X), own, rtol=1e-8, atol=1e-10)
    assert forecaster.objective_ == pytest.approx(regressor.objective_)
    assert forecaster.duality_gap_ == pytest.approx(regressor.duality_gap_)
    assert forecaster.beta_ == pytest.approx(0.5)
    # one-step forecast = the network applied to the last standardised lags
    expected = y.iloc[-1] * np.exp(
        forecaster.to_network().predict(zs[::-1][:3].reshape(1, 3))[0] * forecaster.scale_
        + forecaster.center_
    )
    assert forecaster.predict(1).iloc[0] == pytest.approx(expected, rel=1e-10)


def test_convex_selected_features_per_lag():
    y = _series_for_convex()
    forecaster = ConvexARForecaster(lags=3, depth=3, beta=0.2).fit(y)
    table = forecaster.selected_features()
    assert list(table.columns) == ["step", "input", "lag", "kind", "direction", "kinks",
                                   "kinks_standardized", "reflected", "is_reflection", "coef"]
    assert len(table) == forecaster.n_neurons_ > 0
    assert set(table["lag"]) <= {1, 2, 3}
    assert (table["input"] == "lag_" + table["lag"].astype(str)).all()
    assert (table["step"] == 1).all()
    assert table["lag"].is_monotonic_increasing
    model = forecaster.models_[0]
    assert sorted(table["coef"]) == sorted(model.coef.tolist())
    for kinks, standardized in zip(table["kinks"], table["kinks_standardized"], strict=True):
        np.testing.assert_allclose(
            kinks, np.asarray(standardized) * forecaster.scale_ + forecaster.center_)
    assert table["reflected"].map(len).equals(table["kinks"].map(len))


def test_convex_direct_has_one_model_per_step():
    y = _series_for_convex()
    forecaster = ConvexARForecaster(lags=2, depth=2, beta=0.5, multistep="direct",
                                    steps=3).fit(y)
    assert len(forecaster.models_) == 3
    assert forecaster.duality_gap_ == max(forecaster.duality_gaps_)
    assert forecaster.objective_ == pytest.approx(sum(forecaster.objectives_))
    assert set(forecaster.selected_features()["step"]) <= {1, 2, 3}
    with pytest.raises(ValueError, match=r"`step` must be <= 3.*Got 4"):
        forecaster.to_network(step=4)


def test_convex_cv_chooses_beta_on_training_data():
    y = _series_for_convex()
    forecaster = ConvexARForecaster(lags=2, depth=2, beta="cv", cv=3, n_betas=4).fit(y)
    assert forecaster.beta_ > 0
    assert forecaster.cv_results_ is not None


def test_convex_warm_start_refits_are_deterministic_and_cloned_cold():
    y = _series_for_convex(130)
    params = dict(lags=2, depth=3, beta="cv", cv=3, n_betas=6)

    def refits(model):
        out = []
        for n in (90, 110, 130):
            model.fit(y.iloc[:n])
            out.append((model.beta_, model.objective_, model.predict(3).to_numpy()))
        return out

    warm = refits(ConvexARForecaster(**params, warm_start=True))
    again = refits(ConvexARForecaster(**params, warm_start=True))
    cold = refits(ConvexARForecaster(**params))
    assert any(model[1] > 0 for model in cold)
    for (b_w, o_w, p_w), (b_a, o_a, p_a), (b_c, o_c, p_c) in zip(warm, again, cold, strict=True):
        assert (b_w, o_w) == (b_a, o_a) and np.array_equal(p_w, p_a)  # bit-identical reruns
        assert b_w == b_c and o_w == pytest.approx(o_c, rel=2e-6)
        np.testing.assert_allclose(p_w, p_c, rtol=1e-6)
    # a clone (as in backtest) carries no warm-start state: its fit is a cold fit
    model = ConvexARForecaster(**params, warm_start=True).fit(y.iloc[:90])
    copy_fit = clone(model).fit(y)
    cold_fit = ConvexARForecaster(**params, warm_start=True).fit(y)
    assert copy_fit.objective_ == cold_fit.objective_
    np.testing.assert_array_equal(copy_fit.predict(3), cold_fit.predict(3))


def test_adam_same_objective_as_convex_at_the_cv_beta():
    y = _series_for_convex()
    adam = AdamNetForecaster(lags=2, depth=2, beta="cv", cv=3, n_betas=4, epochs=300,
                             width=8).fit(y)
    convex = ConvexARForecaster(lags=2, depth=2, beta="cv", cv=3, n_betas=4).fit(y)
    assert adam.beta_ == pytest.approx(convex.beta_)
    assert adam.convex_objective_ == pytest.approx(convex.objective_)
    # The certified convex optimum is a lower bound for the Adam objective.
    assert adam.objective_ >= convex.objective_ * (1 - 1e-6)
    zs = (np.diff(np.log(y.to_numpy())) - adam.center_) / adam.scale_
    X, target = lag_matrix(zs, 2)
    assert adam.to_network().objective(X, target) == pytest.approx(adam.objective_)
    assert adam.objective_history_[-1] == pytest.approx(adam.objective_)
    assert adam.objective_history_[-1] < adam.objective_history_[0]


def test_adam_seed_changes_the_network():
    y = _series_for_convex()
    first = AdamNetForecaster(lags=2, depth=2, beta=0.5, epochs=20, width=3, seed=0).fit(y)
    second = AdamNetForecaster(lags=2, depth=2, beta=0.5, epochs=20, width=3, seed=1).fit(y)
    assert not np.array_equal(first.predict(2).to_numpy(), second.predict(2).to_numpy())


def test_adam_without_torch_raises_a_clear_import_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    message = r"PyTorch is required.*pip install convexforecast\[torch\]"
    with pytest.raises(ImportError, match=message):
        AdamNetForecaster(lags=2, depth=2, beta=0.5, epochs=5, width=2).fit(make_prices())


def test_convex_step_model_vectorised_evaluation_matches_features():
    from convexforecast.core.features import Feature
    from convexforecast.forecasting.convex import _ConvexStepModel

    features = [
        Feature("ramp", (0.2,), "relu", 2, 1),
        Feature("ramp", (-0.4,), "relu", 2, -1),
        Feature("ramp", (0.1,), "leaky_relu", 2, -1, negative_slope=0.05),
        Feature("capped_ramp", (-0.3, 0.6), "relu", 3, 1),
        Feature("abs", (0.25,), "abs", 2),
        Feature("folded_abs", (-0.5, 0.1, 0.7), "abs", 3),
        Feature("step", (0.0,), "sign", 2, 1),
        Feature("step", (-0.2, 0.3), "threshold", 3, -1),
    ]
    inputs = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    coef = np.array([0.5, -1.25, 2.0, 0.75, -0.3, 1.1, 0.4, -0.9])
    model = _ConvexStepModel(features, inputs, coef, intercept=0.125, beta=1.0, objective=0.0,
                             duality_gap=0.0)
    X = np.random.default_rng(5).uniform(-1.0, 1.0, size=(200, 3))
    X[:4] = [[0.2, -0.4, 0.1], [-0.3, 0.6, 0.7], [0.0, -0.2, 0.1], [0.25, 0.3, -0.5]]  # at kinks
    loop = 0.125 + sum(c * f(X[:, j]) for f, j, c in zip(features, inputs, coef, strict=True))
    np.testing.assert_allclose(model.predict(X), loop, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name", ["convex", "adam"])
def test_neural_models_reject_constant_series(name):
    y = pd.Series(np.full(40, 5.0), index=pd.RangeIndex(40))
    message = r"`y` must vary.*transform='log_return'.*Got the constant 0\.0"
    with pytest.raises(ValueError, match=message):
        FORECASTERS[name]().fit(y)


# ------------------------------------------- datetime resolution and string dtypes
UNITS = ["ns", "us", "ms", "s"]


@pytest.mark.parametrize("unit", UNITS)
def test_forecasts_do_not_depend_on_the_index_unit(name, unit):
    """pandas 2 makes ns indexes, pandas 3 us (or s/ms from numpy): same forecasts, same labels."""
    y = make_prices(index_kind="business")
    reference = fitted(name, "business")
    forecaster = FORECASTERS[name]().fit(y.set_axis(y.index.as_unit(unit)))
    steps = steps_for(forecaster)
    forecast = forecaster.predict(steps)
    expected = reference.predict(steps)
    np.testing.assert_array_equal(forecast.to_numpy(), expected.to_numpy())
    assert list(forecast.index) == list(expected.index)
    # an update indexed in another resolution continues the grid all the same
    later = pd.Series(y.iloc[-3:].to_numpy(), index=expected_future(y.index, 3).as_unit("ns"))
    forecaster.update(later)
    assert forecaster.cutoff_ == later.index[-1]


@pytest.mark.parametrize("unit", UNITS)
def test_index_errors_name_the_right_labels_in_every_unit(unit):
    y = make_prices()
    y = y.set_axis(y.index.as_unit(unit))
    with pytest.raises(ValueError, match=r"frequency.*spacing first changes at 2021-03-27"):
        NaiveForecaster().fit(y.drop(y.index[25]))
    order = list(range(len(y)))
    order[10], order[11] = order[11], order[10]
    with pytest.raises(ValueError, match=r"sorted.*Got 2021-03-11.*after 2021-03-12"):
        NaiveForecaster().fit(y.iloc[order])


@pytest.mark.parametrize("dtype", ["str", "string", "object"])
def test_text_values_are_refused_whatever_the_string_dtype(dtype):
    y = make_prices().astype(str).astype(dtype)
    with pytest.raises(ValueError, match=rf"`y` must have a numeric dtype\. Got dtype "
                                         rf"{re.escape(str(y.dtype))}\."):
        LinearARForecaster(lags=2).fit(y)
