"""Tests for convexforecast.data: yfinance loader (against a test double), cache, CSV, datasets.

The test double reproduces the frames yfinance 0.2.5x-1.x returns from ``yf.download``
(checked against yfinance's own assembly code with a stubbed ``Ticker``):

- flat columns (``multi_level_index=False``), sorted alphabetically:
  ``Adj Close, Close, High, Low, Open, Volume``, index ``DatetimeIndex(name="Date")``;
- the default two-level ``(Price, Ticker)`` column MultiIndex;
- ``auto_adjust=True``: no ``Adj Close`` column;
- failure (offline / unknown ticker): no exception, an ERROR line on the ``yfinance``
  logger and an empty frame with the same columns and an unnamed empty DatetimeIndex.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import yfinance

from convexforecast.data import (
    CACHE_ENV_VAR,
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
    clear_cache,
    csv_layout,
    get_cache_dir,
    load_csv,
    load_dataset,
    load_exog,
    load_prices,
    loaders,
)

FIELDS = ["Adj Close", "Close", "High", "Low", "Open", "Volume"]


def make_ohlcv(index: pd.DatetimeIndex, seed: int = 0, auto_adjust: bool = False) -> pd.DataFrame:
    """A positive random-walk OHLCV frame in yfinance's flat, alphabetical column order."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, len(index))))
    frame = pd.DataFrame(
        {
            "Adj Close": close * 0.98,
            "Close": close,
            "High": close * 1.01,
            "Low": close * 0.99,
            "Open": close * 1.001,
            "Volume": rng.integers(1_000, 10_000, len(index)).astype(np.int64),
        },
        index=pd.DatetimeIndex(index, name="Date"),
    )
    return frame.drop(columns="Adj Close") if auto_adjust else frame


def as_multiindex(frame: pd.DataFrame, ticker: str) -> pd.DataFrame:
    out = frame.copy()
    out.columns = pd.MultiIndex.from_product([out.columns, [ticker]], names=["Price", "Ticker"])
    return out


class FakeYahoo:
    """Stand-in for ``yfinance.download`` serving prepared frames per ticker."""

    def __init__(self) -> None:
        self.frames: dict[str, pd.DataFrame] = {}
        self.layout = "flat"  # "flat" | "multi" (ignores multi_level_index, like old versions)
        self.offline = False
        self.calls: list[tuple[str, dict]] = []

    def download(self, tickers, **kwargs):
        self.calls.append((tickers, kwargs))
        ticker = tickers.upper()
        logger = logging.getLogger("yfinance")
        if self.offline or ticker not in self.frames:
            reason = ("ConnectionError('Failed to perform, curl: (6) Could not resolve host: "
                      "query2.finance.yahoo.com')" if self.offline
                      else "possibly delisted; no timezone found")
            logger.error("\n1 Failed download:")
            logger.error(f"['{ticker}']: {reason}")
            empty = pd.DataFrame(columns=FIELDS, index=pd.DatetimeIndex([]), dtype=float)
            return empty if self.layout == "flat" else as_multiindex(empty, ticker)
        frame = self.frames[ticker]
        naive = frame.index
        mask = np.ones(len(frame), dtype=bool)
        if kwargs.get("start") is not None:
            mask &= naive >= pd.Timestamp(kwargs["start"])
        if kwargs.get("end") is not None:
            mask &= naive < pd.Timestamp(kwargs["end"])
        frame = frame.loc[mask]
        if kwargs.get("auto_adjust", True):
            frame = frame.drop(columns="Adj Close", errors="ignore")
        if self.layout == "multi" or not kwargs.get("multi_level_index", True):
            return frame.copy() if self.layout == "flat" else as_multiindex(frame, ticker)
        return as_multiindex(frame, ticker)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Never touch the network or the user's cache; fix the clock far after the data."""
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "cache"))
    fake = FakeYahoo()
    monkeypatch.setattr(yfinance, "download", fake.download)
    monkeypatch.setattr(loaders, "_utcnow", lambda: pd.Timestamp("2024-06-30 12:00"))
    monkeypatch.setattr(loaders, "_network_problem", lambda timeout=3.0: None)
    return fake


