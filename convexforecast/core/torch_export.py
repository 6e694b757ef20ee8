"""Export a :class:`~convexforecast.core.network.ChainNetwork` to PyTorch (float64).

The exported module computes exactly the function of ``ChainNetwork.predict`` and its
:meth:`~ChainNetworkModule.penalty` equals ``ChainNetwork.penalty``; every weight, bias,
amplitude and the output bias are trainable ``torch.nn.Parameter`` objects, so the module
can be fine-tuned with any torch optimiser and read back with
:meth:`~ChainNetworkModule.to_network`.

Chains of the same activation, slope and length are stacked into one group whose
parameters have shape ``(n_chains, n_hidden)``, so the forward pass is a few broadcast
operations rather than a Python loop over chains (:func:`convexforecast.core.adam.train_adam`
relies on this).

PyTorch is an optional dependency and is imported only when a function of this module is
called: ``import convexforecast.core.torch_export`` never imports torch, and the module
classes (:class:`ChainNetworkModule` and its groups) are created on first access.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from convexforecast.core.activations import HOMOGENEOUS, activate_torch

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

__all__ = ["import_torch", "network_to_torch"]  # plus the lazy ChainNetworkModule

_LAZY_CLASSES = ("ChainNetworkModule", "ChainGroup", "StepGroup")


def import_torch(purpose: str):
    """Import and return :mod:`torch`, or raise an ImportError explaining how to install it.

    Parameters
    ----------
    purpose : str
        What torch is needed for, quoted in the error message.

    Raises
    ------
    ImportError
        ``"PyTorch is required for <purpose>; install it with
        `pip install convexforecast[torch]`"`` when torch cannot be imported.
    """
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"PyTorch is required for {purpose}; install it with "
            "`pip install convexforecast[torch]`"
        ) from exc
    return torch


def network_to_torch(net: Any) -> torch.nn.Module:
    """Convert a chain network to a float64 ``torch.nn.Module`` computing the same function.

    Parameters
    ----------
    net : ChainNetwork
        Network of :class:`~convexforecast.core.network.Chain` (ReLU, leaky ReLU, abs) and
        :class:`~convexforecast.core.network.StepChain` (sign, threshold) units. It is not
        modified; the module holds copies of its parameters.

    Returns
    -------
    ChainNetworkModule
        ``module(X)`` equals ``net.predict(X)`` for ``X`` of shape (n,) or (n, d) (a tensor
        or an array), ``module.penalty()`` equals ``net.penalty()`` and
        ``module.to_network()`` returns the (possibly trained) parameters as a new
        :class:`~convexforecast.core.network.ChainNetwork`.

    Raises
    ------
    ImportError
        If PyTorch is not installed.
    TypeError
        If ``net`` is not a ChainNetwork or holds units of another type.
    ValueError
        If a step unit's feature is not of kind ``"step"``.
    """
    import_torch("network_to_torch")
    if not all(hasattr(net, name) for name in ("chains", "output_bias", "depth", "beta")):
        raise TypeError(f"`net` must be a ChainNetwork. Got {type(net).__name__}.")
    return _classes()["ChainNetworkModule"](net)


def __getattr__(name: str) -> Any:
    """Create the torch-backed classes on first access (PEP 562), importing torch then."""
    if name in _LAZY_CLASSES:
        import_torch(f"convexforecast.core.torch_export.{name}")
        return _classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _chain_group_key(chain: Any) -> tuple[str, float, int]:
    slope = float(chain.negative_slope) if chain.activation == "leaky_relu" else 0.0
    return chain.activation, slope, len(np.atleast_1d(chain.weights))


@functools.cache
def _classes() -> dict[str, type]:
    """Define the torch module classes (needs torch; called once, after import_torch)."""
    import torch
    from torch import nn

    float64 = torch.float64

    def as_input(X: Any) -> torch.Tensor:
        X = torch.as_tensor(X, dtype=float64)
        return X.unsqueeze(1) if X.ndim == 1 else X

    class ChainGroup(nn.Module):
        """Width-1 chains with a common activation and number of hidden layers.

        Parameters ``weights`` and ``biases`` have shape (n_chains, n_hidden) and
        ``output_weights`` shape (n_chains,); buffer ``input_index`` says which input
        column each chain reads.
        """

        def __init__(
            self,
            activation: str,
            negative_slope: float,
            input_index: np.ndarray,
            weights: np.ndarray,
            biases: np.ndarray,
            output_weights: np.ndarray,
            chain_type: type,
        ) -> None:
            super().__init__()
            self.chain_type = chain_type  # the numpy Chain class (see chains())
            if activation not in HOMOGENEOUS:
                raise ValueError(f"`activation` must be one of {list(HOMOGENEOUS)}. "
                                 f"Got {activation!r}.")
            self.activation = activation
            self.negative_slope = float(negative_slope)
            self.register_buffer("input_index", torch.as_tensor(input_index, dtype=torch.long))
            self.weights = nn.Parameter(torch.tensor(weights, dtype=float64))
            self.biases = nn.Parameter(torch.tensor(biases, dtype=float64))
            self.output_weights = nn.Parameter(torch.tensor(output_weights, dtype=float64))

        def activate(self, t: torch.Tensor) -> torch.Tensor:
            return activate_torch(self.activation, t, self.negative_slope)

        def hidden(self, X: torch.Tensor) -> torch.Tensor:
            """Last hidden activations, shape (n, n_chains), for a 2-D float64 ``X``."""
            h = X.index_select(1, self.input_index)
            for layer in range(self.weights.shape[1]):
                h = self.activate(h * self.weights[:, layer] + self.biases[:, layer])
            return h

        def forward(self, X: torch.Tensor) -> torch.Tensor:
            return self.hidden(X) @ self.output_weights

        def penalty(self, depth: int) -> torch.Tensor:
            """``(1/L)(Σ|W|^L + Σ|α|^L)`` (multiply by β)."""
            return (
                self.weights.abs().pow(depth).sum() + self.output_weights.abs().pow(depth).sum()
            ) / depth

        def chains(self) -> list:
            """The group's chains as numpy :class:`Chain` objects (copies)."""
            idx = self.input_index.cpu().numpy()
            weights = self.weights.detach().cpu().numpy().copy()
            biases = self.biases.detach().cpu().numpy().copy()
            alphas = self.output_weights.detach().cpu().numpy()
            return [
                self.chain_type(int(idx[i]), self.activation, weights[i], biases[i],
                                float(alphas[i]), self.negative_slope)
                for i in range(len(idx))
            ]

    class StepGroup(nn.Module):
        """Sign/threshold units ``alpha * amplitude * step(x)`` (step functions are fixed)."""

        def __init__(self, step_chains: list) -> None:
            super().__init__()
            self.step_type = type(step_chains[0])  # the numpy StepChain class (see chains())
            features = [unit.feature for unit in step_chains]
            for feat in features:
                if feat.kind != "step":
                    raise ValueError(
                        "A StepChain's `feature` must be of kind 'step'. "
                        f"Got {feat.kind!r}."
                    )
            n_kinks = max(len(f.kinks) for f in features)
            kinks = np.zeros((len(features), n_kinks))
            mask = np.zeros((len(features), n_kinks), dtype=bool)
            for i, feat in enumerate(features):
                kinks[i, : len(feat.kinks)] = feat.kinks
                mask[i, : len(feat.kinks)] = True
            self.features = features
            self.register_buffer(
                "input_index",
                torch.as_tensor([unit.input_index for unit in step_chains], dtype=torch.long),
            )
            self.register_buffer("kinks", torch.tensor(kinks, dtype=float64))
            self.register_buffer("kink_mask", torch.tensor(mask))
            self.register_buffer("rising", torch.tensor([f.direction > 0 for f in features]))
            self.register_buffer(
                "is_sign", torch.tensor([f.activation == "sign" for f in features])
            )
            self.amplitudes = nn.Parameter(
                torch.tensor([float(unit.amplitude) for unit in step_chains], dtype=float64)
            )
            self.output_weights = nn.Parameter(
                torch.tensor([float(unit.output_weight) for unit in step_chains], dtype=float64)
            )

        def steps(self, X: torch.Tensor) -> torch.Tensor:
            """Step values, shape (n, n_units): the number of kinks <= x decides the side."""
            x = X.index_select(1, self.input_index).unsqueeze(-1)
            flips = ((x >= self.kinks) & self.kink_mask).sum(-1) % 2
            up = torch.where(self.rising, flips == 1, flips == 0).to(float64)
            return torch.where(self.is_sign, 2.0 * up - 1.0, up)

        def forward(self, X: torch.Tensor) -> torch.Tensor:
            return self.steps(X) @ (self.output_weights * self.amplitudes)

        def penalty(self, depth: int) -> torch.Tensor:  # noqa: ARG002 - effective depth 2
            """``(1/2)(Σ amplitude² + Σ α²)`` (multiply by β)."""
            return 0.5 * (self.amplitudes.square().sum() + self.output_weights.square().sum())

        def chains(self) -> list:
            """The group's units as numpy :class:`StepChain` objects."""
            idx = self.input_index.cpu().numpy()
            amps = self.amplitudes.detach().cpu().numpy()
            alphas = self.output_weights.detach().cpu().numpy()
            return [
                self.step_type(int(idx[i]), self.features[i], float(amps[i]), float(alphas[i]))
                for i in range(len(idx))
            ]

    class ChainNetworkModule(nn.Module):
        """A :class:`ChainNetwork` as a float64 torch module (see :func:`network_to_torch`).

        Attributes
        ----------
        groups : torch.nn.ModuleList
            :class:`ChainGroup` / :class:`StepGroup` blocks of stacked units.
        output_bias : torch.nn.Parameter
            Scalar output bias (unregularised).
        depth : int
            Number of layers L (the exponent of the penalty).
        beta : float
            Regularisation strength.
        """

        def __init__(self, net: Any) -> None:
            super().__init__()
            self.network_type = type(net)  # rebuilt by to_network()
            self.depth = int(net.depth)
            self.beta = float(net.beta)
            self.output_bias = nn.Parameter(torch.tensor(float(net.output_bias), dtype=float64))
            chain_members: dict[tuple[str, float, int], list[int]] = {}
            step_members: list[int] = []
            for position, unit in enumerate(net.chains):  # Chain or StepChain (duck-typed)
                if hasattr(unit, "weights") and hasattr(unit, "biases"):
                    chain_members.setdefault(_chain_group_key(unit), []).append(position)
                elif hasattr(unit, "feature") and hasattr(unit, "amplitude"):
                    step_members.append(position)
                else:
                    raise TypeError(
                        "`net.chains` must hold Chain or StepChain objects. "
                        f"Got {type(unit).__name__} at position {position}."
                    )
            groups: list[nn.Module] = []
            order: list[int] = []
            for (activation, slope, n_hidden), members in chain_members.items():
                units = [net.chains[p] for p in members]
                groups.append(
                    ChainGroup(
                        activation,
                        slope,
                        np.array([u.input_index for u in units], dtype=np.int64),
                        np.array([np.atleast_1d(u.weights) for u in units]).reshape(-1, n_hidden),
                        np.array([np.atleast_1d(u.biases) for u in units]).reshape(-1, n_hidden),
                        np.array([u.output_weight for u in units], dtype=np.float64),
                        type(units[0]),
                    )
                )
                order.extend(members)
            if step_members:
                groups.append(StepGroup([net.chains[p] for p in step_members]))
                order.extend(step_members)
            self.groups = nn.ModuleList(groups)
            # position in net.chains of the k-th unit in group order, to restore the order
            self._network_order = order

        def forward(self, X: Any) -> torch.Tensor:
            """Network output, shape (n,), for ``X`` of shape (n,) or (n, d)."""
            X = as_input(X)
            out = self.output_bias.expand(X.shape[0])
            for group in self.groups:
                out = out + group(X)
            return out

        def penalty(self) -> torch.Tensor:
            """The weight penalty ``(β/L) Σ |w|^L`` (biases excluded), as a 0-d tensor."""
            total = torch.zeros((), dtype=float64)
            for group in self.groups:
                total = total + group.penalty(self.depth)
            return self.beta * total

        def objective(self, X: Any, y: Any) -> torch.Tensor:
            """Training objective ½‖f(X) − y‖² + penalty(), as a 0-d tensor."""
            resid = self(X) - torch.as_tensor(y, dtype=float64)
            return 0.5 * resid.square().sum() + self.penalty()

        def to_network(self) -> Any:
            """The current parameters as a new :class:`ChainNetwork` (original unit order)."""
            units: list = [None] * len(self._network_order)
            flat = [unit for group in self.groups for unit in group.chains()]
            for position, unit in zip(self._network_order, flat, strict=True):
                units[position] = unit
            return self.network_type(units, float(self.output_bias.detach()), self.depth,
                                     self.beta)

    module_name = __name__
    classes = {"ChainNetworkModule": ChainNetworkModule, "ChainGroup": ChainGroup,
               "StepGroup": StepGroup}
    for name, cls in classes.items():  # make the classes picklable as module attributes
        cls.__module__ = module_name
        cls.__qualname__ = name
    return classes
