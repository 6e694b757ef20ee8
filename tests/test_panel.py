"""Many series: panel validation, local and global models in backtests, pooled results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from convexforecast import ConvexARForecaster, backtest
from convexforecast.core.path import forward_chaining_splits
from convexforecast.forecasting.baselines import LinearARForecaster, NaiveForecaster
from convexforecast.forecasting.folds import TimeSeriesFold, plan_pooled_blocks
from convexforecast.forecasting.metrics import diebold_mariano, naive_scale
from convexforecast.forecasting.panel import check_panel
from convexforecast.forecasting.persistence import load, save


def _walk(rng, n, start=100.0, vol=0.01):
    return start * np.exp(np.cumsum(rng.normal(0.0, vol, n)))


@pytest.fixture(scope="module")
def frame():
    """Three business-day series; C is listed 30 days after the others."""
    rng = np.random.default_rng(7)
    index = pd.bdate_range("2021-01-04", periods=140)
    out = pd.DataFrame({name: _walk(rng, 140, vol=v) for name, v in
                        zip("ABC", (0.01, 0.02, 0.015), strict=True)}, index=index)
    out.iloc[:30, 2] = np.nan
    return out


@pytest.fixture(scope="module")
def mixed():
    """A business-day stock and a 24/7 coin of different lengths (a dict panel)."""
    rng = np.random.default_rng(3)
    stock = pd.Series(_walk(rng, 120), index=pd.bdate_range("2021-03-01", periods=120))
    coin = pd.Series(_walk(rng, 170, 30_000.0, 0.03),
                     index=pd.date_range("2021-03-01", periods=170, freq="D"))
    return {"stock": stock, "coin": coin}


SETTINGS = dict(initial_train_size="2021-06-01", steps=2, refit=5, show_progress=False)


def _models():
    return {"naive": NaiveForecaster(), "linear": LinearARForecaster(lags=2),
            "local": ConvexARForecaster(lags=2, beta=0.5),
            "global": ConvexARForecaster(lags=2, beta=0.5, global_model=True)}


@pytest.fixture(scope="module")
def result(frame):
    return backtest(_models(), frame, **SETTINGS)


# ----------------------------------------------------------------------------- validation
def test_check_panel_trims_listing_nans_and_copies(frame):
    before = frame.copy()
    panel = check_panel(frame)
    assert list(panel) == ["A", "B", "C"]
    assert panel["C"].index[0] == frame.index[30] and len(panel["C"]) == 110
    assert panel["A"].index.freqstr == "B"
    panel["A"].iloc[0] = -1.0
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("bad, match", [
    (lambda f: f.assign(B=f["B"].where(f.index != f.index[50])), r"`y\['B'\]` must have no "
     r"NaN between .* Got NaN at 2021-03-15"),
    (lambda f: f.rename(columns={"A": 0}), r"names must be non-empty strings. Got 0"),
    (lambda f: f.assign(C=np.nan), r"`y\['C'\]` must hold at least one value"),
    (lambda f: f.iloc[:, :0], r"at least one column"),
    (lambda f: {"A": f["A"], "B": f["B"].to_numpy()}, r"`y\['B'\]` must be a pandas Series"),
    (lambda f: {"A": f["A"], "B": f["B"].tz_localize("UTC")}, r"same kind of index"),
    (lambda f: {}, r"at least one series"),
    (lambda f: {"A": f["A"].iloc[[0, 2, 1]]}, r"`y\['A'\]` index must be sorted"),
])
def test_bad_panels_raise_named_errors(frame, bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        check_panel(bad(frame))


def test_local_model_refuses_a_panel_and_global_model_takes_one(frame):
    with pytest.raises(TypeError, match="global_model=True"):
        ConvexARForecaster(lags=2, beta=0.5).fit(frame)
    with pytest.raises(ValueError, match="global_model"):
        ConvexARForecaster(lags=2, global_model="yes").fit(frame)


# ----------------------------------------------------------------------------- backtests
def test_predictions_have_a_series_column_and_per_series_plans(result, frame):
    predictions = result.predictions
    assert list(predictions.columns[:2]) == ["series", "origin"]
    assert result.series == ["A", "B", "C"]
    assert list(result.folds["series"].unique()) == ["A", "B", "C"]
    for name in "ABC":
        plan = TimeSeriesFold(initial_train_size="2021-06-01", steps=2, refit=5).plan(
            frame[name].dropna())
        own = result.folds[result.folds["series"] == name].drop(columns="series")
        pd.testing.assert_frame_equal(own.reset_index(drop=True), plan)
    counts = predictions.groupby(["model", "series"]).size()
    assert counts.nunique() == 1  # every model forecasts every series' targets


def test_local_models_equal_one_backtest_per_series(result, frame):
    models = {k: v for k, v in _models().items() if k != "global"}
    for name in "ABC":
        single = backtest(models, frame[name].dropna(), **SETTINGS)
        mine = result.predictions[(result.predictions["series"] == name)
                                  & (result.predictions["model"] != "global")]
        pd.testing.assert_frame_equal(mine.drop(columns="series").reset_index(drop=True),
                                      single.predictions)
        by_series = result.metrics_by_series.xs(name, level="series")
        pd.testing.assert_frame_equal(by_series.drop(index="global"), single.metrics,
                                      check_names=False)


def test_global_model_forecasts_from_pooled_fits(result, frame):
    """Re-fit the global model by hand at the first refit time and forecast one origin."""
    first = result.predictions[(result.predictions["model"] == "global")
                               & (result.predictions["fold"] == 0)]
    origin = first["origin"].iloc[0]
    model = ConvexARForecaster(lags=2, beta=0.5, global_model=True).fit(frame.loc[:origin])
    expected = model.predict(2)
    for row in first.itertuples():
        assert row.forecast == expected.loc[row.target, row.series]
    assert model.duality_gap_ <= 1e-6 * model.objective_


def test_pooled_metrics_and_dm_tests(result):
    pooled = result.metrics
    assert list(pooled.index) == ["naive", "linear", "local", "global"]
    by_series = result.metrics_by_series
    assert (pooled["n"] == by_series.groupby(level="model", sort=False)["n"].sum()).all()
    tests = result.dm_tests()
    assert {"statistic", "pvalue", "n_series"} <= set(tests.columns)
    assert (tests["n_series"] == 3).all()
    per_series = result.dm_tests(by_series=True)
    assert list(per_series.index.names) == ["model", "series", "horizon"]
    assert (per_series["pvalue_adjusted"] >= per_series["pvalue"] - 1e-15).all()


def test_pooled_dm_test_is_the_test_of_the_mean_scaled_loss_difference(result, frame):
    """Recompute the pooled test from the definition, with scales from the fold plan."""
    predictions = result.predictions
    pieces = []
    for name in "ABC":
        series = frame[name].dropna()
        plan = result.folds[result.folds["series"] == name]
        scale = {row.fold: naive_scale(series.loc[row.train_start: row.train_end].to_numpy())
                 for row in plan.itertuples()}
        own = predictions[(predictions["series"] == name) & (predictions["horizon"] == 1)]
        a = own[own["model"] == "local"].set_index(["origin", "target"])
        b = own[own["model"] == "naive"].set_index(["origin", "target"])
        s = a["fold"].map(scale)
        diff = ((a["actual"] - a["forecast"]) / s) ** 2 - ((b["actual"] - b["forecast"]) / s) ** 2
        pieces.append(diff)
    mean = pd.concat(pieces).groupby(level="origin").mean()
    expected = diebold_mariano(mean.to_numpy(), np.zeros(len(mean)), loss="precomputed")
    row = result.dm_tests().loc[("local", 1)]
    assert row["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert row["n"] == len(mean)


def test_by_series_needs_many_series(frame):
    single = backtest(NaiveForecaster(), frame["A"], initial_train_size=100,
                      show_progress=False)
    with pytest.raises(ValueError, match="`by_series` needs a backtest of many series"):
        single.dm_tests(reference="NaiveForecaster", by_series=True)
    with pytest.raises(ValueError, match="`by_series`"):
        single.compute_metrics(by_series=True)


def test_own_calendars_and_lengths(mixed):
    result = backtest(_models(), mixed, initial_train_size="2021-06-01", steps=1, refit=7,
                      show_progress=False)
    predictions = result.predictions
    for name, series in mixed.items():
        own = predictions[(predictions["series"] == name) & (predictions["model"] == "global")]
        assert own["target"].isin(series.index).all()
        assert len(own) == (series.index > pd.Timestamp("2021-06-01")).sum()
    assert result.dm_tests().loc[("global", 1), "n_series"] == 2


@pytest.mark.slow
def test_results_do_not_depend_on_n_jobs(frame, result):
    again = backtest(_models(), frame, n_jobs=2, **SETTINGS)
    pd.testing.assert_frame_equal(again.predictions, result.predictions)


@pytest.mark.parametrize("model", ["local", "global"])
def test_no_leakage_from_any_series_after_an_origin(frame, model):
    """Perturbing every series after a date changes no forecast made at or before it."""
    forecaster = {model: ConvexARForecaster(lags=2, beta="cv", cv=3, n_betas=5,
                                            global_model=model == "global")}
    base = backtest(forecaster, frame, **SETTINGS).predictions
    cut = base["origin"].drop_duplicates().iloc[7]
    shocked = frame.copy()
    later = shocked.index > cut
    shocked.loc[later] = shocked.loc[later] * np.linspace(1.5, 0.5, int(later.sum()))[:, None]
    changed = backtest(forecaster, shocked, **SETTINGS).predictions
    before = base["origin"] <= cut
    np.testing.assert_array_equal(changed.loc[before, "forecast"].to_numpy(),
                                  base.loc[before, "forecast"].to_numpy())
    assert not np.array_equal(changed.loc[~before, "forecast"], base.loc[~before, "forecast"])


def test_checkpoints_resume_a_panel_backtest(frame, result, tmp_path):
    first = backtest(_models(), frame, checkpoint_dir=tmp_path, **SETTINGS)
    files = sorted(tmp_path.glob("block-*.npz"))
    assert any("pooled" in f.name for f in files) and any("-s0002-" in f.name for f in files)
    for file in files[::3]:
        file.unlink()
    resumed = backtest(_models(), frame, checkpoint_dir=tmp_path, **SETTINGS)
    pd.testing.assert_frame_equal(resumed.predictions, first.predictions)
    pd.testing.assert_frame_equal(first.predictions, result.predictions)


def test_intervals_are_calibrated_per_series(frame, result):
    options = {"method": "conformal", "level": 0.8}
    panel = backtest({"naive": NaiveForecaster()}, frame, intervals=options, **SETTINGS)
    single = backtest({"naive": NaiveForecaster()}, frame["B"], intervals=options, **SETTINGS)
    mine = panel.predictions[panel.predictions["series"] == "B"].drop(columns="series")
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), single.predictions)
    assert panel.metrics_by_series["n_intervals"].gt(0).all()


def test_caller_panel_is_not_modified(frame, mixed):
    before = frame.copy()
    before_mixed = {k: v.copy() for k, v in mixed.items()}
    backtest({"g": ConvexARForecaster(lags=2, beta=0.5, global_model=True)}, mixed,
             initial_train_size="2021-07-01", show_progress=False)
    backtest({"n": NaiveForecaster()}, frame, initial_train_size=100, show_progress=False)
    pd.testing.assert_frame_equal(frame, before)
    for key, value in mixed.items():
        pd.testing.assert_series_equal(value, before_mixed[key])


def test_too_short_series_is_named(frame):
    with pytest.raises(ValueError, match=r"Series 'C': `initial_train_size`"):
        backtest(NaiveForecaster(), frame, initial_train_size="2021-01-20", show_progress=False)


def test_verbose_prints_a_plan_per_series(frame, capsys):
    backtest({"n": NaiveForecaster()}, frame, initial_train_size=100, verbose=True,
             show_progress=False)
    out = capsys.readouterr().out
    assert "folds of 3 series" in out and all(f"\n{name} " in out for name in "ABC")


# ------------------------------------------------------------------------- global model
def test_global_model_predict_update_and_persistence(frame, tmp_path):
    model = ConvexARForecaster(lags=2, beta=0.5, global_model=True).fit(frame)
    forecast = model.predict(3)
    assert list(forecast.columns) == ["A", "B", "C"] and forecast.index.freqstr == "B"
    assert (model.cutoff_ == frame.index[-1]).all()
    assert set(model.in_sample_residuals_) == {"A", "B", "C"}
    assert len(model.in_sample_residuals_["C"]) == 110 - 3  # window_length = lags + 1
    new = pd.DataFrame({"A": [101.0], "B": [np.nan], "C": [99.0]},
                       index=pd.bdate_range(frame.index[-1] + pd.offsets.BDay(), periods=1))
    model.update(new)
    assert model.cutoff_["A"] == new.index[0] and model.cutoff_["B"] == frame.index[-1]
    after = model.predict(2)
    assert after["B"].dropna().tolist() == forecast["B"].iloc[:2].tolist()
    save(model, tmp_path / "global")
    loaded = load(tmp_path / "global")
    pd.testing.assert_frame_equal(loaded.predict(2), after)
    with pytest.raises(ValueError, match=r"only the fitted series"):
        model.update({"Z": frame["A"]})
    with pytest.raises(ValueError, match=r"`y_new\['A'\]` must continue"):
        model.update({"A": frame["A"].iloc[-2:]})
    with pytest.raises(TypeError, match="takes no further arguments"):
        model.predict(2, exog=frame)


def test_global_model_is_certified_like_the_reference(frame):
    """The pooled Lasso solved by the fast solver matches cvxpy's optimum."""
    fast = ConvexARForecaster(lags=2, depth=2, beta=2.0, global_model=True).fit(frame.iloc[:60])
    reference = ConvexARForecaster(lags=2, depth=2, beta=2.0, global_model=True,
                                   solver="cvxpy").fit(frame.iloc[:60])
    assert fast.duality_gap_ <= 1e-6 * fast.objective_
    assert fast.objective_ == pytest.approx(reference.objective_, rel=1e-5)


