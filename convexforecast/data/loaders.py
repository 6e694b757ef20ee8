"""Price loaders: Yahoo Finance through yfinance (with an on-disk cache) and Yahoo-format CSVs.

Every loader returns a float64 :class:`pandas.Series` indexed by a named, sorted, unique
:class:`~pandas.DatetimeIndex`, with ``index.freq`` set whenever the dates form a regular
grid. Data problems raise a named subclass of :class:`DataError` (itself a
:class:`ValueError`), never pass silently:

========================  ==============================================================
error                     raised when
========================  ==============================================================
DataUnavailableError      yfinance returned nothing (offline, unknown ticker, empty window)
                          and no cached copy covers the request
DuplicateDatesError       a timestamp occurs twice
UnsortedDatesError        timestamps are not increasing
MissingValuesError        a price is NaN (and ``fill`` is not ``"ffill"``)
MissingDatesError         dates are missing from the series' grid (and ``fill`` is None)
NonPositivePriceError     a price is <= 0 (log returns would be undefined)
========================  ==============================================================

Missing dates are judged against the grid inferred from the data: daily bars with any
Saturday or Sunday use the calendar-day grid ``"D"`` (crypto), daily bars on weekdays only
use the business-day grid ``"B"`` (so exchange holidays count as missing), weekly bars use
``"W-<day>"``, and any other spacing a frequency :func:`pandas.infer_freq` recognises.
Intraday bars (trading sessions with overnight gaps) have no such grid: they are returned
as observed and ``index.freq`` is set only if :func:`pandas.infer_freq` finds one.

``fill`` chooses what happens to missing dates and NaN prices:

- ``None`` (default): raise :class:`MissingDatesError` / :class:`MissingValuesError`;
- ``"ffill"``: put the series on its grid and carry the last price forward over missing
  dates and NaNs (``series.attrs["n_filled"]`` counts the filled points; leading NaNs
  cannot be filled and still raise);
- ``"keep"``: keep only the observed dates (the index then has no regular frequency);
  NaN prices still raise.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._index import first_decrease, infer_offset, modal_step, same_labels
from .._validation import check_bool, check_option, short_repr
from ._csv import read_csv_exact
from .cache import read_cache, write_cache

__all__ = [
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
    "load_csv",
    "load_exog",
    "combine_series",
    "csv_layout",
    "load_prices",
    "select_column",
]

INTERVALS = ("1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "1d", "5d", "1wk", "1mo", "3mo")
FILL_OPTIONS = (None, "ffill", "keep")
_PRICE_FIELDS = ("Open", "High", "Low", "Close", "Adj Close", "Volume")
_BAR_LENGTH: dict[str, pd.DateOffset | pd.Timedelta] = {
    "1m": pd.Timedelta(minutes=1), "2m": pd.Timedelta(minutes=2), "5m": pd.Timedelta(minutes=5),
    "15m": pd.Timedelta(minutes=15), "30m": pd.Timedelta(minutes=30),
    "60m": pd.Timedelta(hours=1), "90m": pd.Timedelta(minutes=90), "1h": pd.Timedelta(hours=1),
    "1d": pd.Timedelta(days=1), "5d": pd.Timedelta(days=5), "1wk": pd.Timedelta(days=7),
    "1mo": pd.DateOffset(months=1), "3mo": pd.DateOffset(months=3),
}
_HISTORICAL_MARGIN = pd.Timedelta(days=2)


# ----------------------------------------------------------------------------- errors
class DataError(ValueError):
    """Base class of the data-layer errors (a ValueError: the input data are unusable)."""


class DataUnavailableError(DataError):
    """No data could be obtained for a ticker (offline, unknown ticker or empty window).

    Attributes
    ----------
    ticker : str
        The requested ticker.
    reason : str
        What yfinance reported (its logged error), or a description of the empty result.
    """

    def __init__(self, ticker: str, reason: str) -> None:
        self.ticker = ticker
        self.reason = reason
        super().__init__(
            f"No price data available for ticker `{ticker}`: {reason}. Check the symbol and "
            "the network connection; previously downloaded data are used automatically when "
            "cached."
        )


class DuplicateDatesError(DataError):
    """A timestamp occurs more than once."""


class UnsortedDatesError(DataError):
    """Timestamps are not in increasing order."""


class MissingValuesError(DataError):
    """A price is NaN (or infinite)."""


class MissingDatesError(DataError):
    """Dates are missing from the series' regular grid."""


class NonPositivePriceError(DataError):
    """A price is zero or negative (log prices and log returns are undefined)."""


