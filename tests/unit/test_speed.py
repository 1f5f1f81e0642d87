"""The parts of `speed` that need no timing: which knobs apply, the accuracy verdict, the fast copy."""

import math

import kerasdoctor  # noqa: F401, I001  (chooses the backend)
import keras
import numpy as np
import pytest

from kerasdoctor.speedup import accuracy_delta, fast_workload_source, time_to_target
from kerasdoctor.speedup.knobs import Settings, candidates
from kerasdoctor.workload import load_workload

CPU = {"backend": "jax", "accelerator": "cpu", "cpu_bf16": False}


def _names(knobs):
    return [k.name for k in knobs]


def test_knobs_follow_the_data_size_the_backend_and_the_hardware():
    knobs, skipped = candidates(CPU, Settings(batch_size=32), samples=3000, optimizer="Adam")
    assert _names(knobs) == ["no jit", "batch x2", "batch x4", "steps_per_execution=16", "compilation cache"]
    assert ("batch x8", "3000 samples make fewer than 20 steps of 256") in skipped
    assert any(name == "mixed precision" for name, _ in skipped)
    batch = knobs[2].apply(Settings(batch_size=32))
    assert batch.batch_size == 128 and batch.learning_rate_scale == pytest.approx(2.0)  # sqrt for Adam
    sgd, _ = candidates(CPU, Settings(batch_size=32), samples=3000, optimizer="SGD")
    assert sgd[1].apply(Settings(batch_size=32)).learning_rate_scale == 2.0  # linear for SGD
    hopper, _ = candidates(dict(CPU, accelerator="gpu", gpu_capability=9.0), Settings(batch_size=32), samples=3000,
                           optimizer="Adam")
    assert {"mixed_float16", "mixed_bfloat16"} <= set(_names(hopper))  # bfloat16 from Ampere on
    bf16, _ = candidates(dict(CPU, cpu_bf16=True), Settings(batch_size=32), samples=3000, optimizer="Adam")
    assert "mixed_bfloat16" in _names(bf16)
    gpu, gpu_skipped = candidates(dict(CPU, accelerator="gpu", backend="torch"), Settings(batch_size=32),
                                  samples=3000, optimizer="Adam")
    assert {"jit_compile", "mixed_float16"} <= set(_names(gpu)) and "no jit" not in _names(gpu)
    assert "steps_per_execution=16" not in _names(gpu)  # Keras refuses it on PyTorch
    assert "mixed_bfloat16" not in _names(gpu)  # compute capability unknown: float16 only
    assert ("compilation cache", "a persistent compilation cache is tried on JAX only") in gpu_skipped
    assert ("steps_per_execution", "Keras runs one step per execution on PyTorch") in gpu_skipped
    pipeline, skipped = candidates(CPU, Settings(batch_size=None), samples=0, optimizer="Adam")
    assert not any(k.group == "batch" for k in pipeline) and ("batch size", "the pipeline makes its own batches") in skipped


def _runs(bests, metric="val_accuracy", direction="max"):
    first = 0.9 if direction == "max" else 1.1  # the first epoch is worse; the best is the last
    return [{"metric": metric, "direction": direction, "values": [b * first, b], "seconds": [1.0, 2.0]}
            for b in bests]


def test_a_knob_may_cost_accuracy_only_within_the_allowance_and_one_standard_error():
    same = accuracy_delta(_runs([0.90, 0.91, 0.92]), _runs([0.90, 0.91, 0.92]))
    assert same["ok"] and same["points"] == pytest.approx(0.0)
    worse = accuracy_delta(_runs([0.90, 0.91, 0.92]), _runs([0.85, 0.86, 0.87]))
    assert not worse["ok"] and worse["points"] == pytest.approx(-5.0)
    # 0.5 points lower, but the seeds spread by about a point: within one standard error plus 0.3.
    noisy = accuracy_delta(_runs([0.89, 0.91, 0.93]), _runs([0.885, 0.905, 0.925]))
    assert noisy["ok"] and noisy["se"] > 0.3
    # A loss (lower is better): 2% relative.
    loss = accuracy_delta(_runs([1.0, 1.0], "val_loss", "min"), _runs([1.05, 1.05], "val_loss", "min"))
    assert not loss["ok"] and loss["points"] is None and loss["delta"] == pytest.approx(0.05)


