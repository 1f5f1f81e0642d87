"""Commands only declare options and forward; errors become one red line here."""

import contextlib
import functools
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.text import Text
from typer.core import TyperGroup

from kerasdoctor import __version__, _backend, resources
from kerasdoctor.errors import KerasDoctorError


class _Commands(TyperGroup):
    """Reads ``--debug`` anywhere before ``--`` (``keras-doctor check --debug x.py``): it is moved
    in front of the command, where the app's option takes it. For a command that hands what follows
    its argument to someone else (``run SCRIPT ARGS``), only before that argument."""

    def parse_args(self, ctx, args):
        end = self._end_of_own_args(ctx, args)
        if "--debug" in args[:end]:
            args = ["--debug"] + [a for i, a in enumerate(args) if i >= end or a != "--debug"]
        return super().parse_args(ctx, args)

    def _end_of_own_args(self, ctx, args):
        end = args.index("--") if "--" in args else len(args)
        name = next((i for i, a in enumerate(args[:end]) if not a.startswith("-")), None)
        command = self.get_command(ctx, args[name]) if name is not None else None
        if command is None or command.context_settings.get("allow_interspersed_args", True):
            return end
        takes_value = {flag for param in command.params if not getattr(param, "is_flag", True)
                       for flag in param.opts}
        index = name + 1
        while index < end and args[index].startswith("-"):  # the command's options, then its argument
            index += 1 + (args[index] in takes_value)
        return min(index, end)


