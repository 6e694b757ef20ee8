"""Files the library writes: atomic writes, checksums, the library version and one warning.

Every artefact (backtest checkpoint blocks and their configuration, price-cache CSVs and
their metadata, saved forecasters) is written by :func:`atomic_write`: into a temporary file
in the target's directory, flushed and fsynced, renamed over the target, and the directory
fsynced. A crash therefore leaves the old file or the new one, never a torn one. Each
artefact also records :func:`library_version` and a SHA-256 checksum (:func:`sha256`) that its
reader verifies; what is found corrupt is recomputed or re-downloaded with a
:class:`CorruptFileWarning` naming the file, or refused with the artefact's own error class.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import tempfile
from pathlib import Path

__all__ = ["CorruptFileWarning", "atomic_write", "library_version", "sha256"]


class CorruptFileWarning(RuntimeWarning):
    """A file the library wrote was unreadable or inconsistent; it is recomputed or
    re-downloaded (the message names the file and the reason)."""


def library_version() -> str:
    """The installed convexforecast version (``"0+unknown"`` when run from a bare source tree)."""
    try:
        return importlib.metadata.version("convexforecast")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def sha256(data: bytes) -> str:
    """Hex SHA-256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably (temp file, fsync, rename, fsync dir)."""
    path = Path(path)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        directory = os.open(path.parent, os.O_RDONLY)
    except OSError:  # platforms without directory handles (Windows)
        return
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)
