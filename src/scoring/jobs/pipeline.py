"""Runs: a folder per run under reports/, the stages run in-process or as notebooks executed
by papermill (with HTML copies for people), the report, and reports/latest."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import papermill
from filelock import FileLock
from jinja2 import DictLoader
from jupyter_client.manager import AsyncKernelManager
from nbconvert import HTMLExporter

from scoring.core.config import Params, dump_params
from scoring.data import synth
from scoring.io.files import point_link, write_text_whole
from scoring.io.runfolder import (
    ARTIFACT,
    EXPORT,
    FEATURES,
    LATEST,
    METRICS,
    PARAMS,
    POINTS_CSV,
    POINTS_JSON,
    POINTS_MD,
    PREDICTIONS,
    REPORT,
    RETRAIN,
    RETRAIN_MD,
    STATUS,
    THRESHOLDS,
    TRADEOFF,
    TRAINING,
    RunFolder,
)
from scoring.jobs import export as export_module
from scoring.jobs import inputs, stages
from scoring.report import report
from scoring.tracking import runs as tracking

log = logging.getLogger(__name__)

NOTEBOOKS = {
    "train": "01_train.ipynb",
    "evaluate": "02_evaluate.ipynb",
    "explain": "03_explain.ipynb",
    "thresholds": "04_thresholds.ipynb",
    "points": "05_points.ipynb",
    "export": "06_export.ipynb",
}
AUDIT_NOTEBOOKS = {"tables": "00_funnel_audit.ipynb", "flat": "00_export_audit.ipynb"}
# Where notebooks/ is when the package is not installed from the repo (set it, or use
# --no-notebooks, which needs no notebook).
NOTEBOOKS_ENV = "LEADSCORE_NOTEBOOKS"

# Written beside generated data: the settings it was made with.
SYNTHETIC_STAMP = "synthetic.json"


class StageError(RuntimeError):
    """A stage failed: which one, the message, and the original error (None when it was raised
    in a notebook's kernel, where only its class name, `error_name`, survives)."""

    def __init__(
        self, stage: str, message: str, error: BaseException | None = None, error_name: str = ""
    ) -> None:
        super().__init__(message)
        self.stage = stage
        self.error = error
        self.error_name = error_name or (type(error).__name__ if error is not None else "")


class NotebookError(StageError):
    """A notebook failed; the message names it, the error, and where the partial copy is."""


@dataclass(frozen=True)
class RunResult:
    """What a run produced."""

    run_id: str
    run_dir: Path
    notebooks: list[Path] = field(default_factory=list)
    html: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def notebook_name(params: Params, stage: str) -> str:
    """The notebook of a stage for these params."""
    return AUDIT_NOTEBOOKS[inputs.input_kind(params)] if stage == "audit" else NOTEBOOKS[stage]


def notebooks_dir() -> Path:
    """The project's notebooks/ folder: $LEADSCORE_NOTEBOOKS, or beside src/ in the repo."""
    configured = os.environ.get(NOTEBOOKS_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "notebooks"


def new_run_id(reports_dir: Path, name: str | None = None) -> str:
    """A sortable, unique run id: UTC time, plus the name if one is given."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    suffix = f"-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name).strip('-')}" if name else ""
    run_id, counter = f"{stamp}{suffix}", 1
    while True:
        # Creating the folder claims the id: two runs started in the same second (a schedule
        # and a person) get two folders, never one.
        try:
            (reports_dir / run_id).mkdir(parents=True)
            return run_id
        except FileExistsError:
            counter += 1
            run_id = f"{stamp}{suffix}-{counter}"


def point_latest(reports_dir: Path, run_id: str) -> Path:
    """Make reports/latest a relative symlink to the run, replacing the old one atomically."""
    return point_link(reports_dir / LATEST, run_id)


# JupyterLab's page without what it fetches from a CDN (require.js, MathJax, mermaid): the
# pages have no widgets, maths or diagrams, and must open offline and request nothing.
OFFLINE_TEMPLATE = "leadscore-offline.html.j2"
OFFLINE_PAGE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def export_html(notebook_path: Path) -> Path:
    """An HTML copy of an executed notebook without code, for people who don't read code."""

    notebook = nbformat.read(notebook_path, as_version=4)
    # Library warnings on stderr belong in the executed notebook, not in the people's report.
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.outputs
                if not (o.output_type == "stream" and o.get("name") == "stderr")
            ]
    exporter = HTMLExporter(
        extra_loaders=[DictLoader({OFFLINE_TEMPLATE: OFFLINE_PAGE})],
        template_file=OFFLINE_TEMPLATE,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(notebook)
    html_path = notebook_path.with_suffix(".html")
    write_text_whole(html_path, body)
    return html_path


def execute_notebook(
    stage: str, name: str, params_path: Path, overrides: list[str], run_id: str, output_dir: Path
) -> Path:
    """Execute one stage's notebook with papermill into the run folder; NotebookError on failure."""

    source = notebooks_dir() / name
    if not source.is_file():
        raise NotebookError(
            stage,
            f"notebook not found: {source} (set {NOTEBOOKS_ENV} to the project's notebooks "
            "folder, or run with --no-notebooks)",
        )
    output = output_dir / name
    log.debug("executing %s -> %s", name, output)
    try:
        papermill.execute_notebook(
            str(source),
            str(output),
            kernel_name="python3",
            progress_bar=False,
            parameters={
                "params_path": str(params_path),
                "overrides": list(overrides),
                "run_id": run_id,
            },
            # The kernel's own start-up warnings are not for the person running leadscore.
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            kernel_manager_class=IpcKernelManager,
        )
    except papermill.PapermillExecutionError as err:
        raise NotebookError(
            stage,
            f"stage {stage} ({name}) failed in cell {err.exec_count}: {err.ename}: "
            f"{err.evalue}\nThe executed notebook, up to the failing cell, is at {output}",
            error_name=err.ename,
        ) from None
    return output


class IpcKernelManager(AsyncKernelManager):
    """Notebook kernels reached over Unix sockets in a folder of their own: no TCP port to
    pick, so kernels started side by side (stages, two runs, parallel tests) never race for
    one ("Address already in use"), and nothing listens on the network."""

    def __init__(self, **kwargs) -> None:
        folder = tempfile.mkdtemp(prefix="leadscore-kernel-")
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", os.path.join(folder, "kernel"))
        super().__init__(**kwargs)
        self._socket_folder = folder

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._socket_folder, ignore_errors=True)


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_pipeline(
    params: Params,
    params_path: Path,
    overrides: list[str],
    run_name: str | None = None,
    *,
    only: tuple[str, ...] = stages.STAGES,
    notebooks: bool = True,
    progress: Callable[[str], None] = _stderr,
    based_on: Path | None = None,
) -> RunResult:
    """Create a run folder, save the resolved params, run the stages (as notebooks, with HTML
    pages, or in-process), build the report and point reports/latest at the run.

    In-process, a stage's own exception is kept as StageError.error; MLflow's run ends FAILED
    on an error and KILLED on an interrupt.

    `based_on`: a trained run whose records of the stages not in `only` are copied into the
    new run first (the stages after training re-run on the same model)."""
    # Bad input or rules are refused before anything is written: no run folder, no MLflow run.
    # (An audit alone reads the input itself, and says more about a broken export.)
    loaded = inputs.preflight(params) if "train" in only else None
    # Notebook kernels inherit it: the MLflow run records which process owns it.
    os.environ[tracking.PIPELINE_PID_ENV] = str(os.getpid())
    # Kernels run side by side, each with LightGBM's OpenMP threads. OpenMP's idle threads
    # spin by default, and with more threads than cores they take the cores from the threads
    # doing work: two trainings at once on 2 cores took 12 times as long. Passive idle
    # threads sleep instead (alone, the same speed). A value the user set is kept.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for orphan in tracking.close_orphans(params):
        log.warning("run %s was killed before it ended: its MLflow run is now KILLED", orphan)
    reports_dir = Path(params.data.reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    run_id = new_run_id(reports_dir, run_name)
    run = stages.open_run(params, run_id)
    run.loaded = loaded  # in-process, the stages reuse what the check read
    folder = run.folder
    write_status(folder, "running", stages=list(only))
    folder.params.write_text(dump_params(params), encoding="utf-8")
    if notebooks and loaded is not None:
        # Each notebook is a new process: it reads the input as checked here, not again.
        inputs.save_cache(loaded, params, folder)
    notebook_paths, html_paths, seconds = {}, {}, {}
    progress(f"run {run_id} -> {folder.path}")

    def one(stage: str) -> Path | None:
        started = time.perf_counter()
        if notebooks:
            name = notebook_name(params, stage)
            path = execute_notebook(
                stage, name, params_path.resolve(), overrides, run_id, folder.path
            )
        else:
            path = None
            try:
                getattr(stages, stage)(params, run)
            except Exception as err:
                raise StageError(
                    stage, f"stage {stage} failed: {type(err).__name__}: {err}", err
                ) from err
        seconds[stage] = time.perf_counter() - started
        progress(f"  [{only.index(stage) + 1}/{len(only)}] {stage:<10} {seconds[stage]:6.1f} s")
        return path

    def finished(stage: str, path: Path | None) -> None:
        if path is not None:  # its page is written while later stages run
            notebook_paths[stage], html_paths[stage] = path, export_html(path)

    try:
        if based_on is not None:
            copy_records(RunFolder(based_on), folder, only)
        # Notebooks spend seconds starting a kernel and importing: each starts as soon as the
        # stages whose files it reads have finished, beside the others running. In-process,
        # one at a time: they share the inputs read once.
        _run_as_ready(only, one, finished, side_by_side=notebooks)
        executed = [notebook_paths[s] for s in only if s in notebook_paths]
        pages = [html_paths[s] for s in only if s in html_paths]
        if folder.thresholds.is_file():
            pages.append(_build_report(folder))
        if "export" in only:
            # Only a run that finished every stage (and its report) registers a version; the
            # report is built again to name it.
            export_module.publish(folder, params)
            if folder.thresholds.is_file():
                _build_report(folder)
    except BaseException as err:
        interrupted = isinstance(err, KeyboardInterrupt | SystemExit)
        state = "killed" if interrupted else "failed"
        _close_tracking(params, folder, state.upper())
        write_status(folder, state, stages=list(only), error=f"{type(err).__name__}: {err}")
        raise
    _close_tracking(params, folder, "FINISHED")
    write_status(folder, "finished", stages=list(only), seconds=seconds)
    point_latest(reports_dir, run_id)
    return RunResult(run_id, folder.path, executed, pages, seconds)


# What the stages from thresholds on write: never copied from the run a new one is based on.
LATER_RECORDS = frozenset(
    {
        THRESHOLDS,
        TRADEOFF,
        POINTS_CSV,
        POINTS_JSON,
        POINTS_MD,
        ARTIFACT,
        EXPORT,
        REPORT,
        STATUS,
        PARAMS,
        RETRAIN,
        RETRAIN_MD,
    }
)


def copy_records(source: RunFolder, target: RunFolder, only: tuple[str, ...]) -> None:
    """Copy a trained run's records into a new run, but for what the stages in `only` (and
    the report) will write again, and the notebooks of those stages."""
    missing = source.missing(TRAINING, PREDICTIONS, METRICS, FEATURES)
    if missing:
        raise FileNotFoundError(
            f"{source.path} is not a trained run (no {', '.join(missing)}): run `leadscore run`"
        )

    def redone(name: str) -> bool:
        stem = name.split(".")[0]
        return name in LATER_RECORDS or any(stem.endswith(f"_{stage}") for stage in only)

    for item in source.path.iterdir():
        if redone(item.name) or item.name.startswith("."):
            continue
        if item.is_dir():
            shutil.copytree(item, target.path / item.name, symlinks=False)
        else:
            shutil.copy2(item, target.path / item.name)


def write_status(folder: RunFolder, state: str, **details) -> None:
    """The run's marker (run_status.json): running (with its process and machine, so a run
    killed outright is told from one still going), then finished, failed or killed."""
    document = {
        "state": state,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        **details,
    }
    folder.write(STATUS, document)


def run_state(folder: RunFolder) -> dict:
    """What became of a run: its marker, with a run whose process is gone while its marker
    still says running read as "stopped" (killed outright, e.g. SIGKILL or a power cut)."""
    if not folder.status.is_file():
        return {"state": "unknown", "detail": "no run_status.json (a run from an older version)"}
    try:
        document = folder.read(STATUS)
    except (OSError, ValueError) as err:
        return {"state": "unknown", "detail": f"run_status.json unreadable: {err}"}
    if document.get("state") == "running" and not _alive(document):
        return {**document, "state": "stopped", "detail": "its process is gone"}
    return document


def _alive(document: dict) -> bool:
    if document.get("host") != socket.gethostname():
        return True  # another machine's run: assume it is still going
    try:
        os.kill(int(document["pid"]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, KeyError, TypeError, ValueError):
        return True
    return True


def list_runs(reports_dir: Path) -> list[dict]:
    """Every run folder under reports_dir, newest first, with its state and model version."""
    rows = []
    for path in sorted(reports_dir.iterdir(), reverse=True) if reports_dir.is_dir() else []:
        if not path.is_dir() or path.is_symlink() or path.name.startswith("."):
            continue
        folder = RunFolder(path)
        state = run_state(folder)
        version = None
        if folder.export.is_file():
            with contextlib.suppress(OSError, ValueError):
                version = folder.read(EXPORT).get("version")
        rows.append(
            {
                "run": path.name,
                "state": state["state"],
                "at": state.get("at"),
                "version": version,
                "detail": state.get("detail") or state.get("error") or "",
            }
        )
    return rows


def _run_as_ready(
    only: tuple[str, ...],
    one: Callable[[str], Path | None],
    finished: Callable[[str, Path | None], None],
    *,
    side_by_side: bool,
) -> None:
    """Run the stages, each as soon as the stages it needs have finished (side by side, or
    one at a time in order); `finished` is called in this thread as each one ends. After a
    failure no stage starts; the running ones end, then the error of the first failed stage
    in order is raised."""
    if not side_by_side:
        for stage in only:
            finished(stage, one(stage))
        return
    done: set[str] = set()
    errors: dict[str, BaseException] = {}
    with ThreadPoolExecutor(max_workers=len(only)) as pool:
        running: dict = {}

        def start() -> None:
            for stage in stages.ready(only, done):
                if stage not in running.values():
                    running[pool.submit(one, stage)] = stage

        start()
        while running:
            ended, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in ended:
                stage = running.pop(future)
                if future.exception() is not None:
                    errors[stage] = future.exception()
                else:
                    done.add(stage)
                    finished(stage, future.result())
            if not errors:
                start()
    if errors:
        raise errors[min(errors, key=only.index)]


def _build_report(folder: RunFolder) -> Path:

    try:
        return report.build(folder.path)
    except (OSError, KeyError, ValueError) as err:
        raise StageError(
            "report", f"building {folder.report} failed: {type(err).__name__}: {err}", err
        ) from err


def _close_tracking(params: Params, folder: RunFolder, status: str) -> None:
    """Attach the run's records to its MLflow run (if a stage made one) and close it."""
    if not folder.training.exists():
        return  # the train stage opens the MLflow run; before it there is nothing to close
    if tracking.find_run(params, folder.run_id) is None:
        return
    tracking.log_artifacts(params, folder.run_id, folder.records(), folder="run")
    tracking.finish(params, folder.run_id, status)


def _generator_stamp(params: Params) -> str:
    return json.dumps(
        {"seed": params.seed, "generator": params.generator.model_dump(mode="json")}, sort_keys=True
    )


def ensure_synthetic_data(params: Params) -> bool:
    """(Re)generate synthetic data when the source is synthetic and the files are missing or
    were made with other generator settings; return whether it generated."""
    if not inputs.is_synthetic(params):
        return False

    paths = (params.data.leads_path, params.data.activities_path, params.data.truth_path)
    raw = Path(params.data.raw_dir)
    raw.mkdir(parents=True, exist_ok=True)
    stamp_path = raw / SYNTHETIC_STAMP
    stamp = _generator_stamp(params)
    # Two runs starting on a fresh clone: one generates, the other waits and reuses the data.
    with FileLock(raw / ".generate.lock"):
        current = stamp_path.is_file() and stamp_path.read_text(encoding="utf-8") == stamp
        if current and all(p.is_file() for p in paths):
            return False
        generate_synthetic(params)
        return True


def generate_synthetic(params: Params) -> None:
    """Generate the synthetic CRM for params and write it to data.raw_dir."""

    log.info(
        "generating %d synthetic leads (seed %d) into %s",
        params.generator.n_leads,
        params.seed,
        params.data.raw_dir,
    )
    crm = synth.generate(params.generator, params.seed)
    synth.write(
        crm,
        params.data.leads_path,
        params.data.activities_path,
        params.data.truth_path,
        params.data.export_path,
        params.data.spend_path,
        params.data.target_accounts_path,
    )
    (Path(params.data.raw_dir) / SYNTHETIC_STAMP).write_text(
        _generator_stamp(params), encoding="utf-8"
    )
