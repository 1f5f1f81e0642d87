"""Report: RunLog + findings -> terminal tables and JSON. No Keras here."""

from kerasdoctor.report.terminal import render_check, render_explain_list
from kerasdoctor.report.tuning import render_compare, render_lr_find, render_tune

__all__ = ["render_check", "render_compare", "render_explain_list", "render_lr_find", "render_tune"]
