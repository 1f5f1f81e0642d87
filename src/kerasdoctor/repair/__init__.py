"""``repair``: turn a diagnosis into a verified fix, on a copy of the workload.

```python
import kerasdoctor
result = kerasdoctor.repair("train.py")        # or a Workload
result.repaired, result.changes, result.before, result.after
```

``Change``, ``apply`` and ``plan`` are the public pieces: ``repaired_workload.py`` (written to
the run folder) applies the accepted changes to the user's own workload through ``apply``.
"""

import shutil
import sys
import time
import types
from pathlib import Path

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.files import run_folder, write_atomic, write_json
from kerasdoctor.repair.changes import Change, apply, apply_to_fit, apply_to_model, dumps, loads
from kerasdoctor.repair.loop import (
    DEFAULT_BUDGET, MAX_ROUNDS, OVER_BUDGET, RepairResult, _Loop, _loss_changed, _summary, Budget, fixes_only_despite,
    judge, to_fix,
)
from kerasdoctor.repair.planners import decline_reason, facts_from_log, plan
from kerasdoctor.repair.workload_copy import repaired_workload_source


def _load(workload, data, unsafe):
    from kerasdoctor.workload import load_workload
    from kerasdoctor.workload.loader import Workload

    if isinstance(workload, Workload):
        return workload
    return load_workload(workload, data=data, unsafe=unsafe)


def run_repair(workload, *, budget=None, minutes=None, seed=0, out=None, progress=None, max_rounds=MAX_ROUNDS,
               epochs=None):
    """Repairs a loaded ``Workload``; see ``repair``."""
    if max_rounds < 1:
        raise KerasDoctorError(f"max_rounds must be at least 1. Received: max_rounds={max_rounds}")
    if epochs is not None and epochs < 1:
        raise KerasDoctorError(f"--epochs must be a positive integer. Received: epochs={epochs}")
    allowed = Budget(multiple=budget, minutes=minutes)
    epochs = epochs or workload.fit["epochs"]
    with run_folder(f"{workload.name}-repair", out) as run_dir:
        loop = _Loop(workload, epochs=epochs, seed=seed, run_dir=Path(run_dir), budget=allowed,
                     progress=progress, max_rounds=max_rounds)
        original, final, final_judged, changes, improved, decline = loop.run()
    if not original.finished:  # paused at the horizon and no candidate beat it: train it out
        original.go_on()
    before_judged = judge(original.snapshot(), metric=loop.objective)
    before = _summary(before_judged, original, to_fix(before_judged))
    before["at_horizon"], before["horizon_epochs"] = loop.original_at_horizon.value, original.horizon
    after = None
    if improved:
        after = _summary(final_judged, final)
        after["at_horizon"], after["horizon_epochs"] = loop.final_at_horizon.value, final.horizon
    manual = None
    if decline:
        status, manual = "declined", decline
        message = f"repair cannot fix this: {decline}"
    elif not before_judged.blocking and not improved:
        status = "healthy"
        despite = sorted({f.code for f in before_judged.findings if (f.evidence or {}).get("trained_despite")})
        message = ("The workload trains well" + (f" despite {', '.join(despite)}" if despite else "")
                   + ": nothing to repair, nothing changed.")
        if _out_of_time(loop.candidates):
            message += " Its fix was not tried: the time budget ran out first."
    elif improved and not final_judged.blocking and _beats(final_judged, before_judged, changes):
        # The first round's winner beat the original at the same horizon, same seed, by more than
        # the noise; later ones kept up with it; and the full run beats the original's.
        status = "repaired"
        message = (f"Repaired with {len(changes)} change(s): {final_judged.metric} {_fmt(before_judged.value)} "
                   f"(the original, {before_judged.epochs} epoch(s)) -> {_fmt(final_judged.value)} "
                   f"({final_judged.epochs} epochs{_early(after, before_judged)}).")
        gain = final_judged.better_than(before_judged)
        held = gain is not None and gain <= max(final_judged.noise, before_judged.noise)
        if fixes_only_despite(changes) and held and not _loss_changed(changes, final_judged.metric):
            codes = ", ".join(sorted({c.why for c in changes}))
            message += f" It fixes {codes}: the outputs now fit the loss, and the metric holds within the noise."
    else:
        status = "not_repaired"
        remaining = final_judged.blocking if improved else before_judged.blocking
        first = remaining[0] if remaining else None
        manual = first.fix if first is not None else None
        if not loop.candidates:
            tried = "no change in repair's reach addresses it"
        elif _out_of_time(loop.candidates):
            tried = ("the time budget ran out before any candidate could train; a larger --budget or "
                     "--minutes gives them room")
        else:
            tried = "no candidate cleared it"
        message = f"Not repaired: {first.code if first else 'the problem'} remains ({tried})."
        if improved and remaining:
            message += " " + _partial_gain(changes, before_judged, final_judged)
        if improved and not remaining:
            message = (f"Not repaired: the changes clear the findings, but {final_judged.metric} "
                       f"{_fmt(final_judged.value)} does not beat the original's {_fmt(before_judged.value)} by more "
                       "than the noise.")
            first = before_judged.blocking[0] if before_judged.blocking else None
            manual = first.fix if first is not None else None
        if manual:
            message += f" By hand: {manual}"
    result = RepairResult(str(workload.path), run_dir, status, message,
                          list(changes) if status == "repaired" else [], before, after, loop.candidates,
                          manual, allowed.elapsed, loop.horizon,
                          model=final.result.model if status == "repaired" and final.result else None)
    _write(result, workload, original, final if status == "repaired" else None)
    return result


