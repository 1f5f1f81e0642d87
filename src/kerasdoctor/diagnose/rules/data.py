"""Rules on the data, before any training: BAD_INPUTS, BAD_LABELS, INPUT_NOT_NORMALIZED."""

from kerasdoctor.diagnose.base import Finding, Rule
from kerasdoctor.diagnose.series import inputs, is_classification, labels, layers

SPLITS = ("train", "val")
NORMALIZING_LAYERS = ("Normalization", "Rescaling", "BatchNormalization", "LayerNormalization",
                      "Embedding", "TextVectorization", "StringLookup", "IntegerLookup", "Discretization")


def _arrays(stats):
    """Stats of each input array: a dict of stats per name for dict inputs."""
    if not stats:
        return {}
    return {"x": stats} if "shape" in stats else dict(stats)


def _named(name):
    """How a message names an input: ``x[1]`` for an input given by its place in a list."""
    return f"x[{name}]" if name.isdigit() else name


def _positive(name, value):
    if not value > 0:
        raise ValueError(f"Argument `{name}` must be positive. Received: {name}={value}")


class BadInputs(Rule):
    """NaN/Inf in the inputs, or validation samples copied from the training set.

    Args:
        max_shared_fraction: the share of validation samples that may also be
            in the training set before validation metrics count as leaked.
    """

    code = "BAD_INPUTS"

    def __init__(self, max_shared_fraction=0.05):
        if not 0 <= max_shared_fraction < 1:
            raise ValueError(
                "Argument `max_shared_fraction` must be in [0, 1). "
                f"Received: max_shared_fraction={max_shared_fraction}"
            )
        self.max_shared_fraction = max_shared_fraction

    def check(self, log):
        for split in SPLITS + ("probe",):
            if log.data(split) is None:  # named as recorded: no training set stands in for the probe
                continue
            for name, stats in _arrays(inputs(log, split)).items():
                bad = stats.get("nan", 0) + stats.get("inf", 0)
                if bad:
                    return Finding(
                        self.code, "error", None,
                        f"The {split} inputs ({_named(name)}) hold {stats.get('nan', 0)} NaN and {stats.get('inf', 0)} "
                        "infinite values: every loss and gradient computed on them is NaN.",
                        {"problem": "non_finite", "split": split, "array": name,
                         "nan": stats.get("nan", 0), "inf": stats.get("inf", 0)},
                        "Clean the inputs before training: find the rows with np.isnan(x).any(axis=1), "
                        "then drop them or impute (sklearn.impute.SimpleImputer); np.nan_to_num replaces Inf.",
                    )
        overlap = log.data("overlap")
        if overlap and overlap.get("val_samples"):
            shared = overlap["val_in_train"] / overlap["val_samples"]
            if shared > self.max_shared_fraction:
                estimate = ""
                if overlap.get("train_rows_compared"):
                    estimate = (f" (an estimate: {overlap['train_rows_in_val']} of the "
                                f"{overlap['train_rows_compared']} training samples of the probe batch are in the "
                                "validation set)")
                return Finding(
                    self.code, "warning", None,
                    f"{'About ' if estimate else ''}{overlap['val_in_train']} of {overlap['val_samples']} validation "
                    f"samples ({shared:.0%}) are exact copies of training samples{estimate}: validation metrics "
                    "overstate how well the model generalizes.",
                    {"problem": "train_val_overlap", "shared_fraction": shared, **overlap},
                    "Split before any augmentation or oversampling, drop duplicates first "
                    "(np.unique(x, axis=0, return_index=True)), and split by group (sklearn GroupShuffleSplit) "
                    "when several samples come from one source.",
                )
        return None