def test_time_to_target_is_the_median_wall_time_of_the_first_epoch_that_reaches_it():
    runs = [{"values": [0.5, 0.8, 0.9], "seconds": [2.0, 3.0, 4.0]},
            {"values": [0.7, 0.9, 0.9], "seconds": [2.5, 3.5, 4.5]},
            {"values": [0.5, 0.6, 0.7], "seconds": [2.0, 3.0, 9.0]}]
    assert time_to_target(runs, 0.85, "max") == 4.0  # 4.0, 3.5 and (not reached) 9.0
    assert time_to_target(runs, 0.99, "max") is None
    assert math.isclose(time_to_target(runs, 0.4, "max"), 2.0)


def test_the_fast_workload_imports_the_original_and_applies_the_settings(tmp_path, healthy_source):
    original = tmp_path / "original.py"
    original.write_text(healthy_source)
    settings = Settings(batch_size=64, learning_rate_scale=2.0, jit_compile=False, steps_per_execution=4)
    fast = tmp_path / "fast_workload.py"
    fast.write_text(fast_workload_source(load_workload(original), settings, ["batch x2", "no jit"]))
    workload = load_workload(fast)
    assert workload.fit == {"epochs": 2, "batch_size": 64}
    model = workload.build_model()
    assert model.jit_compile is False and model.steps_per_execution == 4
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert rate == pytest.approx(2.0 * 1e-3)  # the original compiles Adam at its default 1e-3
    data = workload.load_data()
    assert isinstance(data.x_train, np.ndarray) and original.read_text() == healthy_source


def test_data_parallel_is_offered_over_several_devices_when_the_batch_splits_evenly():
    two = dict(CPU, devices=2)
    knobs, _ = candidates(two, Settings(batch_size=32), samples=3000, optimizer="Adam")
    assert "data parallel x2" in _names(knobs)
    assert knobs[_names(knobs).index("data parallel x2")].apply(Settings(batch_size=32)).data_parallel
    _, skipped = candidates(two, Settings(batch_size=33), samples=3000, optimizer="Adam")
    assert ("data parallel", "the batch size is not a multiple of the 2 devices") in skipped
    assert "data parallel x2" not in _names(candidates(CPU, Settings(batch_size=32), samples=3000,
                                                       optimizer="Adam")[0])


def test_every_other_installed_backend_is_a_knob_for_a_python_workload():
    found = dict(CPU, backends=["jax", "tensorflow", "torch"])
    knobs, _ = candidates(found, Settings(batch_size=32), samples=3000, optimizer="Adam")
    assert [k.name for k in knobs if k.group == "backend"] == ["backend tensorflow", "backend torch"]
    assert all(k.changes_math for k in knobs if k.group == "backend")
    _, skipped = candidates(found, Settings(batch_size=32), samples=3000, optimizer="Adam", python_workload=False)
    assert ("backend torch", "a .keras model with --data runs on this backend only") in skipped


def test_the_fast_copy_of_a_saved_model_loads_it_and_its_data(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "data.npz", x_train=np.ones((10, 3), "float32"), y_train=np.zeros(10, "int32"))
    original = load_workload(tmp_path / "model.keras", data=tmp_path / "data.npz")
    fast = tmp_path / "fast_workload.py"
    fast.write_text(fast_workload_source(original, Settings(batch_size=16, steps_per_execution=2), ["x"]))
    workload = load_workload(fast)
    assert workload.fit["batch_size"] == 16 and workload.build_model().steps_per_execution == 2
    assert workload.load_data().x_train.shape[1] == 3


def test_the_checked_scaling_rule_is_the_one_nearer_to_lr_finds_ratio():
    from kerasdoctor.speedup.knobs import checked_scale

    assert checked_scale(4, 1.8) == (2.0, "sqrt")
    assert checked_scale(4, 3.5) == (4.0, "linear")
    assert checked_scale(4, 0.5)[1] == "sqrt"  # a suggestion that fell: the gentler rule


def test_a_baseline_without_a_finite_metric_is_one_clear_error():
    from kerasdoctor.errors import KerasDoctorError
    from kerasdoctor.speedup import Row, _target

    baseline = Row("baseline", "", False, Settings(batch_size=32))
    baseline.accuracy = [{"metric": "val_loss", "direction": "min", "values": [float("nan")] * 2,
                          "seconds": [1.0, 2.0]}] * 2
    with pytest.raises(KerasDoctorError, match="without a finite val_loss"):
        _target(baseline)


