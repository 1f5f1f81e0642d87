"""The compilation cache a command shares among its own runs (`keras-doctor repair`): on JAX, the
second of two separately built programs that are the same is read from it, even in a process that
compiled before the block; the folder is gone at the end and JAX's cache is back where it was, so
nothing later is written to the removed folder, a later block starts afresh and a cache turned on
afterwards works; a cache the user chose is left as it is. Each case runs in a new process."""

import json
import os
import subprocess
import sys

import kerasdoctor  # noqa: F401, I001  (chooses the backend)
import keras
import pytest

SCRIPT = """
import json, os, sys, warnings
import kerasdoctor
import jax, jax.numpy as jnp
from kerasdoctor._backends.devices import shared_compilation_cache, use_compilation_cache

hits = []
jax.monitoring.register_event_listener(
    lambda event, **kwargs: hits.append(event) if event == "/jax/compilation_cache/cache_hits" else None)

def program(shift=1.0):  # a new function object each time: only a persistent cache can share its executable
    return jax.jit(lambda x: jnp.tanh(x) @ x.T + shift)

program(5.0)(jnp.ones((4, 4))).block_until_ready()  # the process compiled before the block

def twice(block, shift):
    with block as folder:
        program(shift)(jnp.ones((4, 4))).block_until_ready()
        first = len(hits)
        program(shift)(jnp.ones((4, 4))).block_until_ready()
        inside = sorted(os.listdir(folder)) if folder else None
    return {"folder": folder, "first": first, "second": len(hits) - first,
            "entries": None if inside is None else len(inside),
            "gone": folder is None or not os.path.exists(folder)}

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    seen = {"one": twice(shared_compilation_cache(), 1.0)}
    hits.clear()
    seen["two"] = twice(shared_compilation_cache(), 2.0)
    seen["dir_after"] = jax.config.jax_compilation_cache_dir
    hits.clear()
    later = os.path.join(sys.argv[1], "later")
    use_compilation_cache(later)
    program(3.0)(jnp.ones((4, 4))).block_until_ready()
    seen["later"] = len(os.listdir(later)) if os.path.isdir(later) else 0
seen["cache_warnings"] = [str(w.message)[:200] for w in caught if "compilation cache" in str(w.message)]
print(json.dumps(seen))
"""


def _run(tmp_path, **env):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env={**os.environ, "KERAS_BACKEND": "jax", **env})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX's persistent compilation cache")


def test_the_second_of_two_same_programs_is_read_from_the_cache_and_the_folder_is_gone_after(tmp_path):
    seen = _run(tmp_path)
    for block in (seen["one"], seen["two"]):  # a later block starts afresh in a new folder
        assert block["folder"] is not None
        assert block["first"] == 0 and block["second"] == 1
        assert block["entries"] >= 1
        assert block["gone"]
    assert seen["one"]["folder"] != seen["two"]["folder"]
    assert seen["dir_after"] is None
    assert seen["later"] >= 1  # a cache turned on after the blocks writes to its own folder
    assert seen["cache_warnings"] == []  # nothing is written to (or read from) a removed folder


def test_a_cache_the_user_chose_is_left_as_it_is(tmp_path):
    mine = tmp_path / "my-cache"
    seen = _run(tmp_path, JAX_COMPILATION_CACHE_DIR=str(mine))
    assert seen["one"]["folder"] is None and seen["two"]["folder"] is None
    assert seen["dir_after"] == str(mine)
