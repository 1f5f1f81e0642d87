"""VANISHING_GRADIENTS and EXPLODING_GRADIENTS, from the per-layer gradients on the probe batch
and, for a recurrent model, from the gradient that reaches back through time."""

import math

from kerasdoctor.diagnose.base import Finding, Rule
from kerasdoctor.vocabulary import CONV_LAYERS, DENSE_LAYERS
from kerasdoctor.diagnose.series import (
    gradient_probes, is_finite, kernel_layers, median, probe_losses, recent_window, rms, trivial_loss,
)


def _depth_ratios(log):
    """[(step, first kernel's gradient RMS / output kernel's gradient RMS)] per probe, over the
    Dense and convolution layers: a stack whose gradient passes from layer to layer. Recurrent
    layers are judged through time instead, and an attention layer's projections sit behind a
    softmax and a 1/sqrt(d) scaling, so their per-weight gradient is small by construction."""
    kernels = [(layer, path) for layer, path in kernel_layers(log)
               if layer.get("class_name") in DENSE_LAYERS + CONV_LAYERS]
    if len(kernels) < 3:
        return kernels, []
    first, last = kernels[0][1], kernels[-1][1]
    out = []
    for probe in gradient_probes(log):
        top = rms(probe["variables"].get(last, {}), "grad_norm")
        bottom = rms(probe["variables"].get(first, {}), "grad_norm")
        if top and bottom is not None and top > 0:
            out.append((probe["step"], bottom / top))
    return kernels, out


def _time_ratio(record):
    """Gradient at the step the recurrent layer read first / at the step it read last; for a
    bidirectional layer, at the middle (read last by both directions) / the larger end."""
    first, middle, last = record.get("grad_norms") or (None, None, None)
    if not all(is_finite(v) for v in (first, middle, last)):
        return None
    reads = record.get("reads")
    early, late = {"backward": (last, first), "both": (middle, max(first, last))}.get(reads, (first, last))
    return early / late if late > 0 else None


def _time_ratios(log):
    """[(step, through-time ratio, probe)] of the probes of a recurrent model, in step order."""
    out = []
    for probe in gradient_probes(log):
        record = probe.get("gradient_through_time")
        ratio = _time_ratio(record) if isinstance(record, dict) else None
        if ratio is not None:
            out.append((probe["step"], ratio, probe))
    return out


def _global_norms(log):
    out = []
    for probe in gradient_probes(log):
        values = [row.get("grad_norm") for row in probe["variables"].values()]
        if values and all(is_finite(v) for v in values):
            out.append((probe["step"], math.sqrt(sum(v * v for v in values))))
    return out


