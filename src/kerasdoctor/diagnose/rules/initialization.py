"""POOR_INITIALIZATION: kernels that start at zero, at a huge scale, or that do not fit a deep net's activation."""

import math

from kerasdoctor.diagnose.base import Finding, Rule
from kerasdoctor.diagnose.series import gradient_probes, hidden_only, kernel_layers, rms
from kerasdoctor.vocabulary import RECTIFIERS

CONSTANT = ("Zeros", "Ones", "Constant", "zeros", "ones", "constant")
VARIANCE_FOR_RELU = ("HeNormal", "HeUniform", "he_normal", "he_uniform")


def _units(layer):
    shape = layer.get("output_shape") or [None]
    return layer.get("units") or shape[-1]


def _he_scale(row, layer):
    """sqrt(2 / fan_in), with fan_in = kernel size / units."""
    units = layer.get("units")
    if not units or not row.get("size"):
        return None
    return math.sqrt(2.0 / max(row["size"] / units, 1.0))


class PoorInitialization(Rule):
    """Fires on kernels initialized to a constant, at a scale far above He's, or a deep ReLU stack
    whose initial activations shrink layer by layer.

    Args:
        max_scale: the largest ratio of a kernel's initial RMS to He's scale sqrt(2 / fan_in).
        min_depth: the number of kernel layers from which depth makes the initializer matter.
        max_decay: the smallest ratio of the last to the first hidden activation scale.
    """

    code = "POOR_INITIALIZATION"

    def __init__(self, max_scale=10.0, min_depth=6, max_decay=0.1):
        if not max_scale > 1:
            raise ValueError(f"Argument `max_scale` must be greater than 1. Received: max_scale={max_scale}")
        if not (isinstance(min_depth, int) and min_depth >= 2):
            raise ValueError(f"Argument `min_depth` must be an integer >= 2. Received: min_depth={min_depth}")
        if not 0 < max_decay < 1:
            raise ValueError(f"Argument `max_decay` must be in (0, 1). Received: max_decay={max_decay}")
        self.max_scale, self.min_depth, self.max_decay = max_scale, min_depth, max_decay

    def check(self, log):
        kernels = kernel_layers(log)
        # A layer of one unit has no units to tell apart: a constant start is harmless there.
        several = [(layer, name) for layer, name in kernels if _units(layer) != 1]
        constant = [layer["name"] for layer, _ in several
                    if (layer.get("kernel_initializer") or {}).get("name") in CONSTANT]
        probes = gradient_probes(log) or log.probes
        initial = probes[0] if probes and probes[0]["step"] == 0 else None
        if initial is not None:
            constant += [layer["name"] for layer, name in several
                         if initial["variables"].get(name, {}).get("weight_norm") == 0
                         and layer["name"] not in constant]
        if constant:
            return Finding(
                self.code, "error", 0,
                f"The kernels of {len(constant)} layer(s) start as a constant ({', '.join(constant[:4])}): "
                "every unit of a layer computes the same thing and gets the same gradient, so the "
                "symmetry is never broken.",
                {"problem": "constant_kernel", "layers": constant,
                 "initializers": {l["name"]: (l.get("kernel_initializer") or {}).get("name")
                                  for l, _ in kernels if l["name"] in constant}},
                "Use a random initializer: he_normal for ReLU layers, glorot_uniform (the Keras default) "
                "for tanh/sigmoid/linear ones. Biases may start at zero.",
            )
        if initial is None:
            return None
        huge = []
        for layer, name in kernels:
            row = initial["variables"].get(name, {})
            scale, reference = rms(row, "weight_norm"), _he_scale(row, layer)
            if scale is not None and reference and scale > self.max_scale * reference:
                huge.append((layer["name"], scale, reference))
        if huge:
            name, scale, reference = max(huge, key=lambda h: h[1] / h[2])
            return Finding(
                self.code, "error", 0,
                f"{len(huge)} kernel(s) start far too large: {name} has RMS {scale:.3g}, "
                f"{scale / reference:.0f}x He's sqrt(2/fan_in) = {reference:.3g}. Activations and "
                "gradients blow up from the first step.",
                {"problem": "huge_scale", "layers": [h[0] for h in huge], "worst_layer": name,
                 "initial_rms": scale, "he_scale": reference, "max_scale": self.max_scale},
                "Use a variance-scaling initializer: he_normal for ReLU layers, glorot_uniform for others "
                "(keras-doctor's fit_initializers(model) sets them from each layer's activation).",
            )
        return self._activation_decay(log, kernels, initial)

    def _activation_decay(self, log, kernels, initial):
        hidden = hidden_only([layer for layer, _ in kernels], log)
        relu = [l for l in hidden if l.get("activation") in RECTIFIERS]
        if len(relu) < self.min_depth or len(relu) < len(hidden) // 2:
            return None
        mismatched = [l["name"] for l in relu
                      if (l.get("kernel_initializer") or {}).get("name") not in VARIANCE_FOR_RELU]
        stats = initial.get("layers", {})
        scales = [stats[l["name"]]["std"] for l in relu if "std" in stats.get(l["name"], {})]
        if len(mismatched) < self.min_depth or len(scales) < 2 or scales[0] <= 0:
            return None
        decay = scales[-1] / scales[0]
        if decay >= self.max_decay:
            return None
        return Finding(
            self.code, "warning", 0,
            f"{len(relu)} ReLU layers use an initializer made for other activations, and the initial "
            f"activation scale shrinks {1 / max(decay, 1e-30):.0f}x from the first to the last of them.",
            {"problem": "activation_mismatch", "layers": mismatched, "activation_scale_ratio": decay,
             "max_decay": self.max_decay},
            "Initialize ReLU layers with he_normal (or call keras-doctor's fit_initializers(model)); "
            "keep glorot_uniform for tanh and sigmoid layers.",
        )
