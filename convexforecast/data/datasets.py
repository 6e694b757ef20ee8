"""Built-in real price series that ship inside pip dependencies (available offline).

=========  =====================================================================  ===========
name       series                                                                 span
=========  =====================================================================  ===========
"sp500"    S&P 500 index, daily OHLCV from Yahoo Finance (``arch.data.sp500``)    1999-2018
"nasdaq"   NASDAQ Composite, daily OHLCV from Yahoo Finance (``arch.data.nasdaq``)  1999-2018
=========  =====================================================================  ===========

Both are trading-day series: the ~9 NYSE holidays a year are absent, so on the business-day
grid they are *missing dates*. :func:`load_dataset` forward-fills them by default
(``fill="ffill"``: a holiday repeats the previous close, i.e. a zero return) so that the
series has the regular business-day frequency ``"B"`` the forecasters need;
``series.attrs["n_filled"]`` reports how many dates were filled (185 for "sp500").
Pass ``fill="keep"`` for the raw trading days or ``fill=None`` to be told about them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .._validation import check_option
from .loaders import FILL_OPTIONS, check_prices, select_column

__all__ = ["DATASETS", "load_dataset"]


def _load_arch(module: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import importlib

        return importlib.import_module(f"arch.data.{module}").load()

    return load


@dataclass(frozen=True)
class _Dataset:
    loader: Callable[[], pd.DataFrame]
    description: str
    default_column: str = "Adj Close"


DATASETS: dict[str, _Dataset] = {
    "sp500": _Dataset(_load_arch("sp500"), "S&P 500 index, daily, 1999-01-04 to 2018-12-31 "
                      "(arch.data.sp500)"),
    "nasdaq": _Dataset(_load_arch("nasdaq"), "NASDAQ Composite index, daily, 1999-01-04 to "
                       "2018-12-31 (arch.data.nasdaq)"),
}


def load_dataset(
    name: str = "sp500", column: str | None = None, fill: str | None = "ffill"
) -> pd.Series:
    """Load a built-in daily price series (no network needed).

    Parameters
    ----------
    name : {"sp500", "nasdaq"}
        Which dataset (see the module docstring). ``"sp500"`` is the package's default data.
    column : str, optional
        Column of the OHLCV frame; default ``"Adj Close"``.
    fill : {"ffill", None, "keep"}
        Exchange-holiday policy; default ``"ffill"`` (see the module docstring and
        :func:`convexforecast.data.check_prices`).

    Returns
    -------
    pandas.Series
        Float64 prices named ``name`` with a ``"Date"`` index (freq ``"B"`` with the default
        ``fill``); ``attrs`` holds ``dataset``, ``column``, ``source`` and ``n_filled``.
    """
    check_option("name", name, DATASETS)
    check_option("fill", fill, FILL_OPTIONS)
    dataset = DATASETS[name]
    frame = dataset.loader()
    chosen = select_column(frame, dataset.default_column if column is None else column,
                            f"dataset {name!r}")
    series = pd.Series(frame[chosen].astype("float64"), name=name)
    out = check_prices(series, name=name, fill=fill, positive=chosen.lower() != "volume")
    out.attrs.update({"dataset": name, "column": chosen, "source": dataset.description})
    out.attrs.setdefault("n_filled", 0)
    return out
