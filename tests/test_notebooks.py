"""The notebooks in ``notebooks/`` execute from top to bottom and compute their key results.

Each notebook is executed in memory with nbclient (kernel ``python3``, working directory
``notebooks/`` so the notebooks' relative data paths resolve); the files on disk are not
modified. A last cell, added by the test, reads the notebook's own variables and prints them
as JSON, so the assertions are about computed values, not about printed text. Each notebook
runs once per test session (cached). A failing cell raises
``nbclient.exceptions.CellExecutionError`` with the cell's traceback.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TIMEOUT_SECONDS = 600
MARKER = "NOTEBOOK-FACTS:"

# Per notebook: code run after its last cell; it must define ``facts`` (JSON-serialisable).
FACTS = {
    "01_paper_figures.ipynb": """
reg4 = fits["opt", 4, BETA_SMALL]
facts = {
    "n_neurons": {f"{n}/{d}": int(fits[n, d, BETA_SMALL].n_neurons_) for n in NAMES for d in DEPTHS},
    "l1_norm": {f"{n}/{d}": float(abs(fits[n, d, BETA_SMALL].coef_).sum()) for n in NAMES for d in DEPTHS},
    "largest_gap": float(summary["relative_gap"].max()),
    "opt4_kinks": [float(k) for k in reg4.features_[0].kinks],
    "opt4_reflected": [bool(r) for r in reg4.features_[0].reflected],
    "opt4_sources": [list(map(float, s)) if s is not None else None for s in reg4.features_[0].sources],
    "opt4_network_objective": float(reg4.to_network().objective(X_opt, y_opt)),
    "opt4_objective": float(reg4.objective_),
    "adam_best_minus_dual": float((adam_table["adam_best"] - adam_table["dual_bound"]).min()),
    "path_largest_gap": float(path["relative_gap"].max()),
    "opt_curve_error": curve_error,
    "opt_n_kinks": {str(d): int(len(opt_explanations[d].kinks)) for d in DEPTHS},
    "opt4_provenance": list(opt_explanations[4].kinks["provenance"]),
    "opt4_reflection_of": [float(opt_explanations[4].kinks["reflection_of_j"].iloc[1]),
                           float(opt_explanations[4].kinks["reflection_of_k"].iloc[1])],
}
""",
    "02_btc_experiment.ipynb": """
facts = {
    "models": list(result.models),
    "n_folds": int(len(result.folds)),
    "n_forecasts": int(len(result.predictions)),
    "metrics_columns": list(metrics.columns),
    "mae": {k: float(v) for k, v in result.metrics["mae"].items()},
    "dm_models": sorted({m for m, _ in dm.index}),
    "convex_gap": float(convex.duality_gap_),
    "strategies": sorted(strategies),
    "sharpe_finite": bool(performance["sharpe"].notna().all()),
    "convex_beta": float(convex.beta_),
    "explained_beta": float(explanation.certificate["beta"].iloc[0]),
    "path_chosen_beta": float(convex.beta_path().query("chosen")["beta"].iloc[0]),
    "path_largest_gap": float(convex.beta_path()["max_relative_gap"].max()),
    "rebuilt_relative_error": abs(rebuilt / float(convex.predict(1).iloc[0]) - 1),
    "explanation_empty": bool(explanation.is_empty),
    "explanation_first_line": explanation.describe()[0],
}
""",
    "03_library_use.ipynb": """
facts = {
    "columns_seen": list(reg.feature_names_in_),
    "relative_gap": float(reg.relative_gap_),
    "cv_models": list(cv_table.index),
    "cv_mean_mse": [float(v) for v in cv_table["mean MSE"]],
    "grid_best": {k: float(v) if not isinstance(v, int) else v for k, v in search.best_params_.items()},
    "forecast_length": int(len(forecast)),
    "reload_identical": bool(restored.predict(3).equals(forecaster.predict(3))),
    "skforecast": skforecast is not None,
    "skforecast_forecast_length": int(len(sk_forecast)) if skforecast is not None else None,
}
""",
    "04_universe.ipynb": """
