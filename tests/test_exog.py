"""Exogenous inputs: the contract over every forecaster, leakage, persistence, the response shape."""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from test_forecasters import FORECASTERS, make_prices

from convexforecast.forecasting.arima import ARIMAForecaster
from convexforecast.forecasting.backtest import backtest
from convexforecast.forecasting.baselines import (
    DriftForecaster,
    LinearARForecaster,
    NaiveForecaster,
)
from convexforecast.forecasting.checkpoints import CheckpointError
from convexforecast.forecasting.convex import ConvexARForecaster
from convexforecast.forecasting.exog import ExogError, ExogSpec
from convexforecast.forecasting.persistence import load, save

USES_EXOG = sorted(name for name, make in FORECASTERS.items() if make().supports_exog)
IGNORES_EXOG = sorted(set(FORECASTERS) - set(USES_EXOG))


def make_exog(y: pd.Series, seed: int = 1) -> pd.DataFrame:
    """A past-only driver (``market``), a positive ``volume`` and a calendar column ``dow``."""
    rng = np.random.default_rng(seed)
    n = len(y)
    market = np.zeros(n)
    for t in range(1, n):
        market[t] = 0.5 * market[t - 1] + rng.normal(0.0, 0.01)
    volume = np.exp(rng.normal(10.0, 0.3, n))
    dow = (np.arange(n) % 7).astype(float)
    return pd.DataFrame({"market": market, "volume": volume, "dow": dow}, index=y.index)


def with_exog(name: str, **params):
    """``FORECASTERS[name]()`` with exogenous parameters (``dow`` known in advance)."""
    params = {"known_exog": ["dow"], "exog_transform": {"volume": "log_return"}, **params}
    return FORECASTERS[name]().set_params(**params)


def n_steps(forecaster) -> int:
    """Steps one origin can forecast with a past-only column: the direct models' steps, else 1."""
    return forecaster.steps if getattr(forecaster, "multistep", "") == "direct" else 1


_FITTED: dict[str, object] = {}


def fitted(name: str):
    """A deep copy of ``with_exog(name)`` fitted on all but the last 6 observations."""
    if name not in _FITTED:
        y = make_prices()
        X = make_exog(y)
        _FITTED[name] = with_exog(name).fit(y.iloc[:-6], exog=X.iloc[:-6])
    return copy.deepcopy(_FITTED[name])


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(params=USES_EXOG)
def name(request) -> str:
    return request.param


# ------------------------------------------------------------------------ contract
def test_fit_predict_update_with_exog(name):
    y, X = make_prices(), make_exog(make_prices())
    forecaster = fitted(name)
    steps = n_steps(forecaster)
    future = X.iloc[-6: -6 + steps]
    forecast = forecaster.predict(steps, exog=future)
    assert forecast.index.equals(y.index[-6: -6 + steps])
    assert np.isfinite(forecast.to_numpy()).all()
    assert forecaster.exog_columns_ == ["market", "volume", "dow"]
    assert forecaster.input_names_[-3:] == ["market_lag_1", "volume_lag_1", "dow"]
    forecaster.update(y.iloc[-6:-4], exog=X.iloc[-6:-4])
    assert forecaster.cutoff_ == y.index[-5]
    np.testing.assert_array_equal(forecaster._exog.window,
                                  X.to_numpy()[-4 - forecaster._exog.spec.window: -4])
    moved = forecaster.predict(steps, exog=X.iloc[len(X) - 4: len(X) - 4 + steps])
    assert moved.index[0] == y.index[-4]


