"""Fuzzing of the RunLog reader: a damaged log loads or fails with one clear line, never a crash."""

import copy
import io
import json
import math

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from kerasdoctor.checkup import summarize_metrics
from kerasdoctor.diagnose import diagnose
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.report.terminal import render_check
from kerasdoctor.runlog import RunLog, RunLogError, to_jsonable
from tests.unit.synthetic import LogBuilder, classes_stats, dense, mlp

FUZZ = settings(max_examples=250, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _valid_lines():
    builder = LogBuilder().data("train").data("validation")
    for epoch in range(4):
        builder.probe(epoch * 10, epoch=epoch, loss=2.3 - 0.4 * epoch)
        builder.epoch(epoch, 2.2 - 0.4 * epoch, val_loss=2.3 - 0.3 * epoch, accuracy=0.2 * epoch)
    builder.log.append("note", message="probe skipped")
    builder.log.append("epoch", epoch=4, step=50, logs={"loss": float("nan")}, learning_rate=1e-3)
    builder.log.append("end", step=50, epochs=5, seconds=3.0)
    return [json.dumps(record, allow_nan=False).encode() for record in _strict(builder.log.records)]


def _strict(records):
    log = RunLog()
    log.records.clear()
    return [log.append(record["type"], **{k: v for k, v in record.items() if k != "type"}) for record in records]


VALID = _valid_lines()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
JUNK_LINES = st.one_of(
    st.binary(max_size=20),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    st.sampled_from([b"[1, 2]", b"42", b'"header"', b"null", b"{}", b'{"type": 3}', b'{"type": "epoch"}',
                     b'{"type": "probe", "step": "x"}', b'{"type": "epoch", "epoch": 1, "logs": []}',
                     b"NaN", b"\xff\xfe", b'{"type": "header", "schema": 2}']),
)


def _replace_a_field(record, rng, value):
    """The record with one top-level field replaced by ``value``, or removed when ``value`` is ``...``."""
    if not isinstance(record, dict) or not record:
        return record
    key = rng.choice(sorted(record))
    if value is ...:
        del record[key]
    else:
        record[key] = value
    return record


@st.composite
def damaged(draw):
    """The valid log's bytes after a few random edits of its lines, fields and bytes."""
    rng = draw(st.randoms(use_true_random=False))
    lines = list(VALID)
    for _ in range(draw(st.integers(1, 4))):
        edit = draw(st.sampled_from(["drop", "duplicate", "swap", "insert", "schema", "bytes", "shuffle",
                                     "field", "field", "field"]))
        index = rng.randrange(len(lines)) if lines else 0
        if edit == "drop" and lines:
            del lines[index]
        elif edit == "duplicate" and lines:
            lines.insert(index, lines[index])
        elif edit == "swap" and len(lines) > 1:
            other = rng.randrange(len(lines))
            lines[index], lines[other] = lines[other], lines[index]
        elif edit == "insert":
            lines.insert(index, draw(JUNK_LINES))
        elif edit == "schema":
            lines[0:1] = [json.dumps({"type": "header", "schema": draw(JSON_VALUES)}).encode()]
        elif edit == "bytes" and lines:
            line = bytearray(lines[index] or b" ")
            for _ in range(draw(st.integers(1, 3))):
                line[rng.randrange(len(line))] = draw(st.integers(0, 255))
            lines[index] = bytes(line)
        elif edit == "field" and lines:
            try:
                record = json.loads(lines[index])
            except ValueError:
                continue
            if isinstance(record, dict):
                value = draw(st.just(...) | JSON_VALUES | st.sampled_from(["NaN", "Infinity", -1, 0, 1e308]))
                lines[index] = json.dumps(_replace_a_field(record, rng, value)).encode()
        elif edit == "shuffle":
            lines = draw(st.permutations(lines))
    content = b"\n".join(lines) + b"\n"
    if draw(st.booleans()):
        content = content[: rng.randrange(len(content) + 1)]
    return content


def _load_or_one_line(path):
    try:
        return RunLog.load(path)
    except RunLogError as error:
        message = str(error)
        assert message and "\n" not in message and str(path.name) in message, message
        assert isinstance(error, KerasDoctorError) and isinstance(error, ValueError)
        return None


@FUZZ
@given(content=damaged())
def test_a_damaged_runlog_loads_or_fails_with_one_line_and_diagnoses_without_error(content, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "runlog.jsonl"
    path.write_bytes(content)
    log = _load_or_one_line(path)
    if log is not None:
        assert log.header["type"] == "header" and log.header["schema"] in (1, 2)
        diagnose(log)
    assert [p.name for p in tmp_path.iterdir()] == ["runlog.jsonl"]
    assert path.read_bytes() == content


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, sum(len(line) + 1 for line in VALID)))
def test_a_log_cut_at_any_byte_keeps_every_whole_line_before_the_cut(cut, tmp_path):
    path = tmp_path / "runlog.jsonl"
    content = b"\n".join(VALID) + b"\n"
    path.write_bytes(content[:cut])
    log = _load_or_one_line(path)
    kept = content[:cut].split(b"\n")
    whole = len(kept) - 1 + (kept[-1] == VALID[len(kept) - 1] if len(kept) <= len(VALID) else 0)
    if whole == 0:
        assert log is None
        return
    assert log is not None and len(log.records) == whole
    diagnose(log)


