"""`partita ui` in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven
by Playwright with its executable_path; no browser is downloaded) loads each page
of the example project after a late correction and checks what a person sees: the
stale days and why, the lineage of one partition, a run going from running to
succeeded. Each page's screenshot is saved and must not be blank."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from tests.integration.web_support import Served, corrected_example, serve

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corrected_example(tmp_path_factory.mktemp("web_browser") / "example")


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Served]:
    with serve(project, "--allow-runs", "--executor", "thread") as served:
        yield served


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
            "(scripts/test-system-deps.sh); install it with apt-get install chromium"
        )
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=FLAGS,
            headless=True,
            viewport={"width": 1280, "height": 860},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    tab = browser.new_page()
    tab.set_default_timeout(30_000)
    try:
        yield tab
    finally:
        tab.close()


#: Also copy the screenshots here, to look at them (PARTITA_TEST_SCREENSHOTS=folder).
SCREENSHOTS = os.environ.get("PARTITA_TEST_SCREENSHOTS")


def screenshot(page: Page, name: str, folder: Path) -> Path:
    """Save a full-page screenshot and assert it is not blank: the browser decodes the
    PNG file and the standard deviation of its pixels' brightness must be large."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    encoded = base64.b64encode(path.read_bytes()).decode()
    checker = page.context.new_page()
    try:
        spread = checker.evaluate(
            """async (data) => {
                const image = new Image();
                image.src = "data:image/png;base64," + data;
                await image.decode();
                const canvas = document.createElement("canvas");
                canvas.width = image.width; canvas.height = image.height;
                const ctx = canvas.getContext("2d");
                ctx.drawImage(image, 0, 0);
                const px = ctx.getImageData(0, 0, image.width, image.height).data;
                let n = 0, sum = 0, squares = 0;
                for (let i = 0; i < px.length; i += 16) {
                    const y = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
                    n += 1; sum += y; squares += y * y;
                }
                const mean = sum / n;
                return Math.sqrt(squares / n - mean * mean);
            }""",
            encoded,
        )
    finally:
        checker.close()
    assert spread > 10, f"{path} looks blank (brightness spread {spread:.1f})"
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SCREENSHOTS) / path.name)
    return path


def test_graph_shows_health_groups_search_and_collapse(
    page: Page, server: Served, tmp_path: Path
) -> None:
    page.goto(server.url + "/")
    rolling = page.locator('g.node[data-key="rolling_revenue"]')
    expect(rolling).to_have_class("node h-stale")
    expect(page.locator('g.node[data-key="landing_orders"]')).to_have_class("node h-fresh")
    expect(page.locator(".band-title")).to_have_text(["▾ sales", "▾ reporting"])
    assert page.locator(".edges path").count() >= 5
    page.fill("#search", "rolling")
    expect(rolling).to_have_class("node h-stale match")
    expect(page.locator('g.node[data-key="raw_orders"]')).to_have_class("node h-stale dim")
    screenshot(page, "graph", tmp_path)
    page.fill("#search", "")
    page.click("#collapse-all")
    expect(page.locator("g.group-summary")).to_have_count(2)
    expect(page.locator("g.group-summary").first).to_contain_text("3 assets")
    page.click("#expand-all")
    page.select_option("#group-filter", "sales")
    expect(page.locator("g.node[data-key]")).to_have_count(3)
    page.select_option("#group-filter", "")
    rolling.click()
    expect(page.locator("#asset-title")).to_contain_text("rolling_revenue")


def test_asset_page_shows_the_late_correction_as_stale_days_with_reasons(
    page: Page, server: Served, tmp_path: Path
) -> None:
    page.goto(server.url + "/asset?key=rolling_revenue")
    expect(page.locator("#counts")).to_contain_text("24 fresh, 7 stale, 0 missing, 0 failed")
    stale = page.locator(".strip .seg.stale")
    expect(stale).to_have_count(1)
    expect(stale).to_have_attribute("data-first", "2025-01-07")
    expect(stale).to_have_attribute("data-last", "2025-01-13")
    stale.hover()
    tooltip = page.locator("#tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("2025-01-07..2025-01-13 (7): stale")
    expect(tooltip).to_contain_text("upstream_stale: daily_revenue 2025-01-07")
    expect(page.locator("#stale")).to_contain_text("2025-01-07..2025-01-13")
    expect(page.locator("#code-version")).not_to_be_empty()
    screenshot(page, "asset", tmp_path)
    page.fill("#explain-form input[name=explain]", "2025-01-09")
    page.click("#explain-form button")
    explain = page.locator("#explain")
    expect(explain).to_contain_text("raw_orders")
    expect(explain).to_contain_text("landing_orders changed since this partition was built")


def test_partition_page_shows_its_lineage_and_history(
    page: Page, server: Served, tmp_path: Path
) -> None:
    page.goto(server.url + "/asset?key=daily_revenue")
    page.locator('.strip .seg[data-first="2025-01-07"]').click()
    expect(page.locator("#partition-title")).to_contain_text("daily_revenue 2025-01-07")
    upstream = page.locator("#upstream")
    for name in ("clean_orders", "raw_orders", "landing_orders"):
        expect(upstream).to_contain_text(name)
    expect(upstream).to_contain_text("superseded")  # the shop re-sent that day since
    downstream = page.locator("#downstream")
    expect(downstream.locator("li li")).to_have_count(8)  # 7 rolling windows + slow_report
    expect(downstream).to_contain_text("2025-01-13")
    expect(downstream).not_to_contain_text("2025-01-14")
    expect(page.locator("#history tbody tr")).to_have_count(1)
    screenshot(page, "partition", tmp_path)


def test_a_run_started_from_the_page_goes_from_running_to_succeeded(
    page: Page, server: Served, project: Path, tmp_path: Path
) -> None:
    page.goto(server.url + "/asset?key=slow_report")
    page.get_by_role("button", name="Materialize stale partitions…").click()
    plan = page.locator("#plan")
    expect(plan).to_contain_text("slow_report")
    expect(page.locator("#plan-total")).to_have_text("4 partitions of 4 assets to build")
    page.click("#confirm")
    page.wait_for_url("**/runs/*")
    status = page.locator("#run-status")
    expect(status).to_have_attribute("data-status", "running")
    expect(page.locator("#steps")).to_contain_text("slow_report")
    expect(page.locator("#events")).to_contain_text("StepStarted slow_report[2025-01-07]")
    screenshot(page, "run-running", tmp_path)
    strip = page.context.new_page()
    try:
        strip.goto(server.url + "/asset?key=slow_report")
        running = strip.locator(".strip .seg.running")
        expect(running).to_have_attribute("data-first", "2025-01-07")
        expect(strip.locator("#counts")).to_contain_text("1 running")
    finally:
        strip.close()
    (project / "gate").touch()
    expect(status).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(page.locator("#events")).to_contain_text("RunFinished succeeded")
    expect(page.locator("#progress-text")).to_have_text("4 of 4 steps finished")
    expect(page.locator("#logs")).to_contain_text("waiting for the gate of 2025-01-07")
    screenshot(page, "run-succeeded", tmp_path)
    page.goto(server.url + "/asset?key=daily_revenue")
    expect(page.locator("#counts")).to_contain_text("31 fresh")  # +slow_report rebuilt it
