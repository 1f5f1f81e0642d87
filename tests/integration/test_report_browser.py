"""The HTML report in a real headless Chromium with the network off, and the harness's own checks."""

import http.server
import threading
from pathlib import Path

import pytest

from kerasdoctor.report import plots, write_report
from tests import browser as browser_harness
from tests.browser import artifacts, assert_report_renders, browser, open_page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="module")
def check_run(tmp_path_factory):
    """A check run folder of a deep sigmoid network that cannot learn (two epochs, a few seconds)."""
    from kerasdoctor.checkup import run_check
    from kerasdoctor.workload import load_workload

    out = tmp_path_factory.mktemp("check") / "run"
    return run_check(load_workload(EXAMPLES / "broken" / "deep_sigmoid.py"), epochs=2, out=out).run_dir


def test_the_check_report_renders_in_the_browser(browser, artifacts, check_run):
    found = assert_report_renders(browser, write_report(check_run), artifacts / "check-report.png")
    assert len({plot["name"] for plot in found}) == len(found)  # each plot once


def _page(folder, body, name="page.html"):
    path = Path(folder) / name
    path.write_text(f"<!doctype html><html><head><meta charset=\"utf-8\"><title>t</title></head>"
                    f"<body><h1>A page</h1><p>Some text to look at.</p>{body}</body></html>")
    return path


def _line_plot():
    figure, axes = plots.new_figure()
    axes.plot([0, 1, 2, 3], [2.3, 1.1, 0.6, 0.4], label="loss")
    axes.set_xlabel("epoch")
    axes.legend()
    return plots.plot("loss", "Loss", figure, caption="a curve")


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_GET(self):
        self.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript")
        self.end_headers()
        self.wfile.write(b"console.log('loaded');")

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    """An HTTP server on loopback that records every request it gets."""
    _CountingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_browser_reaches_neither_the_internet_nor_loopback(browser, loopback_server, tmp_path):
    port = loopback_server.server_address[1]
    local = f"http://127.0.0.1:{port}/script.js"
    page = _page(tmp_path, f"<script src=\"{local}\"></script><img src=\"https://example.com/pixel.png\">"
                           + _line_plot())
    errors = open_page(browser, page)
    assert _CountingHandler.requests == []
    failed = " ".join(entry["message"] for entry in errors)
    assert local in failed and "https://example.com/pixel.png" in failed
    with pytest.raises(AssertionError, match="logged errors in the browser"):
        assert_report_renders(browser, page, tmp_path / "page.png")


def test_a_page_with_a_drawn_plot_renders_and_its_screenshot_is_saved(browser, artifacts, tmp_path):
    page = _page(tmp_path, _line_plot())
    screenshot = artifacts / "harness-line-plot.png"
    found = assert_report_renders(browser, page, screenshot)
    assert [plot["name"] for plot in found] == ["loss"]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


FIGURE = "<figure class=\"plot\" data-plot=\"{name}\">{svg}</figure>"
SVG = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"60\">{inside}</svg>"
LINE = "<path d=\"M 0 0 L 120 60\" stroke=\"{colour}\" stroke-width=\"3\"/>"


@pytest.mark.parametrize("body, message", [
    ("<script>console.error('boom')</script>" + FIGURE.format(name="a", svg=SVG.format(
        width=120, inside=LINE.format(colour="black"))), "logged errors in the browser"),
    ("<script>undefined_function()</script>" + FIGURE.format(name="a", svg=SVG.format(
        width=120, inside=LINE.format(colour="black"))), "logged errors in the browser"),
    ("", "has no figure.plot element"),
    (FIGURE.format(name="empty", svg=""), "plot 'empty' holds no <svg>"),
    (FIGURE.format(name="flat", svg=SVG.format(width=0, inside=LINE.format(colour="black"))),
     "plot 'flat' has an empty box"),
    (FIGURE.format(name="bare", svg=SVG.format(width=120, inside="<defs><path d=\"M 0 0 L 9 9\"/></defs>")),
     "plot 'bare' draws nothing"),
], ids=["console-error", "uncaught-exception", "no-plot", "no-svg", "zero-size", "nothing-drawn"])
def test_the_harness_fails_a_page_that_does_not_render(browser, tmp_path, body, message):
    with pytest.raises(AssertionError, match=message):
        assert_report_renders(browser, _page(tmp_path, body), tmp_path / "page.png")


def test_the_harness_fails_a_blank_screenshot(browser, tmp_path):
    white = ("<style>body{color:white;background:white}</style>"
             + FIGURE.format(name="white", svg=SVG.format(width=120, inside=LINE.format(colour="white"))))
    with pytest.raises(AssertionError, match="the screenshot is blank"):
        assert_report_renders(browser, _page(tmp_path, white), tmp_path / "page.png")
    assert (tmp_path / "page.png").is_file()  # kept, to look at


@pytest.mark.parametrize("ci, outcome", [("", pytest.skip.Exception), ("true", pytest.fail.Exception)])
def test_a_missing_chromium_skips_outside_ci_and_fails_in_ci(monkeypatch, ci, outcome):
    monkeypatch.setattr(browser_harness.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="apt-get install chromium chromium-driver"):
        browser_harness.start_browser()


# Every verb writes its report.html; each is opened in the one browser of the session.

def _verb(*args):
    from tests.integration.test_cli import invoke

    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().splitlines()[-1].startswith("report: ")  # the last line names the report
    return result


def _names(found):
    return {plot["name"] for plot in found}


def test_the_check_verb_report_holds_its_plots_and_rebuilds_from_a_copied_folder(browser, artifacts, tmp_path):
    import shutil

    run = tmp_path / "run"
    _verb("check", EXAMPLES / "broken" / "deep_sigmoid.py", "--epochs", "2", "--out", run)
    found = assert_report_renders(browser, run / "report.html", artifacts / "check-verb-report.png")
    assert {"loss", "metrics", "gradient_norm", "update_ratio", "saturated_units"} <= _names(found)
    copy = tmp_path / "elsewhere" / "copied-run"
    shutil.copytree(run, copy)
    (copy / "report.html").unlink()
    _verb("report", copy)
    assert (copy / "report.html").read_text() == (run / "report.html").read_text()


def test_the_lr_find_report_renders_its_curve(browser, artifacts, tmp_path):
    run = tmp_path / "run"
    _verb("lr-find", EXAMPLES / "digits_mlp.py", "--steps", "40", "--out", run)
    found = assert_report_renders(browser, run / "report.html", artifacts / "lr-find-report.png")
    assert "lr_find_curve" in _names(found)


def test_the_compare_report_renders_the_variants_over_seeds(browser, artifacts, tmp_path):
    run = tmp_path / "run"
    _verb("compare", EXAMPLES / "breast_cancer_mlp.py", "--optimizers", "sgd,adam", "--seeds", "2",
          "--epochs", "3", "--out", run)
    found = assert_report_renders(browser, run / "report.html", artifacts / "compare-report.png")
    assert {"compare_curves", "compare_best"} <= _names(found)


def test_the_tune_report_renders_history_importance_and_the_best_run(browser, artifacts, tmp_path, write_workload):
    from tests.integration.test_tune import TINY

    run = tmp_path / "run"
    _verb("tune", write_workload(TINY), "--trials", "3", "--storage", f"sqlite:///{tmp_path / 's.db'}", "--out", run)
    found = assert_report_renders(browser, run / "report.html", artifacts / "tune-report.png")
    assert {"tune_history", "tune_importance", "loss"} <= _names(found)
