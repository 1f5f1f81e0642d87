"""Hyperparameter search on Optuna: TPE sampling, Hyperband pruning, any Optuna storage.

keras-doctor writes no sampler, pruner or scheduler: Optuna's TPESampler proposes,
HyperbandPruner stops poor trials early from the validation metric reported every
epoch, and the storage (SQLite by default, PostgreSQL or a journal file across
machines) is where workers meet. Trials that die with their process (SIGKILL, a lost
machine) stop sending heartbeats; Optuna marks them failed and
``RetryFailedTrialCallback`` queues them again, so running the same command resumes.
"""

import csv
import logging
import math
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras

from kerasdoctor.errors import KerasDoctorError
from kerasdoctor.files import RUNS_ROOT, run_folder, write_json
from kerasdoctor.runlog import to_jsonable
from kerasdoctor.tune.hp import DefaultHyperParameters, TrialHyperParameters
from kerasdoctor.tune.objective import logged_as, objective_metric, parse_objective
from kerasdoctor.tune.space import recompile, reinitialize
from kerasdoctor.workload.source import describe_error

logger = logging.getLogger(__name__)
DEFAULT_STORAGE = RUNS_ROOT.parent / "studies.db"
HEARTBEAT_SECONDS = 5
GRACE_SECONDS = 15
DEFAULT_TRIALS = 20
FAILURES_BEFORE_STOP = 3  # failed trials, with none finished, after which the workload counts as broken
DEFAULT_SPACE = {
    "learning_rate": (1e-4, 1e-1),
    "optimizer": ["adam", "adamw", "rmsprop", "momentum", "radam"],
    "batch_size": [16, 32, 64, 128],
    "initializer": ["glorot_uniform", "he_normal", "lecun_normal"],
}
DEFAULT_SPACE_NOTE = ("{build} defines no hyperparameter: searching the default space "
                      "(learning_rate, optimizer, initializer, and batch_size when load_data() returns arrays).")


def _optuna():
    try:
        import optuna
    except ImportError:
        raise KerasDoctorError('Tuning needs Optuna: pip install "keras-doctor[tune]" (in a clone of keras-doctor: '
                               'pip install ".[tune]"; or pip install optuna).') from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def masked(url):
    """The storage URL with any password replaced by ***."""
    if "://" in url and "@" in url.split("://", 1)[1]:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
    return url


def open_storage(url=None):
    """An Optuna storage from a URL: sqlite/postgresql/mysql (with heartbeats, so dead trials
    are failed and retried), or ``journal:PATH`` / a ``.log`` file (JournalStorage)."""
    optuna = _optuna()
    import warnings

    # Heartbeats and the retry callback are marked experimental; they are what makes resume work.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if url is None:
        DEFAULT_STORAGE.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DEFAULT_STORAGE}"
    try:
        if url.startswith("journal:") or url.endswith(".log"):
            from optuna.storages.journal import JournalFileBackend

            path = url.removeprefix("journal:")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            return url, optuna.storages.JournalStorage(JournalFileBackend(path))
        if url.split(":", 1)[0].split("+", 1)[0] in ("sqlite", "postgresql", "mysql"):
            storage = optuna.storages.RDBStorage(
                url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3),
                engine_kwargs={"pool_pre_ping": True} if not url.startswith("sqlite") else None,
            )
            return url, storage
    except Exception as error:
        raise KerasDoctorError(f"Could not open the Optuna storage {masked(url)}: "
                               f"{type(error).__name__}: {str(error).splitlines()[0]}") from None
    raise KerasDoctorError(
        "--storage must be an Optuna storage URL: sqlite:///FILE.db, postgresql://USER:PASSWORD@HOST/DB, "
        f"mysql://..., or journal:FILE.log. Received: storage={masked(url)}")


class TrialFailed(Exception):
    """A trial whose model could not be built or trained: Optuna records it as failed (FAIL)."""


