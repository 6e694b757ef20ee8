"""The outcome of a backtest: tidy forecasts, the fold plan, timings, metrics and DM tests."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_option, check_positive_int
from . import metrics as _m

__all__ = ["BacktestResult"]


@dataclass(repr=False)
class BacktestResult:
    """Outcome of :func:`backtest`.

    Attributes
    ----------
    predictions : pandas.DataFrame
        Tidy forecasts: ``origin`` (last observation used), ``target``, ``horizon`` (steps
        after the origin), ``model``, ``forecast``, ``actual``, ``fold`` and, with intervals,
        ``lower`` and ``upper``.
    folds : pandas.DataFrame
        The fold plan (see :func:`plan_backtest`).
    timings : pandas.DataFrame
        Per model: ``fit_seconds`` (total over refits), ``predict_seconds`` (updates and
        predictions) and ``n_fits``. Tasks loaded from a checkpoint keep their recorded times.
    config : dict
        The plan settings, the forecasters' parameters and the interval options.
    y : pandas.Series
        The backtested series (a copy).
    in_sample_residuals : dict
        ``(model, fold) -> one-step in-sample residuals`` of the model used at that fold (None
        when the forecaster does not expose them).
    """

    predictions: pd.DataFrame
    folds: pd.DataFrame
    timings: pd.DataFrame
    config: dict[str, Any]
    y: pd.Series
    in_sample_residuals: dict[tuple[str, int], np.ndarray | None] = field(default_factory=dict)

    def __repr__(self) -> str:
        models = list(pd.unique(self.predictions["model"]))
        return (f"BacktestResult(models={models}, folds={len(self.folds)}, "
                f"forecasts={len(self.predictions)})")

    @property
    def models(self) -> list[str]:
        """Model names in the order they were given."""
        return list(pd.unique(self.predictions["model"]))

    @property
    def fit_seconds(self) -> pd.Series:
        """Total fitting time per model, in seconds."""
        return self.timings["fit_seconds"]

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Model x metric table over all forecasts (see :meth:`compute_metrics`)."""
        return self.compute_metrics()

    @cached_property
    def metrics_by_horizon(self) -> pd.DataFrame:
        """Metrics indexed by (model, horizon)."""
        return self.compute_metrics(by_horizon=True)

    def compute_metrics(
        self, *, by_horizon: bool = False, seasonal_period: int = 1
    ) -> pd.DataFrame:
        """Accuracy metrics per model (and per horizon).

        Columns: ``n``, ``mae``, ``rmse``, ``mape`` and ``smape`` (percent; MAPE is NaN if an
        actual is zero), ``mase`` (each fold scaled by the in-sample MAE of the seasonal naive
        forecast on that fold's training window), ``directional_accuracy`` (share of right calls;
        flat forecasts call no direction, NaN if none) and ``directional_pvalue`` (two-sided
        exact binomial test against 0.5). With intervals also ``coverage``,
        ``nominal_coverage``, ``mean_width``, ``interval_score`` and ``n_intervals`` (forecasts
        that have an interval; coverage and width are over those).

        Parameters
        ----------
        by_horizon : bool
            Index by (model, horizon) instead of model.
        seasonal_period : int
            Seasonal period ``m`` of the MASE scale.
        """
        m = check_positive_int("seasonal_period", seasonal_period)
        values = self.y.to_numpy()
        scales = {}
        for row in self.folds.itertuples():
            start = self.y.index.get_loc(row.train_start)
            window = values[start: start + row.n_train]
            scales[row.fold] = (_m.naive_scale(window, m) if window.size > m else np.nan)
        frame = self.predictions
        origin_pos = self.y.index.get_indexer(pd.Index(frame["origin"]))
        last = values[origin_pos]
        scale = frame["fold"].map(scales).to_numpy(np.float64)
        keys = ["model", "horizon"] if by_horizon else ["model"]
        rows = {}
        for key, pos in frame.groupby(keys, sort=False).indices.items():
            rows[key] = self._group_metrics(frame.iloc[pos], last[pos], scale[pos])
        order = {name: i for i, name in enumerate(self.models)}
        if by_horizon:
            keys_sorted = sorted(rows, key=lambda k: (order[k[0]], k[1]))
            out = pd.DataFrame([rows[k] for k in keys_sorted],
                               index=pd.MultiIndex.from_tuples(keys_sorted, names=keys))
        else:
            keys_sorted = sorted(rows, key=lambda k: order[k])
            out = pd.DataFrame([rows[k] for k in keys_sorted],
                               index=pd.Index(keys_sorted, name="model"))
        out["n"] = out["n"].astype(int)
        return out

    def _group_metrics(self, group: pd.DataFrame, last: np.ndarray, scale: np.ndarray
                       ) -> dict[str, float]:
        actual = group["actual"].to_numpy(np.float64)
        forecast = group["forecast"].to_numpy(np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            direction = _m.directional_accuracy_test(actual, forecast, last)
            row = {
                "n": len(group),
                "mae": _m.mae(actual, forecast),
                "rmse": _m.rmse(actual, forecast),
                "mape": _m.mape(actual, forecast),
                "smape": _m.smape(actual, forecast),
                "mase": (float(np.mean(np.abs(actual - forecast) / scale))
                         if np.all(scale > 0) else np.nan),
                "directional_accuracy": direction.accuracy,
                "directional_pvalue": direction.pvalue,
            }
        options = self.config.get("intervals")
        if options is not None:
            lower = group["lower"].to_numpy(np.float64)
            upper = group["upper"].to_numpy(np.float64)
            has = np.isfinite(lower) & np.isfinite(upper)
            row["nominal_coverage"] = options["level"]
            row["n_intervals"] = int(has.sum())
            if has.any():
                row["coverage"] = _m.coverage(actual[has], lower[has], upper[has])
                row["mean_width"] = _m.mean_interval_width(lower[has], upper[has])
                row["interval_score"] = _m.interval_score(actual[has], lower[has], upper[has],
                                                          options["level"])
            else:
                row.update(coverage=np.nan, mean_width=np.nan, interval_score=np.nan)
        return row

    def dm_tests(
        self,
        reference: str = "naive",
        *,
        loss: str = "squared",
        horizon: int | None = None,
        alternative: str = "two-sided",
    ) -> pd.DataFrame:
        """Diebold–Mariano tests (HLN-corrected) of every model against ``reference``.

        Losses are paired on (origin, target); the test at horizon ``h`` uses ``h`` as its
        autocovariance horizon. A negative statistic means the model beats the reference.

        Parameters
        ----------
        reference : str
            Name of the benchmark model.
        loss : {"squared", "absolute"}
            Loss applied to the forecast errors.
        horizon : int, optional
            Only this horizon; default every horizon.
        alternative : {"two-sided", "less", "greater"}
            ``"less"``: the model is more accurate than the reference.

        Returns
        -------
        pandas.DataFrame
            Indexed by (model, horizon) with ``statistic``, ``pvalue``,
            ``mean_loss_difference`` (model minus reference) and ``n``.
        """
        check_option("reference", reference, self.models)
        check_option("loss", loss, ("squared", "absolute"))
        frame = self.predictions
        horizons = sorted(int(h) for h in pd.unique(frame["horizon"]))
        if horizon is not None:
            check_option("horizon", horizon, horizons)
            horizons = [horizon]
        base = frame[frame["model"] == reference].set_index(["origin", "target"])
        rows = {}
        for name in self.models:
            if name == reference:
                continue
            other = frame[frame["model"] == name].set_index(["origin", "target"])
            for h in horizons:
                a = other[other["horizon"] == h]
                b = base[base["horizon"] == h]
                joined = a[["forecast", "actual"]].merge(
                    b[["forecast"]], left_index=True, right_index=True, how="inner",
                    suffixes=("", "_ref"))
                errors_a = joined["actual"] - joined["forecast"]
                errors_b = joined["actual"] - joined["forecast_ref"]
                try:
                    result = _m.diebold_mariano(errors_a, errors_b, horizon=h, loss=loss,
                                                alternative=alternative)
                except ValueError:  # identical losses or too few pairs: no test possible
                    diff = (errors_a**2 - errors_b**2 if loss == "squared"
                            else errors_a.abs() - errors_b.abs())
                    rows[(name, h)] = {"statistic": np.nan, "pvalue": np.nan,
                                       "mean_loss_difference": float(diff.mean()),
                                       "n": len(joined)}
                    continue
                rows[(name, h)] = {"statistic": result.statistic, "pvalue": result.pvalue,
                                   "mean_loss_difference": result.mean_loss_difference,
                                   "n": result.n}
        out = pd.DataFrame.from_dict(rows, orient="index")
        if len(out):
            out.index = pd.MultiIndex.from_tuples(out.index, names=["model", "horizon"])
        out.attrs["reference"] = reference
        return out