class PartialBarWarning(UserWarning):
    """The last bar was still in progress when downloaded (dropped unless asked for)."""


class CachedDataWarning(UserWarning):
    """The download failed and a cached copy was returned instead."""


# ------------------------------------------------------------------------ validation
def check_prices(
    series: pd.Series,
    *,
    name: str | None = None,
    fill: str | None = None,
    positive: bool = True,
) -> pd.Series:
    """Validate a price series and return a clean float64 copy with ``index.freq`` set.

    Parameters
    ----------
    series : pandas.Series
        Values indexed by a DatetimeIndex. Never modified.
    name : str, optional
        How to refer to the series in error messages (default: ``series.name``).
    fill : {None, "ffill", "keep"}
        Missing dates and NaN handling (see the module docstring).
    positive : bool
        Require every value to be > 0 (prices). Set False for series that may be <= 0.

    Returns
    -------
    pandas.Series
        Float64 copy, named like ``series``, index named (``"Date"`` when unnamed).

    Raises
    ------
    DuplicateDatesError, UnsortedDatesError, MissingValuesError, MissingDatesError,
    NonPositivePriceError
        See the module docstring.
    """
    if not isinstance(series, pd.Series):
        raise TypeError(f"`series` must be a pandas Series. Got {type(series).__name__}.")
    fill = check_option("fill", fill, FILL_OPTIONS)
    label = f"`{name if name is not None else series.name}`"
    index = series.index
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(f"{label} must be indexed by dates (DatetimeIndex). Got "
                        f"{type(index).__name__}.")
    if len(index) == 0:
        raise DataError(f"{label} must hold at least one price. Got an empty series.")
    if index.hasnans:
        pos = int(np.flatnonzero(index.isna())[0])
        raise DataError(f"{label} has a missing date (NaT) at row {pos}.")
    if not index.is_unique:
        dups = index[index.duplicated()].unique()
        raise DuplicateDatesError(
            f"{label} has {len(dups)} duplicated date(s), first {_day(dups[0])}. Remove the "
            "duplicates (e.g. `series[~series.index.duplicated(keep='last')]`)."
        )
    if not index.is_monotonic_increasing:
        pos = first_decrease(index)
        raise UnsortedDatesError(
            f"{label} dates are not sorted: {_day(index[pos])} comes after "
            f"{_day(index[pos - 1])}. Sort them first (`series.sort_index()`)."
        )
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise DataError(f"{label} must hold numbers. Got dtype {series.dtype}.")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    if np.isinf(values).any():
        pos = int(np.flatnonzero(np.isinf(values))[0])
        raise MissingValuesError(f"{label} has an infinite value at {_day(index[pos])}.")
    out = pd.Series(values, index=index.copy(), name=series.name)
    out.index.name = index.name or "Date"
    grid = _infer_grid(out.index)
    if fill == "ffill":
        if grid is not None:
            out = out.reindex(pd.date_range(out.index[0], out.index[-1], freq=grid,
                                            name=out.index.name))
        n_filled = int(out.isna().sum())
        if np.isnan(out.iloc[0]):
            raise MissingValuesError(
                f"{label} starts with NaN at {_day(out.index[0])}; there is no earlier value "
                "to carry forward. Drop the leading rows first."
            )
        out = out.ffill()
        out.attrs["n_filled"] = int(n_filled)
    else:
        if out.isna().any():
            bad = out.index[out.isna().to_numpy()]
            raise MissingValuesError(
                f"{label} has {len(bad)} NaN value(s), first at {_day(bad[0])}. Pass "
                "fill='ffill' to carry the last value forward, or clean the data."
            )
        if grid is not None and fill is None:
            full = pd.date_range(out.index[0], out.index[-1], freq=grid)
            missing = full.difference(out.index)
            if len(missing):
                hint = (" For an exchange-traded series these are usually market holidays."
                        if grid.freqstr == "B" else "")
                raise MissingDatesError(
                    f"{label} is missing {len(missing)} of {len(full)} dates on its "
                    f"{grid.freqstr!r} grid between {_day(full[0])} and {_day(full[-1])} "
                    f"(first: {', '.join(_day(t) for t in missing[:3])}).{hint} Pass "
                    "fill='ffill' to carry the last value forward over them, or fill='keep' "
                    "to keep only the observed dates (no regular frequency)."
                )
    if positive and (out <= 0).any():
        pos = int(np.flatnonzero((out <= 0).to_numpy())[0])
        raise NonPositivePriceError(
            f"{label} has a non-positive price {float(out.iloc[pos])!r} at {_day(out.index[pos])}; "
            "prices must be > 0 (log returns). Pass positive=False for series that may be <= 0."
        )
    _set_freq(out, grid)
    return out