app = typer.Typer(
    cls=_Commands,
    help="Finds and fixes what makes a Keras model train badly or slowly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stdout = Console()
stderr = Console(stderr=True)
_options = {"debug": False}


class FailOn(str, Enum):
    info = "info"
    warning = "warning"
    error = "error"
    never = "never"


def _error(message):
    # A Text, not markup: install hints such as "keras-doctor[tune]" keep their brackets.
    stderr.print(Text.assemble(("error:", "bold red"), " ", str(message)), highlight=False, soft_wrap=True)


def _note(message):
    stderr.print(Text(f"note: {message}", style="dim"), highlight=False, soft_wrap=True)


def _fail(message, exit_code, as_json):
    """One red line on stderr; with --json also {"error", "exit_code"} on stdout."""
    _error(message)
    if as_json:
        print(json.dumps({"error": message, "exit_code": exit_code}))
    raise typer.Exit(exit_code)


def guarded(command):
    """Turns KerasDoctorError (and any surprise) into one red line and exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        as_json = bool(kwargs.get("as_json"))
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            _fail("interrupted.", 130, as_json)
        except KerasDoctorError as error:
            if _options["debug"]:
                raise
            _fail(str(error), 1, as_json)
        except Exception as error:
            if _options["debug"]:
                raise
            _fail(f"unexpected {type(error).__name__}: {error}. Run again with --debug for the traceback.", 1, as_json)

    return wrapper


def _version(value):
    if value:
        print(f"keras-doctor {__version__}")
        raise typer.Exit()


@app.callback()
def options(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors (also after the command)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
):
    _options["debug"] = debug


def _add_report(run_dir, summary):
    """Writes the run folder's report.html and adds its path to the summary (None when it could
    not be drawn: the verb has succeeded, so that is a note, not an error)."""
    from kerasdoctor.report import write_report_quietly

    path = write_report_quietly(run_dir)
    summary["report"] = str(path) if path else None
    if path is None:
        _note("the HTML report could not be written; the run's files are complete (see the warning above).")
    return summary


def _print_report_path(summary, as_json):
    if not as_json and summary.get("report"):
        stdout.print(Text(f"report: {summary['report']}"), highlight=False, soft_wrap=True)


def _exit_code(findings, fail_on):
    if fail_on is FailOn.never:
        return 0
    from kerasdoctor.diagnose import severity_rank

    threshold = severity_rank(fail_on.value)
    return 3 if any(severity_rank(f.severity) >= threshold for f in findings) else 0


def _begin(as_json):
    """Says which backend runs; with --json, anything the workload prints goes to stderr so that
    stdout holds one JSON object."""
    backend = _backend.require()
    stderr.print(f"keras-doctor: using the [bold]{backend}[/] backend", highlight=False)
    return contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()


def _check(workload_path, *, data, unsafe, epochs, batch_size, out, seed, as_json, fail_on):
    redirect = _begin(as_json)
    from kerasdoctor.checkup import run_check
    from kerasdoctor.cli.progress import ProgressCallback, make_progress
    from kerasdoctor.report import render_check
    from kerasdoctor.workload import load_workload

    with redirect:
        workload = load_workload(workload_path, data=data, unsafe=unsafe)
        with make_progress(stderr) as progress:
            result = run_check(
                workload, epochs=epochs, batch_size=batch_size, out=out, seed=seed,
                callbacks=[ProgressCallback(progress, f"check {workload.name}")],
            )
    summary = _add_report(result.run_dir, result.to_dict())
    if as_json:
        print(json.dumps(summary))
    else:
        for renderable in render_check(summary, result.log):
            _show(renderable)
            stdout.print()
        _print_report_path(summary, as_json)
    if result.error:
        _error(f"{result.error} (see that finding above; the log is in {result.run_dir}).")
        raise typer.Exit(1)
    raise typer.Exit(_exit_code(result.findings, fail_on))


EPOCHS = typer.Option(None, "--epochs", min=1, help="Train this many epochs (default: the workload's FIT).")
BATCH = typer.Option(None, "--batch-size", min=1, help="Batch size (default: the workload's FIT).")
OUT = typer.Option(None, "--out", help="Run folder (default: .keras-doctor/runs/<time>-<name>).")
SEED = typer.Option(0, "--seed", help="Seed for weights, the validation split and the probe batch.")
JSON = typer.Option(False, "--json", help="Print one JSON object on stdout and nothing else.")
FAIL_ON = typer.Option(
    FailOn.never, "--fail-on", help="Exit 3 when a finding is at least this severe (info, warning or error), "
    "for CI gating; never (the default): findings never change the exit code, which is 0 after a "
    "completed run and 1 on an error.")


@app.command()
@guarded
def check(
    workload: Path = typer.Argument(..., help="A workload .py file, or a .keras model with --data."),
    data: Optional[Path] = typer.Option(None, "--data", help="For a .keras model: .npz with x_train, y_train[, x_val, y_val]."),
    unsafe: bool = typer.Option(False, "--unsafe", help="Allow unsafe deserialization of a trusted .keras file."),
    epochs: Optional[int] = EPOCHS,
    batch_size: Optional[int] = BATCH,
    out: Optional[Path] = OUT,
    seed: int = SEED,
    as_json: bool = JSON,
    fail_on: FailOn = FAIL_ON,
):
    """Train a copy of WORKLOAD with the Monitor and report what is wrong."""
    _check(workload, data=data, unsafe=unsafe, epochs=epochs, batch_size=batch_size,
           out=out, seed=seed, as_json=as_json, fail_on=fail_on)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                                "allow_interspersed_args": False})
@guarded
def run(
    ctx: typer.Context,
    script: Path = typer.Argument(..., metavar="SCRIPT [ARGS]...",
                                  help="Your training script; the arguments after it are its own."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for the run folders, one per fit "
                                       "(default: .keras-doctor/runs/<time>-<name> each)."),
    seed: int = typer.Option(0, "--seed", help="Seed for the probe rows (the script seeds its own training)."),
    json_out: Optional[Path] = typer.Option(None, "--json-out", help="Write {\"fits\": [...], \"exit_code\": N} here."),
    fail_on: FailOn = typer.Option(
        FailOn.never, "--fail-on", help="Exit 3 when a finding is at least this severe (info, warning or "
        "error), for CI gating; never (the default): findings never change the exit code."),
):
    """Run SCRIPT unmodified, as python would, with keras-doctor watching every fit.

    Options for keras-doctor go before SCRIPT (so does --debug); what follows SCRIPT is the script's argv.
    Exit code: the script's own when it is not 0, else 3 when --fail-on is met, else 0.
    """
    _backend.require()
    from kerasdoctor.autologging.script import run_script

    threshold = None if fail_on is FailOn.never else fail_on.value
    code, session = run_script(script, ctx.args, out=out, fail_on=threshold, seed=seed)
    if json_out is not None:
        from kerasdoctor.files import write_json

        write_json(json_out, {"fits": [r.to_dict() for r in session.results], "exit_code": code})
    raise typer.Exit(code)


@app.command()
@guarded
def demo(
    epochs: Optional[int] = EPOCHS,
    out: Optional[Path] = OUT,
    as_json: bool = JSON,
):
    """Run `check` on the bundled digits CNN example."""
    example = resources.examples_dir() / "digits_cnn.py"
    if not example.is_file():
        raise KerasDoctorError(f"The bundled example is missing: {example}. Reinstall keras-doctor.")
    _check(example, data=None, unsafe=False, epochs=epochs, batch_size=None, out=out,
           seed=0, as_json=as_json, fail_on=FailOn.never)


@app.command()
@guarded
def clean(
    keep: int = typer.Option(10, "--keep", min=0, help="How many of the newest run folders to keep."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be removed and remove nothing."),
):
    """Remove old run folders under .keras-doctor/runs, the newest kept.

    Only folders that keras-doctor made go: named <YYYYmmdd-HHMMSS>-<name> and holding one of
    its files (runlog.jsonl, summary.json, lr_find.json, compare.json, report.html).
    """
    from kerasdoctor.cli.clean import old_run_folders, remove_run_folder
    from kerasdoctor.files import RUNS_ROOT

    old = old_run_folders(RUNS_ROOT, keep)
    if not old:
        stdout.print(Text(f"nothing to clean in {RUNS_ROOT} (keeping the {keep} newest run folder{'' if keep == 1 else 's'})"))
        return
    for folder in old:
        if not dry_run:
            remove_run_folder(folder)
        stdout.print(Text(f"{'would remove' if dry_run else 'removed'} {folder}"), soft_wrap=True)


def _show(renderable):
    # A line of text is left to the terminal to wrap, so a path in it can be copied from a log of
    # any width; tables keep rich's layout.
    stdout.print(renderable, soft_wrap=isinstance(renderable, Text))


def _json_or_render(summary, renderables, as_json):
    if as_json:
        print(json.dumps(summary))
    else:
        for renderable in renderables:
            _show(renderable)


@app.command("lr-find")
@guarded
def lr_find_command(
    workload: Path = typer.Argument(..., help="A workload .py file, or a .keras model with --data."),
    data: Optional[Path] = typer.Option(None, "--data", help="For a .keras model: .npz with x_train, y_train[, x_val, y_val]."),
    unsafe: bool = typer.Option(False, "--unsafe", help="Allow unsafe deserialization of a trusted .keras file."),
    start: float = typer.Option(1e-6, "--start", help="Smallest learning rate of the sweep."),
    end: float = typer.Option(10.0, "--end", help="Largest learning rate of the sweep."),
    steps: int = typer.Option(175, "--steps", min=10, help="Most steps of the sweep (one batch each)."),
    rule: str = typer.Option("midway", "--rule", help="Suggestion rule: midway, steep, valley or minimum/10."),
    batch_size: Optional[int] = BATCH,
    confirm: bool = typer.Option(False, "--confirm", help="Settle the bracket with 3 short runs (2 epochs each)."),
    out: Optional[Path] = OUT,
    seed: int = SEED,
    as_json: bool = JSON,
):
    """Find a learning rate with a range test (the model is restored afterwards)."""
    redirect = _begin(as_json)
    import keras

    from kerasdoctor.cli.progress import make_progress
    from kerasdoctor.files import new_run_dir, write_json
    from kerasdoctor.report import render_lr_find
    from kerasdoctor.tune.lr_find import MATPLOTLIB_HINT, can_plot, lr_find
    from kerasdoctor.tune.lr_find import confirm as confirm_rates
    from kerasdoctor.workload import load_workload

    with redirect:
        loaded = load_workload(workload, data=data, unsafe=unsafe)
        batch = batch_size or loaded.fit["batch_size"]
        arrays = loaded.load_data(seed)
        keras.utils.set_random_seed(seed)
        model = loaded.build_model()
        with make_progress(stderr) as progress:
            task = progress.add_task("lr-find sweep", total=steps, status="")
            result = lr_find(model, *arrays.training_inputs, batch_size=batch, start_lr=start, end_lr=end,
                             num_steps=steps, rule=rule, seed=seed,
                             progress=lambda done, total: progress.update(task, completed=done))
            found = result.to_dict()
            if confirm:
                rates = [result.low, result.suggestion, result.high]
                runs = progress.add_task("lr-find confirm", total=len(rates) * 2, status="")
                found["confirm"] = confirm_rates(
                    loaded.build_model, arrays, rates, epochs=2, batch_size=batch, seed=seed,
                    progress=lambda done, total, rate: progress.update(runs, completed=done, status=f"lr {rate:.3g}"))
    run_dir = new_run_dir(f"lr-find-{loaded.name}", out)  # only now: a failed sweep leaves no folder
    summary = {"workload": str(workload), "run_dir": str(run_dir), **found,
               "plot": None, "data": str(run_dir / "lr_find.json")}
    if can_plot():
        result.plot(run_dir / "lr_find.png")
        summary["plot"] = str(run_dir / "lr_find.png")
    else:
        _note(f"the curve was not drawn (the data is in lr_find.json): plots need matplotlib; {MATPLOTLIB_HINT}.")
    write_json(run_dir / "lr_find.json", summary)
    _add_report(run_dir, summary)
    _json_or_render(summary, render_lr_find(summary), as_json)
    _print_report_path(summary, as_json)


def _split_list(text, kind):
    if not text:
        return []
    items = [item.strip() for item in text.split(",") if item.strip()]
    try:
        return [kind(item) for item in items]
    except ValueError:
        raise KerasDoctorError(f"Expected a comma-separated list of {kind.__name__} values. Received: {text!r}") from None


@app.command()
@guarded
def compare(
    workload: Path = typer.Argument(..., help="A workload .py file."),
    optimizers: Optional[str] = typer.Option(None, "--optimizers", help="e.g. sgd,momentum,adam,adamw,radam,prodigy"),
    initializers: Optional[str] = typer.Option(None, "--initializers", help="e.g. glorot_uniform,he_normal,lsuv"),
    learning_rates: Optional[str] = typer.Option(
        None, "--learning-rates", help="e.g. 1e-3,1e-2, or auto: each optimizer at its own lr-find suggestion "
        "(default: the workload's rate)."),
    batch_sizes: Optional[str] = typer.Option(None, "--batch-sizes", help="e.g. 32,128"),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Runs per variant, seeds 0..N-1."),
    target: Optional[float] = typer.Option(None, "--target", help="Validation metric to reach (default: 95% of the best variant's)."),
    epochs: Optional[int] = EPOCHS,
    out: Optional[Path] = OUT,
    as_json: bool = JSON,
):
    """Train the workload side by side under several variants and compare them with numbers."""
    redirect = _begin(as_json)
    from kerasdoctor.cli.progress import make_progress
    from kerasdoctor.report import render_compare
    from kerasdoctor.tune.compare import AUTO, run_compare, variants
    from kerasdoctor.tune.space import INITIALIZERS, make_optimizer
    from kerasdoctor.workload import load_workload

    rates = [AUTO] if (learning_rates or "").strip().lower() == AUTO else _split_list(learning_rates, float)
    chosen = variants(_split_list(optimizers, str), _split_list(initializers, str), rates,
                      _split_list(batch_sizes, int))
    for variant in chosen:  # a bad name is one clear line before any training
        if variant.optimizer:
            make_optimizer(variant.optimizer, 1e-3)
        if variant.initializer and variant.initializer.lower() not in INITIALIZERS:
            raise KerasDoctorError(f"Unknown initializer {variant.initializer!r}. Known: {', '.join(INITIALIZERS)}.")
    with redirect:
        loaded = load_workload(workload)
        with make_progress(stderr) as progress:
            task = progress.add_task("compare", total=len(chosen) * seeds, status="")
            result = run_compare(loaded, chosen, seeds=seeds, epochs=epochs, target=target, out=out,
                                 progress=lambda done, total, label: progress.update(
                                     task, completed=done, total=total, status=label))
    summary = _add_report(result.run_dir, result.to_dict())
    _json_or_render({k: v for k, v in summary.items() if k != "runs"} if as_json else summary,
                    render_compare(summary), as_json)
    _print_report_path(summary, as_json)


@app.command()
@guarded
def tune(
    workload: Path = typer.Argument(..., help="A workload .py file; build_model(hp) defines the search space."),
    trials: Optional[int] = typer.Option(None, "--trials", min=1, help="Finished trials the study should reach (default 20)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Stop starting trials after this many minutes."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL (default sqlite:///.keras-doctor/studies.db)."),
    study: Optional[str] = typer.Option(None, "--study", help="Study name (default: the workload's name)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Local worker processes on the study."),
    objective: Optional[str] = typer.Option(
        None, "--objective", help="Metric to optimize, NAME[:min|max] (default: the validation accuracy "
        "when the model compiles one, else val_loss)."),
    epochs: Optional[int] = EPOCHS,
    out: Optional[Path] = OUT,
    seed: int = SEED,
    as_json: bool = JSON,
):
    """Search hyperparameters with Optuna (TPE + Hyperband pruning); resumable, multi-worker."""
    redirect = _begin(as_json)
    from kerasdoctor.cli.progress import ProgressCallback, make_progress
    from kerasdoctor.report import render_tune
    from kerasdoctor.tune.study import run_tune

    with redirect, make_progress(stderr) as bars:
        task = bars.add_task(f"tune {study or workload.stem}", total=None, status="")
        result = run_tune(
            workload, trials=trials, timeout=timeout, storage=storage, study=study, workers=workers, seed=seed,
            epochs=epochs, out=out, objective=objective,
            progress=lambda done, total, status: bars.update(task, completed=done, total=total, status=status),
            callbacks=[ProgressCallback(bars, "retrain best trial")],
            notify=lambda line: stderr.print(line, highlight=False, soft_wrap=True),
        )
    summary = _add_report(result.run_dir, result.to_dict())
    _json_or_render(summary, render_tune(summary), as_json)
    _print_report_path(summary, as_json)


@app.command()
@guarded
def speed(
    workload: Path = typer.Argument(..., help="A workload .py file, or a .keras model with --data."),
    data: Optional[Path] = typer.Option(None, "--data", help="For a .keras model: .npz with x_train, y_train[, x_val, y_val]."),
    unsafe: bool = typer.Option(False, "--unsafe", help="Allow a .keras file that holds Python code (trusted files only)."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Timing runs per knob, alternating with the baseline."),
    seeds: int = typer.Option(3, "--seeds", min=2, help="Accuracy runs per knob that changes the math."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Epochs of the accuracy runs (default: the workload's FIT)."),
    out: Optional[Path] = OUT,
    as_json: bool = JSON,
):
    """Measure what makes training faster (XLA, batch size, steps per execution, precision) and recommend a setup."""
    redirect = _begin(as_json)
    from kerasdoctor.cli.progress import make_progress
    from kerasdoctor.report.speed import render_speed
    from kerasdoctor.speedup import run_speed
    from kerasdoctor.workload import load_workload

    with redirect:
        loaded = load_workload(workload, data=data, unsafe=unsafe)
        with make_progress(stderr) as progress:
            task = progress.add_task("speed", total=1, status="")
            result = run_speed(loaded, repeats=repeats, seeds=seeds, epochs=epochs, out=out,
                               progress=lambda done, total, label: progress.update(
                                   task, completed=done, total=total, status=label))
    _json_or_render(result.to_dict(), render_speed(result.to_dict()), as_json)


@app.command()
@guarded
def repair(
    workload: Path = typer.Argument(..., help="A workload .py file, or a .keras model with --data."),
    data: Optional[Path] = typer.Option(None, "--data", help="For a .keras model: .npz with x_train, y_train[, x_val, y_val]."),
    unsafe: bool = typer.Option(False, "--unsafe", help="Allow a .keras file that holds Python code (trusted files only)."),
    budget: Optional[float] = typer.Option(None, "--budget", help="Time allowed, in full trainings of the workload (default 3)."),
    minutes: Optional[float] = typer.Option(None, "--minutes", help="Time allowed, in minutes of wall time."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Epochs of a full training (default: the workload's FIT)."),
    seed: int = SEED,
    out: Optional[Path] = OUT,
    as_json: bool = JSON,
):
    """Diagnose, then fix what the diagnosis finds on a copy, verified by retraining."""
    for name, value in (("--budget", budget), ("--minutes", minutes)):
        if value is not None and not value > 0:
            _fail(f"{name} must be a positive number. Received: {name}={value}", 2, as_json)
    redirect = _begin(as_json)
    from kerasdoctor._backends.devices import shared_compilation_cache
    from kerasdoctor.cli.progress import make_progress
    from kerasdoctor.repair import run_repair
    from kerasdoctor.report.repair import render_repair
    from kerasdoctor.workload import load_workload

    # The runs of one repair share their compiled steps (JAX): a candidate that changes the learning
    # rate or an initializer compiles nothing new. Off again, as it was, when the block ends.
    with redirect, shared_compilation_cache():
        loaded = load_workload(workload, data=data, unsafe=unsafe)
        with make_progress(stderr) as progress:
            tasks = {}

            def report(round_number, done, total, label):
                if round_number not in tasks:
                    tasks[round_number] = progress.add_task(f"round {round_number}", total=total, status="")
                progress.update(tasks[round_number], completed=done, total=total, status=label)

            result = run_repair(loaded, budget=budget, minutes=minutes, epochs=epochs, seed=seed, out=out,
                                progress=report)
    summary = result.to_dict()
    _json_or_render(summary, render_repair(summary), as_json)
    if result.status in ("declined", "not_repaired"):
        raise typer.Exit(3)


@app.command()
@guarded
def explain(code: Optional[str] = typer.Argument(None, help="A finding code, e.g. LOSS_DIVERGED.")):
    """Explain a finding code: what it means, why it happens, how to fix it."""
    from kerasdoctor.report import render_explain_list

    if code is None:
        stdout.print(render_explain_list(resources.rule_codes()))
        return
    page = resources.rule_doc(code.upper())
    if page is None:
        known = ", ".join(c for c, _ in resources.rule_codes())
        raise KerasDoctorError(f"Unknown finding code {code!r}. Known codes: {known}.")
    stdout.print(Markdown(page))


def _run_folder(run_dir):
    path = Path(run_dir)
    if not path.is_dir():
        raise KerasDoctorError(f"RUN_DIR must be a run folder of keras-doctor. Received: {path} "
                               f"({'a file' if path.exists() else 'it does not exist'}).")
    return path


@app.command()
@guarded
def report(
    run_dir: Path = typer.Argument(..., help="A run folder (.keras-doctor/runs/...)."),
    open_: bool = typer.Option(False, "--open", help="Open the report in the default web browser."),
):
    """(Re)build RUN_DIR/report.html from the run folder's files alone."""
    from kerasdoctor.report import write_report

    path = write_report(_run_folder(run_dir))
    stdout.print(f"report: {path}", highlight=False, soft_wrap=True)
    if open_:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


export_app = typer.Typer(help="Export a run folder to other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("tensorboard")
@guarded
def export_tensorboard_command(
    run_dir: Path = typer.Argument(..., help="A run folder (.keras-doctor/runs/...)."),
    out: Optional[Path] = typer.Argument(None, help="Folder for the event files (default: RUN_DIR/tensorboard)."),
):
    """Write TensorBoard event files (scalars per epoch and per layer, the findings as text)."""
    from kerasdoctor.report import export_tensorboard

    folder = export_tensorboard(_run_folder(run_dir), out)
    stdout.print(f"TensorBoard events: {folder}\nview them with: tensorboard --logdir {folder} "
                 "(pip install tensorboard)",
                 highlight=False, soft_wrap=True)
