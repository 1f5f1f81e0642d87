"""Building blocks of the HTML report: matplotlib figures as inline SVG, escaped HTML pieces.

No Keras here: the report is drawn from a run folder's files alone. Text in the SVG is
drawn as paths (matplotlib's default ``svg.fonttype``), so the page needs no font.
"""

import hashlib
import html
import io
import math
import re

# What an inline SVG in an HTML page does not need: the RDF metadata and the namespace
# declarations (the HTML parser puts <svg> and xlink:href in their namespaces itself). Both
# spell out URLs, and a self-contained page holds none.
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_NAMESPACES = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')

# The page's style: system fonts only (no web font), readable widths, plots that scale down.
STYLE = """
:root { --ink: #1d2433; --muted: #5b6475; --line: #dde1e8; --paper: #ffffff; --band: #f5f7fa;
  --error: #c0392b; --warning: #b9770e; --info: #2e86c1; --ok: #1e8449; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--band); color: var(--ink); line-height: 1.5;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 28px 48px; background: var(--paper); min-height: 100vh; }
h1 { font-size: 1.6em; margin: 0 0 12px; }
h2 { font-size: 1.25em; margin: 0 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05em; margin: 0 0 6px; }
section { margin: 28px 0; }
nav.contents { background: var(--band); border: 1px solid var(--line); border-radius: 6px; padding: 8px 16px;
  display: inline-block; font-size: 0.92em; }
nav.contents ol { margin: 4px 0 0; padding-left: 20px; }
a { color: #1f5fa8; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 0.92em; }
th, td { text-align: left; padding: 3px 12px 3px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td { font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.92em; }
pre { background: var(--band); padding: 8px 12px; overflow-x: auto; border-radius: 4px; }
.verdict { font-weight: 600; padding: 8px 12px; border-radius: 4px; border-left: 4px solid; background: var(--band); }
.verdict.ok { border-color: var(--ok); color: var(--ok); }
.verdict.error { border-color: var(--error); color: var(--error); }
.verdict.warning { border-color: var(--warning); color: var(--warning); }
.note, .caption, .where, footer { color: var(--muted); font-size: 0.9em; }
.finding { border: 1px solid var(--line); border-left: 4px solid var(--info); border-radius: 4px;
  padding: 10px 14px; margin: 12px 0; }
.finding.error { border-left-color: var(--error); }
.finding.warning { border-left-color: var(--warning); }
.badge { font-size: 0.75em; font-weight: 700; color: #fff; padding: 1px 6px; border-radius: 3px;
  background: var(--info); vertical-align: middle; }
.badge.error { background: var(--error); }
.badge.warning { background: var(--warning); }
.tag { font-size: 0.8em; font-weight: 400; color: var(--muted); margin-left: 6px; }
details { margin: 6px 0; }
summary { cursor: pointer; color: #1f5fa8; }
details.explain > :not(summary) { margin-left: 14px; }
details.explain h2 { font-size: 1em; border: 0; margin: 10px 0 2px 14px; }
figure.plot { margin: 16px 0; }
figure.plot figcaption { font-weight: 600; margin-bottom: 4px; }
figure.plot svg { max-width: 100%; height: auto; display: block; }
footer { margin-top: 40px; border-top: 1px solid var(--line); padding-top: 8px; }
"""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def new_figure(width=7.0, height=3.2, **kwargs):
    """A matplotlib figure and its axes (``plt.subplots`` arguments), on the Agg backend."""
    return _pyplot().subplots(figsize=(width, height), **kwargs)


def svg(figure):
    """The figure as an inline ``<svg>`` element (no XML prolog); the figure is closed.

    The element's ids (glyphs, clip paths, markers) get a prefix drawn from its content: every
    figure draws its text from glyphs with the same ids, and one page may hold many figures.
    """
    plt = _pyplot()
    buffer = io.StringIO()
    try:
        with plt.rc_context({"svg.hashsalt": "keras-doctor"}):  # the same figure, the same bytes
            figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    finally:
        plt.close(figure)
    text = buffer.getvalue()
    text = _NAMESPACES.sub("", _METADATA.sub("", text[text.index("<svg"):]))
    text = re.sub(r"\n[ \t]+", "\n", text)
    prefix = "s" + hashlib.sha1(text.encode()).hexdigest()[:8] + "-"
    return text.replace(' id="', f' id="{prefix}').replace('href="#', f'href="#{prefix}').replace(
        "url(#", f"url(#{prefix}")


def plot(name, title, figure, caption=""):
    """One plot of the report: ``<figure class="plot" data-plot=NAME>`` with the SVG inside.

    The browser test finds plots by this class and checks each holds a non-empty SVG.
    """
    note = f"<p class=\"caption\">{escape(caption)}</p>" if caption else ""
    return (f"<figure class=\"plot\" data-plot=\"{escape(name)}\"><figcaption>{escape(title)}</figcaption>"
            f"{svg(figure)}{note}</figure>")


def note(text):
    """A one-line note, e.g. why a plot is left out."""
    return f"<p class=\"note\">{escape(text)}</p>"


def number(value, digits=4):
    """A number as the report prints it: ``digits`` significant digits, '-' for None, 'nan'/'inf' as is."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def escape(text):
    return html.escape(str(text), quote=True)


def section(section_id, title, body):
    return f"<section id=\"{escape(section_id)}\"><h2>{escape(title)}</h2>{body}</section>"


def table(header, rows):
    """An HTML table of already formatted cells (escaped here); ``header`` None: no header row."""
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header or ())
    head = f"<thead><tr>{head}</tr></thead>" if header is not None else ""
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table>{head}<tbody>{body}</tbody></table>"
