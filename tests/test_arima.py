"""ARIMAForecaster: order selection, cheap updates via ``extend``, fallbacks."""

from __future__ import annotations

import re
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
    assert list(table.columns) == ["p", "q", "bic", "ok", "screen_bic"]
    assert len(table) == 4 * 3  # the full bounded grid, screened
    assert table["ok"].sum() == 3  # the three best by screening were fitted
    best = table.loc[table["bic"].idxmin()]
    assert (best["p"], best["q"]) == (2, 0)
    unscreened = ARIMAForecaster(order="auto", information_criterion="bic", max_q=2,
                                 screen=None).fit(y)
    assert unscreened.order_ == (2, 1, 0)
    assert unscreened.search_results_["ok"].all() and len(unscreened.search_results_) == 12
    assert unscreened.search_results_["screen_bic"].isna().all()
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
        forecaster = ARIMAForecaster(order="auto", max_q=1, information_criterion="bic",
                                     screen=None).fit(y)
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


# ------------------------------------------------------------------ screened order search


@pytest.mark.parametrize(("criterion", "trend"), [("aic", "c"), ("bic", "n")])
def test_screen_values_are_hannan_rissanen_criteria(criterion, trend):
    """The shared-first-stage screen equals statsmodels' Hannan-Rissanen (no bias correction)
    candidate by candidate, scored by the exact likelihood."""
    from statsmodels.tsa.arima.estimators.hannan_rissanen import hannan_rissanen
    from statsmodels.tsa.innovations.arma_innovations import arma_loglike

    from convexforecast.forecasting.arima import _screen_criteria

    rng = np.random.default_rng(0)
    e = rng.normal(size=600)
    x = np.zeros(600)
    for t in range(2, 600):
        x[t] = 0.5 * x[t - 1] - 0.2 * x[t - 2] + e[t] + 0.4 * e[t - 1]
    x += 0.3
    grid = [(p, q) for p in range(4) for q in range(4)]
    values = _screen_criteria(x, grid, trend, criterion)
    series = x - x.mean() if trend == "c" else x
    n_initial = int(np.floor(np.log(600) ** 2))
    penalty = 2.0 if criterion == "aic" else np.log(600)
    for p, q in grid:
        estimates, _ = hannan_rissanen(series, ar_order=p, ma_order=q, demean=False,
                                       initial_ar_order=n_initial, unbiased=False)
        llf = arma_loglike(series, estimates.ar_params, estimates.ma_params, estimates.sigma2)
        expected = -2 * llf + penalty * (p + q + 1 + (trend == "c"))
        assert values[(p, q)] == pytest.approx(expected, rel=1e-10), (p, q)
    assert _screen_criteria(x[:30], grid, trend, criterion) is None  # too short: no screen


def test_screened_search_fits_the_best_screened_candidates():
    y = ar2_prices(400, seed=3)
    forecaster = ARIMAForecaster(order="auto", screen=3).fit(y)
    table = forecaster.search_results_.set_index(["p", "q"])
    assert len(table) == 16
    finalists = table.sort_values("screen_aic").index[:3]
    assert table["ok"].sum() == 3 and table.loc[finalists, "ok"].all()
    assert table.loc[~table.index.isin(finalists), "aic"].isna().all()
    assert forecaster.order_[::2] == table["aic"].idxmin()
    # its AIC is that of the fixed-order fit
    fixed = ARIMAForecaster(order=forecaster.order_).fit(y)
    assert fixed.results_.aic == table["aic"].min()
    np.testing.assert_array_equal(fixed.predict(3).to_numpy(), forecaster.predict(3).to_numpy())

    # screen >= grid size fits everything: the unscreened search
    everything = ARIMAForecaster(order="auto", screen=16).fit(y)
    unscreened = ARIMAForecaster(order="auto", screen=None).fit(y)
    pd.testing.assert_frame_equal(everything.search_results_, unscreened.search_results_)
    assert table.loc[finalists, "aic"].tolist() == unscreened.search_results_.set_index(
        ["p", "q"]).loc[finalists, "aic"].tolist()


