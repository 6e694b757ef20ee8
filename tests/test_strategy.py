"""Strategy backtests on a hand-made price path, and the no-look-ahead property."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from convexforecast.forecasting.backtest import backtest
from convexforecast.forecasting.baselines import LinearARForecaster
from convexforecast.forecasting.strategy import run_strategy

DAYS = pd.date_range("2024-01-01", periods=5, freq="D")
# bar returns: +10 %, -10 %, 0 %, +10 %
PRICES = pd.Series([100.0, 110.0, 99.0, 99.0, 108.9], index=DAYS)


def _predictions(forecasts, origins=DAYS[:4], model="m"):
    return pd.DataFrame({
        "origin": origins,
        "target": origins + pd.Timedelta(days=1),
        "horizon": 1,
        "model": model,
        "forecast": forecasts,
        "actual": np.nan,
        "fold": range(len(origins)),
    })


# forecast returns at the origins: +5 %, -9.09 %, +1.01 %, -1.01 %
PRED = _predictions([105.0, 100.0, 100.0, 98.0])


def test_long_flat_with_costs_hand_computed():
    res = run_strategy(PRED, PRICES, rule="long_flat", cost_bps=10, slippage_bps=5)
    np.testing.assert_array_equal(res.positions["position"], [1, 0, 1, 0])
    # every bar trades one unit: 15 bps each
    expected = [0.10 - 0.0015, -0.0015, -0.0015, -0.0015]
    np.testing.assert_allclose(res.returns.to_numpy(), expected, rtol=0, atol=1e-15)
    total = 1.0985 * 0.9985**3 - 1
    assert res.metrics.loc["strategy", "total_return"] == pytest.approx(total)
    assert res.equity.iloc[-1] == pytest.approx(1 + total)
    assert res.equity.index[0] == DAYS[0] and res.returns.index[-1] == DAYS[-1]
    # buy and hold pays the entry cost once
    bh = np.array([0.1 - 0.0015, -0.1, 0.0, 0.1])
    np.testing.assert_allclose(res.benchmark_returns.to_numpy(), bh, atol=1e-15)
    assert res.metrics.loc["buy_and_hold", "total_return"] == pytest.approx(np.prod(1 + bh) - 1)


def test_long_short_metrics_hand_computed():
    res = run_strategy(PRED, PRICES, rule="long_short", periods_per_year=252)
    np.testing.assert_array_equal(res.positions["position"], [1, -1, 1, -1])
    np.testing.assert_allclose(res.returns.to_numpy(), [0.1, 0.1, 0.0, -0.1], atol=1e-15)
    m = res.metrics.loc["strategy"]
    # equity 1.1, 1.21, 1.21, 1.089: a 10 % drawdown from the peak
    assert m["total_return"] == pytest.approx(0.089)
    assert m["annual_return"] == pytest.approx(1.089 ** (252 / 4) - 1)
    # returns mean 0.025; sample std sqrt((0.075^2*2 + 0.025^2 + 0.125^2)/3) = sqrt(0.0275/3)
    std = math.sqrt(0.0275 / 3)
    assert m["volatility"] == pytest.approx(std * math.sqrt(252))
    assert m["sharpe"] == pytest.approx(0.025 / std * math.sqrt(252))
    # downside deviation sqrt(mean([0, 0, 0, 0.01])) = 0.05
    assert m["sortino"] == pytest.approx(0.025 / 0.05 * math.sqrt(252))
    assert m["max_drawdown"] == pytest.approx(0.1)
    assert m["calmar"] == pytest.approx((1.089 ** (252 / 4) - 1) / 0.1)
    # position changes 1, 2, 2, 2 over 4 bars
    assert m["turnover"] == pytest.approx(7 / 4 * 252)
    # in-market bars 4, profitable on the first two
    assert m["hit_rate"] == pytest.approx(0.5)
    assert m["exposure"] == pytest.approx(1.0)
    bh = res.metrics.loc["buy_and_hold"]
    assert bh["total_return"] == pytest.approx(0.089)
    assert bh["max_drawdown"] == pytest.approx(0.1)


def test_sized_rule_hand_computed():
    res = run_strategy(PRED, PRICES, rule="sized", size_scale=0.1)
    signals = np.array([0.05, 100 / 110 - 1, 100 / 99 - 1, 98 / 99 - 1])
    np.testing.assert_allclose(res.positions["signal"], signals)
    expected_pos = np.clip(signals / 0.1, -1, 1)  # 0.5, -0.909, 0.101, -0.101
    np.testing.assert_allclose(res.positions["position"], expected_pos)
    asset = np.array([0.1, -0.1, 0.0, 0.1])
    np.testing.assert_allclose(res.returns.to_numpy(), expected_pos * asset, atol=1e-15)
    assert res.metrics.loc["strategy", "exposure"] == pytest.approx(np.abs(expected_pos).mean())


def test_sized_default_scale_uses_only_past_forecasts():
    res = run_strategy(PRED, PRICES, rule="sized")
    signals = res.positions["signal"].to_numpy()
    rms = np.sqrt(np.cumsum(signals**2) / np.arange(1, 5))
    np.testing.assert_allclose(res.positions["position"], np.clip(signals / rms, -1, 1))


def test_return_forecasts_and_backtest_result_input():
    pred = _predictions([0.01, -0.02, 0.0, 0.03])
    res = run_strategy(pred, PRICES, rule="long_short", forecast_type="return")
    np.testing.assert_array_equal(res.positions["position"], [1, -1, 0, 1])


def test_position_held_until_next_origin():
    origins = DAYS[[0, 2]]
    pred = _predictions([105.0, 100.0], origins=origins)
    res = run_strategy(pred, PRICES, rule="long_flat")
    # origin 0 -> held over bars 0->1 and 1->2; origin 2 -> held two bars (previous spacing)
    np.testing.assert_array_equal(res.positions["position"], [1, 1, 1, 1])
    assert list(res.positions["origin"]) == [DAYS[0], DAYS[0], DAYS[2], DAYS[2]]
    assert res.metrics.loc["strategy", "total_return"] == pytest.approx(0.089)


def test_shifting_future_prices_changes_nothing_decided_earlier():
    rng = np.random.default_rng(0)
    idx = pd.date_range("2023-01-01", periods=90, freq="D")
    prices = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.02, 90))), index=idx)
    cut = 74  # origin position whose decision must not move
    shifted = prices.copy()
    shifted.iloc[cut + 1:] *= np.exp(rng.normal(0, 0.2, 90 - cut - 1))

    def run(p):
        bt = backtest({"ar": LinearARForecaster(lags=3)}, p, initial_train_size=60, steps=1,
                      refit=5, show_progress=False)
        return run_strategy(bt, p, rule="long_short", cost_bps=5, periods_per_year=365)

    base, moved = run(prices), run(shifted)
    upto = idx[cut]
    pd.testing.assert_frame_equal(base.positions.loc[:upto, ["position", "signal", "origin"]],
                                  moved.positions.loc[:upto, ["position", "signal", "origin"]])
    # realised returns of bars that end on or before the cut are unchanged too
    pd.testing.assert_series_equal(base.returns.loc[:upto], moved.returns.loc[:upto])
    assert not base.positions["signal"].equals(moved.positions["signal"])


def test_bad_options():
    with pytest.raises(ValueError, match=r"`rule` must be one of .* Got 'momentum'"):
        run_strategy(PRED, PRICES, rule="momentum")
    with pytest.raises(ValueError, match=r"`cost_bps` .* Got -1"):
        run_strategy(PRED, PRICES, cost_bps=-1)
    with pytest.raises(ValueError, match=r"`periods_per_year` must be a finite number > 0. Got 0"):
        run_strategy(PRED, PRICES, periods_per_year=0)
    with pytest.raises(ValueError, match=r"`size_scale` must be a finite number > 0. Got 0"):
        run_strategy(PRED, PRICES, size_scale=0.0)
    with pytest.raises(ValueError, match=r"`horizon` must be one of \[1\]. Got 2"):
        run_strategy(PRED, PRICES, horizon=2)
    with pytest.raises(ValueError, match=r"`forecast_type`"):
        run_strategy(PRED, PRICES, forecast_type="level")
    two = pd.concat([PRED, PRED.assign(model="other")])
    with pytest.raises(ValueError, match="`model` must be given"):
        run_strategy(two, PRICES)
    with pytest.raises(ValueError, match=r"`model` must be one of .* Got 'x'"):
        run_strategy(two, PRICES, model="x")
    with pytest.raises(ValueError, match="`prices` must contain every forecast origin"):
        run_strategy(PRED, PRICES.iloc[1:])
    with pytest.raises(ValueError, match="`prices` must be finite and positive"):
        run_strategy(PRED, PRICES.where(PRICES.index != DAYS[2], -1.0))
    with pytest.raises(TypeError, match="`prices` must be a pandas Series"):
        run_strategy(PRED, PRICES.to_numpy())


def test_inputs_not_modified():
    pred, prices = PRED.copy(), PRICES.copy()
    run_strategy(pred, prices, rule="sized", cost_bps=3)
    pd.testing.assert_frame_equal(pred, PRED)
    pd.testing.assert_series_equal(prices, PRICES)


# ------------------------------------------------------------------------ sharpe interval
def test_sharpe_interval_covers_the_sample_sharpe_and_is_reproducible():
    from convexforecast import sharpe_interval

    rng = np.random.default_rng(0)
    returns = rng.normal(0.001, 0.01, 500)
    out = sharpe_interval(returns, block_length=10, n_boot=500, random_state=3)
    expected = returns.mean() / returns.std(ddof=1) * np.sqrt(252)
    assert out["sharpe"] == pytest.approx(expected, rel=1e-12)
    assert out["lower"] < out["sharpe"] < out["upper"]
    # the half-width of an iid Sharpe estimate is about z * sqrt(252 / n): the interval must
    # be of that order (block resampling of iid data changes it little)
    assert 0.5 < (out["upper"] - out["lower"]) / (2 * 1.96 * np.sqrt(252 / 500)) < 1.5
    assert sharpe_interval(returns, block_length=10, n_boot=500, random_state=3) == out
    wider = sharpe_interval(returns, block_length=10, n_boot=500, random_state=3, level=0.99)
    assert wider["lower"] <= out["lower"] and wider["upper"] >= out["upper"]


@pytest.mark.parametrize("kwargs, match", [
    ({"block_length": 0}, "`block_length` must be"),
    ({"level": 1.5}, "`level` must be"),
    ({"block_length": 300}, r"at least 2 \* block_length = 600 values. Got 500"),
    ({"n_boot": 5}, "`n_boot` must be"),
])
def test_sharpe_interval_bad_options(kwargs, match):
    from convexforecast import sharpe_interval

    with pytest.raises(ValueError, match=match):
        sharpe_interval(np.linspace(-0.01, 0.01, 500), **kwargs)
    with pytest.raises(ValueError, match="`returns` must"):
        sharpe_interval(np.r_[np.zeros(50), np.nan])