def test_global_model_standardises_each_series(frame):
    model = ConvexARForecaster(lags=2, beta=0.5, global_model=True).fit(frame)
    for name in "ABC":
        returns = np.diff(np.log(frame[name].dropna().to_numpy()))
        assert model.center_[name] == pytest.approx(returns.mean(), rel=1e-12)
        assert model.scale_[name] == pytest.approx(returns.std(), rel=1e-12)


# --------------------------------------------------------------------------- plumbing
def test_forward_chaining_splits_never_split_a_time():
    groups = np.repeat(np.arange(12), [3, 1, 2, 3, 3, 1, 2, 2, 3, 1, 2, 3])
    splits = forward_chaining_splits(groups.size, 3, groups)
    assert len(splits) == 3
    for train, test in splits:
        assert groups[train].max() < groups[test].min()
        assert set(groups[test]).isdisjoint(groups[train])
        assert np.array_equal(np.concatenate([train, test]), np.arange(test[-1] + 1))
    with pytest.raises(ValueError, match="at least cv \\+ 1 = 4 distinct times"):
        forward_chaining_splits(4, 3, np.array([0, 0, 1, 2]))


def test_pooled_blocks_refit_when_any_series_refits(mixed):
    cv = TimeSeriesFold(initial_train_size="2021-06-01", refit=7)
    plans = {name: cv.split(series) for name, series in mixed.items()}
    sizes = {name: cv.settings(series.index)["initial_train_size"]
             for name, series in mixed.items()}
    blocks = plan_pooled_blocks(mixed, plans, sizes, False, 3)
    refit_times = sorted({mixed[n].index[f.origin] for n in mixed for f in plans[n] if f.refit})
    assert len(blocks) == len(refit_times)
    assert sum(len(b.events) for b in blocks) == sum(len(p) for p in plans.values())
    for block, start in zip(blocks, refit_times, strict=True):
        for name, (first, last) in block.train.items():
            assert first == 0 and mixed[name].index[last] <= start
        for code, fold, _ in block.events:
            name = block.names[code]
            assert mixed[name].index[fold.origin] >= start
            assert block.visible[name].index[-1] >= mixed[name].index[fold.origin]
            assert len(block.visible[name]) == max(fold.origin + 1, block.train[name][1] + 1) \
                or block.visible[name].index[-1] > mixed[name].index[fold.origin]