def apply_default_space(model, hp, x_batch, seed, *, batch_sizes=True):
    """The space used when build_model defines no hyperparameter: learning rate, optimizer,
    initializer (and batch size in fit, unless ``batch_sizes`` is False: a pipeline makes its own batches)."""
    low, high = DEFAULT_SPACE["learning_rate"]
    learning_rate = hp.Float("learning_rate", low, high, sampling="log", default=1e-3)
    optimizer = hp.Choice("optimizer", DEFAULT_SPACE["optimizer"], default="adam")
    initializer = hp.Choice("initializer", DEFAULT_SPACE["initializer"], default="glorot_uniform")
    if batch_sizes:
        hp.Choice("batch_size", DEFAULT_SPACE["batch_size"], default=32)
    reinitialize(model, initializer, x_batch=x_batch, seed=seed)
    return recompile(model, optimizer=optimizer, learning_rate=learning_rate)


def build_for(workload, hp, data, seed, *, default_space=False):
    """A fresh model for ``hp`` (in the default space when ``default_space``) and the batch size to train it with."""
    model = workload.build_model(hp)  # a build_model() without hp is called without it
    if default_space:
        model = apply_default_space(model, hp, data.input_head(seed=seed), seed, batch_sizes=not data.is_pipeline)
    batch_size = hp.values.get("batch_size", workload.fit["batch_size"])
    return model, int(batch_size)


class _Reporter(keras.callbacks.Callback):
    """Reports the objective to the trial every epoch; stops a pruned trial."""

    def __init__(self, trial, metric, direction):
        super().__init__()
        self.trial, self.metric, self.direction = trial, metric, direction
        self.values, self.pruned, self.logged_as = [], False, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.logged_as = self.logged_as or logged_as(self.metric, logs)
        if self.logged_as is None:
            raise KerasDoctorError(
                f"The workload's fit logs no {self.metric} (it logs {', '.join(sorted(logs))}); choose one "
                "with --objective NAME[:min|max], and give the workload validation data for val_ metrics.")
        value = float(logs[self.logged_as])
        self.values.append(value)
        if not math.isfinite(value):
            self.model.stop_training = True
            return
        self.trial.report(value, epoch)
        # Not after the last epoch: Hyperband's rungs can fall on it, and a trial that trained
        # every epoch has its final value; pruning it then would only hide that value.
        if epoch + 1 < self.params.get("epochs", 0) and self.trial.should_prune():
            self.pruned = True
            self.model.stop_training = True


@dataclass
class Settings:
    """What every worker needs: picklable, so worker processes can rebuild the study."""

    workload_path: str
    storage_url: str | None
    study_name: str
    trials: int | None
    timeout_minutes: float | None
    seed: int
    epochs: int | None
    data_path: str | None = None
    unsafe: bool = False
    objective: str | None = None


def _best(values, direction):
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return float("nan")
    return max(finite) if direction == "maximize" else min(finite)


@dataclass
class _Search:
    """One worker's view of the search: the workload, its objective and the study."""

    workload: object
    study: object
    metric: str
    direction: str
    default_space: bool  # build_model defines no hyperparameter: keras-doctor's space is searched


def make_objective(search, data, epochs, seed):
    optuna = _optuna()
    workload, metric, direction = search.workload, search.metric, search.direction

    def objective(trial):
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed + trial.number)
        hp = TrialHyperParameters(trial)
        reporter = _Reporter(trial, metric, direction)
        started = time.perf_counter()
        try:
            model, batch_size = build_for(workload, hp, data, seed + trial.number, default_space=search.default_space)
            batching = {} if data.is_pipeline else {"batch_size": batch_size}
            model.fit(**data.fit_arguments(), epochs=epochs, verbose=0, callbacks=[reporter], **batching)
        except KerasDoctorError:  # the workload or the objective is wrong for every trial: stop
            raise
        except Exception as error:  # this trial's settings cannot train: it fails, the study goes on
            trial.set_user_attr("error", describe_error(error))
            raise TrialFailed(describe_error(error)) from None  # Optuna logs it with the trial's parameters
        trial.set_user_attr("epochs", len(reporter.values))
        trial.set_user_attr("seconds", time.perf_counter() - started)
        trial.set_user_attr("worker", os.getpid())
        if reporter.pruned:
            raise optuna.TrialPruned()
        return _best(reporter.values, direction)

    return objective


