"""The self-contained HTML report of a run folder: ``report.html``, one file that needs no network.

Styles and plots are inline (SVG with its text drawn as paths), the page holds no URL and works
without JavaScript. It is drawn from the run folder's files alone, so a copied folder renders too.
Which page a folder gets depends on the files in it: ``compare.json`` (compare), ``lr_find.json``
(lr-find), ``summary.json`` with ``trials.csv`` or ``best_params.json`` (tune), ``runlog.jsonl`` (check).
"""

import json
import re
from pathlib import Path

from kerasdoctor import __version__
from kerasdoctor.diagnose import diagnose
from kerasdoctor.diagnose.series import is_finite
from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.files import write_atomic
from kerasdoctor.report import html_check
from kerasdoctor.report.plots import STYLE, escape, note, number, section, table
from kerasdoctor.resources import rule_doc
from kerasdoctor.runlog import RunLog
from kerasdoctor.vocabulary import direction

REPORT_NAME = "report.html"
# kind -> (the file that names it, the function of kerasdoctor.report.html_tuning that draws it)
TUNING_PAGES = {"compare": ("compare.json", "compare_body"), "lr-find": ("lr_find.json", "lr_find_body"),
                "tune": ("summary.json", "tune_body")}


def report_kind(run_dir):
    """'compare', 'lr-find', 'tune' or 'check', from the files in ``run_dir``."""
    run_dir = Path(run_dir)
    if (run_dir / "compare.json").is_file():
        return "compare"
    if (run_dir / "lr_find.json").is_file():
        return "lr-find"
    if (run_dir / "summary.json").is_file() and any((run_dir / name).is_file()
                                                    for name in ("trials.csv", "best_params.json")):
        return "tune"
    if (run_dir / "runlog.jsonl").is_file():
        return "check"
    what = "does not exist" if not run_dir.exists() else "holds no keras-doctor run"
    raise KerasDoctorError(
        f"Cannot write a report: the folder {run_dir} {what}. Expected a run folder with runlog.jsonl "
        f"(check), lr_find.json, compare.json, or summary.json with trials.csv (tune). Received: run_dir={run_dir}")


def render_report(run_dir):
    """The whole HTML document of the run in ``run_dir``."""
    run_dir = Path(run_dir)
    kind = report_kind(run_dir)
    if kind == "check":
        log, summary = load_log(run_dir), read_json(run_dir / "summary.json")
        run = _run_record(log)
        name = run.get("workload") or summary.get("workload")
        title = f"keras-doctor check: {Path(name).stem if name else run_dir.name}"
        if run.get("watched_fit"):  # a fit watched by `run` or autolog(), not `check`'s own training
            where = Path(name or run_dir.name).name
            title = f"keras-doctor: a fit {'in' if where.endswith('.py') else 'of'} {where}"
        return document(title,
                        _check_sections(run_dir, log, summary))
    file_name, function = TUNING_PAGES[kind]
    data = read_json(run_dir / file_name)
    name = data.get("workload") or data.get("study")
    title = f"keras-doctor {kind}: {Path(str(name)).stem if name else run_dir.name}"
    from kerasdoctor.report import html_tuning  # it calls check_body: imported here, not at the top

    return document(title, getattr(html_tuning, function)(run_dir, data))


def write_report(run_dir):
    """Writes ``report.html`` into ``run_dir`` (atomically) and returns its path."""
    path = Path(run_dir) / REPORT_NAME
    write_atomic(path, render_report(run_dir))
    return path


def document(title, body):
    """A complete page around ``body`` (a string of ``<section>``s), with a table of contents."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body><main>"
            f"<h1>{escape(title)}</h1>{_contents(body)}{body}"
            f"<footer>Written by keras-doctor {escape(__version__)}.</footer></main></body></html>\n")


def _contents(body):
    entries = re.findall(r"<section id=\"([^\"]+)\"><h2>(.*?)</h2>", body)
    if len(entries) < 2:
        return ""
    items = "".join(f"<li><a href=\"#{anchor}\">{title}</a></li>" for anchor, title in entries)
    return f"<nav class=\"contents\"><strong>Contents</strong><ol>{items}</ol></nav>"


def read_json(path):
    """A JSON file of the run folder; {} when it is absent."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise KerasDoctorError(f"Cannot write a report: {path} is not valid JSON ({error}). "
                               "Run the command again to write it anew.") from None