def test_the_valid_log_loads_whole():
    assert VALID and json.loads(VALID[0])["type"] == "header"


def test_a_crash_inside_a_multi_byte_character_still_loads(tmp_path):
    path = tmp_path / "runlog.jsonl"
    note = json.dumps({"type": "note", "message": "é"}, ensure_ascii=False).encode()
    path.write_bytes(b"\n".join(VALID[:3]) + b"\n" + note[: note.index("é".encode()) + 1])
    assert len(RunLog.load(path).records) == 3


@pytest.mark.parametrize("line, message", [
    (b"[1, 2]", r"runlog\.jsonl:2 is not a RunLog record.*Received: '\[1, 2\]'"),
    (b"42", r"runlog\.jsonl:2 is not a RunLog record"),
    (b'{"type": "epoch", "epoch": 1, "logs": []}', r"runlog\.jsonl:2 is a damaged 'epoch' record: its field 'step'"),
    (b'{"type": "probe", "step": 3, "epoch": 0}', r"damaged 'probe' record: its field 'variables'"),
    ('{"type": "note", "message": "a\u2028b"}'.encode(), None),
])
def test_a_line_of_the_wrong_kind_is_one_clear_error(line, message, tmp_path):
    path = tmp_path / "runlog.jsonl"
    path.write_bytes(VALID[0] + b"\n" + line + b"\n" + VALID[1] + b"\n")
    if message is None:
        assert RunLog.load(path).notes == ["a\u2028b"]
        return
    with pytest.raises(RunLogError, match=message):
        RunLog.load(path)


def test_a_boolean_schema_is_not_schema_one(tmp_path):
    path = tmp_path / "runlog.jsonl"
    path.write_bytes(b'{"type": "header", "schema": true}\n')
    with pytest.raises(KerasDoctorError, match="has RunLog schema true"):
        RunLog.load(path)


# Records that parse as JSON but whose nested fields are damaged: layer statistics, data
# statistics, the gradient through time and the model description.


def _stats(shape, low, high, mean, std, **more):
    return {"shape": shape, "dtype": "float32", "nan": 0, "inf": 0, "min": low, "max": high, "mean": mean,
            "std": std, **more}


def _targets(std, quantiles):
    return {"target_std": [std], "target_mad": [std * 0.8], "target_quantiles": [quantiles]}