def _day(ts: pd.Timestamp) -> str:
    ts = pd.Timestamp(ts)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()


def _infer_grid(index: pd.DatetimeIndex) -> pd.DateOffset | None:
    """The regular grid the dates live on (possibly with gaps), or None if there is none."""
    if len(index) < 2:
        return None
    if index.freq is not None:
        return index.freq
    inferred = infer_offset(index)
    if inferred is not None:
        return inferred
    if not (index == index.normalize()).all():
        return None  # intraday: sessions have no single regular grid
    step = modal_step(index)
    if step == pd.Timedelta(days=1):
        grid = pd.offsets.Day() if (index.day_of_week >= 5).any() else pd.offsets.BDay()
    elif step == pd.Timedelta(days=7):
        grid = pd.tseries.frequencies.to_offset(f"W-{index[0].day_name()[:3].upper()}")
    else:
        return None
    on_grid = index.isin(pd.date_range(index[0], index[-1], freq=grid))
    return grid if bool(on_grid.all()) else None


def _set_freq(series: pd.Series, grid: pd.DateOffset | None) -> None:
    index = series.index
    if grid is not None and len(index) >= 2:
        expected = pd.date_range(index[0], periods=len(index), freq=grid)
        if same_labels(index, expected):
            series.index = pd.DatetimeIndex(index, freq=grid, name=index.name)
            return
    inferred = infer_offset(index)
    if inferred is not None:
        series.index = pd.DatetimeIndex(index, freq=inferred, name=index.name)


