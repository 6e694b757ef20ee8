"""Point, direction and interval forecast-accuracy metrics, and the Diebold–Mariano test.

All functions take array-likes, never modify them, and raise ValueError on mismatched
lengths or non-finite values. When two inputs are pandas Series they are matched by label
(in any order), and a label present in one but not the other is a ValueError: inputs are
never compared by position when they carry labels. Percentage metrics (:func:`mape`, :func:`smape`) are returned
in percent.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .._validation import (
    as_float_array,
    check_option,
    check_positive_int,
    renamed_argument,
    short_repr,
)

__all__ = [
    "DieboldMarianoResult",
    "DirectionalAccuracyResult",
    "coverage",
    "diebold_mariano",
    "directional_accuracy",
    "directional_accuracy_test",
    "interval_score",
    "mae",
    "mape",
    "mase",
    "mean_interval_width",
    "naive_scale",
    "rmse",
    "smape",
]

_ALTERNATIVES = ("two-sided", "less", "greater")


def _align(values: dict[str, object]) -> dict[str, object]:
    """Put labelled inputs in the order of the first labelled one (by label, never position).

    When two or more inputs are pandas Series, each must carry exactly the labels of the
    first (in any order) and is reordered to it; inputs without labels are taken in their
    given order. Mismatched or duplicated labels raise a ValueError naming the arguments.
    """
    labelled = [name for name, value in values.items() if isinstance(value, pd.Series)]
    if len(labelled) < 2:
        return values
    first = labelled[0]
    index = values[first].index
    out = dict(values)
    for name in labelled:
        other = values[name].index
        if not other.is_unique:
            raise ValueError(f"`{name}` must have unique labels to be aligned with `{first}`. "
                             f"Got {short_repr(other[other.duplicated()][0])} more than once.")
        if name == first:
            continue
        extra = other.difference(index)
        missing = index.difference(other)
        if len(extra) or len(missing) or len(other) != len(index):
            example = (f"{short_repr(extra[0])} in `{name}` but not in `{first}`" if len(extra)
                       else f"{short_repr(missing[0])} in `{first}` but not in `{name}`")
            raise ValueError(f"`{first}` and `{name}` are labelled Series and are matched by "
                             f"label, so they must have the same labels. Got {example}.")
        out[name] = values[name].reindex(index)
    return out


def _pair(actual, forecast, names: tuple[str, str] = ("actual", "forecast")):
    values = _align({names[0]: actual, names[1]: forecast})
    a = as_float_array(names[0], values[names[0]], 1)
    f = as_float_array(names[1], values[names[1]], 1)
    if a.shape != f.shape:
        raise ValueError(
            f"`{names[0]}` and `{names[1]}` must have the same length. Got {a.size} and {f.size}."
        )
    return a, f


def mae(actual, forecast) -> float:
    """Mean absolute error ``mean(|actual - forecast|)``."""
    a, f = _pair(actual, forecast)
    return float(np.mean(np.abs(a - f)))


def rmse(actual, forecast) -> float:
    """Root mean squared error ``sqrt(mean((actual - forecast)**2))``."""
    a, f = _pair(actual, forecast)
    return float(np.sqrt(np.mean((a - f) ** 2)))


def mape(actual, forecast) -> float:
    """Mean absolute percentage error, in percent: ``100 * mean(|actual - forecast| / |actual|)``.

    Undefined when an actual value is zero: then NaN is returned with a RuntimeWarning.
    """
    a, f = _pair(actual, forecast)
    if np.any(a == 0):
        warnings.warn(
            "MAPE is undefined because `actual` contains zeros; returning NaN.",
            RuntimeWarning,
            stacklevel=2,
        )
        return float("nan")
    return float(100.0 * np.mean(np.abs(a - f) / np.abs(a)))


def smape(actual, forecast) -> float:
    """Symmetric MAPE, in percent: ``100 * mean(2|a - f| / (|a| + |f|))``.

    A term with ``a == f == 0`` counts as zero error. The result lies in [0, 200].
    """
    a, f = _pair(actual, forecast)
    denom = np.abs(a) + np.abs(f)
    num = 2.0 * np.abs(a - f)
    terms = np.divide(num, denom, out=np.zeros_like(num), where=denom > 0)
    return float(100.0 * np.mean(terms))


def naive_scale(y_train, seasonal_period: int = 1, *, m: int | None = None) -> float:
    """In-sample MAE of the (seasonal) naive one-step forecast: ``mean(|y_t - y_{t-m}|)``.

    Parameters
    ----------
    y_train : array-like
        The training series (at least ``seasonal_period + 1`` values).
    seasonal_period : int
        Seasonal period ``m``; 1 for the plain random walk.
    m : int, optional
        Deprecated name of ``seasonal_period`` (removed in the next release).
    """
    m = check_positive_int("seasonal_period", renamed_argument(
        "seasonal_period", seasonal_period, "m", m, 1))
    y = as_float_array("y_train", y_train, 1)
    if y.size <= m:
        raise ValueError(
            f"`y_train` must have more than `seasonal_period` = {m} observations. Got {y.size}."
        )
    return float(np.mean(np.abs(y[m:] - y[:-m])))


def mase(actual, forecast, y_train=None, *, seasonal_period: int = 1,
         scale: float | None = None, m: int | None = None) -> float:
    """Mean absolute scaled error (Hyndman & Koehler, 2006).

    ``mean(|actual - forecast|) / scale`` with ``scale = naive_scale(y_train,
    seasonal_period)``, the in-sample MAE of the seasonal naive one-step forecast on the
    training series. Pass either ``y_train`` or a precomputed ``scale`` (or an array of
    per-observation scales, as in a rolling-origin backtest where each fold has its own
    training series). ``m`` is the deprecated name of ``seasonal_period``.

    Returns ``inf`` (with a RuntimeWarning) when the scale is zero (a constant training series).
    """
    seasonal_period = renamed_argument("seasonal_period", seasonal_period, "m", m, 1)
    values = _align({"actual": actual, "forecast": forecast, "scale": scale})
    actual, forecast, scale = values["actual"], values["forecast"], values["scale"]
    a, f = _pair(actual, forecast)
    if (y_train is None) == (scale is None):
        raise ValueError(
            "Pass exactly one of `y_train` and `scale`. "
            f"Got y_train={short_repr(y_train)} and scale={short_repr(scale)}."
        )
    if scale is None:
        scales = np.full(a.size, naive_scale(y_train, seasonal_period))
    else:
        scales = np.broadcast_to(as_float_array("scale", scale, (0, 1)), a.shape)
        if np.any(scales < 0):
            raise ValueError(f"`scale` must be non-negative. Got {short_repr(scale)}.")
    errors = np.abs(a - f)
    if np.any(scales == 0):
        warnings.warn("MASE scale is zero (constant training series); returning inf.",
                      RuntimeWarning, stacklevel=2)
        return float("inf")
    return float(np.mean(errors / scales))


@dataclass(frozen=True)
class DirectionalAccuracyResult:
    """Directional accuracy and its exact binomial test against a coin flip (p = 0.5).

    Attributes
    ----------
    accuracy : float
        Fraction of forecasts whose predicted direction matches the realised one.
    pvalue : float
        :func:`scipy.stats.binomtest` p-value of ``n_hits`` out of ``n`` against 0.5.
    n_hits, n : int
        Hits and number of forecasts.
    alternative : str
        The alternative hypothesis of the binomial test.
    """

    accuracy: float
    pvalue: float
    n_hits: int
    n: int
    alternative: str


def _direction_hits(actual, forecast, last_observed) -> np.ndarray:
    """Hits among the forecasts that call a direction (a flat forecast calls none)."""
    values = _align({"actual": actual, "forecast": forecast, "last_observed": last_observed})
    a, f = _pair(values["actual"], values["forecast"])
    last = as_float_array("last_observed", values["last_observed"], 1)
    if last.shape != a.shape:
        raise ValueError(
            f"`last_observed` must have the same length as `actual`. Got {last.size} and {a.size}."
        )
    calls = f != last
    return np.sign(f[calls] - last[calls]) == np.sign(a[calls] - last[calls])


def directional_accuracy(actual, forecast, last_observed) -> float:
    """Fraction of directional calls that get the direction of change right.

    The direction is the sign of the change relative to ``last_observed``, the last value
    observed at each forecast's origin: a hit is ``sign(forecast - last) == sign(actual - last)``.
    A forecast equal to ``last_observed`` (e.g. the random walk) calls no direction and is left
    out; with no calls at all the accuracy is NaN.
    """
    hits = _direction_hits(actual, forecast, last_observed)
    return float(np.mean(hits)) if hits.size else float("nan")


def directional_accuracy_test(
    actual, forecast, last_observed, *, alternative: str = "two-sided"
) -> DirectionalAccuracyResult:
    """Directional accuracy with an exact binomial test of ``H0: P(hit) = 0.5``.

    Parameters
    ----------
    actual, forecast, last_observed : array-like
        See :func:`directional_accuracy`.
    alternative : {"two-sided", "greater", "less"}
        ``"greater"`` tests whether the forecasts beat a coin flip.
    """
    check_option("alternative", alternative, _ALTERNATIVES)
    hits = _direction_hits(actual, forecast, last_observed)
    n_hits, n = int(hits.sum()), int(hits.size)
    if n == 0:
        return DirectionalAccuracyResult(float("nan"), float("nan"), 0, 0, alternative)
    pvalue = float(stats.binomtest(n_hits, n, 0.5, alternative=alternative).pvalue)
    return DirectionalAccuracyResult(n_hits / n, pvalue, n_hits, n, alternative)


def _interval(actual, lower, upper):
    values = _align({"actual": actual, "lower": lower, "upper": upper})
    a = as_float_array("actual", values["actual"], 1)
    lo = np.array(values["lower"], dtype=np.float64, copy=True).reshape(-1)
    hi = np.array(values["upper"], dtype=np.float64, copy=True).reshape(-1)
    if not (lo.size == hi.size == a.size):
        raise ValueError(
            "`actual`, `lower` and `upper` must have the same length. "
            f"Got {a.size}, {lo.size} and {hi.size}."
        )
    if np.any(np.isnan(lo)) or np.any(np.isnan(hi)):
        raise ValueError("`lower` and `upper` must not contain NaN.")
    if np.any(lo > hi):
        pos = int(np.flatnonzero(lo > hi)[0])
        raise ValueError(f"`lower` must be <= `upper`. Got {lo[pos]!r} > {hi[pos]!r} at {pos}.")
    return a, lo, hi


def coverage(actual, lower, upper) -> float:
    """Empirical coverage: fraction of ``actual`` values inside ``[lower, upper]``."""
    a, lo, hi = _interval(actual, lower, upper)
    return float(np.mean((a >= lo) & (a <= hi)))


def mean_interval_width(lower, upper) -> float:
    """Mean width ``mean(upper - lower)`` of prediction intervals."""
    _, lo, hi = _interval(np.zeros(np.size(lower)), lower, upper)
    return float(np.mean(hi - lo))


def interval_score(actual, lower, upper, level: float) -> float:
    """Mean interval (Winkler) score of central ``level`` intervals; lower is better.

    ``(u - l) + (2/alpha)(l - y)1{y < l} + (2/alpha)(y - u)1{y > u}`` with ``alpha = 1 - level``
    (Gneiting & Raftery, 2007).
    """
    a, lo, hi = _interval(actual, lower, upper)
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1). Got {short_repr(level)}.")
    alpha = 1.0 - level
    score = (hi - lo) + (2 / alpha) * np.maximum(lo - a, 0) + (2 / alpha) * np.maximum(a - hi, 0)
    return float(np.mean(score))


@dataclass(frozen=True)
class DieboldMarianoResult:
    """Result of :func:`diebold_mariano`.

    Attributes
    ----------
    statistic : float
        The HLN-corrected DM statistic; negative when model A has the smaller mean loss.
    pvalue : float
        From the Student-t distribution with ``n - 1`` degrees of freedom.
    mean_loss_difference : float
        ``mean(loss_a - loss_b)``.
    n, horizon : int
        Number of loss pairs and the forecast horizon used for the autocovariances.
    alternative : str
        ``"two-sided"``; ``"less"`` means "A is more accurate than B".
    """

    statistic: float
    pvalue: float
    mean_loss_difference: float
    n: int
    horizon: int
    alternative: str


def _autocovariance(d: np.ndarray, lag: int) -> float:
    """Sample autocovariance at ``lag`` with denominator ``n`` (as in R's ``acf``)."""
    centred = d - d.mean()
    return float(np.dot(centred[lag:], centred[: d.size - lag]) / d.size)


def diebold_mariano(
    errors_a,
    errors_b,
    *,
    horizon: int = 1,
    loss: str = "squared",
    alternative: str = "two-sided",
) -> DieboldMarianoResult:
    """Diebold–Mariano test of equal predictive accuracy with the HLN correction.

    With loss differential ``d_t = L(e_a,t) - L(e_b,t)``, the statistic is

    ``DM = mean(d) / sqrt((gamma_0 + 2 * sum_{k=1}^{h-1} gamma_k) / n)``

    (autocovariances ``gamma_k`` with denominator ``n``; an h-step forecast error is at most
    MA(h-1), so lags up to ``h - 1`` enter with unit weight, as in Diebold & Mariano, 1995).
    Harvey, Leybourne & Newbold (1997) multiply it by
    ``sqrt((n + 1 - 2h + h(h - 1)/n) / n)`` and compare it with Student's t on ``n - 1``
    degrees of freedom. This matches R's ``forecast::dm.test``; like it, when the long-run
    variance estimate is not positive for ``h > 1`` the test falls back to ``h = 1`` with a
    warning. For ``h = 1`` the statistic equals the one-sample t-statistic of ``d``.

    Parameters
    ----------
    errors_a, errors_b : array-like
        Forecast errors of models A and B on the same targets, or their losses when
        ``loss="precomputed"``.
    horizon : int
        Forecast horizon ``h`` of the errors.
    loss : {"squared", "absolute", "precomputed"}
        Loss applied to the errors.
    alternative : {"two-sided", "less", "greater"}
        ``"less"``: A has the smaller expected loss; ``"greater"``: B has.

    Returns
    -------
    DieboldMarianoResult
    """
    horizon = check_positive_int("horizon", horizon)
    check_option("loss", loss, ("squared", "absolute", "precomputed"))
    check_option("alternative", alternative, _ALTERNATIVES)
    ea, eb = _pair(errors_a, errors_b, ("errors_a", "errors_b"))
    n = ea.size
    if n < 2:
        raise ValueError(f"`errors_a` must hold at least 2 values for the DM test. Got {n}.")
    if loss == "squared":
        d = ea**2 - eb**2
    elif loss == "absolute":
        d = np.abs(ea) - np.abs(eb)
    else:
        d = ea - eb
    if horizon >= n:
        raise ValueError(f"`horizon` must be smaller than the number of losses ({n}). "
                         f"Got {horizon}.")
    long_run = _autocovariance(d, 0) + 2.0 * sum(
        _autocovariance(d, k) for k in range(1, horizon)
    )
    if long_run <= 0:
        if horizon == 1:
            raise ValueError("The loss differential is constant: the DM statistic is undefined "
                             f"(variance 0). Got mean difference {d.mean()!r}.")
        warnings.warn(
            f"Long-run variance of the loss differential is not positive at `horizon`={horizon}; "
            "falling back to horizon 1.",
            RuntimeWarning,
            stacklevel=2,
        )
        return diebold_mariano(ea, eb, horizon=1, loss=loss, alternative=alternative)
    dm = d.mean() / math.sqrt(long_run / n)
    correction = math.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    statistic = float(dm * correction)
    t = stats.t(df=n - 1)
    if alternative == "two-sided":
        pvalue = 2.0 * t.sf(abs(statistic))
    elif alternative == "less":
        pvalue = t.cdf(statistic)
    else:
        pvalue = t.sf(statistic)
    return DieboldMarianoResult(statistic, float(pvalue), float(d.mean()), n, horizon,
                                alternative)
