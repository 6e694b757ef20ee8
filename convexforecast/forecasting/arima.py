"""ARIMA on statsmodels with automatic order selection, fallbacks and a cheap origin update.

Modelling choices (documented because they matter for speed and robustness):

- The series is first mapped by ``transform`` (default ``"log"``: ARIMA on log prices, the
  usual choice for prices) and then differenced ``d`` times *explicitly*; statsmodels fits an
  ARMA(p, q) with ``trend`` ``"c"`` (a mean, i.e. a drift when ``d = 1``) or ``"n"`` on the
  differenced series. This keeps :meth:`statsmodels.tsa.arima.model.ARIMAResults.extend`
  exact: it carries the Kalman state forward with the fitted parameters held fixed, so
  :meth:`ARIMAForecaster.update` costs O(new observations) instead of re-filtering the whole
  history like ``append``.
- The differenced series is divided by its standard deviation before fitting (ARMA models are
  scale-equivariant; statsmodels' optimiser struggles with variances ~1e-4 as in daily log
  returns) and forecasts are multiplied back.
- ``order="auto"`` chooses ``d`` by repeated unit-root tests (KPSS: difference while
  stationarity is rejected at ``alpha``; ADF: difference while a unit root is not rejected),
  then ``(p, q)`` in ``[0, max_p] x [0, max_q]`` by AIC or BIC, over the full grid
  (``search="grid"``, default) or the Hyndman-Khandakar neighbourhood walk
  (``search="stepwise"``, fewer fits but it can stop in a local minimum).
- The grid is *screened* (``screen=3``, default): every candidate is first scored with the
  criterion at its Hannan-Rissanen estimates (one long autoregression shared by all
  candidates, then one least-squares regression each, scored by the exact Gaussian
  likelihood; ~10 ms for the 16 candidates on 3,800 daily observations), and only the
  ``screen`` best are fitted by maximum likelihood, which decides among them.
  ``screen=None`` fits every candidate (the behaviour before screening existed; ~25x the
  fitting time of the screened search in the one-year BTC backtest of
  ``benchmarks/bench_arima.py``). The screen favours
  parsimonious orders: it can miss an over-parameterised optimum of the criterion that
  only maximum likelihood finds (e.g. ARMA(3, 3) with nearly cancelling roots a few AIC
  units below ARMA(1, 0) on near-white-noise returns).
- A refit re-uses the order (``reselect_every=4``, default): when ``fit`` is called again
  on the same forecaster with a continuation of the same series (the new data contains the
  last observation seen, with the same value -- an expanding or sliding window of a
  backtest), the unit-root test runs again but the search does not: the previous ``(p, q)``
  is re-estimated on the new data. The search runs again on every ``reselect_every``-th
  fit, and whenever ``d`` changes, the previous order fails to fit, a search setting was
  changed or the series is not a continuation. ``reselect_every=1`` searches at every fit.
  :func:`~convexforecast.forecasting.backtest.backtest` clones the forecaster per task, so
  this only acts within a task (``refits_per_task > 1``), deterministically whatever
  ``n_jobs``.
- Fits that raise, return non-finite parameters or do not converge are rejected. A fixed order
  that fails falls back to ARMA(0, 0) (with the same ``d``) and then to the random walk, with a
  :class:`ARIMAFallbackWarning`; a backtest never crashes on a bad fit.
- With ``exog`` (:mod:`~convexforecast.forecasting.exog`) the ARMA(p, q) of the differenced
  series is a regression with ARMA errors (statsmodels' ``exog``, as SARIMAX): its regressors
  are the past-only columns at lags ``1..exog_lags`` of the time before the target (lag 1 is
  the value one step earlier, observed at the origin) and the known-in-advance columns at the
  target time, each divided by its training standard deviation. ``d`` is still chosen on the
  series itself; the screening ranks candidates on the residuals of the least-squares
  regression of the series on the regressors (the maximum-likelihood fits that decide among
  them include the regressors); the exogenous configuration is part of the search settings,
  so changing it forces a new search. Past-only columns limit a forecast to one step.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._validation import (
    InvalidParameterError,
    check_finite_number,
    check_finite_state,
    check_fraction,
    check_option,
    check_positive_int,
    renamed,
    short_repr,
)
from .base import BaseForecaster, check_series
from .exog import ExogMixin, ExogSpec
from .transforms import get_transform

__all__ = ["ARIMAForecaster", "ARIMAFallbackWarning"]


class ARIMAFallbackWarning(UserWarning):
    """An ARIMA fit failed (error, non-finite parameters or no convergence); a simpler model
    was used instead."""


def _check_order(order: Any) -> tuple[int, int, int] | str:
    if isinstance(order, str):
        check_option("order", order, ["auto"])
        return order
    if (
        not isinstance(order, tuple | list)
        or len(order) != 3
        or any(isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0 for v in order)
    ):
        raise ValueError(
            f"`order` must be 'auto' or a tuple (p, d, q) of non-negative integers. "
            f"Got {short_repr(order)}."
        )
    return tuple(int(v) for v in order)  # type: ignore[return-value]


def _difference(z: np.ndarray, d: int) -> np.ndarray:
    return np.diff(z, n=d) if d else z.copy()


def _integrate(w_path: np.ndarray, z_tail: np.ndarray, d: int) -> np.ndarray:
    """Undo ``d`` differences of a forecast path given the last ``d`` values of ``z``."""
    path = np.asarray(w_path, dtype=np.float64)
    for k in range(d - 1, -1, -1):
        last = _difference(z_tail, k)[-1]  # last value of the k-th difference
        path = last + np.cumsum(path)
    return path


def _lagged(v: np.ndarray, k: int) -> np.ndarray:
    """Rows ``t = k, ..., n - 1`` of ``[v[t-1], ..., v[t-k]]`` (statsmodels' ``lagmat``, trimmed)."""
    return np.lib.stride_tricks.sliding_window_view(v[:-1], k)[:, ::-1]


def _screen_criteria(
    endog: np.ndarray, candidates: list[tuple[int, int]], trend: str, criterion: str
) -> dict[tuple[int, int], float] | None:
    """AIC or BIC of every ARMA(p, q) candidate at its Hannan-Rissanen estimates.

    The estimates are those of statsmodels' ``hannan_rissanen(..., unbiased=False)`` (Brockwell
    & Davis, 2016, §5.1.4), with the first stage shared by all candidates: a Yule-Walker
    AR(K) fit with ``K = max(floor(log(n)²), 2 max(p, q))`` gives residual estimates, then
    each candidate is one least-squares regression of the series on ``p`` of its lags and
    ``q`` lags of those residuals. The criterion uses the exact Gaussian log-likelihood at
    these estimates (innovations algorithm) and counts the parameters like statsmodels
    (ARMA coefficients, variance and the constant when ``trend="c"``; the series is
    demeaned then). Candidates with non-stationary estimates, or where anything fails, get
    ``inf``. Returns None when the series is too short for the long autoregression.
    """
    from scipy.linalg import solve_toeplitz
    from statsmodels.tsa.innovations.arma_innovations import arma_loglike

    x = endog - endog.mean() if trend == "c" else np.asarray(endog, dtype=np.float64)
    n = x.size
    max_p = max(p for p, _ in candidates)
    max_q = max(q for _, q in candidates)
    K = max(int(np.floor(np.log(n) ** 2)), 2 * max(max_p, max_q))
    if n - K - max_q <= 2 * (max_p + max_q) + 10 or np.ptp(x) == 0:
        return None
    centred = x - x.mean()  # Yule-Walker autocovariances ("mle": divided by n)
    acov = np.array([centred[: n - k] @ centred[k:] for k in range(K + 1)]) / n
    try:
        phi = solve_toeplitz(acov[:K], acov[1:])
    except (ValueError, np.linalg.LinAlgError):
        return None
    resid = x[K:] - _lagged(x, K) @ phi  # e[t] for t = K, ..., n - 1
    n_extra = 2 if trend == "c" else 1  # constant and variance
    penalty = 2.0 if criterion == "aic" else float(np.log(n))
    values: dict[tuple[int, int], float] = {}
    for p, q in candidates:
        try:
            if p == 0 and q == 0:
                ar, ma, sigma2 = np.empty(0), np.empty(0), float(np.var(x))
            else:
                if q == 0:
                    design, target = _lagged(x, p), x[p:]
                else:
                    columns = [_lagged(resid, q)]
                    if p:
                        columns.insert(0, _lagged(x, p)[K + q - p:])
                    design, target = np.hstack(columns), x[K + q:]
                coef = np.linalg.lstsq(design, target, rcond=None)[0]
                fitted_resid = target - design @ coef
                sigma2 = float(fitted_resid @ fitted_resid) / (target.size - coef.size)
                ar, ma = coef[:p], coef[p:]
            if p and np.max(np.abs(np.roots(np.r_[1.0, -ar]))) >= 1.0:
                values[(p, q)] = np.inf  # non-stationary: no stationary likelihood
                continue
            llf = float(arma_loglike(x, ar_params=ar, ma_params=ma, sigma2=sigma2))
            value = -2.0 * llf + penalty * (p + q + n_extra)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            value = np.inf
        values[(p, q)] = value if np.isfinite(value) else np.inf
    return values


def _partial_out(endog: np.ndarray, exog: np.ndarray | None) -> np.ndarray:
    """The residuals of the least-squares regression of ``endog`` on a constant and ``exog``."""
    if exog is None or exog.shape[1] == 0:
        return endog
    design = np.column_stack([np.ones(endog.size), exog])
    return endog - design @ np.linalg.lstsq(design, endog, rcond=None)[0]


class ARIMAForecaster(ExogMixin, BaseForecaster):
    """ARIMA(p, d, q) forecaster (statsmodels) with automatic order selection.

    Parameters
    ----------
    order : tuple (p, d, q) or "auto"
        Fixed order, or ``"auto"`` for a unit-root test for ``d`` and an information-criterion
        search over ``p <= max_p``, ``q <= max_q``.
    trend : {"auto", "c", "n"}
        Deterministic term of the differenced series: ``"c"`` a constant (a drift when
        ``d = 1``), ``"n"`` none, ``"auto"`` = ``"c"`` when ``d <= 1`` else ``"n"``.
    transform : {"log", "log_return", "diff", "none"}
        Scale the ARIMA model is fitted on (default ``"log"``: log prices).
    information_criterion : {"aic", "bic"}
        Criterion of the ``"auto"`` search.
    max_p, max_q : int
        Bounds of the ``"auto"`` search grid.
    max_d : int
        Most differences the unit-root test may choose.
    unit_root_test : {"kpss", "adf"}
        Test used to choose ``d``.
    unit_root_alpha : float
        Significance level of the unit-root test that chooses ``d``.
    search : {"grid", "stepwise"}
        ``"grid"`` (default) considers every ``(p, q)``; ``"stepwise"`` walks the grid from
        ARMA(2, 2), (0, 0), (1, 0), (0, 1) to neighbours with a lower criterion
        (Hyndman & Khandakar, 2008): fewer fits, but it can stop in a local minimum.
    method : {"innovations_mle", "statespace"}
        statsmodels estimation method (``innovations_mle`` is several times faster).
    screen : int or None
        With ``search="grid"``: how many candidates, ranked by the criterion at their
        Hannan-Rissanen estimates, are fitted by maximum likelihood (the order with the
        best criterion among those fits is chosen; if all of them fail, the next ones in
        screening order are tried). ``None`` fits every candidate. Candidates whose
        screening estimates are not stationary rank last. Not used by
        ``search="stepwise"``, nor when the series is too short for the long
        autoregression (then every candidate is fitted).
    reselect_every : int
        With ``order="auto"``: the order search runs at the first fit and then at every
        ``reselect_every``-th consecutive fit of the same series; the fits in between
        re-estimate the previously selected ``(p, q)`` (module docstring). ``1`` searches
        at every fit.
    exog_lags : int or dict of str to int
        Lags at which each past-only exogenous column enters the regression (lag 1 is its
        value at the origin); a dict gives them per column (others get 1). Used only when
        ``fit`` gets ``exog``.
    known_exog : list of str, optional
        Exogenous columns known in advance, used at the target time (``predict`` needs
        their future values).
    exog_transform : str or dict of str to str
        Per-column transform of the exogenous inputs, refitted on every training window:
        ``"none"`` (default), ``"diff"``, ``"log_return"`` or ``"standardize"``.
    alpha : float, optional
        Deprecated name of ``unit_root_alpha`` (removed in the next release).

    Attributes
    ----------
    order_ : tuple (p, d, q) or None
        The order used; ``None`` after falling back to the random walk.
    trend_ : str
    results_ : statsmodels ARIMAResults or None
        Current results (extended by :meth:`update`).
    params_ : ndarray
        Fitted parameters (of the scaled differenced series).
    search_results_ : pandas.DataFrame or None
        The last ``"auto"`` search (of this fit, or of the fit whose order this one
        re-uses): ``p, q, <criterion>, ok, screen_<criterion>`` per candidate, where
        ``<criterion>`` is that of the maximum-likelihood fit (NaN if the candidate was
        screened out, inf if its fit failed), ``ok`` whether it was fitted successfully and
        ``screen_<criterion>`` the screening value (NaN when not screened).
    searched_ : bool or None
        With ``order="auto"``: whether this fit ran the order search (False: it re-used
        the previous order). None for a fixed order.
    fits_since_search_ : int or None
        With ``order="auto"``: fits since the last search (0 when this fit searched).
    fallback_ : str or None
        Why a simpler model than requested was used, if it was.
    input_names_ : list of str
        The exogenous regressors (``<column>_lag_<k>``, ``<column>``; empty without ``exog``),
        in the order of their coefficients in ``params_`` (after the constant).
    """

    def __init__(
        self,
        order: tuple[int, int, int] | str = (1, 0, 0),
        trend: str = "auto",
        transform: str = "log",
        information_criterion: str = "aic",
        max_p: int = 3,
        max_q: int = 3,
        max_d: int = 2,
        unit_root_test: str = "kpss",
        unit_root_alpha: float = 0.05,
        search: str = "grid",
        method: str = "innovations_mle",
        screen: int | None = 3,
        reselect_every: int = 4,
        exog_lags: int | dict[str, int] = 1,
        known_exog: list[str] | None = None,
        exog_transform: str | dict[str, str] = "none",
        alpha: float | None = None,
    ) -> None:
        self.order = order
        self.trend = trend
        self.transform = transform
        self.information_criterion = information_criterion
        self.max_p = max_p
        self.max_q = max_q
        self.max_d = max_d
        self.unit_root_test = unit_root_test
        self.unit_root_alpha = unit_root_alpha
        self.alpha = alpha
        self.search = search
        self.method = method
        self.screen = screen
        self.reselect_every = reselect_every
        self.exog_lags = exog_lags
        self.known_exog = known_exog
        self.exog_transform = exog_transform

    # ------------------------------------------------------------ params
    def _check_params(self) -> None:
        _check_order(self.order)
        check_option("trend", self.trend, ["auto", "c", "n"])
        get_transform(self.transform)
        check_option("information_criterion", self.information_criterion, ["aic", "bic"])
        check_positive_int("max_p", self.max_p, minimum=0)
        check_positive_int("max_q", self.max_q, minimum=0)
        check_positive_int("max_d", self.max_d, minimum=0)
        check_option("unit_root_test", self.unit_root_test, ["kpss", "adf"])
        check_fraction("unit_root_alpha", renamed(self, "unit_root_alpha", "alpha", 0.05))
        check_option("search", self.search, ["stepwise", "grid"])
        check_option("method", self.method, ["innovations_mle", "statespace"])
        if self.screen is not None and (isinstance(self.screen, bool) or not isinstance(
                self.screen, int | np.integer) or self.screen < 1):
            raise InvalidParameterError(f"`screen` must be an integer >= 1 or None. Got "
                                        f"{short_repr(self.screen)}.")
        check_positive_int("reselect_every", self.reselect_every)
        self._check_exog_params()

    @property
    def min_train_size(self) -> int:
        """``n_lost + d + p + q + 3`` (with the search bounds for ``order="auto"``)."""
        self._check_params()
        n_lost = get_transform(self.transform).n_lost
        order = _check_order(self.order)
        if order == "auto":
            return n_lost + self.max_d + self.max_p + self.max_q + 3
        p, d, q = order
        return n_lost + d + p + q + 3

    @property
    def window_length(self) -> int:
        """Levels needed to difference new observations: ``n_lost + d`` (at least 1)."""
        n_lost = get_transform(self.transform).n_lost
        d = getattr(self, "d_", 0)
        return max(1, n_lost + d)

    def _check_values(self, values: np.ndarray, name: str) -> None:
        get_transform(self.transform).check(values, name)

    # -------------------------------------------------------------- exog
    @property
    def _exog_scaling(self) -> str:
        return "scale"

    def _exog_extra_rows(self, spec: ExogSpec) -> int:
        """Rows before the first target whose regressors exist (with ``d = 0``)."""
        return max(0, spec.first_origin + 1 - get_transform(self.transform).n_lost)

    def _exog_width(self) -> int:
        return 0 if self._exog is None else self._exog.spec.width

    def _regressors(self, exog: np.ndarray | None) -> tuple[np.ndarray | None, str]:
        """statsmodels' (exog, trend) for these regressors: with ``trend_="c"`` the constant
        is a column of ones in exog and trend "n" (the same model; older statsmodels refuse
        trend "c" with the one-row exog of an ``extend``)."""
        if exog is None or self.trend_ != "c":
            return exog, self.trend_
        return np.column_stack([np.ones(exog.shape[0]), exog]), "n"

    # --------------------------------------------------------------- fit
    def fit(self, y: pd.Series, exog: pd.DataFrame | pd.Series | None = None
            ) -> ARIMAForecaster:
        """Estimate the parameters on ``y`` (see :meth:`BaseForecaster.fit`).

        With ``order="auto"`` and ``reselect_every > 1``, a forecaster fitted before keeps
        its order (only re-estimating the parameters) when ``y`` continues the series it
        has seen: ``y`` contains the last observation seen (``cutoff_``) with the same
        value. See the module docstring.
        """
        self._continues = self._is_continuation(y)
        try:
            return super().fit(y, exog)
        finally:
            del self._continues

    def _is_continuation(self, y: Any) -> bool:
        """Whether ``y`` holds this forecaster's last observation (label and value)."""
        if "cutoff_" not in self.__dict__ or getattr(self, "_order_memory", None) is None:
            return False
        try:
            series = check_series(y)
            if series.index.has_duplicates or self.cutoff_ not in series.index:
                return False
            return bool(float(series.loc[self.cutoff_]) == float(self._window[-1]))
        except Exception:  # anything unusual (bad input is reported by fit): search anew
            return False

    def _search_key(self) -> list[Any]:
        """The settings an order search depends on; a change forces a new search."""
        return [self.transform, self.trend, self.information_criterion, int(self.max_p),
                int(self.max_q), int(self.max_d), self.unit_root_test,
                float(renamed(self, "unit_root_alpha", "alpha", 0.05, warn=False)),
                self.search, None if self.screen is None else int(self.screen), self.method,
                None if self._exog is None else self._exog.spec.describe()]

    def _fit(self, values: np.ndarray) -> None:
        transform = get_transform(self.transform)
        z = transform.transform(values, "y")
        order = _check_order(self.order)
        memory = getattr(self, "_order_memory", None) if getattr(self, "_continues", False) else None
        previous_table = getattr(self, "search_results_", None)
        self.search_results_ = None
        self.fallback_ = None
        self.searched_ = None
        self.fits_since_search_ = None
        self._order_memory = None
        d = self._choose_d(z) if order == "auto" else order[1]
        self.d_ = d
        self.trend_ = ("c" if d <= 1 else "n") if self.trend == "auto" else self.trend
        w = _difference(z, d)
        scale = float(np.std(w))
        self.scale_ = scale if np.isfinite(scale) and scale > 0 else 1.0
        endog = w / self.scale_
        skip, exog = 0, None
        if self._exog is not None:  # regressors of the targets t = first, ..., n - 1
            values_exog, self._exog.train = self._exog.train, None
            first = transform.n_lost + d
            skip = max(0, self._exog.spec.first_origin + 1 - first)
            endog = endog[skip:]
            exog = self._exog.design(values_exog, np.arange(first + skip - 1,
                                                            values.size - 1), 1)

        if order == "auto":
            key = self._search_key()
            results = None
            if (memory is not None and memory["d"] == d and memory["key"] == key
                    and memory["fits_since_search"] + 1 < self.reselect_every):
                p, q = memory["pq"]
                results, _ = self._try_fit(endog, p, q, exog)
                if results is not None:
                    self.searched_ = False
                    self.fits_since_search_ = memory["fits_since_search"] + 1
                    self.search_results_ = previous_table
            if results is None:
                results, (p, q) = self._search(endog, exog)
                self.searched_ = True
                self.fits_since_search_ = 0
            if results is None:
                self._fall_back(f"no ARMA(p, q) with p <= {self.max_p}, q <= {self.max_q} could "
                                f"be fitted with d={d}")
            else:
                self._order_memory = {"pq": [int(p), int(q)], "d": int(d), "key": key,
                                      "fits_since_search": self.fits_since_search_}
        else:
            p, _, q = order
            results, reason = self._try_fit(endog, p, q, exog)
            if results is None:
                failure = f"ARIMA{(p, d, q)} failed ({reason})"
                if (p, q) != (0, 0):
                    self._warn(f"{failure}; falling back to ARIMA(0, {d}, 0)")
                    p, q = 0, 0
                    results, reason = self._try_fit(endog, 0, 0, exog)
                    failure += f"; ARIMA(0, {d}, 0) failed ({reason})" if results is None else ""
                if results is None:
                    self._fall_back(failure)
                else:
                    self.fallback_ = failure
        if results is None:
            return
        self.order_ = (int(p), int(d), int(q))
        self.results_ = results
        self.params_ = np.asarray(results.params, dtype=np.float64).copy()
        self._endog = [endog]
        self._exog_rows = [] if exog is None else [exog]
        fitted_w = np.asarray(results.fittedvalues, dtype=np.float64) * self.scale_
        z_hat = z[d + skip:] - (w[skip:] - fitted_w)
        start = transform.n_lost + d + skip
        previous = np.concatenate([[np.nan], values[:-1]])[start:]  # ignored by log / none
        levels = transform.one_step_levels(z_hat, previous)
        self.in_sample_residuals_ = values[start:] - levels

    def _fall_back(self, reason: str) -> None:
        self._warn(f"{reason}; falling back to the random walk (naive) forecast")
        self.fallback_ = reason
        self.order_ = None
        self.results_ = None
        self.params_ = np.empty(0)
        self._endog = []
        self._exog_rows = []
        self.in_sample_residuals_ = None

    @staticmethod
    def _warn(message: str) -> None:
        warnings.warn(message, ARIMAFallbackWarning, stacklevel=4)

    def _choose_d(self, z: np.ndarray) -> int:
        from statsmodels.tools.sm_exceptions import InterpolationWarning
        from statsmodels.tsa.stattools import adfuller, kpss

        d, series = 0, z
        alpha = renamed(self, "unit_root_alpha", "alpha", 0.05, warn=False)
        while d < self.max_d and series.size > 3 and np.ptp(series) > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InterpolationWarning)
                warnings.simplefilter("ignore", FutureWarning)  # tuple vs result-object returns
                try:
                    if self.unit_root_test == "kpss":
                        nonstationary = kpss(series, regression="c", nlags="auto")[1] < alpha
                    else:
                        nonstationary = adfuller(series, autolag="AIC")[1] > alpha
                except (ValueError, np.linalg.LinAlgError):
                    break
            if not nonstationary:
                break
            d += 1
            series = np.diff(series)
        return d

    def _try_fit(self, endog: np.ndarray, p: int, q: int, exog: np.ndarray | None = None
                 ) -> tuple[Any, str]:
        """Fit ARMA(p, q) (with regressors ``exog``); return (results, "") or (None, reason)."""
        from statsmodels.tools.sm_exceptions import ConvergenceWarning
        from statsmodels.tsa.arima.model import ARIMA

        width = 0 if exog is None else exog.shape[1]
        if endog.size < p + q + width + 2 or np.ptp(endog) == 0:
            return None, f"{endog.size} observations are too few or constant"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                regressors, trend = self._regressors(exog)
                model = ARIMA(endog, exog=regressors, order=(p, 0, q), trend=trend)
                results = model.fit(method=self.method, cov_type="none")
            except Exception as exc:  # statsmodels raises many types on degenerate data
                return None, f"{type(exc).__name__}: {exc}"
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            return None, "the optimiser did not converge"
        if not (np.all(np.isfinite(results.params)) and np.isfinite(results.llf)):
            return None, "non-finite parameters or likelihood"
        return results, ""

    def _criterion(self, results: Any) -> float:
        return float(getattr(results, self.information_criterion))

    def _search(self, endog: np.ndarray, exog: np.ndarray | None = None
                ) -> tuple[Any, tuple[int, int]]:
        fits: dict[tuple[int, int], tuple[Any, float]] = {}

        def evaluate(p: int, q: int) -> float:
            if (p, q) not in fits:
                results, _ = self._try_fit(endog, p, q, exog)
                value = self._criterion(results) if results is not None else np.inf
                fits[(p, q)] = (results, value if np.isfinite(value) else np.inf)
            return fits[(p, q)][1]

        grid = [(p, q) for p in range(self.max_p + 1) for q in range(self.max_q + 1)]
        screened: dict[tuple[int, int], float] | None = None
        if self.search == "grid":
            if self.screen is not None and self.screen < len(grid):
                screened = _screen_criteria(_partial_out(endog, exog), grid, self.trend_,
                                            self.information_criterion)
            if screened is None:
                for p, q in grid:
                    evaluate(p, q)
            else:
                # the `screen` best by screening value, then further ones until a fit succeeds
                for rank, (p, q) in enumerate(sorted(grid, key=lambda k: (screened[k], k))):
                    if rank >= self.screen and any(np.isfinite(v) for _, v in fits.values()):
                        break
                    evaluate(p, q)
        else:
            starts = [(min(2, self.max_p), min(2, self.max_q)), (0, 0),
                      (min(1, self.max_p), 0), (0, min(1, self.max_q))]
            for p, q in starts:
                evaluate(p, q)
            best = min(fits, key=lambda k: (fits[k][1], k))
            while True:
                p0, q0 = best
                moves = [(p0 + dp, q0 + dq) for dp in (-1, 0, 1) for dq in (-1, 0, 1)
                         if (dp, dq) != (0, 0)]
                candidates = [(p, q) for p, q in moves
                              if 0 <= p <= self.max_p and 0 <= q <= self.max_q]
                for p, q in candidates:
                    evaluate(p, q)
                new_best = min(fits, key=lambda k: (fits[k][1], k))
                if new_best == best:
                    break
                best = new_best
        rows = sorted(set(fits) | (set(screened) if screened is not None else set()))
        ic = self.information_criterion
        self.search_results_ = pd.DataFrame(
            [(p, q, fits[(p, q)][1] if (p, q) in fits else np.nan,
              (p, q) in fits and fits[(p, q)][0] is not None,
              screened[(p, q)] if screened is not None else np.nan) for p, q in rows],
            columns=["p", "q", ic, "ok", f"screen_{ic}"],
        )
        best = min(fits, key=lambda k: (fits[k][1], k))
        results, value = fits[best]
        return (results if np.isfinite(value) else None), best

    # ----------------------------------------------------------- predict
    def _predict(self, steps: int) -> np.ndarray:
        if self.results_ is None:
            return np.full(steps, self._window[-1])
        transform = get_transform(self.transform)
        exog = None if self._exog is None else self._exog.forecast_rows(steps, direct=False)
        w_path = np.asarray(self.results_.forecast(steps, exog=self._regressors(exog)[0]),
                            dtype=np.float64) * self.scale_
        z_window = transform.transform(self._window, "y")
        z_path = _integrate(w_path, z_window[-self.d_:], self.d_) if self.d_ else w_path
        return transform.inverse(z_path, self._window)

    def _update(self, values: np.ndarray) -> None:
        if self.results_ is None:
            return
        transform = get_transform(self.transform)
        z = transform.transform(np.concatenate([self._window, values]), "y_new")
        w_new = _difference(z, self.d_)[-values.size :] / self.scale_
        exog = None
        if self._exog is not None:  # regressors of the new targets, from the extended rows
            recent = self._exog.recent
            targets = recent.shape[0] - values.size + np.arange(values.size)
            exog = self._exog.design(self._exog.values(recent), targets - 1, 1)
            self._exog_rows.append(exog)
        self.results_ = self.results_.extend(w_new, exog=self._regressors(exog)[0])
        self._endog.append(w_new)

    # ------------------------------------------------------- persistence
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "order": None if self.order_ is None else list(self.order_),
            "d": self.d_,
            "trend": self.trend_,
            "scale": self.scale_,
            "fallback": self.fallback_,
            "searched": self.searched_,
            "fits_since_search": self.fits_since_search_,
            "order_memory": self._order_memory,
        }
        arrays = {"params": self.params_}
        if self.results_ is not None:
            arrays["endog"] = np.concatenate(self._endog)
            if self._exog_rows:
                arrays["exog_rows"] = np.concatenate(self._exog_rows)
        if self.search_results_ is not None:
            meta["search_columns"] = list(self.search_results_.columns)
            arrays["search"] = self.search_results_.to_numpy(dtype=np.float64)
        return meta, arrays

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        from statsmodels.tsa.arima.model import ARIMA

        self.d_ = check_positive_int("state d", meta["d"], minimum=0)
        self.trend_ = check_option("state trend", meta["trend"], ["c", "n"])
        self.scale_ = check_finite_number("state scale", meta["scale"], positive=True)
        self.fallback_ = meta["fallback"]
        self.params_ = check_finite_state("state params", arrays["params"], (None,))
        # absent from files written before order re-use existed: the next fit searches
        self.searched_ = meta.get("searched")
        self.fits_since_search_ = meta.get("fits_since_search")
        self._order_memory = meta.get("order_memory")
        self.search_results_ = None
        if "search" in arrays:
            columns = meta.get("search_columns", ["p", "q", self.information_criterion, "ok"])
            table = pd.DataFrame(arrays["search"], columns=columns)
            self.search_results_ = table.astype({"p": int, "q": int, "ok": bool})
        self._exog_rows = []
        if meta["order"] is None:
            self.order_ = None
            self.results_ = None
            self._endog = []
            return
        self.order_ = tuple(check_positive_int("state order", v, minimum=0) for v in meta["order"])
        endog = check_finite_state("state endog", arrays["endog"], (None,))
        exog = None
        if self._exog is not None:
            exog = check_finite_state("state exog_rows", arrays.get("exog_rows", np.empty(0)),
                                      (endog.size, self._exog_width()))
            self._exog_rows = [exog]
        p, _, q = self.order_
        regressors, trend = self._regressors(exog)
        model = ARIMA(endog, exog=regressors, order=(p, 0, q), trend=trend)
        self.results_ = model.filter(self.params_, cov_type="none")
        self._endog = [endog]