def load_log(run_dir):
    try:
        return RunLog.load(Path(run_dir) / "runlog.jsonl")
    except ValueError as error:
        raise KerasDoctorError(f"Cannot write a report: {error}") from None


def _run_record(log):
    found = log.of_type("run")
    return found[-1] if found else {}


# The check page.

def check_body(run_dir, *, id_prefix=""):
    """The sections of a check run's page: the run, the findings, the curves and the per-layer signals.

    ``id_prefix`` keeps the section ids apart when one page holds several runs.
    """
    run_dir = Path(run_dir)
    return _check_sections(run_dir, load_log(run_dir), read_json(run_dir / "summary.json"), id_prefix)


def _check_sections(run_dir, log, summary, id_prefix=""):
    findings, judged_now = _findings(run_dir, summary, log)
    return "".join([
        section(f"{id_prefix}run", "Run", _run_header(log, summary, findings)),
        section(f"{id_prefix}findings", "Findings", _findings_html(findings, judged_now, id_prefix)),
        section(f"{id_prefix}curves", "Training curves",
                html_check.loss_plot(log, findings) + html_check.metrics_plot(log, findings)),
        section(f"{id_prefix}gradients", "Gradients and updates per layer",
                html_check.gradient_plot(log) + html_check.update_plot(log)),
        section(f"{id_prefix}activations", "Activations per layer", html_check.activation_plots(log)),
    ])


def _findings(run_dir, summary, log):
    """The run's findings as written (root cause first), else judged now from the log."""
    if (run_dir / "findings.json").is_file():
        return read_json(run_dir / "findings.json"), False
    if summary.get("findings") is not None:
        return summary["findings"], False
    return [finding.to_dict() for finding in diagnose(log)], True


def _duration(log, metrics):
    seconds = metrics.get("wall_seconds", metrics.get("seconds"))
    if seconds is None and log.epochs:
        seconds = sum(e.get("seconds", 0.0) for e in log.epochs)
    return None if seconds is None else f"{seconds:.1f} s"


def _facts(log, summary):
    run, model, end = _run_record(log), log.model or {}, log.end or {}
    fit, optimizer = run.get("fit") or {}, model.get("optimizer") or {}
    rate = (optimizer.get("config") or {}).get("learning_rate")
    steps = [p["step"] for p in log.probes]
    rows = [
        ("workload", run.get("workload") or summary.get("workload")),
        ("model", model.get("name") and f"{model['name']} ({model.get('class_name', '?')}, "
                                        f"{number(model.get('trainable_params'))} trainable parameters)"),
        ("backend", run.get("backend") or summary.get("backend") or model.get("backend")),
        ("Keras", run.get("keras")),
        ("seed", run.get("seed")),
        ("epochs", f"{len(log.epochs)}" + (f" of {fit['epochs']}" if fit.get("epochs") else "")),
        ("batch size", fit.get("batch_size")),
        ("optimizer", optimizer.get("name") and f"{optimizer['name']}"
                                                + (f", learning rate {number(rate)}" if rate is not None else "")),
        ("duration", _duration(log, summary.get("metrics") or {})),
        ("probes", steps and f"{len(steps)}, steps {steps[0]} to {steps[-1]}"),
        ("status", end.get("status")),
    ]
    return [(name, value) for name, value in rows if value not in (None, "")]


def _metrics(log, summary):
    """{metric: (final, best)}: from summary.json, else from the epoch records."""
    metrics = summary.get("metrics") or {}
    if metrics.get("final"):
        return {name: (value, metrics.get("best", {}).get(name)) for name, value in metrics["final"].items()}
    found = {}
    for name in sorted({key for e in log.epochs for key in e.get("logs", {})}):
        values = [e["logs"][name] for e in log.epochs if name in e["logs"]]
        finite = [v for v in values if is_finite(v)]
        best = (min if direction(name, default="max") == "min" else max)(finite) if finite else None
        found[name] = (values[-1], best)
    return found