CALENDAR = pd.date_range("2023-01-01", "2023-12-31", freq="D")


def test_success_flat_layout_returns_float_series_with_freq(isolated):
    isolated.frames["BTC-USD"] = make_ohlcv(CALENDAR)
    y = load_prices("BTC-USD", cache=False)
    expected = isolated.frames["BTC-USD"]["Close"]
    assert y.dtype == np.float64
    assert y.name == "BTC-USD"
    assert y.index.name == "Date"
    assert y.index.freqstr == "D"
    np.testing.assert_array_equal(y.to_numpy(), expected.to_numpy())
    assert y.index.equals(expected.index)
    assert y.attrs["source"] == "yfinance"
    _, kwargs = isolated.calls[0]
    assert kwargs["auto_adjust"] is False
    assert kwargs["progress"] is False
    assert kwargs["multi_level_index"] is False
    assert kwargs["period"] == "max"  # full history, not yfinance's one-month default


def test_success_multiindex_layout_matches_flat(isolated):
    isolated.frames["BTC-USD"] = make_ohlcv(CALENDAR)
    flat = load_prices("BTC-USD", column="Adj Close", cache=False)
    isolated.layout = "multi"
    multi = load_prices("BTC-USD", column="Adj Close", cache=False)
    pd.testing.assert_series_equal(flat, multi)
    np.testing.assert_array_equal(multi.to_numpy(),
                                  isolated.frames["BTC-USD"]["Adj Close"].to_numpy())


def test_auto_adjust_layout_without_adj_close(isolated, monkeypatch):
    frame = make_ohlcv(CALENDAR, auto_adjust=True)
    assert list(frame.columns) == ["Close", "High", "Low", "Open", "Volume"]
    monkeypatch.setattr(yfinance, "download", lambda *a, **k: frame.copy())
    y = load_prices("SPY", column="close", cache=False)
    np.testing.assert_array_equal(y.to_numpy(), frame["Close"].to_numpy())
    with pytest.warns(UserWarning, match="no 'Adj Close' column"):
        adj = load_prices("SPY", column="Adj Close", cache=False)
    np.testing.assert_array_equal(adj.to_numpy(), frame["Close"].to_numpy())
    with pytest.raises(ValueError, match="`column` must be one of"):
        load_prices("SPY", column="Price", cache=False)


def test_offline_empty_frame_raises_with_yfinance_reason(isolated, caplog):
    isolated.frames["BTC-USD"] = make_ohlcv(CALENDAR)
    isolated.offline = True
    with caplog.at_level(logging.ERROR, logger="yfinance"):
        with pytest.raises(DataUnavailableError, match="`BTC-USD`") as info:
            load_prices("BTC-USD")
    assert "Could not resolve host" in str(info.value)
    assert info.value.ticker == "BTC-USD"
    assert isinstance(info.value, ValueError)
    assert any(r.name == "yfinance" and "Failed download" in r.getMessage()
               for r in caplog.records)


def test_offline_reason_names_the_network_even_when_yfinance_blames_the_ticker(
        isolated, monkeypatch):
    """After a first offline failure yfinance says 'possibly delisted': the network is named."""
    # SPY is not among the double's frames: it answers "possibly delisted"
    monkeypatch.setattr(loaders, "_network_problem", lambda timeout=3.0: (
        "the network is unavailable: cannot connect to query2.finance.yahoo.com (timed out)"))
    with pytest.raises(DataUnavailableError) as info:
        load_prices("SPY")
    message = str(info.value)
    assert message.index("the network is unavailable") < message.index("possibly delisted")


def test_unknown_ticker_raises_naming_it(isolated):
    with pytest.raises(DataUnavailableError, match="`NOSUCHTICKER`.*possibly delisted"):
        load_prices("NOSUCHTICKER")


