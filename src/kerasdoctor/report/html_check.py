"""The plots of the check page: training curves with a marker where each finding was first seen,
and per-layer signals over training as heatmaps (layers in model order, probes along the steps).

Each function returns one ``plots.plot`` element, or a one-line note that says why it is left out:
the page never holds an empty plot.
"""

import math

import numpy as np

from kerasdoctor.diagnose.base import SEVERITIES
from kerasdoctor.diagnose.series import epoch_losses, gradient_probes, is_finite, kernel_layers, layers, probe_losses
from kerasdoctor.report.plots import new_figure, note, plot
from kerasdoctor.vocabulary import SATURATING

SEVERITY_COLORS = {"error": "#c0392b", "warning": "#d68910", "info": "#2e86c1"}
NONFINITE_COLOR = "#8e44ad"
ZERO_COLOR = "#ffffff"
MISSING_COLOR = "#d9d9d9"
# Past this many cells a heatmap is embedded as a bitmap inside its SVG: a vector cell costs ~150 bytes.
MAX_VECTOR_CELLS = 300


def epoch_axis(log):
    """A function from training step to the epoch axis (epoch k ends at k + 1), read from the epoch
    records' steps; None when no epoch ended or the steps do not grow."""
    steps = [0] + [e["step"] for e in log.epochs]
    if len(steps) < 2 or any(b < a for a, b in zip(steps, steps[1:])) or steps[-1] <= 0:
        return None
    ends = list(range(len(steps)))
    per_epoch = steps[-1] / (len(steps) - 1)

    def to_epoch(step):
        if step > steps[-1]:
            return ends[-1] + (step - steps[-1]) / per_epoch
        return float(np.interp(step, steps, ends))

    return to_epoch


def _values(values):
    """Floats with None, NaN and Inf as NaN: a gap in the line."""
    return np.array([v if is_finite(v) else np.nan for v in values], dtype=float)


def _first_nonfinite(series):
    """The smallest x at which a value is present but not finite (NaN/Inf), or None."""
    found = [x for xs, ys in series for x, y in zip(xs, ys) if y is not None and not is_finite(y)]
    return min(found) if found else None


def _finding_x(finding, to_x):
    return 0.0 if finding.get("step") is None else to_x(finding["step"])


def _mark_findings(axes, findings, to_x):
    """A dashed line at each finding's first step, labelled with its code (the text's SVG group is
    ``finding-CODE``); findings read before training (no step) at 0. Labels of lines that nearly
    touch are set side by side."""
    at = {}
    for finding in findings:
        at.setdefault(_finding_x(finding, to_x), {})[finding["code"]] = finding
    for x in at:
        axes.axvline(x, linewidth=0)  # the axes widen to every marker before the labels are placed
    low, high = axes.get_xlim()
    previous, beside = None, 0
    for x, found in sorted(at.items()):
        worst = max(found.values(), key=lambda f: SEVERITIES.index(f["severity"]))
        axes.axvline(x, color=SEVERITY_COLORS[worst["severity"]], linestyle="--", linewidth=1)
        beside = beside if previous is not None and x - previous < 0.02 * (high - low) else 0
        # Labels sit left of their line, or right of it near the left edge, off the tick labels.
        side = 1 if x - low < 0.1 * (high - low) else -1
        for finding in found.values():
            label = axes.annotate(finding["code"], (x, 0.97), xycoords=axes.get_xaxis_transform(),
                                  xytext=(side * (2 + 9 * beside), 0), textcoords="offset points", rotation=90,
                                  ha="left" if side > 0 else "right",
                                  va="top", fontsize=7, color=SEVERITY_COLORS[finding["severity"]],
                                  bbox=dict(facecolor="white", edgecolor="none", alpha=0.7, pad=0.5))
            label.set_gid(f"finding-{finding['code']}")
            beside += 1
        previous = x


