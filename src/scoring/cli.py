"""The `leadscore` command line. Heavy libraries are imported inside commands so --help is fast."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from scoring.core.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID_INPUT

DEBUG_ENV = "LEADSCORE_DEBUG"
# What the `workbench` extra brings (training, reports, notebooks, MLflow): a command that
# imports one of them without it says how to install it.
WORKBENCH_MODULES = frozenset(
    {
        "sklearn",
        "scipy",
        "shap",
        "optbinning",
        "mlflow",
        "papermill",
        "nbconvert",
        "nbformat",
        "matplotlib",
        "plotly",
        "jinja2",
        "jupyterlab",
        "ipykernel",
    }
)


class _Leadscore(typer.Typer):
    """The app: an error no command turned into a message still ends in one line and exit 1;
    `--debug` (or LEADSCORE_DEBUG=1) shows the Python traceback instead."""

    debug = False

    def __call__(self, *args, **kwargs):
        import os

        try:
            return super().__call__(*args, **kwargs)
        except KeyboardInterrupt:
            if self.debug or os.environ.get(DEBUG_ENV):
                raise
            typer.secho("interrupted", err=True, fg=typer.colors.RED)
            sys.exit(EXIT_INTERRUPTED)
        except Exception as err:
            if self.debug or os.environ.get(DEBUG_ENV):
                raise
            typer.secho(unexpected_message(err), err=True, fg=typer.colors.RED)
            sys.exit(EXIT_FAILED)


def unexpected_message(err: BaseException) -> str:
    """One line for an error no command expected, with what to do about it."""
    import errno

    missing = err.name.split(".")[0] if isinstance(err, ModuleNotFoundError) and err.name else ""
    if missing in WORKBENCH_MODULES:
        # The base install is the lean scoring runtime; this command needs the workbench.
        return (
            f"this command needs {missing}, which a scoring-only install leaves out: "
            "pip install 'leadscore[workbench]' (make setup does)"
        )
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        where = f" writing {err.filename}" if err.filename else ""
        return (
            f"no space left on the device{where}: free some space, or point data.reports_dir, "
            "export.dir and mlflow.artifact_dir at a disk with room, and run again"
        )
    return (
        f"leadscore failed: {type(err).__name__}: {err} (run `leadscore --debug ...` for the "
        "Python traceback)"
    )


app = _Leadscore(
    help="leadscore: funnel audit, lead-scoring models against your rules, MQL thresholds.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _options(
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show Python tracebacks instead of one-line errors."),
    ] = False,
) -> None:
    """leadscore: funnel audit, lead-scoring models against your rules, MQL thresholds."""
    app.debug = debug


ParamsOption = Annotated[Path, typer.Option("--params", "-p", help="Path to params.yaml.")]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", "-s", help="Override a parameter for this run: section.key=value (repeatable)."
    ),
]
TrainedRunOption = Annotated[
    Path | None, typer.Option(help="A trained run's folder (default: reports/latest).")
]
RunNameOption = Annotated[
    str | None,
    typer.Option("--run-name", help="A name appended to the run id (reports/<run_id>/)."),
]


class _PeopleFormatter(logging.Formatter):
    """leadscore's own progress as plain lines; warnings and errors say what and from where."""

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno < logging.WARNING:
            return record.getMessage()
        return f"{record.levelname.lower()} ({record.name}): {record.getMessage()}"


def setup_logging() -> None:
    """Terminal output for people: leadscore's steps, library warnings and errors only."""
    import os

    # MLflow logs its database migrations at INFO and draws a bar per artifact download.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PeopleFormatter())
    # Libraries speak at WARNING and above; leadscore's own steps at INFO.
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    # The terminal shows where a run writes and one line per stage; the stages' own INFO
    # lines (data sizes, validation scores) are in the notebooks and the run's records.
    logging.getLogger("scoring").setLevel(logging.WARNING)
    logging.getLogger("scoring.cli").setLevel(logging.INFO)
    logging.getLogger("scoring.jobs.pipeline").setLevel(logging.INFO)
    # Library warnings (FutureWarning and the like) stay in the notebooks, not on the terminal;
    # nbconvert warns about image alt text.
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.ERROR)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # when it was imported already