def test_cache_fallback_when_offline(isolated, tmp_path):
    isolated.frames["BTC-USD"] = make_ohlcv(CALENDAR)
    online = load_prices("BTC-USD")
    assert (tmp_path / "cache" / "prices" / "BTC-USD__1d.csv").stat().st_size > 0
    isolated.offline = True
    with pytest.warns(CachedDataWarning, match="using the cached copy"):
        offline = load_prices("BTC-USD")
    pd.testing.assert_series_equal(online, offline, check_exact=True)
    assert offline.attrs["source"] == "cache"
    calls = len(isolated.calls)
    window = load_prices("BTC-USD", start="2023-03-01", end="2023-04-01")  # inside the cache
    assert len(isolated.calls) == calls and window.attrs["source"] == "cache"
    assert window.index[0] == pd.Timestamp("2023-03-01")
    assert window.index[-1] == pd.Timestamp("2023-03-31")
    with pytest.raises(DataUnavailableError, match="`ETH-USD`"):
        load_prices("ETH-USD")  # nothing cached for it


def test_historical_window_is_served_from_cache_without_download(isolated):
    isolated.frames["BTC-USD"] = make_ohlcv(CALENDAR)
    first = load_prices("BTC-USD", start="2023-02-01", end="2023-06-01")
    assert len(isolated.calls) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = load_prices("BTC-USD", start="2023-03-01", end="2023-05-01")
    assert len(isolated.calls) == 1
    pd.testing.assert_series_equal(again, first.loc["2023-03-01":"2023-04-30"], check_freq=False)
    assert again.attrs["source"] == "cache"
    load_prices("BTC-USD", start="2023-01-01", end="2023-06-01")  # not covered -> downloads
    assert len(isolated.calls) == 2


def test_adjacent_downloads_merge_in_cache(isolated):
    isolated.frames["BTC-USD"] = make_ohlcv(CALENDAR)
    load_prices("BTC-USD", start="2023-01-01", end="2023-03-01")
    load_prices("BTC-USD", start="2023-03-01", end="2023-05-01")
    calls = len(isolated.calls)
    merged = load_prices("BTC-USD", start="2023-01-15", end="2023-04-15")
    assert len(isolated.calls) == calls
    expected = isolated.frames["BTC-USD"]["Close"].loc["2023-01-15":"2023-04-14"]
    np.testing.assert_array_equal(merged.to_numpy(), expected.to_numpy())


def test_intraday_last_bar_dropped_with_warning_and_not_cached(isolated, monkeypatch, tmp_path):
    days = pd.date_range("2024-05-01", "2024-06-30", freq="D")  # clock: 2024-06-30 12:00
    isolated.frames["BTC-USD"] = make_ohlcv(days)
    with pytest.warns(PartialBarWarning, match="2024-06-30"):
        y = load_prices("BTC-USD", start="2024-05-01")
    assert y.index[-1] == pd.Timestamp("2024-06-29")
    assert not y.attrs["partial_last_bar"]
    kept = load_prices("BTC-USD", start="2024-05-01", include_partial=True, cache=False)
    assert kept.index[-1] == pd.Timestamp("2024-06-30")
    assert kept.attrs["partial_last_bar"]
    cached = pd.read_csv(tmp_path / "cache" / "prices" / "BTC-USD__1d.csv", index_col=0)
    assert cached.index[-1] == "2024-06-29"
    monkeypatch.setattr(loaders, "_utcnow", lambda: pd.Timestamp("2024-07-01 00:00"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        final = load_prices("BTC-USD", start="2024-05-01")
    assert final.index[-1] == pd.Timestamp("2024-06-30")


def test_cache_dir_precedence(tmp_path, monkeypatch):
    assert get_cache_dir() == tmp_path / "cache"
    assert get_cache_dir(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv(CACHE_ENV_VAR)
    assert get_cache_dir().name == "convexforecast"


def test_cache_false_and_explicit_cache_dir(isolated, tmp_path):
    isolated.frames["BTC-USD"] = make_ohlcv(CALENDAR)
    load_prices("BTC-USD", cache=False)
    assert not (tmp_path / "cache").exists()
    load_prices("BTC-USD", cache_dir=tmp_path / "mine")
    assert (tmp_path / "mine" / "prices" / "BTC-USD__1d.json").is_file()
    assert clear_cache("btc-usd", cache_dir=tmp_path / "mine") == 1
    assert not (tmp_path / "mine" / "prices" / "BTC-USD__1d.csv").exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"ticker": ""}, "`ticker`"),
        ({"ticker": "BTC-USD", "interval": "2d"}, "`interval`"),
        ({"ticker": "BTC-USD", "start": "2023-05-01", "end": "2023-01-01"}, "`start`"),
        ({"ticker": "BTC-USD", "start": "not a date"}, "`start`"),
        ({"ticker": "BTC-USD", "fill": "zero"}, "`fill`"),
    ],
)
def test_bad_arguments(kwargs, match, isolated):
    with pytest.raises(ValueError, match=match):
        load_prices(**kwargs)
    assert isolated.calls == []