def _load(settings):
    from kerasdoctor.workload import load_workload

    return load_workload(settings.workload_path, data=settings.data_path, unsafe=settings.unsafe)


def _study(settings, direction, worker=0):
    optuna = _optuna()
    _, storage = open_storage(settings.storage_url)
    sampler = optuna.samplers.TPESampler(seed=settings.seed + 7919 * worker)
    return optuna.create_study(
        storage=storage, study_name=settings.study_name, direction=direction, sampler=sampler,
        pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource="auto", reduction_factor=3),
        load_if_exists=True,
    )


def _probe(workload):
    """The model with every hyperparameter at its default, and whether build_model defines any."""
    hp = DefaultHyperParameters()
    model = workload.build_model(hp)  # a build_model() without hp is called without it
    return model, workload.accepts_hp and bool(hp.values)


def _join(settings, worker=0, workload=None):
    """Loads the workload, reads its objective and joins (or creates) the study."""
    workload = workload or _load(settings)
    keras.utils.set_random_seed(settings.seed)
    probe, defines_space = _probe(workload)
    metric, direction = objective_metric(probe, settings.objective)
    study = _study(settings, direction, worker)
    if study.direction.name.lower() != direction:
        raise KerasDoctorError(
            f"The study {settings.study_name!r} in this storage {study.direction.name.lower()}s, but this "
            f"workload's {metric} must be {direction}d. Use another --study name.")
    study.set_user_attr("metric", metric)
    return _Search(workload, study, metric, direction, default_space=not defines_space)


def work(settings, worker=0, progress=None, search=None):
    """One worker: joins the study (unless given ``search``) and runs trials until the budget is used."""
    search = search or _join(settings, worker)
    study = search.study
    if settings.trials is not None and _finished(study) >= settings.trials:
        return search
    data = search.workload.load_data(settings.seed)
    epochs = settings.epochs or search.workload.fit["epochs"]
    callbacks = [_stop_when_done(settings.trials)]
    if progress is not None:
        progress(_finished(study), settings.trials, _status(study, search.metric))
        callbacks.append(lambda study, trial: progress(_finished(study), settings.trials,
                                                       _status(study, search.metric, trial)))
    timeout = settings.timeout_minutes * 60 if settings.timeout_minutes else None
    objective = make_objective(search, data, epochs, settings.seed)
    study.optimize(objective, n_trials=None if settings.trials is not None else (None if timeout else DEFAULT_TRIALS),
                   timeout=timeout, callbacks=callbacks, catch=(TrialFailed,), gc_after_trial=True)
    return search


def _failed(trial):
    """Whether the trial ran and failed (not a trial whose worker died: Optuna retries those)."""
    return trial.state.name == "FAIL" and "error" in trial.user_attrs


def _finished(study):
    return sum(t.state.name in ("COMPLETE", "PRUNED") or _failed(t) for t in study.get_trials(deepcopy=False))


def _complete(trials):
    return [t for t in trials if t.state.name == "COMPLETE" and t.value is not None and math.isfinite(t.value)]


def _best_trial(trials, direction):
    """The complete trial with the best finite value, or None."""
    complete = _complete(trials)
    if not complete:
        return None
    return (max if direction == "maximize" else min)(complete, key=lambda t: t.value)


def _status(study, metric, trial=None):
    """One short line for a progress bar: the last trial's state and the best value so far."""
    best = _best_trial(study.get_trials(deepcopy=False), study.direction.name.lower())
    parts = [] if trial is None else [f"trial {trial.number} {trial.state.name.lower()}"]
    if best is not None:
        parts.append(f"best {metric}={best.value:.4g}")
    return "; ".join(parts)


def _stop_when_done(trials):
    """Stops the study when ``trials`` trials have finished or failed, or when the first
    FAILURES_BEFORE_STOP trials all failed (the workload itself cannot train)."""

    def callback(study, trial):
        everything = study.get_trials(deepcopy=False)
        failed = sum(_failed(t) for t in everything)
        finished = sum(t.state.name in ("COMPLETE", "PRUNED") for t in everything)
        if (trials is not None and finished + failed >= trials) or (failed >= FAILURES_BEFORE_STOP and not finished):
            study.stop()

    return callback