def _fail(message: str, code: int) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def _load(params_path: Path, overrides: list[str] | None):
    from scoring.core.config import ParamsError, load_params

    try:
        return load_params(params_path, overrides or [])
    except ParamsError as err:
        raise _fail(str(err), EXIT_INVALID_INPUT) from None


@app.command()
def generate(
    params_path: ParamsOption = Path("params.yaml"),
    overrides: SetOption = None,
    n_leads: Annotated[int | None, typer.Option(help="Leads to generate (default: params)")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: params).")] = None,
) -> None:
    """Generate the synthetic CRM (leads, activities, truth, flat export) into data/raw/."""
    setup_logging()
    extra = [*(overrides or [])]
    if n_leads is not None:
        extra.append(f"generator.n_leads={n_leads}")
    if seed is not None:
        extra.append(f"seed={seed}")
    params = _load(params_path, extra)
    from scoring.jobs.pipeline import generate_synthetic

    generate_synthetic(params)
    typer.echo(f"wrote synthetic CRM to {params.data.raw_dir}")


# Errors raised by bad input rather than by a failing stage (exit code 2), by class name for
# errors raised in a notebook's kernel, where only the name survives.
INPUT_ERRORS = (
    "DataContractError",
    "FlatDataError",
    "ParamsError",
    "BaselineError",
    "PointsError",
)
NotebooksOption = Annotated[
    bool,
    typer.Option(
        "--notebooks/--no-notebooks",
        help="Execute the stage notebooks (HTML pages for people) or run the stages in-process "
        "(faster; for schedulers). The report is built either way.",
    ),
]


def _is_bad_input(err) -> bool:
    from scoring.core.config import ParamsError
    from scoring.data.contract import DataContractError
    from scoring.model.points import PointsError
    from scoring.runtime.rules import BaselineError

    if err.error is not None:
        return isinstance(err.error, DataContractError | ParamsError | BaselineError | PointsError)
    return err.error_name in INPUT_ERRORS


def _run(
    params_path: Path,
    overrides: list[str] | None,
    run_name: str | None,
    only: tuple[str, ...] | None = None,
    notebooks: bool = True,
    based_on: Path | None = None,
):
    setup_logging()
    params = _load(params_path, overrides)
    from scoring.core.config import ParamsError
    from scoring.core.errors import DataContractError
    from scoring.jobs import stages
    from scoring.jobs.pipeline import StageError, ensure_synthetic_data, run_pipeline
    from scoring.runtime.rules import BaselineError

    logging.getLogger(__name__).info(
        "runs go to %s, published models to %s, MLflow to %s",
        params.data.reports_dir,
        params.export.dir,
        params.mlflow.tracking_uri,
    )
    ensure_synthetic_data(params)
    import signal

    # A scheduler stops a job with SIGTERM: end the run's MLflow run as KILLED, not RUNNING.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        result = run_pipeline(
            params,
            params_path,
            overrides or [],
            run_name,
            only=only or stages.STAGES,
            notebooks=notebooks,
            based_on=based_on,
        )
    except StageError as err:
        if app.debug and err.error is not None:
            import traceback

            traceback.print_exception(err.error)
        raise _fail(str(err), EXIT_INVALID_INPUT if _is_bad_input(err) else EXIT_FAILED) from None
    except (DataContractError, BaselineError, ParamsError) as err:  # before anything is written
        raise _fail(str(err), EXIT_INVALID_INPUT) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    typer.echo(f"run {result.run_id}: {result.run_dir}")
    for page in result.html:
        typer.echo(f"  report: {page}")
    return result


