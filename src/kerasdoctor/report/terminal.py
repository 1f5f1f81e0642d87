"""Rich renderables for the terminal; the CLI prints them."""

import math

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _number(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _percent(value):
    return "-" if value is None else f"{100 * value:.0f}%"


def metrics_table(metrics):
    table = Table(title="Metrics", title_justify="left", show_edge=False)
    table.add_column("metric")
    table.add_column("final", justify="right")
    table.add_column("best", justify="right")
    for name in sorted(metrics.get("final", {})):
        table.add_row(name, _number(metrics["final"][name]), _number(metrics["best"].get(name)))
    return table


def _main_variable(log, layer_name):
    """The layer's largest trainable variable (usually the kernel), by the model record."""
    model = log.model or {}
    for layer in model.get("layers", []):
        if layer["name"] == layer_name and layer.get("variables"):
            kernels = [v for v in layer["variables"] if v.endswith("kernel")]
            return kernels[0] if kernels else layer["variables"][0]
    return None


def gradient_table(log):
    probes = [p for p in log.probes if p.get("variables")]
    if not probes:
        return Text("No probe data: gradient statistics were not recorded.", style="dim")
    first, last = probes[0], probes[-1]
    has_gradients = any("grad_norm" in row for row in last["variables"].values())
    table = Table(
        title=f"Per-layer signals, probe batch (step {first['step']} -> {last['step']}, {len(probes)} probes)",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    table.add_column("layer", no_wrap=True)
    table.add_column("activation", no_wrap=True)
    if has_gradients:
        table.add_column("grad start", justify="right")
        table.add_column("grad end", justify="right")
    for column in ("update", "0-grad", "0-act", "sat."):
        table.add_column(column, justify="right")
    for layer in (log.model or {}).get("layers", []):
        variable = _main_variable(log, layer["name"])
        if variable is None or variable not in last["variables"]:
            continue
        row, start = last["variables"][variable], first["variables"].get(variable, {})
        activation = last.get("layers", {}).get(layer["name"], {})
        cells = [layer["name"], layer.get("activation") or "-"]
        if has_gradients:
            cells += [_number(start.get("grad_norm"), 3), _number(row.get("grad_norm"), 3)]
        cells += [
            _number(row.get("update_ratio"), 2),
            _percent(row.get("zero_grad_fraction")),
            _percent(activation.get("zero_fraction")),
            _percent(activation.get("saturated_fraction")),
        ]
        table.add_row(*cells)
    table.caption = (
        "grad: gradient norm of the layer's kernel; update: |dw|/|w| since the previous probe; "
        "0-grad: share of zero gradients; 0-act: share of zero outputs; sat.: share of saturated outputs"
    )
    table.caption_justify = "left"
    return table


def findings_panel(findings):
    if not findings:
        return Text("No problems found by the rules that ran.", style="green")
    lines = []
    for index, finding in enumerate(findings):
        style = SEVERITY_STYLE[finding["severity"]]
        head = Text(f"{finding['severity'].upper():7} {finding['code']}", style=style)
        if index == 0 and len(findings) > 1:
            head.append("  (most likely root cause)", style="dim")
        if finding.get("caused_by"):
            # A symptom: one line, its fix is the root cause's.
            head.append(f"  symptom of {finding['caused_by']}", style="dim")
            lines += [head, Text(f"  {finding['message']}"), Text("")]
            continue
        lines += [head, Text(f"  {finding['message']}"), Text(f"  fix: {finding['fix']}", style="dim"), Text("")]
    return Panel(Group(*lines[:-1]), title="Findings", title_align="left")


def render_check(summary, log):
    """Everything `check` shows: header, metrics, per-layer table, findings."""
    metrics = summary["metrics"]
    header = Text.assemble(
        ("keras-doctor check ", "bold"),
        (summary["workload"], "bold cyan"),
        f"  backend: {summary['backend']}  epochs: {metrics.get('epochs', 0)}  "
        f"time: {metrics.get('wall_seconds', metrics.get('seconds', 0)):.1f}s",
    )
    notes = [Text(f"note: {message}", style="dim") for message in log.notes]
    footer = Text(f"run folder: {summary['run_dir']}", style="dim")
    return [header, *notes, metrics_table(metrics), gradient_table(log), findings_panel(summary["findings"]), footer]


def render_explain_list(codes):
    table = Table(title="Finding codes (keras-doctor explain CODE)", title_justify="left", show_edge=False)
    table.add_column("code", no_wrap=True)  # a narrow terminal wraps the description, never the code
    table.add_column("what it means")
    for code, summary in codes:
        table.add_row(code, Text(summary))
    return table