def test_update_extends_the_exogenous_window(name):
    """After update, the forecast conditions on the new exog rows: it equals the forecast of
    a copy whose window was built from the same rows, and moves with the value at the origin."""
    y, X = make_prices(), make_exog(make_prices())
    forecaster = fitted(name).update(y.iloc[-6:], exog=X.iloc[-6:])
    future = pd.DataFrame({"dow": [3.0]}, index=[y.index[-1] + pd.Timedelta(days=1)])
    base = forecaster.predict(1, exog=future).to_numpy()
    shocked = X.iloc[-6:].copy()
    shocked.iloc[-1, 0] += 0.05  # market at the new origin (lag 1)
    other = fitted(name).update(y.iloc[-6:], exog=shocked)
    changed = other.predict(1, exog=future).to_numpy()
    if hasattr(forecaster, "selected_features") and not any(
            forecaster.selected_features()["input"] == "market_lag_1"):
        np.testing.assert_array_equal(base, changed)  # the convex net set the input aside
    else:
        assert not np.array_equal(base, changed)


def test_exog_is_never_mutated(name):
    y = make_prices(index_kind="business")
    X = make_exog(y)
    original = X.copy(deep=True)
    forecaster = with_exog(name).fit(y.iloc[:-5], exog=X.iloc[:-5])
    forecaster.update(y.iloc[-5:-1], exog=X.iloc[-5:-1])
    forecaster.predict(1, exog=X.iloc[-1:])
    pd.testing.assert_frame_equal(X, original, check_exact=True)
    assert X.index.freq == original.index.freq


def test_deterministic_with_exog(name):
    y, X = make_prices(), make_exog(make_prices())
    first = with_exog(name).fit(y, exog=X)
    second = clone(first).fit(y, exog=X)
    future = make_exog(make_prices(n=80)).iloc[70:].set_axis(
        pd.date_range(y.index[-1], periods=11, freq="D")[1:])
    steps = n_steps(first)
    pd.testing.assert_series_equal(first.predict(steps, exog=future),
                                   second.predict(steps, exog=future), check_exact=True)


def test_fit_without_exog_is_unchanged(name):
    """Exogenous parameters do nothing without ``exog``: same forecasts as the defaults."""
    y = make_prices()
    plain = FORECASTERS[name]().fit(y)
    configured = with_exog(name).fit(y)
    steps = 4 if getattr(plain, "multistep", "") != "direct" else plain.steps
    pd.testing.assert_series_equal(plain.predict(steps), configured.predict(steps),
                                   check_exact=True)
    assert configured.exog_columns_ == []


@pytest.mark.parametrize("ignorer", IGNORES_EXOG)
def test_naive_baselines_ignore_exog(ignorer):
    y = make_prices()
    X = make_exog(y)
    X.iloc[3, 0] = np.nan  # not even looked at
    plain = FORECASTERS[ignorer]().fit(y.iloc[:-3])
    given = FORECASTERS[ignorer]().fit(y.iloc[:-3], exog=X.iloc[:-3])
    assert not given.supports_exog
    given.update(y.iloc[-3:], exog="ignored")
    plain.update(y.iloc[-3:])
    pd.testing.assert_series_equal(given.predict(3, exog=X), plain.predict(3), check_exact=True)


# ------------------------------------------------------------------------ bad input
def _bad_exog(kind: str, y: pd.Series, X: pd.DataFrame):
    """A bad ``exog`` for ``fit(y, exog)`` and the regex its error must match."""
    if kind == "short":
        return X.iloc[:-3], r"`exog` must have one row per observation of `y` \(70 rows.*Got 67"
    if kind == "misaligned":
        return X.set_axis(X.index + pd.Timedelta(days=1)), \
            r"`exog` must be indexed like `y`\. Got 2021-03-02.*row 0.*2021-03-01"
    if kind == "nan":
        X = X.copy()
        X.iloc[20, 1] = np.nan
        return X, r"`exog` column 'volume' must contain only finite.*nan at 2021-03-21"
    if kind == "inf":
        X = X.copy()
        X.iloc[30, 0] = -np.inf
        return X, r"`exog` column 'market'.*-inf at 2021-03-31"
    if kind == "non_numeric":
        X = X.astype({"dow": str})
        return X, r"`exog` column 'dow' must have a numeric dtype"
    if kind == "duplicate_columns":
        return X.set_axis(["market", "market", "dow"], axis=1), r"`exog` column names.*unique"
    if kind == "array":
        return X.to_numpy(), r"`exog` must be a pandas DataFrame or Series.*Got ndarray"
    if kind == "unknown_known":
        return X.drop(columns="dow"), r"`known_exog` names column\(s\) \['dow'\] that `exog` " \
                                      r"does not have"
    if kind == "non_positive":
        X = X.copy()
        X.iloc[12, 1] = 0.0
        return X, r"`exog` column 'volume' must be strictly positive for " \
                  r"exog_transform='log_return'\. Got 0\.0 at 2021-03-13"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["short", "misaligned", "nan", "inf", "non_numeric",
                                  "duplicate_columns", "array", "unknown_known", "non_positive"])
