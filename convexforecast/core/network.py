"""The paper's network as plain numpy: parallel width-1 chains plus an output bias.

``f(x) = xi + sum_i alpha_i * h_i(x[input_i])`` where each chain ``h_i`` is
``h_{l+1} = sigma(W_l h_l + b_l)`` with ``h_1 = x[input_i]`` (paper-notes §1.2).
The non-convex training objective is

    ½‖f(X) − y‖² + (β/L) Σ_i (Σ_l |W_il|^L + |α_i|^L)

with the biases unregularised. Sign and threshold chains are scale invariant in their
inner weights, so they carry a trainable amplitude instead: ``alpha * amplitude * h(x)``
with penalty ``(β/2)(amplitude² + alpha²)`` (paper-notes §2.1, an [R] convention).

:func:`network_from_lasso` reads the optimal network back from a Lasso solution so that
its objective equals the Lasso objective (paper-notes §3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convexforecast.core.activations import activate
from convexforecast.core.features import Feature


@dataclass
class Chain:
    """A width-1 chain ``alpha * sigma(W_{L-1} ... sigma(W_1 x + b_1) ... + b_{L-1})``."""

    input_index: int
    activation: str
    weights: np.ndarray
    biases: np.ndarray
    output_weight: float
    negative_slope: float = 0.0

    def __call__(self, X: np.ndarray) -> np.ndarray:
        h = X[:, self.input_index]
        for w, b in zip(self.weights, self.biases, strict=True):
            h = activate(self.activation, w * h + b, self.negative_slope)
        return self.output_weight * h

    def penalty(self, depth: int) -> float:
        """``(1/L)(Σ_l |W_l|^L + |α|^L)`` (multiply by β)."""
        return float((np.sum(np.abs(self.weights) ** depth) + abs(self.output_weight) ** depth) / depth)


@dataclass
class StepChain:
    """A sign/threshold unit with amplitude: ``alpha * amplitude * step(x)``."""

    input_index: int
    feature: Feature
    amplitude: float
    output_weight: float

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.output_weight * self.amplitude * self.feature(X[:, self.input_index])

    def penalty(self, depth: int) -> float:  # noqa: ARG002 - the effective depth is 2
        """``(1/2)(amplitude² + α²)`` (multiply by β)."""
        return 0.5 * (self.amplitude**2 + self.output_weight**2)


@dataclass
class ChainNetwork:
    """A trained (or reconstructed) network of parallel chains.

    Attributes
    ----------
    chains : list of Chain or StepChain
    output_bias : float
    depth : int
        Number of layers L.
    beta : float
        Regularisation strength of the training objective.
    """

    chains: list
    output_bias: float
    depth: int
    beta: float

    @property
    def n_neurons(self) -> int:
        """Number of chains (neurons in the last hidden layer)."""
        return len(self.chains)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Network output at ``X`` of shape (n,) or (n, d)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        out = np.full(X.shape[0], self.output_bias)
        for chain in self.chains:
            out += chain(X)
        return out

    def penalty(self) -> float:
        """The weight penalty ``(β/L) Σ |w|^L`` (biases excluded)."""
        return self.beta * sum(chain.penalty(self.depth) for chain in self.chains)

    def objective(self, X: np.ndarray, y: np.ndarray) -> float:
        """Non-convex training objective ½‖f(X) − y‖² + (β/L)·Σ|w|^L."""
        resid = self.predict(X) - np.asarray(y, dtype=np.float64)
        return float(0.5 * resid @ resid + self.penalty())

    def to_torch(self):
        """Export to a ``torch.nn.Module`` (float64) computing the same function.

        Raises
        ------
        ImportError
            If PyTorch is not installed (``pip install convexforecast[torch]``).
        """
        from convexforecast.core.torch_export import network_to_torch

        return network_to_torch(self)


def network_from_lasso(
    features: list[Feature],
    input_indices: list[int],
    coef: np.ndarray,
    intercept: float,
    beta: float,
    depth: int,
) -> ChainNetwork:
    """Build the optimal network from a Lasso solution (paper-notes §3).

    Each non-zero ``z`` on feature ``F`` becomes a chain with every weight of modulus
    ``γ = |z|^(1/L)`` so that by AM-GM its penalty is exactly ``β|z|``; constants from
    the chain realisation go into the output bias.
    """
    chains: list = []
    bias = float(intercept)
    for feat, j, z in zip(features, input_indices, coef, strict=True):
        if z == 0.0:
            continue
        if feat.kind == "step":
            amp = float(np.sqrt(abs(z)))
            chains.append(StepChain(int(j), feat, amp, float(np.sign(z)) * amp))
            continue
        layers, scale, offset = feat.chain()
        zz = z * scale
        gamma = abs(zz) ** (1.0 / depth)
        weights = np.array([s * gamma for s, _ in layers])
        biases = np.array([-s * t * gamma ** (layer + 1) for layer, (s, t) in enumerate(layers)])
        chains.append(
            Chain(int(j), feat.activation, weights, biases, float(np.sign(zz)) * gamma,
                  feat.negative_slope)
        )
        bias += z * offset
    return ChainNetwork(chains, bias, depth, float(beta))
