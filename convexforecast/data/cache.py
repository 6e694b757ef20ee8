"""On-disk cache of downloaded price bars.

One ticker and bar interval is stored as two files under ``<cache dir>/prices/``:

``<KEY>.csv``
    The final (completed) bars in Yahoo's flat layout: a ``Date`` index and the columns
    ``Open, High, Low, Close, Adj Close, Volume`` (whatever the download returned).
``<KEY>.json``
    Metadata: format version, library version, ticker, interval, download time (UTC), the
    window the stored bars cover (``covered_from``, inclusive, ``null`` for "the whole
    history", and ``covered_until``, exclusive: the end of the last final bar), the number of
    rows and the SHA-256 of the CSV file.

The cache directory is, in order of precedence: the ``cache_dir`` argument, the
``CONVEXFORECAST_CACHE_DIR`` environment variable, then the platform's user cache
directory (``platformdirs.user_cache_dir("convexforecast")``, e.g.
``~/.cache/convexforecast`` on Linux).

Both files are written atomically (temporary file, fsync, rename), the CSV first. On read the
CSV must match the checksum and row count of its metadata and parse into what the metadata
describes; an entry that does not (truncated, bit-flipped, empty, a metadata file of the wrong
JSON type, one file missing) is reported with a
:class:`~convexforecast._artefacts.CorruptFileWarning` naming the file and the reason, and
treated as absent, so the data are downloaded again. Entries written by format 1 (before
checksums) are verified by their row count only; they are used as an offline fallback but
re-downloaded whenever the network allows.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import platformdirs

from .._artefacts import CorruptFileWarning, atomic_write, library_version, sha256
from .._validation import short_repr
from ._csv import read_csv_exact

__all__ = [
    "CACHE_ENV_VAR",
    "CacheEntry",
    "cache_key",
    "clear_cache",
    "get_cache_dir",
    "read_cache",
    "write_cache",
]

CACHE_ENV_VAR = "CONVEXFORECAST_CACHE_DIR"
FORMAT_VERSION = 2
_LEGACY_VERSION = 1  # no checksum: verified by its row count only
_UNSAFE = re.compile(r"[^A-Za-z0-9._^=-]")


def get_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the cache root directory (not created).

    Parameters
    ----------
    cache_dir : path-like, optional
        Explicit directory. When omitted, ``$CONVEXFORECAST_CACHE_DIR`` is used if set and
        non-empty, else ``platformdirs.user_cache_dir("convexforecast")``.
    """
    if cache_dir is not None:
        if not isinstance(cache_dir, str | os.PathLike):
            raise TypeError(f"`cache_dir` must be a path. Got {type(cache_dir).__name__}.")
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("convexforecast"))


def cache_key(ticker: str, interval: str) -> str:
    """File-name stem for a ticker and interval, e.g. ``"BTC-USD__1d"``.

    Tickers are upper-cased (Yahoo symbols are case-insensitive) and characters outside
    ``A-Z a-z 0-9 . _ ^ = -`` are replaced by ``_``.
    """
    return f"{_UNSAFE.sub('_', ticker.strip().upper())}__{_UNSAFE.sub('_', interval)}"


