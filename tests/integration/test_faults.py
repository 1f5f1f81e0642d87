"""The fault benchmark's registry, and a fast subset of its cases run end to end (the full run is bench/diagnose.py)."""

import pytest

from kerasdoctor.checkup import run_check
from kerasdoctor.diagnose import RULES
from kerasdoctor.testing.faults import FAULTS, Case, cases
from kerasdoctor.testing.scoring import first_seen, score, serious

pytestmark = pytest.mark.integration


def test_the_registry_has_enough_cases_with_known_codes():
    every = list(cases())
    faulty = [c for c in every if c.fault]
    assert len(faulty) >= 60 and len(every) - len(faulty) >= 12
    assert len({c.name for c in every}) == len(every)
    known = {r.code for r in RULES}
    assert all(set(f.codes) <= known for f in FAULTS.values())
    assert {c.base for c in every if c.held_out} and {c.base for c in every if not c.held_out}


FAST = [
    Case("breast_cancer_mlp", "lr_too_high", 0),
    Case("breast_cancer_mlp", "init_zeros", 0),
    Case("breast_cancer_mlp", "nan_inputs", 0),
    Case("circles_mlp", "deep_sigmoid", 0),
    Case("circles_mlp", "wrong_output_activation", 0),
    Case("digits_cnn", "wrong_loss", 0),
    Case("wine_mlp", "unscaled_inputs", 0),
    Case("breast_cancer_mlp", None, 0),
    Case("circles_mlp", None, 1),
]


@pytest.mark.parametrize("case", FAST, ids=lambda c: c.name)
def test_a_fast_case_gets_its_root_cause_first_or_stays_clean(case, tmp_path):
    result = run_check(case.workload(), seed=case.seed, out=tmp_path / "run")
    found = score(case.codes, result.findings)
    if case.codes:
        assert found["detected"] and found["root_cause"], [f.code for f in result.findings]
        assert first_seen(result.log, case.codes) is not None
    else:
        assert not found["false_positive"], serious(result.findings)