# ---------------------------------------------------------------------- frame layout
def _flatten_columns(frame: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Return a flat-column copy of a yfinance frame (either layout).

    yfinance returns flat columns with ``multi_level_index=False`` and a two-level
    (Price, Ticker) MultiIndex otherwise (older versions ignore the flag). The level
    holding the price fields is found by name or content, and the ticker is selected on
    the other level.
    """
    if not isinstance(frame.columns, pd.MultiIndex):
        return frame.copy()
    if frame.columns.nlevels != 2:
        raise DataError(f"Unexpected yfinance column layout for `{ticker}`: "
                        f"{frame.columns.nlevels} column levels.")
    levels = [list(frame.columns.get_level_values(i)) for i in range(2)]
    names = list(frame.columns.names)
    if "Price" in names:
        price_level = names.index("Price")
    else:
        price_level = int(np.argmax([sum(v in _PRICE_FIELDS for v in lv) for lv in levels]))
    ticker_level = 1 - price_level
    tickers = list(dict.fromkeys(levels[ticker_level]))
    match = [t for t in tickers if str(t).upper() == ticker.upper()]
    if match:
        chosen = match[0]
    elif len(tickers) == 1:
        chosen = tickers[0]
    else:
        raise DataError(f"yfinance returned tickers {tickers} but not `{ticker}`.")
    flat = frame.xs(chosen, axis=1, level=ticker_level).copy()
    flat.columns = pd.Index([str(c) for c in flat.columns])
    return flat


def select_column(frame: pd.DataFrame, column: str, source: str) -> str:
    """The frame's column named ``column`` (case-insensitive; 'Adj Close' falls back to
    'Close' with a warning for auto-adjusted layouts); ``source`` names the data in errors."""
    if not isinstance(column, str):
        raise TypeError(f"`column` must be a string. Got {type(column).__name__}.")
    if column in frame.columns:
        return column
    folded = {str(c).lower(): c for c in frame.columns}
    if column.lower() in folded:
        return folded[column.lower()]
    if column.lower() == "adj close" and "close" in folded:
        warnings.warn(
            f"{source} has no 'Adj Close' column (yfinance's auto_adjust=True layout, whose "
            "'Close' is already adjusted for splits and dividends); using 'Close'.",
            UserWarning, stacklevel=3,
        )
        return folded["close"]
    raise ValueError(
        f"`column` must be one of {[str(c) for c in frame.columns]} for {source}. "
        f"Got {short_repr(column)}."
    )


# --------------------------------------------------------------------------- yfinance
def _utcnow() -> pd.Timestamp:
    """Current UTC time as a naive Timestamp (a function so tests can fix the clock)."""
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


def _as_utc_naive(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_convert("UTC").tz_localize(None) if ts.tz is not None else ts


def _parse_date(name: str, value: Any) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a date such as '2020-01-31'. Got "
                         f"{short_repr(value)}.") from None
    if ts is pd.NaT:
        raise ValueError(f"`{name}` must be a date such as '2020-01-31'. Got {short_repr(value)}.")
    return _as_utc_naive(ts)


class _LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = " ".join(record.getMessage().split())
        if text and not text.lower().endswith("failed download:"):
            self.messages.append(text)


@contextmanager
def _capture_yfinance_log() -> Iterator[_LogCapture]:
    """Collect what yfinance logs (its only error channel) while still propagating it."""
    logger = logging.getLogger("yfinance")
    handler = _LogCapture()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _download(ticker: str, start: pd.Timestamp | None, end: pd.Timestamp | None,
              interval: str) -> tuple[pd.DataFrame | None, str]:
    """Call ``yfinance.download``; return (frame or None, reason when empty)."""
    import yfinance as yf

    kwargs: dict[str, Any] = {"interval": interval, "auto_adjust": False, "progress": False,
                              "multi_level_index": False}
    if start is None:
        kwargs["period"] = "max"  # yfinance's default window is only one month
    else:
        kwargs["start"] = start.strftime("%Y-%m-%d")
    if end is not None:
        kwargs["end"] = end.strftime("%Y-%m-%d")
    with _capture_yfinance_log() as log:
        try:
            frame = yf.download(ticker, **kwargs)
        except Exception as exc:  # yfinance normally logs instead; be safe either way
            return None, f"yfinance raised {type(exc).__name__}: {exc}"
    if frame is None or not isinstance(frame, pd.DataFrame) or frame.empty:
        reason = log.messages[-1] if log.messages else "yfinance returned an empty frame"
        network = _network_problem()
        if network is not None:  # yfinance's own text may blame the ticker after a first failure
            reason = f"{network} (yfinance reported: {reason})"
        return None, f"{reason} (window {_window(start, end)}, interval {interval!r})"
    return frame, ""


YAHOO_HOST = "query2.finance.yahoo.com"


def _network_problem(timeout: float = 3.0) -> str | None:
    """Why Yahoo Finance cannot be reached, or None if it can (checked after a failed download)."""
    try:
        with socket.create_connection((YAHOO_HOST, 443), timeout=timeout):
            return None
    except OSError as exc:
        return f"the network is unavailable: cannot connect to {YAHOO_HOST} ({exc})"


def _window(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str:
    return f"{_day(start) if start is not None else 'first bar'} .. " \
           f"{_day(end) if end is not None else 'now'}"


def _slice(frame: pd.DataFrame, start: pd.Timestamp | None,
           end: pd.Timestamp | None) -> pd.DataFrame:
    index = frame.index
    mask = np.ones(len(frame), dtype=bool)
    naive = index.tz_convert("UTC").tz_localize(None) if index.tz is not None else index
    if start is not None:
        mask &= naive >= start
    if end is not None:
        mask &= naive < end
    return frame.loc[mask]


def _split_partial(frame: pd.DataFrame, interval: str) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """Split off the last bar when it has not closed yet (bar start + interval > now, UTC)."""
    if frame.empty:
        return frame, None
    last = _as_utc_naive(pd.Timestamp(frame.index[-1]))
    if last + _BAR_LENGTH[interval] > _utcnow():
        return frame.iloc[:-1], pd.Timestamp(frame.index[-1])
    return frame, None


def load_prices(
    ticker: str | Sequence[str],
    start: Any = None,
    end: Any = None,
    interval: str = "1d",
    column: str = "Close",
    cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    fill: str | None = None,
    include_partial: bool = False,
) -> pd.Series:
    """Download one price column for a ticker from Yahoo Finance, with an on-disk cache.

    Calls ``yfinance.download(ticker, start=..., end=..., interval=..., auto_adjust=False,
    progress=False, multi_level_index=False)`` (``period="max"`` when ``start`` is None,
    because yfinance otherwise returns one month only).

    Parameters
    ----------
    ticker : str or sequence of str
        Yahoo symbol, e.g. ``"BTC-USD"``, ``"SPY"``, ``"^GSPC"``; or several, which gives a
        wide DataFrame (see Returns).
    start, end : date-like, optional
        Window ``[start, end)`` like yfinance (``end`` exclusive). Default: the whole history.
    interval : str
        Bar length, one of :data:`INTERVALS` (default ``"1d"``).
    column : str
        ``"Close"`` (default), ``"Adj Close"``, ``"Open"``, ``"High"``, ``"Low"`` or
        ``"Volume"`` (case-insensitive). Prices must be > 0; ``Volume`` may be 0.
    cache : bool
        Read and write the on-disk cache (:mod:`convexforecast.data.cache`). A request whose
        whole window lies inside previously downloaded *final* bars is served from the cache
        without the network; otherwise the download is merged into the cache.
    cache_dir : path-like, optional
        Cache root; default ``$CONVEXFORECAST_CACHE_DIR`` or the platform user cache dir.
    fill : {None, "ffill", "keep"}
        Missing dates / NaN policy (module docstring). Daily stock data have exchange
        holidays on the business-day grid, so they need ``"ffill"`` or ``"keep"``.
    include_partial : bool
        The last bar may still be in progress (a daily bar is final once its day has ended in
        UTC; conservative for exchanges east of UTC). By default it is dropped with a
        :class:`PartialBarWarning`; with True it is kept and
        ``series.attrs["partial_last_bar"]`` is True. Partial bars are never cached.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        For several tickers: a wide frame, one column per ticker (each loaded, cached and
        validated as below, on its own grid), on the union of their dates, NaN where a ticker
        has no bar. For one ticker: float64 prices named ``ticker``, index named ``"Date"`` (``"Datetime"`` for intraday
        bars, tz-aware as yfinance returns them). ``series.attrs`` holds ``ticker``,
        ``column``, ``interval``, ``source`` (``"yfinance"`` or ``"cache"``) and
        ``partial_last_bar``.

    Raises
    ------
    DataUnavailableError
        yfinance returned an empty frame (it never raises: offline or unknown tickers are
        only logged on the ``yfinance`` logger) and no cached copy covers the window. With a
        cached copy, that copy is returned with a :class:`CachedDataWarning`. With several
        tickers, one error names every ticker that failed and why (the others are not
        returned without them).
    ValueError, TypeError
        Bad arguments; :class:`DataError` subclasses for bad data (module docstring).
    """
    if isinstance(ticker, Sequence) and not isinstance(ticker, str):
        return _load_many(list(ticker), start=start, end=end, interval=interval, column=column,
                          cache=cache, cache_dir=cache_dir, fill=fill,
                          include_partial=include_partial)
    if not isinstance(ticker, str):
        raise TypeError(f"`ticker` must be a string or a list of strings. Got "
                        f"{type(ticker).__name__}.")
    ticker = ticker.strip()
    if not ticker or any(ch.isspace() for ch in ticker):
        raise ValueError(f"`ticker` must be one non-empty symbol. Got {short_repr(ticker)}.")
    interval = check_option("interval", interval, INTERVALS)
    start_ts, end_ts = _parse_date("start", start), _parse_date("end", end)
    if start_ts is not None and end_ts is not None and start_ts >= end_ts:
        raise ValueError(f"`start` must be before `end`. Got start={_day(start_ts)}, "
                         f"end={_day(end_ts)}.")
    if not isinstance(column, str):
        raise TypeError(f"`column` must be a string. Got {type(column).__name__}.")
    cache = check_bool("cache", cache)
    include_partial = check_bool("include_partial", include_partial)
    check_option("fill", fill, FILL_OPTIONS)

    entry = read_cache(ticker, interval, cache_dir) if cache else None
    partial: pd.Timestamp | None = None
    if entry is not None and entry.covers(start_ts, end_ts):
        frame, source = entry.frame, "cache"
    else:
        raw, reason = _download(ticker, start_ts, end_ts, interval)
        if raw is None:
            cached = None if entry is None else _slice(entry.frame, start_ts, end_ts)
            if cached is None or cached.empty:
                raise DataUnavailableError(ticker, reason)
            unverified = "" if entry.verified else (
                " (written by an older convexforecast without a checksum: unverified)")
            warnings.warn(
                f"Could not download `{ticker}` ({reason}); using the cached copy downloaded "
                f"{entry.downloaded_at.strftime('%Y-%m-%d %H:%M UTC')}, last bar "
                f"{_day(cached.index[-1])}{unverified}.",
                CachedDataWarning, stacklevel=2,
            )
            frame, source = entry.frame, "cache"
        else:
            frame, source = _flatten_columns(raw, ticker), "yfinance"
            final, partial = _split_partial(frame, interval)
            if cache and not final.empty:
                write_cache(ticker, interval, final.astype("float64"), covered_from=start_ts,
                            covered_until=_covered_until(final, partial, end_ts, interval),
                            cache_dir=cache_dir)
            if partial is not None and not include_partial:
                warnings.warn(
                    f"Dropped the last bar of `{ticker}` ({_day(partial)}): it was still in "
                    "progress when downloaded. Pass include_partial=True to keep it.",
                    PartialBarWarning, stacklevel=2,
                )
                frame, partial = final, None
    frame = _slice(frame, start_ts, end_ts)
    if frame.empty:
        raise DataUnavailableError(ticker, f"no bars in the window {_window(start_ts, end_ts)}")
    name = select_column(frame, column, f"ticker `{ticker}`")
    series = pd.Series(pd.to_numeric(frame[name], errors="coerce"), name=ticker)
    series.index.name = frame.index.name or ("Date" if interval[-1] not in "mh" else "Datetime")
    out = check_prices(series, name=ticker, fill=fill, positive=name.lower() != "volume")
    out.attrs.update({"ticker": ticker, "column": name, "interval": interval, "source": source,
                      "partial_last_bar": partial is not None})
    return out


def _load_many(tickers: list[Any], **options: Any) -> pd.DataFrame:
    """:func:`load_prices` of every ticker, as one wide frame; failures named together."""
    if not tickers:
        raise ValueError("`ticker` must name at least one symbol. Got an empty list.")
    if any(not isinstance(t, str) for t in tickers):
        bad = next(t for t in tickers if not isinstance(t, str))
        raise TypeError(f"`ticker` must hold strings. Got {short_repr(bad)}.")
    names = [t.strip() for t in tickers]
    duplicated = sorted({t for t in names if names.count(t) > 1})
    if duplicated:
        raise ValueError(f"`ticker` must not repeat a symbol. Got {duplicated} more than once.")
    series, failures = {}, {}
    for name in names:
        try:
            series[name] = load_prices(name, **options)
        except DataUnavailableError as exc:
            failures[name] = exc.reason
    if failures:
        raise DataUnavailableError(", ".join(failures), "; ".join(
            f"{name}: {reason}" for name, reason in failures.items()) + (
            f" ({len(series)} of {len(names)} tickers loaded)" if series else ""))
    frame = combine_series(series)
    frame.attrs["source"] = {name: s.attrs.get("source") for name, s in series.items()}
    return frame


def _covered_until(final: pd.DataFrame, partial: pd.Timestamp | None, end: pd.Timestamp | None,
                   interval: str) -> pd.Timestamp:
    """End (exclusive) of the window the final bars of a download completely describe."""
    now = _utcnow()
    if partial is None and end is not None and end <= now - _HISTORICAL_MARGIN:
        return end
    return _as_utc_naive(pd.Timestamp(final.index[-1])) + _BAR_LENGTH[interval]


# -------------------------------------------------------------------------------- CSV
def load_csv(
    path: str | os.PathLike[str],
    column: str = "Close",
    fill: str | None = None,
    *,
    positive: bool = True,
    drop_last: bool = False,
) -> pd.Series | pd.DataFrame:
    """Load prices from a Yahoo-format CSV file, a folder of them, or one wide CSV.

    Accepted layouts of one ticker: the Yahoo web export / ``DataFrame.to_csv`` of a flat
    yfinance frame (``Date,Open,High,Low,Close,Adj Close,Volume``, in any column order, extra
    non-numeric columns such as a constant ``Ticker`` allowed), and the three-header-row CSV
    written from yfinance's (Price, Ticker) MultiIndex frame.

    Parameters
    ----------
    path : path-like
        A CSV file whose first column holds the dates; or a folder of such files, one per
        ticker (``<TICKER>.csv``); or one *wide* CSV: a date column and one numeric column per
        series (no Yahoo price fields).
    column : str
        Column to return (case-insensitive), default ``"Close"`` (ignored for wide CSVs).
    fill : {None, "ffill", "keep"}
        Missing dates / NaN policy (module docstring), applied to each series on its own grid.
    positive : bool
        Require prices > 0 (default True).
    drop_last : bool
        Drop the last row of every file. Files saved while the last bar was still trading end
        with an intraday snapshot (e.g. a BTC-USD export saved before 00:00 UTC); a CSV does
        not record when it was saved, so this cannot be detected automatically.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        One ticker: float64 values named after the file's ``Ticker`` column when it holds one
        symbol, else after ``column``; index named ``"Date"``. A folder or a wide CSV: a wide
        DataFrame, one column per series (named after its ``Ticker`` column, its file stem or
        its CSV column), on the union of the series' dates, NaN where a series has no value
        (before its listing, or on another exchange's holidays); ``attrs["n_filled"]`` per
        series.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"`path` must be a file path. Got {type(path).__name__}.")
    file = Path(path).expanduser()
    drop_last = check_bool("drop_last", drop_last)
    check_option("fill", fill, FILL_OPTIONS)
    if file.is_dir():
        files = sorted(file.glob("*.csv"))
        if not files:
            raise FileNotFoundError(f"`path` must be a CSV file or a folder of CSV files. Got "
                                    f"{str(path)!r}, a folder without any.")
        series = {}
        for one in files:
            frame, ticker = _read_yahoo_csv(one)
            y = _csv_series(frame, ticker, one, column, fill, positive, drop_last)
            name = str(y.name) if ticker is not None else one.stem
            if name in series:
                raise DataError(f"`path` {file.name!r} holds two files for {name!r} (the second "
                                f"is {one.name!r}).")
            series[name] = y.rename(name)
        return combine_series(series)
    if not file.is_file():
        raise FileNotFoundError(f"`path` must be an existing CSV file. Got {str(path)!r}.")
    frame, ticker = _read_yahoo_csv(file)
    if not any(str(c).lower() in {f.lower() for f in _PRICE_FIELDS} for c in frame.columns):
        return combine_series({str(c): _csv_series(frame[[c]], None, file, str(c), fill,
                                                   positive, drop_last).rename(str(c))
                               for c in frame.columns})
    return _csv_series(frame, ticker, file, column, fill, positive, drop_last)