def _sick_classifier():
    """A run with something for most rules to read: unscaled inputs of two arrays, imbalanced
    classes, a recurrent layer whose gradient fades through time, dead and saturated units, a
    loss that falls, then rises and turns NaN, a validation loss that climbs."""
    layers = [
        {"name": "lstm", "class_name": "LSTM", "activation": "tanh", "units": 16, "params": 1600,
         "trainable": True, "kernel_initializer": {"name": "GlorotUniform", "config": {"seed": None}},
         "bias_initializer": {"name": "Zeros", "config": {}}, "use_bias": True, "output_shape": [None, 16],
         "variables": ["lstm/kernel", "lstm/recurrent_kernel", "lstm/bias"]},
        *mlp(widths=(32, 16), classes=4, activation="relu"),
    ]
    layers[2]["activation"] = "sigmoid"
    builder = LogBuilder(layers=layers, lr=0.5)
    builder.log.records[-1]["loss"]["config"].update(label_smoothing=0.1)
    builder.log.records[-1].update(output_activation_known=True, params=3000, schedule="fixed")
    builder.log.append("run", workload="w.py", backend="jax", seed=0, split="stratified", input_kind="arrays",
                       fit={"epochs": 6, "batch_size": 32, "class_weight": None})
    classes = classes_stats(4, 400, counts=[370, 20, 6, 4])
    classes.update(_targets(0.6, [0.0, 0.0, 0.0, 1.0, 3.0]))
    x = {"left": _stats([400, 8], -900.0, 1200.0, 40.0, 300.0, feature_std_min=0.01, feature_std_max=500.0),
         "right": _stats([400, 20, 3], -1.0, 1.0, 0.0, 0.5)}
    builder.data("train", x=x, y=classes, samples=400)
    builder.data("val", x=x, y=classes_stats(3, 100, counts=[90, 6, 4]), samples=100)
    builder.data("probe", x=x, y=classes, samples=128)
    builder.log.append("data", split="overlap", val_samples=100, val_in_train=30)
    activations = {"hidden_0": {"mean": 0.0, "std": 0.0, "zero_fraction": 0.97, "dead_fraction": 0.9,
                             "saturated_fraction": 0.0, "nonfinite": 0.0},
                   "hidden_1": {"mean": 0.99, "std": 0.01, "zero_fraction": 0.0, "dead_fraction": 0.0,
                                "saturated_fraction": 0.95, "nonfinite": 0.0}}
    for index, step in enumerate((0, 1, 2, 5, 10, 20, 30)):
        builder.probe(step, epoch=step // 10, loss=1.4 * (1.5 if index > 4 else 0.9) ** index, per_step=0.05,
                      grads={"lstm": 1e-9, "hidden_0": 1e-8, "output": 50.0 * (index + 1)}, layers=activations)
        builder.log.records[-1]["gradient_through_time"] = {
            "layer": "lstm", "recurrent": "LSTM", "reads": "forward", "length": 20, "steps": [0, 10, 19],
            "grad_norms": [1e-12, 1e-6, 1.0]}
    for epoch, loss in enumerate((1.2, 0.9, 0.8, 3.5, 40.0, float("nan"))):
        builder.epoch(epoch, loss, val_loss=1.0 + epoch, accuracy=0.9, val_accuracy=0.5)
    builder.log.append("note", message="probe skipped")
    builder.log.append("end", step=60, epochs=6, seconds=3.0)
    return builder.log.records


def _two_heads():
    """A model with one loss per named output: a softmax head under a regression loss, a
    sigmoid head under a Huber loss whose targets leave its range."""
    layers = [dense("hidden", 16), dense("label", 3, "softmax"), dense("size", 1, "sigmoid")]
    builder = LogBuilder(layers=layers)
    builder.log.records[-1]["loss"] = {"name": "multiple", "outputs": {
        "label": {"name": "mean_squared_error", "config": {}},
        "size": {"name": "Huber", "config": {"delta": 1.0, "from_logits": False}}}}
    heads = {"label": classes_stats(3, 200), "size": {**_stats([200, 1], -4.0, 9.0, 1.0, 2.0),
                                                      "encoding": "continuous", "targets": 1,
                                                      **_targets(2.0, [-4.0, 0.0, 1.0, 2.0, 9.0])}}
    for split in ("train", "val"):
        builder.log.append("data", split=split, samples=200, x=_stats([200, 6], -2.0, 2.0, 0.0, 1.0),
                           y_outputs=heads)
    for step in (0, 5, 10):
        builder.probe(step, loss=3.0 - 0.1 * step)
    for epoch in range(3):
        builder.epoch(epoch, 3.0 - 0.1 * epoch, val_loss=3.0)
    return builder.log.records


