import pytest

from kerasdoctor import _backend
from kerasdoctor.errors import KerasDoctorError


def test_require_names_the_extra_when_no_backend_is_installed(monkeypatch):
    monkeypatch.setattr(_backend, "configure", lambda: None)
    with pytest.raises(KerasDoctorError, match=r"pip install 'keras-doctor\[jax\]'"):
        _backend.require()


def test_require_reports_a_backend_that_is_set_but_missing(monkeypatch):
    monkeypatch.setattr(_backend, "configure", lambda: "torch")
    monkeypatch.setattr(_backend, "_importable", lambda name: False)
    with pytest.raises(KerasDoctorError, match=r"KERAS_BACKEND=torch is set but torch is not installed"):
        _backend.require()


def test_configure_prefers_jax_then_tensorflow_then_torch(monkeypatch):
    import sys

    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setattr(_backend, "_importable", lambda name: name in {"tensorflow", "torch"})
    assert _backend.configure() == "tensorflow"


def test_configure_keeps_an_explicit_keras_backend(monkeypatch):
    import sys

    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert _backend.configure() == "torch"
