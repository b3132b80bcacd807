"""Runs: a folder per run under reports/, notebooks executed by papermill, HTML copies, latest."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from scoring.config import Params, dump_params

log = logging.getLogger(__name__)

AUDIT_NOTEBOOK = "00_funnel_audit.ipynb"
EXPORT_AUDIT_NOTEBOOK = "00_export_audit.ipynb"
TRAIN_NOTEBOOK = "01_train.ipynb"
EVALUATE_NOTEBOOK = "02_evaluate.ipynb"
EXPLAIN_NOTEBOOK = "03_explain.ipynb"
THRESHOLDS_NOTEBOOK = "04_thresholds.ipynb"
EXPORT_NOTEBOOK = "05_export.ipynb"


def audit_notebook(params: Params) -> str:
    """The audit notebook that fits the input: the full funnel, or what a flat export allows."""
    return EXPORT_AUDIT_NOTEBOOK if params.data.source == "flat" else AUDIT_NOTEBOOK


def pipeline_notebooks(params: Params) -> tuple[str, ...]:
    """The notebooks `leadscore run` executes for these params, in order."""
    return (
        audit_notebook(params),
        TRAIN_NOTEBOOK,
        EVALUATE_NOTEBOOK,
        EXPLAIN_NOTEBOOK,
        THRESHOLDS_NOTEBOOK,
        EXPORT_NOTEBOOK,
    )


# Written beside generated data: the settings it was made with.
SYNTHETIC_STAMP = "synthetic.json"


class NotebookError(RuntimeError):
    """A notebook failed; the message names it, the error, and where the partial copy is."""

    def __init__(self, message: str, error_name: str = "") -> None:
        super().__init__(message)
        self.error_name = error_name


@dataclass(frozen=True)
class RunResult:
    """What a run produced."""

    run_id: str
    run_dir: Path
    notebooks: list[Path]
    html: list[Path]


def notebooks_dir() -> Path:
    """The project's notebooks/ folder (the package is installed editable from the repo)."""
    return Path(__file__).resolve().parents[2] / "notebooks"


def new_run_id(reports_dir: Path, name: str | None = None) -> str:
    """A sortable, unique run id: UTC time, plus the name if one is given."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    suffix = f"-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name).strip('-')}" if name else ""
    run_id = f"{stamp}{suffix}"
    counter = 1
    while (reports_dir / run_id).exists():
        counter += 1
        run_id = f"{stamp}{suffix}-{counter}"
    return run_id


def run_dir(params: Params, run_name: str) -> Path:
    """The folder of a run under data.reports_dir (created if missing)."""
    path = Path(params.data.reports_dir) / run_name
    path.mkdir(parents=True, exist_ok=True)
    return path


def point_latest(reports_dir: Path, run_id: str) -> Path:
    """Make reports/latest a relative symlink to the run, replacing the old one atomically."""
    latest = reports_dir / "latest"
    temporary = reports_dir / f".latest-{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(run_id, target_is_directory=True)
    os.replace(temporary, latest)
    return latest


def export_html(notebook_path: Path) -> Path:
    """An HTML copy of an executed notebook without code, for people who don't read code."""
    import nbformat
    from nbconvert import HTMLExporter

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
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(notebook)
    html_path = notebook_path.with_suffix(".html")
    html_path.write_text(body, encoding="utf-8")
    return html_path


def execute_notebook(
    name: str, params_path: Path, overrides: list[str], run_id: str, output_dir: Path
) -> Path:
    """Execute one notebook with papermill into the run folder; raise NotebookError on failure."""
    import papermill

    source = notebooks_dir() / name
    if not source.is_file():
        raise NotebookError(f"notebook not found: {source}")
    output = output_dir / name
    log.info("executing %s -> %s", name, output)
    try:
        papermill.execute_notebook(
            str(source),
            str(output),
            kernel_name="python3",
            progress_bar=False,
            parameters={
                "params_path": str(params_path),
                "overrides": list(overrides),
                "run_name": run_id,
            },
        )
    except papermill.PapermillExecutionError as err:
        raise NotebookError(
            f"notebook {name} failed in cell {err.exec_count}: {err.ename}: {err.evalue}\n"
            f"The partly executed notebook is at {output}",
            err.ename,
        ) from None
    return output


def run_notebooks(
    params: Params,
    params_path: Path,
    overrides: list[str],
    notebooks: tuple[str, ...],
    run_name: str | None = None,
) -> RunResult:
    """Create a run folder, save the resolved params, execute the notebooks, point latest."""
    reports_dir = Path(params.data.reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    run_id = new_run_id(reports_dir, run_name)
    folder = run_dir(params, run_id)
    (folder / "params.yaml").write_text(dump_params(params), encoding="utf-8")
    executed, pages = [], []
    try:
        for name in notebooks:
            path = execute_notebook(name, params_path.resolve(), overrides, run_id, folder)
            executed.append(path)
            pages.append(export_html(path))
    except NotebookError:
        _close_tracking(params, run_id, folder, "FAILED")
        raise
    if (folder / "thresholds.json").is_file():
        from scoring import report

        try:
            pages.append(report.build(folder))
        except (OSError, KeyError, ValueError) as err:
            _close_tracking(params, run_id, folder, "FAILED")
            raise NotebookError(
                f"building {folder / 'report.html'} failed: {type(err).__name__}: {err}",
                type(err).__name__,
            ) from err
    _close_tracking(params, run_id, folder, "FINISHED")
    point_latest(reports_dir, run_id)
    return RunResult(run_id=run_id, run_dir=folder, notebooks=executed, html=pages)


def _close_tracking(params: Params, run_id: str, folder: Path, status: str) -> None:
    """Attach the run's records to its MLflow run (if a stage made one) and close it."""
    if not any((folder / name).exists() for name in (TRAIN_NOTEBOOK, EVALUATE_NOTEBOOK)):
        return
    from scoring import tracking

    if tracking.find_run(params, run_id) is None:
        return
    records = (
        sorted(folder.glob("*.ipynb"))
        + sorted(folder.glob("*.html"))
        + [
            p
            for p in (
                folder / "metrics.json",
                folder / "funnel.json",
                folder / "params.yaml",
                folder / "training.json",
                folder / "thresholds.json",
                folder / "explain.json",
                folder / "export.json",
            )
            if p.is_file()
        ]
    )
    tracking.log_artifacts(params, run_id, records, folder="run")
    tracking.finish(params, run_id, status)


def _generator_stamp(params: Params) -> str:
    return json.dumps(
        {"seed": params.seed, "generator": params.generator.model_dump(mode="json")}, sort_keys=True
    )


def ensure_synthetic_data(params: Params) -> bool:
    """(Re)generate synthetic data when the source is synthetic and the files are missing or
    were made with other generator settings; return whether it generated."""
    if params.data.source != "synthetic":
        return False
    paths = (params.data.leads_path, params.data.activities_path, params.data.truth_path)
    stamp_path = Path(params.data.raw_dir) / SYNTHETIC_STAMP
    stamp = _generator_stamp(params)
    current = stamp_path.is_file() and stamp_path.read_text(encoding="utf-8") == stamp
    if current and all(p.is_file() for p in paths):
        return False
    generate_synthetic(params)
    return True


def generate_synthetic(params: Params) -> None:
    """Generate the synthetic CRM for params and write it to data.raw_dir."""
    from scoring import synth

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
    )
    (Path(params.data.raw_dir) / SYNTHETIC_STAMP).write_text(
        _generator_stamp(params), encoding="utf-8"
    )
