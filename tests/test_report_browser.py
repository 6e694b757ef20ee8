"""The backtest report as a reader sees it: rendered by headless Chromium at 1280 px.

The report is rendered by Debian's ``chromium`` (CI installs it, see ``.ci/run``; no browser is
downloaded). A copy of the page gets an inline script that, once everything has loaded, opens
every ``<details>`` element and writes its measurements into the DOM as JSON; ``--dump-dom``
returns that DOM. The page itself has no script. Without chromium the test skips and says how to
install it, except in CI (``CONVEXFORECAST_REQUIRE_BROWSER``, set by ``.ci/run``), where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from convexforecast.forecasting.backtest import backtest
from convexforecast.forecasting.baselines import LinearARForecaster, NaiveForecaster
from convexforecast.forecasting.convex import ConvexARForecaster
from convexforecast.forecasting.strategy import run_strategy
from convexforecast.report import write_backtest_report

WIDTH, HEIGHT = 1280, 3800
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  f"--window-size={WIDTH},{HEIGHT}", "--virtual-time-budget=10000"]
MEASURE = """
<script>
window.addEventListener("load", function () {
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  var root = document.documentElement;
  var images = Array.from(document.images);
  var wraps = Array.from(document.querySelectorAll(".table-wrap"));
  var out = {
    innerWidth: window.innerWidth,
    scrollWidth: root.scrollWidth,
    images: images.length,
    broken: images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                  .map(function (i) { return i.alt; }),
    tables: wraps.length,
    scrolledTables: wraps.filter(function (w) { return w.scrollWidth > w.clientWidth; })
                         .map(function (w) { return w.querySelector("tr").textContent; }),
    headline: (document.querySelector(".headline") || {}).textContent || null,
    headings: Array.from(document.querySelectorAll("h2")).map(function (h) { return h.textContent; })
  };
  var pre = document.createElement("pre");
  pre.id = "measurements";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def chromium() -> str:
    """The chromium executable. Without it the test skips, naming how to install it, unless
    ``CONVEXFORECAST_REQUIRE_BROWSER`` is set (``.ci/run`` sets it): CI always renders."""
    path = shutil.which("chromium")
    if path is None:
        message = ("Debian's chromium is needed to render the report: run "
                   "`apt-get install -y chromium` (.ci/run installs it).")
        if os.environ.get("CONVEXFORECAST_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def render(html_file, tmp_path) -> dict:
    """Load the page at 1280 px in headless Chromium and return its measurements."""
    page = tmp_path / "measured.html"
    text = html_file.read_text(encoding="utf-8")
    assert "<script" not in text  # the report itself runs nothing
    page.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    proc = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                           "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=180)
    match = re.search(r'<pre id="measurements">(.*?)</pre>', proc.stdout, re.S)
    assert match, f"chromium returned no measurements (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(match.group(1).replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">").replace("&quot;", '"'))


def _prices(n: int = 330) -> pd.Series:
    """Log returns of a threshold AR process: the convex net finds structure in it."""
    rng = np.random.default_rng(11)
    r = np.zeros(n)
    for t in range(2, n):
        r[t] = 0.5 * max(r[t - 1], 0.0) - 0.3 * r[t - 2] + rng.normal(0, 0.01)
    return pd.Series(100 * np.exp(np.cumsum(r)), index=pd.date_range("2021-01-04", periods=n,
                                                                      freq="B"))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A real backtest: a CV-chosen and a fixed-β convex net, an empty one, baselines."""
    y = _prices()
    models = {"convex": ConvexARForecaster(lags=3, depth=3, beta="cv", cv=3, n_betas=8),
              "convex d4": ConvexARForecaster(lags=3, depth=4, beta=2.0),
              "convex empty": ConvexARForecaster(lags=3, depth=2, beta=1e6),
              "naive": NaiveForecaster(), "linear": LinearARForecaster(lags=3)}
    result = backtest(models, y, initial_train_size=250, steps=2, refit=20, show_progress=False,
                      intervals={"method": "conformal", "level": 0.9})
    strategies = {m: run_strategy(result, y, model=m, horizon=1) for m in result.models
                  if m != "naive"}
    directory = tmp_path_factory.mktemp("report")
    files = write_backtest_report(result, directory, strategies=strategies,
                                  notes=["data: a threshold AR process"])
    return result, files


def test_report_renders_at_1280px_without_overflow(report, tmp_path):
    result, files = report
    measured = render(files.html, tmp_path)
    assert measured["innerWidth"] == WIDTH
    assert measured["scrollWidth"] <= WIDTH, measured
    assert measured["scrolledTables"] == [] and measured["tables"] >= 6, measured
    assert measured["images"] == len(files.plots) >= 6
    assert measured["broken"] == []
    headline = measured["headline"]
    assert headline and "random walk" in headline and "5% level" in headline
    assert measured["headings"][:3] == ["Accuracy against the random walk", "Forecasts",
                                        "What the network learned"]


def test_report_headline_and_sections_say_what_the_backtest_shows(report):
    result, files = report
    text = files.html.read_text(encoding="utf-8")
    dm = result.dm_tests("naive")
    better = sorted({m for (m, _), row in dm.iterrows()
                     if row["pvalue"] < 0.05 and row["statistic"] < 0})
    headline = re.search(r'<p class="headline">(.*?)</p>', text).group(1)
    if better:
        assert all(m in headline for m in better) and "beat the random walk" in headline
    else:
        assert headline.startswith("No model beat the random walk")
    assert "The network is empty" in text  # the β = 1e6 net, in words
    for name in ("convex", "convex-d4"):
        assert f"network_{name}_response.png" in text
    assert "network_convex_cv.png" in text and "network_convex-empty_cv.png" not in text
    assert "network_convex-empty_response.png" not in text
    assert text.count("Certificates of all") == 3


@pytest.mark.slow
def test_the_default_command_line_report_renders_well(tmp_path, monkeypatch):
    """`convexforecast backtest` with its defaults (S&P 500, 250 origins, refit every 50), less
    the slow Adam baseline: the page a user gets."""
    from convexforecast.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["backtest", "--models", "convex,arima,naive", "--no-progress",
                 "--out", "report"]) == 0
    measured = render(tmp_path / "report" / "report.html", tmp_path)
    assert measured["scrollWidth"] <= WIDTH and measured["scrolledTables"] == [], measured
    assert measured["broken"] == [] and measured["images"] >= 4
    assert "random walk (naive)" in measured["headline"]
    assert "What the network learned" in measured["headings"]


def test_a_report_of_many_series_renders_without_overflow(tmp_path):
    rng = np.random.default_rng(5)
    index = pd.bdate_range("2021-01-04", periods=160)
    frame = pd.DataFrame({name: 100 * np.exp(np.cumsum(rng.normal(0, vol, 160)))
                          for name, vol in (("AAA", 0.01), ("BBB", 0.02), ("CCC", 0.015))},
                         index=index)
    models = {"local": ConvexARForecaster(lags=2, beta="cv", cv=3, n_betas=4),
              "global": ConvexARForecaster(lags=2, beta="cv", cv=3, n_betas=4,
                                           global_model=True),
              "naive": NaiveForecaster()}
    result = backtest(models, frame, initial_train_size="2021-06-01", refit=20,
                      show_progress=False, intervals={"method": "conformal", "level": 0.9})
    files = write_backtest_report(
        result, tmp_path / "panel",
        tables={"metrics_by_series": result.metrics_by_series,
                "dm_tests_by_series": result.dm_tests("naive", by_series=True)})
    measured = render(files.html, tmp_path)
    assert measured["scrollWidth"] <= WIDTH and measured["scrolledTables"] == [], measured
    assert measured["broken"] == [] and measured["images"] == len(files.plots)
    assert "pooled over 3 series" in measured["headline"]
    text = files.html.read_text(encoding="utf-8")
    assert "Last refit on series AAA" in text and "relative_error.png" not in text
