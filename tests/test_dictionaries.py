"""Tests for convexforecast.core.dictionaries (explicit dictionaries, dedup, provenance)."""

from __future__ import annotations

from itertools import product
from math import comb

import numpy as np
import pytest
from paper_reference import paper_columns

from convexforecast.core.dictionaries import (
    SUPPORTED_DEPTHS,
    build_dictionary,
    candidate_features,
    feature_matrix,
)
from convexforecast.core.features import KINDS, Feature

PIECEWISE_LINEAR = [("relu", 2), ("relu", 3), ("relu", 4), ("leaky_relu", 2), ("abs", 2),
                    ("abs", 3)]
ALL_FAMILIES = PIECEWISE_LINEAR + [(a, d) for a in ("sign", "threshold") for d in (2, 3, 4)]


def random_x(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-3.0, 7.0, n)


def centred_classes(matrix: np.ndarray, rtol: float = 1e-8) -> np.ndarray:
    """Distinct non-constant columns mod sign and intercept (independent greedy helper)."""
    centred = matrix - matrix.mean(axis=0)
    scale = np.abs(centred).max()
    tol = rtol * scale
    centred = centred[:, np.abs(centred).max(axis=0) > tol]
    # cheap pre-merge of (near-)identical columns; the greedy pass below is the real test
    signs = np.sign(centred[np.abs(centred).argmax(axis=0), np.arange(centred.shape[1])])
    _, first = np.unique(np.round(centred * signs / tol), axis=1, return_index=True)
    centred = centred[:, np.sort(first)]
    reps = np.empty((matrix.shape[0], 0))
    for j in range(centred.shape[1]):
        c = centred[:, j:j + 1]
        if reps.shape[1]:
            dist = np.minimum(np.abs(reps - c).max(axis=0), np.abs(reps + c).max(axis=0))
            if dist.min() <= tol:
                continue
        reps = np.hstack([reps, c])
    return reps


