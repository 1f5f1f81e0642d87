"""TensorBoard event files from a run folder, written with tensorboardX (no TensorFlow, no Keras).

The layout is that of Keras's TensorBoard callback, so the curves of one run overlay in
TensorBoard and an export sits well beside the callback's own logs:

    train/       epoch_<name> of the epoch logs and epoch_learning_rate (step = epoch);
                 probe_loss, the loss on the fixed probe batch, and per layer
                 gradient_norm/<layer>, update_ratio/<layer>, dead_fraction/<layer>,
                 saturated_fraction/<layer> (step = the probe's training step);
                 the findings as one text entry ("findings")
    validation/  epoch_<name> of the val_ logs, under the same tags as in train/

A layer's gradient norm and update ratio are its kernel's (the model record's layer ->
variable mapping, as the rules read it); the update ratio is |dw|/|w| per training step since
the previous probe. A compare folder becomes one such run per ``variant-K/seed-S`` folder, named
``<variant label>/seed-S``; a tune folder exports its ``best/`` check run as ``best``.

Non-finite values (a diverged loss, a NaN gradient norm) are written as they are: TensorBoard
shows them, and where a run diverged is part of what the curves are for. Values a record does
not have (the first probe's update ratio) are not written.
"""

import json
import logging
import math
import re
import shutil
import tempfile
from pathlib import Path

from kerasdoctor.diagnose.series import kernel_layers, layers
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.runlog import RunLog

logger = logging.getLogger(__name__)

RUNLOG = "runlog.jsonl"
PROBE_SIGNALS = ("dead_fraction", "saturated_fraction")  # per-layer activation statistics


def export_tensorboard(run_dir, out=None):
    """Writes TensorBoard event files for a check, compare or tune run folder.

    Args:
        run_dir: the run folder.
        out: the folder for the event files (default ``run_dir / "tensorboard"``). An earlier
            export there is replaced; a folder holding other files is refused.

    Returns:
        The folder, a ``pathlib.Path``: ``tensorboard --logdir`` it.
    """
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / "tensorboard"
    runs = find_runs(run_dir)
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    staging.chmod(out.parent.stat().st_mode & 0o777)  # mkdtemp makes it private to its owner
    try:
        for name, folder in runs:
            _write_run(folder, staging / name if name else staging)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def find_runs(run_dir):
    """[(run name under the export folder, check run folder)] of a check, compare or tune folder."""
    if (run_dir / RUNLOG).is_file():
        return [("", run_dir)]
    if (run_dir / "compare.json").is_file():
        return _compare_runs(run_dir)
    if (run_dir / "best" / RUNLOG).is_file():
        return [("best", run_dir / "best")]
    raise KerasDoctorError(
        f"{run_dir} is not a keras-doctor run folder: it has no {RUNLOG} (nor compare.json, nor a tune "
        f"run's best/{RUNLOG}). Pass the folder a check, compare or tune command wrote. Received: run_dir={run_dir}"
    )


def _compare_runs(run_dir):
    labels = [row.get("variant") for row in _read_json(run_dir / "compare.json").get("variants", [])]
    runs, used = [], set()
    for variant in sorted(run_dir.glob("variant-*"), key=_index):
        index = _index(variant)
        label = labels[index] if 0 <= index < len(labels) and labels[index] else variant.name
        name = re.sub(r"[^A-Za-z0-9_.=+-]+", "_", label).strip("_") or variant.name
        if name in used:  # two labels that differ only in characters a folder name drops
            name = f"{name}-{variant.name}"
        used.add(name)
        runs += [(f"{name}/{seed.name}", seed) for seed in sorted(variant.glob("seed-*"), key=_index)
                 if (seed / RUNLOG).is_file()]
    if not runs:
        raise KerasDoctorError(f"The compare folder {run_dir} holds no variant-K/seed-S/{RUNLOG}: no run of it "
                               f"finished. Received: run_dir={run_dir}")
    return runs


def _index(folder):
    number = folder.name.rpartition("-")[2]
    return int(number) if number.isdigit() else -1


