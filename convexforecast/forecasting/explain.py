"""What a fitted convex network learned: exact response curves, kinks, certificate, β path.

A fitted additive network is ``f(x) = ξ + Σ_j g_j(x_j)`` *exactly*: each input ``j`` has its
own 1-D response ``g_j``, the sum of its neurons, piecewise linear (piecewise constant for
sign/threshold networks) with kinks at data points or at reflections ``2 x_j − x_k`` of the data
about itself (depth 4). So the curves drawn here are the model, not an approximation such as
the partial dependence of a tree ensemble: ``ξ + Σ_j g_j(X[:, j])`` reproduces the predictions
to round-off.

:func:`explain_network` turns the fitted step networks of an estimator or forecaster into an
:class:`Explanation` (tidy pandas frames); :func:`beta_path` tells the cross-validation's story
of β. :meth:`ConvexNetRegressor.explain
<convexforecast.estimators.ConvexNetRegressor.explain>` and :meth:`ConvexARForecaster.explain
<convexforecast.forecasting.convex.ConvexARForecaster.explain>` are thin wrappers. For backtest
reports, :meth:`Explanation.to_dict` / :meth:`Explanation.from_dict` carry an explanation as
plain JSON values (through worker processes and checkpoints) and
:func:`collect_backtest_explanations` gathers the per-refit certificates and the last refit's
explanation of every model that offers them (``explain_state``).

Scales: a network sees standardised inputs ``(x − center) / scale`` and fits a standardised
target; the frames give ``x`` and ``contribution`` on the user's scale (e.g. log returns), with
``x_standardised`` alongside when the two differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._validation import as_float_array
from ..core.additive import AdditiveFunction
from ..core.features import Feature

__all__ = ["BacktestExplanation", "Explanation", "StepNetwork", "beta_path",
           "check_explain_state", "collect_backtest_explanations", "explain_network"]

GRID_POINTS = 201  # evenly spaced points of the default grid (kinks are added to them)
GRID_MARGIN = 0.05  # the default grid extends this fraction of its span beyond the data
RUG_POINTS = 400  # at most this many training values per input are kept for the rug
_DATA_TOL = 1e-9  # a kink within this (relative) distance of a training value is a data point


@dataclass
class StepNetwork:
    """One fitted additive network on standardised inputs, as an explanation needs it.

    Attributes
    ----------
    features, inputs, coef, intercept
        ``intercept + Σ_k coef[k] · features[k](X[:, inputs[k]])`` on the network's scale.
    X : ndarray of shape (n, d)
        Its training inputs (network scale).
    certificate : dict
        ``beta``, ``objective``, ``dual_objective``, ``duality_gap``, ``relative_gap``,
        ``solver`` of the fit.
    cv_results : dict or None
        The estimator's ``cv_results_`` when β was chosen by cross-validation.
    """

    features: list[Feature]
    inputs: np.ndarray
    coef: np.ndarray
    intercept: float
    X: np.ndarray
    certificate: dict[str, Any]
    cv_results: dict[str, Any] | None = None

    def contributions(self, x: np.ndarray, j: int) -> np.ndarray:
        """``g_j(x)`` at the points ``x`` (shape (m,)) on the network's scale."""
        mask = np.asarray(self.inputs) == j
        if not mask.any():
            return np.zeros(x.shape[0])
        chosen = [f for f, m in zip(self.features, mask, strict=True) if m]
        function = AdditiveFunction(chosen, np.zeros(len(chosen), dtype=np.int64),
                                    np.asarray(self.coef, dtype=np.float64)[mask])
        return function(x[:, None])


_FRAMES = ("curves", "kinks", "inputs", "certificate")


