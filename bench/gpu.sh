#!/usr/bin/env bash
# The GPU benchmark: throughput of the Fashion-MNIST CNN under `speed`'s knobs (mixed precision
# included; one timing run each, one seed, no accuracy runs) and the Monitor's overhead (3 pairs),
# printed as `name: value` lines. About 4 minutes on a GPU, installation included.
#
#   bench/gpu.sh prepare [--python-version 3.12] [--wheels DIR]
#       On a machine with the package registries: downloads the CPython manylinux x86-64 wheels of
#       keras-doctor's dependencies (Keras, optree, namex, h5py, rich, ...; never JAX, PyTorch or
#       TensorFlow) into DIR (default bench/gpu-wheels/, ignored by git), builds keras-doctor's own
#       wheel there and copies the four Fashion-MNIST files beside them ($FASHION_MNIST_DIR, else
#       the Debian package's folder). It replaces the wheels already there; run it again after
#       changing the code (the benchmark measures the wheel, not the working tree).
#
#   bench/gpu.sh [--wheels DIR] [--workload examples/fashion_cnn.py] [--steps 200] [--repeats 1]
#                [--budget 120] [--pairs 3]
#       On the GPU host, offline: makes a virtualenv over $PYTHON (default python3) that sees the
#       host's packages, installs keras-doctor from DIR only, and runs bench/gpu_bench.py with
#       FASHION_MNIST_DIR=DIR (the other options are its own). On a CPU the GPU-only knobs are
#       skipped with a line saying so; there `--workload examples/fashion_mlp.py` keeps it short.
#
# The host needs: Linux x86-64, the Python the wheels were prepared for (3.12 by default) with
# CUDA-enabled JAX installed (PyTorch too, for the `backend torch` knob), and this repository with
# DIR copied into it. Nothing is downloaded there.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WHEELS="$ROOT/bench/gpu-wheels"
PYTHON="${PYTHON:-python3}"
FASHION_FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
# The frameworks the host brings itself; a wheel of theirs in DIR would be a mistake of the resolver.
FRAMEWORKS='^(jax|jaxlib|jax_cuda[0-9]+_.*|jax_plugins|torch|torchvision|triton|tensorflow.*|tf_keras|nvidia_.*)-'

fail() {
    echo "gpu.sh: error: $*" >&2
    exit 1
}

prepare() {
    local python_version=3.12
    while [ $# -gt 0 ]; do
        case "$1" in
            --python-version) python_version="${2:?--python-version needs a value such as 3.12}"; shift 2 ;;
            --wheels) WHEELS="${2:?--wheels needs a folder}"; shift 2 ;;
            *) echo "gpu.sh prepare: unknown argument $1 (see the top of bench/gpu.sh)" >&2; exit 2 ;;
        esac
    done
    command -v "$PYTHON" >/dev/null || fail "no interpreter $PYTHON (set PYTHON to one with pip)"
    mkdir -p "$WHEELS"
    rm -f "$WHEELS"/*.whl  # one interpreter's set at a time
    "$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELS" "$ROOT" || fail "building keras-doctor's wheel failed"
    local wheel
    wheel="$(ls "$WHEELS"/keras_doctor-*.whl)"
    # pip resolves the tree from the wheel's own metadata: the base dependencies, no extras, so no
    # framework. Recent wheels are tagged manylinux_2_28 (as is PyTorch's own), older ones 2014.
    "$PYTHON" -m pip download --quiet --dest "$WHEELS" --only-binary=:all: --implementation cp \
        --python-version "$python_version" \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        "$wheel" || fail "downloading the wheels for Python $python_version failed"
    local stray
    stray="$(ls "$WHEELS" | grep -E "$FRAMEWORKS" || true)"
    if [ -n "$stray" ]; then
        (cd "$WHEELS" && rm -f $stray)
        echo "removed framework wheels the host brings itself: $(echo $stray)"
    fi
    local source="${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
    for name in "${FASHION_FILES[@]}"; do
        [ -f "$source/$name" ] || fail "Fashion-MNIST is not in $source (lacks $name): apt-get install dataset-fashion-mnist, or set FASHION_MNIST_DIR"
        cp "$source/$name" "$WHEELS/"
    done
    echo "wheels: $(ls "$WHEELS"/*.whl | wc -l) for CPython $python_version, $(du -sh "$WHEELS" | cut -f1) with Fashion-MNIST, in $WHEELS"
}

run() {
    local passed=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --wheels) WHEELS="${2:?--wheels needs a folder}"; shift 2 ;;
            *) passed+=("$1"); shift ;;
        esac
    done
    local started=$SECONDS
    ls "$WHEELS"/keras_doctor-*.whl >/dev/null 2>&1 \
        || fail "no wheel folder at $WHEELS (or no keras-doctor wheel in it): run 'bench/gpu.sh prepare' on a machine with the package registries, then copy the folder here"
    for name in "${FASHION_FILES[@]}"; do
        [ -f "$WHEELS/$name" ] || fail "$WHEELS lacks the Fashion-MNIST file $name: run 'bench/gpu.sh prepare' again"
    done
    command -v "$PYTHON" >/dev/null || fail "no interpreter $PYTHON: set PYTHON to the host's Python with JAX"
    "$PYTHON" -c "import jax" >/dev/null 2>&1 || fail "$PYTHON cannot import jax: the host needs CUDA-enabled JAX installed (or set PYTHON to the interpreter that has it)"
    local host prepared
    host="$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
    prepared="$(ls "$WHEELS" | grep -o -m 1 -E -- '-cp3[0-9]+-cp3[0-9]+-' | cut -d- -f2 || true)"
    [ -z "$prepared" ] || [ "$prepared" = "$host" ] \
        || fail "the wheels in $WHEELS are for $prepared but $PYTHON is $host: run 'bench/gpu.sh prepare --python-version ${host:2:1}.${host:3}'"
    SCRATCH="$(mktemp -d)"
    trap 'rm -rf "$SCRATCH"' EXIT
    "$PYTHON" -m venv --system-site-packages "$SCRATCH/venv" >"$SCRATCH/log" 2>&1 \
        || fail "$PYTHON -m venv failed: $(tail -n 1 "$SCRATCH/log")"
    local venv_python="$SCRATCH/venv/bin/python"
    # The host's packages (JAX, PyTorch) stay visible even when $PYTHON is itself a virtualenv,
    # whose --system-site-packages would be its base interpreter's, not its own.
    local site
    site="$("$venv_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    "$PYTHON" -c 'import sys; print("\n".join(p for p in sys.path if p.endswith(("site-packages", "dist-packages"))))' \
        >"$site/_host_packages.pth"
    "$venv_python" -m pip --isolated install --quiet --no-index --find-links "$WHEELS" "$WHEELS"/keras_doctor-*.whl \
        >"$SCRATCH/log" 2>&1 || fail "installing from $WHEELS failed: $(grep -v '^ *$' "$SCRATCH/log" | tail -n 1)"
    echo "install_seconds: $((SECONDS - started))"
    export FASHION_MNIST_DIR="$WHEELS" KERAS_BACKEND=jax
    # The backend knobs run in processes of their own beside this one: JAX takes GPU memory as it needs it.
    export XLA_PYTHON_CLIENT_PREALLOCATE="${XLA_PYTHON_CLIENT_PREALLOCATE:-false}"
    "$venv_python" "$ROOT/bench/gpu_bench.py" ${passed[@]+"${passed[@]}"}
}

if [ "${1:-}" = prepare ]; then
    shift
    prepare "$@"
else
    run "$@"
fi
