"""Reading CSV files so that every float comes back bit for bit, on pandas 2 and 3.

pandas 3 parses floats exactly by default and deprecates ``float_precision``; pandas 2's
default parser can be one ulp off, so there ``float_precision="round_trip"`` is needed.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

__all__ = ["read_csv_exact"]

_PANDAS_MAJOR = int(pd.__version__.split(".", 1)[0])
_EXACT = {} if _PANDAS_MAJOR >= 3 else {"float_precision": "round_trip"}


def read_csv_exact(path: str | os.PathLike[str], **kwargs: Any) -> pd.DataFrame:
    """:func:`pandas.read_csv` with exact (round-trip) float parsing on every pandas major."""
    return pd.read_csv(path, **kwargs, **_EXACT)
