"""Run folders and atomic writes: a reader never sees a half-written file."""

import json
import os
import re
import tempfile
import time
from pathlib import Path

from kerasdoctor.errors import KerasDoctorError

RUNS_ROOT = Path(".keras-doctor") / "runs"


def new_run_dir(name, out=None):
    """``out`` if given, else a fresh ``.keras-doctor/runs/<timestamp>-<name>``."""
    if out is not None:
        path = Path(out)
        if path.exists() and not path.is_dir():
            raise KerasDoctorError(f"--out must be a folder; {path} is a file. Received: out={path}")
        path.mkdir(parents=True, exist_ok=True)
        return path
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name) or "run"
    path = RUNS_ROOT / f"{stamp}-{safe}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = RUNS_ROOT / f"{stamp}-{safe}-{suffix}"
    path.mkdir(parents=True)
    return path


def write_atomic(path, text):
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json(path, payload):
    write_atomic(path, json.dumps(payload, indent=2, allow_nan=False) + "\n")
