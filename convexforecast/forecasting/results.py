"""The outcome of a backtest: tidy forecasts, the fold plan, timings, metrics and DM tests."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .._validation import InvalidParameterError, check_bool, check_option, check_positive_int
from . import metrics as _m
from .explain import BacktestExplanation

__all__ = ["BacktestResult"]


@dataclass(repr=False)
class BacktestResult:
    """Outcome of :func:`backtest`.

    Attributes
    ----------
    predictions : pandas.DataFrame
        Tidy forecasts: ``origin`` (last observation used), ``target``, ``horizon`` (steps
        after the origin), ``model``, ``forecast``, ``actual``, ``fold`` and, with intervals,
        ``lower`` and ``upper``; in a backtest of many series, first a ``series`` column
        (folds are numbered per series).
    folds : pandas.DataFrame
        The fold plan (see :func:`plan_backtest`); per series, with a ``series`` column, in a
        backtest of many series.
    timings : pandas.DataFrame
        Per model: ``fit_seconds`` (total over refits), ``predict_seconds`` (updates and
        predictions) and ``n_fits``. Tasks loaded from a checkpoint keep their recorded times.
    config : dict
        The plan settings, the forecasters' parameters and the interval options.
    y : pandas.Series or dict of str to pandas.Series
        The backtested series (validated copies).
    in_sample_residuals : dict
        ``(model, fold) -> one-step in-sample residuals`` of the model used at that fold
        (``(model, series, fold)`` with many series; None or absent when the forecaster does
        not expose them, e.g. for global models).
    explanations : dict
        ``model -> BacktestExplanation`` for the models that explain their fits (the convex
        net): the certificate of every refit and what the last refit learned (see
        :mod:`convexforecast.forecasting.explain`).
    """

    predictions: pd.DataFrame
    folds: pd.DataFrame
    timings: pd.DataFrame
    config: dict[str, Any]
    y: pd.Series | dict[str, pd.Series]
    in_sample_residuals: dict[tuple, np.ndarray | None] = field(default_factory=dict)
    explanations: dict[str, BacktestExplanation] = field(default_factory=dict)

    def __repr__(self) -> str:
        models = list(pd.unique(self.predictions["model"]))
        return (f"BacktestResult(models={models}, folds={len(self.folds)}, "
                f"forecasts={len(self.predictions)})")

    @property
    def models(self) -> list[str]:
        """Model names in the order they were given."""
        return list(pd.unique(self.predictions["model"]))

    @property
    def series(self) -> list[str]:
        """Names of the backtested series (empty for a backtest of one series)."""
        return list(self.y) if isinstance(self.y, dict) else []

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

    @cached_property
    def metrics_by_series(self) -> pd.DataFrame:
        """Metrics indexed by (model, series), for a backtest of many series."""
        return self.compute_metrics(by_series=True)

    def _panel(self) -> dict[str, pd.Series]:
        return self.y if isinstance(self.y, dict) else {"y": self.y}

    def _row_series(self) -> np.ndarray:
        frame = self.predictions
        return (frame["series"].to_numpy(dtype=object) if "series" in frame.columns
                else np.full(len(frame), "y", dtype=object))

    def _scales_and_last(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Per prediction row: the MASE scale of its fold and the value at its origin."""
        panel, many = self._panel(), "series" in self.folds.columns
        scales = {}
        for row in self.folds.itertuples():
            name = row.series if many else "y"
            values = panel[name].to_numpy()
            start = panel[name].index.get_loc(row.train_start)
            window = values[start: start + row.n_train]
            scales[(name, row.fold)] = (_m.naive_scale(window, m) if window.size > m
                                        else np.nan)
        frame, names = self.predictions, self._row_series()
        scale = np.array([scales[(n, int(f))] for n, f in zip(names, frame["fold"],
                                                               strict=True)], dtype=np.float64)
        last = np.empty(len(frame))
        for name, series in panel.items():
            rows = np.flatnonzero(names == name)
            last[rows] = series.to_numpy()[series.index.get_indexer(
                pd.Index(frame["origin"].to_numpy()[rows]))]
        return scale, last

    def compute_metrics(
        self, *, by_horizon: bool = False, by_series: bool = False, seasonal_period: int = 1
    ) -> pd.DataFrame:
        """Accuracy metrics per model (and per series and per horizon).

        Columns: ``n``, ``mae``, ``rmse``, ``mape`` and ``smape`` (percent; MAPE is NaN if an
        actual is zero), ``mase`` (each fold scaled by the in-sample MAE of the seasonal naive
        forecast on that fold's training window), ``directional_accuracy`` (share of right calls;
        flat forecasts call no direction, NaN if none) and ``directional_pvalue`` (two-sided
        exact binomial test against 0.5). With intervals also ``coverage``,
        ``nominal_coverage``, ``mean_width``, ``interval_score`` and ``n_intervals`` (forecasts
        that have an interval; coverage and width are over those).

        With many series, the default pools every series' forecasts (MAE and RMSE then mix
        the series' units; MASE, MAPE and directional accuracy are scale-free).

        Parameters
        ----------
        by_horizon : bool
            Also index by horizon.
        by_series : bool
            Also index by series (a backtest of many series only).
        seasonal_period : int
            Seasonal period ``m`` of the MASE scale.
        """
        m = check_positive_int("seasonal_period", seasonal_period)
        by_series = check_bool("by_series", by_series)
        if by_series and not self.series:
            raise InvalidParameterError("`by_series` needs a backtest of many series. Got "
                                        "by_series=True for a backtest of one series.")
        frame = self.predictions
        scale, last = self._scales_and_last(m)
        keys = ["model", *(["series"] if by_series else []),
                *(["horizon"] if by_horizon else [])]
        rows = {}
        for key, pos in frame.groupby(keys, sort=False).indices.items():
            key = key if isinstance(key, tuple) else (key,)
            rows[key] = self._group_metrics(frame.iloc[pos], last[pos], scale[pos])
        rank = {"model": {name: i for i, name in enumerate(self.models)},
                "series": {name: i for i, name in enumerate(self.series)}}
        keys_sorted = sorted(rows, key=lambda k: tuple(
            rank[name][value] if name in rank else value
            for name, value in zip(keys, k, strict=True)))
        index = (pd.MultiIndex.from_tuples(keys_sorted, names=keys) if len(keys) > 1
                 else pd.Index([k[0] for k in keys_sorted], name="model"))
        out = pd.DataFrame([rows[k] for k in keys_sorted], index=index)
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
        by_series: bool = False,
        correction: str | None = "holm",
    ) -> pd.DataFrame:
        """Diebold–Mariano tests (HLN-corrected) of every model against ``reference``.

        Losses are paired on (origin, target); the test at horizon ``h`` uses ``h`` as its
        autocovariance horizon. A negative statistic means the model beats the reference.

        With many series, the default is one *pooled* test per model and horizon: each
        series' errors are divided by the MASE scale of their fold (the in-sample MAE of the
        naive forecast on the fold's training window), the loss differentials are averaged
        over the series at each origin time, and the DM test runs on that cross-sectional
        mean (``n`` counts origin times, ``n_series`` series). ``by_series=True`` instead
        tests each series on its own errors and adds ``pvalue_adjusted``, corrected for the
        number of series within each (model, horizon).

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
        by_series : bool
            One test per series (a backtest of many series only).
        correction : {"holm", "fdr_bh", None}
            Multiple-testing correction of the per-series p-values (Holm's step-down
            family-wise control, or Benjamini–Hochberg false-discovery rate; see
            :func:`statsmodels.stats.multitest.multipletests`).

        Returns
        -------
        pandas.DataFrame
            Indexed by (model, horizon), or (model, series, horizon), with ``statistic``,
            ``pvalue``, ``mean_loss_difference`` (model minus reference) and ``n``; pooled
            tests add ``n_series``, per-series tests ``pvalue_adjusted``.
        """
        check_option("reference", reference, self.models)
        check_option("loss", loss, ("squared", "absolute"))
        by_series = check_bool("by_series", by_series)
        check_option("correction", correction, ("holm", "fdr_bh", None))
        if by_series and not self.series:
            raise InvalidParameterError("`by_series` needs a backtest of many series. Got "
                                        "by_series=True for a backtest of one series.")
        frame = self.predictions
        horizons = sorted(int(h) for h in pd.unique(frame["horizon"]))
        if horizon is not None:
            check_option("horizon", horizon, horizons)
            horizons = [horizon]
        many = bool(self.series)
        keys = ["series", "origin", "target"] if many else ["origin", "target"]
        if many:
            frame = frame.assign(_scale=self._scales_and_last(1)[0])
        base = frame[frame["model"] == reference].set_index(keys)
        rows = {}
        for name in self.models:
            if name == reference:
                continue
            other = frame[frame["model"] == name].set_index(keys)
            for h in horizons:
                a = other[other["horizon"] == h]
                b = base[base["horizon"] == h]
                joined = a[["forecast", "actual", *(["_scale"] if many else [])]].merge(
                    b[["forecast"]], left_index=True, right_index=True, how="inner",
                    suffixes=("", "_ref"))
                if not many:
                    rows[(name, h)] = _dm_row(joined, h, loss, alternative)
                elif by_series:
                    for series, group in joined.groupby(level="series", sort=False):
                        rows[(name, series, h)] = _dm_row(group, h, loss, alternative)
                else:
                    rows[(name, h)] = _pooled_dm_row(joined, h, loss, alternative)
        names = ["model", "series", "horizon"] if by_series else ["model", "horizon"]
        if by_series:
            order = {name: i for i, name in enumerate(self.models)}
            rank = {name: i for i, name in enumerate(self.series)}
            rows = dict(sorted(rows.items(), key=lambda kv: (order[kv[0][0]], rank[kv[0][1]],
                                                             kv[0][2])))
        out = pd.DataFrame.from_dict(rows, orient="index")
        if len(out):
            out.index = pd.MultiIndex.from_tuples(out.index, names=names)
            if by_series and correction is not None:
                out["pvalue_adjusted"] = _adjusted(out, correction)
        out.attrs["reference"] = reference
        return out