def csv_layout(path: str | os.PathLike[str]) -> str:
    """``"yahoo"`` for a Yahoo-format price file (Open, High, ..., Volume), else ``"wide"``."""
    frame, _ = _read_yahoo_csv(Path(path).expanduser())
    fields = {f.lower() for f in _PRICE_FIELDS}
    return "yahoo" if any(str(c).lower() in fields for c in frame.columns) else "wide"


def load_exog(
    path: str | os.PathLike[str],
    columns: Sequence[str] | None = None,
    *,
    index: pd.DatetimeIndex,
    fill: str | None = None,
    drop_last: bool = False,
) -> pd.DataFrame:
    """Exogenous inputs from a CSV file, validated on the dates of a target series.

    Parameters
    ----------
    path : path-like
        A Yahoo-format CSV (e.g. the target's own file, for its ``Volume``; or another
        ticker's) or a wide CSV (a date column and one numeric column per series).
    columns : sequence of str, optional
        The columns to return (case-insensitive). ``None``: every column of a wide CSV
        (required for a Yahoo-format file).
    index : pandas.DatetimeIndex
        The target's dates; every column must have a value on each of them.
    fill : {None, "ffill", "keep"}
        Missing dates and NaNs of each column on its own grid, as for :func:`load_csv` (so a
        column of the target's own file is filled exactly like the target).
    drop_last : bool
        Drop the file's last row (as :func:`load_csv`).

    Returns
    -------
    pandas.DataFrame
        Float64 columns named as in the file, on ``index`` (values may be <= 0).

    Raises
    ------
    MissingDatesError
        If a column has no value on some date of ``index``.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"`path` must be a file path. Got {type(path).__name__}.")
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(f"`index` must be a DatetimeIndex. Got {type(index).__name__}.")
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"`path` must be an existing CSV file. Got {str(path)!r}.")
    check_option("fill", fill, FILL_OPTIONS)
    drop_last = check_bool("drop_last", drop_last)
    frame, ticker = _read_yahoo_csv(file)
    yahoo = any(str(c).lower() in {f.lower() for f in _PRICE_FIELDS} for c in frame.columns)
    if columns is None:
        if yahoo:
            raise ValueError(f"`columns` must name the columns to use from the Yahoo-format file "
                             f"{file.name!r} (e.g. ['Volume']). Got None.")
        columns = [str(c) for c in frame.columns]
    if isinstance(columns, str) or not columns:
        raise TypeError(f"`columns` must be a non-empty list of column names. Got "
                        f"{short_repr(columns)}.")
    out = {}
    for column in columns:
        name = select_column(frame, column, f"file {file.name!r}")
        series = _csv_series(frame[[name]] if not yahoo else frame, ticker, file, name, fill,
                             False, drop_last)
        aligned = series.reindex(index)
        missing = index[aligned.isna().to_numpy()]
        if len(missing):
            raise MissingDatesError(
                f"Column {name!r} of {file.name!r} has no value on {len(missing)} date(s) of the "
                f"series, first {_day(missing[0])}; exogenous inputs must cover every date "
                "(e.g. load them with the same `fill`).")
        out[str(name)] = aligned.to_numpy(dtype=np.float64)
    result = pd.DataFrame(out, index=index.copy())
    result.attrs["source"] = str(file)
    return result


def _csv_series(frame: pd.DataFrame, ticker: str | None, file: Path, column: str,
                fill: str | None, positive: bool, drop_last: bool) -> pd.Series:
    """One column of a read CSV as a validated series (leading empty cells dropped for wide
    files, where a series may start later than the file)."""
    name = select_column(frame, column, f"file {file.name!r}")
    values = pd.to_numeric(frame[name], errors="coerce")
    bad = values.isna() & frame[name].notna()
    if bad.any():
        raise DataError(f"Column {name!r} of {file.name!r} must be numeric. Got "
                        f"{short_repr(frame[name][bad].iloc[0])} on {_day(frame.index[bad][0])}.")
    series = pd.Series(values.to_numpy(dtype=np.float64), index=frame.index,
                       name=ticker if ticker is not None else name)
    if drop_last:
        series = series.iloc[:-1]
    if len(frame.columns) == 1 and series.notna().any():  # a wide file's column: late listings
        series = series.iloc[int(np.flatnonzero(series.notna())[0]):]
    if series.empty:
        raise DataError(f"`path` {file.name!r} has no data rows for {name!r}.")
    out = check_prices(series, name=str(series.name), fill=fill, positive=positive)
    out.attrs.update({"ticker": ticker, "column": name, "source": str(file)})
    return out


def combine_series(series: dict[str, pd.Series]) -> pd.DataFrame:
    """Series on their own dates as one wide frame on the union of the dates (NaN where a
    series has no value); ``attrs`` keeps each series' ``n_filled`` and source."""
    frame = pd.concat(series, axis=1, sort=True)
    frame.columns = list(series)
    frame.index.name = "Date"
    frame.attrs["n_filled"] = {name: int(s.attrs.get("n_filled", 0)) for name, s in series.items()}
    frame.attrs["sources"] = {name: s.attrs.get("source") for name, s in series.items()}
    return frame


