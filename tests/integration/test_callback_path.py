"""The Monitor in a user's own fit finds what `check` finds: the README's snippet, default
settings, small data (the probe step compiles while the first epoch runs)."""

from pathlib import Path

import pytest

import kerasdoctor
from kerasdoctor.diagnose import diagnose
from kerasdoctor.workload import load_workload

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.integration
def test_a_plain_fit_with_a_default_monitor_finds_a_learning_rate_far_too_high():
    workload = load_workload(EXAMPLES / "broken" / "lr_too_high.py")
    data = workload.load_data()
    model = workload.build_model()
    monitor = kerasdoctor.Monitor(probe_data=(data.x_train[:128], data.y_train[:128]))
    model.fit(data.x_train, data.y_train, validation_data=data.validation, verbose=0,
              callbacks=[monitor], **workload.fit)
    steps = [probe["step"] for probe in monitor.log.probes]
    assert steps[:5] == [0, 1, 2, 4, 8]
    findings = diagnose(monitor.log)
    assert findings[0].code == "LEARNING_RATE_TOO_HIGH"
    assert "NOT_LEARNING" in {f.code for f in findings}
