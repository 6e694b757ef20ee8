"""Walk-forward trading strategies on top of backtest forecasts.

A forecast made at origin ``t`` (with data up to and including ``t``) becomes a position at the
close of bar ``t``; that position is held over the following bars until the next origin, and
earns the price return of those bars. No price after ``t`` enters the decision taken at ``t``.

Position rules (``r`` is the forecast return ``forecast / price_t - 1``):

``"long_flat"``
    1 if ``r > 0`` else 0.
``"long_short"``
    ``sign(r)`` (flat when ``r == 0``).
``"sized"``
    ``clip(r / s, -1, 1)``: proportional to forecast strength, full size at ``|r| = s``. The
    scale ``s`` is ``size_scale`` if given, else the root mean square of all forecast returns
    made so far (up to and including ``t``), so it never uses future forecasts.

Costs: every change of position ``|p_t - p_{t-1}|`` (in units of equity) pays
``cost_bps + slippage_bps`` basis points of equity on that bar. Buy-and-hold (long 1 from the
first origin, paying the entry cost) is reported as the benchmark over the same bars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import (
    InvalidParameterError,
    as_float_array,
    check_fraction,
    check_nonnegative_float,
    check_option,
    check_positive_float,
    check_positive_int,
)

__all__ = ["StrategyResult", "performance_metrics", "run_strategy", "sharpe_interval"]

RULES = ("long_flat", "long_short", "sized")


@dataclass
class StrategyResult:
    """Outcome of :func:`run_strategy`.

    Attributes
    ----------
    equity : pandas.Series
        Strategy equity, starting at 1.0 at the first origin; one value per bar end.
    returns : pandas.Series
        Net per-bar strategy returns (after costs), indexed by bar end.
    positions : pandas.DataFrame
        Per bar (indexed by bar start): ``position`` held over the bar, ``signal`` (the
        forecast return that set it), ``origin`` (the forecast origin that decided it),
        ``asset_return``, ``trade`` (position change at the bar start) and ``cost``.
    benchmark_equity, benchmark_returns : pandas.Series
        The same for buy-and-hold.
    metrics : pandas.DataFrame
        Rows ``"strategy"`` and ``"buy_and_hold"``; columns from :func:`performance_metrics`.
    config : dict
        The arguments the strategy was run with.
    """

    equity: pd.Series
    returns: pd.Series
    positions: pd.DataFrame
    benchmark_equity: pd.Series
    benchmark_returns: pd.Series
    metrics: pd.DataFrame
    config: dict[str, Any] = field(default_factory=dict)


def _check_prices(prices: Any) -> pd.Series:
    if not isinstance(prices, pd.Series):
        raise TypeError(f"`prices` must be a pandas Series. Got {type(prices).__name__}.")
    if not pd.api.types.is_numeric_dtype(prices.dtype) or pd.api.types.is_bool_dtype(prices.dtype):
        raise ValueError(f"`prices` must have a numeric dtype. Got dtype {prices.dtype!s}.")
    values = prices.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"`prices` must be finite and positive. Got {values[pos]!r} at {prices.index[pos]}."
        )
    if not prices.index.is_monotonic_increasing or not prices.index.is_unique:
        raise ValueError("`prices` index must be sorted and unique. Got an unsorted or "
                         "duplicated index.")
    return pd.Series(values, index=prices.index, name=prices.name)


def forecasts_of(predictions: pd.DataFrame, model: str | None, horizon: int | None,
                 required: tuple[str, ...] = ("origin", "horizon", "model", "forecast"),
                 ) -> tuple[pd.DataFrame, str, int]:
    """The rows of one model at one horizon of a backtest's predictions (shared by
    :func:`run_strategy` and :func:`~convexforecast.forecasting.portfolio.run_portfolio`).

    ``model`` may be None when there is one model; ``horizon`` None takes the shortest.
    ``predictions`` must have the ``required`` columns.
    """
    missing = set(required) - set(predictions.columns)
    if missing:
        raise InvalidParameterError(f"`predictions` must have columns {sorted(required)}. "
                                    f"Missing {sorted(missing)}.")
    models = list(pd.unique(predictions["model"]))
    if model is None:
        if len(models) != 1:
            raise InvalidParameterError(f"`model` must be given when `predictions` holds "
                                        f"several models {models}. Got None.")
        model = models[0]
    check_option("model", model, models)
    rows = predictions[predictions["model"] == model]
    horizons = sorted(int(h) for h in pd.unique(rows["horizon"]))
    horizon = horizons[0] if horizon is None else horizon
    check_option("horizon", horizon, horizons)
    return rows[rows["horizon"] == horizon], model, horizon


def _select_forecasts(
    predictions: pd.DataFrame, model: str | None, horizon: int | None
) -> tuple[pd.DataFrame, str, int]:
    rows, model, horizon = forecasts_of(predictions, model, horizon)
    rows = rows.sort_values("origin")
    if rows["origin"].duplicated().any():
        dup = rows.loc[rows["origin"].duplicated(), "origin"].iloc[0]
        raise ValueError(f"`predictions` must hold one forecast per origin for model {model!r} "
                         f"and horizon {horizon}. Got several at origin {dup}.")
    return rows, model, horizon


def _positions_from_signal(signal: np.ndarray, rule: str, size_scale: float | None) -> np.ndarray:
    if rule == "long_flat":
        return (signal > 0).astype(np.float64)
    if rule == "long_short":
        return np.sign(signal)
    if size_scale is None:
        # Root mean square of the forecast returns known at each origin (expanding).
        scale = np.sqrt(np.cumsum(signal**2) / np.arange(1, signal.size + 1))
    else:
        scale = np.full(signal.size, size_scale)
    ratio = np.divide(signal, scale, out=np.zeros_like(signal), where=scale > 0)
    return np.clip(ratio, -1.0, 1.0)


def performance_metrics(
    returns: np.ndarray | pd.Series,
    positions: np.ndarray | pd.Series,
    asset_returns: np.ndarray | pd.Series,
    *,
    periods_per_year: float,
    risk_free_rate: float = 0.0,
) -> dict[str, float]:
    """Performance statistics of a per-bar net return series.

    Parameters
    ----------
    returns : array-like
        Net per-bar returns of the strategy.
    positions : array-like
        Position held over each bar (used for turnover, exposure and hit rate).
    asset_returns : array-like
        The traded asset's return over each bar (hit rate: ``position * asset_return > 0``).
    periods_per_year : float
        Bars per year for annualisation (252 for equity days, 365 for crypto days).
    risk_free_rate : float
        Annual risk-free rate subtracted in Sharpe and Sortino.

    Returns
    -------
    dict
        ``total_return``, ``annual_return`` (geometric), ``volatility`` (annualised, ddof=1),
        ``sharpe``, ``sortino`` (downside deviation over all bars), ``max_drawdown`` (a
        positive fraction of the running peak), ``calmar`` (annual return / max drawdown),
        ``turnover`` (annualised sum of absolute position changes, including the initial
        entry), ``hit_rate`` (fraction of in-market bars that earned a positive gross
        return), ``exposure`` (mean absolute position) and ``n_periods``.
    """
    r = np.asarray(returns, dtype=np.float64)
    pos = np.asarray(positions, dtype=np.float64)
    asset = np.asarray(asset_returns, dtype=np.float64)
    n = r.size
    equity = np.concatenate([[1.0], np.cumprod(1.0 + r)])
    total = float(equity[-1] - 1.0)
    years = n / periods_per_year
    annual = float(equity[-1] ** (1.0 / years) - 1.0) if equity[-1] > 0 else -1.0
    rf = (1.0 + risk_free_rate) ** (1.0 / periods_per_year) - 1.0
    excess = r - rf
    std = float(np.std(r, ddof=1)) if n > 1 else float("nan")
    vol = std * math.sqrt(periods_per_year)
    sharpe = float(excess.mean() / std * math.sqrt(periods_per_year)) if std > 0 else float("nan")
    downside = float(np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2)))
    sortino = _ratio(float(excess.mean()) * math.sqrt(periods_per_year), downside)
    drawdown = 1.0 - equity / np.maximum.accumulate(equity)
    max_dd = float(drawdown.max())
    calmar = _ratio(annual, max_dd)
    trades = np.abs(np.diff(np.concatenate([[0.0], pos])))
    in_market = pos != 0
    hit = float(np.mean(pos[in_market] * asset[in_market] > 0)) if in_market.any() else math.nan
    return {
        "total_return": total,
        "annual_return": annual,
        "volatility": vol,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown": max_dd,
        "calmar": calmar,
        "turnover": float(trades.sum() / years),
        "hit_rate": hit,
        "exposure": float(np.mean(np.abs(pos))),
        "n_periods": float(n),
    }


def sharpe_interval(
    returns: np.ndarray | pd.Series,
    *,
    block_length: int = 10,
    level: float = 0.95,
    n_boot: int = 2000,
    periods_per_year: float = 252,
    random_state: int = 0,
) -> dict[str, float]:
    """The annualised Sharpe ratio of ``returns`` with a block-bootstrap confidence interval.

    Returns are resampled in circular blocks of ``block_length`` bars (Politis & Romano), which
    keeps their short-range dependence (volatility clustering, overlapping positions); the
    interval is the percentile interval of the resampled Sharpe ratios (``arch``'s
    :class:`~arch.bootstrap.CircularBlockBootstrap`).

    Parameters
    ----------
    returns : array-like
        Per-bar (net) returns, finite, at least ``2 * block_length`` of them.
    block_length : int
        Bars per resampled block.
    level : float
        Coverage of the interval, in (0, 1).
    n_boot : int
        Bootstrap resamples.
    periods_per_year : float
        Bars per year, to annualise.
    random_state : int
        Seed: the same inputs give the same interval.

    Returns
    -------
    dict
        ``sharpe``, ``lower``, ``upper``, ``level``, ``block_length``, ``n_boot``, ``n``.
    """
    from arch.bootstrap import CircularBlockBootstrap

    r = as_float_array("returns", returns, 1)
    block_length = check_positive_int("block_length", block_length)
    level = check_fraction("level", level)
    n_boot = check_positive_int("n_boot", n_boot, minimum=10)
    periods_per_year = check_positive_float("periods_per_year", periods_per_year)
    random_state = check_positive_int("random_state", random_state, minimum=0)
    if r.size < 2 * block_length:
        raise ValueError(f"`returns` must hold at least 2 * block_length = {2 * block_length} "
                         f"values. Got {r.size}.")
    scale = math.sqrt(periods_per_year)

    def sharpe(x: np.ndarray) -> np.ndarray:
        std = x.std(ddof=1)
        return np.array([x.mean() / std * scale if std > 0 else np.nan])

    bootstrap = CircularBlockBootstrap(block_length, r,
                                       seed=np.random.default_rng(random_state))
    lower, upper = bootstrap.conf_int(sharpe, reps=n_boot, method="percentile",
                                      size=level)[:, 0]
    return {"sharpe": float(sharpe(r)[0]), "lower": float(lower), "upper": float(upper),
            "level": level, "block_length": block_length, "n_boot": n_boot, "n": int(r.size)}


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; +inf for a positive numerator over 0, NaN otherwise."""
    if denominator > 0:
        return numerator / denominator
    return float("inf") if numerator > 0 else float("nan")


