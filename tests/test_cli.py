"""Tests for the ``convexforecast`` command line, driven through ``main(argv)``.

The network is never used: ``yfinance.download`` is replaced by a test double and the price
cache lives in a temporary directory.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yfinance

from convexforecast import __version__
from convexforecast.cli import build_forecasters, main
from convexforecast.data import CACHE_ENV_VAR, loaders

FAST = ["--models", "naive,linear", "--lags", "3", "--last", "25", "--initial", "120",
        "--refit", "10", "--jobs", "1", "--no-progress"]


def make_frame(days: pd.DatetimeIndex, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, len(days))))
    return pd.DataFrame({"Adj Close": close, "Close": close, "High": close * 1.01,
                         "Low": close * 0.99, "Open": close, "Volume": np.full(len(days), 10)},
                        index=pd.DatetimeIndex(days, name="Date"))


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """Temporary cwd and cache; a yfinance double that knows one ticker (DEMO-USD)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "cache"))
    known = {"DEMO-USD": make_frame(pd.date_range("2022-01-01", periods=400, freq="D"))}

    def download(tickers, **kwargs):
        ticker = tickers.upper()
        if ticker not in known:
            logging.getLogger("yfinance").error(
                f"['{ticker}']: possibly delisted; no timezone found")
            return pd.DataFrame(columns=list(known["DEMO-USD"].columns),
                                index=pd.DatetimeIndex([]), dtype=float)
        return known[ticker].copy()

    monkeypatch.setattr(yfinance, "download", download)
    monkeypatch.setattr(loaders, "_network_problem", lambda timeout=3.0: None)
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("convexforecast: error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


# ------------------------------------------------------------------------ help / version
def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "backtest" in out and "explain" in out
    code, out, _ = run(capsys, "backtest", "--help")
    assert code == 0 and "--models" in out and "--last" in out and "--refit" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and __version__ in out


def test_installed_console_script_help():
    script = shutil.which("convexforecast") or str(Path(sys.executable).parent / "convexforecast")
    proc = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr
    assert "usage: convexforecast" in proc.stdout
    assert {"backtest", "forecast", "fetch", "explain"} <= set(proc.stdout.split())


# ------------------------------------------------------------------------------ backtest
def test_backtest_builtin_dataset_writes_report(capsys, offline):
    code, out, err = run(capsys, "backtest", *FAST, "--steps", "2", "--out", "rep")
    assert code == 0, err
    assert "metrics" in out and "naive" in out and "linear" in out
    assert "forward-filled" in err  # exchange holidays are reported, not silent
    report = offline / "rep"
    for name in ("predictions.csv", "metrics.csv", "dm_tests_vs_naive.csv",
                 "forecast_vs_actual.png", "strategy_pnl.png", "relative_error.png",
                 "report.html"):
        assert (report / name).stat().st_size > 0, name
    html = (report / "report.html").read_text()
    for plot in ("forecast_vs_actual.png", "strategy_pnl.png", "relative_error.png"):
        assert plot in html
    assert html.count("data:image/png;base64,") == 3
    assert '<p class="headline">' in html and "random walk (naive)" in html
    predictions = pd.read_csv(report / "predictions.csv")
    assert set(predictions["model"]) == {"naive", "linear"}
    assert sorted(predictions["horizon"].unique()) == [1, 2]
    assert predictions["origin"].nunique() == 25
    metrics = pd.read_csv(report / "metrics.csv", index_col="model")
    errors = predictions["actual"] - predictions["forecast"]
    expected_mae = errors.abs().groupby(predictions["model"]).mean()
    np.testing.assert_allclose(metrics.loc[expected_mae.index, "mae"], expected_mae, rtol=1e-9)


def test_bare_options_run_a_backtest(capsys, offline):
    code, out, err = run(capsys, *FAST, "--out", "bare")
    assert code == 0, err
    assert out.startswith("convexforecast backtest")
    assert (offline / "bare" / "report.html").is_file()


def test_backtest_csv_and_ticker(capsys, offline):
    frame = make_frame(pd.date_range("2023-01-01", periods=200, freq="D"), seed=5)
    frame["Ticker"] = "XYZ"
    frame.to_csv(offline / "xyz.csv")
    code, out, err = run(capsys, "backtest", "--csv", "xyz.csv", *FAST, "--out", "csvrep")
    assert code == 0, err
    assert "xyz.csv" in out
    assert pd.read_csv(offline / "csvrep" / "predictions.csv")["origin"].nunique() == 25
    code, out, err = run(capsys, "backtest", "--ticker", "DEMO-USD", *FAST, "--out", "tkr")
    assert code == 0, err
    assert "DEMO-USD" in out and (offline / "tkr" / "report.html").is_file()


def test_backtest_with_exogenous_inputs(capsys, offline):
    days = pd.date_range("2023-01-01", periods=200, freq="D")
    frame = make_frame(days, seed=5)
    frame["Volume"] = np.exp(np.random.default_rng(1).normal(10, 0.3, len(days)))
    frame.to_csv(offline / "xyz.csv")
    make_frame(days, seed=6).to_csv(offline / "MKT.csv")  # another ticker's prices
    pd.DataFrame({"Date": days, "rate": np.linspace(1.0, 2.0, len(days))}).to_csv(
        offline / "wide.csv", index=False)
    code, out, err = run(capsys, "backtest", "--csv", "xyz.csv", *FAST, "--exog", "Volume",
                         "--exog-csv", "MKT.csv", "--exog-transform",
                         "Volume=log_return,MKT=log_return", "--out", "exrep")
    assert code == 0, err
    assert "exogenous inputs: Volume, MKT" in out
    html = (offline / "exrep" / "report.html").read_text()
    assert "exogenous inputs: Volume, MKT (used by linear)" in html
    assert "exog_transform=Volume=log_return,MKT=log_return" in html
    config = json.loads((offline / "exrep" / "config.json").read_text())
    assert config["exog"]["columns"] == ["Volume", "MKT"]
    linear = next(m for m in config["models"] if m["name"] == "linear")
    assert linear["params"]["exog_transform"] == {"MKT": "log_return", "Volume": "log_return"}
    without = pd.read_csv(offline / "exrep" / "predictions.csv")
    code, _, err = run(capsys, "backtest", "--csv", "xyz.csv", *FAST, "--out", "plain")
    assert code == 0, err
    plain = pd.read_csv(offline / "plain" / "predictions.csv")
    naive = without["model"] == "naive"
    np.testing.assert_array_equal(without.loc[naive, "forecast"],
                                  plain.loc[plain["model"] == "naive", "forecast"])
    assert not np.allclose(without.loc[~naive, "forecast"],
                           plain.loc[plain["model"] != "naive", "forecast"])
    code, out, err = run(capsys, "backtest", "--csv", "xyz.csv", *FAST, "--exog-csv", "wide.csv",
                         "--known-exog", "rate", "--steps", "2", "--out", "wide")
    assert code == 0, err
    assert "exogenous inputs: rate" in out


def test_backtest_exog_error_paths(capsys, offline):
    days = pd.date_range("2023-01-01", periods=200, freq="D")
    make_frame(days, seed=5).to_csv(offline / "xyz.csv")
    make_frame(days[10:], seed=6).to_csv(offline / "late.csv")
    code, _, err = run(capsys, "backtest", *FAST, "--exog", "Volume")
    assert code == 1
    assert_one_line_error(err, "--exog names columns of the --csv file")
    code, _, err = run(capsys, "backtest", "--csv", "xyz.csv", *FAST, "--known-exog", "x")
    assert code == 1
    assert_one_line_error(err, "need --exog or --exog-csv")
    code, _, err = run(capsys, "backtest", "--csv", "xyz.csv", *FAST, "--exog", "Turnover")
    assert code == 1
    assert_one_line_error(err, "`column` must be one of", "Turnover")
    code, _, err = run(capsys, "backtest", "--csv", "xyz.csv", *FAST, "--exog", "Volume",
                       "--steps", "2")
    assert code == 1
    assert_one_line_error(err, "`gap` + `steps` must be <= 1 for forecaster 'linear'")
    code, _, err = run(capsys, "backtest", "--csv", "xyz.csv", *FAST, "--exog-csv", "late.csv",
                       "--last", "25", "--initial", "175")
    assert code == 1
    assert_one_line_error(err, "no value on 10 date(s)", "2023-01-01")


def test_backtest_error_paths(capsys, offline):
    code, _, err = run(capsys, "backtest", "--csv", "missing.csv", *FAST)
    assert code == 1
    assert_one_line_error(err, "missing.csv")
    code, _, err = run(capsys, "backtest", "--ticker", "NOPE-XYZ", *FAST)
    assert code == 1
    assert_one_line_error(err, "NOPE-XYZ", "possibly delisted")
    code, _, err = run(capsys, "backtest", *FAST, "--last", "100000")
    assert code == 1
    assert_one_line_error(err, "`last` must be smaller than the series length")
    code, _, err = run(capsys, "backtest", *FAST, "--start", "2030-01-01")
    assert code == 1
    assert_one_line_error(err, "2030-01-01")
    assert not (offline / "convexforecast-report").exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [("--lags", "0"), ("--models", "naive,prophet"), ("--beta", "-1"), ("--level", "1.5"),
     ("--jobs", "0"), ("--steps", "two"), ("--horizon", "0"), ("--refit", "-3"),
     ("--models", "naive,naive"), ("--beta", "0"),
     ("--arima-order", "1,1"), ("--cost-bps", "nan"), ("--exog-transform", "log"),
     ("--exog-transform", "Volume=sqrt"), ("--exog-lags", "0"), ("--exog", ",")],
)
def test_bad_option_values_exit_2_with_one_line(capsys, option, value):
    code, out, err = run(capsys, "backtest", option, value)
    assert code == 2
    assert_one_line_error(err, option)
    assert out == ""