@app.command()
def run(
    params_path: ParamsOption = Path("params.yaml"),
    overrides: SetOption = None,
    run_name: RunNameOption = None,
    notebooks: NotebooksOption = True,
) -> None:
    """Run the whole pipeline (generating synthetic data first if needed). The first model
    version becomes the champion when there is none; later ones go through `leadscore retrain`."""
    result = _run(params_path, overrides, run_name, notebooks=notebooks)
    _publish_first(_load(params_path, overrides), result.run_dir)


def _publish_first(params, run_dir: Path) -> None:
    """Make the run's exported version the champion (or candidate) if none exists yet."""
    from scoring.io import runfolder
    from scoring.tracking import registry

    exported = runfolder.RunFolder(run_dir).read(runfolder.EXPORT)
    version = int(exported["version"])
    try:
        alias = registry.adopt_first(params, version)
    except Exception as err:  # the run is complete; only publishing failed
        raise _fail(
            f"run complete, but version {version} could not be published: "
            f"{type(err).__name__}: {err}",
            EXIT_FAILED,
        ) from None
    if alias == "champion":
        typer.echo(f"version {version} is the champion of {params.export.model_name} (the first)")
    elif alias == "candidate":
        typer.echo(
            f"version {version} is the candidate of {params.export.model_name}; after reading "
            f"its report, run: leadscore promote {version}"
        )


# What `leadscore thresholds` may change: settings that do not touch the trained model.
AFTER_TRAINING_SECTIONS = ("thresholds", "points")
AFTER_TRAINING_KEYS = ("export.recalibrate_on_newest",)


@app.command()
def thresholds(
    params_path: ParamsOption = Path("params.yaml"),
    overrides: SetOption = None,
    run_dir: TrainedRunOption = None,
    run_name: RunNameOption = "thresholds",
    notebooks: NotebooksOption = True,
) -> None:
    """Change a threshold policy or the point rules' settings of a trained run and re-run what
    follows from them, consistently: thresholds, point rules, export (a new model version)
    and report, in a new run folder on the same trained model. Only thresholds.*, points.* and
    export.recalibrate_on_newest may be set (--set thresholds.recommended=top_share);
    anything else needs `leadscore run`."""
    from scoring.io.runfolder import LATEST, RunFolder

    params = _load(params_path, [])
    changes = overrides or []
    outside = [
        item
        for item in changes
        if item.split("=", 1)[0].split(".")[0] not in AFTER_TRAINING_SECTIONS
        and item.split("=", 1)[0].strip() not in AFTER_TRAINING_KEYS
    ]
    if outside:
        allowed = ", ".join(
            [*(f"{section}.*" for section in AFTER_TRAINING_SECTIONS), *AFTER_TRAINING_KEYS]
        )
        raise _fail(
            f"leadscore thresholds changes {allowed} only: {', '.join(outside)} changes the "
            "trained model; run `leadscore run --set ...`",
            EXIT_INVALID_INPUT,
        )
    source = (run_dir or Path(params.data.reports_dir) / LATEST).resolve()
    folder = RunFolder(source)
    if folder.missing(
        "training.json", "predictions.parquet", "metrics.json", "features.parquet", "params.yaml"
    ):
        raise _fail(
            f"{source} holds no trained run: run `leadscore run` first, or pass --run-dir",
            EXIT_INVALID_INPUT,
        )
    # The trained run's own resolved params, with the changes: the rest stays as trained.
    result = _run(
        folder.params,
        changes,
        run_name,
        only=("thresholds", "points", "export"),
        notebooks=notebooks,
        based_on=source,
    )
    _publish_first(_load(folder.params, changes), result.run_dir)
    exported = RunFolder(result.run_dir).read("export.json")
    typer.echo(
        f"based on the trained run {source.name}; version {exported['version']} carries the "
        f"new thresholds and rules (to make it the champion: leadscore promote "
        f"{exported['version']})"
    )


@app.command()
def audit(
    params_path: ParamsOption = Path("params.yaml"),
    overrides: SetOption = None,
    run_name: RunNameOption = None,
    notebooks: NotebooksOption = True,
) -> None:
    """Run the funnel audit only (for a flat export: what its fields allow)."""
    _run(params_path, overrides, run_name, only=("audit",), notebooks=notebooks)


