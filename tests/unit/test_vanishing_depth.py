"""VANISHING_GRADIENTS with depth reads the Dense and convolution stack only."""

import math

from kerasdoctor.diagnose.rules.gradients import VanishingGradients
from kerasdoctor.runlog import RunLog

LABELS = {"shape": [128], "nan": 0, "inf": 0, "min": 0.0, "max": 1.0, "mean": 0.5, "std": 0.5,
          "encoding": "index", "classes": [0, 1], "counts": [64, 64], "num_classes": 2}


def stack_log(classes, first_gradient=1e-6):
    """Layers of the given classes; the first gets ``first_gradient`` of the others' gradient per weight."""
    log = RunLog()
    layers = [{"name": f"l{i}", "class_name": c, "activation": "relu", "variables": [f"l{i}/kernel", f"l{i}/bias"]}
              for i, c in enumerate(classes)]
    log.append("model", layers=layers, loss={"name": "BinaryCrossentropy", "config": {}},
               variables=[v for layer in layers for v in layer["variables"]])
    log.append("data", split="probe", samples=128, y=LABELS)
    for index in range(6):
        variables = {f"l{i}/kernel": {"grad_norm": (first_gradient if i == 0 else 1.0) * 4.0, "size": 16.0,
                                      "nonfinite_grad": 0.0} for i in range(len(classes))}
        log.append("probe", step=index * 10, epoch=index // 3, loss=math.log(2), variables=variables, layers={})
    return log


def test_a_dense_stack_whose_first_layer_gets_no_gradient_fires():
    finding = VanishingGradients().check(stack_log(["Dense", "Dense", "Dense", "Dense"]))
    assert finding is not None and finding.evidence["first_layer"] == "l0"


def test_an_attention_layers_small_projections_are_not_read_as_vanishing_with_depth():
    # Behind softmax and 1/sqrt(d), attention projections get a small gradient per weight by design.
    assert VanishingGradients().check(stack_log(["MultiHeadAttention", "Dense", "Dense", "Dense"])) is None


def test_a_recurrent_first_layer_is_left_to_the_through_time_reading():
    assert VanishingGradients().check(stack_log(["LSTM", "Dense", "Dense", "Dense"])) is None
