"""Tests for convexforecast.core.adam (the paper's non-convex Adam baseline)."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import torch

from convexforecast.core._adam_kernel import CHAIN_BLOCK, ROW_BLOCK
from convexforecast.core.adam import AdamResult, _ChainProblem, default_width, train_adam
from convexforecast.core.dictionaries import build_dictionary
from convexforecast.core.network import Chain, ChainNetwork, StepChain, network_from_lasso
from convexforecast.core.torch_export import network_to_torch


def _sine_data(n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, n)
    return x, np.sin(2.0 * x) + 0.1 * rng.standard_normal(n)


def _network_parameters(net: ChainNetwork) -> np.ndarray:
    parts = [np.concatenate([c.weights, c.biases, [c.output_weight]]) for c in net.chains]
    return np.concatenate([*parts, [net.output_bias]])


def _certified_lasso(A: np.ndarray, y: np.ndarray, beta: float):
    """Clarabel solution of min ½‖Az + ξ − y‖² + β‖z‖₁ with a dual lower bound.

    Returns the primal point ``(z, ξ)``, its objective ``P`` (an upper bound on the
    optimum) and ``D``, the dual objective of a feasible dual point (a lower bound).
    """
    z = cp.Variable(A.shape[1])
    xi = cp.Variable()
    objective = 0.5 * cp.sum_squares(A @ z + xi - y) + beta * cp.norm1(z)
    cp.Problem(cp.Minimize(objective)).solve(solver=cp.CLARABEL)
    coef = np.asarray(z.value)
    intercept = float(np.mean(y - A @ coef))
    resid = y - A @ coef - intercept  # sums to zero, so 1ᵀθ = 0 holds for θ ∝ resid
    upper = 0.5 * resid @ resid + beta * np.abs(coef).sum()
    theta = resid * min(1.0, beta / np.abs(A.T @ resid).max())  # ‖Aᵀθ‖∞ <= β
    lower = theta @ y - 0.5 * theta @ theta
    return coef, intercept, upper, lower


# ----------------------------------------------------------------------------- basics


@pytest.mark.slow
def test_same_seed_gives_identical_runs_and_other_seeds_differ() -> None:
    x, y = _sine_data()
    kwargs = dict(depth=3, beta=0.05, width=12, epochs=150)
    first = train_adam(x, y, random_state=3, **kwargs)
    second = train_adam(x, y, random_state=3, **kwargs)
    other = train_adam(x, y, random_state=4, **kwargs)
    assert isinstance(first, AdamResult)
    np.testing.assert_array_equal(first.objective_history, second.objective_history)
    np.testing.assert_array_equal(_network_parameters(first.network),
                                  _network_parameters(second.network))
    assert first.final_objective == second.final_objective
    assert not np.array_equal(first.objective_history, other.objective_history)


@pytest.mark.parametrize(
    ("activation", "depth"),
    [("relu", 2), ("relu", 3), ("relu", 4), ("leaky_relu", 2), ("leaky_relu", 3),
     ("abs", 2), ("abs", 3)],
)
def test_objective_decreases_substantially(activation: str, depth: int) -> None:
    x, y = _sine_data(40, seed=1)
    constant_fit = 0.5 * np.sum((y - y.mean()) ** 2)  # objective of the zero network
    result = train_adam(x, y, depth=depth, beta=0.01, activation=activation, epochs=600)
    assert result.final_objective < 0.1 * result.objective_history[0]
    assert result.final_objective < 0.1 * constant_fit


def test_history_layout_and_best_objective() -> None:
    x, y = _sine_data()
    result = train_adam(x, y, depth=2, beta=0.1, width=8, epochs=25, record_every=7)
    np.testing.assert_array_equal(result.history_epochs, [0, 7, 14, 21, 25])
    assert result.objective_history.shape == (5,)
    assert result.history_elapsed.shape == (5,)
    assert np.all(np.diff(result.history_elapsed) >= 0.0)
    assert result.epochs == 25
    assert result.elapsed >= result.history_elapsed[-1]
    assert result.best_objective <= result.objective_history.min()

    every = train_adam(x, y, depth=2, beta=0.1, width=8, epochs=25, record_every=1)
    assert every.objective_history.shape == (26,)
    np.testing.assert_array_equal(every.history_epochs, np.arange(26))
    assert every.best_objective == every.objective_history.min()
    # the same run, recorded more sparsely
    np.testing.assert_array_equal(every.objective_history[[0, 7, 14, 21, 25]],
                                  result.objective_history)

    once = train_adam(x, y, depth=2, beta=0.1, width=8, epochs=3, record_every=10)
    np.testing.assert_array_equal(once.history_epochs, [0, 3])


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "abs"])
def test_final_objective_matches_numpy_network(activation: str) -> None:
    rng = np.random.default_rng(5)
    X = rng.uniform(-1.0, 1.0, size=(25, 2))
    y = np.abs(X[:, 0]) - X[:, 1] ** 2
    result = train_adam(X, y, depth=3, beta=0.02, width=6, activation=activation,
                        negative_slope=0.2, epochs=200)
    net = result.network
    assert net.depth == 3 and net.beta == 0.02 and net.n_neurons == 12
    assert [c.input_index for c in net.chains] == [0] * 6 + [1] * 6
    assert all(c.activation == activation for c in net.chains)
    expected_slope = 0.2 if activation == "leaky_relu" else 0.0
    assert all(c.negative_slope == expected_slope for c in net.chains)
    assert result.final_objective == pytest.approx(net.objective(X, y), rel=1e-9)
    # the training loop's own objective of the last iterate agrees with numpy
    assert result.objective_history[-1] == pytest.approx(result.final_objective, rel=1e-12)


def test_default_width() -> None:
    assert default_width(10) == 20
    assert default_width(50) == 100
    assert default_width(1000) == 100
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    result = train_adam(X, X.sum(axis=1), depth=2, beta=0.1, epochs=2)
    assert result.network.n_neurons == 3 * 24


def test_one_dimensional_input_equals_single_column() -> None:
    x, y = _sine_data()
    flat = train_adam(x, y, depth=2, beta=0.1, width=5, epochs=30)
    column = train_adam(x[:, None], y, depth=2, beta=0.1, width=5, epochs=30)
    np.testing.assert_array_equal(flat.objective_history, column.objective_history)


def test_inputs_are_not_modified() -> None:
    x, y = _sine_data()
    X = np.column_stack([x, x**2])
    X_before, y_before = X.copy(), y.copy()
    init = train_adam(X, y, depth=2, beta=0.1, width=4, epochs=5).network
    init_before = _network_parameters(init)
    train_adam(X, y, depth=2, beta=0.1, epochs=20, init_network=init)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(_network_parameters(init), init_before)


ALL_ACTIVATIONS_AND_DEPTHS = [(a, d) for a in ("relu", "leaky_relu", "abs") for d in (2, 3, 4)]


def _autograd_gradient(net: ChainNetwork, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Objective and its gradient in ``_ChainProblem``'s layout, from torch autograd."""
    module = network_to_torch(net)
    loss = module.objective(X, y)
    loss.backward()
    (group,) = module.groups
    assert group.input_index.tolist() == [c.input_index for c in net.chains]  # same order
    return float(loss.detach()), np.concatenate([
        group.weights.grad.numpy().T.ravel(),
        group.biases.grad.numpy().T.ravel(),
        group.output_weights.grad.numpy(),
        [float(module.output_bias.grad)],
    ])