class BadLabels(Rule):
    """NaN/Inf labels, a single label value, extreme class imbalance, or a validation set whose
    classes do not match training's.

    Args:
        max_imbalance: the largest ratio of the most to the least common class
            count before it is reported (ignored when FIT passes class_weight).
        min_expected_missing: a training class absent from validation is reported when the
            validation set, drawn like training, would hold at least this many of it. At 5 a
            random split misses such a class with a probability below 1%; an unshuffled
            ``validation_split`` of data sorted by class misses it for sure.
    """

    code = "BAD_LABELS"

    def __init__(self, max_imbalance=20.0, min_expected_missing=5.0):
        _positive("max_imbalance", max_imbalance)
        _positive("min_expected_missing", min_expected_missing)
        self.max_imbalance = max_imbalance
        self.min_expected_missing = min_expected_missing

    def check(self, log):
        for split in SPLITS:
            y = labels(log, split)
            bad = y.get("nan", 0) + y.get("inf", 0)
            if bad:
                return Finding(
                    self.code, "error", None,
                    f"The {split} labels hold {y.get('nan', 0)} NaN and {y.get('inf', 0)} infinite values.",
                    {"problem": "non_finite", "split": split, "nan": y.get("nan", 0), "inf": y.get("inf", 0)},
                    "Drop the samples whose label is missing (np.isfinite(y)), or impute it on purpose.",
                )
        y = labels(log, "train")
        if y.get("num_classes") == 1 or (y.get("encoding") == "continuous" and y.get("std") == 0):
            return Finding(
                self.code, "error", None,
                "Every training label has the same value: there is nothing to learn.",
                {"problem": "constant", "value": y.get("min")},
                "Check how the labels are loaded (a wrong column, a filter that kept one class).",
            )
        counts = y.get("counts")
        run = (log.of_type("run") or [{}])[-1]
        weighted = bool((run.get("fit") or {}).get("class_weight"))
        if counts and len(counts) > 1 and is_classification(log) and not weighted:
            ratio = max(counts) / max(min(counts), 1)
            if ratio >= self.max_imbalance:
                classes = y.get("classes") or list(range(len(counts)))
                major, minor = classes[counts.index(max(counts))], classes[counts.index(min(counts))]
                return Finding(
                    self.code, "warning", None,
                    f"The classes are extremely imbalanced: class {major} has {max(counts)} training "
                    f"samples, class {minor} only {min(counts)} ({ratio:.0f}x). Accuracy rewards "
                    "predicting the common class.",
                    {"problem": "imbalance", "ratio": ratio, "largest": [major, max(counts)],
                     "smallest": [minor, min(counts)], "max_imbalance": self.max_imbalance},
                    "Pass class_weight to fit (sklearn.utils.class_weight.compute_class_weight('balanced', ...)) "
                    "or compile with a class-balanced loss (kerasdoctor.losses.ClassBalanced.from_labels(y_train); "
                    "with one sigmoid unit add loss=keras.losses.BinaryCrossentropy()), "
                    "collect more minority samples or resample, and judge the model by per-class "
                    "recall or AUC rather than accuracy.",
                )
        val = labels(log, "val")
        if y.get("classes") and val.get("classes"):
            unseen = sorted(set(val["classes"]) - set(y["classes"]))
            if unseen:
                return Finding(
                    self.code, "warning", None,
                    f"The validation labels hold classes never seen in training: {unseen}.",
                    {"problem": "unseen_classes", "classes": unseen},
                    "Split with stratification (train_test_split(..., stratify=y)).",
                )
            return self._missing_in_validation(y, val)
        return None

    def _missing_in_validation(self, y, val):
        """Training classes the validation set lacks although it would hold several of each."""
        counts, samples = y.get("counts"), (val.get("shape") or [0])[0]
        if not counts or not samples:
            return None
        total = sum(counts)
        expected = {c: n / total * samples for c, n in zip(y["classes"], counts) if c not in set(val["classes"])}
        missing = sorted(c for c, e in expected.items() if e >= self.min_expected_missing)
        if not missing:
            return None
        return Finding(
            self.code, "warning", None,
            f"The validation set holds none of classes {missing}, which make up "
            f"{sum(counts[y['classes'].index(c)] for c in missing) / total:.0%} of training: a split drawn "
            f"like training would hold about {sum(expected[c] for c in missing):.0f} of its {samples} "
            "samples from them. Validation accuracy then measures the other classes only. "
            "fit's validation_split takes the last samples without shuffling, so data sorted by class "
            "gives this.",
            {"problem": "missing_in_validation", "classes": missing, "validation_samples": samples,
             "expected": {str(c): expected[c] for c in missing},
             "min_expected_missing": self.min_expected_missing},
            "Shuffle x and y together before fit (p = np.random.permutation(len(x)); x, y = x[p], y[p]), "
            "or split with train_test_split(..., stratify=y) and pass validation_data.",
        )


class InputNotNormalized(Rule):
    """Float inputs far from unit scale, or features whose scales differ by orders of magnitude.

    Args:
        max_abs: the largest input magnitude expected of scaled inputs.
        max_std: the largest standard deviation (or absolute mean) expected.
        max_feature_ratio: the largest ratio between the biggest and smallest
            per-feature standard deviation (tabular inputs).
    """

    code = "INPUT_NOT_NORMALIZED"

    def __init__(self, max_abs=20.0, max_std=5.0, max_feature_ratio=1000.0):
        for name, value in (("max_abs", max_abs), ("max_std", max_std), ("max_feature_ratio", max_feature_ratio)):
            _positive(name, value)
        self.max_abs, self.max_std, self.max_feature_ratio = max_abs, max_std, max_feature_ratio

    def check(self, log):
        first = next((l for l in layers(log) if l.get("class_name") not in ("InputLayer",)), None)
        if first is not None and first.get("class_name") in NORMALIZING_LAYERS:
            return None
        for name, stats in _arrays(inputs(log, "train")).items():
            if "max" not in stats or stats.get("nan") or stats.get("inf"):
                continue
            largest = max(abs(stats["min"]), abs(stats["max"]))
            spread = max(stats["std"], abs(stats["mean"]))
            ratio = None
            if stats.get("feature_std_min"):
                ratio = stats["feature_std_max"] / stats["feature_std_min"]
            scale_off = largest > self.max_abs and spread > self.max_std
            features_off = ratio is not None and ratio > self.max_feature_ratio and stats["feature_std_max"] > 1
            if not (scale_off or features_off):
                continue
            evidence = {"array": name, "min": stats["min"], "max": stats["max"], "mean": stats["mean"],
                        "std": stats["std"], "feature_std_ratio": ratio,
                        "thresholds": {"max_abs": self.max_abs, "max_std": self.max_std,
                                       "max_feature_ratio": self.max_feature_ratio}}
            what = (f"range from {stats['min']:.4g} to {stats['max']:.4g} (mean {stats['mean']:.4g}, "
                    f"std {stats['std']:.4g})")
            if features_off:
                what += f"; per-feature scales differ {ratio:.0f}x"
            return Finding(
                self.code, "warning", None,
                f"The training inputs ({_named(name)}) are not normalized: they {what}. Large or uneven inputs "
                "give large, uneven gradients and saturate activations.",
                evidence,
                "Standardize with statistics of the training split: sklearn.preprocessing.StandardScaler, or "
                "a keras.layers.Normalization layer adapted on x_train as the model's first layer; "
                "divide images by 255 (keras.layers.Rescaling(1/255)).",
            )
        return None
