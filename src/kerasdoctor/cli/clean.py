"""`keras-doctor clean`: which folders under the runs folder are keras-doctor's, and which are old.

A folder counts as a run folder only when its name is one ``files.new_run_dir`` gives
(``<YYYYmmdd-HHMMSS>-<name>``) and it holds a file keras-doctor writes there. Anything else
under the runs folder is the user's and is never touched.
"""

import re
import shutil
import time
from pathlib import Path

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.report.html import REPORT_NAME, report_kind

RUN_NAME = re.compile(r"(\d{8}-\d{6})-[A-Za-z0-9_.-]+")


def _stamp(path):
    """The folder's creation stamp from its name, or None for a name keras-doctor does not give."""
    match = RUN_NAME.fullmatch(path.name)
    if match is None:
        return None
    try:
        time.strptime(match.group(1), "%Y%m%d-%H%M%S")
    except ValueError:
        return None
    return match.group(1)


def is_run_folder(path):
    path = Path(path)
    return (path.is_dir() and not path.is_symlink() and _stamp(path) is not None
            and (_holds_a_run(path) or (path / REPORT_NAME).is_file()))


def _holds_a_run(path):
    """Whether the folder holds the files of a run, as the report reads them."""
    try:
        report_kind(path)
    except KerasDoctorError:
        return False
    return True


def old_run_folders(root, keep):
    """The run folders under ``root`` other than the ``keep`` newest, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    # The stamp has one-second resolution; new_run_dir's "-2" suffixes tie, so mtime breaks ties.
    found = sorted((p for p in root.iterdir() if is_run_folder(p)),
                   key=lambda p: (_stamp(p), p.stat().st_mtime, p.name))
    return found[: max(len(found) - keep, 0)]


def remove_run_folder(path):
    shutil.rmtree(path)
