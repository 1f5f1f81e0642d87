"""EarlyStopping end to end: a workload's FIT callbacks reach its fit, the run record says what
they were, and a run that stopped early and got its best epoch's weights back is judged as the
model it returned."""

import kerasdoctor  # noqa: F401, I001  (chooses the backend)
import keras
import pytest

from kerasdoctor.checkup import run_check
from kerasdoctor.diagnose import diagnose
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.repair import Change, apply
from kerasdoctor.runlog import RunLog
from kerasdoctor.testing.faults import Case
from kerasdoctor.workload import load_workload

pytestmark = pytest.mark.integration


def test_a_run_that_early_stopping_gave_its_best_weights_back_is_not_told_it_overfits(tmp_path):
    # 5% of breast cancer's training set under a 4x wider MLP for 60 epochs (a fault of the
    # fault benchmark): the validation loss rises long before the end.
    overfit = Case("breast_cancer_mlp", "tiny_data_big_model", 0).workload()
    before = run_check(overfit, out=tmp_path / "before")
    assert "OVERFITTING" in {f.code for f in before.findings}
    assert "restored_epoch" not in before.log.end

    stopped = apply([Change.make("fit", why="OVERFITTING", early_stopping=3)], overfit)
    after = run_check(stopped, out=tmp_path / "after")
    epochs = after.log.epochs
    best = min(range(len(epochs)), key=lambda e: epochs[e]["logs"]["val_loss"])
    assert len(epochs) < 60 and after.log.end["restored_epoch"] == best
    assert "OVERFITTING" not in {f.code for f in after.findings}
    run = after.log.of_type("run")[0]
    assert run["fit"]["callbacks"] == [{"class_name": "EarlyStopping", "monitor": "val_loss", "mode": "auto",
                                        "patience": 3, "min_delta": 0, "restore_best_weights": True,
                                        "start_from_epoch": 0}]
    assert run["fit"]["epochs"] == 60


def test_a_workload_file_can_pass_callbacks_in_fit_and_a_bad_one_is_one_clear_error(tmp_path):
    source = (
        "import keras\nimport numpy as np\n"
        "FIT = {'epochs': 2, 'batch_size': 16, 'callbacks': CALLBACKS}\n"
        "def build_model(hp=None):\n"
        "    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])\n"
        "    model.compile('adam', 'mse')\n"
        "    return model\n"
        "def load_data():\n"
        "    x = np.random.default_rng(0).normal(size=(64, 3)).astype('float32')\n"
        "    return x, x.sum(axis=1)\n"
    )
    good = tmp_path / "good.py"
    good.write_text(source.replace("CALLBACKS", "[keras.callbacks.TerminateOnNaN()]"))
    result = run_check(load_workload(good), out=tmp_path / "run")
    assert result.log.of_type("run")[0]["fit"]["callbacks"] == [{"class_name": "TerminateOnNaN"}]
    # Each run gets its own copies: the workload's callback objects are never bound to a model
    # (the repair trains several runs of one workload at once).
    workload = load_workload(good)
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=0, restore_best_weights=True)
    workload.fit["callbacks"] = [stopper]
    run_check(workload, out=tmp_path / "copied")
    assert stopper.model is None and stopper.best_weights is None and stopper.wait == 0
    bad = tmp_path / "bad.py"
    bad.write_text(source.replace("CALLBACKS", "['EarlyStopping']"))
    with pytest.raises(KerasDoctorError, match=r"FIT\['callbacks'\] in .* must be a list of keras.callbacks.Callback"):
        load_workload(bad)


def test_repair_leaves_an_overfit_that_costs_no_accuracy_as_information(tmp_path):
    # The MNIST-1D Conv1D at a learning rate 1000x too high: the rate lr_find measures makes it
    # learn, and then the validation loss turns up while the accuracy holds, so that OVERFITTING
    # is information, not a problem for a second round to fix: one round, and the repair beats
    # the original by more than the noise.
    from kerasdoctor.repair import run_repair

    result = run_repair(Case("mnist1d_conv1d", "lr_too_high", 0).workload(), out=tmp_path / "repair")
    assert result.status == "repaired", result.message
    kinds = [(c.kind, sorted(c.params)) for c in result.changes]
    assert kinds == [("compile", ["learning_rate"])]
    assert {c.round for c in result.candidates} == {1}
    assert result.after["value"] > result.before["value"] + max(result.after["noise"], result.before["noise"])
    assert not result.after["findings"]
    after = RunLog.load(result.run_dir / "after.runlog.jsonl")
    assert [f.severity for f in diagnose(after) if f.code == "OVERFITTING"] == ["info"]


def test_a_fix_that_clears_the_findings_but_gains_nothing_is_not_a_repair_and_names_the_manual_fix(tmp_path):
    # 5% of the diabetes training set under a 4x wider MLP: early stopping clears OVERFITTING,
    # but the validation loss it keeps is the original's best, within the noise.
    from kerasdoctor.repair import run_repair

    result = run_repair(Case("diabetes_mlp", "tiny_data_big_model", 0).workload(), out=tmp_path / "repair")
    assert result.status == "not_repaired" and result.changes == []
    assert "does not beat the original's" in result.message
    assert result.manual_fix and "more data" in result.manual_fix