def markers_caption(findings, to_x, unit):
    """The findings' markers in words: where each was first seen."""
    def place(finding):
        if finding.get("step") is None:
            return "before training"
        return f"at step {finding['step']}" + (f" (epoch {to_x(finding['step']):.3g})" if unit == "epoch" else "")

    places = ", ".join(f"{finding['code']} {place(finding)}" for finding in findings)
    return f"Dashed lines: where each finding was first seen ({places})." if findings else ""


def _legend(axes):
    """The legend right of the axes, where it hides neither data nor a marker."""
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)


def _mark_nonfinite(axes, x, what):
    axes.axvline(x, color=NONFINITE_COLOR, linewidth=1.5).set_gid("nonfinite")
    axes.text(x, 0.03, f" {what} non-finite", transform=axes.get_xaxis_transform(), fontsize=7,
              color=NONFINITE_COLOR, va="bottom")


def _scale(axes, values):
    finite = [v for v in values if is_finite(v)]
    if finite and min(finite) > 0 and max(finite) / min(finite) > 30:
        axes.set_yscale("log")


def _dots(log, size):
    """A dot at each epoch's value while they stay apart."""
    return dict(marker="o", markersize=size) if len(log.epochs) <= 60 else {}


def _epoch_series(log, key, to_x):
    points = epoch_losses(log, key)
    return [to_x(step) for step, _ in points], [value for _, value in points]


def loss_plot(log, findings):
    """Training and validation loss per epoch, the probe-batch loss per step, the findings marked."""
    to_x = epoch_axis(log) or float
    series = {"train loss (epoch)": _epoch_series(log, "loss", to_x),
              "validation loss (epoch)": _epoch_series(log, "val_loss", to_x)}
    probes = probe_losses(log)
    series["probe-batch loss (step)"] = ([to_x(step) for step, _ in probes], [loss for _, loss in probes])
    if not any(xs for xs, _ in series.values()):
        return note("No loss curve: the log holds no epoch and no probe loss.")
    figure, axes = new_figure()
    dots = _dots(log, 2.5)
    styles = {"train loss (epoch)": dict(color="#1f77b4", **dots),
              "validation loss (epoch)": dict(color="#ff7f0e", **dots),
              "probe-batch loss (step)": dict(color="#7f7f7f", linewidth=0.8, alpha=0.8)}
    for label, (xs, ys) in series.items():
        if xs:
            axes.plot(xs, _values(ys), label=label, **styles[label])
    _scale(axes, [y for _, ys in series.values() for y in ys])
    nonfinite = _first_nonfinite(series.values())
    if nonfinite is not None:
        _mark_nonfinite(axes, nonfinite, "loss")
    _mark_findings(axes, findings, to_x)
    unit = "epoch" if to_x is not float else "step"
    axes.set_xlabel(unit)
    axes.set_ylabel("loss")
    _legend(axes)
    axes.grid(alpha=0.3)
    caption = markers_caption(findings, to_x, unit)
    if nonfinite is not None:
        caption = f"{caption} Solid purple line: the loss became NaN or infinite at {unit} {nonfinite:.3g}.".strip()
    return plot("loss", "Loss", figure, caption)


def _metric_names(log):
    names = {key[4:] if key.startswith("val_") else key for e in log.epochs for key in e.get("logs", {})}
    return sorted(names - {"loss"})


