"""The hidden activations of the paper's chains, in one table.

Every place that applies an activation goes through here: numpy networks
(:mod:`.network`), the compiled Adam kernels (:mod:`.adam`, through the scalar
:func:`activate_scalar` / :func:`derivative_scalar` and the integer :data:`CODES`), and the
PyTorch export (:mod:`.torch_export`, through :func:`activate_torch`). Only the positively
homogeneous activations are here; sign and threshold units are step features with an
amplitude (:class:`~.network.StepChain`).

At ``t = 0`` the derivative is 0 for ReLU and abs, and ``negative_slope`` for leaky ReLU (the
convention of the Adam gradient, checked against torch autograd in the tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = ["CODES", "HOMOGENEOUS", "activate", "activate_scalar", "activate_torch", "derivative",
           "derivative_scalar"]

#: Positively homogeneous activations (trainable by gradient descent), and their kernel codes.
HOMOGENEOUS = ("relu", "leaky_relu", "abs")
CODES = {name: code for code, name in enumerate(HOMOGENEOUS)}


def _code(activation: str) -> int:
    if activation not in CODES:
        raise ValueError(f"`activation` must be one of {list(HOMOGENEOUS)}. Got {activation!r}.")
    return CODES[activation]


def activate(activation: str, t: np.ndarray, negative_slope: float = 0.0) -> np.ndarray:
    """Apply the activation elementwise (numpy)."""
    code = _code(activation)
    if code == 0:
        return np.maximum(t, 0.0)
    if code == 1:
        return np.maximum(t, negative_slope * t)
    return np.abs(t)


def derivative(activation: str, t: np.ndarray, negative_slope: float = 0.0) -> np.ndarray:
    """The activation's derivative elementwise (numpy; see the module docstring at 0)."""
    code = _code(activation)
    if code == 2:
        return np.sign(t)
    deriv = (t > 0.0).astype(np.float64)
    if code == 1:
        deriv *= 1.0 - negative_slope
        deriv += negative_slope
    return deriv


@njit(cache=True)
def activate_scalar(code: int, t: float, negative_slope: float) -> float:
    """:func:`activate` of one number, for compiled kernels (``code`` from :data:`CODES`)."""
    if code == 0:
        return t if t > 0.0 else 0.0
    if code == 1:
        return t if t > negative_slope * t else negative_slope * t
    return abs(t)


@njit(cache=True)
def derivative_scalar(code: int, t: float, negative_slope: float) -> float:
    """:func:`derivative` of one number, for compiled kernels."""
    if code == 2:
        return 1.0 if t > 0.0 else (-1.0 if t < 0.0 else 0.0)
    if t > 0.0:
        return 1.0
    return negative_slope if code == 1 else 0.0


def activate_torch(activation: str, t: Any, negative_slope: float = 0.0) -> Any:
    """Apply the activation to a torch tensor."""
    import torch

    code = _code(activation)
    if code == 0:
        return torch.clamp_min(t, 0.0)
    if code == 1:
        return torch.maximum(t, negative_slope * t)
    return torch.abs(t)
