"""Report: RunLog + findings -> terminal tables, JSON, the HTML report and TensorBoard events. No Keras here."""

import logging

from kerasdoctor.report.terminal import render_check, render_explain_list
from kerasdoctor.report.tuning import render_compare, render_lr_find, render_tune

logger = logging.getLogger(__name__)


def write_report(run_dir):
    """Writes ``report.html`` in ``run_dir`` from the folder's files alone; returns its path."""
    from kerasdoctor.report.html import write_report as write

    return write(run_dir)


def write_report_quietly(run_dir):
    """``write_report`` for the end of a verb that has already succeeded: a report that cannot
    be drawn is one warning, not a failed command. Returns the path, or None."""
    try:
        return write_report(run_dir)
    except Exception as error:
        logger.warning("keras-doctor could not write the HTML report of %s: %s: %s",
                       run_dir, type(error).__name__, error)
        return None


def export_tensorboard(run_dir, out=None):
    """Writes TensorBoard event files for the run folder; returns their folder."""
    from kerasdoctor.report.tensorboard import export_tensorboard as export

    return export(run_dir, out)


__all__ = ["export_tensorboard", "render_check", "render_compare", "render_explain_list", "render_lr_find",
           "render_tune", "write_report", "write_report_quietly"]