@app.command()
def report(
    params_path: ParamsOption = Path("params.yaml"),
    run_dir: Annotated[
        Path | None, typer.Option(help="Run folder (default: reports/latest).")
    ] = None,
) -> None:
    """Rebuild the marketing-ops report (report.html) of the latest run, or of --run-dir."""
    params = _load(params_path, [])
    from scoring.io.runfolder import LATEST
    from scoring.report import report as report_module

    folder = run_dir or Path(params.data.reports_dir) / LATEST
    try:
        path = report_module.build(folder.resolve())
    except FileNotFoundError as err:
        raise _fail(str(err), EXIT_INVALID_INPUT) from None
    typer.echo(f"report: {path}")


@app.command()
def rules(
    params_path: ParamsOption = Path("params.yaml"),
    overrides: SetOption = None,
    run_dir: TrainedRunOption = None,
) -> None:
    """Learn point rules to type into a marketing platform from a trained run: rules chosen on
    the training rows and fitted on every row before the test window, MQL threshold in points
    on validation, figures on test. Writes points_rules.csv, .json and .md into the run folder
    and updates its report."""
    setup_logging()
    params = _load(params_path, overrides)
    from scoring.core.errors import DataContractError
    from scoring.io.runfolder import LATEST, RunFolder
    from scoring.jobs import stages
    from scoring.model.points import PointsError
    from scoring.runtime.rules import BaselineError

    folder = (run_dir or Path(params.data.reports_dir) / LATEST).resolve()
    if not RunFolder(folder).predictions.is_file():
        raise _fail(
            f"{folder} holds no trained run (no {RunFolder(folder).predictions.name}): run "
            "`leadscore run` first, or pass --run-dir",
            EXIT_INVALID_INPUT,
        )
    run = stages.Run(RunFolder(folder))
    try:
        pointed = stages.points(params, run)
    except (PointsError, DataContractError, BaselineError) as err:
        raise _fail(str(err), EXIT_INVALID_INPUT) from None
    for line in pointed.lines:
        typer.echo(line.replace("**", ""))
    typer.echo(pointed.scorecard.table[["kind", "condition", "points"]].to_string(index=False))
    typer.echo(f"rules: {run.folder.points_csv}, {run.folder.points_md.name}")
    if run.folder.artifact.is_dir():
        typer.echo(
            "note: this run's exported model keeps the rules it was exported with; "
            "`leadscore thresholds --set points....` makes a new run and version that agree"
        )
    if run.folder.report.is_file():
        from scoring.report import report as report_module

        typer.echo(f"report: {report_module.build(folder)}")


@app.command("check-data")
def check_data(
    params_path: ParamsOption = Path("params.yaml"), overrides: SetOption = None
) -> None:
    """Validate the input tables against the data contract (data/README.md), or read and type
    a flat export (data.source: flat) and list how each column was read."""
    setup_logging()
    params = _load(params_path, overrides)
    from scoring.data.contract import DataContractError
    from scoring.jobs import inputs

    try:
        typer.echo(inputs.check(params))
    except DataContractError as err:
        raise _fail(str(err), EXIT_INVALID_INPUT) from None


def _load_model(params_path: Path, model: str, workdir: Path):
    """An artifact from a folder or a models:/<name>@<alias> (or /<version>) URI."""
    from scoring.runtime import artifact

    try:
        if model.startswith("models:/"):
            from scoring.tracking import registry

            params = _load(params_path, [])
            folder = registry.download_model(params, model, workdir)
        else:
            folder = Path(model)
        return artifact.load(folder)
    except artifact.ArtifactError as err:
        raise _fail(str(err), EXIT_INVALID_INPUT) from None
    except Exception as err:  # MLflow raises its own exception types for unknown models
        if model.startswith("models:/"):
            raise _fail(f"{model}: {type(err).__name__}: {err}", EXIT_INVALID_INPUT) from None
        raise


class Engine(StrEnum):
    """Where scoring builds features and scores."""

    duckdb = "duckdb"
    spark = "spark"


