"""BAD_LABELS: a validation set that lacks training classes it would hold if drawn like training."""

from kerasdoctor.diagnose.rules.data import BadLabels
from tests.unit.synthetic import LogBuilder, classes_stats


def _log(val_classes, val_samples, train_counts=(40, 40, 40)):
    train = classes_stats(3, sum(train_counts), counts=list(train_counts))
    val = {**classes_stats(3, val_samples), "classes": list(val_classes),
           "counts": [val_samples // len(val_classes)] * len(val_classes), "num_classes": len(val_classes)}
    return LogBuilder().data("train", y=train, samples=sum(train_counts)).data("val", y=val, samples=val_samples).log


def test_a_validation_set_of_one_class_from_an_unshuffled_split_is_reported():
    finding = BadLabels().check(_log([2], 30))
    assert finding is not None and finding.severity == "warning"
    assert finding.evidence["problem"] == "missing_in_validation" and finding.evidence["classes"] == [0, 1]
    assert "validation_split takes the last samples without shuffling" in finding.message


def test_a_rare_class_a_small_validation_set_can_miss_by_chance_is_not_reported():
    # Class 0 is 5% of training: a random 30-sample validation set holds 1.5 of it on average.
    assert BadLabels().check(_log([1, 2], 30, train_counts=(10, 95, 95))) is None


def test_a_validation_set_with_every_class_is_not_reported():
    assert BadLabels().check(_log([0, 1, 2], 30)) is None
