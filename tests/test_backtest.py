"""Rolling-origin backtests: fold plan, leakage, parallel/Dask equivalence, checkpoints."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster
from joblib import parallel_config
from sklearn.exceptions import ConvergenceWarning

from convexforecast.forecasting import metrics as M
from convexforecast.forecasting.backtest import BacktestResult, backtest, plan_backtest
from convexforecast.forecasting.baselines import (
    DriftForecaster,
    LinearARForecaster,
    NaiveForecaster,
)
from convexforecast.forecasting.convex import ConvexARForecaster


def _prices(n=120, seed=0, freq="D"):
    rng = np.random.default_rng(seed)
    values = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.01, n)))
    return pd.Series(values, index=pd.date_range("2021-01-04", periods=n, freq=freq), name="px")


# Fit counting / failure injection. Tasks run in this process when n_jobs=1.
CALLS = {"fits": 0, "fail_at": None}


class CountingNaive(NaiveForecaster):
    """A random walk that counts fits and can fail at the k-th fit.

    The counter is reached as a class attribute, not as a module global: module state that a
    forecaster's code reads is part of the checkpoint fingerprint (by content), and a counter
    that changes with every fit would make every resume a different configuration.
    """

    calls = CALLS

    def _fit(self, values):
        self.calls["fits"] += 1
        if self.calls["fail_at"] is not None and self.calls["fits"] >= self.calls["fail_at"]:
            raise RuntimeError("simulated interruption")
        super()._fit(values)


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.update(fits=0, fail_at=None)
    yield
    CALLS.update(fits=0, fail_at=None)


# ------------------------------------------------------------------------- fold plan
def test_plan_hand_computed():
    y = pd.Series(np.arange(20.0))
    plan = plan_backtest(y, initial_train_size=10, steps=3, fold_stride=2, refit=2,
                         fixed_train_size=True, gap=1)
    # origins 9, 11, ..., 17 (the last one with a target: 17 + 1 + 1 = 19)
    assert plan["origin"].tolist() == [9, 11, 13, 15, 17]
    assert plan["test_start"].tolist() == [11, 13, 15, 17, 19]
    assert plan["test_end"].tolist() == [13, 15, 17, 19, 19]
    assert plan["n_test"].tolist() == [3, 3, 3, 3, 1]
    assert plan["block"].tolist() == [0, 0, 1, 1, 2]
    assert plan["refit"].tolist() == [True, False, True, False, True]
    # sliding windows of 10 observations ending at each refit origin
    assert plan["train_start"].tolist() == [0, 0, 4, 4, 8]
    assert plan["train_end"].tolist() == [9, 9, 13, 13, 17]


def test_plan_date_initial_train_size_and_expanding():
    y = _prices(40)
    plan = plan_backtest(y, initial_train_size="2021-01-23", steps=5, refit=False)
    assert plan["origin"].iloc[0] == pd.Timestamp("2021-01-23")
    assert plan["n_train"].iloc[0] == 20  # 4 Jan .. 23 Jan
    assert plan["origin"].tolist() == list(y.index[[19, 24, 29, 34]])
    assert (plan["train_start"] == y.index[0]).all()
    assert plan["refit"].tolist() == [True, False, False, False]


def test_verbose_prints_plan(capsys):
    y = _prices(30)
    backtest(NaiveForecaster(), y, initial_train_size=25, show_progress=False, verbose=True)
    out = capsys.readouterr().out
    assert "5 folds" in out and "test_start" in out


# ----------------------------------------------------------------------- predictions
def test_naive_predictions_hand_checked_with_gap():
    y = _prices(30)
    res = backtest({"naive": NaiveForecaster()}, y, initial_train_size=20, steps=2,
                   fold_stride=3, gap=1, show_progress=False)
    pred = res.predictions
    assert list(pred.columns) == ["origin", "target", "horizon", "model", "forecast", "actual",
                                  "fold"]
    pos_o = y.index.get_indexer(pred["origin"])
    pos_t = y.index.get_indexer(pred["target"])
    np.testing.assert_array_equal(pos_t - pos_o, pred["horizon"])
    assert set(pred["horizon"]) == {2, 3}
    np.testing.assert_array_equal(pred["forecast"], y.to_numpy()[pos_o])
    np.testing.assert_array_equal(pred["actual"], y.to_numpy()[pos_t])
    assert pred["origin"].iloc[0] == y.index[19]


def test_refit_false_matches_manual_update_loop():
    y = _prices(80)
    res = backtest(LinearARForecaster(lags=3), y, initial_train_size=50, steps=3, refit=False,
                   show_progress=False)
    model = LinearARForecaster(lags=3).fit(y.iloc[:50])
    expected = [model.predict(3)]
    for origin in range(52, 78, 3):
        model.update(y.iloc[origin - 2: origin + 1])
        expected.append(model.predict(3))
    expected = pd.concat(expected)
    expected = expected[expected.index <= y.index[-1]]
    np.testing.assert_array_equal(res.predictions["forecast"], expected.to_numpy())
    np.testing.assert_array_equal(res.predictions["target"], expected.index)


@pytest.mark.parametrize(("refit", "fits"), [(True, 10), (False, 1), (3, 4)])
def test_number_of_fits_follows_refit(refit, fits):
    y = _prices(40)
    res = backtest(CountingNaive(), y, initial_train_size=30, refit=refit, show_progress=False)
    assert CALLS["fits"] == fits
    assert res.timings.loc["CountingNaive", "n_fits"] == fits
    assert res.folds["refit"].sum() == fits


def test_caller_forecaster_and_series_not_mutated():
    y = _prices(60)
    y_before = y.copy()
    fresh = LinearARForecaster(lags=2)
    fitted = LinearARForecaster(lags=2).fit(y.iloc[:30])
    prediction_before = fitted.predict(2)
    backtest({"fresh": fresh, "fitted": fitted}, y, initial_train_size=40, refit=2,
             show_progress=False)
    assert fresh.get_params() == LinearARForecaster(lags=2).get_params()
    assert not hasattr(fresh, "cutoff_")
    assert fitted.cutoff_ == y.index[29]
    pd.testing.assert_series_equal(fitted.predict(2), prediction_before)
    pd.testing.assert_series_equal(y, y_before)


# ---------------------------------------------------------------------------- leakage
@pytest.mark.parametrize("refit", [True, 4])
@pytest.mark.parametrize("fixed", [False, True])
def test_future_values_never_leak_into_a_forecast(refit, fixed):
    y = _prices(90)
    model = {"ar": LinearARForecaster(lags=4, transform="log_return"),
             "drift": DriftForecaster()}
    kwargs = dict(initial_train_size=50, steps=3, fold_stride=2, refit=refit,
                  fixed_train_size=fixed, show_progress=False)
    base = backtest(model, y, **kwargs).predictions
    for origin_pos in (55, 63, 72):
        changed = y.copy()
        rng = np.random.default_rng(origin_pos)
        changed.iloc[origin_pos + 1:] *= np.exp(rng.normal(0, 0.3, len(y) - origin_pos - 1))
        other = backtest(model, changed, **kwargs).predictions
        cut = y.index[origin_pos]
        keep = base["origin"] <= cut
        assert keep.sum() > 0
        np.testing.assert_array_equal(base.loc[keep, "forecast"], other.loc[keep, "forecast"])
        assert not np.array_equal(base.loc[~keep, "forecast"], other.loc[~keep, "forecast"])


@pytest.mark.parametrize(("warm_start", "refits_per_task"), [(False, 1), (True, 3)])
def test_convex_model_with_cv_beta_does_not_leak(warm_start, refits_per_task):
    y = _prices(70, seed=2)
    model = {"convex": ConvexARForecaster(lags=2, depth=2, beta="cv", cv=2, n_betas=3,
                                          warm_start=warm_start)}
    kwargs = dict(initial_train_size=50, steps=2, fold_stride=3, refit=2, show_progress=False,
                  refits_per_task=refits_per_task)
    base = backtest(model, y, **kwargs).predictions
    origin_pos = 55  # the origin of fold 2, which refits (and re-runs the beta CV)
    changed = y.copy()
    changed.iloc[origin_pos + 1:] *= np.exp(np.random.default_rng(1).normal(0, 0.2, 14))
    other = backtest(model, changed, **kwargs).predictions
    keep = base["origin"] <= y.index[origin_pos]
    assert keep.sum() == 6
    np.testing.assert_array_equal(base.loc[keep, "forecast"], other.loc[keep, "forecast"])
    assert not np.array_equal(base.loc[~keep, "forecast"], other.loc[~keep, "forecast"])


# ------------------------------------------------------------------------ parallelism
def _parallel_setup():
    y = _prices(100, seed=5)
    models = {"naive": NaiveForecaster(), "ar": LinearARForecaster(lags=3),
              "drift": DriftForecaster(transform="log"),
              "convex": ConvexARForecaster(lags=2, depth=2, beta=0.1, warm_start=False)}
    kwargs = dict(initial_train_size=60, steps=2, fold_stride=1, refit=10,
                  intervals={"method": "bootstrap", "level": 0.8, "n_boot": 100},
                  show_progress=False)
    return models, y, kwargs


def _assert_same(a: BacktestResult, b: BacktestResult):
    pd.testing.assert_frame_equal(a.predictions, b.predictions, check_exact=True)
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    pd.testing.assert_frame_equal(a.folds, b.folds, check_exact=True)


@pytest.mark.slow
def test_n_jobs_1_and_2_identical():
    models, y, kwargs = _parallel_setup()
    _assert_same(backtest(models, y, n_jobs=1, **kwargs), backtest(models, y, n_jobs=2, **kwargs))


def test_refits_per_task_leaves_cold_forecasters_unchanged():
    models, y, kwargs = _parallel_setup()
    _assert_same(backtest(models, y, **kwargs), backtest(models, y, refits_per_task=3, **kwargs))


def test_auto_chains_warm_started_refits_per_series_and_leaves_the_others_one_per_task():
    models, y, kwargs = _parallel_setup()
    warm = {**models, "convex": ConvexARForecaster(lags=2, depth=2, beta=0.1)}  # default warm
    assert warm["convex"].warm_start is True
    auto = backtest(warm, y, n_jobs=2, **kwargs)  # refits_per_task="auto"
    n_blocks = int(auto.timings.loc["convex", "n_fits"])
    chained = backtest({"convex": warm["convex"]}, y, refits_per_task=n_blocks, **kwargs)
    pd.testing.assert_frame_equal(
        auto.predictions[auto.predictions["model"] == "convex"].reset_index(drop=True),
        chained.predictions, check_exact=True)
    cold = backtest(models, y, refits_per_task=1, **kwargs)
    for name in ("naive", "ar", "drift"):  # one refit per task, as refits_per_task=1
        pd.testing.assert_frame_equal(
            auto.predictions[auto.predictions["model"] == name].reset_index(drop=True),
            cold.predictions[cold.predictions["model"] == name].reset_index(drop=True),
            check_exact=True)
    np.testing.assert_allclose(  # warm and cold fits: the same certified optima
        auto.predictions["forecast"], cold.predictions["forecast"], rtol=1e-6)
    assert auto.config["refits_per_task"] == "auto"


def _warm_setup():
    # log returns of a threshold AR process: cross-validation picks non-empty networks
    rng = np.random.default_rng(7)
    r = np.zeros(150)
    for t in range(2, 150):
        r[t] = 0.7 * max(r[t - 1], 0.0) - 0.4 * r[t - 2] + rng.normal(0, 0.01)
    y = pd.Series(100 * np.exp(np.cumsum(r)), index=pd.date_range("2021-01-04", periods=150))
    kwargs = dict(initial_train_size=100, steps=1, refit=5, show_progress=False)
    return ConvexARForecaster(lags=3, depth=3, beta="cv", cv=3, n_betas=8,
                              warm_start=False), y, kwargs


@pytest.mark.parametrize("fixed_train_size", [False, True])
def test_warm_started_refits_match_cold_ones_and_not_n_jobs(fixed_train_size):
    cold_model, y, kwargs = _warm_setup()
    kwargs["fixed_train_size"] = fixed_train_size  # sliding windows: rows shift, still exact
    warm_model = ConvexARForecaster(**{**cold_model.get_params(), "warm_start": True})
    cold = backtest(cold_model, y, **kwargs)
    warm = backtest(warm_model, y, refits_per_task=4, n_jobs=1, **kwargs)
    _assert_same(warm, backtest(warm_model, y, refits_per_task=4, n_jobs=2, **kwargs))
    assert cold.timings["n_fits"].iloc[0] == 10
    # the same optima (every solve meets tol = 1e-6), reached from other starting points
    np.testing.assert_allclose(warm.predictions["forecast"], cold.predictions["forecast"],
                               rtol=1e-5)


@pytest.mark.slow
def test_dask_local_cluster_matches_sequential():
    models, y, kwargs = _parallel_setup()
    sequential = backtest(models, y, n_jobs=1, **kwargs)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, \
            Client(cluster) as client, parallel_config(backend="dask"):
        on_dask = backtest(models, y, n_jobs=-1, **kwargs)
        assert len(client.scheduler_info()["workers"]) == 2
    _assert_same(sequential, on_dask)


class WarningNaive(NaiveForecaster):
    """A random walk whose fits warn (a distinct message when the window is long)."""

    def _fit(self, values):
        warnings.warn("solver did not converge", ConvergenceWarning, stacklevel=2)
        if len(values) > 70:
            warnings.warn(f"long window of {len(values)}", UserWarning, stacklevel=2)
        super()._fit(values)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_worker_warnings_reach_the_caller(n_jobs, tmp_path):
    y = _prices(80)
    kwargs = dict(initial_train_size=60, steps=1, refit=5, show_progress=False, n_jobs=n_jobs,
                  checkpoint_dir=tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backtest({"rw": WarningNaive(), "quiet": NaiveForecaster()}, y, **kwargs)
    seen = [(w.category, str(w.message)) for w in caught]
    assert seen == [
        (ConvergenceWarning, "Model 'rw' (4 of 4 fits, first at origin 2021-03-04 00:00:00): "
                             "solver did not converge"),
        (UserWarning, "Model 'rw' (1 of 4 fits, first at origin 2021-03-19 00:00:00): "
                      "long window of 75"),
    ]
    with warnings.catch_warnings(record=True) as again:  # restored from the checkpoint
        warnings.simplefilter("always")
        backtest({"rw": WarningNaive(), "quiet": NaiveForecaster()}, y, **kwargs)
    assert [(w.category, str(w.message)) for w in again] == seen


class ChattyNaive(NaiveForecaster):
    """A random walk whose every fit raises 12 distinct warnings."""

    def _fit(self, values):
        for k in range(12):
            warnings.warn(f"message {k}", RuntimeWarning, stacklevel=2)
        super()._fit(values)


def test_warnings_beyond_the_cap_are_summarised():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backtest({"chatty": ChattyNaive()}, _prices(40), initial_train_size=30, refit=False,
                 show_progress=False)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 11
    assert all(m.endswith(f"message {k}") for k, m in enumerate(messages[:10]))
    assert messages[10] == "Model 'chatty': 2 more distinct warnings not shown."
    assert [w.category for w in caught] == [RuntimeWarning] * 10 + [UserWarning]


# ------------------------------------------------------------------------ checkpoints
def test_checkpoint_resume_after_interruption(tmp_path):
    y = _prices(50)
    kwargs = dict(initial_train_size=30, steps=2, fold_stride=2, refit=True,
                  show_progress=False, checkpoint_dir=tmp_path / "ckpt")
    reference = backtest({"rw": CountingNaive()}, y, **{**kwargs, "checkpoint_dir": None})
    total = CALLS["fits"]
    assert total == 10

    CALLS.update(fits=0, fail_at=4)  # the 4th fit raises: 3 blocks done
    with pytest.raises(RuntimeError, match="simulated interruption"):
        backtest({"rw": CountingNaive()}, y, **kwargs)
    assert len(list((tmp_path / "ckpt").glob("block-*.npz"))) == 3

    CALLS.update(fits=0, fail_at=None)
    resumed = backtest({"rw": CountingNaive()}, y, **kwargs)
    assert CALLS["fits"] == total - 3  # nothing already done is recomputed
    _assert_same(reference, resumed)

    CALLS.update(fits=0)
    again = backtest({"rw": CountingNaive()}, y, **kwargs)
    assert CALLS["fits"] == 0
    _assert_same(reference, again)


def test_checkpoint_resume_with_several_refits_per_task(tmp_path):
    y = _prices(50)
    kwargs = dict(initial_train_size=30, steps=2, fold_stride=2, refit=True, refits_per_task=2,
                  show_progress=False, checkpoint_dir=tmp_path)
    reference = backtest({"rw": CountingNaive()}, y, **{**kwargs, "checkpoint_dir": None})
    CALLS.update(fits=0, fail_at=4)  # the 4th fit raises inside the second task
    with pytest.raises(RuntimeError, match="simulated interruption"):
        backtest({"rw": CountingNaive()}, y, **kwargs)
    assert len(list(tmp_path.glob("block-*.npz"))) == 2  # the first task's two blocks
    CALLS.update(fits=0, fail_at=None)
    resumed = backtest({"rw": CountingNaive()}, y, **kwargs)
    assert CALLS["fits"] == 10 - 2
    _assert_same(reference, resumed)


def test_checkpoint_resume_parallel_and_with_intervals(tmp_path):
    models, y, kwargs = _parallel_setup()
    first = backtest(models, y, n_jobs=2, checkpoint_dir=tmp_path, **kwargs)
    resumed = backtest(models, y, n_jobs=1, checkpoint_dir=tmp_path, **kwargs)
    _assert_same(first, resumed)
    pd.testing.assert_frame_equal(first.timings, resumed.timings)


def test_checkpoint_config_mismatch_is_an_error(tmp_path):
    y = _prices(40)
    kwargs = dict(initial_train_size=30, show_progress=False, checkpoint_dir=tmp_path)
    backtest({"ar": LinearARForecaster(lags=2)}, y, **kwargs)
    with pytest.raises(ValueError, match=r"`checkpoint_dir` .* different .*\['models'\]"):
        backtest({"ar": LinearARForecaster(lags=3)}, y, **kwargs)
    with pytest.raises(ValueError, match=r"`checkpoint_dir` .*\['y'\]"):
        backtest({"ar": LinearARForecaster(lags=2)}, y * 1.01, **kwargs)
    with pytest.raises(ValueError, match=r"`checkpoint_dir` .*\['plan'\]"):
        backtest({"ar": LinearARForecaster(lags=2)}, y, steps=2, **kwargs)


# ----------------------------------------------------------------------------- metrics
def test_metrics_table_matches_independent_computation():
    y = _prices(70)
    res = backtest({"naive": NaiveForecaster(), "ar": LinearARForecaster(lags=2)}, y,
                   initial_train_size=40, steps=2, fold_stride=2, refit=True,
                   show_progress=False)
    assert list(res.metrics.index) == ["naive", "ar"]
    for name in ("naive", "ar"):
        rows = res.predictions[res.predictions["model"] == name]
        row = res.metrics.loc[name]
        assert row["n"] == len(rows)
        assert row["mae"] == pytest.approx(M.mae(rows["actual"], rows["forecast"]))
        assert row["rmse"] == pytest.approx(M.rmse(rows["actual"], rows["forecast"]))
        # MASE: each fold scaled by the naive MAE of its expanding training window
        scaled = []
        for _, r in rows.iterrows():
            window = y.loc[:r["origin"]].to_numpy()
            scaled.append(abs(r["actual"] - r["forecast"]) / np.mean(np.abs(np.diff(window))))
        assert row["mase"] == pytest.approx(np.mean(scaled))
        last = y.loc[rows["origin"]].to_numpy()
        assert row["directional_accuracy"] == pytest.approx(
            M.directional_accuracy(rows["actual"], rows["forecast"], last), nan_ok=True)
    by_h = res.metrics_by_horizon
    assert list(by_h.index) == [("naive", 1), ("naive", 2), ("ar", 1), ("ar", 2)]
    h2 = res.predictions.query("model == 'ar' and horizon == 2")
    assert by_h.loc[("ar", 2), "mae"] == pytest.approx(M.mae(h2["actual"], h2["forecast"]))
    assert set(res.fit_seconds.index) == {"naive", "ar"} and (res.fit_seconds >= 0).all()


@pytest.mark.filterwarnings("ignore:Long-run variance:RuntimeWarning")
def test_dm_tests_against_reference_model():
    y = _prices(90)
    res = backtest({"naive": NaiveForecaster(), "ar": LinearARForecaster(lags=2),
                    "copy": NaiveForecaster()}, y, initial_train_size=50, steps=2,
                   fold_stride=1, show_progress=False)
    dm = res.dm_tests("naive")
    assert list(dm.index) == [("ar", 1), ("ar", 2), ("copy", 1), ("copy", 2)]
    rows = res.predictions.query("horizon == 2")
    a = rows[rows["model"] == "ar"]
    b = rows[rows["model"] == "naive"]
    expected = M.diebold_mariano(a["actual"].to_numpy() - a["forecast"].to_numpy(),
                                 b["actual"].to_numpy() - b["forecast"].to_numpy(), horizon=2)
    assert dm.loc[("ar", 2), "statistic"] == pytest.approx(expected.statistic)
    assert dm.loc[("ar", 2), "pvalue"] == pytest.approx(expected.pvalue)
    assert np.isnan(dm.loc[("copy", 1), "statistic"])  # identical losses: no test
    with pytest.raises(ValueError, match=r"`reference` must be one of .* Got 'arima'"):
        res.dm_tests("arima")


# -------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("kwargs", "message"), [
    ({"steps": 0}, r"`steps` must be an integer >= 1. Got 0"),
    ({"fold_stride": 0}, r"`fold_stride` must be an integer >= 1. Got 0"),
    ({"refit": -1}, r"`refit` must be True, False or an integer >= 1. Got -1"),
    ({"refit": "weekly"}, r"`refit` must be .* Got 'weekly'"),
    ({"gap": -2}, r"`gap` must be an integer >= 0. Got -2"),
    ({"initial_train_size": 40}, r"`initial_train_size` must leave at least one test .* Got 40"),
    ({"initial_train_size": 0}, r"`initial_train_size` must be an integer >= 1 or a date. Got 0"),
    ({"initial_train_size": 2.5}, r"`initial_train_size` must be an integer, or a date"),
    ({"initial_train_size": 3}, r"`initial_train_size` must be at least 5 .* Got 3"),
    ({"n_jobs": 0}, r"`n_jobs` must be a non-zero integer or None. Got 0"),
    ({"refits_per_task": 0}, r"`refits_per_task` must be an integer >= 1. Got 0"),
    ({"intervals": {"method": "quantile"}}, r"`intervals\['method'\]` .* Got 'quantile'"),
    ({"show_progress": "no"}, r"`show_progress` must be True or False. Got 'no'"),
    ({"fixed_train_size": 1}, r"`fixed_train_size` must be True or False. Got 1"),
])
def test_bad_options_raise_value_error_naming_argument(kwargs, message):
    y = _prices(40)
    options = {"initial_train_size": 30, "show_progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        backtest(LinearARForecaster(lags=2), y, **options)


def test_bad_forecasters_and_series():
    y = _prices(40)
    with pytest.raises(TypeError, match=r"`forecasters\['x'\]` must be a forecaster"):
        backtest({"x": object()}, y, initial_train_size=30)
    with pytest.raises(ValueError, match="`forecasters` must not be empty"):
        backtest({}, y, initial_train_size=30)
    bad = y.copy()
    bad.iloc[5] = np.nan
    with pytest.raises(ValueError, match="`y` must contain only finite values"):
        backtest(NaiveForecaster(), bad, initial_train_size=30)
    with pytest.raises(ValueError, match="`y` index must be sorted"):
        backtest(NaiveForecaster(), y.iloc[::-1], initial_train_size=30)


def test_progress_bar_can_be_switched_off(capsys):
    y = _prices(40)
    backtest(NaiveForecaster(), y, initial_train_size=30, show_progress=True)
    assert "backtest" in capsys.readouterr().err
    backtest(NaiveForecaster(), y, initial_train_size=30, show_progress=False)
    assert "backtest" not in capsys.readouterr().err


@pytest.mark.parametrize("make_index", [
    lambda n: pd.date_range("2021-01-04", periods=n, freq="B").as_unit("ns"),
    lambda n: pd.date_range("2021-01-04", periods=n, freq="B").as_unit("us"),
    lambda n: pd.date_range("2021-01-04", periods=n, freq="B").as_unit("s"),
    lambda n: pd.date_range("2021-01-04 09:00", periods=n, freq="h", tz="America/New_York"),
    lambda n: pd.period_range("2001-01", periods=n, freq="M"),
    lambda n: pd.RangeIndex(10, 10 + 3 * n, 3),
], ids=["ns", "us", "s", "tz", "period", "integer"])
def test_backtest_forecasts_and_config_do_not_depend_on_the_index(make_index, tmp_path):
    """Same forecasts on every supported index; the checkpoint hash ignores the resolution."""
    y = _prices(60)
    models = {"naive": NaiveForecaster(), "ar": LinearARForecaster(lags=2)}
    reference = backtest(models, y, initial_train_size=40, refit=5, show_progress=False)
    other = y.set_axis(make_index(len(y)))
    result = backtest(models, other, initial_train_size=40, refit=5, show_progress=False,
                      checkpoint_dir=tmp_path / "ck")
    np.testing.assert_array_equal(result.predictions["forecast"].to_numpy(),
                                  reference.predictions["forecast"].to_numpy())
    assert list(result.predictions["target"].iloc[:3]) == list(other.index[40:43])
    if isinstance(other.index, pd.DatetimeIndex) and other.index.tz is None:
        # resuming with the same data in another resolution reuses the checkpoint
        again = backtest(models, y.set_axis(other.index.as_unit("ms")), initial_train_size=40,
                         refit=5, show_progress=False, checkpoint_dir=tmp_path / "ck")
        assert again.config["y"] == result.config["y"]


def test_fold_plan_object_is_the_one_source_of_fold_settings():
    from convexforecast.forecasting.folds import TimeSeriesFold

    y = _prices(60)
    cv = TimeSeriesFold(initial_train_size=40, steps=2, refit=3, gap=1)
    by_object = backtest(NaiveForecaster(), y, cv, show_progress=False)
    by_name = backtest(NaiveForecaster(), y, initial_train_size=40, steps=2, refit=3, gap=1,
                       show_progress=False)
    pd.testing.assert_frame_equal(by_object.predictions, by_name.predictions)
    pd.testing.assert_frame_equal(plan_backtest(y, cv), by_object.folds)
    pd.testing.assert_frame_equal(cv.plan(y), by_name.folds)
    with pytest.raises(ValueError, match=r"either `cv` or the fold settings \['steps'\]"):
        backtest(NaiveForecaster(), y, cv, steps=3)
    with pytest.raises(TypeError, match=r"unknown argument\(s\) \['stpes'\]"):
        backtest(NaiveForecaster(), y, initial_train_size=40, stpes=3)
    with pytest.raises(ValueError, match="needs `initial_train_size`"):
        plan_backtest(y, steps=2)
    with pytest.raises(ValueError, match=r"`steps` must be an integer >= 1. Got 0"):
        TimeSeriesFold(initial_train_size=40, steps=0)
