"""Data-parallel training on two simulated CPU devices (JAX): the same weights as one device, and
`speed` offers it as a knob."""

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent("""
    import json
    import kerasdoctor
    import keras
    import numpy as np
    from kerasdoctor.speedup import knobs
    from kerasdoctor.speedup.knobs import Settings
    from kerasdoctor.speedup.measure import distributed
    from kerasdoctor.workload.data import validate

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")


    def train(parallel):
        keras.backend.clear_session()
        with distributed(Settings(batch_size=32, data_parallel=parallel)):
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
                                      keras.layers.Dropout(0.1), keras.layers.Dense(2, activation="softmax")])
            model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
            model.fit(x, y, batch_size=32, epochs=3, verbose=0)
            return [np.asarray(w) for w in model.get_weights()], keras.distribution.distribution()


    (one, none), (two, used) = train(False), train(True)
    found = knobs.facts()
    offered, _ = knobs.candidates(found, Settings(batch_size=32), samples=512, optimizer="Adam")
    print(json.dumps({
        "devices": found["devices"],
        "distribution": type(used).__name__, "after": keras.distribution.distribution() is None,
        "max_difference": max(float(np.abs(a - b).max()) for a, b in zip(one, two)),
        "largest_weight": max(float(np.abs(a).max()) for a in one),
        "knobs": [k.name for k in offered],
    }))
""")


def test_two_simulated_devices_train_to_the_weights_of_one(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    script = tmp_path / "parallel.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    import json

    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["devices"] == 2 and report["distribution"] == "DataParallel" and report["after"]
    # The same global batch, its gradient averaged over two shards: equal up to float32 summation order.
    assert report["max_difference"] <= 1e-5 * max(1.0, report["largest_weight"])
    assert "data parallel x2" in report["knobs"]