def test_unknown_command_and_conflicting_sources(capsys):
    code, _, err = run(capsys, "bakctest")
    assert code == 2
    assert_one_line_error(err, "bakctest")
    code, _, err = run(capsys, "backtest", "--csv", "a.csv", "--ticker", "SPY")
    assert code == 2
    assert_one_line_error(err, "--ticker")


# ------------------------------------------------------------------------------ forecast
def test_forecast_prints_intervals_and_writes_csv(capsys, offline):
    code, out, err = run(capsys, "forecast", "--models", "naive,linear", "--lags", "3",
                         "--steps", "3", "--calibration", "40", "--out", "fc")
    assert code == 0, err
    table = pd.read_csv(offline / "fc" / "forecast.csv", parse_dates=["target"])
    assert len(table) == 6 and set(table["model"]) == {"naive", "linear"}
    assert list(table["horizon"][:3]) == [1, 2, 3]
    assert (table["lower"] <= table["forecast"]).all()
    assert (table["forecast"] <= table["upper"]).all()
    assert table["target"].min() > pd.Timestamp("2018-12-31")  # after the last observation
    naive = table[table["model"] == "naive"]
    assert np.allclose(naive["forecast"], naive["forecast"].iloc[0])  # random walk: flat
    assert "split-conformal" in out