def _worker_main(settings, worker):
    import kerasdoctor  # noqa: F401  (backend choice before keras)

    try:
        work(settings, worker)
    except KerasDoctorError as error:
        logger.error("worker %d: %s", worker, error)
        raise SystemExit(1) from None


@dataclass
class TuneResult:
    study: str
    storage: str
    metric: str
    direction: str
    best_params: dict
    best_value: float
    n_complete: int
    n_pruned: int
    n_failed: int
    run_dir: Path
    importance: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)
    best_model: str | None = None
    epochs_total: int = 0
    note: str | None = None  # what the user should know: the default space searched, nothing left to do

    def _repr_html_(self):
        from kerasdoctor.report.notebook import notebook_html

        return notebook_html(self.run_dir)

    def to_dict(self):
        return to_jsonable({
            "study": self.study, "storage": self.storage, "metric": self.metric, "direction": self.direction,
            "best_params": self.best_params, "best_value": self.best_value, "n_complete": self.n_complete,
            "n_pruned": self.n_pruned, "n_failed": self.n_failed, "run_dir": str(self.run_dir),
            "importance": self.importance, "best_model": self.best_model, "epochs_total": self.epochs_total,
            "findings": [f.to_dict() for f in self.findings], "note": self.note,
        })


def _nothing_to_do(search, trials):
    """The line that says the study already has ``trials`` finished trials, or None."""
    best = _best_trial(search.study.get_trials(deepcopy=False), search.direction)
    finished = _finished(search.study)
    if trials is None or finished < trials or best is None:
        return None
    return f"nothing to do: the study already has {finished} finished trials (best value {best.value:.4g}); " \
           "ask for more with --trials."


def run_tune(workload_path, *, trials=None, timeout=None, storage=None, study=None, workers=1, seed=0,
             epochs=None, out=None, data=None, unsafe=False, progress=None, callbacks=(), notify=None,
             retrain=True, objective=None):
    """Searches hyperparameters for a workload file and writes the results to a run folder.

    ``objective`` is 'NAME[:min|max]', a metric that fit logs; by default the validation
    accuracy when the model compiles one, else the validation loss. ``progress(done, total,
    status)`` is called as trials finish (``total`` is None with only a timeout);
    ``callbacks`` are Keras callbacks for the retraining of the best trial; ``notify(line)``
    gets what the user should know before the search (also the summary's ``note``). A study
    that already has ``trials`` finished trials is not searched nor retrained again.
    """
    _optuna()  # one clear line when Optuna is not installed
    if trials is not None and trials < 1:
        raise KerasDoctorError(f"--trials must be a positive integer. Received: trials={trials}")
    if timeout is not None and not timeout > 0:
        raise KerasDoctorError(f"--timeout must be a positive number of minutes. Received: timeout={timeout}")
    if workers < 1:
        raise KerasDoctorError(f"--workers must be a positive integer. Received: workers={workers}")
    if trials is None and timeout is None:
        trials = DEFAULT_TRIALS
    if objective is not None:
        parse_objective(objective)  # a bad objective is one line before any training
    workload = _load(Settings(str(workload_path), None, "", None, None, seed, None, data, unsafe))
    url, _ = open_storage(storage)  # fail early on a bad URL
    settings = Settings(str(Path(workload_path)), url, study or workload.name, trials, timeout, seed, epochs,
                        None if data is None else str(data), unsafe, objective)
    search = _join(settings, 0, workload)
    done = _nothing_to_do(search, trials)
    note = done
    if done is None and search.default_space:
        note = DEFAULT_SPACE_NOTE.format(build="build_model(hp)" if workload.accepts_hp else "build_model()")
    if note is not None and notify is not None:
        notify(note)
    with run_folder(f"tune-{workload.name}", out) as run_dir:
        if done is None:
            _search(settings, search, workers, progress)
        found = _study(settings, search.direction)  # every worker's trials
        return _write_results(found, settings, search, run_dir, retrain=retrain and done is None,
                              callbacks=callbacks, note=note)


