"""The fault benchmark's registry, and a fast subset of its cases run end to end (the full run is bench/diagnose.py)."""

import pytest

from kerasdoctor.checkup import run_check
from kerasdoctor.diagnose import RULES
from kerasdoctor.testing.bases import BASES
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


def test_the_newer_families_have_faulty_healthy_and_held_out_cases_of_their_own():
    new = list(cases(family="new"))
    faulty = [c for c in new if c.fault]
    assert len(faulty) >= 10 and len(new) - len(faulty) >= 5
    assert {c.family for c in new} >= {"recurrent", "attention", "multi_output", "text", "backbone"}
    assert {c.family for c in new if c.held_out} == {c.family for c in new if not c.held_out}
    assert all(BASES[c.base].family == "classic" for c in cases(family="classic"))
    assert {c.name for c in cases(family="classic")} | {c.name for c in new} == {c.name for c in cases()}
    # A family's own faults reach only the bases that list them.
    assert all(c.fault in BASES[c.base].faults for c in faulty)
    assert not any(c.fault == "frozen_random_backbone" for c in cases(family="classic"))


def test_a_cases_twin_is_the_base_or_for_a_subsampling_fault_the_base_on_the_cases_rows():
    plain = Case("blobs_mlp", "lr_too_high", 0)
    assert plain.twin_key == "blobs_mlp"
    assert plain.twin(1).fit == BASES["blobs_mlp"].fit
    subsampled = Case("blobs_mlp", "batch_one_momentum", 0)
    faulty, twin = subsampled.workload(), subsampled.twin(2)
    assert subsampled.twin_key == subsampled.name and faulty.fit["batch_size"] == 1
    assert twin.fit == BASES["blobs_mlp"].fit
    (x, y), (x_twin, y_twin) = faulty.load_data().train, twin.load_data().train
    assert len(y_twin) == len(y) < len(Case("blobs_mlp", None, 0).workload().load_data().train[1])
    assert (x_twin == x).all() and (y_twin == y).all()
    optimizer = twin.build_model().optimizer
    assert type(optimizer).__name__ == BASES["blobs_mlp"].recipe.optimizer.capitalize()


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
    Case("digits_two_heads", "head_wrong_loss", 0),
    Case("digits_backbone_cnn", "frozen_random_backbone", 0),
    Case("digits_two_heads", None, 0),
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