def _multi_label():
    """Binary focal loss on multi-hot labels, with the focal settings in the loss config."""
    layers = mlp(widths=(8,), classes=5, output="sigmoid")
    builder = LogBuilder(layers=layers, loss="BinaryFocalCrossentropy")
    builder.log.records[-1]["loss"]["config"].update(alpha=0.25, gamma=2.0, apply_class_balancing=True)
    labels = {**_stats([50, 5], 0.0, 1.0, 0.2, 0.4), "encoding": "multi_hot", "labels": 5,
              "positive_rates": [0.1, 0.2, 0.0, 0.5, 0.9]}
    builder.data("train", y=labels, samples=50).data("val", y=labels, samples=50)
    for step in (0, 3, 6):
        builder.probe(step, loss=0.7)
    for epoch in range(4):
        builder.epoch(epoch, 0.69, val_loss=0.69, accuracy=0.8, val_accuracy=0.8)
    return builder.log.records


BASES = [_strict(records) for records in (_sick_classifier(), _two_heads(), _multi_label())]
JUNK = st.one_of(
    st.sampled_from([None, math.nan, math.inf, -math.inf, "NaN", "-Infinity", "abc", "", True, False, -1, 0,
                     0.5, 3, 1e308, -1e308, 10 ** 20, -(2 ** 63), 10 ** 400, [], [1, "a"], [None], [[1, 2]], [-1],
                     {}, {"a": 1}, {"name": 3}, {"shape": None}, [{"name": "x"}]]),
    JSON_VALUES,
)


def _containers(value):
    """The keys (or indices) of a non-empty dict (or list); [] for anything else."""
    if isinstance(value, dict):
        return sorted(value)
    return list(range(len(value))) if isinstance(value, list) else []


@st.composite
def damaged_fields(draw):
    """A valid log's records with one to four nested fields replaced by a value of another kind,
    or removed: a walk from a field that holds a dict or list picks the field, one or more levels
    below it (the top-level fields are the damaged() test's)."""
    records = copy.deepcopy(BASES[draw(st.integers(0, len(BASES) - 1))])
    for _ in range(draw(st.integers(1, 4))):
        record = records[draw(st.integers(1, len(records) - 1))]  # not the header
        nested = [key for key in sorted(record) if _containers(record[key])]
        if not nested:
            continue
        parent = record[draw(st.sampled_from(nested))]
        key = draw(st.sampled_from(_containers(parent)))
        while _containers(parent[key]) and draw(st.integers(0, 2)):
            parent = parent[key]
            key = draw(st.sampled_from(_containers(parent)))
        if draw(st.integers(0, 4)) == 0:
            del parent[key]
        else:
            parent[key] = copy.deepcopy(draw(JUNK))  # the sampled values are shared
    return records