class VanishingGradients(Rule):
    """Fires when the first layer's gradient is a tiny fraction of the output layer's, probe after
    probe; or, in a recurrent model that is not learning, when the gradient reaching the first
    time steps is a tiny fraction of that at the last.

    Args:
        min_ratio: the smallest (first layer / output layer) gradient RMS ratio.
        min_probes: how many probes must agree.
        min_time_ratio: the smallest (first step / last step) ratio of the gradient with respect
            to a recurrent layer's input sequence, over the probes of the second half of the run
            (by step; at least the last ``min_probes``), so that a schedule that probes the first
            steps densely (the Monitor's adaptive one) is judged like one that does not.
        max_loss_share: a recurrent model counts as not learning while its probe loss over the
            same probes stays above this share of the trivial loss (of the first probe's loss
            where the trivial loss is unknown).
    """

    code = "VANISHING_GRADIENTS"

    def __init__(self, min_ratio=1e-3, min_probes=2, min_time_ratio=1e-5, max_loss_share=0.8):
        for name, value in (("min_ratio", min_ratio), ("min_time_ratio", min_time_ratio),
                            ("max_loss_share", max_loss_share)):
            if not 0 < value < 1:
                raise ValueError(f"Argument `{name}` must be in (0, 1). Received: {name}={value}")
        if not (isinstance(min_probes, int) and min_probes >= 1):
            raise ValueError(f"Argument `min_probes` must be a positive integer. Received: min_probes={min_probes}")
        self.min_ratio, self.min_probes = min_ratio, min_probes
        self.min_time_ratio, self.max_loss_share = min_time_ratio, max_loss_share

    def check(self, log):
        return self._through_depth(log) or self._through_time(log)

    def _through_time(self, log):
        # Every recurrent layer, gated ones too, starts with a gradient that fades through time
        # (an LSTM's forget gate starts near sigmoid(1) per step); what tells a layer that cannot
        # learn a long-range dependency is that it still does so later, while the loss stays put.
        ratios = _time_ratios(log)
        later = recent_window(ratios, self.min_probes)  # by step, not by probe count
        if len(later) < self.min_probes:
            return None
        typical = median([r for _, r, _ in later])
        losses = [p["loss"] for _, _, p in later if is_finite(p.get("loss"))]
        trivial = trivial_loss(log)
        reference = trivial or next((p["loss"] for _, _, p in ratios if is_finite(p.get("loss"))), None)
        if typical >= self.min_time_ratio or not losses or not reference or reference <= 0:
            return None
        loss = median(losses)
        if loss < self.max_loss_share * reference:
            return None  # it learns: what reaches the first steps is all it needs
        record = later[-1][2]["gradient_through_time"]
        first_step = next(s for s, r, _ in later if r < self.min_time_ratio)
        where = ("middle step", "ends") if record.get("reads") == "both" else ("first step it reads", "last")
        return Finding(
            self.code, "error" if typical < self.min_time_ratio ** 2 else "warning", first_step,
            f"Gradients vanish through time: {record.get('layer')} gets {typical:.2g}x as much of the "
            f"loss's gradient at the {where[0]} of its {record.get('length')} steps as at the {where[1]} "
            f"(median of {len(later)} probes), while the loss stays at {loss:.3g} ({loss / reference:.0%} "
            f"of {'a constant prediction' if trivial else 'the first probe'}'s), so it cannot learn what "
            "depends on the early steps.",
            {"median_time_ratio": typical, "layer": record.get("layer"), "recurrent": record.get("recurrent"),
             "reads": record.get("reads"), "length": record.get("length"), "probes": len(later),
             "min_time_ratio": self.min_time_ratio,
             "loss": loss, "reference_loss": reference, "max_loss_share": self.max_loss_share},
            f"With SimpleRNN, use a gated layer (LSTM or GRU). With a gated layer ({record.get('recurrent')} "
            "here if gated), give it a longer memory from the start: forget-gate biases drawn as "
            "log(uniform(1, length)) (chrono initialization). Either way: clip gradients (clipnorm=1.0), "
            "shorten the sequences (truncate, or summarize them with Conv1D and pooling first), or read "
            "the early steps directly (attention).",
        )

    def _through_depth(self, log):
        kernels, ratios = _depth_ratios(log)
        if len(ratios) < self.min_probes:
            return None
        typical = median([r for _, r in ratios])
        if typical >= self.min_ratio:
            return None
        first_step = next(s for s, r in ratios if r < self.min_ratio)
        depth = len(kernels)
        return Finding(
            self.code, "error" if typical < self.min_ratio ** 2 else "warning", first_step,
            f"Gradients vanish with depth: the first layer ({kernels[0][0]['name']}) gets "
            f"{typical:.2g}x the gradient of the output layer ({kernels[-1][0]['name']}) per weight "
            f"(median of {len(ratios)} probes, {depth} layers), so the early layers barely learn.",
            {"median_ratio": typical, "first_layer": kernels[0][0]["name"], "output_layer": kernels[-1][0]["name"],
             "depth": depth, "probes": len(ratios), "min_ratio": self.min_ratio,
             "activations": sorted({l.get("activation") or "linear" for l, _ in kernels[:-1]})},
            "Use ReLU-family activations (relu, gelu, silu) with he_normal in deep stacks instead of "
            "sigmoid/tanh, add BatchNormalization or residual connections, or make the network shallower.",
        )


