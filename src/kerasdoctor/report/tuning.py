"""Rich renderables for lr-find, compare and tune. No Keras here."""

import math

from rich.table import Table
from rich.text import Text


def _number(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, float):
        return str(value) if not math.isfinite(value) else f"{value:.{digits}g}"
    return str(value)


def render_lr_find(summary):
    lines = [
        Text.assemble(("keras-doctor lr-find ", "bold"), (summary["workload"], "bold cyan"),
                      f"  {summary.get('steps') or len(summary['learning_rates'])} steps"
                      + ("  (stopped when the loss diverged)" if summary["stopped_early"] else "")),
        Text.assemble("suggested learning rate: ", (f"{summary['suggestion']:.3g}", "bold green"),
                      f"  ({summary['rule']}; bracket {summary['low']:.3g} .. {summary['high']:.3g})"),
        Text("other rules: " + ", ".join(f"{k} {v:.3g}" for k, v in summary["suggestions"].items()), style="dim"),
        Text(f"for one-cycle (kerasdoctor.tune.recipe): peak {summary['high']:.3g}, the top of the bracket", style="dim"),
    ]
    confirm = summary.get("confirm")
    if confirm:
        table = Table(title="Confirmation runs", title_justify="left", show_edge=False)
        table.add_column("learning rate", justify="right")
        table.add_column(confirm["metric"], justify="right")
        for rate, value in zip(confirm["learning_rates"], confirm["values"]):
            table.add_row(f"{rate:.3g}", _number(value))
        lines += [table, Text.assemble("confirmed: ", (f"{confirm['chosen']:.3g}", "bold green"))]
    curve = f"curve: {summary['plot']}  " if summary.get("plot") else ""
    lines.append(Text(f"{curve}data: {summary['data']}", style="dim"))
    return lines


def _rate(row):
    rate, source = row.get("learning_rate"), row.get("learning_rate_source")
    text = "-" if rate is None else f"{rate:.3g}"
    return Text(f"{text}\n({source})" if source in ("workload", "lr_find") else text)


def _findings(counts):
    # One code a line, and a column that never wraps: at 80 columns the row grows, the code stays whole.
    return Text("\n".join(f"{code} x{count}" for code, count in counts.items()) or "-")


def render_compare(summary):
    arrow = "higher" if summary["direction"] == "maximize" else "lower"
    table = Table(title=f"{summary['metric']} over {summary['seeds']} seed(s) ({arrow} is better); "
                        f"target {summary['target']:.4g}", title_justify="left", show_edge=False)
    for column in ("variant", "learning\nrate", "best\n(mean ± sd)", "reached", "epochs\nto target",
                   "s to\ntarget*", "train-val\ngap"):
        table.add_column(column, justify="left" if column == "variant" else "right", overflow="fold")
    table.add_column("findings", no_wrap=True)
    sign = -1 if summary["direction"] == "maximize" else 1

    def key(row):
        value = row["best_mean"]
        return (0, sign * value) if isinstance(value, (int, float)) and math.isfinite(value) else (1, 0)

    for row in sorted(summary["variants"], key=key):
        table.add_row(Text(row["variant"]), _rate(row), f"{_number(row['best_mean'])} ± {_number(row['best_std'], 2)}",
                      row["reached_target"], _number(row["epochs_to_target"]),
                      _number(row["seconds_to_target"], 3), _number(row["gap_mean"], 3), _findings(row["findings"]))
    note = summary.get("seconds_to_target_note", "wall-clock seconds of the epochs up to the target, compiling included")
    table.caption, table.caption_justify = f"* s to target: {note}", "left"
    return [table, Text(f"run folder: {summary['run_dir']}", style="dim")]


def render_tune(summary):
    lines = [Text.assemble(("keras-doctor tune ", "bold"), ("study ", "dim"), (summary["study"], "bold cyan"),
                           f"  storage: {summary['storage']}"),
             Text(f"trials: {summary['n_complete']} complete, {summary['n_pruned']} pruned, "
                  f"{summary['n_failed']} failed; {summary['epochs_total']} training epochs in all")]
    table = Table(title=f"Best trial: {summary['metric']} = {summary['best_value']:.4g}", title_justify="left",
                  show_edge=False)
    table.add_column("hyperparameter")
    table.add_column("value", justify="right")
    table.add_column("importance", justify="right")
    for name, value in summary["best_params"].items():
        importance = summary["importance"].get(name)
        table.add_row(name, _number(value), "-" if importance is None else f"{importance:.2f}")
    lines.append(table)
    if summary["findings"]:
        lines.append(Text("findings of the best trial: " + ", ".join(
            f"{f['code']} ({f['severity']})" for f in summary["findings"]), style="yellow"))
    if summary.get("best_model"):
        lines.append(Text(f"best model: {summary['best_model']}", style="dim"))
    lines.append(Text(f"run folder: {summary['run_dir']}  (trials.csv, best_params.json, importance.json)",
                      style="dim"))
    return lines