def same_classes(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """Whether two sets of centred columns are equal mod sign."""
    def covered(src, dst):
        return all(
            np.minimum(np.abs(dst - c[:, None]).max(axis=0),
                       np.abs(dst + c[:, None]).max(axis=0)).min() <= tol
            for c in src.T)
    return a.shape[1] == b.shape[1] and covered(a, b) and covered(b, a)


def wide_grid(x: np.ndarray) -> np.ndarray:
    lo, hi = x.min(), x.max()
    span = hi - lo
    return np.concatenate([np.linspace(lo - 2 * span - 1, hi + 2 * span + 1, 1201), x])


# ---------------------------------------------------------------- the paper's recursion
@pytest.mark.parametrize(("depth", "n"), [(2, 8), (3, 7), (4, 5), (4, 6)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_forms_equal_paper_recursion_off_data(depth, n, seed):
    # paper-notes §2.2: the closed-form families equal the notebook's reludic columns as
    # functions (mod sign and intercept) on a wide grid around and between the data.
    x = random_x(seed, n)
    grid = wide_grid(x)
    paper = centred_classes(paper_columns(x, depth, grid))
    ours = centred_classes(feature_matrix(candidate_features(x, depth=depth), grid))
    scale = np.abs(paper).max()
    assert same_classes(paper, ours, 1e-7 * scale)


@pytest.mark.parametrize(("depth", "n"), [(2, 9), (3, 8), (4, 6), (4, 7)])
@pytest.mark.parametrize("seed", [3, 4])
def test_dictionary_equals_paper_recursion_on_data(depth, n, seed):
    x = random_x(seed, n)
    dic = build_dictionary(x, depth=depth)
    paper = centred_classes(paper_columns(x, depth, x))
    ours = dic.matrix - dic.matrix.mean(axis=0)
    assert dic.n_columns == paper.shape[1]
    assert same_classes(paper, ours, 1e-7 * np.abs(paper).max())


# ---------------------------------------------------------------- counts
def reflection_count(x: np.ndarray) -> int:
    """Distinct depth-4 columns on data, counted from the closed form of paper-notes §2.2.

    D₃ has C(N, 2) classes. A reflection R = 2q − p strictly inside the data range (and
    not on a data point) adds one new column per admissible data kink u_l, d(u_l − q) >= 0
    (the ramp at R coincides on data with the capped ramp to the extreme point); outside
    the range its features coincide with D₃ on the data.
    """
    u = np.unique(x)
    n = len(u)
    count = comb(n, 2)
    for ip, iq in product(range(n), repeat=2):
        r = 2 * u[iq] - u[ip]
        if ip != iq and u[0] < r < u[-1] and np.abs(u - r).min() > 1e-12:
            count += n - iq if iq > ip else iq + 1
    return count


@pytest.mark.parametrize("n", [2, 3, 5, 10, 23])
def test_distinct_column_counts(n):
    x = random_x(n, n)
    assert build_dictionary(x, depth=2).n_columns == 2 * n - 3
    assert build_dictionary(x, depth=3).n_columns == comb(n, 2)
    assert build_dictionary(x, depth=4).n_columns == reflection_count(x)
    assert build_dictionary(x, depth=2, activation="abs").n_columns == n - 1
    # the two linear leaky columns have slopes 1 and a: proportional, not merged
    assert build_dictionary(x, depth=2, activation="leaky_relu").n_columns == 2 * n - 2
    for act in ("sign", "threshold"):
        assert build_dictionary(x, depth=2, activation=act).n_columns == n - 1
        expected = sum(comb(n - 1, k) for k in range(1, min(2, n - 1) + 1))
        assert build_dictionary(x, depth=3, activation=act).n_columns == expected


def test_depth4_count_depends_on_the_configuration():
    # The number of distinct depth-4 columns depends on how many reflections fall inside
    # the data range, so it varies between random draws of the same size.
    counts = {build_dictionary(random_x(seed, 5), depth=4).n_columns for seed in range(12)}
    assert len(counts) > 1
    assert min(counts) >= comb(5, 2)


# ---------------------------------------------------------------- representatives
def priority(f: Feature) -> tuple:
    return (f.n_kinks, f.is_reflection, KINDS.index(f.kind), f.kinks, f.direction)


@pytest.mark.parametrize(("activation", "depth", "n"),
                         [("relu", 3, 7), ("relu", 4, 6), ("abs", 3, 6), ("leaky_relu", 2, 6),
                          ("sign", 3, 6)])
def test_representative_is_first_by_documented_rule(activation, depth, n):
    x = random_x(5, n)
    dic = build_dictionary(x, depth=depth, activation=activation)
    cands = candidate_features(x, depth=depth, activation=activation)
    u = np.unique(x)
    cand_vals = feature_matrix(cands, u)
    cand_vals = cand_vals - cand_vals.mean(axis=0)
    tol = 1e-8 * np.abs(cand_vals).max()
    rep_vals = dic.evaluate(u)
    rep_vals = rep_vals - rep_vals.mean(axis=0)
    for j, rep in enumerate(dic.features):
        c = rep_vals[:, j:j + 1]
        dist = np.minimum(np.abs(cand_vals - c).max(axis=0), np.abs(cand_vals + c).max(axis=0))
        members = [cands[i] for i in np.flatnonzero(dist <= tol)]
        assert rep in members
        assert priority(rep) == min(priority(m) for m in members)


def test_depth3_representatives_prefer_ramps():
    x = random_x(6, 9)
    u = np.sort(x)
    dic = build_dictionary(x, depth=3)
    ramps = [f for f in dic.features if f.kind == "ramp"]
    capped = [f for f in dic.features if f.kind == "capped_ramp"]
    assert len(ramps) == 2 * len(u) - 3
    # a capped ramp touching an extreme data point is a ramp on the data
    assert all(u[0] < f.kinks[0] and f.kinks[1] < u[-1] for f in capped)
    assert not any(f.is_reflection for f in dic.features)


def test_opt_depth4_contains_reflected_capped_ramp():
    x = np.array([0.0, 4.0, 5.0, 7.0, 10.0, 11.0])
    dic = build_dictionary(x, depth=4)
    found = [f for f in dic.features if f.kind == "capped_ramp" and f.kinks == (5.0, 8.0)]
    assert len(found) == 1
    assert found[0].reflected == (False, True)
    assert found[0].sources == (None, (0.0, 4.0))


@pytest.mark.parametrize(("activation", "depth"), [("relu", 4), ("abs", 3)])
def test_reflection_provenance(activation, depth):
    x = random_x(7, 7)
    u = np.unique(x)
    dic = build_dictionary(x, depth=depth, activation=activation)
    assert any(f.is_reflection for f in dic.features)
    midpoints = {0.5 * (a + b) for a in u for b in u}
    for f in dic.features:
        for kink, refl, src in zip(f.kinks, f.reflected, f.sources, strict=True):
            if refl:
                assert src is not None
                assert kink == pytest.approx(2 * src[1] - src[0], abs=1e-12)
                assert np.abs(u - kink).min() > 1e-9
            else:
                assert src is None
                on_data = np.abs(u - kink).min() <= 1e-12
                is_centre = activation == "abs" and any(
                    abs(kink - m) <= 1e-12 for m in midpoints)
                assert on_data or is_centre


# ---------------------------------------------------------------- steps
@pytest.mark.parametrize("activation", ["sign", "threshold"])
@pytest.mark.parametrize(("depth", "max_switches"), [(2, None), (3, None), (3, 3), (4, None)])
def test_step_dictionary_is_all_vectors_with_few_switches(activation, depth, max_switches):
    n = 7
    x = random_x(8, n)
    dic = build_dictionary(x, depth=depth, activation=activation, max_switches=max_switches)
    k = max_switches or 2 ** (depth - 2)
    low = -1.0 if activation == "sign" else 0.0
    vectors = set()
    for bits in product([low, 1.0], repeat=n):
        switches = sum(bits[i] != bits[i + 1] for i in range(n - 1))
        if 1 <= switches <= k and bits[0] == low:
            vectors.add(bits)
    order = np.argsort(x)
    got = {tuple(col) for col in dic.matrix[order].T}
    assert got == vectors


@pytest.mark.parametrize("activation", ["sign", "threshold"])
def test_step_switches_at_the_data_point(activation):
    x = np.array([3.0, -1.0, 0.5, 2.0])
    dic = build_dictionary(x, depth=2, activation=activation)
    high = 1.0
    for f, col in zip(dic.features, dic.matrix.T, strict=True):
        t = f.kinks[0]
        assert t in x
        assert col[x == t][0] == high  # sign(0) = +1, threshold 1{t >= 0}
        assert f(np.array([t - 1e-9]))[0] != high


# ---------------------------------------------------------------- ties and evaluation
@pytest.mark.parametrize(("activation", "depth"), ALL_FAMILIES)
def test_ties_are_merged(activation, depth):
    base = np.array([0.3, -1.2, 2.5, 4.0, 1.1, 3.3])
    x = np.concatenate([base, base[[0, 2, 2]]])
    dic = build_dictionary(x, depth=depth, activation=activation)
    ref = build_dictionary(base, depth=depth, activation=activation)
    assert dic.features == ref.features
    np.testing.assert_array_equal(dic.matrix[:len(base)], ref.matrix)
    np.testing.assert_array_equal(dic.matrix[len(base):], ref.matrix[[0, 2, 2]])
    centred = dic.matrix - dic.matrix.mean(axis=0)
    assert np.abs(centred).max(axis=0).min() > 1e-9  # no constant columns
    assert centred_classes(dic.matrix).shape[1] == dic.n_columns  # no duplicates
    with_ones = np.column_stack([dic.matrix, np.ones(len(x))])
    assert np.linalg.matrix_rank(with_ones) == np.linalg.matrix_rank(
        np.column_stack([ref.matrix, np.ones(len(base))]))
    for f in dic.features:  # never a degenerate zero-length capped ramp
        assert all(b > a for a, b in zip(f.kinks[:-1], f.kinks[1:], strict=True))


@pytest.mark.parametrize(("activation", "depth"), ALL_FAMILIES)
def test_evaluation_matches_feature_call(activation, depth):
    x = random_x(9, 7)
    dic = build_dictionary(x, depth=depth, activation=activation)
    off = np.linspace(x.min() - 5, x.max() + 5, 157)
    values = dic.evaluate(off)
    on = dic.evaluate(x)
    assert values.shape == (off.size, dic.n_columns)
    np.testing.assert_array_equal(on, dic.matrix)
    np.testing.assert_array_equal(feature_matrix(dic.features, off), values)
    for j, f in enumerate(dic.features):
        np.testing.assert_array_equal(values[:, j], f(off))
        np.testing.assert_array_equal(dic.matrix[:, j], f(x))


def test_leaky_relu_features_carry_slope():
    x = random_x(10, 6)
    dic = build_dictionary(x, depth=2, activation="leaky_relu", negative_slope=0.2)
    assert all(f.negative_slope == 0.2 and f.kind == "ramp" for f in dic.features)
    t = x[:, None] - np.array([f.kinks[0] for f in dic.features])[None, :]
    t = t * np.array([f.direction for f in dic.features])[None, :]
    np.testing.assert_allclose(dic.matrix, np.maximum(t, 0.2 * t), rtol=0, atol=1e-14)


# ---------------------------------------------------------------- chain realisations
SIGMAS = {
    "relu": lambda t, a: np.maximum(t, 0.0),
    "leaky_relu": lambda t, a: np.maximum(t, a * t),
    "abs": lambda t, a: np.abs(t),
}


@pytest.mark.parametrize(("activation", "depth"), PIECEWISE_LINEAR)
def test_chain_realises_every_feature(activation, depth):
    x = random_x(11, 6)
    dic = build_dictionary(x, depth=depth, activation=activation)
    grid = wide_grid(x)
    sigma = SIGMAS[activation]
    for f in dic.features:
        layers, scale, offset = f.chain()
        assert len(layers) == depth - 1
        h = grid
        for s, t in layers:
            h = sigma(s * (h - t), f.negative_slope)
        np.testing.assert_allclose(scale * h + offset, f(grid), rtol=0, atol=1e-11)


@pytest.mark.parametrize("activation", ["sign", "threshold"])
def test_step_features_have_no_unit_weight_chain(activation):
    dic = build_dictionary(random_x(12, 4), depth=3, activation=activation)
    with pytest.raises(ValueError, match="Step features"):
        dic.features[0].chain()


# ---------------------------------------------------------------- determinism and inputs
def test_deterministic_and_order_invariant():
    x = random_x(13, 12)
    a = build_dictionary(x, depth=4)
    b = build_dictionary(x, depth=4)
    perm = np.random.default_rng(0).permutation(len(x))
    c = build_dictionary(x[perm], depth=4)
    assert a.features == b.features == c.features
    np.testing.assert_array_equal(a.matrix, b.matrix)
    np.testing.assert_array_equal(a.matrix[perm], c.matrix)


def test_caller_array_not_mutated():
    x = np.array([3.0, 1.0, 1.0, 2.0, -4.0])
    before = x.copy()
    build_dictionary(x, depth=4)
    candidate_features(x, depth=3)
    dic = build_dictionary(x, depth=3)
    grid = np.array([5.0, -1.0, 0.0])
    grid_before = grid.copy()
    dic.evaluate(grid)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(grid, grid_before)
    assert x.flags.writeable


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"x": [0.0, np.nan, 1.0], "depth": 2}, "`x`"),
        ({"x": [0.0, np.inf, 1.0], "depth": 3}, "`x`"),
        ({"x": [2.0, 2.0, 2.0], "depth": 2}, "`x`"),
        ({"x": [[0.0, 1.0], [2.0, 3.0]], "depth": 2}, "`x`"),
        ({"x": [0.0, 1.0], "depth": 2, "activation": "tanh"}, "`activation`"),
        ({"x": [0.0, 1.0], "depth": 5}, "`depth`"),
        ({"x": [0.0, 1.0], "depth": 3, "activation": "leaky_relu"}, "`depth`"),
        ({"x": [0.0, 1.0], "depth": 4, "activation": "abs"}, "`depth`"),
        ({"x": [0.0, 1.0], "depth": 2.5}, "`depth`"),
        ({"x": [0.0, 1.0], "depth": 2, "activation": "leaky_relu", "negative_slope": 1.0},
         "`negative_slope`"),
        ({"x": [0.0, 1.0], "depth": 3, "activation": "sign", "max_switches": 0},
         "`max_switches`"),
        ({"x": [0.0, 1.0], "depth": 2, "activation": "sign", "max_switches": 2},
         "`max_switches`"),
        ({"x": [0.0, 1.0], "depth": 3, "max_switches": 2}, "`max_switches`"),
        ({"x": [0.0, 1.0], "depth": 3, "max_columns": 0}, "`max_columns`"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        build_dictionary(**kwargs)


def test_unsupported_depth_message_shows_value():
    with pytest.raises(ValueError, match=r"`depth`.*\[2\].*Got 3"):
        build_dictionary([0.0, 1.0, 2.0], depth=3, activation="leaky_relu")
    assert SUPPORTED_DEPTHS["relu"] == (2, 3, 4)


def test_too_many_switches_raises_before_building():
    x = np.arange(30.0)
    n_vectors = 2 ** 29 - 1  # every +-1 vector up to sign, with up to 29 switches
    with pytest.raises(ValueError, match=r"`max_columns`.*`max_switches`") as err:
        build_dictionary(x, depth=3, activation="sign", max_switches=29)
    assert str(n_vectors) in str(err.value)
    with pytest.raises(ValueError, match="`max_columns`"):
        build_dictionary(np.arange(40.0), depth=4, max_columns=1000)