def test_bad_argument_types():
    with pytest.raises(TypeError, match="`ticker`"):
        load_prices(123)
    with pytest.raises(TypeError, match="`cache`"):
        load_prices("SPY", cache="yes")


# ----------------------------------------------------------------- business-day gaps
def stock_days() -> tuple[pd.DatetimeIndex, pd.Timestamp]:
    days = pd.bdate_range("2023-06-01", "2023-07-31")
    holiday = pd.Timestamp("2023-07-04")
    return days.drop(holiday), holiday


def test_exchange_holidays_are_missing_dates_by_default(isolated):
    days, holiday = stock_days()
    isolated.frames["SPY"] = make_ohlcv(days)
    with pytest.raises(MissingDatesError, match="2023-07-04.*market holidays.*fill='ffill'"):
        load_prices("SPY", cache=False)
    filled = load_prices("SPY", cache=False, fill="ffill")
    assert filled.index.freqstr == "B"
    assert filled.attrs["n_filled"] == 1
    assert filled[holiday] == filled[holiday - pd.offsets.BDay()]
    kept = load_prices("SPY", cache=False, fill="keep")
    assert kept.index.freq is None
    assert len(kept) == len(days)


def test_check_prices_named_errors():
    index = pd.date_range("2024-01-01", periods=5, freq="D")
    good = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0], index=index, name="x")
    with pytest.raises(DuplicateDatesError, match="2024-01-02"):
        check_prices(pd.Series([1.0, 2.0, 3.0], index=index[[0, 1, 1]]))
    with pytest.raises(UnsortedDatesError, match="2024-01-02 comes after 2024-01-03"):
        check_prices(pd.Series([1.0, 2.0, 3.0], index=index[[0, 2, 1]]))
    with_nan = good.copy()
    with_nan.iloc[2] = np.nan
    with pytest.raises(MissingValuesError, match="1 NaN value.*2024-01-03"):
        check_prices(with_nan)
    filled = check_prices(with_nan, fill="ffill")
    assert filled.iloc[2] == 2.0 and filled.attrs["n_filled"] == 1
    assert np.isnan(with_nan.iloc[2])  # caller's data untouched
    leading = good.copy()
    leading.iloc[0] = np.nan
    with pytest.raises(MissingValuesError, match="starts with NaN"):
        check_prices(leading, fill="ffill")
    with pytest.raises(NonPositivePriceError, match="-1.0 at 2024-01-04"):
        check_prices(good.where(good != 4.0, -1.0))
    assert check_prices(good.where(good != 4.0, -1.0), positive=False).iloc[3] == -1.0
    with pytest.raises(MissingValuesError, match="infinite"):
        check_prices(good.where(good != 4.0, np.inf))
    with pytest.raises(MissingDatesError, match="missing 1 of 5"):
        check_prices(good.drop(index[2]))
    with pytest.raises(DataError, match="numbers"):
        check_prices(pd.Series(list("abcde"), index=index))
    with pytest.raises(TypeError, match="DatetimeIndex"):
        check_prices(pd.Series([1.0, 2.0]))
    assert all(issubclass(e, ValueError) for e in (DataError, MissingDatesError))