def metrics_plot(log, findings):
    """One panel per logged metric (training and validation per epoch), and the learning rate if it moved."""
    to_x = epoch_axis(log)
    if to_x is None:
        return note("No metric curves: no epoch ended.")
    panels = [(name, [(f"train {name}", name), (f"validation {name}", f"val_{name}")]) for name in _metric_names(log)]
    rates = [e.get("learning_rate") for e in log.epochs]
    if len({r for r in rates if is_finite(r)}) > 1:
        panels.append(("learning rate", [("learning rate", None)]))
    if not panels:
        return note("No metric curves: the model logs no metric besides the loss.")
    columns = min(len(panels), 3)
    rows = math.ceil(len(panels) / columns)
    figure, grid = new_figure(width=7.5, height=2.6 * rows, nrows=rows, ncols=columns, squeeze=False)
    for axes, (title, lines) in zip(grid.flat, panels):
        for label, key in lines:
            xs, ys = ([e["epoch"] + 1 for e in log.epochs], rates) if key is None else _epoch_series(log, key, to_x)
            if xs:
                axes.plot(xs, _values(ys), label=label, **_dots(log, 2))
        nonfinite = _first_nonfinite([_epoch_series(log, key, to_x) for _, key in lines if key])
        if nonfinite is not None:
            _mark_nonfinite(axes, nonfinite, title)
        _mark_findings(axes, findings, to_x)
        axes.set_title(title, fontsize=9)
        axes.set_xlabel("epoch", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=6.5, frameon=False)
    for axes in list(grid.flat)[len(panels):]:
        axes.set_visible(False)
    figure.tight_layout()
    return plot("metrics", "Metrics", figure)


def _heatmap(name, title, rows, steps, matrix, *, log_scale, label, caption):
    """Layers (rows, model order, first on top) x probes (columns at their steps). Cells not recorded
    (NaN) are grey, recorded NaN/Inf (Inf here) purple and, on a log scale, exact zeros white; None
    when no cell holds a value."""
    from matplotlib import colormaps, colors

    matrix = np.asarray(matrix, dtype=float)
    shown = np.isfinite(matrix) & ((matrix > 0) if log_scale else True)
    marked = [(np.isinf(matrix), NONFINITE_COLOR, "purple: NaN or infinite")]
    if log_scale:
        marked.append((matrix == 0, ZERO_COLOR, "white: exactly 0"))
    marked = [(mask, colour, words) for mask, colour, words in marked if mask.any()]
    if not shown.any() and not marked:
        return None
    values = np.ma.masked_where(~shown, matrix)
    norm = (colors.Normalize(0.0, 1.0) if not log_scale else
            _log_norm(values.min(), values.max()) if shown.any() else colors.LogNorm(1e-3, 1.0))
    colormap = colormaps["viridis" if log_scale else "Reds"].with_extremes(bad=MISSING_COLOR)
    figure, axes = new_figure(width=7.5, height=min(10.0, 1.2 + 0.26 * len(rows)))
    grid = (_edges(steps), np.arange(len(rows) + 1))
    # Cells drawn with their own colour as edge: no hairline seams between vector cells.
    cells = dict(edgecolors="face", linewidth=0.3, rasterized=matrix.size > MAX_VECTOR_CELLS)
    mesh = axes.pcolormesh(*grid, values, cmap=colormap, norm=norm, **cells)
    for mask, colour, _ in marked:
        axes.pcolormesh(*grid, np.ma.masked_where(~mask, np.ones_like(matrix)), cmap=colors.ListedColormap([colour]),
                        **cells)
    words = [w for _, _, w in marked] + (["grey: not recorded"] if np.isnan(matrix).any() else [])
    axes.set_yticks(np.arange(len(rows)) + 0.5, rows, fontsize=7 if len(rows) < 30 else 5)
    axes.invert_yaxis()
    axes.set_xlabel("step")
    figure.colorbar(mesh, ax=axes, label=label, pad=0.02)
    legend = "; ".join(words)
    return plot(name, title, figure, f"{caption} {legend[:1].upper()}{legend[1:]}." if words else caption)


def _log_norm(low, high):
    """A log colour scale over at least one decade, centred on the values when they span less."""
    from matplotlib import colors

    if high < 10 * low:
        middle = math.sqrt(low * high)
        low, high = middle / math.sqrt(10), middle * math.sqrt(10)
    return colors.LogNorm(low, high)


def _edges(steps):
    """Cell edges halfway between probe steps."""
    steps = np.asarray(steps, dtype=float)
    if len(steps) == 1:
        return np.array([steps[0] - 0.5, steps[0] + 0.5])
    middle = (steps[1:] + steps[:-1]) / 2
    return np.concatenate([[steps[0] - (middle[0] - steps[0])], middle, [steps[-1] + (steps[-1] - middle[-1])]])


