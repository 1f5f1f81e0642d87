"""Builders of synthetic RunLogs for rule tests."""

from kerasdoctor.runlog import RunLog


def make_log(losses=(), probe_losses=(), data=None, probe_rows=None):
    log = RunLog()
    log.append("model", layers=[], variables=["dense/kernel"])
    for split, stats in (data or {}).items():
        log.append("data", split=split, **stats)
    for index, loss in enumerate(probe_losses):
        rows = (probe_rows or {}).get(index, {"dense/kernel": {"grad_norm": 1.0, "nonfinite_grad": 0.0, "nonfinite_weight": 0.0}})
        log.append("probe", step=index * 10, epoch=index, loss=loss, variables=rows, layers={})
    for index, loss in enumerate(losses):
        log.append("epoch", epoch=index, step=(index + 1) * 10, logs={"loss": loss}, learning_rate=0.01, seconds=1.0)
    return log


def clean_data():
    return {"train": {"samples": 10, "x": {"shape": [10, 4], "nan": 0, "inf": 0}, "y": {"shape": [10], "nan": 0, "inf": 0}}}
