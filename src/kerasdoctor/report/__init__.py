"""Report: RunLog + findings -> terminal tables and JSON. No Keras here."""

from kerasdoctor.report.terminal import render_check, render_explain_list

__all__ = ["render_check", "render_explain_list"]
