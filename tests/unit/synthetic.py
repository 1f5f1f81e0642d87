"""Builders of synthetic RunLogs for rule tests."""

from kerasdoctor.runlog import RunLog


def make_log(losses=(), probe_losses=(), data=None, probe_rows=None):
    log = RunLog()
    log.append("model", layers=[], variables=["dense/kernel"])
    for split, stats in (data or {}).items():
        log.append("data", split=split, **stats)
    for index, loss in enumerate(probe_losses):
        rows = (probe_rows or {}).get(index, {"dense/kernel": {"grad_norm": 1.0, "nonfinite_grad": 0.0, "nonfinite_weight": 0.0}})
        log.append("probe", step=index * 10, epoch=index, loss=loss, variables=rows, layers={})
    for index, loss in enumerate(losses):
        log.append("epoch", epoch=index, step=(index + 1) * 10, logs={"loss": loss}, learning_rate=0.01, seconds=1.0)
    return log


def clean_data():
    return {"train": {"samples": 10, "x": {"shape": [10, 4], "nan": 0, "inf": 0}, "y": {"shape": [10], "nan": 0, "inf": 0}}}


def dense(name, units, activation="relu", initializer="GlorotUniform", trainable=True, params=10):
    return {"name": name, "class_name": "Dense", "activation": activation, "units": units,
            "kernel_initializer": {"name": initializer, "config": {}}, "trainable": trainable,
            "params": params, "variables": [f"m/{name}/kernel", f"m/{name}/bias"],
            "output_shape": [None, units]}


def mlp(widths=(32, 16), classes=10, activation="relu", output="softmax", initializer="GlorotUniform"):
    layers = [dense(f"hidden_{i}", w, activation, initializer) for i, w in enumerate(widths)]
    return layers + [dense("output", classes, output, initializer)]


class LogBuilder:
    """A RunLog assembled record by record, with sensible healthy defaults."""

    def __init__(self, layers=None, loss="sparse_categorical_crossentropy", from_logits=False, lr=1e-3):
        self.log = RunLog()
        self.layers = layers if layers is not None else mlp()
        output = self.layers[-1]
        self.log.append("model", layers=self.layers, loss={"name": loss, "config": {"from_logits": from_logits}},
                        output_activation=output["activation"], output_shape=None,
                        optimizer={"name": "Adam", "config": {"learning_rate": lr}},
                        trainable_params=1000, variables=[v for l in self.layers for v in l["variables"]])
        self.lr = lr

    def data(self, split="train", x=None, y=None, samples=100):
        x = x if x is not None else {"shape": [samples, 8], "nan": 0, "inf": 0, "min": -3.0, "max": 3.0,
                                     "mean": 0.0, "std": 1.0}
        y = y if y is not None else classes_stats(10, samples)
        self.log.append("data", split=split, samples=samples, x=x, y=y)
        return self

    def probe(self, step, epoch=0, loss=2.3, grads=None, weights=None, per_step=0.005, sizes=None, layers=None):
        """A probe; ``per_step`` is each kernel's update ratio per step since the last probe."""
        gap = step - getattr(self, "_last_step", 0)
        self._last_step = step
        variables = {}
        for layer in self.layers:
            name = layer["variables"][0]
            variables[name] = {
                "grad_norm": (grads or {}).get(layer["name"], 1.0),
                "weight_norm": (weights or {}).get(layer["name"], 4.0),
                "update_ratio": None if step == 0 else per_step * gap,
                "size": (sizes or {}).get(layer["name"], 256.0),
                "zero_grad_fraction": 0.0, "nonfinite_grad": 0.0, "nonfinite_weight": 0.0,
            }
        self.log.append("probe", step=step, epoch=epoch, loss=loss, variables=variables,
                        layers=layers or {}, seconds=0.01)
        return self

    def epoch(self, epoch, loss, val_loss=None, accuracy=None, val_accuracy=None, steps=10):
        logs = {"loss": loss}
        for key, value in (("val_loss", val_loss), ("accuracy", accuracy), ("val_accuracy", val_accuracy)):
            if value is not None:
                logs[key] = value
        self.log.append("epoch", epoch=epoch, step=(epoch + 1) * steps, logs=logs, learning_rate=self.lr,
                        seconds=1.0)
        return self


def classes_stats(classes, samples, counts=None):
    counts = counts or [samples // classes] * classes
    return {"shape": [samples], "nan": 0, "inf": 0, "min": 0.0, "max": float(classes - 1),
            "mean": (classes - 1) / 2, "std": 1.0, "encoding": "index", "classes": list(range(classes)),
            "counts": counts, "num_classes": classes}


def healthy(epochs=6, classes=10):
    """A run whose loss falls from ln(classes) toward 0.1 and accuracy rises to 0.95."""
    import math

    builder = LogBuilder(layers=mlp(classes=classes)).data().data("val")
    start = math.log(classes)
    for index, step in enumerate((0, 1, 2, 4, 8, 16, 32, 40, 50, 60)):
        builder.probe(step, epoch=step // 10, loss=start * 0.8 ** index)
    for epoch in range(epochs):
        loss = start * 0.6 ** (epoch + 1)
        builder.epoch(epoch, loss, val_loss=loss * 1.2, accuracy=min(0.99, 0.5 + 0.1 * epoch),
                      val_accuracy=min(0.97, 0.48 + 0.1 * epoch))
    return builder