class ExplodingGradients(Rule):
    """Fires when the gradient norm grows far above its initial value while the loss does not
    improve, probe after probe (or until it turns NaN/Inf), or grows toward the input.

    A gradient that grows while the probe loss falls is a model leaving a flat start (a deep
    tanh net escaping its plateau), not an explosion; one probe above the limit is not enough.

    Args:
        max_growth: the largest growth of the global gradient norm over its first value.
        max_depth_ratio: the largest (first layer / output layer) gradient RMS ratio.
        min_probes: how many consecutive probes must be above ``max_growth``.
    """

    code = "EXPLODING_GRADIENTS"

    def __init__(self, max_growth=100.0, max_depth_ratio=1e3, min_probes=2):
        for name, value in (("max_growth", max_growth), ("max_depth_ratio", max_depth_ratio)):
            if not value > 1:
                raise ValueError(f"Argument `{name}` must be greater than 1. Received: {name}={value}")
        if not (isinstance(min_probes, int) and min_probes >= 1):
            raise ValueError(f"Argument `min_probes` must be a positive integer. Received: min_probes={min_probes}")
        self.max_growth, self.max_depth_ratio, self.min_probes = max_growth, max_depth_ratio, min_probes

    def _growth(self, log, norms, nonfinite):
        """The first probe of a persistent growth without improvement, or None."""
        start = norms[0][1]
        losses = dict(probe_losses(log))
        initial_loss = losses.get(norms[0][0])
        streak = []
        for step, value in norms[1:]:
            loss = losses.get(step)
            improving = initial_loss is not None and is_finite(loss) and loss < initial_loss
            streak = streak + [(step, value)] if value > self.max_growth * start and not improving else []
            ends_in_nan = nonfinite is not None and nonfinite > step
            if streak and (len(streak) >= self.min_probes or (ends_in_nan and step == norms[-1][0])):
                return streak[0][0], max(v for _, v in streak)
        return None

    def check(self, log):
        norms = _global_norms(log)
        nonfinite = next((p["step"] for p in gradient_probes(log)
                          if any(row.get("nonfinite_grad") for row in p["variables"].values())), None)
        if norms and norms[0][1] > 0:
            start = norms[0][1]
            found = self._growth(log, norms, nonfinite)
            if found is not None:
                step, value = found
                return self._finding(step, f"the global gradient norm grew from {start:.3g} to "
                                     f"{value:.3g} ({value / start:.0f}x) while the loss did not improve",
                                     {"initial_norm": start, "norm": value, "growth": value / start,
                                      "max_growth": self.max_growth, "nonfinite_step": nonfinite})
        if nonfinite is not None and norms and norms[-1][1] > 10 * norms[0][1]:
            return self._finding(nonfinite, "gradients grew and then became NaN/Inf",
                                 {"nonfinite_step": nonfinite, "initial_norm": norms[0][1]})
        kernels, ratios = _depth_ratios(log)
        if len(ratios) >= 2:
            typical = median([r for _, r in ratios])
            if typical > self.max_depth_ratio:
                return self._finding(ratios[0][0], f"the first layer gets {typical:.3g}x the gradient of "
                                     "the output layer per weight", {"median_depth_ratio": typical,
                                                                     "max_depth_ratio": self.max_depth_ratio})
        return None

    def _finding(self, step, what, evidence):
        return Finding(
            self.code, "error", step,
            f"Gradients are exploding: {what}. Steps this large throw the weights around.",
            evidence,
            "Clip gradients (clipnorm=1.0 in the optimizer), lower the learning rate, scale the inputs, "
            "and use a variance-scaling initializer (he_normal / glorot_uniform).",
        )
