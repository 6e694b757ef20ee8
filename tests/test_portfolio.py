"""Portfolio strategies on tiny universes whose weights and PnL are written down by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from convexforecast import run_portfolio

DATES = pd.date_range("2024-01-01", periods=5, freq="D")


def universe(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns, index=DATES[: len(next(iter(columns.values())))])


PRICES = universe(A=[100.0, 110.0, 99.0, 99.0, 108.9],
                  B=[50.0, 50.0, 55.0, 60.5, 60.5],
                  C=[20.0, 19.0, 19.0, 20.9, 20.9])


def forecasts(table: dict[str, list[float]], prices: pd.DataFrame = PRICES,
              model: str = "m") -> pd.DataFrame:
    """Predictions frame: forecast *returns* per origin, turned into price forecasts."""
    rows = []
    for series, returns in table.items():
        for k, r in enumerate(returns):
            if r is None:
                continue
            origin = prices.index[k]
            rows.append({"origin": origin, "target": prices.index[k + 1], "horizon": 1,
                         "model": model, "series": series,
                         "forecast": prices.loc[origin, series] * (1 + r), "actual": np.nan,
                         "fold": k})
    return pd.DataFrame(rows)


RETURNS = {"A": [0.05, 0.00, 0.02, 0.01], "B": [0.01, 0.04, 0.03, -0.02],
           "C": [-0.02, -0.01, 0.01, 0.00]}


def bar_returns(prices: pd.DataFrame = PRICES) -> pd.DataFrame:
    return prices.pct_change().iloc[1:]


def test_top_one_long_only_follows_the_best_forecast_every_day():
    result = run_portfolio(forecasts(RETURNS), PRICES, rule="top_k", top_k=1)
    # best forecast per day: A, B, B, A
    expected = pd.DataFrame({"A": [1.0, 0, 0, 1], "B": [0.0, 1, 1, 0], "C": [0.0, 0, 0, 0]},
                            index=DATES[:4])
    pd.testing.assert_frame_equal(result.weights, expected, check_names=False)
    r = bar_returns()
    by_hand = [r["A"].iloc[0], r["B"].iloc[1], r["B"].iloc[2], r["A"].iloc[3]]
    np.testing.assert_allclose(result.returns.to_numpy(), by_hand, rtol=1e-14)
    assert result.equity.iloc[-1] == pytest.approx(np.prod(1 + np.array(by_hand)), rel=1e-14)
    np.testing.assert_allclose(result.turnover.to_numpy(), [1, 2, 0, 2])


def test_long_short_is_dollar_neutral_with_gross_one():
    result = run_portfolio(forecasts(RETURNS), PRICES, rule="long_short", top_k=1)
    # day 0: long A, short C; day 1: long B, short C; day 2: long B, short C; day 3: A / B
    w = result.weights.to_numpy()
    np.testing.assert_allclose(w, [[0.5, 0, -0.5], [0, 0.5, -0.5], [0, 0.5, -0.5],
                                   [0.5, -0.5, 0]])
    r = bar_returns().to_numpy()
    np.testing.assert_allclose(result.returns.to_numpy(), (w * r).sum(axis=1), rtol=1e-14)
    assert result.metrics.loc["strategy", "net_exposure"] == 0.0
    assert result.metrics.loc["strategy", "gross_exposure"] == 1.0


def test_sign_rule_weighs_every_call_equally():
    result = run_portfolio(forecasts({"A": [0.02], "B": [0.01], "C": [-0.03]},
                                     prices=PRICES.iloc[:2]), PRICES.iloc[:2], rule="sign")
    np.testing.assert_allclose(result.weights.to_numpy(), [[1 / 3, 1 / 3, -1 / 3]])


def test_costs_are_charged_on_turnover_at_each_rebalance():
    free = run_portfolio(forecasts(RETURNS), PRICES, rule="top_k", top_k=1)
    paid = run_portfolio(forecasts(RETURNS), PRICES, rule="top_k", top_k=1, cost_bps=10)
    np.testing.assert_allclose(paid.costs.to_numpy(), [1e-3, 2e-3, 0.0, 2e-3])
    np.testing.assert_allclose(paid.returns.to_numpy(),
                               free.returns.to_numpy() - [1e-3, 2e-3, 0.0, 2e-3], rtol=1e-12)
    assert paid.metrics.loc["strategy", "turnover"] == pytest.approx(5 / (4 / 252))


def test_weights_drift_between_rebalances():
    table = {"A": [0.01, 0.0, 0.0, 0.0], "B": [0.01, 0.0, 0.0, 0.0], "C": [-1, -1, -1, -1]}
    result = run_portfolio(forecasts(table), PRICES, rule="top_k", top_k=2, rebalance=2)
    w = result.weights.to_numpy()
    np.testing.assert_allclose(w[0], [0.5, 0.5, 0])
    # held over bar 1 without trading: A grew 10 %, B 0 %
    np.testing.assert_allclose(w[1], [0.55 / 1.05, 0.5 / 1.05, 0])
    np.testing.assert_allclose(w[2], [0.5, 0.5, 0])  # rebalanced on the third decision
    assert result.turnover.iloc[1] == 0.0 and result.turnover.iloc[2] > 0


def test_inverse_volatility_uses_only_past_returns():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=40, freq="D")
    calm = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 40)))
    wild = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, 40)))
    prices = pd.DataFrame({"calm": calm, "wild": wild}, index=dates)
    table = {"calm": [None] * 30 + [0.01] * 9, "wild": [None] * 30 + [0.01] * 9}
    result = run_portfolio(forecasts(table, prices), prices, rule="top_k", top_k=2,
                           weighting="inverse_vol", vol_window=20)
    r = prices.pct_change()
    vol = r.iloc[11:31].std(ddof=1)  # the 20 bars ending at the first decision (day 30)
    first = result.weights.loc[dates[30]]
    np.testing.assert_allclose(first.to_numpy(), (1 / vol / (1 / vol).sum()).to_numpy(),
                               rtol=1e-12)
    assert first["calm"] > first["wild"]
    # changing a price after the decision changes nothing about it
    later = prices.copy()
    later.iloc[31:, 1] *= 3.0
    again = run_portfolio(forecasts(table, later), later, rule="top_k", top_k=2,
                          weighting="inverse_vol", vol_window=20)
    pd.testing.assert_series_equal(again.weights.loc[dates[30]], first)


def test_missing_prices_are_not_traded_and_not_forward_filled_into_returns():
    prices = PRICES.copy()
    prices.loc[DATES[2], "B"] = np.nan  # B's exchange is closed on day 2
    table = {"A": [0.02, 0.0, 0.05, 0.0], "B": [0.05, 0.05, None, 0.05], "C": [-1, 0.01, -1, -1]}
    result = run_portfolio(forecasts(table, prices), prices, rule="top_k", top_k=2)
    w = result.weights
    np.testing.assert_allclose(w.loc[DATES[0]], [0.5, 0.5, 0.0])  # B and A
    np.testing.assert_allclose(w.loc[DATES[1]], [0.0, 0.5, 0.5])  # B and C (A forecast 0)
    # day 2: B has no price, so its drifted weight is kept; the targets A and C share the rest
    held_b = 0.5 / (1 + 0.5 * 0 + 0.5 * (19 / 19 - 1))  # B and C were flat over bar 1
    np.testing.assert_allclose(w.loc[DATES[2]], [(1 - held_b) / 2, held_b, (1 - held_b) / 2])
    # B's bar ending on day 2 has no closing price: it earns 0 there, and its move 50 -> 60.5
    # is realised over bar 2, measured from its last price (day 1)
    returns = result.returns.to_numpy()
    assert returns[1] == pytest.approx(0.5 * 0.0 + 0.5 * 0.0)
    expected = ((1 - held_b) / 2 * (99 / 99 - 1) + held_b * (60.5 / 50 - 1)
                + (1 - held_b) / 2 * (20.9 / 19 - 1))
    assert returns[2] == pytest.approx(expected, rel=1e-14)
    assert np.abs(w.to_numpy()).sum(axis=1).max() <= 1.0 + 1e-15


def test_cap_and_benchmark():
    capped = run_portfolio(forecasts(RETURNS), PRICES, rule="top_k", top_k=2, max_weight=0.4)
    assert np.abs(capped.weights.to_numpy()).max() == pytest.approx(0.4)
    bench = capped.benchmark_returns.to_numpy()
    r = bar_returns().to_numpy()
    w = np.full(3, 1 / 3)
    expected = []
    for b in range(4):  # equal-weight buy and hold: weights drift
        expected.append(float(w @ r[b]))
        w = w * (1 + r[b]) / (1 + expected[-1])
    np.testing.assert_allclose(bench, expected, rtol=1e-12)
    assert list(capped.metrics.index) == ["strategy", "equal_weight"]
    for column in ("sharpe", "max_drawdown", "turnover", "gross_exposure", "net_exposure"):
        assert column in capped.metrics.columns
    np.testing.assert_allclose(capped.contributions.sum(),
                               (capped.weights.to_numpy() * r).sum(), rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"rule": "best"}, "`rule` must be one of"),
    ({"top_k": 0}, "`top_k` must be an integer >= 1"),
    ({"weighting": "risk_parity"}, "`weighting` must be one of"),
    ({"max_weight": 1.5}, r"`max_weight` must be in \(0, 1\]"),
    ({"rebalance": 0}, "`rebalance` must be an integer >= 1"),
    ({"model": "other"}, "`model` must be one of"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_portfolio(forecasts(RETURNS), PRICES, **kwargs)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="`prices` must be a wide DataFrame"):
        run_portfolio(forecasts(RETURNS), PRICES["A"])
    with pytest.raises(ValueError, match="`prices` must have a column for every series"):
        run_portfolio(forecasts(RETURNS), PRICES[["A", "B"]])
    with pytest.raises(ValueError, match="`prices` must be positive"):
        run_portfolio(forecasts(RETURNS), PRICES.where(PRICES > 60, -1.0))
    with pytest.raises(ValueError, match="`predictions` must have columns"):
        run_portfolio(forecasts(RETURNS).drop(columns="series"), PRICES)
