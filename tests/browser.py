"""A real headless Chromium for the HTML report, with the network off.

One browser serves every test of a session (``browser`` fixture, imported by the test
modules that use it). It is Debian's Chromium driven by Debian's chromedriver, so nothing is
downloaded. The network is off twice over: every request goes to a proxy that does not exist
(loopback included), no host name resolves, and DevTools puts the page offline; a page that
reaches for anything outside its own file fails to load it, and says so in the console.

Without Chromium or chromedriver the browser tests skip, except in CI (``CI`` set), where they fail.
"""

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image

PACKAGES = "chromium chromium-driver"
NETWORK_OFF = (
    "--proxy-server=127.0.0.1:9",  # the discard port: nothing listens there
    "--proxy-bypass-list=<-loopback>",  # send loopback through that proxy too
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
# A screenshot is blank when it is one colour, or nearly: the floors are far below what a
# page with one line of text reaches, and far above a white page's zero.
MIN_PIXEL_STD = 0.01
MIN_COLOURS = 8
MAX_SCREENSHOT_HEIGHT = 16384  # Chromium draws no taller surface
WINDOW = (1280, 900)


def _missing_browser(reason):
    message = f"{reason}; the browser tests need Debian's packages: apt-get install {PACKAGES}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def start_browser():
    """A headless Chromium with the network off, and the browser log kept for every level."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing_browser("selenium is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        _missing_browser(f"no {'chromium' if not chromium else 'chromedriver'} on PATH")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}", *NETWORK_OFF):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                           {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    return driver


@pytest.fixture(scope="session")
def browser():
    driver = start_browser()
    yield driver
    driver.quit()


@pytest.fixture
def artifacts(tmp_path):
    """Where screenshots go: $KERAS_DOCTOR_ARTIFACTS when set (CI keeps them), else the test's tmp_path."""
    folder = os.environ.get("KERAS_DOCTOR_ARTIFACTS")
    if not folder:
        return tmp_path
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_page(driver, html_path):
    """Loads a file and returns the SEVERE browser-log entries it caused (console errors,
    uncaught exceptions, failed loads)."""
    driver.get("about:blank")
    driver.get_log("browser")  # drop what an earlier page left
    driver.get(Path(html_path).resolve().as_uri())
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


PLOTS_SCRIPT = """
return [...document.querySelectorAll("figure.plot")].map(figure => {
  const svg = figure.querySelector("svg");
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  const drawn = svg ? [...svg.querySelectorAll("path, image, use")].filter(e => !e.closest("defs")).length : 0;
  return {name: figure.dataset.plot || "", svg: !!svg, width: box.width, height: box.height, drawn: drawn};
});
"""


def plots(driver):
    """[{name, svg, width, height, drawn}] of the page's ``figure.plot`` elements."""
    return driver.execute_script(PLOTS_SCRIPT)


def full_page_screenshot(driver):
    """A PNG of the whole page: the window is made as tall as the document first."""
    driver.set_window_size(*WINDOW)  # scrollHeight is never below the window's own height
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WINDOW[0], min(max(height, WINDOW[1]), MAX_SCREENSHOT_HEIGHT))
    return driver.get_screenshot_as_png()


def blank_reason(png):
    """Why a PNG screenshot is blank, or None when it shows something."""
    pixels = image.imread(io.BytesIO(png), format="png")[..., :3]
    codes = np.round(pixels * 255).astype(np.uint32)
    colours = len(np.unique(codes[..., 0] << 16 | codes[..., 1] << 8 | codes[..., 2]))
    if pixels.std() < MIN_PIXEL_STD or colours < MIN_COLOURS:
        return f"the screenshot is blank: pixel standard deviation {pixels.std():.4f}, {colours} colour(s)"
    return None


def assert_report_renders(driver, html_path, screenshot_path):
    """Opens a report and asserts it renders: no console error, every plot an SVG with a size
    and something drawn in it, a screenshot that is not blank (saved to ``screenshot_path``)."""
    errors = open_page(driver, html_path)
    assert not errors, f"{html_path} logged errors in the browser: {errors}"
    found = plots(driver)
    assert found, f"{html_path} has no figure.plot element"
    for plot in found:
        assert plot["svg"], f"plot {plot['name']!r} holds no <svg>"
        assert plot["width"] > 0 and plot["height"] > 0, f"plot {plot['name']!r} has an empty box: {plot}"
        assert plot["drawn"] > 0, f"plot {plot['name']!r} draws nothing (no path, image or use): {plot}"
    png = full_page_screenshot(driver)
    Path(screenshot_path).write_bytes(png)
    reason = blank_reason(png)
    assert reason is None, f"{html_path}: {reason} (saved to {screenshot_path})"
    return found
