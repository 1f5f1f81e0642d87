"""`check`: train a copy of a workload with the Monitor, then diagnose the RunLog."""

import copy
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from kerasdoctor.diagnose import crash_explanation, diagnose
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.files import run_folder, write_json
from kerasdoctor.monitor import Monitor
from kerasdoctor.monitor.datastats import overlap, summarize
from kerasdoctor.monitor.describe import describe_callbacks, describe_model
from kerasdoctor.runlog import RunLog, to_jsonable
from kerasdoctor.vocabulary import direction
from kerasdoctor.workload.pipelines import sample_statistics
from kerasdoctor.workload.source import describe_error

logger = logging.getLogger(__name__)
PROBE_SIZE = 128


@dataclass
class CheckResult:
    workload: str
    run_dir: Path
    backend: str
    metrics: dict
    findings: list
    log: RunLog = field(repr=False)
    error: str | None = None  # set when training failed and the findings explain why
    model: object = field(default=None, repr=False)  # the trained copy
    report: Path | None = None  # report.html, once written

    def _repr_html_(self):
        from kerasdoctor.report.notebook import notebook_html

        return notebook_html(self.run_dir)

    def to_dict(self):
        """The stable JSON shape of `keras-doctor check --json`."""
        return to_jsonable(
            {
                "workload": self.workload,
                "run_dir": str(self.run_dir),
                "backend": self.backend,
                "metrics": self.metrics,
                "findings": [f.to_dict() for f in self.findings],
                "error": self.error,
                "report": str(self.report) if self.report else None,
            }
        )


class StopOnNonFinite(keras.callbacks.Callback):
    """Ends a run whose epoch loss is NaN/Inf: nothing more can be learned from it."""

    def __init__(self, log):
        super().__init__()
        self.log = log

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.log.append("note", message=f"training stopped after epoch {epoch + 1}: the loss is {loss}")
            self.model.stop_training = True


def _better(name):
    """min for losses and error metrics (mae, rmse, ...), max for accuracy-like and unknown ones."""
    return min if direction(name, default="max") == "min" else max


def summarize_metrics(log):
    """Final and best value of every logged metric, and how long training took."""
    epochs = log.epochs
    if not epochs:
        return {"epochs": 0, "final": {}, "best": {}, "seconds": 0.0}
    names = sorted({name for e in epochs for name in e["logs"]})
    best = {}
    for name in names:
        values = [e["logs"][name] for e in epochs if isinstance(e["logs"].get(name), (int, float))]
        if not values:
            continue
        finite = [v for v in values if math.isfinite(v)]
        best[name] = _better(name)(finite) if finite else values[-1]
    return {
        "epochs": len(epochs),
        "final": dict(epochs[-1]["logs"]),
        "best": best,
        "seconds": sum(e.get("seconds") or 0.0 for e in epochs),
    }


def _probe_rows(x, y, seed):
    count = len(keras.tree.flatten(y)[0])
    rows = np.random.default_rng(seed).choice(count, size=min(PROBE_SIZE, count), replace=False)
    rows.sort()
    return keras.tree.map_structure(lambda a: a[rows], (x, y))


def _data_records(log, data, seed):
    """The data statistics and the probe batch: of the arrays, or of a sample of each pipeline."""
    if not data.is_pipeline:
        log.append("data", split="train", **summarize(*data.train))
        log.append("data", split="val", **summarize(*data.validation))
        log.append("data", split="overlap", **overlap(data.x_train, data.x_val))
        return _probe_rows(data.x_train, data.y_train, seed)
    train = data.sample("train", seed)
    if train.y is None:
        raise KerasDoctorError("The training pipeline from load_data() yields inputs without labels (y): "
                               "batches must be (x, y) or (x, y, sample_weight).")
    log.append("data", split="train", **sample_statistics(train))
    if isinstance(data.validation, tuple):
        log.append("data", split="val", **summarize(*data.validation))
        val_x = data.validation[0]
    else:
        val = data.sample("validation", seed)
        log.append("data", split="val", **sample_statistics(val))
        val_x = val.x
    log.append("data", split="overlap", **overlap(train.x, val_x))
    return _probe_rows(train.x, train.y, seed)