def test_screened_search_continues_when_the_finalists_fail(monkeypatch):
    y = ar2_prices(400, seed=3)
    ranked = (ARIMAForecaster(order="auto", screen=2).fit(y).search_results_
              .sort_values(["screen_aic", "p", "q"])[["p", "q"]].to_numpy())
    failing = {(int(p), 0, int(q)) for p, q in ranked[:2]}
    monkeypatch.setattr(ARIMA, "fit", _failing_fit(failing))
    forecaster = ARIMAForecaster(order="auto", screen=2).fit(y)
    table = forecaster.search_results_.set_index(["p", "q"])
    assert forecaster.order_[::2] == tuple(ranked[2])  # the next one by screening
    assert np.isinf(table.loc[tuple(ranked[0]), "aic"]) and not table.loc[tuple(ranked[0]), "ok"]
    assert table["ok"].sum() == 1


# ----------------------------------------------------------------- order re-use on refits


def _count_searches(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = ARIMAForecaster._search

    def counting(self, endog, *args):
        calls.append(endog.size)
        return original(self, endog, *args)

    monkeypatch.setattr(ARIMAForecaster, "_search", counting)
    return calls


def test_refits_reuse_the_order_and_search_every_reselect_every_fits(monkeypatch):
    y = ar2_prices(300, seed=1)  # d = 1 on every window used
    calls = _count_searches(monkeypatch)
    forecaster = ARIMAForecaster(order="auto", max_q=2, reselect_every=3)
    pattern = []
    for end in (200, 210, 220, 230, 240, 250, 300):
        forecaster.fit(y.iloc[:end])
        pattern.append((forecaster.searched_, forecaster.fits_since_search_))
        if not forecaster.searched_:
            # a re-used order is re-estimated exactly like a fixed-order fit on the new data
            fixed = ARIMAForecaster(order=forecaster.order_).fit(y.iloc[:end])
            np.testing.assert_array_equal(fixed.params_, forecaster.params_)
            pd.testing.assert_series_equal(fixed.predict(4), forecaster.predict(4),
                                           check_exact=True)
            assert forecaster.search_results_ is not None  # the search that chose the order
    assert pattern == [(True, 0), (False, 1), (False, 2), (True, 0), (False, 1), (False, 2),
                       (True, 0)]
    assert calls == [199, 229, 299]  # differenced observations of the searching fits


def test_updates_between_refits_and_sliding_windows_count_as_the_same_series(monkeypatch):
    y = ar2_prices(300, seed=1)  # d = 1 on every window used
    calls = _count_searches(monkeypatch)
    forecaster = ARIMAForecaster(order="auto", max_q=2).fit(y.iloc[:200])
    forecaster.update(y.iloc[200:215])
    forecaster.fit(y.iloc[:220])  # contains the last update
    assert not forecaster.searched_
    forecaster.fit(y.iloc[50:240])  # a sliding window
    assert not forecaster.searched_ and forecaster.fits_since_search_ == 2
    assert len(calls) == 1


def test_reselect_every_one_searches_every_fit_like_a_fresh_forecaster(monkeypatch):
    y = ar2_prices(300, seed=1)  # d = 1 on every window used
    forecaster = ARIMAForecaster(order="auto", max_q=2, reselect_every=1)
    forecaster.fit(y.iloc[:200])
    calls = _count_searches(monkeypatch)
    for end in (230, 260):
        forecaster.fit(y.iloc[:end])
        fresh = ARIMAForecaster(order="auto", max_q=2, reselect_every=1).fit(y.iloc[:end])
        assert forecaster.searched_ and forecaster.fits_since_search_ == 0
        assert forecaster.order_ == fresh.order_
        np.testing.assert_array_equal(forecaster.params_, fresh.params_)
        pd.testing.assert_frame_equal(forecaster.search_results_, fresh.search_results_)
        pd.testing.assert_series_equal(forecaster.predict(5), fresh.predict(5), check_exact=True)
    assert len(calls) == 4


def test_search_runs_again_when_d_settings_series_or_fit_change(monkeypatch):
    y = ar2_prices(300, seed=1)  # d = 1 on every window used

    def refit(forecaster, data):
        forecaster.fit(data)
        return forecaster.searched_

    forecaster = ARIMAForecaster(order="auto", max_q=2).fit(y.iloc[:200])
    # another series (same index, different values) or a window without the last observation
    other = pd.Series(y.to_numpy()[::-1], index=y.index)
    assert refit(forecaster, other.iloc[:220])
    assert refit(forecaster, y.iloc[:220])
    assert refit(forecaster, y.iloc[:150])  # ends before the last observation seen
    assert not refit(forecaster, y.iloc[:180])  # contains it again (sliding back is allowed)

    # a changed search setting
    forecaster.set_params(information_criterion="bic")
    assert refit(forecaster, y.iloc[:230])
    assert not refit(forecaster, y.iloc[:240])

    # the unit-root test chooses another d
    original = ARIMAForecaster._choose_d
    monkeypatch.setattr(ARIMAForecaster, "_choose_d", lambda self, z: 2)
    assert refit(forecaster, y.iloc[:250]) and forecaster.d_ == 2
    monkeypatch.setattr(ARIMAForecaster, "_choose_d", original)
    assert refit(forecaster, y.iloc[:260]) and forecaster.d_ == 1

    # the re-used order fails to fit on the new data
    p, _, q = forecaster.order_
    monkeypatch.setattr(ARIMA, "fit", _failing_fit({(p, 0, q)}))
    assert refit(forecaster, y.iloc[:270])
    assert forecaster.order_ != (p, 1, q)

    # a fixed order carries no order memory
    fixed = ARIMAForecaster(order=(1, 1, 0)).fit(y.iloc[:200])
    assert fixed.searched_ is None and fixed.fits_since_search_ is None


def test_order_memory_survives_save_and_load(tmp_path):
    from convexforecast.forecasting.persistence import load, save

    y = ar2_prices(300, seed=1)  # d = 1 on every window used
    forecaster = ARIMAForecaster(order="auto", max_q=2, reselect_every=3).fit(y.iloc[:200])
    forecaster.fit(y.iloc[:220])
    loaded = load(save(forecaster, tmp_path / "arima"))
    assert (loaded.searched_, loaded.fits_since_search_) == (False, 1)
    pd.testing.assert_frame_equal(loaded.search_results_, forecaster.search_results_)
    for end in (240, 260):  # re-use, then the scheduled search, in both
        forecaster.fit(y.iloc[:end])
        loaded.fit(y.iloc[:end])
        assert loaded.searched_ == forecaster.searched_ == (end == 260)
        pd.testing.assert_series_equal(loaded.predict(3), forecaster.predict(3), check_exact=True)


def test_backtest_with_reselect_every_one_does_not_depend_on_refits_per_task():
    from convexforecast.forecasting.backtest import backtest

    y = ar2_prices(260, seed=1)
    kwargs = dict(initial_train_size=200, steps=1, refit=10, n_jobs=1, show_progress=False)
    model = ARIMAForecaster(order="auto", max_p=1, max_q=1, reselect_every=1)
    one = backtest(model, y, refits_per_task=1, **kwargs).predictions
    chained = backtest(model, y, refits_per_task=6, **kwargs).predictions
    pd.testing.assert_frame_equal(one, chained)


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("screen", 0, "`screen` must be an integer >= 1 or None. Got 0."),
        ("screen", 2.5, "`screen` must be an integer >= 1 or None. Got 2.5."),
        ("screen", True, "`screen` must be an integer >= 1 or None. Got True."),
        ("reselect_every", 0, "`reselect_every` must be an integer >= 1. Got 0."),
        ("reselect_every", None, "`reselect_every` must be an integer >= 1. Got None."),
        ("reselect_every", "weekly", "`reselect_every` must be an integer >= 1. Got 'weekly'."),
    ],
)
def test_bad_screen_and_reselect_every(param, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ARIMAForecaster(order="auto", **{param: value}).fit(ar2_prices())
