"""``keras-doctor run SCRIPT``: the user's unmodified script, run as ``python SCRIPT`` would, with
``autolog`` on. Its argv, cwd, output and exit code are its own."""

import contextlib
import runpy
import sys
import traceback
from pathlib import Path

from kerasdoctor.autologging import autolog
from kerasdoctor.errors import KerasDoctorError


def _exit_status(code):
    """What ``python`` exits with for ``sys.exit(code)``: None is 0, a message is printed and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def _print_traceback(error, script):
    """The traceback as Python prints it for a script: from the script's first frame on. A script
    that does not compile has no frame of its own: Python prints the error alone, and so does this."""
    tb = error.__traceback__
    while tb is not None and Path(tb.tb_frame.f_code.co_filename).resolve() != script:
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb)
    sys.stderr.flush()


@contextlib.contextmanager
def _as_main(script, args):
    """sys.argv and sys.path[0] as ``python SCRIPT ARGS`` sets them; restored afterwards."""
    argv, path = sys.argv, list(sys.path)
    sys.argv = [str(script), *args]
    sys.path.insert(0, str(script.parent))
    try:
        yield
    finally:
        sys.argv = argv
        sys.path[:] = path


def _script_exit_code(script):
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exit:
        return _exit_status(exit.code)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - the user's error: shown as Python shows it
        _print_traceback(error, script.resolve())
        return 1
    return 0


def run_script(script, args=(), *, out=None, fail_on=None, seed=0):
    """Runs ``script`` with ``args`` as ``__main__`` with every ``fit`` watched.

    Returns ``(exit_code, session)``: the script's own exit code when it is not 0, else 3 when
    a fit has a finding at or above ``fail_on``, else 0; ``session.results`` holds the fits.
    """
    script = Path(script)
    if not script.is_file():
        raise KerasDoctorError(f"The script to run must be an existing Python file. Received: script={script}")
    session = autolog(schedule="fixed", out=out, fail_on=fail_on, seed=seed)
    try:
        with _as_main(script, args):
            code = _script_exit_code(script)
    finally:
        autolog(disable=True)
    if code == 0 and session.failed:
        code = 3
    return code, session