def _out_of_time(candidates):
    """Whether there were candidates and the time budget left room for none of them."""
    return bool(candidates) and all(c.verdict == "skipped" and c.note == OVER_BUDGET for c in candidates)


def _partial_gain(changes, before, after):
    """One sentence on what the changes of a repair that was not accepted did do: the user may
    want them anyway, by hand."""
    codes = ", ".join(sorted({f.code for f in after.blocking}))
    return (f"The best changes found ({'; '.join(c.describe() for c in changes)}) took {after.metric} from "
            f"{_fmt(before.value)} to {_fmt(after.value)}, but the run still shows {codes}, so no repaired "
            "copy was written.")


def _beats(after, before, changes):
    """Whether the repaired full run beats the original's by more than the noise of either (a
    change of loss makes the two losses incomparable: then the findings decided). Changes that
    only fix an output that does not fit its loss (``FIXED_DESPITE``) need only hold the metric
    within the noise."""
    if _loss_changed(changes, after.metric):
        return True
    gain = after.better_than(before)
    noise = max(after.noise, before.noise)
    return gain is not None and (gain >= -noise if fixes_only_despite(changes) else gain > noise)


def _early(after, before):
    """Where the original stopped at its horizon and the winner went on: the winner's metric at
    that horizon, the like-for-like figure beside the original's."""
    horizon = after.get("horizon_epochs")
    if after.get("at_horizon") is None or not horizon or before.epochs != horizon or after["epochs"] <= horizon:
        return ""
    return f"; {_fmt(after['at_horizon'])} after {horizon}"


def _fmt(value):
    return "n/a" if value is None else f"{value:.4g}"


def _write(result, workload, original, final):
    run_dir = Path(result.run_dir)
    write_atomic(run_dir / "changes.json", dumps(result.changes) + "\n")
    for name, training in (("before", original), ("after", final)):
        source = Path(training.out) / "runlog.jsonl" if training is not None else None
        if source is not None and source.exists():
            shutil.copyfile(source, run_dir / f"{name}.runlog.jsonl")
    if result.repaired:
        if result.model is not None:
            result.model.save(run_dir / "repaired.keras")
        if Path(workload.path).is_file():
            write_atomic(run_dir / "repaired_workload.py", repaired_workload_source(workload, result.changes))
    write_json(run_dir / "repair.json", result.to_dict())


def repair(workload, *, data=None, unsafe=False, budget=None, minutes=None, seed=0, out=None, progress=None,
           max_rounds=MAX_ROUNDS, epochs=None):
    """The ``repair`` verb in Python.

    Trains the workload (a file, a ``.keras`` model with ``data``, or a ``Workload``) under
    ``check`` to a short horizon, plans changes for what the diagnosis finds, and tries them one
    by one on copies: the first that clears the finding and beats the original after as many
    epochs by more than the noise trains on to the full epochs, and is accepted when that run has
    no warning or error. ``budget`` is in full trainings of the original (default 3),
    ``minutes`` in wall time. Returns a ``RepairResult``.

    On JAX, the runs share their compiled steps through a compilation cache of their own (a
    temporary folder, removed at the end; a cache this process already set is used as it is).
    """
    from kerasdoctor._backends.devices import shared_compilation_cache

    with shared_compilation_cache():
        loaded = _load(workload, data, unsafe)
        started = time.perf_counter()
        result = run_repair(loaded, budget=budget, minutes=minutes, seed=seed, out=out, progress=progress,
                            max_rounds=max_rounds, epochs=epochs)
        result.seconds = time.perf_counter() - started
    return result


class _CallableModule(types.ModuleType):
    """``kerasdoctor.repair(...)`` runs the verb; ``kerasdoctor.repair.Change`` and the rest stay
    reachable as attributes of the package."""

    def __call__(self, *args, **kwargs):
        return repair(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["Change", "DEFAULT_BUDGET", "RepairResult", "apply", "apply_to_fit", "apply_to_model", "decline_reason",
           "dumps", "facts_from_log", "loads", "plan", "repair", "run_repair"]