# The options of `leadscore score`, named once.
ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Artifact folder (artifacts/<name> = its champion) or models:/<name>@champion.",
    ),
]
InputOption = Annotated[
    str | None,
    typer.Option(
        "--input",
        "-i",
        help="Leads (CSV or Parquet) or a flat export; with --engine spark, Parquet at any "
        "path or URI Spark reads.",
    ),
]
OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Scored rows (.csv or .parquet); with --engine spark, a new folder of Parquet "
        "parts named .parquet, at a path or any URI Spark writes (file://, s3a://, abfss://).",
    ),
]
TableOption = Annotated[
    str | None,
    typer.Option(help="With --engine spark: a catalog table (catalog.schema.name), not a file."),
]
ActivitiesOption = Annotated[
    str | None,
    typer.Option(help="Activities file, for models trained on leads and activities."),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(help="Score as of this time (default: the latest timestamp in the input)."),
]
PointsOption = Annotated[
    bool,
    typer.Option(
        "--points",
        help="Add the learned point rules' points (points_fit, points_behaviour, points, "
        "points_mql), to check rules typed into a marketing platform against the file.",
    ),
]
EngineOption = Annotated[
    Engine,
    typer.Option(
        help="duckdb: on this machine, chunk by chunk. spark: leads and activities read, "
        "featured and scored by Spark (the active session, else Spark Connect at "
        "SPARK_REMOTE, else spark.master in params or SPARK_MASTER, else local); needs "
        "pip install '.[spark]' (and Java 17+ for a local Spark).",
    ),
]


@app.command()
def score(
    model: ModelOption,
    input_path: InputOption = None,
    output_path: OutputOption = None,
    activities: ActivitiesOption = None,
    as_of: AsOfOption = None,
    reasons: Annotated[bool, typer.Option(help="Add the top reasons in words.")] = True,
    points: PointsOption = False,
    engine: EngineOption = Engine.duckdb,
    chunk_rows: Annotated[int, typer.Option(help="Rows per chunk.")] = 100_000,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            help="Keep this scoring in a score-history folder (Parquet, one file per scoring "
            "time and model; the same --as-of again replaces its file) and add each lead's "
            "previous_score, score_change and became_mql (an MQL for the first time now, "
            "and not past the outcome or lost by the input's own stage times: the leads to "
            "route to sales within the first-touch SLA).",
        ),
    ] = None,
    as_of_column: Annotated[
        str | None,
        typer.Option(
            "--as-of-column",
            help="An input column with each row's scoring time, for one file of leads scored "
            "at different moments (instead of one --as-of for all).",
        ),
    ] = None,
    excel_safe: Annotated[
        bool,
        typer.Option(
            "--excel-safe/--raw-csv",
            help="CSV output: text cells that a spreadsheet would run as a formula (starting "
            "with = + - @) get a leading quote, as OWASP advises; --raw-csv writes them as they "
            "are, for machine consumers. Parquet is never changed.",
        ),
    ] = True,
    input_table: TableOption = None,
    activities_table: TableOption = None,
    output_table: TableOption = None,
    params_path: ParamsOption = Path("params.yaml"),
) -> None:
    """Score leads with an exported model: probability, score, grade, is_mql and reasons; one
    output row per input row, in order, with an error column for rows that cannot be scored."""
    import pandas as pd  # not at the top: `leadscore --help` stays quick

    setup_logging()
    with tempfile.TemporaryDirectory() as tmp:
        loaded = _load_model(params_path, model, Path(tmp))
        from scoring.runtime.batch import score_file
        from scoring.runtime.inputs import ScoringInputError

        try:
            moment = None if as_of is None else pd.Timestamp(as_of)
        except ValueError:
            raise _fail(f"--as-of {as_of!r} is not a date", EXIT_INVALID_INPUT) from None
        try:
            if engine is Engine.spark and (history is not None or as_of_column is not None):
                raise ScoringInputError(
                    "--history and --as-of-column work with the default engine; with --engine "
                    "spark, give one --as-of and keep the scored folder (Parquet) as history"
                )
            tables = {
                "input_table": input_table,
                "activities_table": activities_table,
                "output_table": output_table,
            }
            if engine is Engine.spark:
                summary = _score_with_spark(
                    params_path,
                    loaded,
                    input_path,
                    output_path,
                    activities,
                    moment,
                    reasons,
                    points,
                    **tables,
                )
            else:
                given = [f"--{k.replace('_', '-')}" for k, v in tables.items() if v]
                if given:
                    raise ScoringInputError(
                        f"{', '.join(given)}: catalog tables are read and written by Spark; "
                        "add --engine spark"
                    )
                if not input_path or not output_path:
                    raise ScoringInputError("leadscore score needs --input and --output")
                summary = score_file(
                    loaded,
                    Path(input_path),
                    Path(output_path),
                    None if activities is None else Path(activities),
                    moment,
                    reasons,
                    chunk_rows,
                    progress,
                    points=points,
                    history_folder=history,
                    excel_safe=excel_safe,
                    as_of_column=as_of_column,
                )
        except ScoringInputError as err:
            raise _fail(str(err), EXIT_INVALID_INPUT) from None
    _print_scored(summary, model, loaded.version, output_table or output_path)


