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
- Fits that raise, return non-finite parameters or do not converge are rejected. A fixed order
  that fails falls back to ARMA(0, 0) (with the same ``d``) and then to the random walk, with a
  :class:`ARIMAFallbackWarning`; a backtest never crashes on a bad fit.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .._validation import (
    check_finite_number,
    check_finite_state,
    check_fraction,
    check_option,
    check_positive_int,
    renamed,
    short_repr,
)
from .base import BaseForecaster
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


class ARIMAForecaster(BaseForecaster):
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
        ``"grid"`` (default) fits every ``(p, q)``; ``"stepwise"`` walks the grid from
        ARMA(2, 2), (0, 0), (1, 0), (0, 1) to neighbours with a lower criterion
        (Hyndman & Khandakar, 2008): fewer fits, but it can stop in a local minimum.
    method : {"innovations_mle", "statespace"}
        statsmodels estimation method (``innovations_mle`` is several times faster).
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
        ``p, q, criterion, ok`` for every candidate of the ``"auto"`` search.
    fallback_ : str or None
        Why a simpler model than requested was used, if it was.
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

    # --------------------------------------------------------------- fit
    def _fit(self, values: np.ndarray) -> None:
        transform = get_transform(self.transform)
        z = transform.transform(values, "y")
        order = _check_order(self.order)
        self.search_results_ = None
        self.fallback_ = None
        d = self._choose_d(z) if order == "auto" else order[1]
        self.d_ = d
        self.trend_ = ("c" if d <= 1 else "n") if self.trend == "auto" else self.trend
        w = _difference(z, d)
        scale = float(np.std(w))
        self.scale_ = scale if np.isfinite(scale) and scale > 0 else 1.0
        endog = w / self.scale_

        if order == "auto":
            results, (p, q) = self._search(endog)
            if results is None:
                self._fall_back(f"no ARMA(p, q) with p <= {self.max_p}, q <= {self.max_q} could "
                                f"be fitted with d={d}")
        else:
            p, _, q = order
            results, reason = self._try_fit(endog, p, q)
            if results is None:
                failure = f"ARIMA{(p, d, q)} failed ({reason})"
                if (p, q) != (0, 0):
                    self._warn(f"{failure}; falling back to ARIMA(0, {d}, 0)")
                    p, q = 0, 0
                    results, reason = self._try_fit(endog, 0, 0)
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
        fitted_w = np.asarray(results.fittedvalues, dtype=np.float64) * self.scale_
        z_hat = z[d:] - (w - fitted_w)
        start = transform.n_lost + d
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

    def _try_fit(self, endog: np.ndarray, p: int, q: int) -> tuple[Any, str]:
        """Fit ARMA(p, q); return (results, "") or (None, reason)."""
        from statsmodels.tools.sm_exceptions import ConvergenceWarning
        from statsmodels.tsa.arima.model import ARIMA

        if endog.size < p + q + 2 or np.ptp(endog) == 0:
            return None, f"{endog.size} observations are too few or constant"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model = ARIMA(endog, order=(p, 0, q), trend=self.trend_)
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

    def _search(self, endog: np.ndarray) -> tuple[Any, tuple[int, int]]:
        fits: dict[tuple[int, int], tuple[Any, float]] = {}

        def evaluate(p: int, q: int) -> float:
            if (p, q) not in fits:
                results, _ = self._try_fit(endog, p, q)
                value = self._criterion(results) if results is not None else np.inf
                fits[(p, q)] = (results, value if np.isfinite(value) else np.inf)
            return fits[(p, q)][1]

        grid = [(p, q) for p in range(self.max_p + 1) for q in range(self.max_q + 1)]
        if self.search == "grid":
            for p, q in grid:
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
        self.search_results_ = pd.DataFrame(
            [(p, q, value, res is not None) for (p, q), (res, value) in sorted(fits.items())],
            columns=["p", "q", self.information_criterion, "ok"],
        )
        best = min(fits, key=lambda k: (fits[k][1], k))
        results, value = fits[best]
        return (results if np.isfinite(value) else None), best

    # ----------------------------------------------------------- predict
    def _predict(self, steps: int) -> np.ndarray:
        if self.results_ is None:
            return np.full(steps, self._window[-1])
        transform = get_transform(self.transform)
        w_path = np.asarray(self.results_.forecast(steps), dtype=np.float64) * self.scale_
        z_window = transform.transform(self._window, "y")
        z_path = _integrate(w_path, z_window[-self.d_:], self.d_) if self.d_ else w_path
        return transform.inverse(z_path, self._window)

    def _update(self, values: np.ndarray) -> None:
        if self.results_ is None:
            return
        transform = get_transform(self.transform)
        z = transform.transform(np.concatenate([self._window, values]), "y_new")
        w_new = _difference(z, self.d_)[-values.size :] / self.scale_
        self.results_ = self.results_.extend(w_new)
        self._endog.append(w_new)

    # ------------------------------------------------------- persistence
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "order": None if self.order_ is None else list(self.order_),
            "d": self.d_,
            "trend": self.trend_,
            "scale": self.scale_,
            "fallback": self.fallback_,
        }
        arrays = {"params": self.params_}
        if self.results_ is not None:
            arrays["endog"] = np.concatenate(self._endog)
        if self.search_results_ is not None:
            arrays["search"] = self.search_results_[["p", "q", self.information_criterion,
                                                     "ok"]].to_numpy(dtype=np.float64)
        return meta, arrays

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        from statsmodels.tsa.arima.model import ARIMA

        self.d_ = check_positive_int("state d", meta["d"], minimum=0)
        self.trend_ = check_option("state trend", meta["trend"], ["c", "n"])
        self.scale_ = check_finite_number("state scale", meta["scale"], positive=True)
        self.fallback_ = meta["fallback"]
        self.params_ = check_finite_state("state params", arrays["params"], (None,))
        self.search_results_ = None
        if "search" in arrays:
            table = pd.DataFrame(arrays["search"], columns=["p", "q", self.information_criterion,
                                                            "ok"])
            self.search_results_ = table.astype({"p": int, "q": int, "ok": bool})
        if meta["order"] is None:
            self.order_ = None
            self.results_ = None
            self._endog = []
            return
        self.order_ = tuple(check_positive_int("state order", v, minimum=0) for v in meta["order"])
        endog = check_finite_state("state endog", arrays["endog"], (None,))
        p, _, q = self.order_
        model = ARIMA(endog, order=(p, 0, q), trend=self.trend_)
        self.results_ = model.filter(self.params_, cov_type="none")
        self._endog = [endog]
