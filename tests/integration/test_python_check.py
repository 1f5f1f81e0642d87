"""`kerasdoctor.check(...)`: the check verb from Python, with its report."""

from pathlib import Path

import pytest

import kerasdoctor

pytestmark = pytest.mark.integration
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_check_from_python_writes_the_report_and_shows_it_in_a_notebook(tmp_path):
    result = kerasdoctor.check(EXAMPLES / "broken" / "deep_sigmoid.py", epochs=2, out=tmp_path / "run")
    assert "VANISHING_GRADIENTS" in {finding.code for finding in result.findings}
    assert result.report == tmp_path / "run" / "report.html" and result.report.is_file()
    assert result.to_dict()["report"] == str(result.report)
    frame = result._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "VANISHING_GRADIENTS" in frame


def test_check_from_python_raises_one_clear_error_for_a_missing_workload(tmp_path):
    with pytest.raises(kerasdoctor.KerasDoctorError, match="nosuch.py"):
        kerasdoctor.check(tmp_path / "nosuch.py")
    assert not (tmp_path / ".keras-doctor").exists()
