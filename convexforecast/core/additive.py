"""Evaluation of additive networks ``ξ + Σ_k coef_k · feature_k(X[:, input_k])``.

Features of the piecewise-linear kinds are evaluated in vectorised groups, one array
operation per kind instead of one Python call per neuron (this matters at every origin of
a backtest and at every point of a β path); step features call :class:`Feature` directly.
The result is the same whether the groups are rebuilt or cached, so a model evaluates
bit-identically before and after a save/load round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convexforecast.core.features import Feature


def _group_by_kind(features: list[Feature], inputs: np.ndarray, coef: np.ndarray) -> dict:
    """Per feature kind: member indices, inputs, coefficients and kink parameters."""
    groups: dict[str, list[int]] = {}
    for k, feature in enumerate(features):
        groups.setdefault(feature.kind, []).append(k)
    built = {}
    for kind in sorted(groups):
        members = groups[kind]
        feats = [features[k] for k in members]
        built[kind] = {
            "members": np.asarray(members, dtype=np.int64),
            "inputs": inputs[members],
            "coef": coef[members],
            "first": np.array([f.kinks[0] for f in feats], dtype=np.float64),
            "last": np.array([f.kinks[-1] for f in feats], dtype=np.float64),
            "middle": np.array([f.kinks[len(f.kinks) // 2] for f in feats], dtype=np.float64),
            "direction": np.array([f.direction for f in feats], dtype=np.float64),
            "slope": np.array([f.negative_slope for f in feats], dtype=np.float64),
        }
    return built


@dataclass
class AdditiveFunction:
    """``intercept + Σ_k coef[k] · features[k](X[:, inputs[k]])`` with cached feature groups."""

    features: list[Feature]
    inputs: np.ndarray
    coef: np.ndarray
    intercept: float = 0.0
    _groups: dict | None = field(default=None, init=False, repr=False, compare=False)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Evaluate at the rows of ``X`` (shape (m, d)); returns shape (m,)."""
        if self._groups is None:
            self._groups = _group_by_kind(self.features, np.asarray(self.inputs, dtype=np.int64),
                                          np.asarray(self.coef, dtype=np.float64))
        X = np.asarray(X, dtype=np.float64)
        out = np.full(X.shape[0], self.intercept, dtype=np.float64)
        for kind, g in self._groups.items():
            x = X[:, g["inputs"]]
            if kind == "ramp":
                t = g["direction"] * (x - g["first"])
                values = np.maximum(t, g["slope"] * t)
            elif kind == "capped_ramp":
                values = np.clip(x - g["first"], 0.0, g["last"] - g["first"])
            elif kind == "abs":
                values = np.abs(x - g["first"])
            elif kind == "folded_abs":
                values = np.abs(np.abs(x - g["middle"]) - (g["middle"] - g["first"]))
            else:
                values = np.column_stack([self.features[k](X[:, self.inputs[k]])
                                          for k in g["members"]])
            out += values @ g["coef"]
        return out