@pytest.mark.slow
def test_panel_backtest_on_a_dask_local_cluster(frame, result):
    from dask.distributed import Client, LocalCluster
    from joblib import parallel_config

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster), \
            parallel_config(backend="dask"):
        on_dask = backtest(_models(), frame, n_jobs=-1, **SETTINGS)
    pd.testing.assert_frame_equal(on_dask.predictions, result.predictions)


def test_report_of_many_series_has_a_per_series_section_and_the_portfolio(result, frame,
                                                                          tmp_path):
    from convexforecast import run_portfolio
    from convexforecast.report import write_backtest_report

    book = run_portfolio(result, frame.loc[result.predictions["origin"].min():],
                         model="global", rule="long_short", top_k=1)
    files = write_backtest_report(result, tmp_path, strategies={"global": book})
    text = files.html.read_text(encoding="utf-8")
    assert "<h2>Per series</h2>" in text
    mase = result.metrics_by_series["mase"].unstack("model")
    for name, model in mase.idxmin(axis=1).items():  # the best model per series in bold
        row = text.split(f"<td>{name}</td>", 1)[1].split("</tr>", 1)[0]
        assert row.count("<b>") == 1
        cells = row.split("<td>")[1:]  # in the order of the models
        assert "<b>" in cells[result.models.index(model)]
    saved = pd.read_csv(files.tables["dm_tests_by_series"], index_col=[0, 1, 2])
    assert len(saved) == 3 * 3 * 2 and "pvalue_adjusted" in saved.columns  # models, series, steps
    assert "<h3>Dm tests by series</h3>" not in text  # summarised, not listed row by row
    strategy = pd.read_csv(files.tables["strategy_metrics"], index_col="strategy")
    assert list(strategy.index) == ["global", "equal_weight"]
