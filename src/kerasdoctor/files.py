"""Run folders and atomic writes: a reader never sees a half-written file."""

import contextlib
import json
import os
import re
import time
import uuid
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


def _missing(path):
    """``path`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    return missing


def _remove_if_empty(folders):
    """Removes each folder that holds no file (empty subfolders go with it); a file is never touched."""
    for folder in folders:
        for inner, _, _ in sorted(os.walk(folder), key=lambda entry: -entry[0].count(os.sep)):
            with contextlib.suppress(OSError):  # not empty: something was written there
                os.rmdir(inner)


@contextlib.contextmanager
def run_folder(name, out=None):
    """A run folder as ``new_run_dir`` gives it, removed again (with the parents this call created)
    when an exception leaves the block while the folder holds no file. A folder that existed before
    (an ``--out`` the user made) or one with a file in it is always kept."""
    created = _missing(Path(out) if out is not None else RUNS_ROOT)
    path = new_run_dir(name, out)
    if out is None:
        created.insert(0, path)
    try:
        yield path
    except BaseException:
        _remove_if_empty(created)
        raise


def write_atomic(path, text):
    """Writes ``text`` to a temporary file next to ``path``, then renames it over ``path``.

    The temporary file is opened like a plain ``open`` would (mode 0o666 less the umask), so every
    file of a run folder gets the same permissions; ``tempfile.mkstemp`` would give 0o600."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_json(path, payload):
    write_atomic(path, json.dumps(payload, indent=2, allow_nan=False) + "\n")