@pytest.mark.parametrize(("activation", "depth"), ALL_ACTIVATIONS_AND_DEPTHS)
def test_closed_form_gradient_matches_autograd(activation: str, depth: int) -> None:
    rng = np.random.default_rng(11)
    X = rng.uniform(-1.5, 1.5, size=(30, 2))
    y = np.sin(X[:, 0]) + X[:, 1]
    chains = [  # chains read the columns in random order: runs of every length
        Chain(int(rng.integers(2)), activation, rng.normal(size=depth - 1),
              rng.normal(size=depth - 1), float(rng.normal()), 0.15)
        for _ in range(7)
    ]
    net = ChainNetwork(chains, 0.3, depth, beta=0.4)
    problem = _ChainProblem(net, X, y, activation, 0.15 if activation == "leaky_relu" else 0.0)
    theta = problem.pack(net)
    grad = np.zeros_like(theta)
    value = problem.objective(theta, grad)

    loss, autograd = _autograd_gradient(net, X, y)
    m, k = len(chains), depth - 1
    assert value == pytest.approx(loss, rel=1e-12)
    assert grad.shape == (2 * k * m + m + 1,)
    np.testing.assert_allclose(grad, autograd, rtol=1e-10, atol=1e-12)
    assert problem.objective(theta) == value  # without the gradient: the same value