def _search(settings, search, workers, progress):
    """Runs the trials: this process and ``workers - 1`` helper processes on the same study."""
    context = multiprocessing.get_context("spawn")
    helpers = [context.Process(target=_worker_main, args=(settings, index), daemon=False)
               for index in range(1, workers)]
    for helper in helpers:
        helper.start()
    try:
        work(settings, 0, progress, search)
    finally:
        for helper in helpers:
            helper.join()
    failed_workers = [h.exitcode for h in helpers if h.exitcode]
    if failed_workers:
        logger.warning("%d worker process(es) exited with an error", len(failed_workers))


def _write_results(study, settings, search, run_dir, *, retrain, callbacks, note):
    optuna = _optuna()
    states = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    best = _best_trial(trials, search.direction)
    if best is None:
        errors = [t.user_attrs["error"] for t in trials if "error" in t.user_attrs]
        raise KerasDoctorError(
            f"No trial of study {settings.study_name!r} completed (pruned: "
            f"{sum(t.state == states.PRUNED for t in trials)}, failed: {sum(t.state == states.FAIL for t in trials)})"
            + (f"; the last one failed with {errors[-1]}" if errors else "")
            + ". Run more trials, or check the workload with keras-doctor check.")
    _write_trials(run_dir / "trials.csv", trials)
    importance = {}
    if len(_complete(trials)) >= 2:
        try:
            importance = {k: float(v) for k, v in optuna.importance.get_param_importances(study).items()}
        except (RuntimeError, ValueError) as error:
            logger.info("parameter importance skipped: %s", error)
    write_json(run_dir / "best_params.json", best.params)
    write_json(run_dir / "importance.json", importance)
    result = TuneResult(
        study=settings.study_name, storage=masked(settings.storage_url), metric=search.metric,
        direction=search.direction, best_params=dict(best.params), best_value=float(best.value),
        n_complete=sum(t.state == states.COMPLETE for t in trials),
        n_pruned=sum(t.state == states.PRUNED for t in trials),
        n_failed=sum(t.state == states.FAIL for t in trials), run_dir=run_dir, importance=importance,
        epochs_total=int(sum(t.user_attrs.get("epochs", 0) for t in trials)), note=note,
    )
    if retrain:
        result.findings, result.best_model = _retrain(search, best, settings, run_dir, callbacks)
        study.set_user_attr("best_model", {"trial": best.number, "path": str(Path(result.best_model).resolve())})
    else:
        result.best_model = _saved_best_model(study, best)
    write_json(run_dir / "summary.json", result.to_dict())
    return result


def _saved_best_model(study, best):
    """The model an earlier run saved for the best trial, when it is still there."""
    saved = study.user_attrs.get("best_model") or {}
    if saved.get("trial") == best.number and Path(saved.get("path", "")).is_file():
        return saved["path"]
    return None


def _write_trials(path, trials):
    names = sorted({name for t in trials for name in t.params})
    temporary = path.with_suffix(".tmp")
    with open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "state", "value", "epochs", "seconds", *names])
        for t in trials:
            writer.writerow([t.number, t.state.name, t.value, t.user_attrs.get("epochs"),
                             t.user_attrs.get("seconds"), *[t.params.get(n) for n in names]])
    os.replace(temporary, path)


def _retrain(search, best, settings, run_dir, callbacks=()):
    """Trains the best parameters again with the Monitor, saves the model and diagnoses the run."""
    import optuna

    from kerasdoctor.checkup import run_check
    from kerasdoctor.workload.loader import Workload

    workload = search.workload
    data = workload.load_data(settings.seed)

    def build():
        hp = TrialHyperParameters(optuna.trial.FixedTrial(best.params))
        model, _ = build_for(workload, hp, data, settings.seed + best.number, default_space=search.default_space)
        return model

    batch_size = int(best.params.get("batch_size", workload.fit["batch_size"]))
    fit = dict(workload.fit, batch_size=batch_size, epochs=settings.epochs or workload.fit["epochs"])
    again = Workload(workload.path, name=f"{workload.name}-best", build=build,
                     load=lambda: (data.train, data.validation), fit=fit, accepts_hp=False)
    result = run_check(again, seed=settings.seed + best.number, out=run_dir / "best", callbacks=callbacks)
    path = run_dir / "best_model.keras"
    result.model.save(path)
    return result.findings, str(path)
