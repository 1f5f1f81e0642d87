"""keras-doctor: finds and fixes what makes a Keras 3 model train badly or slowly."""

from kerasdoctor import _backend

_backend.configure()

from kerasdoctor.errors import KerasDoctorError  # noqa: E402
from kerasdoctor.runlog import RunLog  # noqa: E402

__version__ = "0.1.0"


def __getattr__(name):
    # Keras is imported on first use, so `import kerasdoctor` stays cheap and a
    # missing backend is reported by the caller that needs one.
    if name == "Monitor":
        _backend.require()
        from kerasdoctor.monitor import Monitor

        return Monitor
    if name == "check":
        _backend.require()
        from kerasdoctor.checkup import check

        return check
    if name == "autolog":
        _backend.require()
        from kerasdoctor.autologging import autolog

        return autolog
    if name == "lr_find":
        _backend.require()
        from kerasdoctor.tune.lr_find import lr_find

        return lr_find
    if name == "repair":
        # The package, which is callable: kerasdoctor.repair("train.py") runs the verb.
        _backend.require()
        import importlib

        return importlib.import_module("kerasdoctor.repair")
    if name == "speed":
        _backend.require()
        from kerasdoctor.speedup import speed

        return speed
    if name == "report":
        import importlib

        return importlib.import_module("kerasdoctor.report")
    if name in ("optimizers", "schedules", "initializers", "losses", "tune"):
        _backend.require()
        import importlib

        return importlib.import_module(f"kerasdoctor.{name}")
    raise AttributeError(f"module 'kerasdoctor' has no attribute {name!r}")


__all__ = ["KerasDoctorError", "Monitor", "RunLog", "__version__", "autolog", "check", "initializers", "losses", "lr_find",
           "optimizers", "repair", "report", "schedules", "speed", "tune"]
