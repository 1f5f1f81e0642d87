"""The terminal view of ``keras-doctor repair``: before and after, every candidate, the verdict."""

from rich.table import Table
from rich.text import Text

VERDICT_STYLE = {"won": "green", "kept": "yellow", "failed": "red", "skipped": "dim", "pruned": None}
STATUS_STYLE = {"repaired": "bold green", "healthy": "bold green", "declined": "bold yellow",
                "not_repaired": "bold red"}


def _value(value):
    return "-" if value is None else f"{value:.4g}"


def _side(label, side, early=False):
    """One line of a run: its best metric, and with ``early``, where the run went on past its
    horizon, its best metric at the horizon too (what the original, stopped there, compares with)."""
    if not side:
        return Text(f"{label}: -")
    codes = ", ".join(dict.fromkeys(f["code"] for f in side["findings"])) or "no problem found"
    horizon, by_then = side.get("horizon_epochs"), ""
    if early and horizon and side["epochs"] > horizon and side.get("at_horizon") is not None:
        by_then = f", {_value(side['at_horizon'])} after {horizon}"
    return Text.assemble((f"{label}: ", "bold"), f"{side['metric']} {_value(side['value'])} "
                         f"(± {side['noise']:.2g}) after {side['epochs']} epoch(s){by_then}; ", (codes, "dim"))


def render_repair(summary):
    lines = [Text.assemble(("keras-doctor repair ", "bold"), summary["workload"],
                           (f"  judged at {summary['horizon_epochs']} epoch(s), then trained on", "dim")),
             _side("before", summary["before"])]
    if summary["after"]:
        # The original stopped where it was judged: the winner's metric by then compares with it.
        before = summary["before"]
        stopped = bool(before) and before["epochs"] == before.get("horizon_epochs", summary["horizon_epochs"])
        lines.append(_side("after", summary["after"], early=stopped))
    if summary["candidates"]:
        table = Table(show_edge=False)
        for column in ("round", "change", "verdict", "metric", "epochs", "seconds", "findings"):
            table.add_column(column, justify="right" if column in ("round", "metric", "epochs", "seconds") else "left",
                             overflow="fold")
        for row in summary["candidates"]:
            verdict = row["verdict"] + (f" ({row['note']})" if row["note"] else "")
            table.add_row(str(row["round"]), "\n".join(row["described"]) or "-",
                          Text(verdict, style=VERDICT_STYLE.get(row["verdict"])), _value(row["metric"]),
                          str(row["epochs"]), f"{row['seconds']:.1f}", ", ".join(row["findings"]) or "-")
        lines.append(table)
    lines.append(Text(summary["message"], style=STATUS_STYLE.get(summary["status"])))
    if summary["repaired"]:
        for line in summary["described"]:
            lines.append(Text(f"  {line}"))
    if summary.get("manual_fix") and summary["status"] == "declined":
        lines.append(Text(f"by hand: {summary['manual_fix']}"))
    files = "changes.json, repaired.keras, repaired_workload.py" if summary["repaired"] else "changes.json"
    lines.append(Text(f"run folder: {summary['run_dir']}  ({files}, repair.json)  {summary['seconds']:.1f} s",
                      style="dim"))
    return lines