def run_check(workload, *, epochs=None, batch_size=None, out=None, seed=0, callbacks=(), every_n_steps=None,
              on_log=None):
    """Trains a fresh copy of ``workload`` with the Monitor and returns a CheckResult.

    ``on_log``, if given, is called with the RunLog before training starts (``repair`` reads a
    paused run's log as it stands)."""
    if epochs is not None and epochs < 1:
        raise KerasDoctorError(f"--epochs must be a positive integer. Received: epochs={epochs}")
    if batch_size is not None and batch_size < 1:
        raise KerasDoctorError(f"--batch-size must be a positive integer. Received: batch_size={batch_size}")
    fit = dict(workload.fit)
    # Copies, one set per run: the repair trains several runs of one workload at once (one paused
    # while another trains), and a callback holds its model and its state (EarlyStopping's best
    # weights); the workload's own objects are never bound to a model.
    fit_callbacks = [copy.copy(callback) for callback in fit.pop("callbacks", ())]
    fit["epochs"] = epochs or fit["epochs"]
    fit["batch_size"] = batch_size or fit["batch_size"]
    keras.utils.set_random_seed(seed)
    data = workload.load_data(seed)
    model = workload.build_model()
    backend = keras.backend.backend()
    if data.is_pipeline:
        fit.pop("batch_size")  # the pipeline makes its own batches
    with run_folder(workload.name, out) as run_dir:  # past this block the folder holds the log
        log = RunLog(run_dir / "runlog.jsonl")
        described = describe_callbacks(fit_callbacks)
        log.append("run", workload=str(workload.path), backend=backend, keras=keras.__version__,
                   seed=seed, fit={**fit, "callbacks": described} if described else fit, split=data.split,
                   input_kind=data.kind)
        probe = _data_records(log, data, seed)
    if on_log is not None:
        on_log(log)
    # A diagnostic run: a fixed probe schedule (a function of the step count only, compiled
    # before the first step), so the same seed gives the same findings however busy the machine.
    monitor = Monitor(probe, log=log, schedule="fixed", every_n_steps=every_n_steps)
    started = time.perf_counter()
    try:
        model.fit(
            **data.fit_arguments(),
            verbose=0,
            # The workload's callbacks before the Monitor: it sees the weights they leave at the
            # end of training (EarlyStopping restores its best epoch's in on_train_end). Ours
            # after it: they read the epoch it has just recorded.
            callbacks=[*fit_callbacks, monitor, StopOnNonFinite(log), *callbacks],
            **fit,
        )
    except KeyboardInterrupt:
        log.append("end", status="interrupted")
        raise
    except Exception as error:
        monitor.finish_probes()  # Keras calls no hook after an error: the probes still running
        if log.model is None:  # Keras checks shapes before any callback runs
            log.append("model", **describe_model(model))
        log.append("end", status="failed", error=describe_error(error))
        log.close()
        findings = [f for f in diagnose(log) if f.severity != "info"]
        explaining = crash_explanation(findings)
        if explaining:
            # A static rule that predicts this crash (labels that do not fit the output) says why.
            codes = ", ".join(dict.fromkeys(f.code for f in explaining))
            message = f"Training the workload failed: {describe_error(error)}; explained by {codes}"
            result = CheckResult(str(workload.path), run_dir, backend, summarize_metrics(log),
                                 findings, log, error=message)
            write_json(run_dir / "findings.json", result.to_dict()["findings"])
            write_json(run_dir / "summary.json", result.to_dict())
            return result
        raise KerasDoctorError(
            f"Training the workload failed: {describe_error(error)}. Check that the data "
            f"shapes match the model's input and output (the log so far is in {run_dir})."
        ) from None
    log.close()
    findings = diagnose(log)
    metrics = summarize_metrics(log)
    metrics["wall_seconds"] = time.perf_counter() - started
    result = CheckResult(str(workload.path), run_dir, backend, metrics, findings, log, model=model)
    write_json(run_dir / "findings.json", result.to_dict()["findings"])
    write_json(run_dir / "summary.json", result.to_dict())
    return result


def check(workload, *, data=None, unsafe=False, epochs=None, batch_size=None, out=None, seed=0, callbacks=()):
    """The `check` verb in Python: ``kerasdoctor.check("workload.py")``.

    ``workload`` is a workload file, or a ``.keras`` model with ``data`` (an ``.npz``). Trains a
    copy with the Monitor, diagnoses it, writes the run folder with its ``report.html`` and
    returns the CheckResult; in a notebook the result shows the report.
    """
    from kerasdoctor.report import write_report_quietly
    from kerasdoctor.workload import load_workload

    loaded = load_workload(workload, data=data, unsafe=unsafe)
    result = run_check(loaded, epochs=epochs, batch_size=batch_size, out=out, seed=seed, callbacks=callbacks)
    result.report = write_report_quietly(result.run_dir)
    return result
