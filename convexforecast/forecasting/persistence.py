"""Save and load fitted forecasters in a versioned, checksummed, non-pickle format.

Layout (a directory, or the same two files in a ``.zip`` archive)::

    forecaster.json   {"format": "convexforecast.forecaster", "format_version": 2,
                       "library_version": ..., "class": "ConvexARForecaster",
                       "params": {...}, "state": {...}, "checksum": "<sha256>"}
    arrays.npz        numeric arrays of the fitted state (loaded with allow_pickle=False)

Only the forecaster classes of :data:`FORECASTERS` can be loaded; nothing in the file is
imported or executed, so loading an untrusted file cannot run code (unlike pickle).
Convex models are stored as their selected features (:meth:`Feature.describe`), coefficients
and intercept; ARIMA as its parameters and the (differenced, scaled) history that statsmodels
re-filters with those parameters; Adam networks as their chain weights and biases.

Files are written atomically (temporary file, fsync, rename; ``arrays.npz`` before
``forecaster.json``). :func:`load` verifies, before anything forecasts:

* the format name and version, and the class;
* the SHA-256 ``checksum`` over the JSON document and the arrays (any edit or corruption is
  detected);
* sizes: no member above :data:`MAX_MEMBER_BYTES`, so a compressed "bomb" is refused before
  it is inflated;
* the state itself: finite values, positive scales, parameters consistent with the state
  (e.g. a window as long as the model's lags and transform need).

Every failure raises :class:`ModelFileError` (a ValueError) naming the file and the reason;
a missing path raises FileNotFoundError.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._artefacts import atomic_write, library_version, sha256
from .._validation import short_repr
from .arima import ARIMAForecaster
from .base import BaseForecaster
from .baselines import DriftForecaster, LinearARForecaster, NaiveForecaster
from .convex import ConvexARForecaster
from .neural import AdamNetForecaster

__all__ = ["FORECASTERS", "FORMAT_VERSION", "MAX_MEMBER_BYTES", "ModelFileError", "load", "save"]

#: Version written by :func:`save`; :func:`load` accepts exactly the versions it knows.
FORMAT_VERSION = 2
_SUPPORTED_VERSIONS = (2,)
_FORMAT_NAME = "convexforecast.forecaster"
_JSON_NAME = "forecaster.json"
_ARRAYS_NAME = "arrays.npz"
#: Largest file or archive member :func:`load` reads (uncompressed bytes).
MAX_MEMBER_BYTES = 256 * 2**20

#: Forecaster classes :func:`load` can rebuild, by class name.
FORECASTERS: dict[str, type[BaseForecaster]] = {
    cls.__name__: cls
    for cls in (ConvexARForecaster, AdamNetForecaster, ARIMAForecaster, LinearARForecaster,
                NaiveForecaster, DriftForecaster)
}


class ModelFileError(ValueError):
    """A saved forecaster cannot be loaded; the message names the file and the reason."""


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
    raise TypeError(f"Cannot store a parameter of type {type(value).__name__}: {short_repr(value)}.")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__tuple__"}:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _checksum(document: dict[str, Any], arrays: bytes) -> str:
    body = {k: v for k, v in document.items() if k != "checksum"}
    return sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode() + arrays)


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
    buffer = io.BytesIO()
    np.savez(buffer, **{key: np.asarray(value) for key, value in arrays.items()})
    raw = buffer.getvalue()
    document = {
        "format": _FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": library_version(),
        "class": name,
        "params": _encode(forecaster.get_params(deep=False)),
        "state": _encode(meta),
    }
    document["checksum"] = _checksum(document, raw)
    text = json.dumps(document, indent=1, allow_nan=False).encode()
    path = Path(path)
    if path.suffix == ".zip":
        path.parent.mkdir(parents=True, exist_ok=True)
        archive_bytes = io.BytesIO()
        with zipfile.ZipFile(archive_bytes, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_JSON_NAME, text)
            archive.writestr(_ARRAYS_NAME, raw)
        atomic_write(path, archive_bytes.getvalue())
    else:
        path.mkdir(parents=True, exist_ok=True)
        atomic_write(path / _ARRAYS_NAME, raw)
        atomic_write(path / _JSON_NAME, text)
    return path


def _read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """One archive member, refusing members larger than MAX_MEMBER_BYTES before inflating."""
    info = archive.getinfo(name)
    if info.file_size > MAX_MEMBER_BYTES:
        raise ValueError(f"member {name!r} would inflate to {info.file_size} bytes, more than "
                         f"the {MAX_MEMBER_BYTES} allowed")
    with archive.open(info) as stream:
        data = stream.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise ValueError(f"member {name!r} is larger than the {MAX_MEMBER_BYTES} bytes allowed")
    return data


def _read_file(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_MEMBER_BYTES:
        raise ValueError(f"{path.name} has {size} bytes, more than the {MAX_MEMBER_BYTES} "
                         "allowed")
    return path.read_bytes()


def _read_arrays(raw: bytes) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(io.BytesIO(raw)) as inner:
        total = sum(info.file_size for info in inner.infolist())
        if total > MAX_MEMBER_BYTES:
            raise ValueError(f"{_ARRAYS_NAME} would inflate to {total} bytes, more than the "
                             f"{MAX_MEMBER_BYTES} allowed")
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def load(path: str | Path) -> BaseForecaster:
    """Read a forecaster written by :func:`save`; it forecasts exactly like the saved one.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFileError
        For anything else that prevents an exact reload (see the module docstring); the
        message names the file and the reason.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"`path` does not exist. Got {str(path)!r}.")
    try:
        return _load(path)
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is reported the same way
        reason = str(exc) or type(exc).__name__
        raise ModelFileError(f"Cannot load the forecaster saved at {str(path)!r}: {reason}"
                             f" ({type(exc).__name__}).") from exc


def _load(path: Path) -> BaseForecaster:
    if path.is_dir():
        text = _read_file(path / _JSON_NAME)
        raw = _read_file(path / _ARRAYS_NAME)
    else:
        with zipfile.ZipFile(path) as archive:
            text = _read_member(archive, _JSON_NAME)
            raw = _read_member(archive, _ARRAYS_NAME)
    document = json.loads(text)
    if not isinstance(document, dict) or document.get("format") != _FORMAT_NAME:
        raise ModelFileError(f"`path` is not a saved convexforecast forecaster. Got "
                             f"{str(path)!r}.")
    version = document.get("format_version")
    if type(version) is not int or version not in _SUPPORTED_VERSIONS:
        raise ModelFileError(
            f"`format_version` {short_repr(version)} of {str(path)!r} is not supported by "
            f"convexforecast {library_version()} (supported: {list(_SUPPORTED_VERSIONS)}); "
            "upgrade convexforecast to read it, or refit and save the model again."
        )
    name = document.get("class")
    if not isinstance(name, str) or name not in FORECASTERS:
        raise ModelFileError(f"`class` must be one of {sorted(FORECASTERS)}. Got {short_repr(name)} "
                             f"in {str(path)!r}.")
    if document.get("checksum") != _checksum(document, raw):
        raise ModelFileError(f"The checksum of {str(path)!r} does not match its content: the "
                             "file was modified or damaged after it was saved.")
    params, state = _decode(document["params"]), _decode(document["state"])
    if not isinstance(params, dict) or not isinstance(state, dict):
        raise ModelFileError(f"`params` and `state` of {str(path)!r} must be JSON objects.")
    forecaster = FORECASTERS[name](**params)
    forecaster.set_fitted_state(state, _read_arrays(raw))
    return forecaster