def _read_yahoo_csv(file: Path) -> tuple[pd.DataFrame, str | None]:
    ticker: str | None = None
    try:
        with file.open(encoding="utf-8-sig") as handle:
            head = [handle.readline() for _ in range(3)]
        if head[1].split(",", 1)[0].strip() == "Ticker":
            frame = read_csv_exact(file, header=[0, 1], index_col=0, skiprows=[2],
                                   encoding="utf-8-sig")
            frame.columns = frame.columns.set_names(["Price", "Ticker"])
            symbols = list(dict.fromkeys(frame.columns.get_level_values(1)))
            ticker = str(symbols[0]) if len(symbols) == 1 else None
            if ticker is None:
                raise DataError(f"`path` {file.name!r} holds several tickers {symbols}; "
                                "save one ticker per file.")
            frame = _flatten_columns(frame, ticker)
        else:
            frame = read_csv_exact(file, index_col=0, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"`path` {file.name!r} is not UTF-8 text ({exc}); save it as UTF-8."
                        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"`path` {file.name!r} is not a readable CSV file: {exc}") from None
    if "Ticker" in frame.columns:
        symbols = frame["Ticker"].dropna().unique()
        if len(symbols) > 1:
            raise DataError(f"`path` {file.name!r} holds several tickers "
                            f"{[str(s) for s in symbols[:5]]}; save one ticker per file.")
        ticker = str(symbols[0]) if len(symbols) else None
        frame = frame.drop(columns="Ticker")
    frame.index = _parse_index(frame.index, file)
    return frame, ticker


def _parse_index(index: pd.Index, file: Path) -> pd.DatetimeIndex:
    """ISO dates; several UTC offsets (daylight saving in an intraday export) become UTC."""
    try:
        with warnings.catch_warnings():  # pandas 2 warns on mixed offsets, pandas 3 raises
            warnings.simplefilter("error", FutureWarning)
            parsed = pd.to_datetime(index, format="ISO8601")
    except (ValueError, TypeError, FutureWarning):
        try:
            parsed = pd.to_datetime(index, format="ISO8601", utc=True)
        except (ValueError, TypeError):
            first = next((v for v in index if pd.isna(pd.to_datetime(v, errors="coerce"))),
                         index[0] if len(index) else None)
            raise DataError(f"The first column of {file.name!r} must hold dates "
                            f"(YYYY-MM-DD). Got {short_repr(first)}.") from None
    name = index.name if index.name not in (None, "Price") else "Date"
    return pd.DatetimeIndex(parsed, name=name)
