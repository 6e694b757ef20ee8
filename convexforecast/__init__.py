"""convexforecast: time-series forecasting with neural networks trained to a certified global optimum.

The math (dictionaries, solvers, network reconstruction) lives in :mod:`convexforecast.core`,
the forecasting layer (forecasters, backtests, metrics, strategies) in
:mod:`convexforecast.forecasting`, and I/O (data loading, reports, CLI) in
:mod:`convexforecast.data`, :mod:`convexforecast.report` and :mod:`convexforecast.cli`.
"""

__version__ = "0.1.0"

from convexforecast._artefacts import CorruptFileWarning
from convexforecast.data import DataUnavailableError, load_csv, load_dataset, load_prices
from convexforecast.estimators import ConvexNetCV, ConvexNetRegressor
from convexforecast.forecasting import strategy
from convexforecast.forecasting.arima import ARIMAFallbackWarning, ARIMAForecaster
from convexforecast.forecasting.backtest import BacktestResult, backtest, plan_backtest
from convexforecast.forecasting.base import BaseForecaster
from convexforecast.forecasting.baselines import (
    DriftForecaster,
    LinearARForecaster,
    NaiveForecaster,
)
from convexforecast.forecasting.checkpoints import CheckpointError
from convexforecast.forecasting.convex import ConvexARForecaster
from convexforecast.forecasting.metrics import (
    diebold_mariano,
    directional_accuracy,
    directional_accuracy_test,
    mae,
    mape,
    mase,
    rmse,
    smape,
)
from convexforecast.forecasting.neural import AdamNetForecaster
from convexforecast.forecasting.persistence import ModelFileError
from convexforecast.forecasting.persistence import load as load_forecaster
from convexforecast.forecasting.persistence import save as save_forecaster
from convexforecast.forecasting.strategy import StrategyResult, run_strategy

__all__ = [
    "ARIMAFallbackWarning", "ARIMAForecaster", "AdamNetForecaster", "BacktestResult",
    "BaseForecaster", "CheckpointError", "ConvexARForecaster", "ConvexNetCV", "ConvexNetRegressor",
    "CorruptFileWarning", "DataUnavailableError", "DriftForecaster", "LinearARForecaster",
    "ModelFileError", "NaiveForecaster",
    "StrategyResult", "backtest", "diebold_mariano", "directional_accuracy",
    "directional_accuracy_test", "load_csv", "load_dataset", "load_forecaster", "load_prices",
    "mae", "mape", "mase", "plan_backtest", "rmse", "run_strategy", "save_forecaster", "smape",
    "strategy",
]