def _rows(kernels, probes, value):
    """Layer names and the matrix of ``value(probe, kernel)``, for the kernels any probe holds."""
    kept = [(layer, kernel) for layer, kernel in kernels if any(kernel in p.get("variables", {}) for p in probes)]
    matrix = [[value(p, kernel) for p in probes] for _, kernel in kept]
    return [layer["name"] for layer, _ in kept], matrix


def _read(row, key):
    """A recorded value; NaN when it is missing, Inf when it was recorded as NaN or Inf."""
    value = (row or {}).get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return math.nan
    return value if math.isfinite(value) else math.inf


def gradient_plot(log):
    probes = gradient_probes(log)
    if not probes:
        return note("No gradient heatmap: no probe recorded gradients (the Monitor ran without probe_data, "
                    "or every probe fell back to weight statistics).")
    names, matrix = _rows(kernel_layers(log), probes, lambda p, k: _read(p["variables"].get(k), "grad_norm"))
    found = names and _heatmap("gradient_norm", "Gradient norm per layer", names, [p["step"] for p in probes], matrix,
                               log_scale=True, label="gradient norm (kernel)", caption="Log colour scale.")
    return found or note("No gradient heatmap: the probes hold no positive gradient norm of a layer kernel.")


def update_plot(log):
    """Each kernel's update ratio |dw|/|w| per step, between consecutive probes."""
    probes = [p for p in log.probes if p.get("variables")]
    pairs = [(a, b) for a, b in zip(probes, probes[1:]) if b["step"] > a["step"]]
    if not pairs:
        return note("No update-ratio heatmap: fewer than two probes at different steps.")

    def per_step(pair, kernel):
        before, after = pair
        return _read(after["variables"].get(kernel), "update_ratio") / (after["step"] - before["step"])

    kernels = [(layer, kernel) for layer, kernel in kernel_layers(log)
               if any(kernel in b["variables"] for _, b in pairs)]
    matrix = [[per_step(pair, kernel) for pair in pairs] for _, kernel in kernels]
    found = kernels and _heatmap("update_ratio", "Update ratio per layer and step", [l["name"] for l, _ in kernels],
                                 [b["step"] for _, b in pairs], matrix, log_scale=True,
                                 label="|dw| / |w| per step (kernel)",
                                 caption="Log colour scale; about 1e-3 per step is typical of healthy training.")
    return found or note("No update-ratio heatmap: the probes hold no positive update ratio of a layer kernel.")


def activation_plots(log):
    """Shares of dead units (every probe sample outputs exactly 0) and of saturated units per layer."""
    probes = [p for p in log.probes if p.get("layers")]
    if not probes:
        return note("No activation heatmaps: the probes hold no activation statistics (the Monitor ran "
                    "without probe_data).")
    recorded = [l for l in layers(log) if any(l["name"] in p["layers"] for p in probes)]
    steps = [p["step"] for p in probes]

    def matrix(names, key):
        return [[_read(p["layers"].get(name), key) for p in probes] for name in names]

    names = [l["name"] for l in recorded]
    out = [_heatmap("dead_units", "Dead units per layer", names, steps, matrix(names, "dead_fraction"),
                    log_scale=False, label="share of dead units",
                    caption="A dead unit outputs exactly 0 for every probe sample.")
           or note("No dead-unit heatmap: the probes hold no dead-unit share.")]
    saturating = [l["name"] for l in recorded if l.get("activation") in SATURATING]
    if not saturating:
        out.append(note("No saturation heatmap: no layer uses a saturating activation (" + ", ".join(SATURATING)
                        + ")."))
    else:
        out.append(_heatmap("saturated_units", "Saturated units per layer", saturating, steps,
                            matrix(saturating, "saturated_fraction"), log_scale=False,
                            label="share of saturated outputs",
                            caption="A saturated output sits on a flat end of its activation, where the "
                                    "gradient vanishes.")
                   or note("No saturation heatmap: the probes hold no saturated share."))
    return "".join(out)
