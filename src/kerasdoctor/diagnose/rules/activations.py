"""DYING_RELU, SATURATED_ACTIVATIONS and FROZEN_OR_DEAD_LAYER, from the probe's per-layer statistics."""

from kerasdoctor.diagnose.base import Finding, Rule
from kerasdoctor.diagnose.series import fit_to_trivial, gradient_probes, hidden_only, kernel_layers, layers
from kerasdoctor.vocabulary import RECTIFIERS
from kerasdoctor.vocabulary import SATURATING


def _fraction(name, value):
    if not 0 < value <= 1:
        raise ValueError(f"Argument `{name}` must be in (0, 1]. Received: {name}={value}")


def _min_probes(value):
    if not (isinstance(value, int) and value >= 1):
        raise ValueError(f"Argument `min_probes` must be a positive integer. Received: min_probes={value}")


def _persistent(log, names, key, threshold, min_probes):
    """{layer: (first step, last value)} for layers whose ``key`` stayed >= threshold in the last probes."""
    probes = [p for p in log.probes if p.get("layers")]
    if len(probes) < min_probes:
        return {}
    recent = probes[-min_probes:]
    found = {}
    for name in names:
        values = [p["layers"].get(name, {}).get(key) for p in recent]
        if all(v is not None and v >= threshold for v in values):
            first = next(p["step"] for p in probes if p["layers"].get(name, {}).get(key, 0) >= threshold)
            found[name] = (first, values[-1])
    return found


class DyingRelu(Rule):
    """Fires when many ReLU units output zero for every probe sample, probe after probe.

    Dead units are capacity lost: the harm is a model that cannot fit. One whose training loss
    has fallen far below the trivial loss fitted its data with the units it kept, so there the
    dead units are reported as information (as SATURATED_ACTIVATIONS stays quiet on saturated
    units of a model that fits).

    Args:
        max_dead: the largest share of dead units in a ReLU layer.
        min_probes: how many of the latest probes must agree.
        trained_well: the model's fit (the lower of its last training and validation losses, each
            as a share of its trivial loss: `series.fit_to_trivial`), below
            which the model counts as having fitted its data despite the dead units.
    """

    code = "DYING_RELU"

    def __init__(self, max_dead=0.7, min_probes=2, trained_well=0.5):
        _fraction("max_dead", max_dead)
        _min_probes(min_probes)
        _fraction("trained_well", trained_well)
        self.max_dead, self.min_probes, self.trained_well = max_dead, min_probes, trained_well

    def check(self, log):
        names = [l["name"] for l in layers(log) if l.get("activation") in RECTIFIERS]
        found = _persistent(log, names, "dead_fraction", self.max_dead, self.min_probes)
        if not found:
            return None
        worst = max(found, key=lambda n: found[n][1])
        step = min(s for s, _ in found.values())
        level = fit_to_trivial(log)
        fitted = level is not None and level < self.trained_well
        severity = "info" if fitted else "error" if found[worst][1] >= 0.9 else "warning"
        return Finding(
            self.code, severity, step,
            f"{len(found)} ReLU layer(s) have mostly dead units: {found[worst][1]:.0%} of {worst}'s units "
            f"output 0 for every probe sample (first seen at step {step}). Dead units get no gradient "
            "and never recover."
            + (f" The model fitted its data with the units it kept (its loss is {level:.0%} of the "
               "trivial loss), so they cost capacity it did not need." if fitted else ""),
            {"layers": {n: v for n, (_, v) in found.items()}, "worst_layer": worst, "max_dead": self.max_dead,
             "fit_to_trivial": level},
            "Lower the learning rate, start biases at 0 (not negative), use he_normal, or switch to "
            "leaky_relu / gelu, which keep a gradient below zero.",
        )


