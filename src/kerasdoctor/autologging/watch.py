"""One watched ``fit``: a run folder and a Monitor before it, findings and files after it."""

import sys
import time
from pathlib import Path

import keras

from kerasdoctor import diagnose as diagnosing
from kerasdoctor.checkup import CheckResult, summarize_metrics
from kerasdoctor.files import run_folder, write_json
from kerasdoctor.monitor import Monitor
from kerasdoctor.monitor.describe import describe_callbacks
from kerasdoctor.runlog import RunLog

SETTINGS = ("epochs", "batch_size", "validation_split", "shuffle", "initial_epoch", "steps_per_epoch")


def say(message):
    """keras-doctor's own lines go to stderr, so the script keeps its stdout to itself."""
    sys.stderr.write(f"keras-doctor: {message}\n")
    sys.stderr.flush()


def _workload_name(model):
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.suffix == ".py":
        return str(script), f"{script.stem}-{model.name}"
    return model.name, model.name


def _fit_settings(arguments):
    fit = {name: arguments[name] for name in SETTINGS if name in arguments}
    class_weight = arguments.get("class_weight")
    if class_weight:
        fit["class_weight"] = {str(k): float(v) for k, v in class_weight.items()}
    callbacks = describe_callbacks(arguments.get("callbacks"))
    if callbacks:
        fit["callbacks"] = callbacks
    return fit


class Watch:
    """The keras-doctor side of one ``fit``: ``start`` before it, ``finish`` after it."""

    def __init__(self, model, arguments, data, *, index, schedule, out, seed):
        self.model, self.data = model, data
        workload, name = _workload_name(model)
        folder = None if out is None else Path(out) / f"{index:02d}-{name}"
        with run_folder(name, folder) as run_dir:  # removed again if nothing gets written
            self.log = RunLog(run_dir / "runlog.jsonl")
            self.log.append("run", workload=workload, backend=keras.backend.backend(),
                            keras=keras.__version__, seed=seed, fit=_fit_settings(arguments),
                            split=data.split, input_kind=data.kind, watched_fit=True)
            for record in data.records:
                self.log.append("data", **record)
        self.run_dir, self.workload = run_dir, workload
        self.monitor = Monitor(data.probe, log=self.log, train_labels=data.labels, schedule=schedule)
        self.started = time.perf_counter()

    def failed(self, error):
        """The user's fit raised: the log says so, and the error is theirs to see."""
        self.monitor.finish_probes()
        self.log.append("end", status="failed", error=f"{type(error).__name__}: {error}")
        self.log.close()

    def finish(self):
        """Diagnoses the log, writes the run folder and returns the CheckResult."""
        from kerasdoctor.report import write_report_quietly

        self.log.close()
        findings = diagnosing.diagnose(self.log)
        metrics = summarize_metrics(self.log)
        metrics["wall_seconds"] = time.perf_counter() - self.started
        result = CheckResult(self.workload, self.run_dir, keras.backend.backend(), metrics, findings, self.log)
        write_json(self.run_dir / "findings.json", result.to_dict()["findings"])
        write_json(self.run_dir / "summary.json", result.to_dict())
        result.report = write_report_quietly(self.run_dir)
        return result


def summary_lines(result, model_name):
    """A few lines for stderr: the fit, its findings (most important first) and the run folder."""
    epochs = result.metrics.get("epochs", 0)
    count = len(result.findings)
    head = f"fit of '{model_name}' ({epochs} epochs, {result.backend}): "
    head += f"{count} finding{'s' if count != 1 else ''}" if count else "no findings"
    lines = [head]
    for f in result.findings:
        lines.append(f"  {f.severity:<8} {f.code}" + (f" (symptom of {f.caused_by})" if f.caused_by else "")
                     + f": {f.message}")
        if f.fix and not f.caused_by:  # a symptom's fix is its root cause's
            lines.append(f"           fix: {f.fix}")
    lines.append(f"  run folder: {result.run_dir}" + (f" (report: {result.report})" if result.report else ""))
    return lines