def test_weekly_grid_and_intraday_series():
    weekly = pd.date_range("2024-01-01", periods=10, freq="W-MON")
    series = pd.Series(np.arange(1.0, 11.0), index=weekly)
    with pytest.raises(MissingDatesError, match="W-MON"):
        check_prices(series.drop(weekly[4]))
    assert check_prices(series).index.freqstr == "W-MON"
    hours = pd.date_range("2024-01-02 09:30", periods=7, freq="h", tz="America/New_York")
    sessions = hours.append(hours + pd.Timedelta(days=1))
    out = check_prices(pd.Series(np.arange(1.0, 15.0), index=sessions))
    assert out.index.freq is None and len(out) == 14  # returned as observed


UNITS = ["ns", "us", "ms", "s"]


@pytest.mark.parametrize("unit", UNITS)
def test_grids_and_errors_do_not_depend_on_the_index_unit(unit):
    """pandas 2 parses dates to ns, pandas 3 to us (or keeps s/ms): the same grids either way."""
    days, holiday = stock_days()
    stock = pd.Series(np.linspace(1.0, 2.0, len(days)), index=days.as_unit(unit))
    with pytest.raises(MissingDatesError, match="missing 1 .*'B' grid.*2023-07-04"):
        check_prices(stock)
    filled = check_prices(stock, fill="ffill")
    assert filled.index.freqstr == "B" and filled.attrs["n_filled"] == 1
    assert filled[holiday] == filled[holiday - pd.offsets.BDay()]
    crypto = pd.Series(np.linspace(1.0, 2.0, 30),
                       index=pd.date_range("2024-01-01", periods=30, freq="D").as_unit(unit))
    assert check_prices(crypto.drop(crypto.index[9]), fill="ffill").index.freqstr == "D"
    weekly = pd.Series(np.arange(1.0, 11.0),
                       index=pd.date_range("2024-01-01", periods=10, freq="W-MON").as_unit(unit))
    with pytest.raises(MissingDatesError, match="W-MON"):
        check_prices(weekly.drop(weekly.index[4]))
    swapped = crypto.iloc[[0, 2, 1, *range(3, 30)]]
    with pytest.raises(UnsortedDatesError, match="2024-01-02 comes after 2024-01-03"):
        check_prices(swapped)


# A cache entry exactly as pandas 2.3 writes it (pandas 3.1 writes the same bytes): awkward
# floats that only survive an exact parser, a daily index and a tz-aware intraday one.
PANDAS2_DAILY_CSV = (
    "Date,Close,Adj Close,Volume\n"
    "2024-02-12,474.9599914550781,465.4607916259765,1.0\n"
    "2024-02-13,0.30000000000000004,0.29400000000000004,2.0\n"
    "2024-02-14,3.3333333333333334e-08,3.266666666666667e-08,3.0\n"
    "2024-02-15,123456.789,120987.65322000001,4.0\n"
    "2024-02-16,0.6666666666666666,0.6533333333333333,5.0\n"
)
PANDAS2_INTRADAY_CSV = (
    "Datetime,Close\n"
    "2024-03-08T14:30:00-0500,474.9599914550781\n"
    "2024-03-08T15:30:00-0500,0.30000000000000004\n"
    "2024-03-08T16:30:00-0500,3.3333333333333334e-08\n"
)


def _write_entry(root, key: str, csv_text: str, meta: dict) -> None:
    """A cache entry in the current format (2): the metadata carries the CSV's SHA-256."""
    folder = root / "prices"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key}.csv").write_text(csv_text)
    digest = hashlib.sha256(csv_text.encode()).hexdigest()
    (folder / f"{key}.json").write_text(json.dumps({**meta, "format_version": 2,
                                                    "sha256": digest}))


