"""Pictures of what a convex network learned: response curves and the CV curve of β.

Both functions take an :class:`~convexforecast.forecasting.explain.Explanation` (or a fitted
estimator or forecaster, whose ``explain()`` is called) and return a matplotlib
:class:`~matplotlib.figure.Figure` drawn on the Agg canvas: nothing is shown, no ``pyplot``
state is created or changed, so they work in scripts, worker threads and headless CI. Save
with ``fig.savefig(path)``; in a notebook, ``display(fig)`` shows it. matplotlib is imported
only when a function is called.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._validation import check_positive_int

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from .forecasting.explain import Explanation

__all__ = ["plot_cv_curve", "plot_response_curves"]

CURVE_COLOR = "#1f4e79"
DATA_KINK_COLOR = "#1f4e79"
REFLECTION_COLOR = "#c0392b"
RUG_COLOR = "0.45"
NEURON_COLOR = "#7f8c8d"


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _explanation(source: Any) -> Explanation:
    from .forecasting.explain import Explanation

    if isinstance(source, Explanation):
        return source
    if callable(getattr(source, "explain", None)):
        return source.explain()
    raise TypeError(f"`explanation` must be an Explanation or a fitted estimator or forecaster "
                    f"with an explain() method. Got {type(source).__name__}.")


def _step(frame: pd.DataFrame, step: int) -> pd.DataFrame:
    if "step" not in frame.columns:
        return frame
    return frame[frame["step"] == step]


def _label(name: Any) -> str:
    return f"input {name}" if isinstance(name, int | np.integer) else str(name)


def plot_response_curves(explanation: Any, *, step: int = 1, ncols: int | None = None,
                         width: float = 10.0, title: str | None = None) -> Figure:
    """Small multiples of the exact response ``g_j`` of every input, one panel per input.

    Each panel draws the input's contribution to the prediction over the explanation's grid,
    the training data as a rug along the bottom, kinks at data points as dots and kinks at
    reflections ``2 x_j − x_k`` as red diamonds. The panels share their y axis, so the sizes
    of the contributions compare across inputs; inputs the ℓ1 penalty switched off are flat
    at zero and say so.

    Parameters
    ----------
    explanation : Explanation or fitted estimator/forecaster
        What to draw (an object with ``explain()`` is explained with its default grid).
    step : int
        Step model to draw (direct forecasters; 1 otherwise).
    ncols : int, optional
        Panels per row (default: up to 4).
    width : float
        Figure width in inches (the height follows from the number of rows).
    title : str, optional
        The figure's title (default: β, neurons and duality gap of the fit).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.lines import Line2D

    explanation = _explanation(explanation)
    step = check_positive_int("step", step)
    if step not in explanation.steps:
        raise ValueError(f"`step` must be one of {explanation.steps}. Got {step}.")
    curves, kinks = _step(explanation.curves, step), _step(explanation.kinks, step)
    inputs = _step(explanation.inputs, step).set_index("input")
    names = explanation.input_names
    ncols = min(4, len(names)) if ncols is None else check_positive_int("ncols", ncols)
    nrows = math.ceil(len(names) / ncols)
    fig = _figure(width, 0.6 + 2.1 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharey=True, squeeze=False)).ravel()
    for ax, name in zip(axes, names, strict=False):
        curve = curves[curves["input"] == name].sort_values("x", kind="stable")
        ax.plot(curve["x"], curve["contribution"], color=CURVE_COLOR, lw=1.6)
        ax.axhline(0.0, color="0.8", lw=0.8, zorder=0)
        rug = explanation.rug.get(name)
        if rug is not None and len(rug):
            ax.plot(rug, np.full(len(rug), 0.03), "|", color=RUG_COLOR, ms=6, alpha=0.5,
                    transform=ax.get_xaxis_transform())
        mine = kinks[kinks["input"] == name]
        data = mine[mine["provenance"] != "reflection"]
        reflections = mine[mine["provenance"] == "reflection"]
        ax.plot(data["x"], data["contribution"], "o", color=DATA_KINK_COLOR, ms=4.5, zorder=3)
        ax.plot(reflections["x"], reflections["contribution"], "D", color=REFLECTION_COLOR,
                ms=6, zorder=4, markeredgecolor="white", markeredgewidth=0.6)
        row = inputs.loc[name]
        share = row["variance_share"]
        panel = _label(name)
        if bool(row["switched_off"]):
            panel += " (switched off)"
        elif np.isfinite(share):
            panel += f" ({share:.0%} of variance)"
        ax.set_title(panel, fontsize=9.5)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.25)
        ax.set_xlabel(explanation.units, fontsize=8.5)
    lo, hi = axes[0].get_ylim()  # shared: leave the bottom band to the rug
    axes[0].set_ylim(lo - 0.1 * (hi - lo), hi)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel(f"contribution ({explanation.units})" if explanation.units != "x"
                      else "contribution", fontsize=8.5)
    handles = [Line2D([], [], color=CURVE_COLOR, lw=1.6, label="response g_j (exact)")]
    if (kinks["provenance"] != "reflection").any():
        handles.append(Line2D([], [], color=DATA_KINK_COLOR, marker="o", ls="", ms=4.5,
                              label="kink at a data point"))
    if (kinks["provenance"] == "reflection").any():
        handles.append(Line2D([], [], color=REFLECTION_COLOR, marker="D", ls="", ms=6,
                              label="kink at a reflection 2x_j − x_k"))
    handles.append(Line2D([], [], color=RUG_COLOR, marker="|", ls="", ms=8,
                          label="training data"))
    fig.legend(handles=handles, loc="outside lower center", fontsize=8.5, frameon=False,
               ncols=len(handles) if width >= 9 else 2)
    cert = _step(explanation.certificate, step).iloc[0]
    step_text = f"step {step}, " if "step" in explanation.certificate.columns else ""
    n = int(cert["n_neurons"])
    neurons = "empty network" if n == 0 else f"{n} neuron{'s' if n > 1 else ''}"
    gap = float(cert["relative_gap"])
    gap_text = f"relative duality gap {gap:.1e}" if gap > 0 else "duality gap 0"
    fig.suptitle(title if title is not None else
                 f"Response curves ({step_text}β = {cert['beta']:.3g}, {neurons}, {gap_text})",
                 fontsize=10.5)
    return fig


