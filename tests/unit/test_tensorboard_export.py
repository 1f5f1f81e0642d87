"""TensorBoard export: the events read back with TensorBoard's own reader equal the RunLog."""

import json
import math
import subprocess
import sys
import types

import pytest

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.report.tensorboard import export_tensorboard
from kerasdoctor.runlog import RunLog
from tests.unit.synthetic import LogBuilder, healthy

FINDINGS = [
    {"code": "VANISHING_GRADIENTS", "severity": "error", "step": 0, "message": "Gradients vanish with depth.",
     "evidence": {}, "fix": "Use relu with he_normal.", "caused_by": None},
    {"code": "NOT_LEARNING", "severity": "error", "step": 60, "message": "The model is not learning.",
     "evidence": {}, "fix": "See the root cause.", "caused_by": "VANISHING_GRADIENTS"},
]


def _write_run(folder, log, findings=FINDINGS):
    """A check run folder on disk: the RunLog's records as runlog.jsonl, and findings.json."""
    on_disk = RunLog(folder / "runlog.jsonl")
    for record in log.records[1:]:
        on_disk.append(record["type"], **{k: v for k, v in record.items() if k != "type"})
    on_disk.close()
    (folder / "findings.json").write_text(json.dumps(findings))
    return folder


def _reader(folder):
    # TensorBoard reads event files through TensorFlow when it can import it; its stub reads
    # them as well (what its no_tensorflow build selects) and keeps this test fast.
    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    reader = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    reader.Reload()
    return reader


def _scalars(folder, tag):
    """{step: value} of a tag; a step written twice fails here."""
    events = _reader(folder).Scalars(tag)
    assert len({event.step for event in events}) == len(events)
    return {event.step: event.value for event in events}


def _graded_run():
    """A healthy run whose first layer's gradient norm differs at every probe."""
    builder = healthy()
    grads = {0: 0.5, 10: 0.25, 20: 0.125}
    for step, value in grads.items():
        builder.probe(100 + step, epoch=6, loss=0.2, grads={"hidden_0": value},
                      layers={"hidden_0": {"dead_fraction": step / 100, "saturated_fraction": 0.0}})
    return builder.log


def test_epoch_logs_become_train_and_validation_curves_under_one_tag(tmp_path):
    log = healthy().log
    out = export_tensorboard(_write_run(tmp_path, log))
    assert out == tmp_path / "tensorboard"
    epochs = [(e["epoch"], e["logs"]) for e in log.epochs]
    assert _scalars(out / "train", "epoch_loss") == pytest.approx({i: logs["loss"] for i, logs in epochs})
    assert _scalars(out / "validation", "epoch_loss") == pytest.approx({i: logs["val_loss"] for i, logs in epochs})
    assert _scalars(out / "validation", "epoch_accuracy") == pytest.approx(
        {i: logs["val_accuracy"] for i, logs in epochs})
    assert _scalars(out / "train", "epoch_learning_rate") == pytest.approx({i: 1e-3 for i, _ in epochs})


def test_probe_loss_and_one_layers_gradient_norms_are_written_at_their_steps(tmp_path):
    log = _graded_run()
    out = export_tensorboard(_write_run(tmp_path, log))
    kernel = "m/hidden_0/kernel"
    expected = {p["step"]: p["variables"][kernel]["grad_norm"] for p in log.probes}
    assert _scalars(out / "train", "gradient_norm/hidden_0") == pytest.approx(expected)
    assert [expected[step] for step in (100, 110, 120)] == [0.5, 0.25, 0.125]
    assert _scalars(out / "train", "probe_loss") == pytest.approx({p["step"]: p["loss"] for p in log.probes})


def test_update_ratio_is_per_step_and_activation_shares_are_per_layer(tmp_path):
    log = _graded_run()
    out = export_tensorboard(_write_run(tmp_path, log))
    ratios = _scalars(out / "train", "update_ratio/output")
    assert 0 not in ratios  # the first probe has no update ratio
    assert ratios[110] == pytest.approx(0.005) and ratios[2] == pytest.approx(0.005)  # gaps of 10 and 1
    assert _scalars(out / "train", "dead_fraction/hidden_0") == pytest.approx({100: 0.0, 110: 0.1, 120: 0.2})
    assert _scalars(out / "train", "saturated_fraction/hidden_0") == pytest.approx(
        {100: 0.0, 110: 0.0, 120: 0.0})


def test_findings_are_one_text_entry_with_code_severity_message_and_fix(tmp_path):
    out = export_tensorboard(_write_run(tmp_path, healthy().log))
    entries = _reader(out / "train").Tensors("findings/text_summary")
    assert len(entries) == 1
    text = entries[0].tensor_proto.string_val[0].decode()
    for finding in FINDINGS:
        assert finding["code"] in text and finding["message"] in text
    assert "ERROR VANISHING_GRADIENTS" in text and "fix: Use relu with he_normal." in text
    assert "symptom of VANISHING_GRADIENTS" in text