def _losses(joined: pd.DataFrame, loss: str, scaled: bool = False) -> tuple[pd.Series, pd.Series]:
    errors_a = joined["actual"] - joined["forecast"]
    errors_b = joined["actual"] - joined["forecast_ref"]
    if scaled:
        errors_a, errors_b = errors_a / joined["_scale"], errors_b / joined["_scale"]
    return errors_a, errors_b


def _dm_row(joined: pd.DataFrame, h: int, loss: str, alternative: str) -> dict[str, Any]:
    errors_a, errors_b = _losses(joined, loss)
    try:
        result = _m.diebold_mariano(errors_a, errors_b, horizon=h, loss=loss,
                                    alternative=alternative)
    except ValueError:  # identical losses or too few pairs: no test possible
        diff = (errors_a**2 - errors_b**2 if loss == "squared"
                else errors_a.abs() - errors_b.abs())
        return {"statistic": np.nan, "pvalue": np.nan,
                "mean_loss_difference": float(diff.mean()) if len(diff) else np.nan,
                "n": len(joined)}
    return {"statistic": result.statistic, "pvalue": result.pvalue,
            "mean_loss_difference": result.mean_loss_difference, "n": result.n}


def _pooled_dm_row(joined: pd.DataFrame, h: int, loss: str, alternative: str
                   ) -> dict[str, Any]:
    """The DM test on the cross-sectional mean of scaled loss differentials per origin."""
    errors_a, errors_b = _losses(joined, loss, scaled=True)
    diff = (errors_a**2 - errors_b**2) if loss == "squared" else (errors_a.abs()
                                                                  - errors_b.abs())
    mean_diff = diff.groupby(level="origin", sort=True).mean()
    n_series = int(joined.index.get_level_values("series").nunique())
    try:
        result = _m.diebold_mariano(mean_diff.to_numpy(), np.zeros(len(mean_diff)), horizon=h,
                                    loss="precomputed", alternative=alternative)
    except ValueError:
        return {"statistic": np.nan, "pvalue": np.nan,
                "mean_loss_difference": float(mean_diff.mean()) if len(mean_diff) else np.nan,
                "n": len(mean_diff), "n_series": n_series}
    return {"statistic": result.statistic, "pvalue": result.pvalue,
            "mean_loss_difference": result.mean_loss_difference, "n": result.n,
            "n_series": n_series}


def _adjusted(out: pd.DataFrame, method: str) -> np.ndarray:
    """Per-series p-values corrected within each (model, horizon); NaN stays NaN."""
    from statsmodels.stats.multitest import multipletests

    adjusted = np.full(len(out), np.nan)
    families = out.groupby(level=["model", "horizon"], sort=False).indices
    for rows in families.values():
        pvalues = out["pvalue"].to_numpy()[rows]
        ok = np.isfinite(pvalues)
        if ok.any():
            adjusted[rows[ok]] = multipletests(pvalues[ok], method=method)[1]
    return adjusted
