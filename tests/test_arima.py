"""ARIMAForecaster: order selection, cheap updates via ``extend``, fallbacks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.statespace.mlemodel import MLEResults

from convexforecast.forecasting.arima import ARIMAFallbackWarning, ARIMAForecaster


def ar2_prices(n: int = 250, seed: int = 0) -> pd.Series:
    """Log prices whose log returns are a stationary AR(2) (so the true order is (2, 1, 0))."""
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0.0, 1.0, n + 50)
    x = np.zeros(n + 50)
    for t in range(2, n + 50):
        x[t] = 0.6 * x[t - 1] - 0.3 * x[t - 2] + shocks[t]
    returns = 0.01 * x[50:] + 0.0005
    return pd.Series(50.0 * np.exp(np.cumsum(returns)),
                     index=pd.date_range("2020-01-01", periods=n, freq="D"), name="close")


def test_auto_recovers_the_simulated_order():
    y = ar2_prices()
    forecaster = ARIMAForecaster(order="auto", information_criterion="bic", max_q=2).fit(y)
    assert forecaster.order_ == (2, 1, 0)
    assert forecaster.trend_ == "c"  # a drift on log prices
    table = forecaster.search_results_
    assert list(table.columns) == ["p", "q", "bic", "ok"]
    assert len(table) == 4 * 3  # the full bounded grid
    best = table.loc[table["bic"].idxmin()]
    assert (best["p"], best["q"]) == (2, 0)
    # the AR coefficients are close to the simulated ones
    ar_params = forecaster.results_.params[1:3]
    np.testing.assert_allclose(ar_params, [0.6, -0.3], atol=0.15)


@pytest.mark.slow
def test_auto_with_aic_and_stepwise_is_sensible():
    y = ar2_prices()
    for search in ("grid", "stepwise"):
        forecaster = ARIMAForecaster(order="auto", search=search, max_q=2).fit(y)
        p, d, q = forecaster.order_
        assert d == 1 and p + q >= 1
        if search == "stepwise":
            assert len(forecaster.search_results_) <= 12


@pytest.mark.parametrize("test", ["kpss", "adf"])
def test_unit_root_test_chooses_d(test):
    rng = np.random.default_rng(1)
    noise = rng.normal(size=300)
    stationary = np.zeros(300)
    for t in range(1, 300):
        stationary[t] = 0.5 * stationary[t - 1] + noise[t]
    index = pd.RangeIndex(300)
    cases = {0: stationary, 1: np.cumsum(noise), 2: np.cumsum(np.cumsum(noise))}
    for expected_d, values in cases.items():
        forecaster = ARIMAForecaster(order="auto", transform="none", max_p=1, max_q=0,
                                     unit_root_test=test)
        forecaster.fit(pd.Series(values + 1000.0, index=index))
        assert forecaster.d_ == expected_d, (test, expected_d)


def test_update_uses_extend_with_fixed_parameters(monkeypatch):
    y = ar2_prices().iloc[:231]
    forecaster = ARIMAForecaster(order=(2, 1, 0)).fit(y.iloc[:200])
    fitted = forecaster.results_
    params = forecaster.params_.copy()

    def forbidden(*args, **kwargs):
        raise AssertionError("update must not re-filter the history with append")

    calls = []
    original_extend = MLEResults.extend

    def counting_extend(self, endog, *args, **kwargs):
        calls.append(len(endog))
        return original_extend(self, endog, *args, **kwargs)

    monkeypatch.setattr(MLEResults, "append", forbidden)
    monkeypatch.setattr(MLEResults, "extend", counting_extend)
    forecaster.update(y.iloc[200:230]).update(y.iloc[230:231])
    assert calls == [30, 1]
    np.testing.assert_array_equal(forecaster.params_, params)
    np.testing.assert_array_equal(forecaster.results_.params, params)
    assert forecaster.results_.nobs == 1  # extend holds only the new data, not the history

    # Same state as re-filtering the whole (differenced, scaled) history with fixed params.
    w = np.diff(np.log(y.to_numpy())) / forecaster.scale_
    assert fitted.nobs == 199
    refiltered = ARIMA(w, order=(2, 0, 0), trend="c").filter(params)
    np.testing.assert_allclose(forecaster.results_.forecast(5), refiltered.forecast(5),
                               rtol=1e-10, atol=1e-12)
    expected = y.iloc[-1] * np.exp(np.cumsum(refiltered.forecast(3) * forecaster.scale_))
    np.testing.assert_allclose(forecaster.predict(3).to_numpy(), expected, rtol=1e-10)


def test_in_sample_residuals_match_statsmodels():
    y = ar2_prices()
    forecaster = ARIMAForecaster(order=(1, 0, 1), transform="none").fit(y)
    residuals = forecaster.in_sample_residuals_
    np.testing.assert_allclose(residuals, forecaster.results_.resid * forecaster.scale_,
                               rtol=1e-9, atol=1e-9)
    differenced = ARIMAForecaster(order=(2, 1, 0)).fit(y)
    assert differenced.in_sample_residuals_.shape == (len(y) - 1,)
    assert np.abs(differenced.in_sample_residuals_).mean() < 0.05 * y.mean()


def test_trend_option():
    y = ar2_prices()
    with_drift = ARIMAForecaster(order=(1, 1, 0), trend="c").fit(y)
    without = ARIMAForecaster(order=(1, 1, 0), trend="n").fit(y)
    assert len(with_drift.params_) == len(without.params_) + 1
    assert "const" in with_drift.results_.param_names
    assert "const" not in without.results_.param_names
    assert ARIMAForecaster(order=(0, 2, 1)).fit(y).trend_ == "n"


def _failing_fit(fail_orders):
    original = ARIMA.fit

    def fit(self, *args, **kwargs):
        if fail_orders == "all" or tuple(self.order) in fail_orders:
            raise np.linalg.LinAlgError("Schur decomposition solver error.")
        return original(self, *args, **kwargs)

    return fit


def _non_converging_fit(fail_orders):
    original = ARIMA.fit

    def fit(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        if tuple(self.order) in fail_orders:
            warnings.warn("Maximum Likelihood optimization failed to converge.",
                          ConvergenceWarning, stacklevel=2)
        return result

    return fit


def test_fixed_order_failure_falls_back_to_white_noise_then_naive(monkeypatch):
    y = ar2_prices()
    monkeypatch.setattr(ARIMA, "fit", _non_converging_fit({(2, 0, 1)}))
    with pytest.warns(ARIMAFallbackWarning, match=r"ARIMA\(2, 1, 1\) failed.*converge"):
        forecaster = ARIMAForecaster(order=(2, 1, 1)).fit(y)
    assert forecaster.order_ == (0, 1, 0)
    assert "did not converge" in forecaster.fallback_
    drift_path = y.iloc[-1] * np.exp(np.cumsum(np.repeat(forecaster.results_.params[0]
                                                         * forecaster.scale_, 2)))
    np.testing.assert_allclose(forecaster.predict(2).to_numpy(), drift_path, rtol=1e-10)

    monkeypatch.setattr(ARIMA, "fit", _failing_fit("all"))
    with pytest.warns(ARIMAFallbackWarning) as record:
        naive = ARIMAForecaster(order=(2, 1, 1)).fit(y.iloc[:-3])
    messages = [str(w.message) for w in record]
    assert "falling back to ARIMA(0, 1, 0)" in messages[0]
    assert "falling back to the random walk" in messages[-1]
    assert naive.order_ is None and naive.results_ is None
    assert "LinAlgError" in naive.fallback_
    np.testing.assert_array_equal(naive.predict(3).to_numpy(), np.repeat(y.iloc[-4], 3))
    naive.update(y.iloc[-3:])  # the backtest keeps going
    np.testing.assert_array_equal(naive.predict(2).to_numpy(), np.repeat(y.iloc[-1], 2))


def test_auto_search_skips_failed_candidates(monkeypatch):
    y = ar2_prices()
    monkeypatch.setattr(ARIMA, "fit", _failing_fit({(2, 0, 0), (1, 0, 0)}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ARIMAFallbackWarning)  # no fallback needed
        forecaster = ARIMAForecaster(order="auto", max_q=1, information_criterion="bic").fit(y)
    table = forecaster.search_results_.set_index(["p", "q"])
    assert not table.loc[(2, 0), "ok"] and not table.loc[(1, 0), "ok"]
    assert np.isinf(table.loc[(2, 0), "bic"])
    assert forecaster.order_[::2] not in {(2, 0), (1, 0)}

    monkeypatch.setattr(ARIMA, "fit", _failing_fit("all"))
    with pytest.warns(ARIMAFallbackWarning, match="no ARMA"):
        forecaster = ARIMAForecaster(order="auto", max_p=1, max_q=1).fit(y)
    assert forecaster.order_ is None


def test_constant_series_does_not_crash():
    y = pd.Series(np.full(40, 7.0), index=pd.RangeIndex(40))
    with pytest.warns(ARIMAFallbackWarning):
        forecaster = ARIMAForecaster(order=(1, 0, 0)).fit(y)
    np.testing.assert_array_equal(forecaster.predict(2).to_numpy(), [7.0, 7.0])


def test_bad_alpha_and_order_type():
    with pytest.raises(ValueError, match=r"`unit_root_alpha` must be a number in \(0, 1\). "
                                         r"Got 1.5"):
        ARIMAForecaster(unit_root_alpha=1.5).fit(ar2_prices())
    with pytest.warns(FutureWarning, match="`alpha` is deprecated.*`unit_root_alpha`"):
        old = ARIMAForecaster(order="auto", max_p=1, max_q=0, alpha=0.2).fit(ar2_prices())
    new = ARIMAForecaster(order="auto", max_p=1, max_q=0, unit_root_alpha=0.2).fit(ar2_prices())
    assert old.order_ == new.order_
    with pytest.raises(ValueError, match=r"`order` must be 'auto' or a tuple .* Got \(1, 0\)"):
        ARIMAForecaster(order=(1, 0)).fit(ar2_prices())