counts = result.predictions.groupby(["model", "series"]).size().unstack("model")
facts = {
    "models": list(result.models),
    "series": list(result.series),
    "same_targets_for_every_model": bool((counts.nunique(axis=1) == 1).all()),
    "pooled_n_series": sorted({int(v) for v in pooled["n_series"]}),
    "holm_not_below_raw": bool((per_series["pvalue_adjusted"] >= per_series["pvalue"] - 1e-15).all()),
    "global_relative_gap": float(global_model.duality_gap_ / global_model.objective_),
    "portfolio_rows": list(portfolio.index),
    "intervals_bracket_sharpe": bool(((portfolio["sharpe_low"] <= portfolio["sharpe"])
                                      & (portfolio["sharpe"] <= portfolio["sharpe_high"])).all()),
    "gross_exposure": float(weights.abs().sum(axis=1).max()),
    "net_exposure": float(weights.sum(axis=1).abs().max()),
}
""",
}


@functools.cache
def execute(name: str) -> tuple[nbformat.NotebookNode, dict]:
    """Run the notebook ``name`` in a fresh kernel (once per session): its cells and facts."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in notebook.cells:  # the saved outputs must not satisfy the checks below
        if cell.cell_type == "code":
            cell.outputs = []
    code = FACTS[name] + f"\nimport json as _json\nprint({MARKER!r} + _json.dumps(facts))\n"
    notebook.cells.append(nbformat.v4.new_code_cell(code))
    client = NotebookClient(notebook, timeout=TIMEOUT_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    text = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    facts = json.loads(text.split(MARKER, 1)[1])
    notebook.cells.pop()
    return notebook, facts


def count(notebook: nbformat.NotebookNode, output_type: str, mime: str | None = None) -> int:
    """Number of outputs of ``output_type`` (carrying ``mime`` data, when given)."""
    return sum(
        1
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type == output_type and (mime is None or mime in output.get("data", {}))
    )


def test_universe_notebook_backtests_pooled_and_per_series_and_trades_a_portfolio():
    _, facts = execute("04_universe.ipynb")
    assert facts["models"] == ["naive", "linear", "convex", "convex_global"]
    assert len(facts["series"]) >= 4 and facts["same_targets_for_every_model"]
    assert facts["pooled_n_series"] == [len(facts["series"])]
    assert facts["holm_not_below_raw"]
    assert facts["global_relative_gap"] <= 1e-6
    assert facts["portfolio_rows"] == ["linear", "convex", "convex_global", "equal_weight"]
    assert facts["intervals_bracket_sharpe"]
    assert facts["gross_exposure"] <= 1 + 1e-9 and facts["net_exposure"] <= 1e-9


@pytest.mark.parametrize("notebook_file", sorted(FACTS))
def test_every_code_cell_ran_without_error(notebook_file):
    notebook, _ = execute(notebook_file)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(cell.execution_count is not None for cell in code_cells)
    assert count(notebook, "error") == 0
    stderr = [output.text for cell in code_cells for output in cell.outputs
              if output.output_type == "stream" and output.name == "stderr"]
    assert not any("Traceback" in text for text in stderr)


def test_paper_figures_notebook_finds_the_reflection_neuron_and_bounds_adam():
    notebook, facts = execute("01_paper_figures.ipynb")
    # paper-notes §4: on 'opt' the depth-4 optimum is the single capped ramp C_{5,8},
    # whose kink 8 = 2·4 − 0 is a reflection; min-norm values 2/1/1 (opt), 1.5/.75/.75
    # (zshape), 4/4/4 (bounce) at β -> 0
    assert facts["n_neurons"]["opt/4"] == 1
    assert facts["opt4_kinks"] == [5.0, 8.0] and facts["opt4_reflected"] == [False, True]
    assert facts["opt4_sources"][1] == [0.0, 4.0]
    for key, norm in {"opt/2": 2, "opt/3": 1, "opt/4": 1, "zshape/2": 1.5, "zshape/3": 0.75,
                      "zshape/4": 0.75, "bounce/2": 4, "bounce/3": 4, "bounce/4": 4}.items():
        assert facts["l1_norm"][key] == pytest.approx(norm, rel=1e-4), key
    assert facts["opt4_network_objective"] == pytest.approx(facts["opt4_objective"], rel=1e-8)
    assert facts["largest_gap"] <= 1e-6 and facts["path_largest_gap"] <= 1e-6
    assert facts["adam_best_minus_dual"] >= -1e-12  # the certificate bounds every Adam iterate
    # response curves: the 3 ramps / 2 capped ramps / C_{5,8}, exact to round-off
    assert facts["opt_curve_error"] <= 1e-10
    assert facts["opt_n_kinks"] == {"2": 3, "3": 4, "4": 2}
    assert facts["opt4_provenance"] == ["data point", "reflection"]
    assert facts["opt4_reflection_of"] == [4.0, 0.0]  # 8 = 2·4 − 0
    assert count(notebook, "display_data", "image/png") >= 4 + 3


def test_btc_notebook_backtests_every_model_and_trades_them():
    notebook, facts = execute("02_btc_experiment.ipynb")
    assert facts["models"] == ["naive", "linear_ar", "arima_110", "convex_d2", "convex_d3"]
    assert facts["n_folds"] == 60 and facts["n_forecasts"] == 5 * 60
    for column in ("mae", "rmse", "mase", "directional_accuracy", "fit_seconds"):
        assert column in facts["metrics_columns"]
    assert all(value > 0 for value in facts["mae"].values())
    assert facts["dm_models"] == sorted(set(facts["models"]) - {"naive"})
    assert facts["convex_gap"] >= 0
    assert facts["strategies"] == sorted(set(facts["models"]) - {"naive"})
    assert facts["sharpe_finite"]
    # the explanation of the refitted net: its β, a certified path, the forecast rebuilt exactly
    assert facts["explained_beta"] == facts["path_chosen_beta"] == facts["convex_beta"]
    assert facts["path_largest_gap"] <= 1e-6
    assert facts["rebuilt_relative_error"] <= 1e-12
    assert facts["explanation_first_line"].startswith(
        "The network is empty" if facts["explanation_empty"] else "The network has")
    assert count(notebook, "display_data", "image/png") >= 3


def test_library_notebook_round_trips_pipeline_and_forecaster():
    _, facts = execute("03_library_use.ipynb")
    assert facts["columns_seen"] == [f"lag_{k}" for k in range(1, 6)]
    assert facts["relative_gap"] <= 1e-6
    assert len(facts["cv_models"]) == 3 and all(v > 0 for v in facts["cv_mean_mse"])
    assert set(facts["grid_best"]) == {"convexnetregressor__depth", "convexnetregressor__beta"}
    assert facts["forecast_length"] == 5 and facts["reload_identical"]
    assert facts["skforecast"] == (importlib.util.find_spec("skforecast") is not None)


def test_library_notebook_runs_the_net_inside_skforecast():
    pytest.importorskip("skforecast", reason="skforecast (the interop extra) pins pandas < 3; "
                                             "CI runs this in its interop environment")
    _, facts = execute("03_library_use.ipynb")
    assert facts["skforecast_forecast_length"] == 5
