"""Tests for convexforecast.report: CSVs, PNG plots and the self-contained HTML page."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from convexforecast.report import (
    PREDICTION_COLUMNS,
    ReportFiles,
    write_backtest_report,
    write_report,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_predictions(n_origins: int = 150, horizons: int = 2, seed: int = 0) -> pd.DataFrame:
    """A hand-built tidy predictions frame (two models) independent of the backtest code."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-03", periods=n_origins + horizons, freq="B")
    actual = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(dates))))
    rows = []
    for fold in range(n_origins):
        for h in range(1, horizons + 1):
            for model, noise in (("naive", 0.0), ("convex", 0.5)):
                forecast = actual[fold] + noise * rng.normal()
                rows.append({"origin": dates[fold], "target": dates[fold + h], "horizon": h,
                             "model": model, "forecast": forecast,
                             "actual": actual[fold + h], "fold": fold})
    return pd.DataFrame(rows)


def make_metrics(predictions: pd.DataFrame) -> pd.DataFrame:
    err = predictions["actual"] - predictions["forecast"]
    table = pd.DataFrame({"mae": err.abs().groupby(predictions["model"], sort=False).mean(),
                          "rmse": (err**2).groupby(predictions["model"], sort=False).mean()
                          ** 0.5})
    table.index.name = "model"
    return table


def equity_curve(dates: pd.DatetimeIndex, drift: float) -> pd.Series:
    return pd.Series(np.cumprod(np.full(len(dates), 1.0 + drift)), index=dates)


def embedded_pngs(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)",
                                                      text)]


def test_write_report_files_plots_and_html(tmp_path):
    predictions = make_predictions()
    original = predictions.copy()
    metrics = make_metrics(predictions)
    dates = pd.DatetimeIndex(predictions["target"].unique())
    strategy = SimpleNamespace(
        equity=equity_curve(dates, 0.001),
        benchmark_equity=equity_curve(dates, 0.0005),
        metrics=pd.DataFrame({"sharpe": [1.25, 0.5]}, index=["strategy", "buy_and_hold"]),
    )
    files = write_report(
        tmp_path / "out", predictions, metrics,
        strategies={"convex": strategy, "naive": equity_curve(dates, -0.0002)},
        tables={"dm_tests": pd.DataFrame({"statistic": [-2.5]}, index=["convex"])},
        title="Test <report>", notes=["data: synthetic"],
    )
    assert isinstance(files, ReportFiles)
    pd.testing.assert_frame_equal(predictions, original)  # input untouched
    expected_csv = {"predictions", "metrics", "dm_tests", "strategy_metrics"}
    assert set(files.tables) == expected_csv
    for path in files.tables.values():
        assert path.is_file() and path.stat().st_size > 0
    assert set(files.plots) == {"forecast_vs_actual", "error_by_horizon", "strategy_pnl"}
    for path in files.plots.values():
        assert path.read_bytes().startswith(PNG_SIGNATURE)

    saved = pd.read_csv(files.tables["predictions"], parse_dates=["origin", "target"])
    assert list(saved.columns) == list(PREDICTION_COLUMNS)
    np.testing.assert_allclose(saved["forecast"], predictions["forecast"], rtol=1e-12)
    saved_metrics = pd.read_csv(files.tables["metrics"], index_col="model")
    np.testing.assert_allclose(saved_metrics["mae"], metrics["mae"], rtol=1e-12)
    strategy_table = pd.read_csv(files.tables["strategy_metrics"], index_col=0)
    assert list(strategy_table.index) == ["convex", "buy_and_hold"]
    assert strategy_table.loc["convex", "sharpe"] == 1.25

    text = files.html.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "Test &lt;report&gt;" in text and "data: synthetic" in text
    for path in files.plots.values():
        assert path.name in text
    images = embedded_pngs(text)
    assert sorted(images) == sorted(p.read_bytes() for p in files.plots.values())
    assert f"{metrics.loc['convex', 'mae']:.4g}" in text  # four significant figures
    assert "src=\"http" not in text and "<script" not in text  # self-contained
    assert "no random-walk benchmark" not in text and "was tested" in text  # no DM tests given