class SaturatedActivations(Rule):
    """Fires when sigmoid/tanh layers sit at their flat ends for most inputs, and the model
    has not fitted its training data.

    A saturated unit passes almost no gradient, so it stops learning: that is the harm the rule
    reports. A network whose training loss has fallen far below the trivial loss has learned
    what it needed: its sigmoid units may settle near 0 or 1 as the near-binary features the
    task wants. The saturation is then a state, not an obstacle, and the rule stays quiet; the
    gradient itself has its own rule (VANISHING_GRADIENTS). The harmful case (Glorot and Bengio,
    2010: a saturated top layer holds the loss on a plateau) keeps the loss high.

    Args:
        max_saturated: the largest share of saturated outputs in a layer.
        min_probes: how many of the latest probes must agree.
        trained_well: the model's fit (`series.fit_to_trivial`), below which the
            model counts as having fitted its data despite the saturation.
    """

    code = "SATURATED_ACTIVATIONS"

    def __init__(self, max_saturated=0.5, min_probes=2, trained_well=0.5):
        _fraction("max_saturated", max_saturated)
        _min_probes(min_probes)
        _fraction("trained_well", trained_well)
        self.max_saturated, self.min_probes, self.trained_well = max_saturated, min_probes, trained_well

    def check(self, log):
        hidden = hidden_only(layers(log), log)  # an output's sigmoid is its loss's business
        names = [l["name"] for l in hidden if l.get("activation") in SATURATING]
        found = _persistent(log, names, "saturated_fraction", self.max_saturated, self.min_probes)
        level = fit_to_trivial(log)
        if not found or (level is not None and level < self.trained_well):
            return None
        worst = max(found, key=lambda n: found[n][1])
        step = min(s for s, _ in found.values())
        return Finding(
            self.code, "warning", step,
            f"{len(found)} sigmoid/tanh layer(s) are saturated: {found[worst][1]:.0%} of {worst}'s outputs "
            "sit at a flat end, where the gradient is nearly 0"
            + (f"; the loss is still {level:.0%} of the trivial loss." if level is not None else "."),
            {"layers": {n: v for n, (_, v) in found.items()}, "worst_layer": worst,
             "max_saturated": self.max_saturated, "fit_to_trivial": level},
            "Scale the inputs, use glorot_uniform (not larger) weights, add BatchNormalization before the "
            "activation, or use relu/gelu in hidden layers.",
        )


class FrozenOrDeadLayer(Rule):
    """Fires when a trainable kernel gets exactly zero gradient at every probe (a dead layer), or
    when layers frozen with trainable=False hold weights and the model has stalled far from a fit;
    otherwise reports frozen layers as information.

    A log does not say whether frozen weights were pretrained: a frozen pretrained backbone fits
    its data through the layers after it, a randomly initialized one gives them noise to fit. So
    the frozen layers are a warning only while the training loss stays high.

    Args:
        min_probes: how many probes with gradients are needed.
        stalled_loss: the training loss, as a share of the trivial loss, at or above which a
            model with frozen layers counts as not fitting.
        min_epochs: epochs to wait before judging frozen layers by the loss.
    """

    code = "FROZEN_OR_DEAD_LAYER"

    def __init__(self, min_probes=3, stalled_loss=0.6, min_epochs=3):
        _min_probes(min_probes)
        _fraction("stalled_loss", stalled_loss)
        if not (isinstance(min_epochs, int) and min_epochs >= 1):
            raise ValueError(f"Argument `min_epochs` must be a positive integer. Received: min_epochs={min_epochs}")
        self.min_probes, self.stalled_loss, self.min_epochs = min_probes, stalled_loss, min_epochs

    def check(self, log):
        probes = gradient_probes(log)
        dead = []
        if len(probes) >= self.min_probes:
            for layer, name in kernel_layers(log):
                rows = [p["variables"].get(name) for p in probes]
                if all(row is not None and row.get("grad_norm") == 0 for row in rows):
                    dead.append(layer["name"])
        if dead:
            return Finding(
                self.code, "warning", probes[0]["step"],
                f"{len(dead)} layer(s) got exactly zero gradient at every one of {len(probes)} probes "
                f"({', '.join(dead[:4])}): their weights never change.",
                {"problem": "dead", "layers": dead, "probes": len(probes)},
                "Look for what blocks the gradient: dead ReLUs before it, a constant (zero) initializer, "
                "a stop_gradient, or an integer cast in the path.",
            )
        frozen = [l for l in layers(log) if not l.get("trainable", True) and l.get("params")]
        if frozen:
            return self._frozen(log, frozen)
        return None

    def _frozen(self, log, frozen):
        names = [l["name"] for l in frozen]
        held = sum(l["params"] for l in frozen)
        level = fit_to_trivial(log) if len(log.epochs) >= self.min_epochs else None
        evidence = {"problem": "frozen", "layers": names, "frozen_params": held, "fit_to_trivial": level}
        if level is not None and level >= self.stalled_loss:
            return Finding(
                self.code, "warning", log.epochs[-1]["step"],
                f"{len(frozen)} layer(s) are frozen (trainable=False) and hold {held} weights "
                f"({', '.join(names[:4])}), and the model does not fit its data: its loss "
                f"is still {level:.0%} of the trivial loss after {len(log.epochs)} epochs. Frozen "
                "layers that were not trained first (pretrained) give the layers after them noise to fit.",
                dict(evidence, problem="frozen_stalled", stalled_loss=self.stalled_loss),
                "Set layer.trainable = True (and compile again) on layers that should learn, or load "
                "pretrained weights into them before freezing.",
            )
        return Finding(
            self.code, "info", None,
            f"{len(frozen)} layer(s) are frozen (trainable=False): {', '.join(names[:4])}. Fine for "
            "pretrained layers; randomly initialized frozen layers never learn.",
            evidence,
            "Set layer.trainable = True (and compile again) on layers that should learn.",
        )