@pytest.mark.parametrize(("activation", "depth"), ALL_ACTIVATIONS_AND_DEPTHS)
def test_kernel_gradient_matches_autograd_over_several_tiles(activation: str, depth: int) -> None:
    """More rows and chains than one tile of the compiled kernel (64 x 64), in every layout:
    a column with 150 chains (three tiles, the last partial), one with 5, then single chains
    alternating between the columns."""
    rng = np.random.default_rng(depth)
    n = 2 * ROW_BLOCK + 22
    X = rng.normal(size=(n, 3))
    y = np.tanh(X[:, 0]) - 0.5 * X[:, 2] + 0.1 * rng.normal(size=n)
    columns = [0] * (2 * CHAIN_BLOCK + 22) + [2] * 5 + [1, 0, 1, 2, 0]
    chains = [
        Chain(column, activation, rng.uniform(0.5, 1.5, depth - 1) * rng.choice([-1, 1], depth - 1),
              rng.normal(size=depth - 1), float(rng.normal()) / 10, 0.2)
        for column in columns
    ]
    net = ChainNetwork(chains, -0.1, depth, beta=0.05)
    problem = _ChainProblem(net, X, y, activation, 0.2 if activation == "leaky_relu" else 0.0)
    assert problem.runs.tolist() == [[0, 150, 0], [150, 155, 2], [155, 156, 1], [156, 157, 0],
                                     [157, 158, 1], [158, 159, 2], [159, 160, 0]]
    theta = problem.pack(net)
    grad = np.full_like(theta, np.nan)  # every entry must be written
    value = problem.objective(theta, grad)
    loss, autograd = _autograd_gradient(net, X, y)
    assert value == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(grad, autograd, rtol=1e-10, atol=1e-10 * np.abs(autograd).max())


def _loop_reference(net: ChainNetwork, X: np.ndarray, y: np.ndarray,
                    zero_derivative: float) -> tuple[float, np.ndarray]:
    """Objective and gradient by explicit loops, with the activation's derivative at t = 0
    set to ``zero_derivative`` (autograd's conventions at kinks differ)."""
    k, depth, beta = net.depth - 1, net.depth, net.beta
    chains = net.chains
    m = len(chains)

    def act(c: Chain, t: float) -> float:
        if c.activation == "abs":
            return abs(t)
        return t if t > 0 else (c.negative_slope if c.activation == "leaky_relu" else 0.0) * t

    def slope(c: Chain, t: float) -> float:
        if t == 0.0:
            return zero_derivative
        if t > 0:
            return 1.0
        return -1.0 if c.activation == "abs" else (
            c.negative_slope if c.activation == "leaky_relu" else 0.0)

    grad_w, grad_b, grad_a = np.zeros((k, m)), np.zeros((k, m)), np.zeros(m)
    pred = np.full(len(y), net.output_bias)
    for c in chains:
        for i in range(len(y)):
            h = X[i, c.input_index]
            for layer in range(k):
                h = act(c, c.weights[layer] * h + c.biases[layer])
            pred[i] += c.output_weight * h
    resid = pred - y
    for j, c in enumerate(chains):
        for i in range(len(y)):
            hs, ts = [X[i, c.input_index]], []
            for layer in range(k):
                ts.append(c.weights[layer] * hs[-1] + c.biases[layer])
                hs.append(act(c, ts[-1]))
            grad_a[j] += resid[i] * hs[-1]
            upstream = resid[i] * c.output_weight
            for layer in range(k - 1, -1, -1):
                upstream *= slope(c, ts[layer])
                grad_b[layer, j] += upstream
                grad_w[layer, j] += upstream * hs[layer]
                upstream *= c.weights[layer]
    weights = np.array([c.weights for c in chains]).T
    alphas = np.array([c.output_weight for c in chains])
    grad_w += beta * np.abs(weights) ** (depth - 1) * np.sign(weights)
    grad_a += beta * np.abs(alphas) ** (depth - 1) * np.sign(alphas)
    value = 0.5 * resid @ resid + beta / depth * (np.sum(np.abs(weights) ** depth)
                                                  + np.sum(np.abs(alphas) ** depth))
    return value, np.concatenate([grad_w.ravel(), grad_b.ravel(), grad_a, [resid.sum()]])


