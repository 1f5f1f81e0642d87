"""Building blocks of the HTML report: matplotlib figures as inline SVG, escaped HTML pieces.

No Keras here: the report is drawn from a run folder's files alone. Text in the SVG is
drawn as paths (matplotlib's default ``svg.fonttype``), so the page needs no font.
"""

import html
import io


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def new_figure(width=7.0, height=3.2, **kwargs):
    """A matplotlib figure and its axes (``plt.subplots`` arguments), on the Agg backend."""
    return _pyplot().subplots(figsize=(width, height), **kwargs)


def svg(figure):
    """The figure as an inline ``<svg>`` element (no XML prolog); the figure is closed."""
    plt = _pyplot()
    buffer = io.StringIO()
    try:
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    finally:
        plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def plot(name, title, figure, caption=""):
    """One plot of the report: ``<figure class="plot" data-plot=NAME>`` with the SVG inside.

    The browser test finds plots by this class and checks each holds a non-empty SVG.
    """
    note = f"<p class=\"caption\">{escape(caption)}</p>" if caption else ""
    return (f"<figure class=\"plot\" data-plot=\"{escape(name)}\"><figcaption>{escape(title)}</figcaption>"
            f"{svg(figure)}{note}</figure>")


def escape(text):
    return html.escape(str(text), quote=True)


def section(section_id, title, body):
    return f"<section id=\"{escape(section_id)}\"><h2>{escape(title)}</h2>{body}</section>"


def table(header, rows):
    """An HTML table of already formatted cells (escaped here)."""
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
