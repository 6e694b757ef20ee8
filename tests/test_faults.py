"""Fault injection: every artefact the library writes, damaged every way a disk or a crash can.

For each artefact kind (checkpoint blocks and config, price-cache CSV and metadata, saved
models as a directory or a zip) the file is truncated at random byte offsets and at row
boundaries, bit-flipped, emptied or replaced by JSON of the wrong type. The library must then
recompute or re-download with a CorruptFileWarning naming the file, or refuse with the
artefact's own error class (a ValueError) - never a raw BadZipFile/EOFError/KeyError and never
a silently shorter or stale result. A backtest killed with SIGKILL at a random point resumes to
bit-identical results, and fuzzed public inputs give a named error or a correct result
without touching the caller's data.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
import zipfile
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import yfinance
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_data import FakeYahoo, make_ohlcv

from convexforecast import (
    ARIMAForecaster,
    ConvexARForecaster,
    CorruptFileWarning,
    LinearARForecaster,
    NaiveForecaster,
    backtest,
    load_forecaster,
    load_prices,
    save_forecaster,
)
from convexforecast.data import CACHE_ENV_VAR, DataUnavailableError, check_prices, loaders
from convexforecast.forecasting import checkpoints, persistence
from convexforecast.forecasting.base import BaseForecaster
from convexforecast.forecasting.checkpoints import CheckpointError
from convexforecast.forecasting.metrics import mae, rmse
from convexforecast.forecasting.persistence import ModelFileError

SEEDS = range(6)  # random offsets per artefact and damage kind


def prices(n: int = 40, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    values = 100 * np.exp(np.cumsum(rng.normal(0.0005, 0.01, n)))
    return pd.Series(values, index=pd.date_range("2020-01-01", periods=n, freq="D"), name="px")


def damage(path: Path, kind: str, seed: int) -> None:
    """Truncate at a random byte, flip a random bit, empty, or overwrite with garbage."""
    rng = np.random.default_rng(seed)
    data = path.read_bytes()
    if kind == "truncate":
        data = data[: int(rng.integers(1, len(data)))]
    elif kind == "bitflip":
        flipped = bytearray(data)
        flipped[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
        data = bytes(flipped)
    elif kind == "empty":
        data = b""
    elif kind == "garbage":
        data = rng.bytes(len(data))
    else:
        raise AssertionError(kind)
    path.write_bytes(data)


def _corrupt_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, CorruptFileWarning)]


# ---------------------------------------------------------------------- checkpoints
CHECKPOINT_KW = dict(initial_train_size=30, refit=3, show_progress=False)
MODELS = {"rw": NaiveForecaster(), "ar": LinearARForecaster(lags=2)}


@pytest.fixture(scope="module")
def reference_backtest():
    return backtest(MODELS, prices(), **CHECKPOINT_KW)


def _same(a, b) -> None:
    pd.testing.assert_frame_equal(a.predictions, b.predictions, check_exact=True)


@pytest.mark.parametrize("kind", ["truncate", "bitflip", "empty", "garbage"])
def test_damaged_checkpoint_blocks_are_recomputed(kind, tmp_path, reference_backtest):
    directory = tmp_path / "ck"
    backtest(MODELS, prices(), checkpoint_dir=directory, **CHECKPOINT_KW)
    blocks = sorted(directory.glob("block-*.npz"))
    for seed in SEEDS:
        victim = blocks[seed % len(blocks)]
        damage(victim, kind, seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resumed = backtest(MODELS, prices(), checkpoint_dir=directory, **CHECKPOINT_KW)
        _same(resumed, reference_backtest)  # never a silently different result
        messages = _corrupt_warnings(caught)
        if kind != "bitflip":  # a flipped bit may fall in unused zip bytes: then nothing changed
            assert len(messages) == 1 and victim.name in messages[0], messages


@pytest.mark.parametrize("content", [b"", b"{\"hash\": ", b"[]", b"{}", b"null",
                                     b"{\"hash\": \"00\", \"config\": {}}"])
def test_damaged_checkpoint_config_is_rewritten(content, tmp_path, reference_backtest):
    directory = tmp_path / "ck"
    backtest(MODELS, prices(), checkpoint_dir=directory, **CHECKPOINT_KW)
    (directory / "config.json").write_bytes(content)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed = backtest(MODELS, prices(), checkpoint_dir=directory, **CHECKPOINT_KW)
    _same(resumed, reference_backtest)
    assert any("config.json" in m for m in _corrupt_warnings(caught))
    json.loads((directory / "config.json").read_text())  # rewritten whole


@pytest.mark.parametrize("kind", ["truncate", "bitflip"])
def test_randomly_damaged_checkpoint_config_never_gives_another_result(kind, tmp_path,
                                                                         reference_backtest):
    directory = tmp_path / "ck"
    backtest(MODELS, prices(), checkpoint_dir=directory, **CHECKPOINT_KW)
    original = (directory / "config.json").read_bytes()
    for seed in SEEDS:
        (directory / "config.json").write_bytes(original)
        damage(directory / "config.json", kind, seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                resumed = backtest(MODELS, prices(), checkpoint_dir=directory, **CHECKPOINT_KW)
            except CheckpointError as error:  # a flipped bit may make another valid config
                assert "config.json" in str(error) or "configuration" in str(error)
                continue
        _same(resumed, reference_backtest)
        if (directory / "config.json").read_bytes() != original:
            assert any("config.json" in m for m in _corrupt_warnings(caught))


def test_checkpoint_writes_are_atomic(tmp_path, reference_backtest):
    """A crash while a block is saved leaves no torn file: the resume recomputes that block."""
    directory = tmp_path / "ck"
    calls = []

    def crash_on_third(src, dst, _replace=os.replace):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError("disk full")
        return _replace(src, dst)

    with mock.patch.object(os, "replace", crash_on_third), \
            pytest.raises(OSError, match="disk full"):
        backtest(MODELS, prices(), checkpoint_dir=directory, **CHECKPOINT_KW)
    assert all(p.suffix in (".npz", ".json") for p in directory.iterdir())  # no temporary left
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed = backtest(MODELS, prices(), checkpoint_dir=directory, **CHECKPOINT_KW)
    _same(resumed, reference_backtest)
    assert not _corrupt_warnings(caught)  # nothing torn to repair


class Scaled(BaseForecaster):
    """A forecaster with a callable parameter (the issue's reproducer)."""

    def __init__(self, fn=None) -> None:
        self.fn = fn

    def _fit(self, values) -> None:
        pass

    def _predict(self, steps):
        return np.full(steps, self.fn(self._window[-1]))


def test_callables_are_fingerprinted_by_their_code(tmp_path):
    kwargs = dict(CHECKPOINT_KW, checkpoint_dir=tmp_path / "ck")
    first = backtest(Scaled(lambda v: v), prices(), **kwargs)
    again = backtest(Scaled(lambda v: v), prices(), **kwargs)  # same code: resumed
    _same(first, again)
    with pytest.raises(CheckpointError, match=r"different backtest configuration.*\['models'\]"):
        backtest(Scaled(lambda v: 2 * v), prices(), **kwargs)
    factor = 3.0
    with pytest.raises(CheckpointError):  # a closure's value is part of the fingerprint
        backtest(Scaled(lambda v: factor * v), prices(), **kwargs)


FACTORS = {"k": 1.0}  # module state read by a callable parameter


def test_module_state_read_by_a_callable_is_fingerprinted_by_its_content(tmp_path):
    """A resumed backtest never reuses results computed with other module state: changing a
    dict the callable reads changes the fingerprint (it was recorded by its type only)."""
    kwargs = dict(CHECKPOINT_KW, checkpoint_dir=tmp_path / "ck")

    def scale(v):
        return FACTORS["k"] * v

    first = backtest(Scaled(scale), prices(), **kwargs)
    _same(first, backtest(Scaled(scale), prices(), **kwargs))  # same state: resumed
    FACTORS["k"] = 2.0
    try:
        with pytest.raises(CheckpointError, match=r"different backtest configuration"):
            backtest(Scaled(scale), prices(), **kwargs)
        fresh = backtest(Scaled(scale), prices(), **CHECKPOINT_KW)
        assert np.allclose(fresh.predictions["forecast"], 2 * first.predictions["forecast"])
    finally:
        FACTORS["k"] = 1.0


UNFINGERPRINTABLE = object()


def test_module_state_that_cannot_be_fingerprinted_is_refused(tmp_path):
    def read_state(v):
        return v if UNFINGERPRINTABLE else -v

    with pytest.raises(CheckpointError, match=r"global `UNFINGERPRINTABLE`.*cannot be fingerprinted"):
        backtest(Scaled(read_state), prices(), **dict(CHECKPOINT_KW, checkpoint_dir=tmp_path))


def test_library_version_and_unfingerprintable_values(tmp_path, monkeypatch):
    kwargs = dict(CHECKPOINT_KW, checkpoint_dir=tmp_path / "ck")
    backtest(NaiveForecaster(), prices(), **kwargs)
    import convexforecast.forecasting.backtest as backtest_module

    monkeypatch.setattr(backtest_module, "library_version", lambda: "999.0")
    with pytest.raises(CheckpointError, match=r"\['library_version'\]"):
        backtest(NaiveForecaster(), prices(), **kwargs)
    with pytest.raises(CheckpointError, match=r"cannot be fingerprinted"):
        backtest(Scaled(fn=object()), prices(), checkpoint_dir=tmp_path / "other",
                 initial_train_size=30, show_progress=False)
    # without checkpoint_dir, any parameter is fine
    assert backtest(Scaled(fn=abs), prices(), **CHECKPOINT_KW).predictions.shape[0] == 10


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np, pandas as pd
    from convexforecast import backtest, NaiveForecaster, LinearARForecaster

    class Slow(LinearARForecaster):
        def _fit(self, values):
            time.sleep(0.05)
            super()._fit(values)

    rng = np.random.default_rng(0)
    y = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 80))),
                  index=pd.date_range("2020-01-01", periods=80, freq="D"))
    result = backtest({"slow": Slow(lags=2), "rw": NaiveForecaster()}, y,
                      initial_train_size=40, refit=1, show_progress=False,
                      checkpoint_dir=sys.argv[1])
    result.predictions.to_csv(sys.argv[2], index=False)