def test_cache_written_by_another_pandas_major_reads_back_exactly(isolated, tmp_path):
    root = tmp_path / "cache"
    _write_entry(root, "SPY__1d", PANDAS2_DAILY_CSV, {
        "ticker": "SPY", "interval": "1d",
        "downloaded_at": "2024-02-17T10:00:00+00:00", "covered_from": None,
        "covered_until": "2024-02-17T00:00:00", "index_name": "Date", "tz_aware": False,
        "tz": None, "rows": 5})
    y = load_prices("SPY", start="2024-02-12", end="2024-02-17")
    assert isolated.calls == []  # served from the cache
    expected = [474.9599914550781, 0.1 + 0.2, 1e-7 / 3, 123456.789, 2.0 / 3.0]
    assert y.to_numpy().tolist() == expected  # bit for bit
    assert list(y.index) == list(pd.bdate_range("2024-02-12", periods=5))
    assert y.index.freq is not None
    _write_entry(root, "AAPL__1h", PANDAS2_INTRADAY_CSV, {
        "ticker": "AAPL", "interval": "1h",
        "downloaded_at": "2024-03-09T10:00:00+00:00", "covered_from": "2024-03-08T00:00:00",
        "covered_until": "2024-03-08T22:30:00", "index_name": "Datetime", "tz_aware": True,
        "tz": "America/New_York", "rows": 3})
    bars = load_prices("AAPL", start="2024-03-08", end="2024-03-08 22:00", interval="1h")
    assert isolated.calls == []
    assert bars.to_numpy().tolist() == expected[:3]
    assert str(bars.index.tz) == "America/New_York" and bars.index.freqstr == "h"
    assert bars.index[0] == pd.Timestamp("2024-03-08 14:30", tz="America/New_York")


# ------------------------------------------------------------------------------- CSV
def test_load_csv_flat_with_ticker_column(tmp_path):
    frame = make_ohlcv(CALENDAR, seed=3)[["Open", "High", "Low", "Close", "Adj Close", "Volume"]]
    frame["Ticker"] = "BTC-USD"
    path = tmp_path / "btc.csv"
    frame.to_csv(path)
    y = load_csv(path)
    assert y.name == "BTC-USD" and y.index.name == "Date" and y.index.freqstr == "D"
    np.testing.assert_allclose(y.to_numpy(), frame["Close"].to_numpy(), rtol=1e-15)
    assert load_csv(path, drop_last=True).index[-1] == CALENDAR[-2]
    adj = load_csv(str(path), column="adj close")
    np.testing.assert_allclose(adj.to_numpy(), frame["Adj Close"].to_numpy(), rtol=1e-15)


def test_load_csv_yfinance_multiindex_file(tmp_path):
    frame = as_multiindex(make_ohlcv(CALENDAR, seed=4), "ETH-USD")
    path = tmp_path / "eth.csv"
    frame.to_csv(path)
    assert path.read_text().splitlines()[1].startswith("Ticker,ETH-USD")
    y = load_csv(path, column="Close")
    assert y.name == "ETH-USD"
    np.testing.assert_allclose(y.to_numpy(), frame[("Close", "ETH-USD")].to_numpy(), rtol=1e-15)


def test_load_csv_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="`path`.*nope.csv"):
        load_csv(tmp_path / "nope.csv")
    path = tmp_path / "bad_dates.csv"
    path.write_text("Date,Close\n2024-01-01,1.0\nyesterday,2.0\n")
    with pytest.raises(DataError, match="must hold dates"):
        load_csv(path)
    path = tmp_path / "dups.csv"
    path.write_text("Date,Close\n2024-01-01,1.0\n2024-01-01,2.0\n2024-01-02,2.0\n")
    with pytest.raises(DuplicateDatesError):
        load_csv(path)
    path = tmp_path / "text.csv"
    path.write_text("Date,Close\n2024-01-01,1.0\n2024-01-02,n/a?\n2024-01-03,2.0\n")
    with pytest.raises(DataError, match="must be numeric"):
        load_csv(path)
    with pytest.raises(ValueError, match="`column`"):
        load_csv(tmp_path / "dups.csv", column="Open")


