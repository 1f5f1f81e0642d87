"""The bundled examples do what their docstrings say, within their own FIT."""

from pathlib import Path

import pytest

from kerasdoctor.checkup import run_check
from kerasdoctor.workload import load_workload

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def _check(name, tmp_path, **kwargs):
    return run_check(load_workload(EXAMPLES / name), out=tmp_path / "run", **kwargs)


@pytest.mark.parametrize("name", ["digits_cnn.py", "digits_mlp.py"])
def test_healthy_digits_examples_reach_95_percent_with_no_findings(name, tmp_path):
    result = _check(name, tmp_path)
    assert result.metrics["best"]["val_accuracy"] >= 0.95
    assert result.findings == []


def test_breast_cancer_example_is_healthy(tmp_path):
    result = _check("breast_cancer_mlp.py", tmp_path)
    assert result.metrics["best"]["val_accuracy"] >= 0.95
    assert result.findings == []


@pytest.mark.skipif(not FASHION.exists(), reason="needs the Debian package dataset-fashion-mnist")
def test_fashion_example_is_healthy(tmp_path):
    result = _check("fashion_mlp.py", tmp_path)
    assert result.metrics["best"]["val_accuracy"] >= 0.85
    assert result.findings == []


def test_fashion_example_says_how_to_install_its_data_when_missing(monkeypatch):
    import kerasdoctor.workload.source as source

    workload = load_workload(EXAMPLES / "fashion_mlp.py")
    module_globals = workload._load.__globals__
    monkeypatch.setitem(module_globals, "DATA_DIR", Path("/nonexistent/fashion"))
    with pytest.raises(source.KerasDoctorError, match="apt-get install dataset-fashion-mnist"):
        workload.load_data()


def test_deep_sigmoid_example_is_diagnosed_as_vanishing_gradients(tmp_path):
    result = _check("broken/deep_sigmoid.py", tmp_path, epochs=3)
    assert result.metrics["best"]["val_accuracy"] < 0.3
    assert result.findings[0].code == "VANISHING_GRADIENTS"
    assert "NOT_LEARNING" in [f.code for f in result.findings]


def test_unscaled_inputs_example_is_diagnosed_before_training_ends(tmp_path):
    result = _check("broken/unscaled_inputs.py", tmp_path, epochs=3)
    assert result.metrics["best"]["val_accuracy"] < 0.5
    assert result.findings[0].code == "INPUT_NOT_NORMALIZED" and result.findings[0].step is None
