"""Playwright driving Debian's Chromium against Django's live server.

Skips with a clear reason when Chromium or Playwright is missing, so the suite still
passes on a bare machine; CI installs Chromium (.ci/run) so it runs there.
Screenshots land in artifacts/screenshots/ as test artifacts.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


# Module scope: Playwright's sync API keeps an event loop running in this thread while
# it is open, which would break later tests that start their own loops.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser test skipped: Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser test skipped: the playwright package is not installed")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test
    # makes between browser steps are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def admin_sign_in(page, live_server, email: str, password: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")


# --- A line at the end of every run saying what happened to the browser tests ---------
# Skips are easy to miss among dots; whoever runs `make test` should know whether the
# admin was really driven in a browser, and where the screenshots are.

_outcomes: dict[str, list] = {"passed": [], "failed": [], "skipped": []}


def pytest_runtest_logreport(report):
    if "browser" not in report.keywords:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        reason = report.longrepr[-1] if report.skipped and isinstance(report.longrepr, tuple) else ""
        _outcomes[report.outcome].append(reason)


def pytest_terminal_summary(terminalreporter):
    passed, failed, skipped = (_outcomes[key] for key in ("passed", "failed", "skipped"))
    if not (passed or failed or skipped):
        return
    if skipped and not (passed or failed):
        reason = skipped[0].removeprefix("Skipped: ")
        terminalreporter.write_line(f"Browser tests: all {len(skipped)} SKIPPED ({reason})", yellow=True, bold=True)
        return
    terminalreporter.write_line(
        f"Browser tests: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped in Chromium "
        f"({CHROMIUM}); screenshots in {SCREENSHOTS}",
        green=not failed,
        red=bool(failed),
    )