# ----------------------------------------------------------------------------- datasets
def test_load_dataset_sp500_matches_arch_data():
    import arch.data.sp500

    raw = arch.data.sp500.load()["Adj Close"]
    y = load_dataset("sp500")
    assert y.index.freqstr == "B" and y.dtype == np.float64 and not y.isna().any()
    holidays = pd.bdate_range(raw.index[0], raw.index[-1]).difference(raw.index)
    assert y.attrs["n_filled"] == len(holidays) > 100
    np.testing.assert_array_equal(y.loc[raw.index].to_numpy(), raw.to_numpy())
    first = holidays[0]
    assert y[first] == raw[raw.index < first].iloc[-1]
    kept = load_dataset("sp500", fill="keep")
    assert len(kept) == len(raw) and kept.index.freq is None
    with pytest.raises(MissingDatesError):
        load_dataset("sp500", fill=None)
    with pytest.raises(ValueError, match="`name`"):
        load_dataset("ftse")


# ----------------------------------------------------------------------------- universes
def test_load_prices_of_several_tickers_is_one_wide_frame_with_named_failures(isolated):
    stocks, holiday = stock_days()
    isolated.frames["SPY"] = make_ohlcv(stocks, seed=1)
    isolated.frames["BTC-USD"] = make_ohlcv(CALENDAR, seed=2)  # 24/7 crypto
    late = stocks[stocks >= pd.Timestamp("2023-06-01")]
    isolated.frames["NEW"] = make_ohlcv(late, seed=3)  # listed in June
    wide = load_prices(["SPY", "BTC-USD", "NEW"], column="Close", fill="ffill")
    assert list(wide.columns) == ["SPY", "BTC-USD", "NEW"]
    assert wide.index.equals(pd.DatetimeIndex(CALENDAR, name="Date"))  # union of the calendars
    spy = load_prices("SPY", column="Close", fill="ffill")  # served from the per-ticker cache
    pd.testing.assert_series_equal(wide["SPY"].dropna(), spy, check_names=False,
                                   check_freq=False)
    assert wide["SPY"].isna().sum() == len(CALENDAR) - len(spy)  # weekends: no bar, no fill
    assert wide["NEW"].first_valid_index() == late[0]
    assert wide.attrs["n_filled"]["SPY"] == 1  # the one holiday
    with pytest.raises(DataUnavailableError, match=r"`NOPE, ALSO`.*NOPE: .*delisted.*ALSO: "):
        load_prices(["SPY", "NOPE", "ALSO"], fill="ffill")
    with pytest.raises(ValueError, match="must not repeat"):
        load_prices(["SPY", "SPY"])


def test_load_csv_of_a_folder_and_of_a_wide_file(tmp_path):
    folder = tmp_path / "universe"
    folder.mkdir()
    days, _ = stock_days()
    make_ohlcv(days, seed=4).to_csv(folder / "AAA.csv")
    make_ohlcv(days[30:], seed=5).to_csv(folder / "BBB.csv")  # a later listing
    wide = load_csv(folder, column="Adj Close", fill="ffill")
    assert list(wide.columns) == ["AAA", "BBB"]
    np.testing.assert_array_equal(wide["AAA"].dropna().to_numpy(),
                                  load_csv(folder / "AAA.csv", column="Adj Close",
                                           fill="ffill").to_numpy())
    assert wide["BBB"].first_valid_index() == days[30]
    flat = wide.copy()
    flat.to_csv(tmp_path / "wide.csv")
    again = load_csv(tmp_path / "wide.csv", fill="ffill")
    pd.testing.assert_frame_equal(again, wide, check_freq=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="a folder without any"):
        load_csv(tmp_path / "empty")


