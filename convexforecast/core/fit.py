"""Fit the additive convex network: per-input dictionaries, one ℓ1 penalty, a certificate.

``X`` of shape (n, d) gets one 1-D dictionary per column; the columns are concatenated
under one penalty, i.e. the network is a sum of chains that each read one input
coordinate. :func:`fit_convex_network` dispatches between

* ``solver="fast"``: the working-set solver over implicit dictionaries
  (:mod:`.working_set`), which never materialises ReLU dictionaries of depth ≥ 3;
* ``solver="cvxpy"``: the reference, cvxpy + Clarabel on the explicit deduplicated
  dictionary (:mod:`.reference`);

and, for tiny β (``β ≤ 1e-6`` or ``β ≤ 1e-6·β_max``), the min-norm / LP route of
paper-notes §4 and §7.5 on the explicit dictionary, whatever the solver. Near
interpolation (β a few orders below β_max with support close to n) the working-set
restricted solves can cycle; when the fast solver stalls above ``tol`` and the explicit
dictionary has at most ``FALLBACK_ENTRIES`` entries (or β ≤ ``NEAR_INTERPOLATION``·β_max
on such a small problem), the reference solves the problem instead (``ConvexFit.solver``
says which route was taken), else a ConvergenceWarning is
raised and the certified gap is reported as it is.

ReLU solutions are then re-expressed by the minimum-norm decomposition of
:mod:`.decomposition`, which keeps the fit, never raises ``‖z‖₁`` and at depth 4 selects
few-neuron reflection solutions among the optimal ones.
"""

from __future__ import annotations

import functools
import threading
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

from convexforecast.core.additive import AdditiveFunction
from convexforecast.core.decomposition import decompose, secant_slopes
from convexforecast.core.dictionaries import build_dictionary
from convexforecast.core.features import Feature
from convexforecast.core.implicit import (
    FormulaDictionary,
    LagDictionary,
    MatrixDictionary,
    PairDictionary,
)
from convexforecast.core.interpolant import InterpolatedFit
from convexforecast.core.lasso import CertifiedMixin, dual_objective
from convexforecast.core.reference import TINY_BETA, solve_cvxpy
from convexforecast.core.working_set import (
    WorkingSet,
    WorkingSetSolution,
    beta_max,
    price_all,
    solve_working_set,
)

SOLVERS = ("fast", "cvxpy")
FALLBACK_ENTRIES = 20_000_000  # explicit dictionary entries (n × p) the fallback may build
NEAR_INTERPOLATION = 1e-4  # β/β_max below which small problems go to the reference directly


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

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Evaluate the fitted function at new inputs ``X`` of shape (m, d)."""
        return self.intercept + AdditiveFunction(self.features, self.inputs, self.coef)(X)


def make_dictionaries(X: np.ndarray, depth: int, activation: str, negative_slope: float,
                      max_switches: int | None) -> list[LagDictionary]:
    """One implicit dictionary per column of ``X``."""
    out: list[LagDictionary] = []
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


def _merge(features: list[Feature], inputs: np.ndarray, coef: np.ndarray,
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


def _finish(X: np.ndarray, y: np.ndarray, features: list[Feature], inputs: np.ndarray,
            coef: np.ndarray, beta: float, dual: float, n_iter: int, solver: str,
            depth: int, activation: str, uniques: list[np.ndarray] | None = None) -> ConvexFit:
    """Canonicalise ReLU solutions, merge duplicates, recompute intercept and primal.

    ``uniques[j]``, if given, is ``np.unique(X[:, j])`` (the dictionaries hold it already).
    """
    features, inputs, coef = _merge(features, inputs, coef)
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
        features, inputs, coef = _merge(new_f, np.array(new_i, dtype=np.int64),
                                        np.array(new_c, dtype=np.float64))
    fitted = AdditiveFunction(features, inputs, coef)(X)
    intercept = float(y.mean() - fitted.mean())
    resid = y - fitted - intercept
    primal = 0.5 * float(resid @ resid) + beta * float(np.abs(coef).sum())
    return ConvexFit(features, inputs, coef, intercept, beta, primal, min(dual, primal),
                     n_iter, solver)


def _explicit(X: np.ndarray, depth: int, activation: str, negative_slope: float,
              max_switches: int | None) -> tuple[np.ndarray, list[Feature], np.ndarray]:
    """Concatenated explicit dictionaries of every input column."""
    mats, feats, inputs = [], [], []
    for j in range(X.shape[1]):
        d = build_dictionary(X[:, j], depth=depth, activation=activation,
                             negative_slope=negative_slope, max_switches=max_switches)
        mats.append(d.matrix)
        feats += d.features
        inputs += [j] * len(d.features)
    return np.hstack(mats), feats, np.array(inputs, dtype=np.int64)


_BLAS = ThreadpoolController()
_SINGLE_THREADED = threading.local()  # set while a single_threaded_blas call runs


def single_threaded_blas(func):
    """Run ``func`` with one BLAS thread: faster for the small dense products of the
    working-set solver on 2 cores, and bit-reproducible whatever the machine's thread count.
    Nested calls (each fit of a β path) run under the outer limit."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if getattr(_SINGLE_THREADED, "active", False):
            return func(*args, **kwargs)
        with _BLAS.limit(limits=1, user_api="blas"):
            _SINGLE_THREADED.active = True
            try:
                return func(*args, **kwargs)
            finally:
                _SINGLE_THREADED.active = False

    return wrapper