@pytest.mark.parametrize(("activation", "depth"), ALL_ACTIVATIONS_AND_DEPTHS)
def test_kernel_derivative_at_the_kink(activation: str, depth: int) -> None:
    """Dyadic inputs and parameters put many pre-activations exactly at 0, where the
    derivative is 0 (relu, abs) or the slope (leaky relu), as in the numpy implementation."""
    rng = np.random.default_rng(depth)
    X = rng.choice(np.arange(-4, 5) / 2, size=(40, 2))
    y = rng.normal(size=40)
    slope = 0.25 if activation == "leaky_relu" else 0.0
    chains = [
        Chain(int(rng.integers(2)), activation, rng.choice([-2.0, -1.0, 1.0, 2.0], depth - 1),
              rng.choice(np.arange(-4, 5) / 2, depth - 1), float(rng.choice([-0.5, 0.5, 1.0])),
              slope)
        for _ in range(12)
    ]
    net = ChainNetwork(chains, 0.5, depth, beta=0.3)
    kinks = [0] * (depth - 1)  # rows x chains with pre-activation exactly 0, per layer
    for c in chains:
        h = X[:, c.input_index]
        for layer in range(depth - 1):
            t = c.weights[layer] * h + c.biases[layer]
            kinks[layer] += int(np.sum(t == 0.0))
            h = np.maximum(t, slope * t) if activation != "abs" else np.abs(t)
    assert min(kinks) >= 3  # the test exercises t = 0 in every layer

    problem = _ChainProblem(net, X, y, activation, slope)
    theta = problem.pack(net)
    grad = np.zeros_like(theta)
    value = problem.objective(theta, grad)
    expected_value, expected = _loop_reference(net, X, y, zero_derivative=slope)
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-12)
    # and another convention at 0 would give a different gradient: the test can fail
    _, other = _loop_reference(net, X, y, zero_derivative=0.5)
    assert not np.allclose(grad, other, rtol=1e-6, atol=1e-9)


def test_non_finite_objective_raises() -> None:
    x, y = _sine_data()
    with pytest.raises(FloatingPointError, match="lower `lr`"):
        train_adam(x, y, depth=4, beta=1.0, width=4, lr=1e100, epochs=10)


# ----------------------------------------------------------- against the convex optimum


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "abs"])
def test_adam_never_below_certified_optimum_and_gets_close(activation: str) -> None:
    """Depth 2: the Lasso over the data-point dictionary is the exact global optimum."""
    x, y = _sine_data(20, seed=1)
    beta = 0.1
    A = build_dictionary(x, depth=2, activation=activation, negative_slope=0.01).matrix
    _, _, upper, lower = _certified_lasso(A, y, beta)
    assert upper - lower <= 1e-6 * upper  # the optimum is pinned down
    result = train_adam(x, y, depth=2, beta=beta, activation=activation, epochs=1000)
    tol = 1e-9 * abs(lower)
    assert result.objective_history.min() >= lower - tol
    assert result.best_objective >= lower - tol
    assert result.final_objective >= lower - tol
    assert result.final_objective <= 1.05 * upper


