"""The HTML report inside a notebook: results render their run's report in an isolated frame."""

import logging

from kerasdoctor.report.plots import escape

logger = logging.getLogger(__name__)


def notebook_html(run_dir, *, height=720):
    """``_repr_html_`` of a result: the run's report in an ``<iframe srcdoc>``.

    The frame keeps the report's page style from restyling the notebook. Returns None
    (the notebook then shows the plain repr) when the report cannot be drawn.
    """
    from kerasdoctor.report.html import render_report

    return _framed(lambda: render_report(run_dir), run_dir, height)


def lr_find_notebook_html(data, *, height=720):
    """``_repr_html_`` of an ``lr_find`` result (``data``: its ``to_dict()``), which has no run folder."""
    from kerasdoctor.report.html import document
    from kerasdoctor.report.html_tuning import lr_find_body

    return _framed(lambda: document("keras-doctor lr-find", lr_find_body(None, data)), "the lr_find result", height)


def _framed(render, what, height):
    try:
        page = render()
    except Exception as error:  # a notebook display must never raise
        logger.warning("keras-doctor could not draw the report of %s: %s", what, error)
        return None
    return (f"<iframe srcdoc=\"{escape(page)}\" style=\"width:100%;height:{int(height)}px;border:0\" "
            f"sandbox=\"allow-scripts\" title=\"keras-doctor report\"></iframe>")