def test_bad_exog_at_fit_is_a_named_error(name, kind):
    y = make_prices()
    X, pattern = _bad_exog(kind, y, make_exog(y))
    error = TypeError if kind == "array" else ExogError
    with pytest.raises(error, match=pattern):
        with_exog(name).fit(y, exog=X)


def test_predict_needs_the_future_of_known_columns(name):
    X = make_exog(make_prices())
    forecaster = fitted(name)
    steps = n_steps(forecaster)
    with pytest.raises(ExogError, match=r"`exog` must give the future values of the "
                                        r"known-in-advance column\(s\) \['dow'\].*Got None"):
        forecaster.predict(steps)
    with pytest.raises(ExogError, match=r"`exog` must have the column\(s\) \['dow'\]"):
        forecaster.predict(steps, exog=X.iloc[-6:].drop(columns="dow"))
    with pytest.raises(ExogError, match=r"`exog` must start with the rows of the 1 step\(s\) "
                                        r"after the origin.*Got 1 row"):
        forecaster.predict(1, exog=X.iloc[-5:-4])  # one day late
    nan_future = X.iloc[-6:].copy()
    nan_future.iloc[0, 2] = np.nan
    with pytest.raises(ExogError, match=r"column 'dow' must contain only finite.*nan"):
        forecaster.predict(1, exog=nan_future)
    with pytest.raises(ExogError, match=r"`exog` has column\(s\) \['other'\] that the "
                                        r"forecaster does not use"):
        forecaster.predict(1, exog=X.iloc[-6:].assign(other=1.0))
    unknown_future = X.iloc[-6:].copy()
    unknown_future[["market", "volume"]] = np.nan  # past-only columns may be unknown there
    forecaster.predict(1, exog=unknown_future)


def test_update_needs_the_same_columns(name):
    y, X = make_prices(), make_exog(make_prices())
    forecaster = fitted(name)
    before = copy.deepcopy(forecaster._exog.window)
    with pytest.raises(ExogError, match=r"`exog` must give the values of \['market', 'volume', "
                                        r"'dow'\] at the new observations.*Got None"):
        forecaster.update(y.iloc[-6:])
    with pytest.raises(ExogError, match=r"`exog` must have the column\(s\) \['volume'\]"):
        forecaster.update(y.iloc[-6:], exog=X.iloc[-6:].drop(columns="volume"))
    with pytest.raises(ExogError, match=r"`exog` must have one row per observation.*Got 5"):
        forecaster.update(y.iloc[-6:], exog=X.iloc[-6:-1])
    assert forecaster.cutoff_ == y.index[-7]  # nothing moved
    np.testing.assert_array_equal(forecaster._exog.window, before)


def test_exog_only_where_fitted_with_it(name):
    y, X = make_prices(), make_exog(make_prices())
    forecaster = with_exog(name).fit(y.iloc[:-2])
    with pytest.raises(ExogError, match=r"`exog` must be None: this .* was fitted without"):
        forecaster.predict(1, exog=X.iloc[-2:])
    with pytest.raises(ExogError, match=r"`exog` must be None"):
        forecaster.update(y.iloc[-2:], exog=X.iloc[-2:])


