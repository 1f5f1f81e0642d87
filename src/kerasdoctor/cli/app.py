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

from kerasdoctor import _backend, resources
from kerasdoctor.errors import KerasDoctorError

app = typer.Typer(
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
    stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


def guarded(command):
    """Turns KerasDoctorError (and any surprise) into one red line and exit 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            _error("interrupted.")
            raise typer.Exit(130) from None
        except KerasDoctorError as error:
            if _options["debug"]:
                raise
            _error(str(error))
            raise typer.Exit(1) from None
        except Exception as error:
            if _options["debug"]:
                raise
            _error(f"unexpected {type(error).__name__}: {error}. Run again with --debug for the traceback.")
            raise typer.Exit(1) from None

    return wrapper


@app.callback()
def options(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")):
    _options["debug"] = debug


def _exit_code(findings, fail_on):
    if fail_on is FailOn.never:
        return 0
    from kerasdoctor.diagnose import severity_rank

    threshold = severity_rank(fail_on.value)
    return 3 if any(severity_rank(f.severity) >= threshold for f in findings) else 0


def _check(workload_path, *, data, unsafe, epochs, batch_size, out, seed, as_json, fail_on):
    backend = _backend.require()
    from kerasdoctor.checkup import run_check
    from kerasdoctor.cli.progress import ProgressCallback, make_progress
    from kerasdoctor.report import render_check
    from kerasdoctor.workload import load_workload

    stderr.print(f"keras-doctor: using the [bold]{backend}[/] backend", highlight=False)
    # A workload that prints must not break the one JSON object on stdout.
    redirect = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with redirect:
        workload = load_workload(workload_path, data=data, unsafe=unsafe)
        with make_progress(stderr) as progress:
            result = run_check(
                workload, epochs=epochs, batch_size=batch_size, out=out, seed=seed,
                callbacks=[ProgressCallback(progress, f"check {workload.name}")],
            )
    summary = result.to_dict()
    if as_json:
        print(json.dumps(summary))
    else:
        for renderable in render_check(summary, result.log):
            stdout.print(renderable)
            stdout.print()
    if result.error:
        _error(f"{result.error}. The findings above explain it (the log is in {result.run_dir}).")
        raise typer.Exit(1)
    raise typer.Exit(_exit_code(result.findings, fail_on))


EPOCHS = typer.Option(None, "--epochs", min=1, help="Train this many epochs (default: the workload's FIT).")
BATCH = typer.Option(None, "--batch-size", min=1, help="Batch size (default: the workload's FIT).")
OUT = typer.Option(None, "--out", help="Run folder (default: .keras-doctor/runs/<time>-<name>).")
SEED = typer.Option(0, "--seed", help="Seed for weights, the validation split and the probe batch.")
JSON = typer.Option(False, "--json", help="Print one JSON object on stdout and nothing else.")
FAIL_ON = typer.Option(FailOn.never, "--fail-on", help="Exit 3 when a finding is at least this severe.")


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
