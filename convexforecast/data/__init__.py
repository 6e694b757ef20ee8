"""Data loading: yfinance with an on-disk cache, Yahoo-format CSV files, built-in datasets.

>>> from convexforecast.data import load_dataset, load_prices, load_csv
>>> y = load_dataset("sp500")                 # offline, business-day frequency
>>> btc = load_prices("BTC-USD", start="2020-01-01")   # downloads once, then cached

All loaders validate their output and raise a named :class:`DataError` (a ValueError)
for duplicate or unsorted dates, NaNs, non-positive prices and missing dates; see
:mod:`convexforecast.data.loaders` for the ``fill`` options.
"""

from .cache import CACHE_ENV_VAR, clear_cache, get_cache_dir
from .datasets import DATASETS, load_dataset
from .loaders import (
    FILL_OPTIONS,
    INTERVALS,
    CachedDataWarning,
    DataError,
    DataUnavailableError,
    DuplicateDatesError,
    MissingDatesError,
    MissingValuesError,
    NonPositivePriceError,
    PartialBarWarning,
    UnsortedDatesError,
    check_prices,
    csv_layout,
    load_csv,
    load_exog,
    load_prices,
)

__all__ = [
    "CACHE_ENV_VAR",
    "DATASETS",
    "FILL_OPTIONS",
    "INTERVALS",
    "CachedDataWarning",
    "DataError",
    "DataUnavailableError",
    "DuplicateDatesError",
    "MissingDatesError",
    "MissingValuesError",
    "NonPositivePriceError",
    "PartialBarWarning",
    "UnsortedDatesError",
    "check_prices",
    "clear_cache",
    "csv_layout",
    "get_cache_dir",
    "load_csv",
    "load_dataset",
    "load_exog",
    "load_prices",
]
