"""Runs a workload's Python file without touching the user's folder.

The file is compiled and executed in a fresh module, with bytecode writing off,
so no ``__pycache__`` appears next to it. Errors name the file and line.
"""

import sys
import traceback
import types
from pathlib import Path

from kerasdoctor.errors import KerasDoctorError


def user_line(error, path):
    """The innermost 'file:line' of ``error``'s traceback that lies in ``path``."""
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        if Path(frame.filename).resolve() == Path(path).resolve():
            return f"{path}:{frame.lineno}"
    return str(path)


def describe_error(error):
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0] if message else ''}".rstrip(": ")


def run_file(path):
    """Executes ``path`` as a module and returns it."""
    path = Path(path)
    source = path.read_text(encoding="utf-8")
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as error:
        raise KerasDoctorError(
            f"Syntax error in the workload {path}, line {error.lineno}: {error.msg}."
        ) from None
    name = f"_kerasdoctor_workload_{abs(hash(str(path.resolve())))}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    folder = str(path.resolve().parent)
    saved_path, saved_bytecode = list(sys.path), sys.dont_write_bytecode
    sys.path.insert(0, folder)  # so the workload can import its neighbours
    sys.dont_write_bytecode = True
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except KerasDoctorError:
        raise
    except BaseException as error:  # SystemExit/KeyboardInterrupt from user code too
        if isinstance(error, KeyboardInterrupt):
            raise
        raise KerasDoctorError(
            f"Importing the workload failed at {user_line(error, path)}: {describe_error(error)}"
        ) from None
    finally:
        sys.path[:] = saved_path
        sys.dont_write_bytecode = saved_bytecode
    return module


def call_user(function, path, what, *args):
    """Calls a workload function; any exception becomes one clear line."""
    try:
        return function(*args)
    except KerasDoctorError:
        raise
    except Exception as error:
        raise KerasDoctorError(
            f"{what} failed at {user_line(error, path)}: {describe_error(error)}"
        ) from None