@pytest.mark.parametrize("name", [n for n in USES_EXOG if "direct" not in n])
def test_one_step_models_refuse_steps_beyond_the_origin_of_past_only_columns(name):
    forecaster = fitted(name)
    X = make_exog(make_prices())
    with pytest.raises(ValueError, match=r"`steps` must be 1 for a one-step model with "
                                         r"past-only exogenous columns \['market', 'volume'\]"
                                         r".*multistep='direct'.*Got 3"):
        forecaster.predict(3, exog=X.iloc[-6:])


def test_one_step_models_with_only_known_columns_forecast_any_steps():
    y, X = make_prices(), make_exog(make_prices())
    for forecaster in (LinearARForecaster(lags=2, known_exog=["dow"]),
                       ARIMAForecaster(order=(1, 1, 0), known_exog=["dow"]),
                       ConvexARForecaster(lags=2, depth=2, beta=0.5, known_exog=["dow"])):
        forecaster.fit(y.iloc[:-5], exog=X[["dow"]].iloc[:-5])
        forecast = forecaster.predict(5, exog=X[["dow"]].iloc[-5:])
        assert forecast.index.equals(y.index[-5:])
        shifted = X[["dow"]].iloc[-5:] + np.r_[0, 0, 0, 0, 1.0][:, None]
        later = forecaster.predict(5, exog=shifted)
        np.testing.assert_array_equal(later.to_numpy()[:4], forecast.to_numpy()[:4])


@pytest.mark.parametrize("param, value, pattern", [
    ("exog_lags", 0, r"`exog_lags` must be an integer >= 1\. Got 0\."),
    ("exog_lags", {"market": 0}, r"`exog_lags\['market'\]` must be an integer >= 1\. Got 0\."),
    ("exog_lags", "2", r"`exog_lags` must be an integer >= 1\. Got '2'\."),
    ("known_exog", "dow", r"`known_exog` must be a list of column names or None\. Got 'dow'\."),
    ("known_exog", ["dow", "dow"], r"`known_exog` must hold unique.*Got \['dow', 'dow'\]"),
    ("exog_transform", "log", r"`exog_transform` must be one of \['none', 'diff', "
                              r"'log_return', 'standardize'\]\. Got 'log'\."),
    ("exog_transform", {"volume": "sqrt"}, r"`exog_transform\['volume'\]` must be one of"),
    ("exog_lags", {"dow": 2}, r"`exog_lags` must not give lags for known-in-advance columns.*"
                              r"\['dow'\]"),
])
def test_bad_exog_parameters(name, param, value, pattern):
    forecaster = with_exog(name, **{param: value})
    with pytest.raises(ValueError, match=pattern):
        forecaster.fit(make_prices())


def test_parameters_naming_absent_columns_are_refused():
    y, X = make_prices(), make_exog(make_prices())
    for params, argument in (({"exog_lags": {"spy": 2}}, "exog_lags"),
                             ({"exog_transform": {"spy": "diff"}}, "exog_transform")):
        with pytest.raises(ExogError, match=rf"`{argument}` names column\(s\) \['spy'\]"):
            LinearARForecaster(lags=2, **params).fit(y, exog=X)


def test_input_names_must_not_clash():
    y = make_prices()
    X = make_exog(y).rename(columns={"dow": "lag_1"})
    with pytest.raises(ExogError, match=r"must not clash.*Got \['lag_1'\]"):
        LinearARForecaster(lags=2, known_exog=["lag_1"]).fit(y, exog=X)


def test_too_short_for_the_exogenous_lags():
    y = make_prices()
    X = make_exog(y)[["market"]]
    forecaster = LinearARForecaster(lags=2, exog_lags=30)
    n = forecaster.min_train_size  # enough for the lags alone
    extra = 30 - forecaster.lags - 1  # exog lags 30 of the origin, y lags 2 of log returns
    with pytest.raises(ValueError, match=rf"`y` must have at least {n + extra} observations.*"
                                         rf"\{{'market': 30\}}\. Got {n}\."):
        forecaster.fit(y.iloc[:n], exog=X.iloc[:n])
    forecaster.fit(y.iloc[:n + extra], exog=X.iloc[:n + extra]).predict(1)


