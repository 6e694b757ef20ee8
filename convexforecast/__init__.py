"""convexforecast: time-series forecasting with neural networks trained to a certified global optimum.

The math (dictionaries, solvers, network reconstruction) lives in :mod:`convexforecast.core`,
the forecasting layer (forecasters, backtests, metrics, strategies) in
:mod:`convexforecast.forecasting`, and I/O (data loading, reports, CLI) in
:mod:`convexforecast.data`, :mod:`convexforecast.report` and :mod:`convexforecast.cli`
(see ARCHITECTURE.md).

The names below are loaded on first use (PEP 562), so ``import convexforecast`` and the
command line's ``--help`` stay fast and do not import the solvers (cvxpy, numba) until needed.
"""

from __future__ import annotations

import importlib
from typing import Any

from convexforecast._artefacts import library_version

__version__ = library_version()

#: Public name -> the module that defines it.
_EXPORTS = {
    "CorruptFileWarning": "convexforecast._artefacts",
    "DataUnavailableError": "convexforecast.data",
    "load_csv": "convexforecast.data",
    "load_dataset": "convexforecast.data",
    "load_prices": "convexforecast.data",
    "ConvexNetCV": "convexforecast.estimators",
    "ConvexNetRegressor": "convexforecast.estimators",
    "ARIMAFallbackWarning": "convexforecast.forecasting.arima",
    "ARIMAForecaster": "convexforecast.forecasting.arima",
    "BacktestResult": "convexforecast.forecasting.results",
    "backtest": "convexforecast.forecasting.backtest",
    "TimeSeriesFold": "convexforecast.forecasting.folds",
    "plan_backtest": "convexforecast.forecasting.folds",
    "BaseForecaster": "convexforecast.forecasting.base",
    "DriftForecaster": "convexforecast.forecasting.baselines",
    "LinearARForecaster": "convexforecast.forecasting.baselines",
    "NaiveForecaster": "convexforecast.forecasting.baselines",
    "CheckpointError": "convexforecast.forecasting.checkpoints",
    "ConvexARForecaster": "convexforecast.forecasting.convex",
    "Explanation": "convexforecast.forecasting.explain",
    "ExogError": "convexforecast.forecasting.exog",
    "diebold_mariano": "convexforecast.forecasting.metrics",
    "directional_accuracy": "convexforecast.forecasting.metrics",
    "directional_accuracy_test": "convexforecast.forecasting.metrics",
    "mae": "convexforecast.forecasting.metrics",
    "mape": "convexforecast.forecasting.metrics",
    "mase": "convexforecast.forecasting.metrics",
    "rmse": "convexforecast.forecasting.metrics",
    "smape": "convexforecast.forecasting.metrics",
    "AdamNetForecaster": "convexforecast.forecasting.neural",
    "ModelFileError": "convexforecast.forecasting.persistence",
    "load_forecaster": "convexforecast.forecasting.persistence",
    "save_forecaster": "convexforecast.forecasting.persistence",
    "PortfolioResult": "convexforecast.forecasting.portfolio",
    "run_portfolio": "convexforecast.forecasting.portfolio",
    "sharpe_interval": "convexforecast.forecasting.strategy",
    "StrategyResult": "convexforecast.forecasting.strategy",
    "run_strategy": "convexforecast.forecasting.strategy",
    "plot_cv_curve": "convexforecast.plotting",
    "plot_response_curves": "convexforecast.plotting",
}
_RENAMED = {"load_forecaster": "load", "save_forecaster": "save"}
_MODULES = {"strategy": "convexforecast.forecasting.strategy"}

__all__ = sorted([*_EXPORTS, *_MODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), _RENAMED.get(name, name))
    else:
        raise AttributeError(f"module 'convexforecast' has no attribute {name!r}")
    globals()[name] = value  # loaded once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, *_MODULES])