""")


@pytest.mark.slow
def test_sigkill_at_a_random_point_then_resume_is_bit_identical(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "PYTHONWARNINGS": "ignore"}
    reference = tmp_path / "reference.csv"
    subprocess.run([sys.executable, str(script), str(tmp_path / "full"), str(reference)],
                   check=True, env=env, timeout=300)
    rng = np.random.default_rng(int(time.time()))  # a different kill point on every run
    directory = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(script), str(directory), str(tmp_path / "x")],
                            env=env)
    deadline = time.monotonic() + 120
    while not list(directory.glob("block-*.npz")) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(float(rng.uniform(0.0, 1.5)))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    done = len(list(directory.glob("block-*.npz")))
    resumed = tmp_path / "resumed.csv"
    subprocess.run([sys.executable, str(script), str(directory), str(resumed)], check=True,
                   env=env, timeout=300)
    assert done >= 1
    assert resumed.read_bytes() == reference.read_bytes()


# ----------------------------------------------------------------------- price cache
@pytest.fixture
def yahoo(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "cache"))
    fake = FakeYahoo()
    fake.frames["SPY"] = make_ohlcv(pd.date_range("2023-01-01", "2023-06-30", freq="D"))
    monkeypatch.setattr(yfinance, "download", fake.download)
    monkeypatch.setattr(loaders, "_utcnow", lambda: pd.Timestamp("2024-06-30 12:00"))
    monkeypatch.setattr(loaders, "_network_problem", lambda timeout=3.0: None)
    return fake


def _cache_files(tmp_path) -> tuple[Path, Path]:
    folder = tmp_path / "cache" / "prices"
    return folder / "SPY__1d.csv", folder / "SPY__1d.json"


CSV_DAMAGE = ["truncate", "bitflip", "empty", "garbage", "row_boundary", "header_only"]


@pytest.mark.parametrize("kind", CSV_DAMAGE)
def test_damaged_price_cache_csv_is_downloaded_again(kind, yahoo, tmp_path):
    window = dict(start="2023-01-01", end="2023-07-01")
    fresh = load_prices("SPY", **window)
    csv_path, _ = _cache_files(tmp_path)
    original = csv_path.read_bytes()
    for seed in SEEDS:
        csv_path.write_bytes(original)
        if kind == "row_boundary":  # a cut exactly at the end of a line: still valid CSV
            lines = original.splitlines(keepends=True)
            csv_path.write_bytes(b"".join(lines[: int(np.random.default_rng(seed).integers(
                2, len(lines)))]))
        elif kind == "header_only":
            csv_path.write_bytes(original.splitlines(keepends=True)[0])
        else:
            damage(csv_path, kind, seed)
        calls = len(yahoo.calls)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            again = load_prices("SPY", **window)
        pd.testing.assert_series_equal(again, fresh, check_exact=True)
        messages = _corrupt_warnings(caught)
        if csv_path.read_bytes() != original or messages:
            assert len(messages) == 1 and "SPY__1d.csv" in messages[0], messages
            assert len(yahoo.calls) == calls + 1  # downloaded again, not served short


@pytest.mark.parametrize("content", [b"", b"[]", b"{\"format_version\": 2", b"null",
                                     b"{\"format_version\": true}", b"{\"format_version\": 2}"])
def test_damaged_price_cache_metadata_is_downloaded_again(content, yahoo, tmp_path):
    fresh = load_prices("SPY", start="2023-01-01", end="2023-07-01")
    _, meta_path = _cache_files(tmp_path)
    meta_path.write_bytes(content)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = load_prices("SPY", start="2023-01-01", end="2023-07-01")
    pd.testing.assert_series_equal(again, fresh, check_exact=True)
    assert any("SPY__1d.json" in m for m in _corrupt_warnings(caught))


@pytest.mark.parametrize("kind", ["truncate", "bitflip"])
def test_randomly_damaged_price_cache_metadata_is_never_served_stale(kind, yahoo, tmp_path):
    fresh = load_prices("SPY", start="2023-01-01", end="2023-07-01")
    _, meta_path = _cache_files(tmp_path)
    original = meta_path.read_bytes()
    for seed in SEEDS:
        meta_path.write_bytes(original)
        damage(meta_path, kind, seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            again = load_prices("SPY", start="2023-01-01", end="2023-07-01")
        pd.testing.assert_series_equal(again, fresh, check_exact=True)
        if _corrupt_warnings(caught):
            assert all("SPY__1d" in m for m in _corrupt_warnings(caught))


def test_price_cache_writes_are_atomic(yahoo, tmp_path):
    """A crash while the cache is written leaves no entry and no temporary file; the next
    call downloads again and serves the same prices."""
    def crash(*args, **kwargs):
        raise OSError("disk full")

    with mock.patch.object(os, "replace", crash), pytest.raises(OSError, match="disk full"):
        load_prices("SPY", start="2023-01-01", end="2023-07-01")
    folder = tmp_path / "cache" / "prices"
    assert not folder.exists() or not list(folder.iterdir())
    calls = len(yahoo.calls)
    again = load_prices("SPY", start="2023-01-01", end="2023-07-01")
    assert len(yahoo.calls) == calls + 1  # nothing torn was served
    pd.testing.assert_series_equal(load_prices("SPY", start="2023-01-01", end="2023-07-01"),
                                   again, check_exact=True)
    assert len(yahoo.calls) == calls + 1  # the entry written now is whole and served


def test_damaged_price_cache_while_offline_is_a_named_error(yahoo, tmp_path):
    load_prices("SPY", start="2023-01-01", end="2023-07-01")
    csv_path, _ = _cache_files(tmp_path)
    damage(csv_path, "truncate", 0)
    yahoo.offline = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataUnavailableError, match="`SPY`"):
            load_prices("SPY", start="2023-01-01", end="2023-07-01")
    assert any("SPY__1d.csv" in m for m in _corrupt_warnings(caught))


# ----------------------------------------------------------------------- model files
@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    model = LinearARForecaster(lags=3).fit(prices(60))
    folder = tmp_path_factory.mktemp("models")
    return model, save_forecaster(model, folder / "dir"), save_forecaster(model, folder / "m.zip")


def _load_or_named_error(path: Path, expected: pd.Series) -> bool:
    """True when the load was refused with ModelFileError; else the model must be intact."""
    try:
        loaded = load_forecaster(path)
    except ModelFileError as exc:
        assert str(path) in str(exc)
        return True
    pd.testing.assert_series_equal(loaded.predict(3), expected, check_exact=True)
    return False


@pytest.mark.parametrize("kind", ["truncate", "bitflip", "empty", "garbage"])
@pytest.mark.parametrize("target", ["json", "npz", "zip"])
def test_damaged_model_files_are_refused_with_one_error_class(kind, target, saved_model,
                                                              tmp_path):
    model, directory, archive = saved_model
    expected = model.predict(3)
    for seed in SEEDS:
        if target == "zip":
            path = tmp_path / f"m{seed}.zip"
            path.write_bytes(archive.read_bytes())
            victim = path
        else:
            path = tmp_path / f"d{seed}"
            path.mkdir()
            for name in ("forecaster.json", "arrays.npz"):
                (path / name).write_bytes((directory / name).read_bytes())
            victim = path / ("forecaster.json" if target == "json" else "arrays.npz")
        damage(victim, kind, seed)
        refused = _load_or_named_error(path, expected)
        assert refused or kind == "bitflip"


def _rewrite(directory: Path, edit) -> None:
    """Edit the JSON document of a saved model (the checksum is not updated)."""
    document = json.loads((directory / "forecaster.json").read_text())
    edit(document)
    (directory / "forecaster.json").write_text(json.dumps(document))


@pytest.mark.parametrize("edit", [
    lambda d: d.update(format_version=True),
    lambda d: d.update(params={**d["params"], "transform": "none"}),
    lambda d: d["state"]["model"].update(scale=0.0),
    lambda d: d.update(state=[]),
    lambda d: d.pop("checksum"),
], ids=["bool-version", "transform-none", "zero-scale", "state-list", "no-checksum"])
def test_edited_model_files_are_refused(edit, saved_model, tmp_path):
    model, directory, _ = saved_model
    copy = tmp_path / "edited"
    copy.mkdir()
    for name in ("forecaster.json", "arrays.npz"):
        (copy / name).write_bytes((directory / name).read_bytes())
    _rewrite(copy, edit)
    with pytest.raises(ModelFileError):
        load_forecaster(copy)


def _resign(directory: Path) -> None:
    """Recompute the checksum after an edit, as a forger would: the state checks must hold."""
    document = json.loads((directory / "forecaster.json").read_text())
    raw = (directory / "arrays.npz").read_bytes()
    body = {k: v for k, v in document.items() if k != "checksum"}
    document["checksum"] = hashlib.sha256(json.dumps(body, sort_keys=True).encode()
                                          + raw).hexdigest()
    (directory / "forecaster.json").write_text(json.dumps(document))


@pytest.mark.parametrize("edit, match", [
    (lambda d: d["state"]["model"].update(scale=0.0), "scale"),
    (lambda d: d.update(params={**d["params"], "transform": "none"}), "window"),
    (lambda d: d.update(params={**d["params"], "lags": 5}), "coef|window"),
    (lambda d: d["state"].update(n_train=10**6), "n_train"),
    (lambda d: d["state"]["index"].update(freq="not-a-frequency"), "freq"),
], ids=["zero-scale", "transform-none", "lags", "n_train", "freq"])
def test_loaded_states_are_validated_even_with_a_valid_checksum(edit, match, saved_model,
                                                                tmp_path):
    _, directory, _ = saved_model
    copy = tmp_path / "forged"
    copy.mkdir()
    for name in ("forecaster.json", "arrays.npz"):
        (copy / name).write_bytes((directory / name).read_bytes())
    _rewrite(copy, edit)
    _resign(copy)
    with pytest.raises(ModelFileError, match=match):
        load_forecaster(copy)


def test_non_finite_window_is_refused(saved_model, tmp_path):
    model, directory, _ = saved_model
    copy = tmp_path / "nan"
    copy.mkdir()
    (copy / "forecaster.json").write_bytes((directory / "forecaster.json").read_bytes())
    with np.load(directory / "arrays.npz") as npz:
        arrays = {k: npz[k].copy() for k in npz.files}
    arrays["window"][-1] = np.nan
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    (copy / "arrays.npz").write_bytes(buffer.getvalue())
    _resign(copy)
    with pytest.raises(ModelFileError, match="window.*finite"):
        load_forecaster(copy)


def test_zip_bombs_are_refused_before_inflating(saved_model, tmp_path, monkeypatch):
    monkeypatch.setattr(persistence, "MAX_MEMBER_BYTES", 2**20)
    _, directory, _ = saved_model
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("forecaster.json", (directory / "forecaster.json").read_bytes())
        archive.writestr("arrays.npz", b"\0" * (8 * 2**20))
    assert bomb.stat().st_size < 2**20 // 8
    with pytest.raises(ModelFileError, match="inflate"):
        load_forecaster(bomb)
    # a header that lies about the size: reading stops at the limit all the same
    data = bytearray(bomb.read_bytes())
    with zipfile.ZipFile(bomb) as archive:
        info = archive.getinfo("arrays.npz")
    for offset in (info.header_offset + 22, data.rfind(b"arrays.npz") - 46 + 24):
        data[offset:offset + 4] = (1000).to_bytes(4, "little")
    liar = tmp_path / "liar.zip"
    liar.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        load_forecaster(liar)


def test_model_writes_are_atomic(saved_model, tmp_path, monkeypatch):
    """A crash while saving leaves the previous file, never a torn one."""
    model, _, _ = saved_model
    path = save_forecaster(model, tmp_path / "m.zip")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_forecaster(LinearARForecaster(lags=2).fit(prices(50)), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.zip"]  # no temporary file left


# ------------------------------------------------------------------- metrics by label
def test_metrics_match_labelled_series_by_label():
    s = pd.Series([1.0, 2.0, 4.0], index=pd.date_range("2020-01-01", periods=3))
    assert mae(s, s[::-1]) == 0.0 and rmse(s, s.sample(frac=1.0, random_state=1)) == 0.0
    with pytest.raises(ValueError, match="`actual` and `forecast`.*same labels.*2021-01-01"):
        mae(s, s.set_axis(pd.date_range("2021-01-01", periods=3)))
    with pytest.raises(ValueError, match="unique labels"):
        mae(s, pd.Series([1.0, 2.0, 4.0], index=s.index[[0, 0, 1]]))
    assert mae(s, s[::-1].to_numpy()) == 2.0  # an unlabelled input: matched by position


# ------------------------------------------------------------------- fuzzed inputs
finite_or_not = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                          st.floats(min_value=0.5, max_value=500.0))


@st.composite
def series(draw) -> pd.Series:
    n = draw(st.integers(0, 40))
    values = draw(st.lists(st.one_of(finite_or_not, st.floats(1.0, 200.0)), min_size=n,
                           max_size=n))
    kind = draw(st.sampled_from(["daily", "business", "unit", "period", "range", "float",
                                 "duplicated", "shuffled", "gappy", "tz"]))
    start = pd.Timestamp("2020-01-01")
    if kind == "daily":
        index = pd.date_range(start, periods=n, freq="D")
    elif kind == "business":
        index = pd.bdate_range(start, periods=n)
    elif kind == "unit":
        index = pd.date_range(start, periods=n, freq="D").as_unit(
            draw(st.sampled_from(["s", "ms", "us", "ns"])))
    elif kind == "period":
        index = pd.period_range("2000-01", periods=n, freq="M")
    elif kind == "range":
        index = pd.RangeIndex(n)
    elif kind == "float":
        index = pd.Index(np.arange(n) + 0.5)
    elif kind == "duplicated":
        index = pd.DatetimeIndex([start] * n)
    elif kind == "shuffled":
        index = pd.date_range(start, periods=n, freq="D")[::-1]
    elif kind == "gappy":
        index = pd.date_range(start, periods=n, freq="D") + pd.to_timedelta(
            np.arange(n) ** 2, unit="h")
    else:
        index = pd.date_range(start, periods=n, freq="h", tz="Europe/Zurich")
    return pd.Series(values, index=index, name="y", dtype=np.float64)


def _named(exc: Exception) -> bool:
    return "`" in str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(y=series(), lags=st.integers(-1, 4), steps=st.integers(-1, 4),
       transform=st.sampled_from(["log_return", "diff", "none", "sqrt"]))
def test_fuzzed_forecaster_inputs_give_a_named_error_or_a_correct_forecast(y, lags, steps,
                                                                           transform):
    original = y.copy(deep=True)
    for model in (NaiveForecaster(), LinearARForecaster(lags=lags, transform=transform)):
        try:
            forecast = model.fit(y).predict(steps)
        except (ValueError, TypeError) as exc:
            assert _named(exc), exc
        except FloatingPointError as exc:  # a forecast overflowed float64: refused, named
            assert type(model).__name__ in str(exc)
        else:
            assert len(forecast) == steps and np.isfinite(forecast.to_numpy()).all()
            if isinstance(model, NaiveForecaster):
                assert (forecast.to_numpy() == y.iloc[-1]).all()
        pd.testing.assert_series_equal(y, original, check_exact=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(y=st.one_of(series(), st.integers(0, 2**16).map(lambda seed: prices(40, seed))),
       lags=st.one_of(st.integers(1, 3), st.sampled_from([-1, 0, 2.5, "2"])),
       depth=st.one_of(st.integers(2, 4), st.sampled_from([1, 5, None])),
       beta=st.one_of(st.floats(0.01, 10.0), st.just("cv"),
                      st.sampled_from([np.nan, np.inf, -1.0, 0.0, "auto"])),
       activation=st.sampled_from(["relu", "relu", "abs", "tanh"]),
       order=st.one_of(st.just("auto"), st.tuples(st.integers(0, 2), st.integers(0, 1),
                                                  st.integers(0, 2)),
                       st.sampled_from([(-1, 0, 0), (1, 2), "x"])))
def test_fuzzed_convex_and_arima_parameters_give_a_named_error_or_a_forecast(
        y, lags, depth, beta, activation, order):
    original = y.copy(deep=True)
    models = (ConvexARForecaster(lags=lags, depth=depth, beta=beta, activation=activation,
                                 cv=2, n_betas=3),
              ARIMAForecaster(order=order))
    for model in models:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence notes of tiny fits
                forecast = model.fit(y).predict(2)
        except (ValueError, TypeError) as exc:
            assert _named(exc), exc
        except FloatingPointError as exc:
            assert type(model).__name__ in str(exc)
        else:
            event(f"{type(model).__name__} forecast")
            assert len(forecast) == 2 and np.isfinite(forecast.to_numpy()).all()
        pd.testing.assert_series_equal(y, original, check_exact=True)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(y=series(), initial=st.one_of(st.integers(-2, 45), st.just("2020-01-20"),
                                     st.just(2.5)),
       steps=st.integers(0, 4), gap=st.integers(-1, 3), refit=st.one_of(st.booleans(),
                                                                        st.integers(-1, 3)))
def test_fuzzed_backtest_arguments_give_a_named_error_or_a_complete_result(y, initial, steps,
                                                                           gap, refit):
    original = y.copy(deep=True)
    try:
        result = backtest(NaiveForecaster(), y, initial_train_size=initial, steps=steps,
                          gap=gap, refit=refit, show_progress=False)
    except (ValueError, TypeError) as exc:
        assert _named(exc), exc
    else:
        predictions = result.predictions
        assert len(predictions) > 0 and predictions["forecast"].notna().all()
        positions = y.index.get_indexer(pd.Index(predictions["origin"]))
        assert (predictions["forecast"].to_numpy() == y.to_numpy()[positions]).all()
    pd.testing.assert_series_equal(y, original, check_exact=True)


@settings(max_examples=100, deadline=None)
@given(y=series(), fill=st.sampled_from([None, "ffill", "keep", "bogus"]))
def test_fuzzed_price_checks_give_a_named_error_or_clean_prices(y, fill):
    original = y.copy(deep=True)
    try:
        out = check_prices(y, fill=fill)
    except (ValueError, TypeError) as exc:
        assert _named(exc) or type(exc).__name__.endswith("Error"), exc
    else:
        assert np.isfinite(out.to_numpy()).all() and (out.to_numpy() > 0).all()
        assert out.index.is_monotonic_increasing and out.index.is_unique
    pd.testing.assert_series_equal(y, original, check_exact=True)


@settings(max_examples=100, deadline=None)
@given(a=series(), b=series())
def test_fuzzed_metric_inputs_give_a_named_error_or_the_labelwise_value(a, b):
    originals = a.copy(deep=True), b.copy(deep=True)
    try:
        value = mae(a, b)
    except ValueError as exc:
        assert _named(exc), exc
    else:
        expected = (a - b.reindex(a.index)).abs().mean()
        assert value == pytest.approx(expected, rel=1e-12, nan_ok=True)
    pd.testing.assert_series_equal(a, originals[0], check_exact=True)
    pd.testing.assert_series_equal(b, originals[1], check_exact=True)


def test_checkpoint_error_and_model_file_error_are_value_errors():
    assert issubclass(CheckpointError, ValueError) and issubclass(ModelFileError, ValueError)
    assert issubclass(CorruptFileWarning, RuntimeWarning)
    assert checkpoints.CHECKPOINT_FORMAT_VERSION == 3


# ------------------------------------------------------------------- smaller defects
def test_csv_encoding_and_mixed_offsets_name_the_file_or_load_exactly(tmp_path):
    from convexforecast import load_csv
    from convexforecast.data import DataError

    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"Date,Close,Name\n2024-01-01,1.0,caf\xe9\n2024-01-02,2.0,x\n")
    with pytest.raises(DataError, match="'latin.csv' is not UTF-8"):
        load_csv(latin)
    mixed = tmp_path / "mixed.csv"  # offsets change with daylight saving: same instants in UTC
    mixed.write_text("Date,Close\n2024-03-08T15:00:00-0500,1.0\n2024-03-11T15:00:00-0400,2.0\n"
                     "2024-03-12T15:00:00-0400,3.0\n")
    y = load_csv(mixed, fill="keep")
    assert list(y.index) == list(pd.to_datetime(["2024-03-08 20:00", "2024-03-11 19:00",
                                                 "2024-03-12 19:00"], utc=True))


def test_direct_models_refuse_a_reach_beyond_their_horizon_before_any_fit():
    from convexforecast import ConvexARForecaster

    CALLS = []

    class Counting(ConvexARForecaster):
        def _fit(self, values):
            CALLS.append(1)
            super()._fit(values)

    model = Counting(lags=2, depth=2, beta=0.5, multistep="direct", steps=2)
    with pytest.raises(ValueError, match=r"`gap` \+ `steps` must be <= 2 .*gap=1 \+ steps=2 = 3"):
        backtest(model, prices(80), initial_train_size=60, gap=1, steps=2, show_progress=False)
    assert CALLS == []


def test_overflowing_series_are_refused_not_forecast_as_inf():
    y = pd.Series(np.geomspace(1e306, 1.79e308, 40), index=pd.date_range("2020", periods=40))
    with pytest.raises(FloatingPointError, match="LinearARForecaster forecast inf at step 1"):
        LinearARForecaster(lags=2).fit(y).predict(2)
    huge = pd.Series(np.r_[np.full(20, -1.7e308), np.full(20, 1.7e308)],
                     index=pd.date_range("2020", periods=40))
    with pytest.raises(ValueError, match=r"`y` overflows under transform='diff'.*position 20"):
        LinearARForecaster(lags=2, transform="diff").fit(huge)