# ------------------------------------------------------------------------ the design
def test_arx_design_uses_the_exog_value_at_the_origin_as_lag_1():
    """LinearAR with exog is OLS on [1, z lags, x at the origin, x one earlier, dow at target]."""
    y = make_prices(n=120)
    X = make_exog(y)
    forecaster = LinearARForecaster(lags=2, exog_lags={"market": 2}, known_exog=["dow"],
                                    exog_transform={"volume": "standardize"})
    forecaster.fit(y, exog=X)
    z = np.diff(np.log(y.to_numpy()))
    m, v, d = (X[c].to_numpy() for c in ("market", "volume", "dow"))
    v = (v - v.mean()) / v.std()
    t = np.arange(3, 120)  # targets (level positions); lags of z end at t - 1, market at t - 1
    design = np.column_stack([np.ones(t.size), z[t - 2], z[t - 3], m[t - 1], m[t - 2],
                              v[t - 1], d[t]])
    solution = np.linalg.lstsq(design, z[t - 1], rcond=None)[0]
    np.testing.assert_allclose(forecaster.models_[0], solution, rtol=1e-9, atol=1e-12)
    assert forecaster.input_names_ == ["lag_1", "lag_2", "market_lag_1", "market_lag_2",
                                       "volume_lag_1", "dow"]
    future = pd.DataFrame({"dow": [5.0]}, index=[y.index[-1] + pd.Timedelta(days=1)])
    row = np.r_[1.0, z[-1], z[-2], m[-1], m[-2], v[-1], 5.0]
    expected = y.iloc[-1] * np.exp(row @ solution)
    assert forecaster.predict(1, exog=future).iloc[0] == pytest.approx(expected, rel=1e-10)


def test_direct_models_read_past_columns_at_the_origin_and_known_ones_at_the_target():
    y = make_prices(n=120)
    X = make_exog(y)
    forecaster = LinearARForecaster(lags=1, transform="none", multistep="direct", steps=3,
                                    known_exog=["dow"]).fit(y, exog=X[["market", "dow"]])
    values, m, d = y.to_numpy(), X["market"].to_numpy(), X["dow"].to_numpy()
    for h in (1, 2, 3):
        o = np.arange(0, 120 - h)  # origins
        design = np.column_stack([np.ones(o.size), values[o], m[o], d[o + h]])
        solution = np.linalg.lstsq(design, values[o + h], rcond=None)[0]
        np.testing.assert_allclose(forecaster.models_[h - 1], solution, rtol=1e-9, atol=1e-12)


def test_exog_transforms_are_fitted_on_the_training_window():
    y = make_prices(n=100)
    X = make_exog(y)
    spec = ExogSpec.resolve(["market", "volume", "dow"], 1, ["dow"],
                            {"market": "diff", "volume": "log_return", "dow": "standardize"})
    assert spec.known == (False, False, True)
    assert spec.first_origin == 1 and spec.window == 2
    forecaster = LinearARForecaster(lags=2, known_exog=["dow"], exog_transform={
        "market": "diff", "volume": "log_return", "dow": "standardize"}).fit(y.iloc[:80],
                                                                             exog=X.iloc[:80])
    state = forecaster._exog
    assert state.spec == spec
    dow = X["dow"].to_numpy()[:80]
    np.testing.assert_allclose(state.center, [0.0, 0.0, dow.mean()])
    np.testing.assert_allclose(state.scale, [1.0, 1.0, dow.std()])
    network = ConvexARForecaster(lags=2, depth=2, beta=0.5, exog_transform={
        "volume": "log_return"}).fit(y.iloc[:80], exog=X[["volume"]].iloc[:80])
    returns = np.diff(np.log(X["volume"].to_numpy()[:80]))
    np.testing.assert_allclose(network._exog.center, [returns.mean()])
    np.testing.assert_allclose(network._exog.scale, [returns.std()])


