"""The terminal view of ``keras-doctor speed``: the knobs side by side, then the recommendation."""

from rich.table import Table
from rich.text import Text


def _ratio(value):
    return "-" if value is None else f"{value:.2f}x"


def _delta(row):
    delta = row.get("accuracy_delta")
    if not delta or "delta" not in delta:
        return "-" if not row.get("changes_math") else "not checked"
    unit = " pts" if delta.get("points") is not None else ""
    return f"{delta['delta']:+.2f} ± {delta['se']:.2f}{unit}"


def render_speed(summary):
    facts = summary["facts"]
    base = summary["baseline"]
    speed = base.get("samples_per_second") or base.get("steps_per_second")
    unit = "samples/s" if base.get("samples_per_second") else "steps/s"
    lines = [Text.assemble(("keras-doctor speed ", "bold"), f"{summary['workload']}  ",
                           (f"{facts['backend']} on {facts['accelerator']}", "dim")),
             Text(f"baseline: {speed:,.0f} {unit}, compiling {base['compile_seconds']:.2f} s; "
                  f"accuracy judged on {summary['metric']}")]
    for warning in summary.get("warnings") or ():
        lines.append(Text(f"warning: {warning}", style="bold yellow"))
    found = summary.get("profile") or {}
    if "error" in found:
        lines.append(Text(f"profile not taken: {found['error']}", style="dim"))
    elif found:
        parts = [f"a step {found['step_seconds'] * 1000:.3g} ms"]
        if found.get("input_share") is not None:
            parts.append(f"making its batch {found['input_share']:.0%} of that")
        if found.get("validation_share") is not None:
            parts.append(f"validation {found['validation_share']:.0%} of an epoch")
        if found.get("peak_host_megabytes"):
            parts.append(f"peak host memory {found['peak_host_megabytes']:,.0f} MB")
        lines.append(Text("profile: " + ", ".join(parts), style="dim"))
    table = Table(show_edge=False)
    for column in ("knob", "throughput", "time to\ntarget", "accuracy Δ\n(± se)", "verdict"):
        table.add_column(column, justify="left" if column in ("knob", "verdict") else "right", overflow="fold",
                         no_wrap=column in ("knob", "accuracy Δ\n(± se)"))
    for row in summary["knobs"]:
        style = "green" if row["verdict"] == "recommended" else ("red" if row["error"] else None)
        throughput = (f"< {row['throughput_ratio_below']:.2f}x" if row.get("throughput_ratio_below") is not None
                      else _ratio(row["throughput_ratio"]))
        table.add_row(Text(row["name"]), throughput, _ratio(row["time_to_target_ratio"]),
                      _delta(row), Text(row["verdict"] + (f" ({row['note']})" if row.get("note") else ""), style=style))
    lines.append(table)
    for skipped in summary["skipped"]:
        lines.append(Text(f"not tried: {skipped['name']} ({skipped['why']})", style="dim"))
    together = summary.get("combination_not_kept")
    if together:
        lines.append(Text(f"together: {together['name']} measured {_ratio(together['throughput_ratio'])} throughput, "
                          f"{together['verdict']}; the best single knob stands", style="yellow"))
    best = summary["recommended"]
    if best and best["verdict"] == "recommended" and best["throughput_ratio"] is None:  # the cache alone
        lines.append(Text.assemble(("recommended: ", "bold green"), " + ".join(best["knobs"]),
                                   f"  ({best['note']})" if best.get("note") else ""))
    elif best and best["verdict"] == "recommended":
        lines.append(Text.assemble(("recommended: ", "bold green"), " + ".join(best["knobs"]),
                                   f"  {_ratio(best['throughput_ratio'])} throughput, time to target "
                                   f"{_ratio(best['time_to_target_ratio'])}, accuracy {_delta(best)}"))
    else:
        lines.append(Text("recommended: nothing; the workload's own settings were the fastest that kept "
                          "its accuracy", style="yellow"))
    lines.append(Text(f"run folder: {summary['run_dir']}  (speed.json, fast_workload.py)", style="dim"))
    return lines
