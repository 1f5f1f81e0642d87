"""Run folders that leave nothing behind when a command fails early, and atomic writes with the
permissions a plain ``open`` gives."""

import os
import stat

import pytest

from kerasdoctor.files import RUNS_ROOT, new_run_dir, run_folder, write_atomic, write_json


class Failed(Exception):
    pass


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """Sets the process umask for one test and restores it afterwards."""
    saved = os.umask(0o022)
    os.umask(saved)

    def set_mask(mask):
        os.umask(mask)

    yield set_mask
    os.umask(saved)


def test_run_folder_removes_the_folder_it_created_when_an_error_leaves_it_empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Failed):
        with run_folder("work") as path:
            assert path.is_dir() and path.parent == RUNS_ROOT
            raise Failed
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # the runs root it created too


def test_run_folder_keeps_a_folder_with_a_file_in_it(tmp_path):
    with pytest.raises(Failed):
        with run_folder("work", tmp_path / "run") as path:
            (path / "runlog.jsonl").write_text("{}\n")
            raise Failed
    assert (tmp_path / "run" / "runlog.jsonl").is_file()


def test_run_folder_removes_empty_subfolders_but_never_a_file_below_them(tmp_path):
    with pytest.raises(Failed):
        with run_folder("work", tmp_path / "empty") as path:
            (path / "best" / "plots").mkdir(parents=True)
            raise Failed
    assert not (tmp_path / "empty").exists()
    with pytest.raises(Failed):
        with run_folder("work", tmp_path / "full") as path:
            (path / "best").mkdir()
            (path / "best" / "summary.json").write_text("{}")
            raise Failed
    assert (tmp_path / "full" / "best" / "summary.json").is_file()


def test_run_folder_never_removes_an_out_folder_that_existed_before(tmp_path):
    (tmp_path / "mine").mkdir()
    with pytest.raises(Failed):
        with run_folder("work", tmp_path / "mine"):
            raise Failed
    assert (tmp_path / "mine").is_dir()


def test_run_folder_removes_the_parents_of_out_it_created_and_no_others(tmp_path):
    with pytest.raises(Failed):
        with run_folder("work", tmp_path / "a" / "b" / "c"):
            raise Failed
    assert not (tmp_path / "a").exists() and tmp_path.is_dir()


def test_run_folder_keeps_an_empty_folder_when_the_block_succeeds(tmp_path):
    with run_folder("work", tmp_path / "run") as path:
        pass
    assert path.is_dir()


def test_run_folder_rejects_an_out_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(Exception, match="--out must be a folder"):
        with run_folder("work", tmp_path / "file"):
            pass
    assert (tmp_path / "file").read_text() == "x"


def test_new_run_dir_still_gives_a_fresh_folder_per_call(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, second = new_run_dir("work"), new_run_dir("work")
    assert first != second and first.is_dir() and second.is_dir()


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077], ids=oct)
def test_atomic_writes_get_the_mode_a_plain_open_gives(tmp_path, umask, mask):
    umask(mask)
    write_json(tmp_path / "summary.json", {"a": 1})
    write_atomic(tmp_path / "report.html", "<html></html>")
    with open(tmp_path / "plain.txt", "w") as handle:
        handle.write("x")
    assert _mode(tmp_path / "summary.json") == _mode(tmp_path / "plain.txt") == 0o666 & ~mask
    assert _mode(tmp_path / "report.html") == 0o666 & ~mask


def test_an_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    write_atomic(tmp_path / "a.txt", "one")
    write_atomic(tmp_path / "a.txt", "two")
    assert (tmp_path / "a.txt").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_an_atomic_write_that_fails_leaves_no_temporary(tmp_path):
    with pytest.raises(TypeError):
        write_atomic(tmp_path / "a.json", b"bytes, not text")
    assert list(tmp_path.iterdir()) == []


def test_a_check_that_fails_before_writing_its_log_leaves_no_run_folder(tmp_path, monkeypatch, write_workload,
                                                                       healthy_source):
    import kerasdoctor.checkup as checkup
    from kerasdoctor.workload import load_workload

    def no_disk(path):
        raise OSError(f"No space left on device: {path}")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(checkup, "RunLog", no_disk)
    workload = load_workload(write_workload(healthy_source))
    with pytest.raises(OSError, match="No space left"):
        checkup.run_check(workload)
    assert not (tmp_path / ".keras-doctor").exists()