def test_init_network_starts_from_the_lasso_solution() -> None:
    x, y = _sine_data(20, seed=2)
    beta = 0.1
    dictionary = build_dictionary(x, depth=2, activation="relu")
    coef, intercept, upper, lower = _certified_lasso(dictionary.matrix, y, beta)
    coef = np.where(np.abs(coef) > 1e-9 * np.abs(coef).max(), coef, 0.0)
    lasso_net = network_from_lasso(dictionary.features, [0] * len(coef), coef, intercept,
                                   beta, depth=2)
    n_init = lasso_net.n_neurons

    exact = train_adam(x, y, depth=2, beta=beta, epochs=50, init_network=lasso_net)
    assert exact.network.n_neurons == n_init
    assert exact.objective_history[0] == pytest.approx(lasso_net.objective(x, y), rel=1e-12)
    assert exact.objective_history[0] == pytest.approx(upper, rel=1e-6)
    assert exact.objective_history.min() >= lower - 1e-9 * abs(lower)

    padded = train_adam(x, y, depth=2, beta=beta, width=n_init + 5, epochs=1,
                        init_network=lasso_net)
    assert padded.network.n_neurons == n_init + 5
    start = train_adam(x, y, depth=2, beta=beta, width=n_init + 5, epochs=1,
                       init_network=lasso_net, lr=1e-300).network  # one negligible step
    for before, after in zip(lasso_net.chains, start.chains[:n_init], strict=True):
        np.testing.assert_array_equal(before.weights, after.weights)
        np.testing.assert_array_equal(before.biases, after.biases)
        assert before.output_weight == after.output_weight


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(depth=1), "`depth` must be an integer >= 2. Got 1."),
        (dict(depth=5), r"`depth` must be one of \[2, 3, 4\]. Got 5."),
        (dict(depth=2.5), "`depth` must be an integer"),
        (dict(depth=True), "`depth` must be an integer"),
        (dict(activation="sign"), "`activation`.*'sign'.*zero gradient"),
        (dict(activation="threshold"), "`activation`.*zero gradient"),
        (dict(activation="tanh"), "`activation` must be one of.*'tanh'"),
        (dict(epochs=0), "`epochs` must be an integer >= 1. Got 0."),
        (dict(lr=0.0), "`lr` must be a finite number > 0. Got 0.0."),
        (dict(lr=-1e-3), "`lr`"),
        (dict(lr=float("nan")), "`lr`"),
        (dict(width=0), "`width` must be an integer >= 1. Got 0."),
        (dict(beta=-1.0), "`beta`"),
        (dict(beta=float("inf")), "`beta`"),
        (dict(record_every=0), "`record_every` must be an integer >= 1. Got 0."),
        (dict(random_state=-1), "`random_state` must be an integer >= 0. Got -1."),
        (dict(negative_slope=1.0), r"`negative_slope` must be in \[0, 1\). Got 1.0."),
        (dict(negative_slope=-0.1), "`negative_slope`"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    x, y = _sine_data(10)
    args = dict(depth=2, beta=0.1, epochs=2) | kwargs
    with pytest.raises(ValueError, match=match):
        train_adam(x, y, **args)


def test_bad_data() -> None:
    x, y = _sine_data(10)
    bad_x = x.copy()
    bad_x[3] = np.nan
    with pytest.raises(ValueError, match="`X` must contain only finite values"):
        train_adam(bad_x, y, depth=2, beta=0.1)
    bad_y = y.copy()
    bad_y[0] = np.inf
    with pytest.raises(ValueError, match="`y` must contain only finite values"):
        train_adam(x, bad_y, depth=2, beta=0.1)
    with pytest.raises(ValueError, match="same number of samples. Got 10 and 9"):
        train_adam(x, y[:-1], depth=2, beta=0.1)
    with pytest.raises(ValueError, match="`y` must have 1 dimension"):
        train_adam(x, y[:, None], depth=2, beta=0.1)


def test_bad_init_network() -> None:
    x, y = _sine_data(10)
    chain = Chain(0, "relu", np.array([1.0, 1.0]), np.array([0.0, 0.0]), 1.0)
    with pytest.raises(TypeError, match="`init_network` must be a ChainNetwork"):
        train_adam(x, y, depth=3, beta=0.1, init_network=[chain])
    with pytest.raises(ValueError, match="`init_network` must have depth 2"):
        train_adam(x, y, depth=2, beta=0.1, init_network=ChainNetwork([chain], 0.0, 3, 0.1))
    with pytest.raises(ValueError, match="'abs' Chains"):
        train_adam(x, y, depth=3, beta=0.1, activation="abs",
                   init_network=ChainNetwork([chain], 0.0, 3, 0.1))
    with pytest.raises(ValueError, match="`width` must be at least"):
        train_adam(x, y, depth=3, beta=0.1, width=1,
                   init_network=ChainNetwork([chain, chain], 0.0, 3, 0.1))
    with pytest.raises(ValueError, match="read a column of `X`"):
        far = Chain(2, "relu", np.array([1.0, 1.0]), np.array([0.0, 0.0]), 1.0)
        train_adam(x, y, depth=3, beta=0.1, init_network=ChainNetwork([far], 0.0, 3, 0.1))
    with pytest.raises(ValueError, match="2 finite weights and biases"):
        short = Chain(0, "relu", np.array([1.0]), np.array([0.0]), 1.0)
        train_adam(x, y, depth=3, beta=0.1, init_network=ChainNetwork([short], 0.0, 3, 0.1))
    from convexforecast.core.features import Feature

    step = StepChain(0, Feature("step", (0.0,), activation="sign"), 1.0, 1.0)
    with pytest.raises(ValueError, match="`init_network` chains must be 'relu' Chains"):
        train_adam(x, y, depth=2, beta=0.1, init_network=ChainNetwork([step], 0.0, 2, 0.1))


def test_import_error_when_torch_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = _sine_data(10)
    monkeypatch.setitem(__import__("sys").modules, "torch", None)
    with pytest.raises(ImportError) as info:
        train_adam(x, y, depth=2, beta=0.1)
    assert str(info.value) == (
        "PyTorch is required for train_adam; install it with "
        "`pip install convexforecast[torch]`"
    )


def test_torch_global_state_is_untouched() -> None:
    x, y = _sine_data(10)
    threads = torch.get_num_threads()
    rng_state = torch.get_rng_state()
    dtype = torch.get_default_dtype()
    train_adam(x, y, depth=2, beta=0.1, epochs=5)
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert torch.get_default_dtype() == dtype
