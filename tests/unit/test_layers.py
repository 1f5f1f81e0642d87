"""The import rules of DESIGN.md, checked on the source."""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "kerasdoctor"
BACKENDS = {"jax", "tensorflow", "torch"}


def _imports(path):
    """Every module a file imports, as a dotted path: ``from a import b`` gives ``a.b`` (b may be a
    module), and relative imports are resolved against the file's package."""
    tree = ast.parse(path.read_text())
    package = ["kerasdoctor", *path.relative_to(PACKAGE).parent.parts]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _modules(folder=""):
    return sorted((PACKAGE / folder).rglob("*.py"))


def _relative(path):
    return path.relative_to(PACKAGE).as_posix()


@pytest.mark.parametrize("path", _modules(), ids=_relative)
def test_no_module_imports_keras_src(path):
    assert not [m for m in _imports(path) if m.startswith("keras.src")]


@pytest.mark.parametrize("path", _modules(), ids=_relative)
def test_backend_frameworks_are_imported_only_in_the_shim_folder(path):
    used = {m.split(".")[0] for m in _imports(path)} & BACKENDS
    if used:
        assert _relative(path).startswith("_backends/"), used


@pytest.mark.parametrize("path", _modules("diagnose") + [PACKAGE / "runlog.py"], ids=_relative)
def test_rules_and_runlog_never_import_keras(path):
    assert not [m for m in _imports(path) if m.split(".")[0] == "keras"]


@pytest.mark.parametrize("path", _modules("report"), ids=_relative)
def test_report_never_imports_keras(path):
    assert not [m for m in _imports(path) if m.split(".")[0] == "keras"]


@pytest.mark.parametrize("path", [p for p in _modules() if not _relative(p).startswith(("cli/", "report/"))], ids=_relative)
def test_only_the_face_and_the_report_use_rich(path):
    assert not [m for m in _imports(path) if m.split(".")[0] == "rich"]


@pytest.mark.parametrize("path", [p for p in _modules() if not _relative(p).startswith("cli/")], ids=_relative)
def test_nothing_imports_the_cli(path):
    assert not [m for m in _imports(path) if m.startswith("kerasdoctor.cli")] or path.name == "__main__.py"


@pytest.mark.parametrize("path", [p for p in _modules() if not _relative(p).startswith(("cli/", "report/"))], ids=_relative)
def test_library_code_does_not_print(path):
    calls = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)]
    assert not [c for c in calls if isinstance(c.func, ast.Name) and c.func.id == "print"]


@pytest.mark.parametrize("path", [p for p in _modules() if not _relative(p).startswith("tune/")], ids=_relative)
def test_only_tune_uses_optuna(path):
    assert not [m for m in _imports(path) if m.split(".")[0] == "optuna"]


def test_the_vocabulary_imports_only_the_standard_library():
    imported = {m.split(".")[0] for m in _imports(PACKAGE / "vocabulary.py")}
    assert imported <= set(sys.stdlib_module_names), imported


@pytest.mark.parametrize("path", _modules("diagnose"), ids=_relative)
def test_rules_import_only_numpy_the_runlog_and_the_vocabulary(path):
    allowed = ("kerasdoctor.diagnose", "kerasdoctor.runlog", "kerasdoctor.vocabulary")
    ours = [m for m in _imports(path) if m.split(".")[0] == "kerasdoctor"]
    assert all(m.startswith(allowed) for m in ours), ours
    others = {m.split(".")[0] for m in _imports(path)} - {"kerasdoctor", "numpy"}
    assert others <= set(sys.stdlib_module_names), others