def _print_scored(summary, model: str, version: str, output_path) -> None:
    """What a scoring run did, for people and for the logs of a scheduler."""
    from scoring.runtime import drift

    typer.echo(
        f"scored {summary.scored:,} of {summary.rows:,} rows with {model} "
        f"({version}); {summary.mqls:,} MQLs; {summary.errors:,} rows with an error "
        f"-> {output_path}"
    )
    if getattr(summary, "history", None):
        typer.echo(
            f"  {summary.became_mql:,} leads became MQLs with this scoring; kept in the "
            f"history as {summary.history}"
        )
    for example in summary.error_examples:
        typer.echo(f"  {example}")
    if getattr(summary, "closed", 0):
        typer.echo(
            f"  warning: {summary.closed:,} row(s) had reached the outcome or were lost before "
            f"the scoring time ({', '.join(summary.closed_columns)}); the model learned from "
            "open leads, so their scores are not a chance of converting, and they never "
            "become MQLs to route (a daily job passes open leads)"
        )
    if getattr(summary, "duplicate_ids", 0):
        typer.echo(
            f"  warning: {summary.duplicate_ids:,} row(s) repeat the id of an earlier row; each "
            "is scored as it is, so one lead may have two different scores (a CRM import "
            "keeps one of them). E.g. " + "; ".join(summary.duplicate_examples)
        )
    if summary.ignored_activities:
        typer.echo(f"  {summary.ignored_activities:,} activities belong to no input lead")
    if summary.drift:
        typer.echo("  " + drift.markdown(summary.drift).replace("**", ""))


def _score_with_spark(
    params_path, loaded, input_path, output_path, activities, moment, *flags, **tables
):
    """`score --engine spark`: Spark's master from params, a clear error without Spark."""
    from scoring.data import spark_session as spark_engine
    from scoring.runtime.inputs import ScoringInputError
    from scoring.spark import score as spark_score

    params = _load(params_path, [])
    reason = spark_engine.missing()
    if reason:
        raise _fail(f"--engine spark: {reason}", EXIT_INVALID_INPUT)
    if activities is None and not tables.get("activities_table"):
        raise ScoringInputError(
            f"{loaded.path} scores leads with their activities: pass --activities <path> "
            "(or --activities-table)"
        )
    if not input_path and not tables.get("input_table"):
        raise ScoringInputError("--engine spark needs --input <path or URI> or --input-table")
    return spark_score.score_with_spark(
        loaded,
        input_path,
        output_path,
        activities,
        moment,
        *flags,
        master=params.spark.master,
        **tables,
    )