def test_arima_regression_matches_ols_without_arma_terms():
    """ARIMA(0, 0, 0) with a constant and exog is the linear regression of the series on them."""
    y = make_prices(n=200)
    X = make_exog(y)[["market"]]
    forecaster = ARIMAForecaster(order=(0, 0, 0), transform="log_return", trend="c")
    forecaster.fit(y, exog=X)
    z = np.diff(np.log(y.to_numpy()))
    m = X["market"].to_numpy()
    design = np.column_stack([np.ones(z.size), m[:-1]])  # z[i] is the return at i + 1
    ols = np.linalg.lstsq(design, z, rcond=None)[0]
    scale_z, scale_m = forecaster.scale_, forecaster._exog.scale[0]
    np.testing.assert_allclose(forecaster.params_[1] * scale_z / scale_m, ols[1], rtol=1e-3)
    future = forecaster.predict(1)
    expected = y.iloc[-1] * np.exp(ols[0] + ols[1] * m[-1])
    assert future.iloc[0] == pytest.approx(expected, rel=1e-5)
    assert forecaster.input_names_ == ["market_lag_1"]


# ------------------------------------------------------------------------ leakage
def _perturb_after(X: pd.DataFrame, position: int, columns=None) -> pd.DataFrame:
    out = X.copy()
    rng = np.random.default_rng(7)
    for column in columns or X.columns:
        j = out.columns.get_loc(column)
        out.iloc[position + 1:, j] = out.iloc[position + 1:, j] * (1 + rng.uniform(
            0.5, 2.0, len(out) - position - 1)) + 0.3
    return out


def test_future_values_of_past_only_columns_are_never_read(name):
    X = make_exog(make_prices())
    forecaster = fitted(name)
    steps = n_steps(forecaster)
    future = X.iloc[-6: -6 + steps]
    reference = forecaster.predict(steps, exog=future)
    perturbed = _perturb_after(X, len(X) - 7, ["market", "volume"]).iloc[-6: -6 + steps]
    pd.testing.assert_series_equal(forecaster.predict(steps, exog=perturbed), reference,
                                   check_exact=True)
    later_known = _perturb_after(X, len(X) - 7 + steps, ["dow"]).iloc[-6:]
    pd.testing.assert_series_equal(forecaster.predict(steps, exog=later_known), reference,
                                   check_exact=True)


BACKTEST_MODELS = {
    "convex": lambda: ConvexARForecaster(lags=2, depth=2, beta=0.5, known_exog=["dow"]),
    "convex_direct": lambda: ConvexARForecaster(lags=2, depth=2, beta=0.5, multistep="direct",
                                                steps=3, known_exog=["dow"],
                                                exog_transform={"volume": "log_return"}),
    "linear": lambda: LinearARForecaster(lags=2, known_exog=["dow"],
                                         exog_transform={"volume": "standardize"}),
    "arima": lambda: ARIMAForecaster(order=(1, 1, 0), known_exog=["dow"]),
    "naive": lambda: NaiveForecaster(),
}


@pytest.mark.parametrize("model", sorted(BACKTEST_MODELS))
def test_backtest_forecasts_do_not_see_exog_after_their_origin(model):
    y = make_prices(n=110)
    X = make_exog(y)
    steps = 3 if model == "convex_direct" else 1
    settings = dict(initial_train_size=70, steps=steps, refit=10, show_progress=False)
    forecaster = BACKTEST_MODELS[model]()
    original = X.copy(deep=True)
    reference = backtest({model: forecaster}, y, exog=X, **settings).predictions
    pd.testing.assert_frame_equal(X, original, check_exact=True)  # the caller's frame
    cut = 85
    past = backtest({model: forecaster}, y, exog=_perturb_after(X, cut, ["market", "volume"]),
                    **settings).predictions
    known = backtest({model: forecaster}, y, exog=_perturb_after(X, cut + steps, ["dow"]),
                     **settings).predictions
    early = reference["origin"] <= y.index[cut]
    assert early.sum() > 5
    for other in (past, known):
        np.testing.assert_array_equal(other.loc[early, "forecast"].to_numpy(),
                                      reference.loc[early, "forecast"].to_numpy())
    if model in ("linear", "arima"):  # the perturbation does reach the later forecasts
        # (the networks may set the perturbed inputs aside at this β)
        assert not np.array_equal(past["forecast"], reference["forecast"])


