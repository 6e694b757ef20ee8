"""The package's shape: import graph, lazy root, version, one validation vocabulary, aliases.

The import graph is read from the source (every ``import``, at module level or inside
functions): it must have no cycle, no module may import the package root's names, and the
command line's ``--help`` must not import the solvers (cvxpy, numba).
"""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import convexforecast
from convexforecast import (
    AdamNetForecaster,
    ARIMAForecaster,
    ConvexARForecaster,
    ConvexNetRegressor,
    LinearARForecaster,
)
from convexforecast.forecasting.metrics import mase

PACKAGE = Path(convexforecast.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) for every import statement of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                out.append((submodule, None) if submodule in modules else (target, alias.name))
    return [(module, item) for module, item in out
            if module == "convexforecast" or module.startswith("convexforecast.")]


def test_no_module_imports_the_package_root():
    modules = _modules()
    offenders = [f"{name} imports {item or 'the package'} from convexforecast"
                 for name, path in modules.items() if name != "convexforecast"
                 for module, item in _imports(name, path, modules) if module == "convexforecast"]
    assert not offenders, offenders


def test_the_import_graph_has_no_cycle():
    modules = _modules()
    graph = {name: {module for module, _ in _imports(name, path, modules)
                    if module in modules and module != name}
             for name, path in modules.items()}
    # a package's __init__ may re-export its own submodules; that is not a cycle of code
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_help_imports_neither_cvxpy_nor_numba():
    code = ("import sys; from convexforecast.cli import main; main(['--help']); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'cvxpy', 'numba', 'torch', "
            "'statsmodels', 'sklearn'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_version_comes_from_the_installed_metadata():
    assert convexforecast.__version__ == importlib.metadata.version("convexforecast")
    assert set(convexforecast.__all__) <= set(dir(convexforecast))
    for name in convexforecast.__all__:
        assert getattr(convexforecast, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        convexforecast.nope  # noqa: B018


def test_every_regressor_parameter_is_reachable_from_the_forecaster():
    regressor = set(ConvexNetRegressor().get_params())
    forecaster = set(ConvexARForecaster().get_params())
    assert regressor <= forecaster, regressor - forecaster
    fitted = ConvexARForecaster(lags=2, depth=2, activation="leaky_relu", negative_slope=0.3,
                                beta=0.5, max_iter=50).fit(_prices())
    params = fitted.regressors_[0].get_params()
    assert params["negative_slope"] == 0.3 and params["max_iter"] == 50


@pytest.mark.parametrize("make", [
    lambda: ConvexNetRegressor(beta=0.0),
    lambda: ConvexARForecaster(beta=0.0),
    lambda: AdamNetForecaster(beta=0.0),
    lambda: ConvexARForecaster(beta=-1.0),
    lambda: ConvexARForecaster(beta="auto"),
], ids=["regressor-0", "forecaster-0", "adam-0", "negative", "string"])
def test_one_beta_rule_everywhere(make):
    with pytest.raises(ValueError, match=r"`beta` must be a finite number > 0 or 'cv'"):
        model = make()
        if isinstance(model, ConvexNetRegressor):
            model.fit(np.arange(10.0)[:, None], np.arange(10.0))
        else:
            model.fit(_prices())


def _prices(n: int = 60) -> pd.Series:
    rng = np.random.default_rng(0)
    return pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))),
                     index=pd.date_range("2021-01-01", periods=n, freq="D"))


@pytest.mark.parametrize("old, new", [
    (dict(strategy="direct", horizon=3), dict(multistep="direct", steps=3)),
])
def test_renamed_lag_model_parameters_still_work_for_one_release(old, new):
    with pytest.warns(FutureWarning, match="`(strategy|horizon)` is deprecated"):
        legacy = LinearARForecaster(lags=2, **old).fit(_prices())
    current = LinearARForecaster(lags=2, **new).fit(_prices())
    pd.testing.assert_series_equal(legacy.predict(3), current.predict(3))
    with pytest.raises(ValueError, match="`horizon` is the deprecated name of `steps`"):
        LinearARForecaster(lags=2, steps=2, horizon=3).fit(_prices())


def test_other_renamed_names_still_work_for_one_release():
    y = _prices()
    with pytest.warns(FutureWarning, match="`seed` is deprecated"):
        legacy = AdamNetForecaster(lags=2, depth=2, beta=0.5, epochs=5, width=2, seed=3).fit(y)
    current = AdamNetForecaster(lags=2, depth=2, beta=0.5, epochs=5, width=2,
                                random_state=3).fit(y)
    pd.testing.assert_series_equal(legacy.predict(2), current.predict(2))
    with pytest.warns(FutureWarning, match="`m` is deprecated"):
        assert mase([2.0], [1.0], [1.0, 3.0, 2.0], m=2) == mase([2.0], [1.0], [1.0, 3.0, 2.0],
                                                               seasonal_period=2)
    with pytest.warns(FutureWarning, match="solver='auto' is deprecated"):
        auto = ConvexNetRegressor(solver="auto", beta=0.1).fit(np.arange(12.0)[:, None],
                                                               np.sin(np.arange(12.0)))
    assert auto.solver_ == "fast"
    with pytest.warns(FutureWarning, match="`alpha` is deprecated"):
        ARIMAForecaster(order="auto", max_p=0, max_q=0, alpha=0.1).fit(y)
