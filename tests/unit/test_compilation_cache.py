"""The compilation cache a command shares among its own runs (`keras-doctor repair`): on JAX, the
second of two separately built programs that are the same is read from it; the folder is gone at
the end; a second block in the process turns nothing on; a cache the user chose is left as it is. Each case runs in a new process, since JAX
decides once per process whether it uses a cache."""

import json
import os
import subprocess
import sys

import keras
import pytest

SCRIPT = """
import json, os
import kerasdoctor
import jax, jax.numpy as jnp
from kerasdoctor._backends.devices import shared_compilation_cache

hits = []
jax.monitoring.register_event_listener(
    lambda event, **kwargs: hits.append(event) if event == "/jax/compilation_cache/cache_hits" else None)

def program():  # a new function object each time: only a persistent cache can share its executable
    return jax.jit(lambda x: jnp.tanh(x) @ x.T + 1.0)

with shared_compilation_cache() as folder:
    program()(jnp.ones((4, 4))).block_until_ready()
    after_first = len(hits)
    program()(jnp.ones((4, 4))).block_until_ready()
    inside = sorted(os.listdir(folder)) if folder else None
with shared_compilation_cache() as again:  # JAX keeps the first folder for the process: nothing new
    program()(jnp.ones((4, 4))).block_until_ready()
print(json.dumps({"again": again, "folder": folder, "first": after_first, "second": len(hits) - after_first,
                  "entries": None if inside is None else len(inside),
                  "gone": folder is None or not os.path.exists(folder),
                  "dir_after": jax.config.jax_compilation_cache_dir}))
"""


def _run(tmp_path, **env):
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "KERAS_BACKEND": "jax", **env})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX's persistent compilation cache")


def test_the_second_of_two_same_programs_is_read_from_the_cache_and_the_folder_is_gone_after(tmp_path):
    seen = _run(tmp_path)
    assert seen["folder"] is not None
    assert seen["first"] == 0 and seen["second"] == 1
    assert seen["entries"] >= 1
    assert seen["gone"] and seen["dir_after"] is None
    assert seen["again"] is None


def test_a_cache_the_user_chose_is_left_as_it_is(tmp_path):
    mine = tmp_path / "my-cache"
    seen = _run(tmp_path, JAX_COMPILATION_CACHE_DIR=str(mine))
    assert seen["folder"] is None
    assert seen["dir_after"] == str(mine)