def test_backtest_checks_exog_before_running():
    y = make_prices(n=110)
    X = make_exog(y)
    with pytest.raises(ValueError, match=r"`gap` \+ `steps` must be <= 1 for forecaster 'ar' "
                                         r"with past-only exogenous columns.*Got 2"):
        backtest({"ar": LinearARForecaster(lags=2)}, y, exog=X, initial_train_size=70, steps=2,
                 show_progress=False)
    with pytest.raises(ExogError, match=r"`exog` must have one row per observation"):
        backtest({"ar": LinearARForecaster(lags=2)}, y, exog=X.iloc[:-1], initial_train_size=70,
                 show_progress=False)
    result = backtest({"ar": LinearARForecaster(lags=2, known_exog=["dow"]),
                       "drift": DriftForecaster()}, y, exog=X[["dow"]], initial_train_size=70,
                      steps=2, show_progress=False)
    assert result.config["exog"]["columns"] == ["dow"]
    assert result.config["exog"]["used_by"] == ["ar"]


def test_backtest_without_exog_ignores_exog_parameters():
    y = make_prices(n=100)
    settings = dict(initial_train_size=70, steps=1, refit=10, show_progress=False)
    plain = backtest({"c": ConvexARForecaster(lags=2, depth=2, beta=0.5)}, y, **settings)
    configured = backtest({"c": ConvexARForecaster(lags=2, depth=2, beta=0.5, exog_lags=3)}, y,
                          **settings)
    np.testing.assert_array_equal(plain.predictions["forecast"],
                                  configured.predictions["forecast"])
    assert "exog" not in plain.config


def test_checkpoints_are_tied_to_the_exog_data(tmp_path):
    y = make_prices(n=100)
    X = make_exog(y)
    settings = dict(initial_train_size=70, refit=10, show_progress=False,
                    checkpoint_dir=tmp_path)
    first = backtest({"ar": LinearARForecaster(lags=2)}, y, exog=X, **settings)
    again = backtest({"ar": LinearARForecaster(lags=2)}, y, exog=X, **settings)
    pd.testing.assert_frame_equal(first.predictions, again.predictions)
    with pytest.raises(CheckpointError, match=r"differs in \['exog'\]"):
        backtest({"ar": LinearARForecaster(lags=2)}, y, exog=X.assign(market=X["market"] * 2),
                 **settings)
    with pytest.raises(CheckpointError, match=r"differs in \['models'\]"):
        backtest({"ar": LinearARForecaster(lags=2, exog_lags=2)}, y, exog=X, **settings)


# ------------------------------------------------------------------------ persistence
def test_round_trip_with_exog(name, tmp_path):
    y, X = make_prices(), make_exog(make_prices())
    forecaster = fitted(name).update(y.iloc[-6:-4], exog=X.iloc[-6:-4])
    loaded = load(save(forecaster, tmp_path / "model.zip"))
    steps = n_steps(forecaster)
    future = X.iloc[len(X) - 4: len(X) - 4 + steps]
    pd.testing.assert_series_equal(loaded.predict(steps, exog=future),
                                   forecaster.predict(steps, exog=future), check_exact=True)
    assert loaded.input_names_ == forecaster.input_names_
    forecaster.update(y.iloc[-4:-1], exog=X.iloc[-4:-1])
    loaded.update(y.iloc[-4:-1], exog=X.iloc[-4:-1])
    future = X.iloc[-1:]
    pd.testing.assert_series_equal(loaded.predict(1, exog=future),
                                   forecaster.predict(1, exog=future), check_exact=True)
    with pytest.raises(ExogError, match=r"`exog` must have the column\(s\) \['market'\]"):
        loaded.update(y.iloc[-1:], exog=X.iloc[-1:].rename(columns={"market": "spy"}))
    with pytest.raises(ExogError, match=r"`exog` has column\(s\) \['spy'\]"):
        loaded.predict(1, exog=future.assign(spy=1.0))