@single_threaded_blas
def fit_convex_network(X: np.ndarray, y: np.ndarray, *, depth: int, activation: str,
                       beta: float, solver: str = "auto", tol: float = 1e-6,
                       max_iter: int = 500, negative_slope: float = 0.01,
                       max_switches: int | None = None,
                       dictionaries: list[LagDictionary] | None = None,
                       warm_start: WorkingSetSolution | None = None,
                       beta_maximum: float | None = None, predict_only: bool = False,
                       workspace: WorkingSet | None = None,
                       ) -> tuple[ConvexFit | InterpolatedFit, WorkingSetSolution | None]:
    """Solve the additive network Lasso and return a certified, canonical solution.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Inputs (validated by the caller).
    y : ndarray of shape (n,)
        Targets.
    depth, activation, negative_slope, max_switches
        The network family (see :func:`convexforecast.core.dictionaries.build_dictionary`).
    beta : float
        Penalty strength, > 0, in the units of y.
    solver : {"auto", "fast", "cvxpy"}
        ``"auto"`` is ``"fast"``.
    tol : float
        Target relative duality gap of the fast solver.
    dictionaries, warm_start, beta_maximum, workspace
        Reuse implicit dictionaries, a previous solution, ``β_max`` of ``y`` and the
        working set of an earlier fast solve on the same data (β paths).
    predict_only : bool
        For ReLU fits of depth ≤ 3 on the fast route, return the canonical function as an
        :class:`~convexforecast.core.interpolant.InterpolatedFit` (predictions and the
        certificate only) instead of building the network: for scoring a β path.

    Returns
    -------
    fit : ConvexFit or InterpolatedFit
    raw : WorkingSetSolution or None
        The fast solver's raw solution, for warm starts (None on the other routes).
    """
    if solver in ("auto", "fast"):
        dictionaries = dictionaries or make_dictionaries(X, depth, activation, negative_slope,
                                                         max_switches)
        bmax = beta_max(dictionaries, y) if beta_maximum is None else beta_maximum
        small = sum(d.n_columns for d in dictionaries) * len(y) <= FALLBACK_ENTRIES
        use_reference = beta <= TINY_BETA or beta <= TINY_BETA * bmax or (
            small and beta <= NEAR_INTERPOLATION * bmax)
    else:
        use_reference = True  # the reference always works on the explicit dictionary
    raw = None
    if not use_reference:
        raw = solve_working_set(dictionaries, y, beta, tol=tol, max_iter=max_iter,
                                warm_start=warm_start, warn=False, workspace=workspace)
        if not raw.converged and small:
            use_reference = True  # the solver stalled; the explicit reference is cheap here
        elif not raw.converged:
            warnings.warn(
                f"The fast solver stopped at relative duality gap {raw.relative_gap:.2e} > "
                f"tol={tol:.1e} and the explicit dictionary is too large for the reference; "
                f"the reported duality_gap_ certifies how far from optimal the result is.",
                ConvergenceWarning, stacklevel=2)
    if use_reference:
        exp_depth = 3 if (activation == "relu" and depth == 4 and solver != "cvxpy") else depth
        A, feats, inputs = _explicit(X, exp_depth, activation, negative_slope, max_switches)
        res = solve_cvxpy(A, y, beta)
        # interior-point output carries round-off entries; drop them (the objective and
        # the certificate are recomputed from what is kept)
        nz = np.abs(res.coef) > 1e-9 * np.abs(res.coef).max(initial=0.0)
        fit = _finish(X, y, [f for f, m in zip(feats, nz, strict=True) if m], inputs[nz],
                      res.coef[nz], beta, res.dual, res.n_iter, res.solver, depth, activation)
        return fit, None
    if predict_only and activation == "relu" and depth <= 3:
        return InterpolatedFit.from_solution(raw, dictionaries, y, beta, depth), raw
    feats, signs_all, inputs = [], [], []
    for j in np.unique(raw.inputs):
        mask = raw.inputs == j
        f_j, s_j = dictionaries[j].features(raw.keys[mask])
        feats += f_j
        signs_all.append(s_j)
        inputs += [int(j)] * len(f_j)
    signs = np.concatenate(signs_all) if signs_all else np.empty(0)
    order = np.concatenate([np.flatnonzero(raw.inputs == j) for j in np.unique(raw.inputs)]) \
        if len(raw.inputs) else np.empty(0, dtype=np.int64)
    coef = raw.coef[order] * signs
    fit = _finish(X, y, feats, np.array(inputs, dtype=np.int64), coef, beta, raw.dual,
                  raw.n_iter, "fast", depth, activation, [d.u for d in dictionaries])
    return fit, raw


def certify(fit: ConvexFit, X: np.ndarray, y: np.ndarray,
            dictionaries: list[LagDictionary]) -> float:
    """Recompute the dual bound of ``fit`` by pricing its residual over the full dictionary."""
    resid = y - fit.predict(X)
    resid = resid - resid.mean()
    max_abs = price_all(dictionaries, resid, 1)[0]
    return dual_objective(y - y.mean(), resid, max_abs, fit.beta)