@dataclass
class Explanation:
    """What a fitted convex network learned, as tidy frames.

    Frames of forecasters fitted with ``multistep="direct"`` have a ``step`` column first
    (one network per step); ``input`` is the column index of ``X`` for the regressor and the
    input's name (``"lag_1"``, ...) for forecasters.

    Attributes
    ----------
    curves : pandas.DataFrame
        The response curves: ``input, x, contribution`` (plus ``x_standardised`` when the
        network sees standardised inputs). ``intercept + Σ_j contribution_j(x_j)`` is the
        prediction, exactly.
    kinks : pandas.DataFrame
        One row per kink of every neuron: ``input``, ``neuron`` (index of the neuron in the
        step's network), ``kind`` (``ramp``, ``capped_ramp``, ...), ``x`` (the kink),
        ``contribution`` (``g_j`` there), ``provenance`` (``"data point"``, ``"reflection"``
        ``2 x_j − x_k`` of two data points, or ``"midpoint"`` of two data points for abs
        networks), ``reflection_of_j`` and ``reflection_of_k`` (the data points ``x_j``,
        ``x_k`` of a reflection, else NaN), ``coef`` (the neuron's output weight on the
        network's scale), and ``x_standardised`` when scales differ.
    inputs : pandas.DataFrame
        One row per input: ``input``, ``n_neurons``, ``n_kinks``, ``n_reflections``,
        ``contribution_std`` (standard deviation of ``g_j`` over the training data, in the
        units of the prediction), ``variance_share`` (``cov(g_j, f − ξ) / var(f − ξ)`` over the
        training data: the shares sum to 1; NaN when the network is constant) and
        ``switched_off`` (no neuron: the ℓ1 penalty switched the input off).
    certificate : pandas.DataFrame
        One row (per step): ``intercept`` (on the prediction's scale), ``beta``, ``objective``,
        ``dual_objective``, ``duality_gap``, ``relative_gap`` (the certificate of global
        optimality: the objective is within ``duality_gap`` of the best network of this
        architecture), ``n_neurons`` and ``solver``.
    beta_path : pandas.DataFrame or None
        :func:`beta_path` of the fit, when β was chosen by cross-validation.
    rug : dict
        Per input name: up to ``RUG_POINTS`` order statistics of its distinct training values
        (all of them when fewer), on the scale of ``x``.
    units : str
        What ``x`` and ``contribution`` measure (``"x"`` for the regressor, ``"log return"``
        for a forecaster on log returns, ...).
    """

    curves: pd.DataFrame
    kinks: pd.DataFrame
    inputs: pd.DataFrame
    certificate: pd.DataFrame
    beta_path: pd.DataFrame | None = None
    rug: dict[Any, np.ndarray] = field(default_factory=dict)
    units: str = "x"

    @property
    def input_names(self) -> list:
        """The inputs in their order."""
        return list(pd.unique(self.inputs["input"]))

    @property
    def steps(self) -> list[int]:
        """The step numbers (``[1]`` without a ``step`` column)."""
        if "step" not in self.certificate.columns:
            return [1]
        return [int(s) for s in self.certificate["step"]]

    @property
    def n_neurons(self) -> int:
        """Neurons over all steps."""
        return int(self.certificate["n_neurons"].sum())

    @property
    def is_empty(self) -> bool:
        """Whether every network is constant (the ℓ1 penalty switched every input off)."""
        return self.n_neurons == 0

    @property
    def switched_off(self) -> list:
        """Inputs without a neuron (in every step)."""
        frame = self.inputs.groupby("input", sort=False)["switched_off"].all()
        return [name for name, off in frame.items() if off]

    def describe(self) -> list[str]:
        """Plain sentences on what the network learned (for reports and the command line)."""
        first = self.certificate.iloc[0]
        path = self.beta_path
        steps = "" if len(self.certificate) == 1 else f" over {len(self.certificate)} step models"
        how = "chosen by cross-validation" if path is not None else "fixed"
        gap = float(self.certificate["relative_gap"].max())
        certified = (f"certified optimal to a relative duality gap of {gap:.1e}"
                     if gap > 0 else "certified optimal with a zero duality gap")
        if self.is_empty:
            at_max = path is not None and bool(path["chosen"].iloc[0])
            lines = [
                f"The network is empty{steps}: β = {_fmt(first['beta'])} ({how}) switched every "
                f"input off, so the model forecasts a constant {self.units} of "
                f"{_fmt(first['intercept'])} per step, a drift ({certified})."]
            if at_max:
                lines.append("Cross-validation chose the largest β of its grid, the one at which "
                             "the network is empty: no network with any neuron predicted the "
                             "held-out folds better than a constant.")
            return lines
        shares = self.inputs.groupby("input", sort=False)["variance_share"].mean()
        active = [name for name in shares.index if name not in self.switched_off]
        neurons = f"{self.n_neurons} neuron{'s' if self.n_neurons > 1 else ''}"
        lines = [f"The network has {neurons}{steps} on {len(active)} of "
                 f"{len(shares)} inputs, β = {_fmt(first['beta'])} ({how}), {certified}."]
        ranked = shares[active].sort_values(ascending=False)
        if ranked.notna().any():
            parts = [f"{_name(name)} {share:.0%}" for name, share in ranked.items() if np.isfinite(share)]
            lines.append("Share of the fitted variance: " + ", ".join(parts) + ".")
        if self.switched_off:
            lines.append("Switched off by the ℓ1 penalty: "
                         + ", ".join(_name(n) for n in self.switched_off) + ".")
        counts = self.kinks["provenance"].value_counts()
        if len(counts):
            lines.append("Kinks: " + ", ".join(f"{n} at {kind}s" if kind != "data point"
                                               else f"{n} at data points"
                                               for kind, n in counts.items()) + ".")
        if path is not None and bool(path["one_standard_error"].iloc[0]) \
                and not bool(path["chosen"].iloc[0]):
            lines.append("The CV curve is flat near its minimum: the one-standard-error rule "
                         "would choose the empty network.")
        return lines

    # --------------------------------------------------------------- plain JSON values
    def to_dict(self) -> dict[str, Any]:
        """The explanation as plain JSON values (:meth:`from_dict` is the inverse)."""
        frames = {name: _frame_to_dict(getattr(self, name)) for name in _FRAMES}
        return {**frames,
                "beta_path": None if self.beta_path is None else _frame_to_dict(self.beta_path),
                "rug": [[_plain(name), np.asarray(values, dtype=float).tolist()]
                        for name, values in self.rug.items()],
                "units": self.units}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> Explanation:
        """Rebuild from :meth:`to_dict`; ValueError when ``state`` is not such a dict."""
        if not isinstance(state, Mapping):
            raise ValueError(f"`state` must be a dict from Explanation.to_dict. Got "
                             f"{type(state).__name__}.")
        try:
            frames = {name: _frame_from_dict(state[name]) for name in _FRAMES}
            path = state["beta_path"]
            rug = {name: np.asarray(values, dtype=np.float64) for name, values in state["rug"]}
            units = str(state["units"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"`state` is not an explanation: {type(exc).__name__}: {exc}") from None
        explanation = cls(**frames, beta_path=None if path is None else _frame_from_dict(path),
                          rug=rug, units=units)
        for name, columns in (("curves", ("input", "x", "contribution")),
                              ("inputs", ("input", "switched_off")),
                              ("certificate", ("beta", "n_neurons", "relative_gap"))):
            missing = set(columns) - set(getattr(explanation, name).columns)
            if missing:
                raise ValueError(f"`state` is not an explanation: {name} lacks {sorted(missing)}.")
        return explanation


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _frame_to_dict(frame: pd.DataFrame) -> dict[str, Any]:
    return {"columns": [str(c) for c in frame.columns],
            "data": [[_plain(v) for v in frame[c].tolist()] for c in frame.columns]}


def _frame_from_dict(state: Mapping[str, Any]) -> pd.DataFrame:
    columns, data = list(state["columns"]), list(state["data"])
    if len(columns) != len(data) or len({len(d) for d in data}) > 1:
        raise ValueError("columns and data do not match")
    return pd.DataFrame(dict(zip(columns, data, strict=True)), columns=columns)


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _name(name: Any) -> str:
    """An input's name in a sentence (``"input 0"`` for a column index)."""
    return f"input {name}" if isinstance(name, int | np.integer) else str(name)


# ------------------------------------------------------------------------ explaining
def _check_grid(grid: Any, n_inputs: int) -> np.ndarray | None:
    """``grid`` as an (m, d) float array (a 1-D grid is used for every input), or None."""
    if grid is None:
        return None
    values = as_float_array("grid", grid.to_numpy() if isinstance(grid, pd.DataFrame) else grid,
                            (1, 2))
    if values.ndim == 1:
        return np.repeat(values[:, None], n_inputs, axis=1)
    if values.shape[1] != n_inputs:
        raise ValueError(f"`grid` must have one column per input ({n_inputs}). Got an array of "
                         f"shape {values.shape}.")
    return values


def _default_grid(train: np.ndarray, kinks: np.ndarray, jumps: np.ndarray) -> np.ndarray:
    """The training range and every kink, a margin beyond, plus the kinks themselves (and, for
    jumps, the point just left of each, so a drawn step is vertical)."""
    lo = min(float(train.min()), float(kinks.min(initial=np.inf)))
    hi = max(float(train.max()), float(kinks.max(initial=-np.inf)))
    pad = GRID_MARGIN * ((hi - lo) if hi > lo else max(1.0, abs(hi)))
    points = [np.linspace(lo - pad, hi + pad, GRID_POINTS), kinks, np.nextafter(jumps, -np.inf)]
    return np.unique(np.concatenate(points))


def _thin(values: np.ndarray) -> np.ndarray:
    """At most RUG_POINTS order statistics of the distinct values (first and last kept)."""
    values = np.unique(values)
    if values.size <= RUG_POINTS:
        return values
    return values[np.round(np.linspace(0, values.size - 1, RUG_POINTS)).astype(np.int64)]


def _provenance(kink: float, reflected: bool, train: np.ndarray) -> str:
    if reflected:
        return "reflection"
    position = np.searchsorted(train, kink)
    nearest = min(abs(train[max(position - 1, 0)] - kink),
                  abs(train[min(position, train.size - 1)] - kink))
    scale = max(1.0, float(np.abs(train).max()))
    return "data point" if nearest <= _DATA_TOL * scale else "midpoint"


def explain_network(networks: Sequence[StepNetwork], names: Sequence[Any], *,
                    centers: np.ndarray | None = None, scales: np.ndarray | None = None,
                    target_center: float = 0.0, target_scale: float = 1.0,
                    grid: Any = None, step_column: bool = False,
                    standardised_column: bool | None = None, units: str = "x",
                    ) -> Explanation:
    """Explain fitted additive networks (one per step) that share their inputs.

    Parameters
    ----------
    networks : sequence of StepNetwork
        The fitted step networks (one for a regressor or a recursive forecaster).
    names : sequence
        Name of every input column, in order.
    centers, scales : ndarray, optional
        Input ``j`` is ``x_j = centers[j] + scales[j] · (network input j)``; default 0 and 1.
    target_center, target_scale : float
        The prediction is ``target_center + target_scale · (network output)``.
    grid : array-like of shape (m, d) or (m,), optional
        Points on the scale of ``x`` at which to evaluate each input's response (column ``j``
        for input ``j``; a 1-D grid for every input). Rows are kept in their order, so
        ``intercept + Σ_j contribution_j`` at ``grid=X`` reproduces the predictions at ``X``.
        Default: per input, :data:`GRID_POINTS` points over the training range and every
        kink, extended by :data:`GRID_MARGIN` of that span on both sides, plus the kinks.
    step_column : bool
        Add a ``step`` column (1-based) to every frame.
    standardised_column : bool, optional
        Add the ``x_standardised`` column (default: when the scales are not 0 and 1).
    units : str
        What ``x`` measures (see :class:`Explanation`).

    Returns
    -------
    Explanation
    """
    names = list(names)
    d = len(names)
    centers = np.zeros(d) if centers is None else np.asarray(centers, dtype=np.float64)
    scales = np.ones(d) if scales is None else np.asarray(scales, dtype=np.float64)
    standardised = bool(np.any(centers != 0.0) or np.any(scales != 1.0)) \
        if standardised_column is None else standardised_column
    user_grid = _check_grid(grid, d)
    train = networks[0].X  # the first step model is fitted on the most rows
    grids = []
    for j in range(d):
        if user_grid is not None:
            grids.append((user_grid[:, j] - centers[j]) / scales[j])
            continue
        kinks = [k for net in networks for f, i in zip(net.features, net.inputs, strict=True)
                 if i == j for k in f.kinks]
        jumps = [k for net in networks for f, i in zip(net.features, net.inputs, strict=True)
                 if i == j and f.kind == "step" for k in f.kinks]
        grids.append(_default_grid(train[:, j], np.asarray(kinks, dtype=np.float64),
                                   np.asarray(jumps, dtype=np.float64)))

    curves, kinks, inputs, certificates, paths = [], [], [], [], []
    for step, net in enumerate(networks, start=1):
        prefix = {"step": step} if step_column else {}
        uniques = [np.unique(net.X[:, j]) for j in range(d)]
        for j in range(d):
            values = net.contributions(grids[j], j)
            part = {**prefix, "input": [names[j]] * grids[j].size,
                    "x": centers[j] + scales[j] * grids[j], "contribution": target_scale * values}
            if standardised:
                part["x_standardised"] = grids[j]
            curves.append(pd.DataFrame(part))
        for k, (feature, j, coef) in enumerate(zip(net.features, net.inputs, net.coef,
                                                    strict=True)):
            at = np.asarray(feature.kinks, dtype=np.float64)
            heights = target_scale * net.contributions(at, int(j))
            for kink, reflected, source, height in zip(at, feature.reflected, feature.sources,
                                                       heights, strict=True):
                pair = (np.nan, np.nan) if source is None or not reflected else (
                    centers[j] + scales[j] * source[1], centers[j] + scales[j] * source[0])
                row = {**prefix, "input": names[j], "neuron": k, "kind": feature.kind,
                       "x": centers[j] + scales[j] * kink, "contribution": float(height),
                       "provenance": _provenance(float(kink), bool(reflected), uniques[j]),
                       "reflection_of_j": pair[0], "reflection_of_k": pair[1],
                       "coef": float(coef)}
                if standardised:
                    row["x_standardised"] = float(kink)
                kinks.append(row)
        G = np.column_stack([net.contributions(net.X[:, j], j) for j in range(d)])
        fitted = G.sum(axis=1)
        variance = float(fitted.var())
        covariance = ((G - G.mean(axis=0)) * (fitted - fitted.mean())[:, None]).mean(axis=0)
        feature_inputs = np.asarray(net.inputs, dtype=np.int64)
        for j in range(d):
            mine = [f for f, i in zip(net.features, feature_inputs, strict=True) if i == j]
            inputs.append({**prefix, "input": names[j], "n_neurons": len(mine),
                           "n_kinks": sum(f.n_kinks for f in mine),
                           "n_reflections": sum(sum(f.reflected) for f in mine),
                           "contribution_std": target_scale * float(G[:, j].std()),
                           "variance_share": covariance[j] / variance if variance > 0 else np.nan,
                           "switched_off": len(mine) == 0})
        cert = net.certificate
        certificates.append({**prefix, "intercept": target_center + target_scale * net.intercept,
                             "beta": float(cert["beta"]), "objective": float(cert["objective"]),
                             "dual_objective": float(cert["dual_objective"]),
                             "duality_gap": float(cert["duality_gap"]),
                             "relative_gap": float(cert["relative_gap"]),
                             "n_neurons": int(np.count_nonzero(net.coef)),
                             "solver": str(cert["solver"])})
        if net.cv_results is not None:
            path = beta_path(net.cv_results, float(cert["beta"]))
            paths.append(path.assign(step=step)[["step", *path.columns]] if step_column else path)

    kink_columns = [*(["step"] if step_column else []), "input", "neuron", "kind", "x",
                    "contribution", "provenance", "reflection_of_j", "reflection_of_k", "coef",
                    *(["x_standardised"] if standardised else [])]
    return Explanation(
        curves=pd.concat(curves, ignore_index=True),
        kinks=pd.DataFrame(kinks, columns=kink_columns),
        inputs=pd.DataFrame(inputs),
        certificate=pd.DataFrame(certificates),
        beta_path=pd.concat(paths, ignore_index=True) if paths else None,
        rug={names[j]: centers[j] + scales[j] * _thin(train[:, j]) for j in range(d)},
        units=units,
    )


def beta_path(cv_results: Mapping[str, Any], chosen: float | None = None) -> pd.DataFrame:
    """The cross-validation's story of β: one row per β of the grid (largest first).

    Parameters
    ----------
    cv_results : dict
        An estimator's ``cv_results_``.
    chosen : float, optional
        The β the estimator used (default ``cv_results["best_beta"]``).

    Returns
    -------
    pandas.DataFrame
        ``beta``, ``beta_ratio`` (β / β_max, the largest β of the grid, at which the network
        is empty), ``mean_mse`` (mean validation MSE over the folds, on the network's scale),
        ``std_mse`` (its standard deviation over the folds), ``std_error`` (its standard
        error), ``n_neurons`` (median over the folds of the neurons of the fold's fit),
        ``max_relative_gap`` (the largest certified relative duality gap over the folds: every
        path point is certified), ``chosen`` (the β used) and ``one_standard_error`` (the β
        the one-standard-error rule chooses: the largest whose mean MSE is within one standard
        error of the least).
    """
    betas = np.asarray(cv_results["betas"], dtype=np.float64)
    fold_mse = np.asarray(cv_results["fold_mse"], dtype=np.float64)
    chosen = float(cv_results["best_beta"]) if chosen is None else chosen
    n_folds = fold_mse.shape[0]
    gaps = cv_results.get("fold_relative_gap")
    neurons = cv_results.get("fold_n_neurons")
    one_se = cv_results.get("one_se_beta", np.nan)
    return pd.DataFrame({
        "beta": betas,
        "beta_ratio": betas / betas[0],
        "mean_mse": np.asarray(cv_results["mean_mse"], dtype=np.float64),
        "std_mse": fold_mse.std(axis=0, ddof=1) if n_folds > 1 else np.zeros(betas.size),
        "std_error": np.asarray(cv_results["std_error"], dtype=np.float64),
        "n_neurons": (np.full(betas.size, np.nan) if neurons is None
                      else np.median(np.asarray(neurons, dtype=np.float64), axis=0)),
        "max_relative_gap": (np.full(betas.size, np.nan) if gaps is None
                             else np.asarray(gaps, dtype=np.float64).max(axis=0)),
        "chosen": betas == chosen,
        "one_standard_error": betas == one_se,
    })


# ------------------------------------------------------------------------- backtests
@dataclass
class BacktestExplanation:
    """What one model's refits in a backtest learned.

    Attributes
    ----------
    certificates : pandas.DataFrame
        One row per refit (and step): ``origin`` (the refit's first forecast origin),
        ``beta``, ``objective``, ``duality_gap``, ``relative_gap``, ``n_neurons`` (and
        ``step``); with many series, first a ``series`` column (``"(pooled)"`` for a global
        model's refits).
    last : Explanation or None
        The last refit's explanation (of the one series, or of a global model).
    by_series : dict
        With many series and a local model: each series' last refit's explanation.
    """

    certificates: pd.DataFrame
    last: Explanation | None = None
    by_series: dict[str, Explanation] = field(default_factory=dict)


_CERTIFICATE_KEYS = ("beta", "objective", "duality_gap", "relative_gap", "n_neurons")


def check_explain_state(state: Any) -> dict[str, Any] | None:
    """Validate an ``explain_state`` payload (a forecaster's, or one read from a checkpoint).

    It is None or a dict with ``certificate`` (a list of rows with the keys above, per step)
    and optionally ``explanation`` (:meth:`Explanation.to_dict`). Raises ValueError otherwise.
    """
    if state is None:
        return None
    if not isinstance(state, Mapping) or not isinstance(state.get("certificate"), list):
        raise ValueError(f"`explain state` must be a dict with a 'certificate' list. Got "
                         f"{type(state).__name__}.")
    for row in state["certificate"]:
        if not isinstance(row, Mapping) or not all(
                isinstance(row.get(key), int | float) for key in _CERTIFICATE_KEYS):
            raise ValueError(f"`explain state` certificate rows must hold numbers "
                             f"{list(_CERTIFICATE_KEYS)}. Got {row!r:.120}.")
    if state.get("explanation") is not None:
        Explanation.from_dict(state["explanation"])
    return dict(state)


def collect_backtest_explanations(results: Mapping[str, Sequence[Mapping[str, Any]]],
                                  panel: Mapping[str, pd.Series], many: bool,
                                  ) -> dict[str, BacktestExplanation]:
    """Per model with an ``explain_state`` hook: its refits' certificates and what its last
    refit (per series, for local models of many series) learned.

    ``results[model]`` lists the model's block results in plan order: ``key`` ``(model,
    series code or -1 for pooled blocks, block)``, ``series`` and ``origin`` (codes and
    positions of its forecasts) and ``explain`` (the block's ``explain_state``, None without
    the hook). ``panel`` maps the series names (in code order) to the series.
    """
    names = list(panel)
    out = {}
    for model, model_results in results.items():
        rows, last, by_series = [], None, {}
        for result in model_results:
            state = result.get("explain")
            if state is None or len(result["origin"]) == 0:
                continue
            code = int(result["key"][1])
            first = names[int(result["series"][0])]
            prefix = {"series": names[code] if code >= 0 else "(pooled)"} if many else {}
            origin = panel[first].index[int(result["origin"][0])]
            rows += [{**prefix, "origin": origin,
                      **{k: v for k, v in row.items() if k in ("step", *_CERTIFICATE_KEYS)}}
                     for row in state["certificate"]]
            if state.get("explanation") is not None:
                explanation = Explanation.from_dict(state["explanation"])
                if many and code >= 0:
                    by_series[names[code]] = explanation
                else:
                    last = explanation
        if rows:
            out[model] = BacktestExplanation(pd.DataFrame(rows), last, by_series)
    return out
