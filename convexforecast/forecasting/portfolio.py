"""Portfolio strategies on forecasts of many assets: rank, weigh, rebalance, pay costs.

Timing (as :func:`~convexforecast.forecasting.strategy.run_strategy`): a decision at date ``t``
uses only forecasts made at origin ``t`` and prices up to ``t``; the weights it sets are held
from the close of ``t`` and earn the following bars' returns. Between rebalances positions are
held, so weights drift with prices; at every ``rebalance``-th decision date the book is traded
back to its target weights and pays ``cost_bps`` on the turnover ``Σ |w_target − w_held|``.

Rules (``r_a`` is asset ``a``'s forecast return ``forecast / price_t − 1``; only assets with a
forecast and a price at ``t`` are eligible):

``"top_k"``
    Long the ``top_k`` highest ``r_a`` (long-only, gross exposure 1).
``"long_short"``
    Long the ``top_k`` highest and short the ``top_k`` lowest: dollar-neutral, gross exposure 1
    (half long, half short), as in bt and vectorbt.
``"sign"``
    Long every asset with ``r_a > 0`` and short every one with ``r_a < 0``, gross exposure 1.

``weighting="equal"`` splits each side equally; ``"inverse_vol"`` in proportion to the inverse
of each asset's volatility: the standard deviation of its observed bar returns over the
``vol_window`` bars ending at ``t`` (no later price; an asset with fewer than two is skipped).
``max_weight`` caps the absolute weight of any asset; what a cap removes is left in cash.

Missing prices (holidays of one exchange, late listings, delistings) are explicit: an asset
without a price at ``t`` cannot be bought or sold at ``t``; a position in it is kept, its target
is ignored, and the tradable targets are scaled by ``1 − Σ |kept weights|`` so that gross
exposure stays at most 1. Its return over a bar where it has no closing price is 0 and the move
is realised at its next price, measured from its last one. Nothing is forward-filled into
returns.

The benchmark is the equal-weight buy-and-hold of the assets priced at the first decision date
(later listings are not bought), paying the entry cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import (
    InvalidParameterError,
    check_nonnegative_float,
    check_option,
    check_positive_float,
    check_positive_int,
    short_repr,
)
from .strategy import forecasts_of, performance_metrics

__all__ = ["PortfolioResult", "RULES", "WEIGHTINGS", "run_portfolio"]

RULES = ("top_k", "long_short", "sign")
WEIGHTINGS = ("equal", "inverse_vol")


@dataclass
class PortfolioResult:
    """Outcome of :func:`run_portfolio` (shaped like
    :class:`~convexforecast.forecasting.strategy.StrategyResult`).

    Attributes
    ----------
    equity, returns : pandas.Series
        Net equity (1.0 at the first decision date) and net per-bar returns, by bar end.
    weights : pandas.DataFrame
        Weights held over each bar (dates x assets; rows by bar start, after any rebalance).
    turnover, costs : pandas.Series
        Per bar start: ``Σ |Δw|`` traded and the cost paid (a fraction of equity).
    contributions : pandas.Series
        Per asset: the sum over bars of its weight times its return (gross, before costs).
    benchmark_equity, benchmark_returns : pandas.Series
        The equal-weight buy-and-hold of the universe over the same bars.
    metrics : pandas.DataFrame
        Rows ``"strategy"`` and ``"equal_weight"``; the columns of
        :func:`~convexforecast.forecasting.strategy.performance_metrics` plus
        ``gross_exposure`` and ``net_exposure`` (means over bars); ``turnover`` is the
        annualised ``Σ |Δw|``.
    config : dict
        The arguments the portfolio was run with.
    """

    equity: pd.Series
    returns: pd.Series
    weights: pd.DataFrame
    turnover: pd.Series
    costs: pd.Series
    contributions: pd.Series
    benchmark_equity: pd.Series
    benchmark_returns: pd.Series
    metrics: pd.DataFrame
    config: dict[str, Any] = field(default_factory=dict)


def _check_prices(prices: Any) -> pd.DataFrame:
    if not isinstance(prices, pd.DataFrame):
        raise InvalidParameterError(f"`prices` must be a wide DataFrame (dates x assets). Got "
                                    f"{type(prices).__name__}.")
    if prices.shape[1] == 0 or len(prices) < 2:
        raise InvalidParameterError(f"`prices` must have at least one asset and two dates. Got "
                                    f"shape {prices.shape}.")
    if not prices.index.is_monotonic_increasing or not prices.index.is_unique:
        raise InvalidParameterError("`prices` index must be sorted and unique. Got an unsorted "
                                    "or duplicated index.")
    values = prices.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isinf(values) | (values <= 0)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InvalidParameterError(f"`prices` must be positive and finite where present (NaN "
                                    f"marks a missing price). Got {values[row, col]!r} for "
                                    f"{prices.columns[col]!r} at {prices.index[row]}.")
    return pd.DataFrame(values, index=prices.index, columns=[str(c) for c in prices.columns])


def _signals(predictions: Any, prices: pd.DataFrame, model: str | None,
             horizon: int | None) -> tuple[pd.DataFrame, str, int]:
    """Forecast returns per (origin date, asset), NaN where no forecast was made."""
    frame = getattr(predictions, "predictions", predictions)
    if not isinstance(frame, pd.DataFrame):
        raise InvalidParameterError("`predictions` must be a DataFrame or a BacktestResult. Got "
                                    f"{type(predictions).__name__}.")
    rows, model, horizon = forecasts_of(
        frame, model, horizon, required=("origin", "horizon", "model", "forecast", "series"))
    unknown = sorted(set(map(str, rows["series"])) - set(prices.columns))
    if unknown:
        raise InvalidParameterError(f"`prices` must have a column for every series of "
                                    f"`predictions`. Got no prices for {unknown[:5]}.")
    if rows.duplicated(["origin", "series"]).any():
        dup = rows.loc[rows.duplicated(["origin", "series"]), ["origin", "series"]].iloc[0]
        raise InvalidParameterError(f"`predictions` must hold one forecast per origin and series "
                                    f"for model {model!r}. Got several for {tuple(dup)}.")
    forecast = rows.pivot(index="origin", columns="series", values="forecast")
    forecast.columns = [str(c) for c in forecast.columns]
    forecast = forecast.reindex(columns=prices.columns)
    outside = forecast.index.difference(prices.index)
    if len(outside):
        raise InvalidParameterError(f"`prices` must contain every forecast origin. Got no row "
                                    f"for {outside[0]}.")
    at_origin = prices.loc[forecast.index]
    return forecast / at_origin - 1.0, model, horizon


def _targets(signal: np.ndarray, vol: np.ndarray, rule: str, top_k: int, weighting: str,
             max_weight: float | None) -> np.ndarray:
    """Target weights of one decision (NaN signal: not eligible)."""
    weights = np.zeros(signal.shape[0])
    eligible = np.flatnonzero(np.isfinite(signal))
    if weighting == "inverse_vol":
        eligible = eligible[np.isfinite(vol[eligible]) & (vol[eligible] > 0)]
    if eligible.size == 0:
        return weights
    order = eligible[np.lexsort((eligible, -signal[eligible]))]  # best first, ties by column
    if rule == "top_k":
        sides = [(order[:top_k], 1.0)]
    elif rule == "long_short":
        k = min(top_k, order.size // 2)
        sides = [(order[:k], 0.5), (order[::-1][:k], -0.5)] if k else []
    else:
        longs, shorts = eligible[signal[eligible] > 0], eligible[signal[eligible] < 0]
        n = longs.size + shorts.size
        sides = [(longs, longs.size / n), (shorts, -shorts.size / n)] if n else []
    for members, gross in sides:
        if members.size == 0:
            continue
        raw = 1.0 / vol[members] if weighting == "inverse_vol" else np.ones(members.size)
        weights[members] = gross * raw / raw.sum()
    if max_weight is not None:
        weights = np.clip(weights, -max_weight, max_weight)
    return weights


def _trailing_volatility(window: np.ndarray) -> np.ndarray:
    """Per asset, the standard deviation of the observed bar returns of ``window`` (NaN with
    fewer than two)."""
    count = np.isfinite(window).sum(axis=0)
    out = np.full(window.shape[1], np.nan)
    enough = count >= 2
    if enough.any():
        out[enough] = np.nanstd(window[:, enough], axis=0, ddof=1)
    return out


def run_portfolio(
    predictions: Any,
    prices: pd.DataFrame,
    *,
    model: str | None = None,
    rule: str = "top_k",
    top_k: int = 3,
    weighting: str = "equal",
    vol_window: int = 20,
    max_weight: float | None = None,
    rebalance: int = 1,
    horizon: int | None = None,
    cost_bps: float = 0.0,
    periods_per_year: float = 252,
    risk_free_rate: float = 0.0,
) -> PortfolioResult:
    """Turn forecasts of many assets into a rebalanced portfolio and its net returns.

    Parameters
    ----------
    predictions : pandas.DataFrame or BacktestResult
        Tidy forecasts with columns ``origin, horizon, model, forecast, series`` (a backtest of
        several series).
    prices : pandas.DataFrame
        Positive prices, one column per series, on the union of the series' dates; NaN where
        an asset has no price (see the module docstring).
    model : str, optional
        Which model's forecasts to trade; required when several are present.
    rule : {"top_k", "long_short", "sign"}
        How forecasts become target weights (module docstring).
    top_k : int
        Assets per side for ``"top_k"`` and ``"long_short"``.
    weighting : {"equal", "inverse_vol"}
        How a side's gross exposure is split.
    vol_window : int
        Bars of trailing returns (ending at the decision date) for ``"inverse_vol"``.
    max_weight : float, optional
        Cap on any asset's absolute weight, in (0, 1].
    rebalance : int
        Trade to the targets at every ``rebalance``-th decision date; hold in between.
    horizon : int, optional
        Which forecast horizon decides; default the shortest available.
    cost_bps : float
        Cost per unit of turnover, in basis points of equity.
    periods_per_year : float
        Bars per year (252 for stocks, 365 for daily crypto).
    risk_free_rate : float
        Annual risk-free rate for Sharpe and Sortino.

    Returns
    -------
    PortfolioResult
    """
    price = _check_prices(prices)
    check_option("rule", rule, RULES)
    check_option("weighting", weighting, WEIGHTINGS)
    top_k = check_positive_int("top_k", top_k)
    vol_window = check_positive_int("vol_window", vol_window, minimum=2)
    rebalance = check_positive_int("rebalance", rebalance)
    cost = check_nonnegative_float("cost_bps", cost_bps) * 1e-4
    periods_per_year = check_positive_float("periods_per_year", periods_per_year)
    if max_weight is not None and not 0 < check_positive_float("max_weight", max_weight) <= 1:
        raise InvalidParameterError(f"`max_weight` must be in (0, 1]. Got "
                                    f"{short_repr(max_weight)}.")
    signal, model, horizon = _signals(predictions, price, model, horizon)

    values = price.to_numpy()
    dates = price.index
    first = dates.get_loc(signal.index[0])
    n_bars, n_assets = len(dates) - 1 - first, values.shape[1]
    if n_bars < 1:
        raise InvalidParameterError(f"`prices` must extend beyond the first decision date "
                                    f"{dates[first]}. Got its last row at {dates[-1]}.")
    # bar returns[i] from row i to row i + 1, measured from the last observed price; NaN on a
    # bar without a closing price (its move is realised at the next price)
    last_seen = pd.DataFrame(values).ffill().to_numpy()[:-1]
    bar_returns = values[1:] / last_seen - 1.0
    asset = np.nan_to_num(bar_returns[first:first + n_bars], nan=0.0)
    decision_row = {date: k for k, date in enumerate(signal.index)}

    held = np.zeros(n_assets)  # weights at the start of the bar, before trading
    weights = np.zeros((n_bars, n_assets))
    turnover, costs, net, gross = (np.zeros(n_bars) for _ in range(4))
    decisions = 0
    for b in range(n_bars):
        t = first + b
        row = decision_row.get(dates[t])
        if row is not None:
            if decisions % rebalance == 0:
                tradable = np.isfinite(values[t])
                vol = np.full(n_assets, np.nan)
                if weighting == "inverse_vol" and t >= vol_window:
                    vol = _trailing_volatility(bar_returns[t - vol_window:t])
                target = _targets(signal.iloc[row].to_numpy(), vol, rule, top_k, weighting,
                                  max_weight)
                locked = np.abs(held[~tradable]).sum()  # positions that cannot be traded
                new = np.where(tradable, target * max(0.0, 1.0 - locked), held)
                turnover[b] = float(np.abs(new - held).sum())
                costs[b] = turnover[b] * cost
                held = new
            decisions += 1
        weights[b] = held
        gross[b] = float(held @ asset[b])
        net[b] = gross[b] - costs[b]
        growth = held * (1.0 + asset[b])
        value = 1.0 + gross[b]
        held = growth / value if value > 0 else np.zeros(n_assets)  # drift until rebalanced

    start_priced = np.isfinite(values[first])
    bench_w = start_priced / start_priced.sum()
    bench_ret = np.zeros(n_bars)
    for b in range(n_bars):
        bench_ret[b] = float(bench_w @ asset[b])
        value = 1.0 + bench_ret[b]
        bench_w = bench_w * (1.0 + asset[b]) / value if value > 0 else np.zeros(n_assets)
    bench_ret[0] -= cost  # buying the universe once

    starts, ends = dates[first:first + n_bars], dates[first + 1:first + 1 + n_bars]
    equity_index = dates[first:first + n_bars + 1]
    kwargs = {"periods_per_year": periods_per_year, "risk_free_rate": risk_free_rate}
    exposure = np.abs(weights).sum(axis=1)
    strategy_metrics = performance_metrics(net, exposure, gross, **kwargs)
    years = n_bars / periods_per_year
    strategy_metrics.update(turnover=float(turnover.sum() / years),
                            gross_exposure=float(exposure.mean()),
                            net_exposure=float(weights.sum(axis=1).mean()))
    bench_exposure = np.ones(n_bars)
    bench_metrics = performance_metrics(bench_ret, bench_exposure, bench_ret, **kwargs)
    bench_metrics.update(turnover=1.0 / years, gross_exposure=1.0, net_exposure=1.0)
    return PortfolioResult(
        equity=pd.Series(np.concatenate([[1.0], np.cumprod(1.0 + net)]), index=equity_index,
                         name="strategy"),
        returns=pd.Series(net, index=ends, name="strategy"),
        weights=pd.DataFrame(weights, index=starts, columns=price.columns),
        turnover=pd.Series(turnover, index=starts, name="turnover"),
        costs=pd.Series(costs, index=starts, name="cost"),
        contributions=pd.Series((weights * asset).sum(axis=0), index=price.columns,
                                name="contribution"),
        benchmark_equity=pd.Series(np.concatenate([[1.0], np.cumprod(1.0 + bench_ret)]),
                                   index=equity_index, name="equal_weight"),
        benchmark_returns=pd.Series(bench_ret, index=ends, name="equal_weight"),
        metrics=pd.DataFrame({"strategy": strategy_metrics, "equal_weight": bench_metrics}).T,
        config={"model": model, "rule": rule, "top_k": top_k, "weighting": weighting,
                "vol_window": vol_window, "max_weight": max_weight, "rebalance": rebalance,
                "horizon": horizon, "cost_bps": cost_bps, "periods_per_year": periods_per_year,
                "risk_free_rate": risk_free_rate},
    )
