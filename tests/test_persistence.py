"""save/load round trips in the versioned JSON + npz format."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from test_forecasters import FORECASTERS, fitted, make_prices, steps_for

from convexforecast.forecasting.arima import ARIMAForecaster
from convexforecast.forecasting.baselines import LinearARForecaster, NaiveForecaster
from convexforecast.forecasting.persistence import FORECASTERS as LOADABLE
from convexforecast.forecasting.persistence import FORMAT_VERSION, load, save


@pytest.fixture(params=sorted(FORECASTERS))
def name(request) -> str:
    return request.param


@pytest.mark.parametrize("container", ["directory", "zip"])
def test_round_trip_gives_identical_forecasts(name, container, tmp_path):
    y = make_prices(index_kind="business")
    forecaster = fitted(name, "business", drop_last=8).update(y.iloc[-8:-3])
    path = tmp_path / ("model.zip" if container == "zip" else "model")
    save(forecaster, path)
    loaded = load(path)

    assert type(loaded) is type(forecaster)
    assert loaded.get_params() == forecaster.get_params()
    steps = steps_for(forecaster)
    pd.testing.assert_series_equal(loaded.predict(steps), forecaster.predict(steps),
                                   check_exact=True)
    pd.testing.assert_series_equal(loaded.last_window_, forecaster.last_window_,
                                   check_exact=True)
    assert loaded.cutoff_ == forecaster.cutoff_
    assert (loaded.n_obs_, loaded.n_train_) == (forecaster.n_obs_, forecaster.n_train_)
    if forecaster.in_sample_residuals_ is None:
        assert loaded.in_sample_residuals_ is None
    else:
        np.testing.assert_array_equal(loaded.in_sample_residuals_,
                                      forecaster.in_sample_residuals_)

    # Both keep moving the origin identically after the round trip.
    forecaster.update(y.iloc[-3:])
    loaded.update(y.iloc[-3:])
    pd.testing.assert_series_equal(loaded.predict(steps), forecaster.predict(steps),
                                   check_exact=True)


def test_convex_round_trip_keeps_features_and_certificate(tmp_path):
    forecaster = fitted("convex_direct")
    loaded = load(save(forecaster, tmp_path / "convex"))
    pd.testing.assert_frame_equal(loaded.selected_features(), forecaster.selected_features())
    assert loaded.duality_gap_ == forecaster.duality_gap_
    assert loaded.objective_ == forecaster.objective_
    np.testing.assert_array_equal(loaded.betas_, forecaster.betas_)
    assert loaded.regressors_ is None  # the solver objects themselves are not stored
    X = np.linspace(-2.0, 2.0, 12).reshape(6, 2)
    for step in (1, 2, 3, 4):
        np.testing.assert_allclose(loaded.to_network(step).predict(X),
                                   forecaster.to_network(step).predict(X), rtol=1e-9,
                                   atol=1e-12)


def test_arima_round_trip_keeps_order_and_search(tmp_path):
    forecaster = fitted("arima_auto")
    loaded = load(save(forecaster, tmp_path / "arima.zip"))
    assert loaded.order_ == forecaster.order_
    assert loaded.trend_ == forecaster.trend_
    np.testing.assert_array_equal(loaded.params_, forecaster.params_)
    pd.testing.assert_frame_equal(loaded.search_results_, forecaster.search_results_)


@pytest.mark.parametrize(
    "index",
    [
        pd.date_range("2022-03-20", periods=40, freq="h", tz="Europe/Zurich"),  # crosses DST
        pd.period_range("2001-01-01", periods=40, freq="W-SUN"),
        pd.Index(np.arange(5, 85, 2)),
    ],
    ids=["tz_hourly", "weekly_period", "integer_step"],
)
def test_round_trip_index_metadata(index, tmp_path):
    y = pd.Series(make_prices(n=40).to_numpy(), index=index, name=("close", "BTC"))
    forecaster = LinearARForecaster(lags=2).fit(y.iloc[:-2])
    loaded = load(save(forecaster, tmp_path / "model"))
    pd.testing.assert_series_equal(loaded.predict(3), forecaster.predict(3), check_exact=True)
    assert loaded.predict(3).index.equals(forecaster.predict(3).index)
    assert loaded.cutoff_ == forecaster.cutoff_
    assert loaded.predict(1).name == ("close", "BTC")
    loaded.update(y.iloc[-2:])
    forecaster.update(y.iloc[-2:])
    pd.testing.assert_series_equal(loaded.predict(2), forecaster.predict(2), check_exact=True)


def test_arima_naive_fallback_round_trip(tmp_path):
    y = pd.Series(np.full(30, 3.0), index=pd.RangeIndex(30))
    with pytest.warns(UserWarning):
        forecaster = ARIMAForecaster(order=(1, 0, 0)).fit(y)
    assert forecaster.order_ is None
    loaded = load(save(forecaster, tmp_path / "naive"))
    assert loaded.order_ is None and loaded.fallback_ == forecaster.fallback_
    pd.testing.assert_series_equal(loaded.predict(2), forecaster.predict(2), check_exact=True)


def test_file_format_is_json_and_npz_without_pickle(tmp_path):
    forecaster = ARIMAForecaster(order=(1, 1, 0)).fit(make_prices())
    path = save(forecaster, tmp_path / "model.zip")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["arrays.npz", "forecaster.json"]
        document = json.loads(archive.read("forecaster.json"))
        archive.extract("arrays.npz", tmp_path)
    assert document["format"] == "convexforecast.forecaster"
    assert document["format_version"] == FORMAT_VERSION
    assert document["class"] == "ARIMAForecaster"
    assert document["params"]["order"] == {"__tuple__": [1, 1, 0]}
    assert document["state"]["index"] == {"kind": "datetime", "freq": "D", "tz": None}
    with np.load(tmp_path / "arrays.npz", allow_pickle=False) as arrays:
        assert all(arrays[key].dtype != object for key in arrays.files)


def test_unknown_format_version_is_rejected(tmp_path):
    path = save(NaiveForecaster().fit(make_prices()), tmp_path / "naive")
    document = json.loads((path / "forecaster.json").read_text())
    document["format_version"] = 99
    (path / "forecaster.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"`format_version` 99 .* not supported"):
        load(path)


def test_unknown_class_and_foreign_files_are_rejected(tmp_path):
    path = save(NaiveForecaster().fit(make_prices()), tmp_path / "naive")
    document = json.loads((path / "forecaster.json").read_text())
    document["class"] = "os.system"
    (path / "forecaster.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"`class` must be one of .* Got 'os.system'"):
        load(path)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "forecaster.json").write_text(json.dumps({"hello": 1}))
    (foreign / "arrays.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="not a saved convexforecast forecaster"):
        load(foreign)
    with pytest.raises(FileNotFoundError, match="`path` does not exist"):
        load(tmp_path / "missing")


def test_unfitted_and_unknown_forecasters_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        save(NaiveForecaster(), tmp_path / "unfitted")

    class Custom(NaiveForecaster):
        pass

    with pytest.raises(TypeError, match="`forecaster` must be one of"):
        save(Custom().fit(make_prices()), tmp_path / "custom")


def test_every_forecaster_class_is_loadable():
    classes = {type(factory()).__name__ for factory in FORECASTERS.values()}
    assert classes == set(LOADABLE)