def _count(number, noun):
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _verdict(findings, summary):
    problems = [f for f in findings if f["severity"] != "info"]
    if summary.get("error"):
        return f"<p class=\"verdict error\">{escape(summary['error'])}</p>"
    if not problems:
        return "<p class=\"verdict ok\">No problems found by the rules that ran.</p>"
    counts = ", ".join(_count(sum(f["severity"] == s for f in problems), s) for s in ("error", "warning")
                       if any(f["severity"] == s for f in problems))
    return (f"<p class=\"verdict {problems[0]['severity']}\">{_count(len(problems), 'problem')} found ({counts}); "
            f"most likely root cause: {escape(problems[0]['code'])}.</p>")


def _run_header(log, summary, findings):
    metrics = _metrics(log, summary)
    parts = [_verdict(findings, summary), table(None, _facts(log, summary))]
    if metrics:
        parts.append(table(("metric", "final", "best"),
                           [(name, number(final), number(best)) for name, (final, best) in metrics.items()]))
    parts += [note(f"note: {message}") for message in log.notes]
    return "<div class=\"run\">" + "".join(parts) + "</div>"


def _findings_html(findings, judged_now, id_prefix):
    intro = note("findings.json is missing: these findings were judged now from the log.") if judged_now else ""
    if not findings:
        return intro + "<p class=\"verdict ok\">No problems found by the rules that ran.</p>"
    return intro + "".join(_finding_html(finding, index == 0 and len(findings) > 1, id_prefix)
                           for index, finding in enumerate(findings))


def _finding_html(finding, root, id_prefix):
    code, severity = finding["code"], finding["severity"]
    tags = [f"<span class=\"badge {escape(severity)}\">{escape(severity.upper())}</span> <code>{escape(code)}</code>"]
    if root:
        tags.append("<span class=\"tag\">most likely root cause</span>")
    cause = finding.get("caused_by")
    if cause:
        tags.append(f"<span class=\"tag\">symptom of <a href=\"#{escape(id_prefix)}finding-{escape(cause)}\">"
                    f"{escape(cause)}</a></span>")
    where = "before training" if finding.get("step") is None else f"at step {finding['step']}"
    fix = finding.get("fix") or ""
    if cause:  # a symptom: fixing its cause should clear it
        fix = f"First fix {cause}, its cause" + (f"; if this finding stays, {fix[:1].lower()}{fix[1:]}" if fix else ".")
    evidence = [(key, _evidence_value(value)) for key, value in (finding.get("evidence") or {}).items()]
    return (f"<article class=\"finding {escape(severity)}\" id=\"{escape(id_prefix)}finding-{escape(code)}\">"
            f"<h3>{' '.join(tags)}</h3><p>{escape(finding['message'])}</p>"
            f"<p class=\"where\">First seen {where}.</p>"
            + (f"<p class=\"fix\"><strong>Fix:</strong> {escape(fix)}</p>" if fix else "")
            + (f"<details><summary>Evidence</summary>{table(None, evidence)}</details>" if evidence else "")
            + _explain(code) + "</article>")


def _evidence_value(value):
    if isinstance(value, (list, tuple)) and all(not isinstance(v, (dict, list)) for v in value):
        return ", ".join(number(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return number(value)


def _explain(code):
    """The code's explain page, rendered from its Markdown, folded. Links keep their text only, URLs
    lose their scheme and images stay Markdown text: the page holds no address to fetch."""
    from markdown_it import MarkdownIt

    text = rule_doc(code)
    if text is None:
        return ""
    text = re.sub(r"\A# .*\n", "", text)
    rendered = MarkdownIt("commonmark", {"html": False}).enable("table").disable("image").render(text)
    rendered = re.sub(r"https?://", "", re.sub(r"<a href=\"[^\"]*\">(.*?)</a>", r"\1", rendered))
    return (f"<details class=\"explain\"><summary>What {escape(code)} means and how to fix it</summary>"
            f"{rendered}</details>")
