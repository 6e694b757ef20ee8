"""Save and load fitted forecasters in a versioned, non-pickle format.

Layout (a directory, or the same two files in a ``.zip`` archive)::

    forecaster.json   {"format": "convexforecast.forecaster", "format_version": 1,
                       "library_version": ..., "class": "ConvexARForecaster",
                       "params": {...}, "state": {...}}
    arrays.npz        numeric arrays of the fitted state (loaded with allow_pickle=False)

Only the forecaster classes of :data:`FORECASTERS` can be loaded; nothing in the file is
imported or executed, so loading an untrusted file cannot run code (unlike pickle).
Convex models are stored as their selected features (:meth:`Feature.describe`), coefficients
and intercept; ARIMA as its parameters and the (differenced, scaled) history that statsmodels
re-filters with those parameters; Adam networks as their chain weights and biases.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .._validation import _short
from .arima import ARIMAForecaster
from .base import BaseForecaster
from .baselines import DriftForecaster, LinearARForecaster, NaiveForecaster
from .convex import ConvexARForecaster
from .neural import AdamNetForecaster

__all__ = ["FORMAT_VERSION", "FORECASTERS", "save", "load"]

#: Version written by :func:`save`; :func:`load` accepts exactly the versions it knows.
FORMAT_VERSION = 1
_SUPPORTED_VERSIONS = (1,)
_FORMAT_NAME = "convexforecast.forecaster"
_JSON_NAME = "forecaster.json"
_ARRAYS_NAME = "arrays.npz"

#: Forecaster classes :func:`load` can rebuild, by class name.
FORECASTERS: dict[str, type[BaseForecaster]] = {
    cls.__name__: cls
    for cls in (ConvexARForecaster, AdamNetForecaster, ARIMAForecaster, LinearARForecaster,
                NaiveForecaster, DriftForecaster)
}


def _encode(value: Any) -> Any:
    """JSON-encode parameter values, keeping tuples distinguishable from lists."""
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise TypeError(f"Cannot store a parameter of type {type(value).__name__}: {_short(value)}.")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def save(forecaster: BaseForecaster, path: str | Path) -> Path:
    """Write a fitted forecaster to ``path``.

    Parameters
    ----------
    forecaster : BaseForecaster
        A fitted forecaster of one of the classes in :data:`FORECASTERS`.
    path : str or Path
        A directory (created if needed), or a file name ending in ``.zip``.

    Returns
    -------
    Path
        ``path``.
    """
    name = type(forecaster).__name__
    if FORECASTERS.get(name) is not type(forecaster):
        raise TypeError(f"`forecaster` must be one of {sorted(FORECASTERS)}. Got {name}.")
    meta, arrays = forecaster.get_fitted_state()
    document = {
        "format": _FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "class": name,
        "params": _encode(forecaster.get_params(deep=False)),
        "state": _encode(meta),
    }
    text = json.dumps(document, indent=1, allow_nan=False)
    buffer = io.BytesIO()
    np.savez(buffer, **{key: np.asarray(value) for key, value in arrays.items()})
    path = Path(path)
    if path.suffix == ".zip":
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_JSON_NAME, text)
            archive.writestr(_ARRAYS_NAME, buffer.getvalue())
    else:
        path.mkdir(parents=True, exist_ok=True)
        (path / _JSON_NAME).write_text(text, encoding="utf-8")
        (path / _ARRAYS_NAME).write_bytes(buffer.getvalue())
    return path


def load(path: str | Path) -> BaseForecaster:
    """Read a forecaster written by :func:`save`; it forecasts exactly like the saved one.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a convexforecast forecaster, its ``format_version`` is unknown or
        its class is not one of :data:`FORECASTERS`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"`path` does not exist. Got {str(path)!r}.")
    if path.is_dir():
        text = (path / _JSON_NAME).read_text(encoding="utf-8")
        raw = (path / _ARRAYS_NAME).read_bytes()
    else:
        with zipfile.ZipFile(path) as archive:
            text = archive.read(_JSON_NAME).decode("utf-8")
            raw = archive.read(_ARRAYS_NAME)
    document = json.loads(text)
    if not isinstance(document, dict) or document.get("format") != _FORMAT_NAME:
        raise ValueError(f"`path` is not a saved convexforecast forecaster. Got {str(path)!r}.")
    version = document.get("format_version")
    if version not in _SUPPORTED_VERSIONS:
        raise ValueError(
            f"`format_version` {version!r} of {str(path)!r} is not supported by convexforecast "
            f"{__version__} (supported: {list(_SUPPORTED_VERSIONS)}); upgrade convexforecast "
            "to read it."
        )
    name = document.get("class")
    if name not in FORECASTERS:
        raise ValueError(f"`class` must be one of {sorted(FORECASTERS)}. Got {_short(name)}.")
    forecaster = FORECASTERS[name](**_decode(document["params"]))
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    forecaster.set_fitted_state(_decode(document["state"]), arrays)
    return forecaster
