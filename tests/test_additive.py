"""The grouped additive evaluator equals the feature-by-feature sum, for every feature kind."""

from __future__ import annotations

import tracemalloc

import numpy as np

from convexforecast.core.additive import AdditiveFunction
from convexforecast.core.features import CHUNK_ENTRIES, Feature

FEATURES = [
    Feature("ramp", (0.3,), depth=3, direction=1),
    Feature("ramp", (-0.2,), depth=2, direction=-1),
    Feature("ramp", (0.1,), activation="leaky_relu", depth=2, direction=1, negative_slope=0.05),
    Feature("capped_ramp", (-0.5, 0.4), depth=3),
    Feature("abs", (0.25,), activation="abs", depth=2),
    Feature("folded_abs", (-0.6, 0.0, 0.6), activation="abs", depth=3),
    Feature("step", (-0.1, 0.2), activation="sign", depth=3, direction=-1),
    Feature("step", (0.5,), activation="threshold", depth=2, direction=1),
]


def test_grouped_evaluation_equals_feature_sum():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1.5, 1.5, size=(200, 3))
    inputs = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    coef = rng.standard_normal(len(FEATURES))
    function = AdditiveFunction(FEATURES, inputs, coef, intercept=0.7)
    expected = 0.7 + sum(c * f(X[:, j]) for f, j, c in zip(FEATURES, inputs, coef, strict=True))
    np.testing.assert_allclose(function(X), expected, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(function(X), function(X))  # cached groups, same bits


def test_empty_network_is_its_intercept():
    function = AdditiveFunction([], np.empty(0, dtype=np.int64), np.empty(0), intercept=-2.0)
    np.testing.assert_array_equal(function(np.zeros((4, 2))), np.full(4, -2.0))


def test_many_rows_are_evaluated_in_blocks_of_bounded_memory():
    """Rows go through in blocks, so the (rows × features) temporaries stay near
    ``CHUNK_ENTRIES`` entries however many rows there are (a 247k-window fit's canonical
    network is evaluated on all of its rows)."""
    rng = np.random.default_rng(1)
    n_rows, n_features = 300_000, 40
    features = [FEATURES[3 * (k % 2)] for k in range(n_features)]  # ramps and capped ramps
    inputs = rng.integers(0, 3, n_features)
    coef = rng.standard_normal(n_features)
    X = rng.uniform(-1.5, 1.5, size=(n_rows, 3))
    function = AdditiveFunction(features, inputs, coef, intercept=0.7)
    tracemalloc.start()
    try:
        values = function(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * CHUNK_ENTRIES * 8 + values.nbytes  # unblocked: 3 × 96 MB
    expected = 0.7 + sum(c * f(X[:, j]) for f, j, c in zip(features, inputs, coef, strict=True))
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-12)
