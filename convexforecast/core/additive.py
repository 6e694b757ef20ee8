"""Evaluation of additive networks ``ξ + Σ_k coef_k · feature_k(X[:, input_k])``.

Features are evaluated by :class:`~convexforecast.core.features.FeatureTable`, one array
operation per kind instead of one Python call per neuron (this matters at every origin of a
backtest and at every point of a β path). The kinds are summed in a fixed order, so a model
evaluates bit-identically however often the function is rebuilt, e.g. across a save/load
round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convexforecast.core.features import CHUNK_ENTRIES, Feature, FeatureTable


@dataclass
class AdditiveFunction:
    """``intercept + Σ_k coef[k] · features[k](X[:, inputs[k]])`` with a cached feature table."""

    features: list[Feature]
    inputs: np.ndarray
    coef: np.ndarray
    intercept: float = 0.0
    _table: FeatureTable | None = field(default=None, init=False, repr=False, compare=False)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Evaluate at the rows of ``X`` (shape (m, d)); returns shape (m,)."""
        if self._table is None:
            self._table = FeatureTable.from_features(self.features)
        X = np.asarray(X, dtype=np.float64)
        inputs = np.asarray(self.inputs, dtype=np.int64)
        coef = np.asarray(self.coef, dtype=np.float64)
        out = np.full(X.shape[0], self.intercept, dtype=np.float64)
        # rows in blocks (a multiple of 8) so the (rows × features) temporaries stay bounded
        rows = max(8, CHUNK_ENTRIES // max(1, len(self.features)) // 8 * 8)
        for start in range(0, X.shape[0], rows):
            block = slice(start, start + rows)
            for code, columns in self._table.groups():
                values = self._table.evaluate_group(code, columns, X[block, inputs[columns]])
                out[block] += values @ coef[columns]
        return out