def test_report_without_strategies_single_horizon(tmp_path):
    predictions = make_predictions(n_origins=40, horizons=1)
    files = write_report(tmp_path, predictions, make_metrics(predictions))
    assert set(files.plots) == {"forecast_vs_actual", "error_by_horizon"}
    assert not (tmp_path / "strategy_pnl.png").exists()
    assert len(embedded_pngs(files.html.read_text())) == 2


def test_report_input_errors(tmp_path):
    predictions = make_predictions(n_origins=10, horizons=1)
    metrics = make_metrics(predictions)
    with pytest.raises(ValueError, match="`predictions` must have columns.*'fold'"):
        write_report(tmp_path, predictions.drop(columns="fold"), metrics)
    with pytest.raises(ValueError, match="must not be empty"):
        write_report(tmp_path, predictions.iloc[:0], metrics)
    with pytest.raises(TypeError, match="`predictions`"):
        write_report(tmp_path, predictions.to_dict(), metrics)
    with pytest.raises(TypeError, match="`metrics`"):
        write_report(tmp_path, predictions, [1, 2])
    with pytest.raises(ValueError, match="`tables` keys"):
        write_report(tmp_path, predictions, metrics, tables={"../evil": metrics})
    with pytest.raises(TypeError, match=r"`strategies\['x'\]`"):
        write_report(tmp_path, predictions, metrics, strategies={"x": [1.0, 2.0]})
    with pytest.raises(TypeError, match="`result`"):
        write_backtest_report(object(), tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_write_backtest_report_from_a_real_backtest(tmp_path):
    from convexforecast.data import load_dataset
    from convexforecast.forecasting.backtest import backtest
    from convexforecast.forecasting.baselines import LinearARForecaster, NaiveForecaster
    from convexforecast.forecasting.strategy import run_strategy

    y = load_dataset("sp500").iloc[-260:]
    result = backtest({"naive": NaiveForecaster(), "linear": LinearARForecaster(lags=3)}, y,
                      initial_train_size=200, steps=2, refit=10, show_progress=False)
    strategies = {m: run_strategy(result, y, model=m, horizon=1) for m in result.models}
    files = write_backtest_report(result, tmp_path / "bt", strategies=strategies,
                                  tables={"dm_tests": result.dm_tests("naive")})
    assert {"metrics_by_horizon", "timings", "dm_tests", "strategy_metrics"} <= set(files.tables)
    saved = pd.read_csv(files.tables["metrics"], index_col="model")
    assert list(saved.index) == ["naive", "linear"]
    np.testing.assert_allclose(saved["mae"], result.metrics["mae"], rtol=1e-12)
    text = files.html.read_text()
    assert len(embedded_pngs(text)) == 3
    assert "strategy_pnl.png" in text and "relative_error.png" in text
    assert set(files.plots) == {"relative_error", "forecast_vs_actual", "strategy_pnl"}
    saved_dm = pd.read_csv(files.tables["dm_tests_vs_naive"], index_col=["model", "horizon"])
    np.testing.assert_allclose(saved_dm["pvalue"], result.dm_tests("naive")["pvalue"])


# ----------------------------------------------------------------- a page that reads well
def _three_models(n: int = 300, seed: int = 1) -> pd.DataFrame:
    """naive (a random walk), 'sharp' (close to the truth) and 'wild' (much worse)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-03", periods=n + 1, freq="B")
    actual = 100 + np.cumsum(rng.normal(0, 1, n + 1))
    rows = []
    for i in range(n):
        for model, forecast in (("naive", actual[i]),
                                ("sharp", actual[i + 1] + rng.normal(0, 0.3)),
                                ("wild", actual[i] + rng.normal(0, 3.0))):
            rows.append({"origin": dates[i], "target": dates[i + 1], "horizon": 1,
                         "model": model, "forecast": forecast, "actual": actual[i + 1],
                         "fold": i})
    return pd.DataFrame(rows)


def _dm(predictions: pd.DataFrame) -> pd.DataFrame:
    from convexforecast.forecasting.metrics import diebold_mariano

    base = predictions[predictions["model"] == "naive"]
    rows = {}
    for model in ("sharp", "wild"):
        other = predictions[predictions["model"] == model]
        test = diebold_mariano((other["actual"] - other["forecast"]).to_numpy(),
                               (base["actual"] - base["forecast"]).to_numpy(), horizon=1)
        rows[(model, 1)] = {"statistic": test.statistic, "pvalue": test.pvalue,
                            "mean_loss_difference": test.mean_loss_difference, "n": test.n}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["model", "horizon"])
    return out


def test_headline_names_the_models_that_beat_the_random_walk(tmp_path):
    predictions = _three_models()
    files = write_report(tmp_path, predictions, make_metrics(predictions),
                         dm_tests=_dm(predictions))
    text = files.html.read_text(encoding="utf-8")
    headline = re.search(r'<p class="headline">(.*?)</p>', text).group(1)
    assert headline.startswith("sharp beat the random walk (naive) significantly")
    assert "wild was significantly worse than the random walk" in headline
    assert "5% level" in headline
    assert text.index('class="headline"') < text.index("<h2>")  # at the top of the page
    assert set(files.plots) == {"relative_error", "forecast_vs_actual"}


def test_confidence_intervals_agree_with_the_dm_test():
    from convexforecast.report import ReportContext, ReportFiles

    predictions = _three_models(n=120, seed=4)
    dm = _dm(predictions)
    ctx = ReportContext(files=ReportFiles(Path("."), Path("x.html")), predictions=predictions,
                        metrics=make_metrics(predictions), reference="naive", dm_tests=dm)
    comparison = ctx.comparison()
    squared = (predictions["actual"] - predictions["forecast"]) ** 2
    mse = squared.groupby(predictions["model"]).mean()
    for model in ("sharp", "wild"):
        row = comparison.loc[(model, 1)]
        assert row["change"] == pytest.approx(100 * (mse[model] / mse["naive"] - 1))
        assert row["ci_low"] < row["change"] < row["ci_high"]
        # a 95% interval excludes 0 exactly when the two-sided test rejects at 5%
        assert (row["ci_high"] < 0 or row["ci_low"] > 0) == (dm.loc[(model, 1), "pvalue"] < 0.05)
    assert comparison.loc[("sharp", 1), "verdict"] == "better"
    assert comparison.loc[("wild", 1), "verdict"] == "worse"


def test_tables_show_few_significant_figures(tmp_path):
    predictions = _three_models()
    metrics = make_metrics(predictions) * 1.000123456789
    files = write_report(tmp_path, predictions, metrics, dm_tests=_dm(predictions),
                         tables={"timings": pd.DataFrame({"fit_seconds": [0.0123456789]},
                                                         index=["sharp"])})
    cells = re.findall(r"<td>([^<]*)</td>", files.html.read_text(encoding="utf-8"))
    numbers = [c for c in cells if re.fullmatch(r"[-+]?[\d,]*\.\d+(e[-+]\d+)?%?", c)]
    assert numbers
    for cell in numbers:
        digits = re.sub(r"e[-+]\d+|[^\d]", "", cell.split("e")[0]).lstrip("0")
        assert len(digits) <= 4, cell
    saved = pd.read_csv(files.tables["metrics"], index_col="model")  # the CSVs keep every digit
    np.testing.assert_allclose(saved["mae"], metrics["mae"], rtol=1e-15)


def test_sections_are_builders_that_others_can_extend(tmp_path):
    from convexforecast.report import SECTIONS, Section

    def portfolio(ctx):
        path = ctx.save_table("portfolio", pd.DataFrame({"weight": [0.5, 0.5]}))
        return Section("Portfolio", f"<p>{len(ctx.predictions)} rows, {path.name}</p>")

    predictions = make_predictions(n_origins=20, horizons=1)
    files = write_report(tmp_path, predictions, make_metrics(predictions),
                         sections=[SECTIONS[0], portfolio])
    text = files.html.read_text(encoding="utf-8")
    assert "<h2>Portfolio</h2><p>40 rows, portfolio.csv</p>" in text
    assert "<h2>Forecasts</h2>" not in text and files.tables["portfolio"].is_file()


def test_network_section_from_a_convex_backtest(tmp_path):
    from convexforecast.forecasting.backtest import backtest
    from convexforecast.forecasting.baselines import NaiveForecaster
    from convexforecast.forecasting.convex import ConvexARForecaster

    rng = np.random.default_rng(7)
    r = np.zeros(200)
    for t in range(2, 200):
        r[t] = 0.6 * max(r[t - 1], 0.0) - 0.3 * r[t - 2] + rng.normal(0, 0.01)
    y = pd.Series(100 * np.exp(np.cumsum(r)), index=pd.date_range("2021-01-04", periods=200))
    result = backtest({"net": ConvexARForecaster(lags=2, depth=3, beta="cv", cv=3, n_betas=5),
                       "naive": NaiveForecaster()}, y, initial_train_size=170, refit=15,
                      show_progress=False)
    files = write_backtest_report(result, tmp_path)
    text = files.html.read_text(encoding="utf-8")
    assert "<h2>What the network learned</h2>" in text
    assert {"network_net_response", "network_net_cv"} <= set(files.plots)
    for name in ("certificates", "response_curves", "kinks", "inputs", "certificate",
                 "beta_path"):
        assert files.tables[f"network_net_{name}"].is_file(), name
    certificates = pd.read_csv(files.tables["network_net_certificates"])
    assert len(certificates) == 2 and (certificates["relative_gap"] <= 1e-6).all()
    assert "Certificates of all 2 refits" in text and "Last refit: The network has" in text



def test_network_section_when_cross_validation_chooses_the_empty_network(tmp_path):
    from convexforecast.forecasting.backtest import backtest
    from convexforecast.forecasting.convex import ConvexARForecaster

    rng = np.random.default_rng(11)  # white-noise returns: nothing for the lags to explain
    y = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 200))),
                  index=pd.date_range("2021-01-04", periods=200))
    result = backtest({"net": ConvexARForecaster(lags=2, depth=3, beta="cv", cv=3, n_betas=5)},
                      y, initial_train_size=170, refit=15, show_progress=False)
    files = write_backtest_report(result, tmp_path)
    text = files.html.read_text(encoding="utf-8")
    certificates = pd.read_csv(files.tables["network_net_certificates"])
    assert (certificates["n_neurons"] == 0).all()
    assert "network_net_cv" in files.plots and files.plots["network_net_cv"].is_file()
    assert ("In 2 of 2 refits the network was empty: cross-validation found no network that "
            "beat a constant forecast (a drift) on held-out data.") in text


def test_backtest_report_names_the_exogenous_inputs(tmp_path):
    predictions = make_predictions(n_origins=20, horizons=1)
    config = {"exog": {"columns": ["Volume", "SPY"], "used_by": ["convex"], "n": 21}}
    result = SimpleNamespace(predictions=predictions, metrics=make_metrics(predictions),
                             config=config)
    text = write_backtest_report(result, tmp_path / "ex").html.read_text()
    assert "<li>exogenous inputs: Volume, SPY (used by convex)</li>" in text
    plain = SimpleNamespace(predictions=predictions, metrics=make_metrics(predictions),
                            config={})
    assert "exogenous" not in write_backtest_report(plain, tmp_path / "plain").html.read_text()