def run_strategy(
    predictions: Any,
    prices: pd.Series,
    *,
    model: str | None = None,
    rule: str = "long_flat",
    horizon: int | None = None,
    cost_bps: float = 0.0,
    slippage_bps: float = 0.0,
    periods_per_year: float = 252,
    forecast_type: str = "price",
    size_scale: float | None = None,
    risk_free_rate: float = 0.0,
) -> StrategyResult:
    """Turn walk-forward forecasts into positions and positions into net returns.

    Parameters
    ----------
    predictions : pandas.DataFrame or BacktestResult
        Tidy forecasts with columns ``origin, horizon, model, forecast`` (the
        :attr:`BacktestResult.predictions` schema).
    prices : pandas.Series
        Positive prices of the traded asset, indexed like the backtested series; must contain
        every origin and the bars after it.
    model : str, optional
        Which model's forecasts to trade; required when several are present.
    rule : {"long_flat", "long_short", "sized"}
        Position rule (see the module docstring).
    horizon : int, optional
        Which forecast horizon sets the position; default the shortest available.
    cost_bps, slippage_bps : float
        Proportional transaction cost and slippage per unit of position traded, in basis points.
    periods_per_year : float
        Bars per year (252 for stocks, 365 for daily crypto).
    forecast_type : {"price", "return"}
        Whether ``forecast`` is a price level (signal ``forecast / price_t - 1``) or already a
        return (signal ``forecast``).
    size_scale : float, optional
        Forecast return at which the ``"sized"`` rule takes a full position.
    risk_free_rate : float
        Annual risk-free rate for Sharpe and Sortino.

    Returns
    -------
    StrategyResult
    """
    frame = getattr(predictions, "predictions", predictions)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("`predictions` must be a DataFrame or a BacktestResult. "
                        f"Got {type(predictions).__name__}.")
    check_option("rule", rule, RULES)
    check_option("forecast_type", forecast_type, ("price", "return"))
    cost_bps = check_nonnegative_float("cost_bps", cost_bps)
    slippage_bps = check_nonnegative_float("slippage_bps", slippage_bps)
    periods_per_year = check_positive_float("periods_per_year", periods_per_year)
    if size_scale is not None:
        size_scale = check_positive_float("size_scale", size_scale)
    risk_free_rate = float(risk_free_rate)
    price = _check_prices(prices)
    rows, model, horizon = _select_forecasts(frame, model, horizon)

    origin_pos = price.index.get_indexer(pd.Index(rows["origin"]))
    if (origin_pos < 0).any():
        missing = rows["origin"].iloc[int(np.flatnonzero(origin_pos < 0)[0])]
        raise ValueError(f"`prices` must contain every forecast origin. Got no price at {missing}.")
    if origin_pos[0] >= len(price) - 1:
        raise ValueError(f"`prices` must extend beyond the first origin {rows['origin'].iloc[0]}. "
                         f"Got its last price at {price.index[-1]}.")
    values = price.to_numpy()
    forecast = rows["forecast"].to_numpy(dtype=np.float64)
    signal = forecast / values[origin_pos] - 1.0 if forecast_type == "price" else forecast
    decided = _positions_from_signal(signal, rule, size_scale)

    # Each origin's position is held until the next origin; the last one for the previous
    # spacing (one bar for a single origin), truncated at the last price.
    last_hold = int(origin_pos[-1] - origin_pos[-2]) if origin_pos.size > 1 else 1
    ends = np.append(origin_pos[1:], min(origin_pos[-1] + last_hold, len(price) - 1))
    keep = ends > origin_pos
    bar_start = np.concatenate([np.arange(s, e) for s, e in zip(origin_pos[keep], ends[keep],
                                                                strict=True)])
    which = np.repeat(np.flatnonzero(keep), (ends - origin_pos)[keep])
    held = decided[which]
    asset = values[bar_start + 1] / values[bar_start] - 1.0
    unit_cost = (cost_bps + slippage_bps) * 1e-4
    trade = np.diff(np.concatenate([[0.0], held]))
    cost = np.abs(trade) * unit_cost
    net = held * asset - cost

    bench_pos = np.ones_like(asset)
    bench = bench_pos * asset
    bench[0] -= unit_cost

    start = price.index[bar_start]
    end = price.index[bar_start + 1]
    equity_index = price.index[np.concatenate([[bar_start[0]], bar_start + 1])]
    returns = pd.Series(net, index=end, name="strategy")
    bench_returns = pd.Series(bench, index=end, name="buy_and_hold")
    positions = pd.DataFrame(
        {
            "position": held,
            "signal": signal[which],
            "origin": rows["origin"].to_numpy()[which],
            "asset_return": asset,
            "trade": trade,
            "cost": cost,
        },
        index=start,
    )
    kwargs = {"periods_per_year": periods_per_year, "risk_free_rate": risk_free_rate}
    metrics = pd.DataFrame(
        {
            "strategy": performance_metrics(net, held, asset, **kwargs),
            "buy_and_hold": performance_metrics(bench, bench_pos, asset, **kwargs),
        }
    ).T
    config = {
        "model": model, "rule": rule, "horizon": horizon, "cost_bps": cost_bps,
        "slippage_bps": slippage_bps, "periods_per_year": periods_per_year,
        "forecast_type": forecast_type, "size_scale": size_scale,
        "risk_free_rate": risk_free_rate,
    }
    return StrategyResult(
        equity=pd.Series(np.concatenate([[1.0], np.cumprod(1.0 + net)]), index=equity_index,
                         name="strategy"),
        returns=returns,
        positions=positions,
        benchmark_equity=pd.Series(np.concatenate([[1.0], np.cumprod(1.0 + bench)]),
                                   index=equity_index, name="buy_and_hold"),
        benchmark_returns=bench_returns,
        metrics=metrics,
        config=config,
    )

