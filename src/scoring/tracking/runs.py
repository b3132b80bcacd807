"""MLflow at the edge: one MLflow run per pipeline run, found again by its leadscore run id.

The tracking URI comes from MLFLOW_TRACKING_URI when set, else from params (default a sqlite
file under mlruns/, never MLflow's own default, which MLflow 3 no longer keeps as plain files).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

from filelock import FileLock

from scoring.core.config import MlflowParams, Params

log = logging.getLogger(__name__)

RUN_TAG = "leadscore.run_id"
# The process running a pipeline (set by pipeline.run_pipeline, inherited by notebook kernels)
# and its host: a RUNNING MLflow run whose process is gone was killed.
PIPELINE_PID_ENV = "LEADSCORE_PIPELINE_PID"
PID_TAG, HOST_TAG = "leadscore.pipeline_pid", "leadscore.host"


def tracking_uri(params: MlflowParams) -> str:
    """The URI in force: the environment's, else the one in params."""
    return os.environ.get("MLFLOW_TRACKING_URI") or params.tracking_uri


_READY: set[str] = set()  # tracking URIs whose database this process has seen created


def _client(params: MlflowParams):
    # An explicit client, never mlflow.set_tracking_uri: that also sets MLFLOW_TRACKING_URI in
    # the environment, which would then override the params of every later run in the process.
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(params)
    if not uri.startswith("sqlite:///") or uri in _READY:
        return MlflowClient(tracking_uri=uri)
    client = _create_database(uri, Path(uri.removeprefix("sqlite:///")))
    _READY.add(uri)
    return client


def _create_database(uri: str, database: Path):
    """A client of a SQLite tracking database, created and migrated under a file lock: the
    client migrates the database as it starts, and two runs starting at once on a fresh
    project would both migrate it and one would fail."""

    from mlflow.tracking import MlflowClient

    database.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(database.with_name(f".{database.name}.lock")):
        client = MlflowClient(tracking_uri=uri)
        client.search_registered_models(max_results=1)  # the registry's tables too
    return client


def already_exists(err: Exception) -> bool:
    """Whether an MLflow error says the thing exists (another process just created it)."""
    return getattr(err, "error_code", "") == "RESOURCE_ALREADY_EXISTS" or "already exists" in str(
        err
    )


def _experiment_id(client, params: MlflowParams) -> str:
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(params.experiment)
    if experiment is not None:
        return experiment.experiment_id
    artifacts = Path(params.artifact_dir)
    artifacts.mkdir(parents=True, exist_ok=True)
    try:
        return client.create_experiment(params.experiment, artifact_location=artifacts.as_uri())
    except MlflowException as err:  # created by a run that started at the same time
        if not already_exists(err):
            raise
        return client.get_experiment_by_name(params.experiment).experiment_id


def git_commit() -> str:
    """The project's current commit (or 'unknown' outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent,
            check=True,
            timeout=10,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def find_run(params: Params, run_id: str) -> str | None:
    """The MLflow run of this pipeline run, if a stage has created one."""
    client = _client(params.mlflow)
    experiment = client.get_experiment_by_name(params.mlflow.experiment)
    if experiment is None:
        return None
    found = client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.`{RUN_TAG}` = '{run_id}'", max_results=1
    )
    return found[0].info.run_id if found else None


def run_for(params: Params, run_id: str) -> str:
    """The MLflow run of this pipeline run, created with the resolved params on first use."""
    existing = find_run(params, run_id)
    if existing:
        return existing
    client = _client(params.mlflow)
    experiment_id = _experiment_id(client, params.mlflow)
    tags = {RUN_TAG: run_id, "git_commit": git_commit()}
    if os.environ.get(PIPELINE_PID_ENV):
        tags.update({PID_TAG: os.environ[PIPELINE_PID_ENV], HOST_TAG: socket.gethostname()})
    run = client.create_run(experiment_id, run_name=run_id, tags=tags)
    flat = flatten(params.model_dump(mode="json"))
    client.log_batch(run.info.run_id, params=[_param(k, v) for k, v in flat.items()])
    log.info("MLflow run %s at %s", run.info.run_id, tracking_uri(params.mlflow))
    return run.info.run_id


def _param(key: str, value: Any):
    from mlflow.entities import Param

    return Param(key, str(value)[:6000])


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys; lists stay whole values."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def log_metrics(params: Params, run_id: str, metrics: dict[str, float]) -> None:
    """Numeric metrics (None and NaN skipped) on the pipeline's MLflow run."""
    from mlflow.entities import Metric

    client = _client(params.mlflow)
    mlflow_run = run_for(params, run_id)
    clean = [
        Metric(k.replace("@", "_at_"), float(v), 0, 0)
        for k, v in metrics.items()
        if isinstance(v, int | float) and v == v
    ]
    for start in range(0, len(clean), 900):
        client.log_batch(mlflow_run, metrics=clean[start : start + 900])


def log_tags(params: Params, run_id: str, tags: dict[str, str]) -> None:
    client = _client(params.mlflow)
    mlflow_run = run_for(params, run_id)
    for key, value in tags.items():
        client.set_tag(mlflow_run, key, value)


def log_artifacts(
    params: Params, run_id: str, paths: list[Path | str], folder: str | None = None
) -> None:
    """Files to the MLflow run's artifacts (missing files are skipped with a warning)."""
    client = _client(params.mlflow)
    mlflow_run = run_for(params, run_id)
    for path in map(Path, paths):
        if path.is_file():
            client.log_artifact(mlflow_run, str(path), artifact_path=folder)
        else:
            log.warning("not logged to MLflow, missing: %s", path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def close_orphans(params: Params) -> list[str]:
    """End as KILLED the MLflow runs a pipeline on this host left RUNNING when its process was
    killed (SIGKILL, a lost machine); returns their leadscore run ids. Runs started by hand in
    JupyterLab carry no pipeline pid and are left alone."""
    client = _client(params.mlflow)
    experiment = client.get_experiment_by_name(params.mlflow.experiment)
    if experiment is None:
        return []
    running = client.search_runs(
        [experiment.experiment_id], filter_string="attributes.status = 'RUNNING'"
    )
    closed = []
    for run in running:
        tags = run.data.tags
        pid, host = tags.get(PID_TAG), tags.get(HOST_TAG)
        if pid and host == socket.gethostname() and not _alive(int(pid)):
            client.set_terminated(run.info.run_id, status="KILLED")
            closed.append(tags.get(RUN_TAG, run.info.run_id))
    return closed


def finish(params: Params, run_id: str, status: str = "FINISHED") -> None:
    """Mark the pipeline's MLflow run finished (or FAILED)."""
    client = _client(params.mlflow)
    client.set_terminated(run_for(params, run_id), status=status)
