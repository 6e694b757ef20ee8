"""The notebooks in ``notebooks/`` execute from top to bottom and show their key results.

Each notebook is executed in memory with nbclient (kernel ``python3``, working directory
``notebooks/`` so the notebooks' relative data paths resolve); the files on disk are not
modified. Each notebook runs once per test session (cached). A failing cell raises
``nbclient.exceptions.CellExecutionError`` with the cell's traceback.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TIMEOUT_SECONDS = 300


@functools.cache
def execute(name: str) -> nbformat.NotebookNode:
    """Run the notebook ``name`` in a fresh kernel (once per session) and return it with its outputs."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in notebook.cells:  # the saved outputs must not satisfy the checks below
        if cell.cell_type == "code":
            cell.outputs = []
    client = NotebookClient(notebook, timeout=TIMEOUT_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    return notebook


def text_of(notebook: nbformat.NotebookNode) -> str:
    """All printed text and plain-text results of the executed notebook, in order."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                parts.append(output.data.get("text/plain", ""))
    return "\n".join(parts)


def count(notebook: nbformat.NotebookNode, output_type: str, mime: str | None = None) -> int:
    """Number of outputs of ``output_type`` (carrying ``mime`` data, when given)."""
    return sum(
        1
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type == output_type and (mime is None or mime in output.get("data", {}))
    )


@pytest.fixture(scope="module", params=["01_paper_figures.ipynb", "02_btc_experiment.ipynb",
                                        "03_library_use.ipynb"])
def notebook_file(request) -> str:
    return request.param


def test_every_code_cell_ran_without_error(notebook_file):
    notebook = execute(notebook_file)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells
    assert all(cell.execution_count is not None for cell in code_cells)
    assert count(notebook, "error") == 0
    stderr = [output.text for cell in code_cells for output in cell.outputs
              if output.output_type == "stream" and output.name == "stderr"]
    assert not any("Traceback" in text for text in stderr)


def test_paper_figures_notebook_shows_the_reflection_neuron_and_adam_gap():
    notebook = execute("01_paper_figures.ipynb")
    text = text_of(notebook)
    # Paper: on 'opt' the depth-4 optimum is the single capped ramp C_{5,8}, kink 8 = 2*4 - 0.
    assert "opt depth=4 beta=1e-07: n_neurons=1," in text
    assert "C_{5,8}(x)   <- reflection: kink 8 = 2·4 − 0" in text
    assert "is the kink 8 a data point? False" in text
    for name in ("opt", "zshape", "bounce"):
        for depth in (2, 3, 4):
            assert f"{name} depth={depth} beta=1e-07: n_neurons=" in text
    # The certified optimum lower-bounds every Adam iterate.
    assert "every Adam iterate >= dual bound: True" in text
    assert "largest relative duality gap on the paths:" in text
    assert count(notebook, "display_data", "image/png") >= 4


def test_btc_notebook_reports_metrics_dm_tests_and_strategies():
    notebook = execute("02_btc_experiment.ipynb")
    text = text_of(notebook)
    assert ("Using the BTC-USD file" in text) or ("falling back to the built-in S&P 500 series" in text)
    assert "BacktestResult(models=['naive', 'linear_ar', 'arima_110', 'convex_d2', 'convex_d3'], folds=60" in text
    for column in ("mae", "rmse", "mase", "directional_accuracy", "statistic", "pvalue", "sharpe",
                   "max_drawdown", "buy_and_hold"):
        assert column in text
    assert count(notebook, "display_data", "image/png") >= 2


def test_library_notebook_round_trips_pipeline_and_forecaster():
    notebook = execute("03_library_use.ipynb")
    text = text_of(notebook)
    assert "columns seen: ['lag_1', 'lag_2', 'lag_3', 'lag_4', 'lag_5']" in text
    assert "mean MSE" in text
    assert "best: {'convexnetregressor__" in text
    assert "identical forecasts after reload: True" in text
    if importlib.util.find_spec("skforecast") is None:
        assert "skforecast is not installed; this section is skipped" in text


def test_library_notebook_runs_the_net_inside_skforecast():
    pytest.importorskip("skforecast", reason="skforecast (the interop extra) pins pandas < 3; "
                                             "CI runs this in its interop environment")
    text = text_of(execute("03_library_use.ipynb"))
    assert "ForecasterRecursive(" in text and "=ConvexNetRegressor(...), lags=5)" in text
    assert "forecast_return_pct" in text