def plot_cv_curve(explanation: Any, *, step: int = 1, width: float = 8.0,
                  height: float = 3.6, title: str | None = None) -> Figure:
    """Cross-validation error against β (log scale), and neurons against β.

    Draws the mean validation MSE over the folds with a ±1 standard error band, the chosen β
    (solid line) and the β of the one-standard-error rule (dashed), and, on a second axis,
    the median number of neurons of the folds' fits.

    Parameters
    ----------
    explanation : Explanation, beta-path frame or fitted estimator/forecaster
        An :class:`~convexforecast.forecasting.explain.Explanation` with a ``beta_path``, the
        frame of :func:`~convexforecast.forecasting.explain.beta_path`, or an object with a
        ``beta_path()`` method (fitted with ``beta="cv"``).
    step : int
        Step model to draw (direct forecasters; 1 otherwise).
    width, height : float
        Figure size in inches.
    title : str, optional
        The figure's title (default ``"Cross-validation of β"``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    step = check_positive_int("step", step)
    if isinstance(explanation, pd.DataFrame):
        path = explanation
    elif callable(getattr(explanation, "beta_path", None)):
        path = explanation.beta_path()
    else:
        path = getattr(explanation, "beta_path", None)
        if path is None:
            raise ValueError("`explanation` has no β path: β was not chosen by cross-validation "
                             "(fit with beta='cv').")
    if not isinstance(path, pd.DataFrame):
        raise TypeError(f"`explanation` must be an Explanation, a beta-path DataFrame or a "
                        f"fitted estimator. Got {type(explanation).__name__}.")
    path = _step(path, step)
    if path.empty:
        raise ValueError(f"`step` must be a step of the β path. Got {step}.")
    fig = _figure(width, height)
    ax = fig.subplots()
    beta, mean, se = path["beta"], path["mean_mse"], path["std_error"]
    ax.fill_between(beta, mean - se, mean + se, color=CURVE_COLOR, alpha=0.15, lw=0)
    ax.plot(beta, mean, "o-", color=CURVE_COLOR, ms=3.5, lw=1.5)
    chosen = path.loc[path["chosen"], "beta"]
    one_se = path.loc[path["one_standard_error"], "beta"]
    for value in chosen:
        ax.axvline(value, color="black", lw=1.3)
    for value in one_se:
        ax.axvline(value, color="black", lw=1.1, ls="--")
    ax.set_xscale("log")
    ax.set_xlabel("β (log scale; the network is empty at the largest β)")
    ax.set_ylabel("mean CV error (MSE)")
    ax.grid(alpha=0.25)
    twin = ax.twinx()
    twin.step(beta, path["n_neurons"], where="mid", color=NEURON_COLOR, lw=1.2, alpha=0.9)
    twin.set_ylabel("neurons (median over folds)", color=NEURON_COLOR)
    twin.tick_params(axis="y", colors=NEURON_COLOR)
    twin.set_ylim(bottom=0)
    handles = [Line2D([], [], color=CURVE_COLOR, marker="o", ms=3.5, label="mean CV error"),
               Patch(color=CURVE_COLOR, alpha=0.15, label="± 1 standard error"),
               Line2D([], [], color="black", lw=1.3,
                      label=f"chosen β = {chosen.iloc[0]:.3g}" if len(chosen) else "chosen β"),
               Line2D([], [], color="black", lw=1.1, ls="--",
                      label=f"1-SE rule β = {one_se.iloc[0]:.3g}" if len(one_se)
                      else "1-SE rule β"),
               Line2D([], [], color=NEURON_COLOR, lw=1.2, label="neurons")]
    fig.legend(handles=handles, loc="outside lower center", fontsize=8, frameon=False,
               ncols=5 if width >= 7.5 else 3)
    step_text = f" (step {step})" if "step" in path.columns else ""
    fig.suptitle(title if title is not None else f"Cross-validation of β{step_text}",
                 fontsize=10.5)
    return fig