def test_forecast_errors(capsys):
    code, _, err = run(capsys, "forecast", "--steps", "0")
    assert code == 2
    assert_one_line_error(err, "--steps")
    code, _, err = run(capsys, "forecast", "--models", "naive", "--csv", "nope.csv")
    assert code == 1
    assert_one_line_error(err, "nope.csv")


# --------------------------------------------------------------------------------- fetch
def test_fetch_caches_and_reports(capsys, offline):
    code, out, err = run(capsys, "fetch", "--ticker", "DEMO-USD")
    assert code == 0, err
    assert "DEMO-USD: 400 1d bars" in out
    cached = offline / "cache" / "prices" / "DEMO-USD__1d.csv"
    assert str(cached) in out and cached.stat().st_size > 0


def test_fetch_errors(capsys):
    code, _, err = run(capsys, "fetch", "--ticker", "NOPE-XYZ")
    assert code == 1
    assert_one_line_error(err, "`NOPE-XYZ`")
    code, _, err = run(capsys, "fetch")
    assert code == 2
    assert_one_line_error(err, "--ticker")
    code, _, err = run(capsys, "fetch", "--ticker", "DEMO-USD", "--interval", "7d")
    assert code == 1
    assert_one_line_error(err, "`interval`")


# ----------------------------------------------------------------------- convex models
def test_build_forecasters_names():
    models = build_forecasters(["naive", "linear", "convex"])
    assert list(models) == ["naive", "linear", "convex"]
    assert type(models["convex"]).__name__ == "ConvexARForecaster"
    with pytest.raises(ValueError, match="`models`"):
        build_forecasters(["prophet"])


def test_backtest_with_convex_small(capsys, offline):
    code, out, err = run(capsys, "backtest", "--models", "convex,naive", "--lags", "2",
                         "--depth", "2", "--beta", "0.01", "--last", "12", "--initial", "80",
                         "--refit", "12", "--jobs", "1", "--no-progress", "--out", "cvx")
    assert code == 0, err
    predictions = pd.read_csv(offline / "cvx" / "predictions.csv")
    convex = predictions[predictions["model"] == "convex"]
    assert len(convex) == 12 and np.isfinite(convex["forecast"]).all()


def test_backtest_chains_warm_started_refits_by_default(capsys, offline):
    common = ("backtest", "--models", "convex", "--lags", "2", "--depth", "3", "--beta", "cv",
              "--last", "12", "--initial", "80", "--refit", "3", "--jobs", "1", "--no-progress")
    code, _, err = run(capsys, *common, "--out", "auto")
    assert code == 0, err
    code, _, err = run(capsys, *common, "--refits-per-task", "1", "--out", "cold")
    assert code == 0, err
    configs = {name: json.loads((offline / name / "config.json").read_text())
               for name in ("auto", "cold")}
    assert configs["auto"]["models"][0]["params"]["warm_start"] is True
    assert configs["auto"]["refits_per_task"] == "auto" and "refits_per_task" not in configs["cold"]
    cold = pd.read_csv(offline / "cold" / "predictions.csv")
    auto = pd.read_csv(offline / "auto" / "predictions.csv")
    assert len(auto) == 12
    np.testing.assert_allclose(auto["forecast"], cold["forecast"], rtol=1e-6)
    code, _, err = run(capsys, *common, "--refits-per-task", "two")
    assert code == 2 and "--refits-per-task" in err