@dataclass(frozen=True)
class CacheEntry:
    """A cached frame of final bars and the window it covers.

    Attributes
    ----------
    frame : pandas.DataFrame
        Flat OHLCV columns indexed by a DatetimeIndex named like the download's index.
    covered_from : pandas.Timestamp or None
        First requested date the download covered (inclusive); ``None`` = whole history.
    covered_until : pandas.Timestamp
        End (exclusive) of the last final bar stored.
    downloaded_at : pandas.Timestamp
        UTC time of the most recent download merged into the entry.
    verified : bool
        Whether the file matched a checksum (False for format-1 entries, which are never
        trusted to cover a request, only used when a download fails).
    """

    frame: pd.DataFrame
    covered_from: pd.Timestamp | None
    covered_until: pd.Timestamp
    downloaded_at: pd.Timestamp
    verified: bool = True

    def covers(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> bool:
        """True when the request ``[start, end)`` lies inside the verified covered window."""
        if not self.verified or end is None or end > _naive(self.covered_until):
            return False
        if self.covered_from is None:
            return True
        return start is not None and start >= _naive(self.covered_from)


def _naive(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_convert("UTC").tz_localize(None) if ts.tz is not None else ts


def _paths(root: Path, ticker: str, interval: str) -> tuple[Path, Path]:
    stem = cache_key(ticker, interval)
    folder = root / "prices"
    return folder / f"{stem}.csv", folder / f"{stem}.json"


def read_cache(
    ticker: str, interval: str, cache_dir: str | os.PathLike[str] | None = None
) -> CacheEntry | None:
    """Return the cached entry for ``ticker``/``interval``, or None when absent or damaged.

    A damaged entry is reported with a :class:`CorruptFileWarning` naming the file and the
    reason (see the module docstring) and treated as absent.
    """
    csv_path, meta_path = _paths(get_cache_dir(cache_dir), ticker, interval)
    if not (csv_path.exists() or meta_path.exists()):
        return None
    try:
        return _load_entry(csv_path, meta_path)
    except _Unusable as exc:
        warnings.warn(f"Price cache entry {str(exc.path)!r} is unusable ({exc.reason}); "
                      "downloading the data again.", CorruptFileWarning, stacklevel=3)
        return None


class _Unusable(Exception):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = path, reason


def _load_entry(csv_path: Path, meta_path: Path) -> CacheEntry:
    """Read and verify one entry; raise :class:`_Unusable` naming the file at fault."""
    for path in (meta_path, csv_path):
        if not path.is_file():
            raise _Unusable(path, "the file is missing")
    try:
        meta = json.loads(meta_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise _Unusable(meta_path, f"{type(exc).__name__}: {exc}") from None
    if not isinstance(meta, dict):
        raise _Unusable(meta_path, f"it holds a JSON {type(meta).__name__}, not an object")
    version = meta.get("format_version")
    if type(version) is not int or version not in (FORMAT_VERSION, _LEGACY_VERSION):
        raise _Unusable(meta_path, f"unknown format_version {short_repr(version)}")
    expected = {"rows": int, "covered_until": str, "downloaded_at": str,
                **({"sha256": str} if version == FORMAT_VERSION else {})}
    for key, kind in expected.items():
        if type(meta.get(key)) is not kind:
            raise _Unusable(meta_path, f"`{key}` is {short_repr(meta.get(key))}, not a {kind.__name__}")
    if not isinstance(meta.get("covered_from"), str | None):
        raise _Unusable(meta_path, f"`covered_from` is {short_repr(meta.get('covered_from'))}")
    data = csv_path.read_bytes()
    if version == FORMAT_VERSION and meta.get("sha256") != sha256(data):
        raise _Unusable(csv_path, "its SHA-256 does not match the metadata (truncated or "
                                  "modified)")
    try:
        frame = read_csv_exact(csv_path, index_col=0)
        index = pd.to_datetime(frame.index, utc=bool(meta.get("tz_aware")))
        if meta.get("tz"):
            index = index.tz_convert(meta["tz"])
        frame.index = pd.DatetimeIndex(index, name=meta.get("index_name", "Date"))
        frame = frame.astype("float64")
        covered_from = meta["covered_from"]
        entry = CacheEntry(
            frame=frame,
            covered_from=None if covered_from is None else pd.Timestamp(covered_from),
            covered_until=pd.Timestamp(meta["covered_until"]),
            downloaded_at=pd.Timestamp(meta["downloaded_at"]),
            verified=version == FORMAT_VERSION,
        )
    except Exception as exc:  # noqa: BLE001 - any parse failure makes the entry unusable
        raise _Unusable(csv_path, f"{type(exc).__name__}: {exc}") from None
    if meta["rows"] != len(frame) or frame.empty:
        raise _Unusable(csv_path, f"it has {len(frame)} rows where the metadata records "
                                  f"{meta['rows']}")
    return entry


def write_cache(
    ticker: str,
    interval: str,
    frame: pd.DataFrame,
    *,
    covered_from: pd.Timestamp | None,
    covered_until: pd.Timestamp,
    cache_dir: str | os.PathLike[str] | None = None,
) -> CacheEntry:
    """Merge ``frame`` (final bars only) into the cache and return the stored entry.

    If the existing entry's window overlaps or touches ``[covered_from, covered_until)``,
    the two are merged (new rows win on the dates they share). Otherwise the new frame
    replaces the entry, so the stored window never has a hole.
    """
    root = get_cache_dir(cache_dir)
    csv_path, meta_path = _paths(root, ticker, interval)
    try:  # a damaged old entry is simply replaced
        old = _load_entry(csv_path, meta_path) if csv_path.exists() else None
    except _Unusable:
        old = None
    merged, start, until = frame, covered_from, covered_until
    if old is not None and _touches(old, covered_from, covered_until):
        merged = pd.concat([old.frame.loc[~old.frame.index.isin(frame.index)], frame]).sort_index()
        merged = merged[frame.columns.union(old.frame.columns, sort=False)]
        start = None if old.covered_from is None or covered_from is None else min(
            _naive(old.covered_from), _naive(covered_from)
        )
        until = max(_naive(old.covered_until), _naive(covered_until))
    now = pd.Timestamp.now(tz="UTC")
    index = merged.index
    data = merged.to_csv(date_format="%Y-%m-%dT%H:%M:%S%z" if index.tz else None).encode()
    meta: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "library_version": library_version(),
        "ticker": ticker,
        "interval": interval,
        "downloaded_at": now.isoformat(),
        "covered_from": None if start is None else _naive(start).isoformat(),
        "covered_until": _naive(until).isoformat(),
        "index_name": index.name or "Date",
        "tz_aware": index.tz is not None,
        "tz": None if index.tz is None else str(index.tz),
        "rows": int(len(merged)),
        "sha256": sha256(data),
    }
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(csv_path, data)
    atomic_write(meta_path, json.dumps(meta, indent=2).encode())
    return CacheEntry(
        frame=merged.astype("float64"),
        covered_from=None if start is None else _naive(start),
        covered_until=_naive(until),
        downloaded_at=now,
    )


def _touches(old: CacheEntry, start: pd.Timestamp | None, until: pd.Timestamp) -> bool:
    old_start = None if old.covered_from is None else _naive(old.covered_from)
    new_start = None if start is None else _naive(start)
    starts_before_old_end = new_start is None or new_start <= _naive(old.covered_until)
    ends_after_old_start = old_start is None or _naive(until) >= old_start
    return starts_before_old_end and ends_after_old_start


def clear_cache(
    ticker: str | None = None,
    interval: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> int:
    """Delete cached price files; return how many entries were removed.

    Parameters
    ----------
    ticker : str, optional
        Only this ticker (all intervals unless ``interval`` is given). Default: everything.
    interval : str, optional
        Only this interval.
    cache_dir : path-like, optional
        Cache root (see :func:`get_cache_dir`).
    """
    folder = get_cache_dir(cache_dir) / "prices"
    if not folder.is_dir():
        return 0
    prefix = "" if ticker is None else _UNSAFE.sub("_", ticker.strip().upper()) + "__"
    removed = 0
    for meta_path in sorted(folder.glob("*.json")):
        stem = meta_path.stem
        if not stem.startswith(prefix):
            continue
        if interval is not None and not stem.endswith(f"__{_UNSAFE.sub('_', interval)}"):
            continue
        meta_path.unlink(missing_ok=True)
        meta_path.with_suffix(".csv").unlink(missing_ok=True)
        removed += 1
    return removed