def test_non_finite_values_are_written_as_they_are(tmp_path):
    builder = LogBuilder().probe(0, loss=2.3).probe(10, loss=math.inf, grads={"hidden_0": math.nan})
    builder.epoch(0, 2.0).epoch(1, math.nan)
    out = export_tensorboard(_write_run(tmp_path, builder.log, findings=[]))
    losses = _scalars(out / "train", "epoch_loss")
    assert losses[0] == pytest.approx(2.0) and math.isnan(losses[1])
    assert _scalars(out / "train", "probe_loss") == {0: pytest.approx(2.3), 10: math.inf}
    assert math.isnan(_scalars(out / "train", "gradient_norm/hidden_0")[10])


def test_a_second_export_replaces_the_first_instead_of_doubling_the_points(tmp_path):
    run = _write_run(tmp_path, healthy().log)
    export_tensorboard(run)
    out = export_tensorboard(run)
    assert len(list((out / "train").iterdir())) == 1
    assert len(_scalars(out / "train", "epoch_loss")) == len(healthy().log.epochs)


def test_compare_folder_exports_each_seed_run_under_its_variant_label(tmp_path):
    labels = ["adam lr=0.001", "sgd"]
    (tmp_path / "compare.json").write_text(json.dumps({"variants": [{"variant": label} for label in labels]}))
    for index in range(2):
        for seed in range(2):
            folder = tmp_path / f"variant-{index}" / f"seed-{seed}"
            folder.mkdir(parents=True)
            _write_run(folder, LogBuilder().epoch(0, 1.0 + index + seed / 10).log)
    out = export_tensorboard(tmp_path, tmp_path / "events")
    assert sorted(p.name for p in out.iterdir()) == ["adam_lr=0.001", "sgd"]
    assert _scalars(out / "sgd" / "seed-1" / "train", "epoch_loss") == pytest.approx({0: 2.1})
    assert _scalars(out / "adam_lr=0.001" / "seed-0" / "train", "epoch_loss") == pytest.approx({0: 1.0})


def test_tune_folder_exports_its_best_check_run(tmp_path):
    (tmp_path / "best_params.json").write_text("{}")
    (tmp_path / "best").mkdir()
    _write_run(tmp_path / "best", LogBuilder().epoch(0, 0.7).log)
    out = export_tensorboard(tmp_path)
    assert _scalars(out / "best" / "train", "epoch_loss") == pytest.approx({0: 0.7})


def test_a_folder_without_a_runlog_is_refused_with_one_line(tmp_path):
    with pytest.raises(KerasDoctorError, match="is not a keras-doctor run folder: it has no runlog.jsonl") as error:
        export_tensorboard(tmp_path)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "tensorboard").exists()


def test_an_out_that_is_a_file_is_refused(tmp_path):
    run = _write_run(tmp_path, healthy().log)
    (tmp_path / "events").write_text("")
    with pytest.raises(KerasDoctorError, match="must be a folder for the event files; .*events is a file") as error:
        export_tensorboard(run, tmp_path / "events")
    assert "\n" not in str(error.value)


def test_an_out_holding_other_files_is_left_alone(tmp_path):
    run = _write_run(tmp_path, healthy().log)
    with pytest.raises(KerasDoctorError, match="`out` holds files that are not TensorBoard events"):
        export_tensorboard(run, tmp_path)
    assert (tmp_path / "runlog.jsonl").is_file() and not (tmp_path / "train").exists()


def test_export_never_imports_keras(tmp_path):
    run = _write_run(tmp_path, _graded_run())
    script = ("import sys\nfrom kerasdoctor.report import export_tensorboard\n"
              f"export_tensorboard({str(run)!r})\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'keras'))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (run / "tensorboard" / "train").is_dir()


def test_the_export_command_writes_the_events_and_says_how_to_view_them(tmp_path):
    from typer.testing import CliRunner

    from kerasdoctor.cli.app import app

    run = _write_run(tmp_path, _graded_run())
    result = CliRunner().invoke(app, ["export", "tensorboard", str(run), str(tmp_path / "events")])
    assert result.exit_code == 0, result.output
    assert f"tensorboard --logdir {tmp_path / 'events'}" in result.output
    assert _scalars(tmp_path / "events" / "train", "gradient_norm/hidden_0")[110] == pytest.approx(0.25)
    missing = CliRunner().invoke(app, ["export", "tensorboard", str(tmp_path / "nosuch")])
    assert missing.exit_code == 1 and "it does not exist" in missing.output
    assert "Traceback" not in missing.output