def test_explain_prints_selected_features(capsys):
    code, out, err = run(capsys, "explain", "--lags", "2", "--depth", "2", "--beta", "0.01",
                         "--start", "2018-06-01")
    assert code == 0, err
    assert "duality gap" in out
    assert "lag" in out.lower()
    assert "The network has" in out and "written to" not in out


def test_explain_out_writes_pictures_and_tables(capsys, offline):
    code, out, err = run(capsys, "explain", "--lags", "3", "--depth", "3", "--start",
                         "2016-01-01", "--out", "why")
    assert code == 0, err
    folder = offline / "why"
    for name in ("response_curves.png", "cv_curve.png", "response_curves.csv", "kinks.csv",
                 "inputs.csv", "certificate.csv", "beta_path.csv"):
        assert (folder / name).stat().st_size > 0, name
        assert name in out
    assert (folder / "response_curves.png").read_bytes().startswith(b"\x89PNG")
    curves = pd.read_csv(folder / "response_curves.csv")
    assert list(curves.columns) == ["input", "x", "contribution", "x_standardised"]
    assert sorted(curves["input"].unique()) == ["lag_1", "lag_2", "lag_3"]
    path = pd.read_csv(folder / "beta_path.csv")
    assert path["chosen"].sum() == 1 and len(path) == 20


def test_backtest_output_does_not_depend_on_the_index_unit(capsys, offline, monkeypatch):
    """The built-in data as pandas 2 (ns) or pandas 3 (us) parse it, or in seconds."""
    import dataclasses

    from convexforecast.data import datasets

    original = datasets.DATASETS["sp500"]
    outputs = {}
    for unit in ("ns", "us", "s"):
        def load(unit: str = unit) -> pd.DataFrame:
            frame = original.loader()
            return frame.set_axis(frame.index.as_unit(unit))

        monkeypatch.setitem(datasets.DATASETS, "sp500", dataclasses.replace(original, loader=load))
        code, _, err = run(capsys, "backtest", *FAST, "--out", f"rep-{unit}")
        assert code == 0, err
        outputs[unit] = pd.read_csv(offline / f"rep-{unit}" / "predictions.csv")
    assert len(outputs["ns"]) == 50
    assert outputs["us"].equals(outputs["ns"]) and outputs["s"].equals(outputs["ns"])


# ----------------------------------------------------------------------------- universes
def _universe_folder(folder: Path) -> Path:
    folder.mkdir()
    days = pd.bdate_range("2023-01-02", periods=160)
    for seed, name in enumerate(("AAA", "BBB", "CCC", "DDD")):
        frame = make_frame(days[20:] if name == "DDD" else days, seed=seed)  # DDD listed later
        frame.to_csv(folder / f"{name}.csv")
    return folder


def test_backtest_universe_from_csv_dir(capsys, offline):
    folder = _universe_folder(offline / "universe")
    code, out, err = run(capsys, "backtest", "--csv-dir", str(folder), "--models",
                         "naive,linear,convex-global", "--beta", "0.5", "--lags", "2",
                         "--last", "30", "--refit", "15", "--top-k", "1", "--no-progress",
                         "--out", "uni")
    assert code == 0, err
    assert "AAA, BBB, CCC, DDD" in out and "MASE per series" in out
    assert "portfolio (long_short, top 1" in out and "equal_weight" in out
    predictions = pd.read_csv(offline / "uni" / "predictions.csv")
    assert sorted(predictions["series"].unique()) == ["AAA", "BBB", "CCC", "DDD"]
    assert predictions.groupby(["model", "series"]).size().eq(30).all()
    by_series = pd.read_csv(offline / "uni" / "metrics_by_series.csv")
    assert len(by_series) == 3 * 4
    assert (offline / "uni" / "report.html").is_file()


def test_backtest_universe_from_tickers_names_failures(capsys, offline):
    code, out, err = run(capsys, "backtest", "--tickers", "DEMO-USD,NOPE1,NOPE2", "--models",
                         "naive,linear", "--last", "30", "--no-progress", "--out", "tk")
    assert code == 1
    assert_one_line_error(err, "NOPE1", "NOPE2")
    code, out, err = run(capsys, "backtest", "--tickers", "DEMO-USD", "--models", "naive,linear",
                         "--last", "30", "--refit", "30", "--no-progress", "--out", "tk")
    assert code == 0, err
    assert "DEMO-USD" in out


def test_universe_options_only_on_backtest(capsys, offline):
    folder = _universe_folder(offline / "universe")
    code, _, err = run(capsys, "explain", "--csv-dir", str(folder))
    assert code == 2 and "--csv-dir" in err
