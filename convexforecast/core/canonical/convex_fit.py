"""The canonical network of a Lasso solution: duplicates merged, minimum-norm re-expression.

:func:`canonicalize` turns a :class:`~convexforecast.core.solvers.lasso.LassoSolution` over
per-input dictionaries into a :class:`ConvexFit`: the selected features, their coefficients
and the certificate. ReLU solutions are re-expressed by the minimum-norm decomposition of
:mod:`.decomposition`, which keeps the fit, never raises ``‖z‖₁`` and at depth 4 selects
few-neuron reflection solutions among the optimal ones.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from convexforecast.core.additive import AdditiveFunction
from convexforecast.core.canonical.decomposition import decompose, secant_slopes
from convexforecast.core.dictionaries.implicit import ImplicitDictionary
from convexforecast.core.features import Feature
from convexforecast.core.solvers.lasso import CertifiedMixin, LassoSolution

__all__ = ["ConvexFit", "canonicalize", "merge_duplicates"]


@dataclass
class ConvexFit(CertifiedMixin):
    """A certified solution of the additive network Lasso.

    Attributes
    ----------
    features : list of Feature
        Selected features (non-zero coefficients, duplicates merged).
    inputs : ndarray of int
        Input column read by each feature.
    coef : ndarray
        Coefficient of each feature.
    intercept : float
        Output bias ξ.
    beta, primal, dual : float
        Penalty, objective ``½‖f(X) − y‖² + β‖z‖₁`` and a certified lower bound.
    n_iter : int
    solver : str
        The route actually taken: ``"fast"``, ``"cvxpy-clarabel"`` or ``"lp-highs"``.
    solution : LassoSolution or None
        The fast solver's own solution over the implicit dictionaries, from which a later fit
        can be warm-started (None on the reference routes).
    """

    features: list[Feature]
    inputs: np.ndarray
    coef: np.ndarray
    intercept: float
    beta: float
    primal: float
    dual: float
    n_iter: int
    solver: str
    solution: LassoSolution | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def _function(self) -> AdditiveFunction:
        return AdditiveFunction(self.features, self.inputs, self.coef)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Evaluate the fitted function at new inputs ``X`` of shape (m, d)."""
        return self.intercept + self._function(X)


def merge_duplicates(features: list[Feature], inputs: np.ndarray, coef: np.ndarray,
           ) -> tuple[list[Feature], np.ndarray, np.ndarray]:
    """Sum coefficients of identical (input, feature) pairs and drop zeros (order kept).

    Coefficients below ``1e-12`` times the largest are round-off of the decomposition or
    the reference solver and are dropped too (the objective is recomputed afterwards).
    """
    merged: dict[tuple[int, Feature], float] = {}
    for feat, j, c in zip(features, inputs, coef, strict=True):
        merged[(int(j), feat)] = merged.get((int(j), feat), 0.0) + float(c)
    floor = 1e-12 * max((abs(c) for c in merged.values()), default=0.0)
    keep = [(k, c) for k, c in merged.items() if abs(c) > floor]
    return ([k[1] for k, _ in keep], np.array([k[0] for k, _ in keep], dtype=np.int64),
            np.array([c for _, c in keep], dtype=np.float64))


def canonicalize(X: np.ndarray, y: np.ndarray, solution: LassoSolution,
                 dictionaries: list[ImplicitDictionary], depth: int, activation: str) -> ConvexFit:
    """The canonical network of a solution over ``dictionaries`` (one per column of ``X``).

    Reads each column's features from its dictionary, then merges duplicates; ReLU solutions
    are re-expressed input by input by the minimum-norm decomposition of
    :mod:`.decomposition` (kept only where it does not raise ``‖z‖₁``); the intercept and the
    primal objective are recomputed for the merged coefficients.
    """
    feats, signs_all, inputs = [], [], []
    for j in np.unique(solution.inputs):
        mask = solution.inputs == j
        f_j, s_j = dictionaries[j].features(solution.keys[mask])
        feats += f_j
        signs_all.append(s_j)
        inputs += [int(j)] * len(f_j)
    signs = np.concatenate(signs_all) if signs_all else np.empty(0)
    order = np.concatenate([np.flatnonzero(solution.inputs == j)
                            for j in np.unique(solution.inputs)]) \
        if len(solution.inputs) else np.empty(0, dtype=np.int64)
    coef = solution.coef[order] * signs
    fit = _finish(X, y, feats, np.array(inputs, dtype=np.int64), coef, solution.beta,
                  solution.dual, solution.n_iter, solution.solver, depth, activation,
                  [d.u for d in dictionaries])
    fit.solution = solution if solution.solver == "fast" else None  # warm starts: fast only
    return fit


def _finish(X: np.ndarray, y: np.ndarray, features: list[Feature], inputs: np.ndarray,
            coef: np.ndarray, beta: float, dual: float, n_iter: int, solver: str,
            depth: int, activation: str, uniques: list[np.ndarray] | None = None) -> ConvexFit:
    """Canonicalise ReLU solutions, merge duplicates, recompute intercept and primal.

    ``uniques[j]``, if given, is ``np.unique(X[:, j])`` (the dictionaries hold it already).
    """
    features, inputs, coef = merge_duplicates(features, inputs, coef)
    if activation == "relu":
        new_f, new_i, new_c = [], [], []
        for j in range(X.shape[1]):
            mask = inputs == j
            if not mask.any():
                continue
            u = np.unique(X[:, j]) if uniques is None else uniques[j]
            feats = [f for f, m in zip(features, mask, strict=True) if m]
            f_j, c_j = decompose(u, secant_slopes(feats, coef[mask], u), depth)
            if np.abs(c_j).sum() <= np.abs(coef[mask]).sum() * (1 + 1e-9):
                feats, c_j = f_j, c_j
            else:  # keep the solver's representation if it is already cheaper
                c_j = coef[mask]
            new_f += feats
            new_i += [j] * len(feats)
            new_c += list(c_j)
        features, inputs, coef = merge_duplicates(new_f, np.array(new_i, dtype=np.int64),
                                        np.array(new_c, dtype=np.float64))
    fitted = AdditiveFunction(features, inputs, coef)(X)
    intercept = float(y.mean() - fitted.mean())
    resid = y - fitted - intercept
    primal = 0.5 * float(resid @ resid) + beta * float(np.abs(coef).sum())
    return ConvexFit(features, inputs, coef, intercept, beta, primal, min(dual, primal),
                     n_iter, solver)