def test_check_prices_refuses_an_empty_series_with_a_named_error():
    from convexforecast.data.loaders import DataError, check_prices

    empty = pd.Series([], index=pd.DatetimeIndex([], freq="D"), name="px", dtype=float)
    for fill in (None, "ffill", "keep"):
        with pytest.raises(DataError, match="`px` must hold at least one price"):
            check_prices(empty, fill=fill)


def test_load_exog_on_the_dates_of_the_series(tmp_path):
    days = pd.bdate_range("2023-01-02", periods=30)
    frame = make_ohlcv(days, seed=3)
    frame.iloc[5, frame.columns.get_loc("Volume")] = np.nan  # filled like the prices
    frame.drop(index=days[7]).to_csv(tmp_path / "own.csv")  # a holiday
    pd.DataFrame({"Date": days[2:], "rate": np.arange(28.0) - 3.0}).to_csv(
        tmp_path / "wide.csv", index=False)
    y = load_csv(tmp_path / "own.csv", fill="ffill")
    original = y.copy()
    exog = load_exog(tmp_path / "own.csv", ["volume"], index=y.index, fill="ffill")
    assert list(exog.columns) == ["Volume"] and exog.index.equals(y.index)
    volume = frame["Volume"].to_numpy()
    assert exog["Volume"].iloc[5] == volume[4] and exog["Volume"].iloc[7] == volume[6]
    pd.testing.assert_series_equal(y, original)
    assert csv_layout(tmp_path / "own.csv") == "yahoo" and csv_layout(tmp_path / "wide.csv") == "wide"
    wide = load_exog(tmp_path / "wide.csv", index=y.index[2:])
    assert list(wide.columns) == ["rate"] and wide["rate"].iloc[0] == -3.0  # <= 0 allowed
    with pytest.raises(MissingDatesError, match=r"'rate' of 'wide.csv' has no value on 2 "
                                                r"date\(s\).*first 2023-01-02"):
        load_exog(tmp_path / "wide.csv", index=y.index)
    with pytest.raises(ValueError, match=r"`columns` must name the columns.*'own.csv'"):
        load_exog(tmp_path / "own.csv", index=y.index)
    with pytest.raises(ValueError, match=r"`column` must be one of.*Got 'Turnover'"):
        load_exog(tmp_path / "own.csv", ["Turnover"], index=y.index)
    with pytest.raises(MissingValuesError, match=r"`Volume` has 1 NaN value.*2023-01-09"):
        load_exog(tmp_path / "own.csv", ["Volume"], index=y.index)  # fill=None: NaN refused


# ----------------------------------------------------------------- string dtypes (issue 10)
@pytest.mark.parametrize("dtype", ["str", "string", "object"])
def test_text_prices_are_refused_whatever_the_string_dtype(dtype):
    y = pd.Series(["100.5", "101.0", "99.8"], index=pd.date_range("2024-01-01", periods=3),
                  name="SPY").astype(dtype)
    with pytest.raises(ValueError, match=rf"`SPY` must hold numbers. Got dtype {re.escape(str(y.dtype))}\."):
        check_prices(y)


@pytest.mark.parametrize("dtype", ["str", "string", "object"])
def test_load_csv_reads_text_columns_and_names_text_in_a_price_column(tmp_path, dtype):
    frame = make_ohlcv(CALENDAR, seed=5)[["Open", "High", "Low", "Close", "Adj Close", "Volume"]]
    frame["Ticker"] = pd.Series("SPY", index=frame.index).astype(dtype)
    path = tmp_path / "spy.csv"
    frame.to_csv(path)
    y = load_csv(path)
    assert y.name == "SPY" and y.dtype == np.float64
    np.testing.assert_allclose(y.to_numpy(), frame["Close"].to_numpy(), rtol=1e-15)
    broken = frame.astype({"Close": object})
    broken.iloc[3, broken.columns.get_loc("Close")] = "bad tick"
    broken.to_csv(path)
    with pytest.raises(ValueError, match=r"Column 'Close' of 'spy.csv' must be numeric. Got 'bad tick'"):
        load_csv(path)
