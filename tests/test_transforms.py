"""Target transforms and lag windows."""

from __future__ import annotations

import numpy as np
import pytest

from convexforecast.forecasting.transforms import TRANSFORMS, get_transform
from convexforecast.forecasting.windows import lag_matrix, last_lags, recursive_forecast

PRICES = np.array([100.0, 101.5, 99.0, 102.0, 104.5, 103.0, 107.0, 106.0])


def test_forward_values_by_hand():
    np.testing.assert_allclose(get_transform("log_return").transform(PRICES),
                               np.log(PRICES[1:] / PRICES[:-1]))
    np.testing.assert_allclose(get_transform("diff").transform(PRICES), PRICES[1:] - PRICES[:-1])
    np.testing.assert_allclose(get_transform("log").transform(PRICES), np.log(PRICES))
    np.testing.assert_array_equal(get_transform("none").transform(PRICES), PRICES)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_inverse_of_the_true_future_recovers_the_levels(name):
    transform = get_transform(name)
    z = transform.transform(PRICES)
    origin = 4  # levels up to and including PRICES[origin] are observed
    future_z = z[origin + 1 - transform.n_lost :]
    recovered = transform.inverse(future_z, PRICES[: origin + 1])
    np.testing.assert_allclose(recovered, PRICES[origin + 1 :], rtol=1e-12)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_one_step_levels(name):
    transform = get_transform(name)
    z = transform.transform(PRICES)
    start = transform.n_lost
    previous = np.concatenate([[np.nan], PRICES[:-1]])[start + 1 :]
    levels = transform.one_step_levels(z[1:], previous)
    np.testing.assert_allclose(levels, PRICES[start + 1 :], rtol=1e-12)
    # the vectorised form is each row's own one-step inverse, to the bit
    by_row = [transform.inverse(z[1 + i : 2 + i], previous[i : i + 1])[0] for i in range(len(levels))]
    np.testing.assert_array_equal(levels, by_row)


def test_transform_does_not_mutate_input():
    prices = PRICES.copy()
    for name in TRANSFORMS:
        get_transform(name).transform(prices)
        get_transform(name).inverse(np.array([0.01, 0.02]), prices)
    np.testing.assert_array_equal(prices, PRICES)


@pytest.mark.parametrize("name", ["log", "log_return"])
@pytest.mark.parametrize("bad", [0.0, -5.0])
def test_log_transforms_reject_non_positive(name, bad):
    prices = PRICES.copy()
    prices[3] = bad
    with pytest.raises(ValueError, match=rf"`y` must be strictly positive.*{bad!r} at position 3"):
        get_transform(name).transform(prices)
    with pytest.raises(ValueError, match=r"`y_new`"):
        get_transform(name).check(prices, "y_new")


@pytest.mark.parametrize("name", ["diff", "none"])
def test_level_transforms_accept_non_positive(name):
    prices = PRICES - 102.0
    assert np.all(np.isfinite(get_transform(name).transform(prices)))


def test_unknown_transform():
    with pytest.raises(ValueError, match=r"`transform` must be one of .* Got 'sqrt'"):
        get_transform("sqrt")


# ------------------------------------------------------------------ windows
def test_lag_matrix_against_loop():
    z = np.arange(10.0) ** 1.5
    for lags in (1, 3):
        for horizon in (1, 2, 4):
            X, target = lag_matrix(z, lags, horizon)
            rows = [(np.array([z[t - j] for j in range(1, lags + 1)]), z[t + horizon - 1])
                    for t in range(lags, len(z) - horizon + 1)]
            assert X.shape == (len(rows), lags)
            np.testing.assert_array_equal(X, np.array([r[0] for r in rows]))
            np.testing.assert_array_equal(target, np.array([r[1] for r in rows]))
            assert X.flags["C_CONTIGUOUS"]


def test_lag_matrix_returns_copies():
    z = np.arange(8.0)
    X, target = lag_matrix(z, 2)
    X[0, 0] = -1.0
    target[0] = -1.0
    np.testing.assert_array_equal(z, np.arange(8.0))


def test_lag_matrix_too_short_and_bad_lags():
    with pytest.raises(ValueError, match=r"`z` must have at least lags \+ horizon = 5.*Got 4"):
        lag_matrix(np.arange(4.0), 3, 2)
    with pytest.raises(ValueError, match=r"`lags` must be an integer >= 1. Got 0"):
        lag_matrix(np.arange(4.0), 0)


def test_last_lags_is_the_next_design_row():
    z = np.arange(7.0)
    np.testing.assert_array_equal(last_lags(z, 3), [[6.0, 5.0, 4.0]])
    X, _ = lag_matrix(np.r_[z, 99.0], 3)
    np.testing.assert_array_equal(last_lags(z, 3)[0], X[-1])


def test_recursive_forecast_equals_iterated_ar():
    phi = np.array([0.5, -0.2, 0.1])
    z = np.array([0.3, -0.1, 0.2, 0.4])

    def predict_one(row):
        return row @ phi + 0.01

    path = recursive_forecast(predict_one, z, 3, 4)
    history = list(z)
    for h in range(4):
        value = 0.01 + sum(phi[j] * history[-1 - j] for j in range(3))
        assert path[h] == pytest.approx(value, rel=1e-14)
        history.append(value)