def _read_json(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KerasDoctorError(f"Cannot read {path}: {error}. Received: path={path}") from None


def _check_out(out):
    if out.exists() and not out.is_dir():
        raise KerasDoctorError(f"Argument `out` must be a folder for the event files; {out} is a file. "
                               f"Give a new or empty folder. Received: out={out}")
    if out.is_dir():
        foreign = [p for p in out.rglob("*") if p.is_file() and ".tfevents." not in p.name]
        if foreign:
            raise KerasDoctorError(
                f"Argument `out` holds files that are not TensorBoard events (such as {foreign[0].name}); "
                f"an export replaces the folder, so give a new or empty one. Received: out={out}"
            )


def epoch_scalars(log):
    """[(run, tag, step, value)] of the epoch logs and learning rates, as Keras's callback names them."""
    found = []
    for record in log.epochs:
        logs = record.get("logs", {})
        for key, value in logs.items():
            if not isinstance(value, (int, float)):
                continue
            run, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            found.append((run, f"epoch_{name}", record["epoch"], value))
        if record.get("learning_rate") is not None and "learning_rate" not in logs:
            found.append(("train", "epoch_learning_rate", record["epoch"], record["learning_rate"]))
    return found


def probe_scalars(log):
    """[(run, tag, step, value)] of the probes: the probe-batch loss and the per-layer signals."""
    kernels = [(layer["name"], kernel) for layer, kernel in kernel_layers(log)]
    names = [layer["name"] for layer in layers(log)]
    found, previous = [], None
    for probe in log.probes:
        step = probe["step"]
        if probe.get("loss") is not None:
            found.append(("train", "probe_loss", step, probe["loss"]))
        variables = probe.get("variables", {})
        gap = step - previous if previous is not None else 0
        for layer, kernel in kernels:
            row = variables.get(kernel, {})
            if row.get("grad_norm") is not None:
                found.append(("train", f"gradient_norm/{layer}", step, row["grad_norm"]))
            if row.get("update_ratio") is not None and gap > 0:
                found.append(("train", f"update_ratio/{layer}", step, row["update_ratio"] / gap))
        activations = probe.get("layers", {})
        for layer in names:
            for signal in PROBE_SIGNALS:
                value = activations.get(layer, {}).get(signal)
                if value is not None:
                    found.append(("train", f"{signal}/{layer}", step, value))
        previous = step
    return found


def findings_text(findings):
    """The findings as Markdown, which TensorBoard's text dashboard renders."""
    if not findings:
        return "No problems found by the rules that ran."
    parts = []
    for finding in findings:
        head = f"**{finding['severity'].upper()} {finding['code']}**"
        if finding.get("caused_by"):
            head += f" (symptom of {finding['caused_by']})"
        parts.append(f"{head}\n\n{finding['message']}\n\nfix: {finding['fix']}")
    return "\n\n---\n\n".join(parts)


def _load(folder):
    try:
        log = RunLog.load(folder / RUNLOG)
    except ValueError as error:
        raise KerasDoctorError(f"Cannot read the RunLog of {folder}: {error}") from None
    path = folder / "findings.json"
    findings = _read_json(path) if path.is_file() else None
    return log, findings


def _write_run(folder, target):
    from tensorboardX import SummaryWriter

    log, findings = _load(folder)
    scalars = epoch_scalars(log) + probe_scalars(log)
    nonfinite = sum(not math.isfinite(value) for *_, value in scalars)
    if nonfinite:
        logger.info("%s: %d non-finite values written as they are", folder, nonfinite)
    writers = {}
    quiet = _Quiet()
    tensorboardx_logger = logging.getLogger("tensorboardX.x2num")
    tensorboardx_logger.addFilter(quiet)
    try:
        for run, tag, step, value in scalars:
            if run not in writers:
                writers[run] = SummaryWriter(str(target / run))
            writers[run].add_scalar(tag, float(value), step)
        if findings is not None:
            if "train" not in writers:
                writers["train"] = SummaryWriter(str(target / "train"))
            writers["train"].add_text("findings", findings_text(findings), 0)
        else:
            logger.info("%s has no findings.json; the export has no findings text", folder)
    finally:
        tensorboardx_logger.removeFilter(quiet)
        for writer in writers.values():
            writer.close()


class _Quiet(logging.Filter):
    """Drops tensorboardX's warning per non-finite value; the export logs their count once."""

    def filter(self, record):
        return "NaN or Inf" not in record.getMessage()
