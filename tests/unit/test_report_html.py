"""The self-contained HTML report: dispatch, the check page, its plots and its bounds."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.report.html import check_body, render_report, report_kind, write_report
from kerasdoctor.resources import rule_doc
from kerasdoctor.runlog import to_jsonable
from tests.unit.synthetic import LogBuilder, dense

DATA = Path(__file__).resolve().parents[1] / "data"
CHECK_PLOTS = {"loss", "metrics", "gradient_norm", "update_ratio", "dead_units", "saturated_units"}
FINDINGS = [
    {"code": "VANISHING_GRADIENTS", "severity": "error", "step": 20, "message": "Gradients vanish with depth.",
     "evidence": {"median_ratio": 1e-6, "activations": ["tanh"]}, "fix": "Use relu with he_normal.",
     "caused_by": None},
    {"code": "NOT_LEARNING", "severity": "error", "step": 60, "message": "The model is not learning.",
     "evidence": {"epochs": 6}, "fix": "Check the labels.", "caused_by": "VANISHING_GRADIENTS"},
]


def _layers(count):
    hidden = [dense(f"hidden_{i}", 16, "relu" if i % 2 else "tanh") for i in range(count - 1)]
    return hidden + [dense("output", 10, "softmax")]


def _activations(layers, share):
    return {layer["name"]: {"mean": 0.1, "std": 0.2, "zero_fraction": share, "dead_fraction": share,
                            "saturated_fraction": share / 2, "nonfinite": 0.0} for layer in layers}


def rich_log(epochs=6, probes=12, layer_count=4, steps_per_epoch=10, nan_from_epoch=None):
    """A run with probe gradients, update ratios and activation statistics for every layer."""
    layers = _layers(layer_count)
    builder = LogBuilder(layers=layers).data().data("val")
    builder.log.append("run", workload="examples/tiny.py", backend="jax", keras="3.0.0", seed=7,
                       fit={"epochs": epochs, "batch_size": 32}, split="stratified")
    total = epochs * steps_per_epoch
    for index in range(probes):
        step = round(index * total / max(probes - 1, 1))
        grads = {layer["name"]: 10.0 ** (depth - layer_count) for depth, layer in enumerate(layers)}
        broken = nan_from_epoch is not None and step >= nan_from_epoch * steps_per_epoch
        builder.probe(step, epoch=min(step // steps_per_epoch, epochs - 1), loss=float("nan") if broken else
                      2.3 / (1 + index), grads={n: float("inf") for n in grads} if broken else grads,
                      layers=_activations(layers, index / probes))
    for epoch in range(epochs):
        loss = float("nan") if nan_from_epoch is not None and epoch >= nan_from_epoch else 2.0 / (epoch + 1)
        builder.epoch(epoch, loss, val_loss=loss * 1.1, accuracy=0.5 + epoch / (2 * epochs),
                      val_accuracy=0.45 + epoch / (2 * epochs), steps=steps_per_epoch)
    builder.log.append("end", status="completed", step=total)
    return builder.log


def run_folder(path, log, findings=None):
    path.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(to_jsonable(record), allow_nan=False) for record in log.records)
    (path / "runlog.jsonl").write_text("\n".join(lines) + "\n")
    if findings is not None:
        (path / "findings.json").write_text(json.dumps(findings))
        (path / "summary.json").write_text(json.dumps({"workload": "examples/tiny.py", "backend": "jax",
                                                       "findings": findings, "error": None}))
    return path


def plots_of(page):
    """{name: the figure's HTML} of every plot on the page."""
    return dict(re.findall(r"<figure class=\"plot\" data-plot=\"([^\"]+)\">(.*?)</figure>", page, re.DOTALL))


@pytest.fixture(scope="module")
def rich_page(tmp_path_factory):
    return render_report(run_folder(tmp_path_factory.mktemp("rich"), rich_log(), FINDINGS))


def test_the_page_loads_nothing_from_outside(rich_page):
    assert "http://" not in rich_page and "https://" not in rich_page
    assert "<link" not in rich_page and "<script" not in rich_page
    assert all(source.startswith("data:") for source in re.findall(r"src=\"([^\"]*)\"", rich_page))
    assert all(target.startswith(("#", "data:")) for target in re.findall(r"href=\"([^\"]*)\"", rich_page))
    assert "@import" not in rich_page and "url(http" not in rich_page


def test_a_probe_rich_log_gets_every_plot_each_with_a_drawn_svg(rich_page):
    found = plots_of(rich_page)
    assert set(found) == CHECK_PLOTS
    for name, figure in found.items():
        drawn = re.sub(r"<defs>.*?</defs>", "", figure[figure.index("<svg"):], flags=re.DOTALL)
        assert re.search(r"<(path|image|use)\b", drawn), name


def test_finding_markers_are_labelled_with_their_codes_on_the_curves(rich_page):
    found = plots_of(rich_page)
    for name in ("loss", "metrics"):
        assert re.search(r"id=\"s[0-9a-f]{8}-finding-VANISHING_GRADIENTS\"", found[name]), name
        assert re.search(r"id=\"s[0-9a-f]{8}-finding-NOT_LEARNING\"", found[name]), name
    # Steps map onto the epoch axis through the epoch records: step 20 ends epoch 2 (10 steps each).
    assert "VANISHING_GRADIENTS at step 20 (epoch 2), NOT_LEARNING at step 60 (epoch 6)" in found["loss"]


def test_findings_keep_their_order_with_the_symptom_linked_to_its_cause(rich_page):
    first = rich_page.index("id=\"finding-VANISHING_GRADIENTS\"")
    second = rich_page.index("id=\"finding-NOT_LEARNING\"")
    assert first < second
    assert "most likely root cause" in rich_page[first:second]
    assert "symptom of <a href=\"#finding-VANISHING_GRADIENTS\">" in rich_page[second:]
    assert "Use relu with he_normal." in rich_page
    assert "First fix VANISHING_GRADIENTS, its cause; if this finding stays, check the labels." in rich_page[second:]


def test_the_explain_page_of_a_finding_is_folded_into_it(rich_page):
    article = rich_page[rich_page.index("id=\"finding-VANISHING_GRADIENTS\""):]
    article = article[:article.index("</article>")]
    assert "<details class=\"explain\">" in article
    heading = next(line[3:] for line in rule_doc("VANISHING_GRADIENTS").splitlines() if line.startswith("## "))
    assert f"<h2>{heading}</h2>" in article


def test_the_header_names_the_run_and_its_metrics(rich_page):
    header = rich_page[rich_page.index("<section id=\"run\">"):rich_page.index("<section id=\"findings\">")]
    for text in ("examples/tiny.py", "jax", "3.0.0", "<td>seed</td><td>7</td>", "6 of 6", "val_accuracy",
                 "2 problems found (2 errors); most likely root cause: VANISHING_GRADIENTS"):
        assert text in header, text


def test_a_run_without_findings_says_no_problem_was_found(tmp_path):
    page = render_report(run_folder(tmp_path, rich_log(), findings=[]))
    assert "No problems found by the rules that ran." in page
    assert "class=\"finding" not in page


def test_a_log_without_probes_leaves_the_layer_plots_out_with_a_note(tmp_path):
    builder = LogBuilder().data()
    for epoch in range(4):
        builder.epoch(epoch, 1.0 / (epoch + 1), val_loss=1.2 / (epoch + 1), accuracy=0.5 + 0.1 * epoch)
    page = render_report(run_folder(tmp_path, builder.log, findings=[]))
    found = plots_of(page)
    assert set(found) == {"loss", "metrics"}
    assert all("<svg" in figure for figure in found.values())
    assert "No gradient heatmap: no probe recorded gradients" in page
    assert "No activation heatmaps: the probes hold no activation statistics" in page


def test_a_model_without_saturating_activations_gets_a_note_not_a_saturation_plot(tmp_path):
    log = rich_log()
    for layer in log.model["layers"]:
        layer["activation"] = "relu"
    page = render_report(run_folder(tmp_path, log, findings=[]))
    assert "saturated_units" not in plots_of(page)
    assert "No saturation heatmap: no layer uses a saturating activation" in page


def test_a_loss_that_turns_nan_is_marked_and_the_plots_still_draw(tmp_path):
    static = {"code": "INPUT_NOT_NORMALIZED", "severity": "warning", "step": None, "message": "Unscaled inputs.",
              "evidence": {}, "fix": "Standardize.", "caused_by": None}
    page = render_report(run_folder(tmp_path, rich_log(nan_from_epoch=3), findings=[static]))
    found = plots_of(page)
    assert set(found) == CHECK_PLOTS
    assert re.search(r"id=\"s[0-9a-f]{8}-nonfinite\"", found["loss"])
    assert "the loss became NaN or infinite at epoch 3" in found["loss"]
    assert "Purple: NaN or infinite" in found["gradient_norm"]
    assert re.search(r"id=\"s[0-9a-f]{8}-finding-INPUT_NOT_NORMALIZED\"", found["loss"])
    assert "INPUT_NOT_NORMALIZED before training" in found["loss"]


def test_a_500_epoch_run_with_200_probes_stays_under_3_mb(tmp_path):
    log = rich_log(epochs=500, probes=200, layer_count=10, steps_per_epoch=40)
    page = render_report(run_folder(tmp_path, log, findings=FINDINGS))
    assert set(plots_of(page)) == CHECK_PLOTS
    assert len(page.encode("utf-8")) < 3_000_000


def test_a_schema_1_log_without_findings_renders_with_findings_judged_now(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    shutil.copy(DATA / "runlog_schema1.jsonl", folder / "runlog.jsonl")
    page = render_report(folder)
    assert "findings.json is missing: these findings were judged now from the log." in page
    assert {"loss", "gradient_norm"} <= set(plots_of(page))


@pytest.mark.parametrize("files, kind", [
    (("runlog.jsonl",), "check"),
    (("lr_find.json", "runlog.jsonl"), "lr-find"),
    (("compare.json",), "compare"),
    (("summary.json", "trials.csv"), "tune"),
    (("summary.json", "best_params.json"), "tune"),
    (("summary.json", "runlog.jsonl"), "check"),
])
def test_the_page_follows_the_files_in_the_folder(tmp_path, files, kind):
    for name in files:
        (tmp_path / name).write_text("{}")
    assert report_kind(tmp_path) == kind


def test_a_folder_without_a_run_is_refused_in_one_line_naming_it(tmp_path):
    with pytest.raises(KerasDoctorError, match="holds no keras-doctor run") as raised:
        render_report(tmp_path)
    assert str(tmp_path) in str(raised.value) and "runlog.jsonl" in str(raised.value)
    assert "\n" not in str(raised.value)
    with pytest.raises(KerasDoctorError, match="does not exist"):
        render_report(tmp_path / "missing")


def test_write_report_writes_report_html_into_the_run_folder(tmp_path):
    folder = run_folder(tmp_path / "run", rich_log(), FINDINGS)
    path = write_report(folder)
    assert path == folder / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_check_body_prefixes_its_ids_for_a_page_that_holds_several_runs(tmp_path):
    body = check_body(run_folder(tmp_path, rich_log(), FINDINGS), id_prefix="best-")
    assert "<section id=\"best-run\">" in body and "id=\"best-finding-NOT_LEARNING\"" in body
    assert "href=\"#best-finding-VANISHING_GRADIENTS\"" in body
    assert "<section id=\"run\">" not in body


def test_rendering_a_report_imports_no_keras(tmp_path):
    folder = run_folder(tmp_path / "run", rich_log(), FINDINGS)
    code = ("import sys\nfrom kerasdoctor.report.html import render_report\n"
            f"assert 'data-plot' in render_report({str(folder)!r})\nprint('keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_report_command_rebuilds_a_report_and_refuses_a_folder_without_a_run(tmp_path):
    from typer.testing import CliRunner

    from kerasdoctor.cli.app import app

    run = run_folder(tmp_path / "run", rich_log(), FINDINGS)
    built = CliRunner().invoke(app, ["report", str(run)])
    assert built.exit_code == 0 and built.output.strip() == f"report: {run / 'report.html'}"
    assert (run / "report.html").read_text() == render_report(run)
    empty = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert empty.exit_code == 1 and "holds no keras-doctor run" in empty.output
    assert not (tmp_path / "report.html").exists()
