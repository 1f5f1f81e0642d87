"""Results show their run's report in a notebook (``_repr_html_``), isolated in a frame."""

import html
import json
from pathlib import Path

from kerasdoctor.report.notebook import lr_find_notebook_html, notebook_html
from tests.unit.test_report_html import FINDINGS, rich_log, run_folder

DATA = Path(__file__).resolve().parents[1] / "data" / "report_tuning"


def _page_in(frame):
    assert frame.startswith("<iframe srcdoc=\"") and frame.endswith("</iframe>")
    return html.unescape(frame[len("<iframe srcdoc=\""):frame.index("\" style=")])


def test_a_run_folder_shows_its_whole_report_in_a_frame(tmp_path):
    page = _page_in(notebook_html(run_folder(tmp_path / "run", rich_log(), FINDINGS)))
    assert page.startswith("<!DOCTYPE html>") and "data-plot=\"gradient_norm\"" in page
    assert "VANISHING_GRADIENTS" in page


def test_an_lr_find_result_without_a_run_folder_shows_its_curve():
    data = json.loads((DATA / "lr_find.json").read_text())
    page = _page_in(lr_find_notebook_html(data))
    assert "data-plot=\"lr_find_curve\"" in page and "<svg" in page


def test_a_folder_that_cannot_be_drawn_falls_back_to_the_plain_repr_without_raising(tmp_path, caplog):
    assert notebook_html(tmp_path / "missing") is None
    assert "could not draw the report" in caplog.text