@app.command()
def retrain(
    params_path: ParamsOption = Path("params.yaml"),
    overrides: SetOption = None,
    run_name: RunNameOption = None,
    notebooks: Annotated[
        bool,
        typer.Option(
            "--notebooks/--no-notebooks",
            help="Also execute the stage notebooks (HTML pages); by default the stages run "
            "in-process, which is faster and keeps real error types.",
        ),
    ] = False,
) -> None:
    """Retrain on current data and promote the challenger only if it passes the gates.

    Exit codes: 0 promoted, 3 champion kept, 4 awaiting approval (retrain.require_approval),
    1 failed, 2 invalid input or params."""
    from scoring.io.runfolder import RunFolder
    from scoring.jobs import retrain as retrain_module

    result = _run(params_path, overrides, run_name or "retrain", notebooks=notebooks)
    params = _load(params_path, overrides)
    run_id, folder = result.run_id, result.run_dir
    try:
        decision = retrain_module.retrain_decision(params, RunFolder(folder))
    except Exception as err:  # a scheduler needs one clear line and exit 1, not a traceback
        raise _fail(f"retrain {run_id} failed: {type(err).__name__}: {err}", EXIT_FAILED) from None
    typer.echo(retrain_module.markdown(decision))
    typer.echo(f"summary: {folder / 'retrain.json'}")
    raise typer.Exit(decision.exit_code)


@app.command()
def promote(
    version: Annotated[int, typer.Argument(help="The registered model version to promote.")],
    params_path: ParamsOption = Path("params.yaml"),
) -> None:
    """Make a registered model version the champion (after reading its report)."""
    params = _load(params_path, [])
    from scoring.runtime.artifact import ArtifactError
    from scoring.tracking import registry

    try:
        registry.promote(params, version, "promoted by hand")
    except ValueError as err:
        raise _fail(f"cannot promote: {err}", EXIT_INVALID_INPUT) from None
    except (ArtifactError, OSError) as err:
        raise _fail(f"cannot promote version {version}: {err}", EXIT_FAILED) from None
    typer.echo(f"version {version} is the champion of {params.export.model_name}")


@app.command()
def rollback(params_path: ParamsOption = Path("params.yaml")) -> None:
    """Restore the previous champion."""
    params = _load(params_path, [])
    from scoring.tracking import registry

    try:
        version = registry.rollback(params)
    except ValueError as err:
        raise _fail(str(err), EXIT_FAILED) from None
    typer.echo(f"version {version} is the champion of {params.export.model_name} again")


@app.command()
def runs(
    params_path: ParamsOption = Path("params.yaml"),
    overrides: SetOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Show this many runs, newest first.")] = 20,
) -> None:
    """List the runs under data.reports_dir, newest first: finished, failed, killed (stopped
    by a signal), stopped (its process vanished) or running, and the model version each
    registered (only finished runs register one)."""
    from scoring.jobs.pipeline import list_runs

    params = _load(params_path, overrides)
    rows = list_runs(Path(params.data.reports_dir))
    if not rows:
        typer.echo(f"no runs in {params.data.reports_dir}")
        return
    typer.echo(f"{'run':<32} {'state':<9} {'ended or started':<26} {'version':<8} detail")
    for row in rows[:limit]:
        version = "-" if row["version"] is None else f"v{row['version']}"
        detail = _short(row["detail"], 100)
        typer.echo(
            f"{row['run']:<32} {row['state']:<9} {row['at'] or '-':<26} {version:<8} {detail}"
        )
    if len(rows) > limit:
        typer.echo(f"... and {len(rows) - limit} older (--limit)")


def _short(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


@app.command()
def params(
    params_path: ParamsOption = Path("params.yaml"),
    overrides: SetOption = None,
    schema: Annotated[bool, typer.Option(help="Print the JSON schema instead.")] = False,
) -> None:
    """Validate params.yaml and print the resolved parameters (or their schema)."""
    from scoring.core.config import Params, dump_params

    if schema:
        typer.echo(json.dumps(Params.model_json_schema(), indent=2))
        return
    typer.echo(dump_params(_load(params_path, overrides)))


if __name__ == "__main__":
    app()