def test_a_knob_many_times_slower_is_stopped_once_and_not_repeated(monkeypatch):
    import kerasdoctor.speedup as speedup

    calls = []

    def fake_timing(workload, data, settings, plan, steps, time_limit=None, cache_dir=None):
        calls.append((settings.jit_compile, time_limit))
        if settings.jit_compile is False:  # the slow knob: over its limit
            return {"stopped_after_seconds": time_limit + 0.1}
        return {"seconds": 20.0, "samples_per_second": 100.0, "steps_per_second": 10.0}

    monkeypatch.setattr(speedup, "time_settings", fake_timing)

    class Data:
        y_train = np.zeros(640)

    baseline = speedup.Row("baseline", "", False, Settings(batch_size=32))
    slow = speedup.Row("no jit", "", False, Settings(batch_size=32, jit_compile=False))
    speedup._time([baseline, slow], None, Data(), 3, 20, speedup._Progress(None, 6))
    limit = max(speedup.SLOW_STOP * 20.0, speedup.SLOW_STOP_FLOOR)
    assert calls.count((False, limit)) == 1  # stopped once, then left alone
    assert len(baseline.timings) == 3 and baseline.error is None
    assert slow.stopped == pytest.approx(20.0 / (limit + 0.1))
    assert not speedup._judge(slow, baseline, 0.9, "max") and slow.verdict.startswith("slower: stopped")
    assert slow.to_dict()["throughput_ratio"] is None and slow.to_dict()["throughput_ratio_below"] < 0.2


def test_a_timing_run_over_its_limit_stops(write_workload):
    from kerasdoctor.speedup.measure import timing_plan, timing_run
    from tests.workloads import separable_source

    workload = load_workload(write_workload(separable_source()))
    data = workload.load_data(0)
    plan = timing_plan(len(data.y_train), 16)
    assert "steps_per_second" in timing_run(workload, data, Settings(batch_size=16), plan=plan)
    stopped = timing_run(workload, data, Settings(batch_size=16), plan=plan, time_limit=0.0)
    assert set(stopped) == {"stopped_after_seconds"} and stopped["stopped_after_seconds"] > 0


def test_the_compilation_cache_is_judged_on_compile_seconds_in_new_processes(monkeypatch):
    import kerasdoctor.speedup as speedup

    runs = []

    def fake_timing(workload, data, settings, plan, steps, time_limit=None, cache_dir=None):
        runs.append((settings.compilation_cache, cache_dir))
        warm = settings.compilation_cache and sum(1 for r in runs if r[0]) > 1
        return {"seconds": 5.0, "samples_per_second": 100.0, "steps_per_second": 10.0,
                "compile_seconds": 0.4 if warm else 2.0}

    monkeypatch.setattr(speedup, "time_settings", fake_timing)

    class Data:
        y_train = np.zeros(640)

    knob = candidates(CPU, Settings(batch_size=32), samples=3000, optimizer="Adam", python_workload=True)[0][-1]
    baseline = speedup.Row("baseline", "", False, Settings(batch_size=32))
    cache = speedup.Row(knob.name, "", False, knob.apply(baseline.settings), knob=knob)
    speedup._time([baseline, cache], None, Data(), 2, 20, speedup._Progress(None, 4), cache_dir="CACHE")
    assert runs.count((True, "CACHE")) == 3  # a cold run fills it, then one warm run per repeat
    assert cache.cold["compile_seconds"] == 2.0 and [t["compile_seconds"] for t in cache.timings] == [0.4, 0.4]
    cache.throughput_ratio = speedup._ratio(cache, baseline)
    assert speedup._judge(cache, baseline, 0.9, "max") and cache.verdict == "recommended"
    assert cache.note == "compiling 2.00 s -> 0.40 s in a new process"
    cache.timings = [dict(t, compile_seconds=1.9) for t in cache.timings]
    assert not speedup._judge(cache, baseline, 0.9, "max") and cache.verdict == "no gain"


def test_a_fast_copy_with_the_compilation_cache_turns_it_on_when_loaded(tmp_path, healthy_source, monkeypatch):
    import kerasdoctor.speedup as speedup

    turned_on = []
    monkeypatch.setattr(speedup, "use_compilation_cache", lambda directory=None: turned_on.append(directory))
    original = tmp_path / "original.py"
    original.write_text(healthy_source)
    fast = tmp_path / "fast_workload.py"
    fast.write_text(fast_workload_source(load_workload(original), Settings(batch_size=32, compilation_cache=True),
                                         ["compilation cache"]))
    load_workload(fast)
    assert turned_on == [None]