def test_saved_exog_state_must_match_the_parameters(tmp_path):
    import json

    from convexforecast.forecasting.persistence import ModelFileError, _checksum

    forecaster = fitted("linear_ar")
    path = save(forecaster, tmp_path / "model")
    document = json.loads((path / "forecaster.json").read_text())
    document["params"]["known_exog"] = None  # dow would then be past-only
    document["checksum"] = _checksum(document, (path / "arrays.npz").read_bytes())
    (path / "forecaster.json").write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match=r"`state\['exog'\]` must match the parameters"):
        load(path)


# ------------------------------------------------------------------------ it works
def _tanh_data(n: int = 400, seed: int = 0) -> tuple[pd.Series, pd.DataFrame]:
    """``y_t = tanh(3 x_{t-1}) + 0.1 e_t`` with ``x`` an AR(1) of unit variance."""
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = 0.6 * x[t - 1] + 0.8 * rng.standard_normal()
    y = np.r_[0.0, np.tanh(3 * x[:-1])] + 0.1 * rng.standard_normal(n)
    index = pd.RangeIndex(n)
    return pd.Series(y, index=index, name="y"), pd.DataFrame({"x": x}, index=index)


def test_convex_net_learns_a_lagged_nonlinear_driver():
    y, X = _tanh_data()
    params = dict(lags=2, depth=3, beta="cv", cv=3, n_betas=8, transform="none")
    settings = dict(initial_train_size=300, steps=1, refit=25, show_progress=False)
    result = backtest({"with": ConvexARForecaster(**params), "naive": NaiveForecaster()}, y,
                      exog=X, **settings)
    without = backtest({"without": ConvexARForecaster(**params)}, y, **settings)
    rmse_with = result.metrics.loc["with", "rmse"]
    rmse_without = without.metrics.loc["without", "rmse"]
    assert rmse_with < 0.2 < 0.7 < rmse_without  # noise sd 0.1; sd of tanh(3x) ~ 0.8

    forecaster = ConvexARForecaster(**params).fit(y.iloc[:300], exog=X.iloc[:300])
    model = forecaster.models_[0]
    j = forecaster.input_names_.index("x_lag_1")
    grid = np.linspace(-1.5, 1.5, 61)  # x on its own scale (sd 1)
    standardized = (grid - forecaster._exog.center[0]) / forecaster._exog.scale[0]
    response = sum(c * f(standardized) for f, i, c in zip(model.features, model.inputs,
                                                          model.coef, strict=True) if i == j)
    response = np.asarray(response) * forecaster.scale_  # on the scale of y
    truth = np.tanh(3 * grid)
    error = response - np.mean(response - truth) - truth  # up to the intercept
    assert np.sqrt(np.mean(error ** 2)) < 0.1  # the l1 penalty flattens the steep middle a bit
    assert np.max(np.abs(error[np.abs(grid) >= 1])) < 0.1  # the saturation at -1 and 1
    assert np.corrcoef(response, truth)[0, 1] > 0.99
    assert np.all(np.diff(response) >= -1e-9)  # increasing, like tanh
    selected = forecaster.selected_features()
    assert "x_lag_1" in set(selected["input"])
    assert set(selected.loc[selected["input"] == "x_lag_1", "lag"]) == {1}


def test_forecasts_match_the_documented_message_vocabulary():
    """Every ExogError names `exog` (or the parameter) in backticks and shows a `Got`."""
    y, X = make_prices(), make_exog(make_prices())
    forecaster = LinearARForecaster(lags=2, known_exog=["dow"]).fit(y, exog=X)
    with pytest.raises(ExogError) as info:
        forecaster.predict(1)
    assert re.search(r"^`exog` .*Got None\.$", str(info.value))
