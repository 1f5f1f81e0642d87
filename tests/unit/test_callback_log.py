"""A Monitor in a user's own fit records only its probe batch (and the training labels when
given): the rules read those in place of the training set that `check` records."""

from kerasdoctor.diagnose.rules.data import BadInputs, BadLabels
from kerasdoctor.diagnose.series import chance_accuracy, labels
from tests.unit.synthetic import LogBuilder, classes_stats


def test_without_a_training_record_the_probe_labels_stand_in_for_the_training_labels():
    builder = LogBuilder()
    builder.data("probe", y=classes_stats(10, 128, counts=[110] + [2] * 9), samples=128)
    assert labels(builder.log)["counts"][0] == 110
    assert chance_accuracy(builder.log) == 110 / 128
    assert BadLabels().check(builder.log).evidence["problem"] == "imbalance"


def test_training_labels_given_to_the_monitor_are_preferred_over_the_probe_labels():
    builder = LogBuilder()
    builder.log.append("data", split="train", samples=1000, y=classes_stats(10, 1000))
    builder.data("probe", y=classes_stats(10, 128, counts=[110] + [2] * 9), samples=128)
    assert labels(builder.log)["counts"] == [100] * 10
    assert BadLabels().check(builder.log) is None


def test_nan_in_the_probe_inputs_is_named_as_the_probe_batch():
    builder = LogBuilder()
    builder.data("probe", x={"shape": [128, 8], "nan": 3, "inf": 0}, samples=128)
    finding = BadInputs().check(builder.log)
    assert finding.evidence["split"] == "probe" and finding.evidence["nan"] == 3