def _render(log, findings, run):
    """The terminal and JSON output of `check` for the log and its findings."""
    summary = to_jsonable({"workload": "w.py", "run_dir": str(run), "backend": "jax",
                           "metrics": summarize_metrics(log), "findings": [f.to_dict() for f in findings],
                           "error": None, "report": None})
    text = json.dumps(summary, allow_nan=False)
    console = Console(file=io.StringIO(), width=100)
    for renderable in render_check(summary, log):
        console.print(renderable)
    return text, console.file.getvalue()


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(records=damaged_fields())
def test_damaged_nested_fields_load_diagnose_and_render_or_fail_with_one_line(records, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    path = run / "runlog.jsonl"
    content = b"".join(json.dumps(to_jsonable(record), allow_nan=False).encode() + b"\n" for record in records)
    path.write_bytes(content)
    log = _load_or_one_line(path)
    if log is not None:
        findings = diagnose(log)
        assert all(f.code and f.message and "\n" not in f.code for f in findings)
        text, shown = _render(log, findings, run)
        assert json.loads(text)["findings"] == [json.loads(json.dumps(to_jsonable(f.to_dict()))) for f in findings]
        assert "run folder" in shown
    assert [p.name for p in tmp_path.iterdir()] == ["run"] and [p.name for p in run.iterdir()] == ["runlog.jsonl"]
    assert path.read_bytes() == content


def test_each_base_log_loads_whole_and_its_rules_find_problems():
    for records in BASES:
        log = RunLog(records=records)
        assert diagnose(log), records[1]


def _record(records, kind, split=None):
    return next(r for r in records if r["type"] == kind and (split is None or r.get("split") == split))


def _codes(records):
    return {f.code: f for f in diagnose(RunLog(records=records))}


# (base, where the damage goes, the damaged value, what the loaded log and its findings show).
DAMAGES = {
    "an input's std is a list": (0, lambda r: _record(r, "data", "train")["x"]["left"], "std", [1.0],
                                 lambda log, codes: "INPUT_NOT_NORMALIZED" not in codes
                                 and "mean" not in log.data("train")["x"]["left"]),
    "class counts are a number": (0, lambda r: _record(r, "data", "train")["y"], "counts", 3.5,
                                  lambda log, codes: "counts" not in log.data("train")["y"]
                                  and "BAD_LABELS" not in codes),
    "fewer classes than counts": (0, lambda r: _record(r, "data", "train")["y"], "classes", [0, 1],
                                  lambda log, codes: "classes" not in log.data("train")["y"]),
    "the overlap count is text": (0, lambda r: _record(r, "data", "overlap"), "val_in_train", "many",
                                  lambda log, codes: log.data("overlap") == {"type": "data", "split": "overlap"}
                                  and "BAD_INPUTS" not in codes),
    "an infinite count of non-finite gradients": (
        0, lambda r: _record(r, "probe")["variables"]["m/output/kernel"], "nonfinite_grad", math.inf,
        lambda log, codes: "nonfinite_grad" not in log.probes[0]["variables"]["m/output/kernel"]
        and "NAN_OR_INF" in codes),
    "a gradient through time with two steps": (
        0, lambda r: _record(r, "probe"), "gradient_through_time", {"grad_norms": [1.0, 2.0]},
        lambda log, codes: "gradient_through_time" not in log.probes[0] and "VANISHING_GRADIENTS" in codes),
    "an activation row of text": (0, lambda r: _record(r, "probe")["layers"], "hidden_1", "saturated",
                                  lambda log, codes: "hidden_1" not in log.probes[0]["layers"]),
    "an activation row without its std": (0, lambda r: _record(r, "probe")["layers"]["hidden_0"], "std", "wide",
                                          lambda log, codes: "std" not in log.probes[0]["layers"]["hidden_0"]
                                          and "DYING_RELU" in codes),
    "a layer whose name is a number": (0, lambda r: _record(r, "model")["layers"][1], "name", 3,
                                       lambda log, codes: "hidden_0" not in [l["name"] for l in log.model["layers"]]),
    "a negative focal gamma": (2, lambda r: _record(r, "model")["loss"]["config"], "gamma", -1.0,
                               lambda log, codes: "gamma" not in log.model["loss"]["config"]),
    "a head's loss that is a number": (1, lambda r: _record(r, "model")["loss"]["outputs"], "label", 7,
                                       lambda log, codes: "label" not in log.model["loss"]["outputs"]
                                       and codes["OUTPUT_LOSS_MISMATCH"].evidence["outputs"] == ["size"]),
    "a loss named only": (2, lambda r: _record(r, "model"), "loss", "binary_crossentropy",
                          lambda log, codes: log.model["loss"] == {"name": "binary_crossentropy", "config": {}}),
    "an epoch metric without a value": (0, lambda r: _record(r, "epoch")["logs"], "val_loss", None,
                                        lambda log, codes: "val_loss" not in log.epochs[0]["logs"]),
}


@pytest.mark.parametrize("name", list(DAMAGES))
def test_a_damaged_nested_field_is_dropped_on_load_and_its_readers_skip_it(name, tmp_path):
    base, where, key, value, expected = DAMAGES[name]
    records = copy.deepcopy(BASES[base])
    where(records)[key] = value
    path = tmp_path / "runlog.jsonl"
    path.write_text("".join(json.dumps(to_jsonable(record)) + "\n" for record in records))
    log = RunLog.load(path)
    codes = {f.code: f for f in diagnose(log)}
    assert expected(log, codes)
    _render(log, list(codes.values()), tmp_path)
