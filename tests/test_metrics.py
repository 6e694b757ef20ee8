"""Metrics against hand-computed values and the Diebold–Mariano test against references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from convexforecast.forecasting import metrics as M

ACTUAL = np.array([1.0, 2.0, 4.0])
FORECAST = np.array([2.0, 2.0, 2.0])  # errors -1, 0, 2


def test_point_metrics_hand_computed():
    assert M.mae(ACTUAL, FORECAST) == pytest.approx(1.0)
    assert M.rmse(ACTUAL, FORECAST) == pytest.approx(math.sqrt(5 / 3))
    # |e|/|a| = 1, 0, 0.5
    assert M.mape(ACTUAL, FORECAST) == pytest.approx(50.0)
    # 2|e|/(|a|+|f|) = 2/3, 0, 4/6
    assert M.smape(ACTUAL, FORECAST) == pytest.approx(100 * (2 / 3 + 0 + 2 / 3) / 3)


def test_smape_zero_zero_term_and_mape_zero_actual():
    assert M.smape([0.0, 1.0], [0.0, 3.0]) == pytest.approx(100 * (0 + 1.0) / 2)
    with pytest.warns(RuntimeWarning, match="zeros"):
        assert math.isnan(M.mape([0.0, 1.0], [1.0, 1.0]))


def test_inputs_are_not_modified():
    a, f = ACTUAL.copy(), FORECAST.copy()
    M.rmse(a, f)
    M.smape(a, f)
    np.testing.assert_array_equal(a, ACTUAL)
    np.testing.assert_array_equal(f, FORECAST)


def test_naive_scale_and_mase_hand_computed():
    y_train = [1.0, 3.0, 2.0, 5.0]
    assert M.naive_scale(y_train) == pytest.approx((2 + 1 + 3) / 3)
    assert M.naive_scale(y_train, seasonal_period=2) == pytest.approx((1 + 2) / 2)
    with pytest.warns(FutureWarning, match="`m` is deprecated"):
        assert M.naive_scale(y_train, m=2) == pytest.approx((1 + 2) / 2)
    # errors 1 and 2 -> MAE 1.5; scale 2
    assert M.mase([6.0, 7.0], [5.0, 9.0], y_train) == pytest.approx(0.75)
    assert M.mase([6.0, 7.0], [5.0, 9.0], scale=[1.0, 4.0]) == pytest.approx((1 / 1 + 2 / 4) / 2)
    with pytest.warns(RuntimeWarning):
        assert M.mase([1.0], [2.0], [3.0, 3.0, 3.0]) == math.inf


def test_mase_argument_errors():
    with pytest.raises(ValueError, match="`y_train`"):
        M.mase([1.0], [1.0])
    with pytest.raises(ValueError, match="`y_train`"):
        M.mase([1.0], [1.0], [1.0, 2.0], scale=1.0)
    with pytest.raises(ValueError, match=r"`y_train` must have more than `seasonal_period` = 3"):
        M.naive_scale([1.0, 2.0, 3.0], seasonal_period=3)
    with pytest.raises(ValueError, match=r"`seasonal_period` must be an integer >= 1. Got 0"):
        M.naive_scale([1.0, 2.0], seasonal_period=0)
    with pytest.raises(ValueError, match=r"`m` is the deprecated name of `seasonal_period`"):
        M.naive_scale([1.0, 2.0, 3.0], seasonal_period=2, m=2)


def test_directional_accuracy_hand_computed():
    last = [10.0, 10.0, 10.0, 10.0]
    actual = [11.0, 9.0, 10.0, 12.0]  # up, down, flat, up
    forecast = [12.0, 8.0, 11.0, 9.0]  # up, down, up, down
    assert M.directional_accuracy(actual, forecast, last) == pytest.approx(0.5)
    res = M.directional_accuracy_test(actual, forecast, last)
    assert (res.n_hits, res.n) == (2, 4)
    assert res.pvalue == pytest.approx(1.0)


def test_flat_forecasts_call_no_direction():
    last = [100.0] * 4
    actual = [101.0, 99.0, 102.0, 98.0]
    flat = M.directional_accuracy_test(actual, last, last)
    assert flat.n == 0 and np.isnan(flat.accuracy) and np.isnan(flat.pvalue)
    mixed = M.directional_accuracy_test(actual, [100.0, 98.0, 101.0, 100.0], last)
    assert (mixed.n_hits, mixed.n) == (2, 2)
    assert M.directional_accuracy(actual, [100.0, 98.0, 101.0, 100.0], last) == 1.0


def test_directional_binomial_pvalue_hand_computed():
    last = np.zeros(10)
    actual = np.ones(10)
    forecast = np.r_[np.ones(9), -1.0]  # 9 hits out of 10
    res = M.directional_accuracy_test(actual, forecast, last)
    assert res.accuracy == pytest.approx(0.9)
    # P(X >= 9) = (10 + 1) / 1024, doubled for the symmetric two-sided test
    assert res.pvalue == pytest.approx(2 * 11 / 1024)
    greater = M.directional_accuracy_test(actual, forecast, last, alternative="greater")
    assert greater.pvalue == pytest.approx(11 / 1024)
    with pytest.raises(ValueError, match="`alternative`"):
        M.directional_accuracy_test(actual, forecast, last, alternative="bigger")


def test_interval_metrics_hand_computed():
    actual = [1.0, 5.0, 10.0]
    lower = [0.0, 0.0, 0.0]
    upper = [2.0, 4.0, 12.0]
    assert M.coverage(actual, lower, upper) == pytest.approx(2 / 3)
    assert M.mean_interval_width(lower, upper) == pytest.approx(6.0)
    # widths 2, 4, 12; the miss of 1 above the upper bound costs 2/0.2 * 1 = 10
    assert M.interval_score(actual, lower, upper, 0.8) == pytest.approx((2 + 14 + 12) / 3)
    with pytest.raises(ValueError, match="`lower` must be <= `upper`"):
        M.coverage([1.0], [2.0], [1.0])
    with pytest.raises(ValueError, match="`level`"):
        M.interval_score(actual, lower, upper, 1.5)


def test_length_mismatch_names_arguments():
    with pytest.raises(ValueError, match="`actual` and `forecast`"):
        M.mae([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="`actual` must contain only finite values"):
        M.rmse([np.nan, 1.0], [1.0, 1.0])


# ------------------------------------------------------------------ Diebold–Mariano
E_A = np.array([1.0, -2.0, 3.0, 0.0, 1.0])
E_B = np.array([0.5, 1.0, -1.0, 1.0, 0.5])


def test_dm_hand_computed_step_by_step():
    # squared-loss differential d = e_a^2 - e_b^2
    #   = [0.75, 3, 8, -1, 0.75], mean 2.3, centred [-1.55, 0.7, 5.7, -3.3, -1.55]
    # gamma_0 = (2.4025 + 0.49 + 32.49 + 10.89 + 2.4025) / 5 = 9.735
    # gamma_1 = (0.7*-1.55 + 5.7*0.7 + -3.3*5.7 + -1.55*-3.3) / 5 = -10.79 / 5 = -2.158
    # long-run variance (h = 2): 9.735 + 2 * -2.158 = 5.419
    # DM = 2.3 / sqrt(5.419 / 5); HLN factor sqrt((5 + 1 - 4 + 2/5) / 5) = sqrt(0.48)
    expected = 2.3 / math.sqrt(5.419 / 5) * math.sqrt(0.48)
    res = M.diebold_mariano(E_A, E_B, horizon=2)
    assert res.statistic == pytest.approx(expected, rel=1e-12)
    assert res.statistic == pytest.approx(1.530643, abs=1e-6)
    assert res.pvalue == pytest.approx(2 * stats.t.sf(expected, df=4), rel=1e-10)
    assert res.mean_loss_difference == pytest.approx(2.3)
    assert (res.n, res.horizon) == (5, 2)


def test_dm_absolute_loss_hand_computed():
    # d = |e_a| - |e_b| = [0.5, 1, 2, -1, 0.5], mean 0.6, centred [-0.1, 0.4, 1.4, -1.6, -0.1]
    # gamma_0 = (0.01 + 0.16 + 1.96 + 2.56 + 0.01) / 5 = 0.94; h = 1 -> HLN factor sqrt(4/5)
    expected = 0.6 / math.sqrt(0.94 / 5) * math.sqrt(4 / 5)
    res = M.diebold_mariano(E_A, E_B, loss="absolute")
    assert res.statistic == pytest.approx(expected, rel=1e-12)


def test_dm_horizon_one_equals_one_sample_t_test():
    rng = np.random.default_rng(3)
    ea, eb = rng.normal(size=40), rng.normal(scale=1.3, size=40)
    res = M.diebold_mariano(ea, eb, horizon=1)
    ref = stats.ttest_1samp(ea**2 - eb**2, 0.0)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-10)
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-8)


@pytest.mark.parametrize("horizon", [2, 3, 5])
def test_dm_matches_statsmodels_hac_with_uniform_kernel(horizon):
    rng = np.random.default_rng(horizon)
    n = 60
    ea = np.convolve(rng.normal(size=n + horizon), np.ones(horizon), "valid")[:n]
    eb = 0.9 * ea + rng.normal(scale=0.8, size=n)
    d = ea**2 - eb**2
    fit = sm.OLS(d, np.ones((n, 1))).fit(
        cov_type="HAC",
        cov_kwds={"maxlags": horizon - 1, "kernel": "uniform", "use_correction": False},
    )
    raw = fit.params[0] / fit.bse[0]
    hln = math.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    res = M.diebold_mariano(ea, eb, horizon=horizon)
    assert res.statistic == pytest.approx(raw * hln, rel=1e-9)
    assert res.pvalue == pytest.approx(2 * stats.t.sf(abs(raw * hln), df=n - 1), rel=1e-8)


def test_dm_one_sided_pvalues_and_symmetry():
    rng = np.random.default_rng(0)
    ea, eb = rng.normal(size=30), rng.normal(scale=2.0, size=30)
    less = M.diebold_mariano(ea, eb, alternative="less")
    greater = M.diebold_mariano(ea, eb, alternative="greater")
    swapped = M.diebold_mariano(eb, ea)
    assert less.statistic < 0
    assert less.pvalue + greater.pvalue == pytest.approx(1.0)
    assert swapped.statistic == pytest.approx(-less.statistic)


def test_dm_precomputed_losses():
    res = M.diebold_mariano(E_A**2, E_B**2, horizon=2, loss="precomputed")
    assert res.statistic == pytest.approx(M.diebold_mariano(E_A, E_B, horizon=2).statistic)


def test_dm_nonpositive_variance_falls_back_to_horizon_one():
    ea = np.array([2.0, 0.0, 2.0, 0.0, 2.0, 0.0, 2.0, 0.1])
    eb = np.ones(8)
    with pytest.warns(RuntimeWarning, match="falling back to horizon 1"):
        res = M.diebold_mariano(ea, eb, horizon=2)
    assert res.horizon == 1
    assert res.statistic == pytest.approx(M.diebold_mariano(ea, eb).statistic)


def test_dm_bad_input():
    with pytest.raises(ValueError, match=r"`loss` must be one of .* Got 'huber'"):
        M.diebold_mariano(E_A, E_B, loss="huber")
    with pytest.raises(ValueError, match=r"`horizon` must be an integer >= 1. Got 0"):
        M.diebold_mariano(E_A, E_B, horizon=0)
    with pytest.raises(ValueError, match="`horizon` must be smaller"):
        M.diebold_mariano(E_A, E_B, horizon=5)
    with pytest.raises(ValueError, match="constant"):
        M.diebold_mariano(E_A, E_A)
    with pytest.raises(ValueError, match="`errors_a` and `errors_b`"):
        M.diebold_mariano(E_A, E_B[:3])