def _measure_with(monkeypatch, timing, accuracy):
    """``run_speed`` with fake timing and accuracy runs (no profile, no lr_find for the batch scale)."""
    import kerasdoctor.speedup as speedup

    monkeypatch.setattr(speedup, "time_settings", timing)
    monkeypatch.setattr(speedup, "_accuracy_one", accuracy)
    monkeypatch.setattr(speedup, "profile", lambda *a: {})
    monkeypatch.setattr(speedup, "_check_scaling", lambda knobs, *a: knobs)


def test_knobs_that_do_not_pay_together_leave_the_best_single_one_and_the_cache(monkeypatch, write_workload, tmp_path):
    import kerasdoctor.speedup as speedup
    from tests.workloads import separable_source

    cache_runs = []

    def fake_timing(workload, data, settings, plan, steps, time_limit=None, cache_dir=None):
        together = settings.batch_size == 32 and settings.steps_per_execution == 16
        rate = {(16, 1): 100.0, (32, 1): 150.0, (16, 16): 160.0}.get((settings.batch_size, settings.steps_per_execution))
        if settings.compilation_cache:
            cache_runs.append(cache_dir)
        compile_seconds = 0.3 if settings.compilation_cache and len(cache_runs) > 1 else 2.0
        if settings.backend or settings.jit_compile is False or settings.dtype_policy or rate is None and not together:
            rate = 10.0
        return {"seconds": 5.0, "samples_per_second": 90.0 if together else rate, "steps_per_second": 1.0,
                "compile_seconds": compile_seconds}

    def fake_accuracy(workload, data, settings, epochs, seed, cache_dir=None):
        return {"metric": "val_accuracy", "direction": "max", "values": [0.8, 0.9 + 0.001 * seed],
                "seconds": [1.0, 1.5] if settings.batch_size == 32 else [2.0, 3.0]}

    _measure_with(monkeypatch, fake_timing, fake_accuracy)
    workload = load_workload(write_workload(separable_source()))
    result = speedup.run_speed(workload, repeats=2, seeds=2, out=tmp_path / "speed").to_dict()
    verdicts = {k["name"]: k["verdict"] for k in result["knobs"]}
    assert verdicts["batch x2"] == verdicts["steps_per_execution=16"] == verdicts["compilation cache"] == "recommended"
    assert result["combination_not_kept"]["name"] == "batch x2 + steps_per_execution=16"
    assert result["recommended"]["knobs"] == ["steps_per_execution=16", "compilation cache"]
    assert result["recommended"]["settings"]["compilation_cache"] is True
    fast = (tmp_path / "speed" / "fast_workload.py").read_text()
    assert "'steps_per_execution': 16" in fast and "'compilation_cache': True" in fast
    assert len(set(cache_runs)) == 1 and cache_runs[0] is not None  # one cache folder for the run


def test_prefetch_is_offered_for_a_tf_data_pipeline_that_does_not_prefetch(write_workload, tmp_path):
    tf = pytest.importorskip("tensorflow")
    x = np.zeros((64, 3), "float32")
    plain = tf.data.Dataset.from_tensor_slices((x, np.zeros(64))).batch(8)
    knobs, skipped = candidates(CPU, Settings(batch_size=None), samples=0, optimizer="Adam", pipeline=plain)
    assert "prefetch" in _names(knobs)
    _, skipped = candidates(CPU, Settings(batch_size=None), samples=0, optimizer="Adam", pipeline=plain.prefetch(2))
    assert ("prefetch", "the tf.data pipeline already prefetches") in skipped
    _, skipped = candidates(CPU, Settings(batch_size=32), samples=3000, optimizer="Adam")
    assert ("prefetch", "Keras makes and prefetches the batches of arrays itself") in skipped

    original = write_workload('''
import keras
import numpy as np
import tensorflow as tf

FIT = {"epochs": 1}


def load_data():
    x = np.zeros((64, 3), "float32")
    y = np.zeros(64, "int32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(8), (x[:16], y[:16])


def build_model(hp=None):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model
''')
    fast = tmp_path / "fast_workload.py"
    fast.write_text(fast_workload_source(load_workload(original), Settings(batch_size=None, prefetch=True),
                                         ["prefetch"]))
    data = load_workload(fast).load_data(0)
    assert "prefetch" in type(data.train).__name__.lower()


