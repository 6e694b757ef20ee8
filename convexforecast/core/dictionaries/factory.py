"""One implicit dictionary per input column: the family each network uses."""

from __future__ import annotations

import numpy as np

from convexforecast.core.dictionaries.explicit import build_dictionary
from convexforecast.core.dictionaries.implicit import (
    FormulaDictionary,
    ImplicitDictionary,
    MatrixDictionary,
    PairDictionary,
)

__all__ = ["make_dictionaries"]


def make_dictionaries(X: np.ndarray, depth: int, activation: str, negative_slope: float = 0.01,
                      max_switches: int | None = None) -> list[ImplicitDictionary]:
    """One implicit dictionary per column of ``X``.

    ReLU networks get capped-ramp pairs (:class:`PairDictionary`; depth 4 is solved on the
    depth-3 dictionary, which has the same optimum), depth-2 networks of the other
    activations closed-form pricing (:class:`FormulaDictionary`), and deeper abs, sign and
    threshold networks their explicit deduplicated dictionary (:class:`MatrixDictionary`).
    """
    out: list[ImplicitDictionary] = []
    for j in range(X.shape[1]):
        x = X[:, j]
        if activation == "relu":
            out.append(PairDictionary(x, min(depth, 3)))
        elif depth == 2:
            out.append(FormulaDictionary(x, activation, negative_slope))
        else:
            d = build_dictionary(x, depth=depth, activation=activation,
                                 negative_slope=negative_slope, max_switches=max_switches)
            out.append(MatrixDictionary(x, d.features, d.matrix))
    return out
