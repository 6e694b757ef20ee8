"""Conformal and bootstrap intervals: hand-computed bounds, no look-ahead, coverage."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from convexforecast.forecasting.backtest import backtest
from convexforecast.forecasting.baselines import NaiveForecaster
from convexforecast.forecasting.intervals import (
    add_intervals,
    bootstrap_intervals,
    check_interval_options,
    conformal_intervals,
    min_calibration_size,
)

RESIDUALS = np.array([1.0, -3.0, 2.0, 0.5, -4.0, 1.5])


def _frame(residuals=RESIDUALS, horizon=1):
    n = len(residuals)
    origins = np.arange(n)
    forecast = np.full(n, 10.0)
    return pd.DataFrame({
        "origin": origins,
        "target": origins + horizon,
        "horizon": horizon,
        "model": "m",
        "forecast": forecast,
        "actual": forecast + residuals,
        "fold": origins,
    })


def test_conformal_bounds_hand_computed():
    bounds = conformal_intervals(_frame(), level=0.5)
    # origin 0: no target <= 0 yet -> no interval
    assert bounds.iloc[0].isna().all()
    # origin 3: targets 1, 2, 3 observed, |r| = 1, 3, 2; rank ceil(4 * 0.5) = 2 -> 2
    assert tuple(bounds.iloc[3]) == (8.0, 12.0)
    # origin 5: |r| = 1, 3, 2, 0.5, 4; rank ceil(6 * 0.5) = 3 -> 2
    assert tuple(bounds.iloc[5]) == (8.0, 12.0)
    # origin 1: |r| = 1; rank ceil(2 * 0.5) = 1 -> 1
    assert tuple(bounds.iloc[1]) == (9.0, 11.0)


def test_conformal_needs_enough_residuals():
    assert min_calibration_size(0.9) == 9
    assert min_calibration_size(0.5) == 1
    assert min_calibration_size(0.8) == 4
    bounds = conformal_intervals(_frame(np.ones(12)), level=0.9)
    # origin o has o residuals; finite from o = 9 on: ceil(10 * 0.9) = 9 <= 9
    assert bounds["lower"].isna().to_numpy().tolist() == [True] * 9 + [False] * 3


def test_conformal_uses_no_future_residuals():
    frame = _frame()
    changed = frame.copy()
    changed.loc[3:, "actual"] += 100.0  # targets 4, 5, 6 are after origin 3
    a = conformal_intervals(frame, level=0.5)
    b = conformal_intervals(changed, level=0.5)
    pd.testing.assert_frame_equal(a.iloc[:4], b.iloc[:4])
    assert not a.iloc[4:].equals(b.iloc[4:])


def test_horizons_and_models_are_calibrated_separately():
    one = _frame(horizon=1)
    two = _frame(RESIDUALS * 10, horizon=2)
    other = _frame(RESIDUALS * 100).assign(model="other")
    both = pd.concat([one, two, other], ignore_index=True)
    bounds = conformal_intervals(both, level=0.5)
    pd.testing.assert_frame_equal(bounds.iloc[:6].reset_index(drop=True),
                                  conformal_intervals(one, level=0.5))
    # horizon 2, origin 5: targets 2..5 observed -> |r| = 10, 30, 20, 5; rank ceil(5*0.5)=3 -> 20
    assert tuple(bounds.iloc[11]) == (-10.0, 30.0)


def test_bootstrap_constant_pool_hand_computed():
    frame = _frame(np.full(6, 2.0))
    bounds = bootstrap_intervals(frame, level=0.5, n_boot=50, random_state=1)
    assert bounds.iloc[0].isna().all()
    np.testing.assert_allclose(bounds.iloc[1:].to_numpy(), 12.0)
    frame3 = _frame(np.zeros(6), horizon=3)
    pool = {("m", f): np.array([0.5, 0.5]) for f in range(6)}
    insample = bootstrap_intervals(frame3, level=0.5, residuals="in_sample",
                                   in_sample_residuals=pool, n_boot=20)
    # a 3-step error is the sum of three one-step draws: 1.5
    np.testing.assert_allclose(insample.to_numpy(), 11.5)


def test_bootstrap_seeded_and_order_invariant():
    rng = np.random.default_rng(0)
    frame = _frame(rng.normal(size=40))
    a = bootstrap_intervals(frame, level=0.8, n_boot=200, random_state=7)
    b = bootstrap_intervals(frame, level=0.8, n_boot=200, random_state=7)
    pd.testing.assert_frame_equal(a, b)
    shuffled = frame.sample(frac=1.0, random_state=3)
    c = bootstrap_intervals(shuffled, level=0.8, n_boot=200, random_state=7)
    pd.testing.assert_frame_equal(a, c.loc[a.index])
    d = bootstrap_intervals(frame, level=0.8, n_boot=200, random_state=8)
    assert not a.equals(d)
    ok = a["lower"].notna()
    assert ok.sum() == len(frame) - min_calibration_size(0.8)
    assert (a["lower"][ok] < a["upper"][ok]).all()


def test_bootstrap_quantiles_follow_the_pool():
    rng = np.random.default_rng(1)
    residuals = rng.normal(size=400)
    frame = _frame(residuals)
    bounds = bootstrap_intervals(frame, level=0.8, n_boot=4000, random_state=0)
    last = bounds.iloc[-1]
    pool = residuals[:-1]  # all targets <= last origin
    expected = 10.0 + np.quantile(pool, [0.1, 0.9])
    np.testing.assert_allclose(last.to_numpy(), expected, atol=0.1)


def _random_walk(n=260, seed=0):
    rng = np.random.default_rng(seed)
    return pd.Series(100 + np.cumsum(rng.normal(size=n)),
                     index=pd.date_range("2022-01-01", periods=n, freq="D"))


@pytest.mark.parametrize("options", [
    {"method": "conformal", "level": 0.9},
    {"method": "bootstrap", "level": 0.9, "n_boot": 300, "residuals": "out_of_sample"},
    {"method": "bootstrap", "level": 0.9, "n_boot": 300, "residuals": "in_sample"},
])
def test_backtest_reports_empirical_vs_nominal_coverage(options):
    y = _random_walk()
    res = backtest({"naive": NaiveForecaster()}, y, initial_train_size=60, steps=2, fold_stride=1,
                   refit=10, intervals=options, show_progress=False)
    pred = res.predictions
    has = pred["lower"].notna()
    inside = (pred["actual"] >= pred["lower"]) & (pred["actual"] <= pred["upper"])
    row = res.metrics.loc["naive"]
    assert row["nominal_coverage"] == 0.9
    assert row["n_intervals"] == has.sum()
    assert row["coverage"] == pytest.approx(inside[has].mean())
    assert row["mean_width"] == pytest.approx((pred["upper"] - pred["lower"])[has].mean())
    # random walk + naive: the residual pools are honest, coverage near nominal
    assert 0.8 <= row["coverage"] <= 0.98
    by_h = res.metrics_by_horizon
    wide = by_h.loc[("naive", 2), "mean_width"] > by_h.loc[("naive", 1), "mean_width"]
    assert wide
    if options.get("residuals") == "in_sample":
        assert has.all()  # in-sample pools exist from the first fold on
    else:
        assert (~has).sum() >= min_calibration_size(0.9)


def test_add_intervals_copies_and_validates():
    frame = _frame()
    out = add_intervals(frame, {"method": "conformal", "level": 0.5})
    assert {"lower", "upper"} <= set(out.columns)
    assert "lower" not in frame.columns
    method = r"`intervals\['method'\]` must be one of .* Got 'jackknife'"
    with pytest.raises(ValueError, match=method):
        check_interval_options({"method": "jackknife"})
    level = r"`intervals\['level'\]` must be a number in \(0, 1\). Got 1.5"
    with pytest.raises(ValueError, match=level):
        check_interval_options({"method": "conformal", "level": 1.5})
    with pytest.raises(ValueError, match=r"`intervals` has unknown keys \['n_boot'\]"):
        check_interval_options({"method": "conformal", "n_boot": 10})
    with pytest.raises(ValueError, match=r"`intervals\['n_boot'\]` must be an integer >= 1"):
        check_interval_options({"method": "bootstrap", "n_boot": 0})
    with pytest.raises(TypeError, match="`intervals` must be a dict"):
        check_interval_options("conformal")
    with pytest.raises(ValueError, match="`in_sample_residuals` must be given"):
        bootstrap_intervals(frame, residuals="in_sample")
    assert math.isclose(check_interval_options({"method": "bootstrap"})["level"], 0.9)
