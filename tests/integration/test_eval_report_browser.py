"""The HTML report opens in a real headless Chromium with no network and draws its plots."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.report import write_html_report
from evals.store import RunStore

pytestmark = pytest.mark.integration
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _run(settings, variant: str, values: list[float]) -> str:  # type: ignore[no-untyped-def]
    store = RunStore.for_home(settings.home)
    run_id = store.create_run("sample", variant, {"metrics": ["faithfulness", "token_f1"]})
    for i, v in enumerate(values):
        store.save_row(run_id, f"r{i}", i, {"question": f"q{i}?", "scores": {
            "faithfulness": {"value": v}, "token_f1": {"value": 1 - v}}})
    store.set_status(run_id, "done")
    return run_id


def test_report_renders_plots_offline(settings, tmp_path: Path) -> None:
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail("Debian chromium and chromium-driver are needed: apt-get install chromium "
                    "chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    a = _run(settings, "answer@1", [0.2, 0.5, 0.4])
    b = _run(settings, "answer@2", [0.7, 0.9, 0.6])
    page = write_html_report(settings, [a, b], tmp_path / "report.html")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--proxy-server=http://127.0.0.1:9", "--window-size=1400,1100"):
        opts.add_argument(arg)  # the dead proxy: any attempt to fetch from the web would fail
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.get(page.as_uri())
        plots = driver.find_elements(By.CSS_SELECTOR, "div.plotly-graph-div")
        assert len(plots) == 2
        assert driver.execute_script("return typeof Plotly") == "object"
        # Drawn, not just embedded: bars (2 runs x 2 metrics) and scatter points are SVG shapes.
        bars = driver.find_elements(By.CSS_SELECTOR, "g.point path")
        points = driver.find_elements(By.CSS_SELECTOR, "g.points path.point")
        assert len(bars) >= 4 and len(points) == 6
        assert "answer@2" in driver.find_element(By.TAG_NAME, "table").text
    finally:
        driver.quit()
