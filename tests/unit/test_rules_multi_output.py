"""OUTPUT_LOSS_MISMATCH on models with one loss per named output, on synthetic RunLogs."""

from kerasdoctor.diagnose.rules.output_loss import OutputLossMismatch, heads
from kerasdoctor.runlog import RunLog
from .synthetic import dense

CLASSES = {"encoding": "index", "min": 0.0, "max": 9.0, "shape": [100], "nan": 0, "inf": 0}
VALUES = {"encoding": "continuous", "min": -2.5, "max": 3.1, "shape": [100], "nan": 0, "inf": 0}


def two_heads(class_loss="sparse_categorical_crossentropy", value_loss="mean_squared_error",
              class_activation="softmax", value_activation=None, value_labels=VALUES):
    log = RunLog()
    layers = [dense("hidden_0", 64), dense("digit", 10, class_activation), dense("ink", 1, value_activation)]
    loss = {"name": "multiple", "outputs": {"digit": {"name": class_loss, "config": {}},
                                            "ink": {"name": value_loss, "config": {}}}}
    log.append("model", layers=layers, loss=loss, output_activation=value_activation, output_shape=None,
               optimizer={"name": "Adam", "config": {"learning_rate": 1e-3}}, trainable_params=1000,
               variables=[v for layer in layers for v in layer["variables"]])
    log.append("data", split="train", samples=100, x={"shape": [100, 64], "nan": 0, "inf": 0},
               y_outputs={"digit": CLASSES, "ink": value_labels})
    return log


def test_a_healthy_two_headed_model_gets_no_output_loss_finding():
    assert OutputLossMismatch().check(two_heads()) is None


def test_binary_crossentropy_on_a_linear_regression_head_is_an_error_that_names_the_head():
    finding = OutputLossMismatch().check(two_heads(value_loss="binary_crossentropy"))
    assert finding is not None and finding.severity == "error"
    assert finding.evidence["output"] == "ink" and finding.evidence["outputs"] == ["ink"]
    assert "logits_without_from_logits" in finding.evidence["problems"]
    assert "labels_out_of_range" in finding.evidence["problems"]
    assert "'ink'" in finding.message


def test_a_sigmoid_multiclass_head_is_found_while_the_other_head_is_fine():
    finding = OutputLossMismatch().check(two_heads(class_activation="sigmoid"))
    assert finding.evidence["output"] == "digit" and finding.evidence["problems"] == ["sigmoid_multiclass"]


def test_each_head_is_judged_against_its_own_labels():
    # A sigmoid regression head is fine on targets in [0, 1] and wrong on standardized ones.
    inside = dict(VALUES, min=0.0, max=1.0)
    assert OutputLossMismatch().check(two_heads(value_activation="sigmoid", value_labels=inside)) is None
    finding = OutputLossMismatch().check(two_heads(value_activation="sigmoid"))
    assert finding.evidence["problems"] == ["labels_out_of_range"]


def test_heads_reads_loss_activation_units_and_labels_per_output():
    found = {h["head"]: h for h in heads(two_heads())}
    assert found["digit"]["loss"] == "sparse_categorical_crossentropy" and found["digit"]["units"] == 10
    assert found["ink"]["activation"] is None and found["ink"]["labels"]["encoding"] == "continuous"


def test_a_list_of_losses_is_not_judged_per_head():
    log = two_heads()
    log.model["loss"] = {"name": "multiple", "outputs": [{"name": "binary_crossentropy", "config": {}}]}
    assert heads(log) == []
