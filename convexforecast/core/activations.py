"""The hidden activations of the paper's chains, in one table.

Every place that applies an activation goes through here: numpy networks
(:mod:`.network`, :func:`activate`), the compiled Adam kernels (:mod:`._adam_kernel`, through
:func:`kernel_code`, :func:`act` and :func:`act_derivative`), and the PyTorch export
(:mod:`.torch_export`, :func:`activate_torch`). Only the positively homogeneous activations
are here; sign and threshold units are step features with an amplitude
(:class:`~.network.StepChain`).

At ``t = 0`` the derivative is 0 for ReLU and abs, and ``negative_slope`` for leaky ReLU (the
convention of the Adam gradient, checked against torch autograd in the tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = ["HOMOGENEOUS", "act", "act_derivative", "activate", "activate_torch", "kernel_code"]

#: Positively homogeneous activations (trainable by gradient descent).
HOMOGENEOUS = ("relu", "leaky_relu", "abs")


def kernel_code(activation: str, negative_slope: float = 0.0) -> tuple[float, float]:
    """``(a, d0)`` of ``activation`` for compiled kernels: ``σ(t) = t`` for ``t > 0`` and
    ``a t`` otherwise (``a = 0`` ReLU, the slope for leaky ReLU, ``a = −1`` abs), derivative
    ``1``, ``a`` for ``t < 0`` and ``d0`` at ``t = 0``."""
    if activation == "abs":
        return -1.0, 0.0
    if activation == "leaky_relu":
        return float(negative_slope), float(negative_slope)
    if activation == "relu":
        return 0.0, 0.0
    raise ValueError(f"`activation` must be one of {list(HOMOGENEOUS)}. Got {activation!r}.")


@njit(cache=True, inline="always")
def act(t: float, a: float) -> float:
    """σ(t) of one number, for compiled kernels (``a`` from :func:`kernel_code`)."""
    return t if t > a * t else a * t


@njit(cache=True, inline="always")
def act_derivative(t: float, a: float, d0: float) -> float:
    """σ'(t) of one number, for compiled kernels (``a, d0`` from :func:`kernel_code`)."""
    return 1.0 if t > 0.0 else (a if t < 0.0 else d0)


def activate(activation: str, t: np.ndarray, negative_slope: float = 0.0) -> np.ndarray:
    """Apply the activation elementwise (numpy)."""
    a, _ = kernel_code(activation, negative_slope)
    if activation == "relu":
        return np.maximum(t, 0.0)
    if activation == "leaky_relu":
        return np.maximum(t, a * t)
    return np.abs(t)


def activate_torch(activation: str, t: Any, negative_slope: float = 0.0) -> Any:
    """Apply the activation to a torch tensor."""
    import torch

    a, _ = kernel_code(activation, negative_slope)
    if activation == "relu":
        return torch.clamp_min(t, 0.0)
    if activation == "leaky_relu":
        return torch.maximum(t, a * t)
    return torch.abs(t)