def test_the_compilation_cache_is_not_recommended_beside_another_backend(monkeypatch, write_workload, tmp_path):
    import kerasdoctor.speedup as speedup
    from tests.workloads import separable_source

    monkeypatch.setattr(speedup.knob_module, "facts", lambda: {**CPU, "backends": ["jax", "tensorflow"], "devices": 1})
    cache_runs = []

    def fake_timing(workload, data, settings, plan, steps, time_limit=None, cache_dir=None):
        if settings.compilation_cache:
            cache_runs.append(cache_dir)
        fast = settings.backend == "tensorflow"
        return {"seconds": 5.0, "samples_per_second": 300.0 if fast else 100.0, "steps_per_second": 1.0,
                "compile_seconds": 0.3 if settings.compilation_cache and len(cache_runs) > 1 else 2.0}

    def fake_accuracy(workload, data, settings, epochs, seed, cache_dir=None):
        return {"metric": "val_accuracy", "direction": "max", "values": [0.8, 0.9 + 0.001 * seed],
                "seconds": [1.0, 1.5] if settings.backend else [2.0, 3.0]}

    _measure_with(monkeypatch, fake_timing, fake_accuracy)
    result = speedup.run_speed(load_workload(write_workload(separable_source())), repeats=2, seeds=2,
                               out=tmp_path / "speed").to_dict()
    assert {k["name"]: k["verdict"] for k in result["knobs"]}["compilation cache"] == "recommended"
    assert result["recommended"]["knobs"] == ["backend tensorflow"]
    assert result["recommended"]["settings"]["compilation_cache"] is False


def test_the_cache_alone_is_recommended_by_its_compile_seconds_not_a_throughput(monkeypatch, write_workload, tmp_path):
    import kerasdoctor.speedup as speedup
    from kerasdoctor.report.speed import render_speed
    from rich.console import Console
    from tests.workloads import separable_source

    cache_runs = []

    def fake_timing(workload, data, settings, plan, steps, time_limit=None, cache_dir=None):
        if settings.compilation_cache:
            cache_runs.append(cache_dir)
        return {"seconds": 5.0, "samples_per_second": 100.0, "steps_per_second": 1.0,
                "compile_seconds": 0.3 if settings.compilation_cache and len(cache_runs) > 1 else 2.0}

    def fake_accuracy(workload, data, settings, epochs, seed, cache_dir=None):
        return {"metric": "val_accuracy", "direction": "max", "values": [0.8, 0.9 + 0.001 * seed], "seconds": [2.0, 3.0]}

    _measure_with(monkeypatch, fake_timing, fake_accuracy)
    result = speedup.run_speed(load_workload(write_workload(separable_source())), repeats=2, seeds=2,
                               out=tmp_path / "speed").to_dict()
    best = result["recommended"]
    assert best["knobs"] == ["compilation cache"] and best["throughput_ratio"] is None
    console = Console(width=200, record=True)
    for line in render_speed(result):
        console.print(line)
    assert "recommended: compilation cache  (compiling 2.00 s -> 0.30 s in a new process)" in console.export_text()


def test_a_baseline_that_ends_at_chance_gets_a_warning_and_one_that_learns_does_not():
    from types import SimpleNamespace

    from kerasdoctor.speedup import at_chance

    labels = np.array([0] * 50 + [1] * 30 + [2] * 20)  # the most common class: half the rows
    data = SimpleNamespace(validation=(np.zeros((100, 4)), labels))

    def baseline(*bests):
        return SimpleNamespace(accuracy=[{"metric": "val_accuracy", "direction": "max", "values": [0.3, best]}
                                         for best in bests])

    warning = at_chance(data, baseline(0.5, 0.52))
    assert warning is not None and "does not learn" in warning and "0.5" in warning
    assert at_chance(data, baseline(0.8, 0.82)) is None
    loss = SimpleNamespace(accuracy=[{"metric": "val_loss", "direction": "min", "values": [1.0, 0.9]}] * 2)
    assert at_chance(data, loss) is None  # not an accuracy: no chance level to read


def test_a_learning_rate_schedule_leaves_the_batch_knobs_out_with_the_reason():
    from kerasdoctor.speedup.measure import learning_rate_is_number

    knobs, skipped = candidates(CPU, Settings(batch_size=32), samples=3000, optimizer="Adam", rate_is_number=False)
    assert not [k for k in knobs if k.group == "batch"]
    assert any(name == "batch size" and "schedule" in why for name, why in skipped)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.9)), "mse")
    assert not learning_rate_is_number(model)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    assert learning_rate_is_number(model)
