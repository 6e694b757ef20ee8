"""Tests for convexforecast.core.torch_export (ChainNetwork -> float64 torch module)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from convexforecast.core.features import Feature
from convexforecast.core.network import Chain, ChainNetwork, StepChain, network_from_lasso
from convexforecast.core.torch_export import network_to_torch

INSTALL_HINT = "install it with `pip install convexforecast[torch]`"


def _random_mixed_network(seed: int, depth: int = 3) -> ChainNetwork:
    """ReLU, leaky-ReLU (two slopes) and abs chains plus sign/threshold units on 3 inputs."""
    rng = np.random.default_rng(seed)
    chains: list = []
    for activation, slope in [("relu", 0.0), ("leaky_relu", 0.1), ("leaky_relu", 0.3),
                              ("abs", 0.0)]:
        for _ in range(4):
            chains.append(
                Chain(
                    int(rng.integers(3)),
                    activation,
                    rng.normal(size=depth - 1),
                    rng.normal(size=depth - 1),
                    float(rng.normal()),
                    slope,
                )
            )
    steps = [
        Feature("step", (-0.5,), activation="sign", direction=1),
        Feature("step", (0.2,), activation="threshold", direction=-1),
        Feature("step", (-1.0, 0.0, 0.7), activation="sign", direction=-1),
        Feature("step", (-0.3, 0.4), activation="threshold", direction=1),
    ]
    for feat in steps:
        chains.insert(
            int(rng.integers(len(chains) + 1)),
            StepChain(int(rng.integers(3)), feat, float(rng.uniform(0.2, 2.0)),
                      float(rng.normal())),
        )
    return ChainNetwork(chains, float(rng.normal()), depth, beta=0.37)


def _test_points(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(200, 3))
    X[:8, 0] = [-1.0, -0.5, -0.3, 0.0, 0.2, 0.4, 0.7, 1.5]  # exactly on step kinks
    X[8:16, 1] = [-1.0, -0.5, -0.3, 0.0, 0.2, 0.4, 0.7, 1.5]
    return X


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1])
def test_module_matches_predict_and_penalty(depth: int, seed: int) -> None:
    net = _random_mixed_network(seed, depth)
    X = _test_points(seed + 10)
    module = network_to_torch(net)
    expected = net.predict(X)
    out = module(torch.from_numpy(X))
    assert out.dtype == torch.float64
    assert out.shape == (X.shape[0],)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12, atol=1e-12)
    assert float(module.penalty().detach()) == pytest.approx(net.penalty(), rel=1e-12)
    y = np.sin(X[:, 0])
    assert float(module.objective(X, y).detach()) == pytest.approx(net.objective(X, y), rel=1e-12)


def test_module_matches_lasso_reconstruction() -> None:
    """Networks built by network_from_lasso (every feature kind) export exactly."""
    features = [
        Feature("ramp", (0.3,), depth=4, direction=1),
        Feature("ramp", (-0.4,), depth=4, direction=-1),
        Feature("capped_ramp", (-0.5, 0.8), depth=4),
        Feature("ramp", (0.1,), activation="leaky_relu", depth=4, direction=-1,
                negative_slope=0.05),
        Feature("abs", (0.25,), activation="abs", depth=4),
        Feature("folded_abs", (-0.6, 0.1, 0.8), activation="abs", depth=4),
        Feature("step", (0.0, 0.5), activation="sign", depth=4),
    ]
    coef = np.array([1.5, -0.7, 2.0, 0.0, -1.1, 0.6, 0.9])
    net = network_from_lasso(features, [0, 1, 0, 1, 0, 1, 0], coef, 0.4, beta=0.2, depth=4)
    X = _test_points(3)[:, :2]
    module = net.to_torch()
    np.testing.assert_allclose(module(X).detach().numpy(), net.predict(X), rtol=1e-12,
                               atol=1e-12)
    assert float(module.penalty().detach()) == pytest.approx(net.penalty(), rel=1e-12)


def test_one_dimensional_input_and_empty_network() -> None:
    x = np.linspace(-2.0, 2.0, 31)
    chain = Chain(0, "relu", np.array([1.3]), np.array([-0.2]), -0.8)
    net = ChainNetwork([chain], 0.5, 2, 0.1)
    module = network_to_torch(net)
    np.testing.assert_allclose(module(x).detach().numpy(), net.predict(x), rtol=1e-12,
                               atol=1e-12)
    empty = ChainNetwork([], -1.25, 3, 0.1)
    empty_module = network_to_torch(empty)
    np.testing.assert_array_equal(empty_module(x).detach().numpy(), np.full(31, -1.25))
    assert float(empty_module.penalty()) == 0.0


def test_round_trip_preserves_order_and_does_not_alias() -> None:
    net = _random_mixed_network(4)
    weights_before = [c.weights.copy() for c in net.chains if isinstance(c, Chain)]
    module = network_to_torch(net)
    back = module.to_network()
    assert [type(c) for c in back.chains] == [type(c) for c in net.chains]
    assert [c.input_index for c in back.chains] == [c.input_index for c in net.chains]
    for a, b in zip(net.chains, back.chains, strict=True):
        assert a.output_weight == b.output_weight
        if isinstance(a, Chain):
            np.testing.assert_array_equal(a.weights, b.weights)
            np.testing.assert_array_equal(a.biases, b.biases)
            assert a.activation == b.activation
        else:
            assert a.feature == b.feature and a.amplitude == b.amplitude
    with torch.no_grad():
        for param in module.parameters():
            param.add_(1.0)
    for before, chain in zip(weights_before, [c for c in net.chains if isinstance(c, Chain)],
                             strict=True):
        np.testing.assert_array_equal(chain.weights, before)  # the network was copied
    moved = module.to_network()
    X = _test_points(5)
    np.testing.assert_allclose(module(X).detach().numpy(), moved.predict(X), rtol=1e-12,
                               atol=1e-12)


def test_parameters_are_trainable_and_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(7)
    chains = [Chain(0, "relu", rng.normal(size=2), rng.normal(size=2), float(rng.normal()))
              for _ in range(3)]
    net = ChainNetwork(chains, 0.1, 3, beta=0.5)
    x = rng.uniform(-2.0, 2.0, 40)
    y = np.cos(x)
    module = network_to_torch(net)
    params = dict(module.named_parameters())
    assert all(p.requires_grad and p.dtype == torch.float64 for p in params.values())
    module.objective(x, y).backward()
    weights = params["groups.0.weights"]
    eps = 1e-6
    shifted = []
    for sign in (1.0, -1.0):
        moved = [Chain(0, "relu", c.weights.copy(), c.biases.copy(), c.output_weight)
                 for c in chains]
        moved[1].weights[0] += sign * eps
        shifted.append(ChainNetwork(moved, 0.1, 3, 0.5).objective(x, y))
    numeric = (shifted[0] - shifted[1]) / (2 * eps)
    assert float(weights.grad[1, 0]) == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_module_pickles() -> None:
    net = _random_mixed_network(8)
    module = network_to_torch(net)
    clone = pickle.loads(pickle.dumps(module))
    X = _test_points(9)
    np.testing.assert_array_equal(clone(X).detach().numpy(), module(X).detach().numpy())


def test_rejects_non_network() -> None:
    with pytest.raises(TypeError, match="`net` must be a ChainNetwork"):
        network_to_torch([Chain(0, "relu", np.ones(1), np.zeros(1), 1.0)])


def test_rejects_unknown_unit() -> None:
    net = ChainNetwork(["not a chain"], 0.0, 2, 0.1)
    with pytest.raises(TypeError, match="`net.chains`"):
        network_to_torch(net)


def test_import_error_when_torch_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    net = _random_mixed_network(0)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError) as info:
        network_to_torch(net)
    assert str(info.value) == f"PyTorch is required for network_to_torch; {INSTALL_HINT}"
    with pytest.raises(ImportError, match="PyTorch is required for"):
        net.to_torch()
    import convexforecast.core.torch_export as torch_export

    with pytest.raises(ImportError, match=r"pip install convexforecast\[torch\]"):
        torch_export.ChainNetworkModule  # noqa: B018 - attribute access triggers the import


def test_importing_the_module_does_not_import_torch() -> None:
    code = (
        "import sys; import convexforecast.core.torch_export, convexforecast.core.adam, "
        "convexforecast.core.network; assert 'torch' not in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr
