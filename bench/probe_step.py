"""The Monitor's probe step on JAX: what its compilation and each run cost, under XLA's options.

The probe step (the loss, the gradients and every layer's output on the probe batch) runs rarely,
so `kerasdoctor._backends.probe_jax` compiles it with options that trade a slower kernel for a
faster compilation. For each workload of `bench/monitor_overhead.py` (its model and a 128-row
probe batch, chosen the same way), this prints, per option set (one of them, without XLA's
autotuning, is for a GPU: most of the others are options of XLA's CPU compiler), the median
over ``--repeats`` fresh compilations of the compile's wall and CPU seconds (CPU: the
process's, which also counts XLA's worker threads), and the median seconds of one run of the
compiled step (``--runs`` runs after a first one, which is timed apart: it also sets up the
compiled kernels) and of one whole probe (the run and the signals computed on the host). It then profiles the runs of the step as the Monitor compiles it and
prints the operations that take the most of a run, each with the Keras operation it comes from.

    python bench/probe_step.py [--workloads digits_cnn,fashion_mlp] [--repeats 3] [--runs 20]
"""

import argparse
import collections
import gzip
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import kerasdoctor  # noqa: F401  (chooses the backend before Keras loads)
import jax
import keras

from kerasdoctor._backends import probe_jax
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.monitor.probe import ProbeProgram
from kerasdoctor.workload import load_workload

from monitor_overhead import EXAMPLES, probe_batch
OPTION_SETS = {
    "the Monitor's": probe_jax.COMPILER_OPTIONS[0],
    # A GPU compile reads no xla_cpu_ option, and autotunes its convolutions and matrix products;
    # a CPU compile ignores the autotuning level, so on a CPU this set is the Monitor's again.
    "the Monitor's, no GPU autotuning": {**probe_jax.COMPILER_OPTIONS[0], "xla_gpu_autotune_level": 0},
    "optimization level 0, fusion emitters on": {"xla_backend_optimization_level": 0,
                                                 "xla_cpu_parallel_codegen_split_count": 1},
    "optimization level 1": {"xla_backend_optimization_level": 1, "xla_cpu_use_fusion_emitters": False,
                             "xla_cpu_parallel_codegen_split_count": 1},
    "XLA's defaults": {},
}


def _program(name):
    workload = load_workload(EXAMPLES / f"{name}.py")
    data = workload.load_data()
    keras.utils.set_random_seed(0)
    model = workload.build_model()
    x, y = probe_batch(data)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # builds the model and its optimizer
    return lambda: ProbeProgram(model, x, y)


def _compiled(new_program, options):
    """A fresh program compiled with ``options`` (a new step, so nothing comes from a cache)."""
    program = new_program()
    state = program.snapshot()
    saved = probe_jax.COMPILER_OPTIONS
    probe_jax.COMPILER_OPTIONS = (options,)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        # Compiled only: the Monitor's compilation also runs the step once, which is timed apart.
        program._step = probe_jax.compiled_step(program, (*state, program.sequence_zeros, program.x, program.y))
        return program, state, time.perf_counter() - wall, time.process_time() - cpu
    finally:
        probe_jax.COMPILER_OPTIONS = saved


def _run_seconds(program, state, runs):
    trainable, non_trainable = state

    def step():
        return jax.block_until_ready(program._step(trainable, non_trainable, program.sequence_zeros,
                                                   program.x, program.y))

    started = time.perf_counter()
    step()  # the first run, which also sets the kernels up
    first = time.perf_counter() - started
    steps, probes = [], []
    for _ in range(runs):
        started = time.perf_counter()
        step()
        steps.append(time.perf_counter() - started)
        started = time.perf_counter()
        program.run(None, state)
        probes.append(time.perf_counter() - started)
    return first, statistics.median(steps), statistics.median(probes)


def _costliest_operations(program, state, runs, count=5):
    """[(ms per run, operation, Keras operation)] from a profile of ``runs`` runs of the step."""
    trainable, non_trainable = state
    origins = {}
    for line in program._step.as_text().splitlines():
        found = re.match(r"\s*(?:ROOT )?%([\w.-]+) = (\([^)]*\)|\S+)", line)
        if found:
            origin = re.search(r'op_name="([^"]+)"', line)
            origins[found.group(1)] = (origin.group(1) if origin
                                       else f"no Keras operation recorded; it gives {found.group(2)}")
    with tempfile.TemporaryDirectory() as folder:
        jax.profiler.start_trace(folder)
        for _ in range(runs):
            jax.block_until_ready(program._step(trainable, non_trainable, program.sequence_zeros,
                                                program.x, program.y))
        jax.profiler.stop_trace()
        traces = sorted(Path(folder).rglob("*.trace.json.gz"))
        if not traces:
            return []
        events = json.load(gzip.open(traces[-1]))["traceEvents"]
    totals = collections.Counter()
    for event in events:
        if event.get("ph") == "X" and event.get("name") in origins:
            totals[event["name"]] += event.get("dur", 0) / 1e3 / runs
    return [(ms, name, origins[name]) for name, ms in totals.most_common(count)]


def measure(name, repeats, runs):
    new_program = _program(name)
    figures = {label: [] for label in OPTION_SETS}
    for repeat in range(repeats):
        labels = list(OPTION_SETS) if repeat % 2 == 0 else list(OPTION_SETS)[::-1]
        for label in labels:
            program, state, wall, cpu = _compiled(new_program, OPTION_SETS[label])
            figures[label].append((wall, cpu) + _run_seconds(program, state, runs))
    for label, rows in figures.items():
        wall, cpu, first, step, probe = (statistics.median(column) for column in zip(*rows))
        print(f"{name} | {label}: compile {wall:.3f} s wall, {cpu:.3f} s CPU; a run of the step "
              f"{1e3 * step:.2f} ms (the first {1e3 * first:.2f} ms), a whole probe {1e3 * probe:.2f} ms")
    program, state, _, _ = _compiled(new_program, OPTION_SETS["the Monitor's"])
    _run_seconds(program, state, 2)
    for ms, operation, origin in _costliest_operations(program, state, runs):
        print(f"{name} | the Monitor's options, costliest operations: {ms:.2f} ms a run in {operation} "
              f"({origin})")


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="digits_cnn,fashion_mlp")
    parser.add_argument("--repeats", type=_positive, default=3)
    parser.add_argument("--runs", type=_positive, default=20)
    args = parser.parse_args(argv)
    if keras.backend.backend() != "jax":
        raise SystemExit("bench/probe_step.py measures the JAX probe step: run it with KERAS_BACKEND=jax")
    print(f"backend: jax {jax.__version__}, {jax.devices()[0].platform}")
    for name in args.workloads.split(","):
        try:
            measure(name, args.repeats, args.runs)
        except KerasDoctorError as error:  # a workload name with no example behind it, say
            raise SystemExit(f"bench/probe_step.py: {name}: {error}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
