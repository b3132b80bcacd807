"""Runs that are stopped: the MLflow run ends KILLED (interrupt, SIGTERM) or FAILED (an error),
never RUNNING for good."""

import os
import signal

import mlflow
import pytest
from typer.testing import CliRunner

from scoring import pipeline, stages
from scoring.cli import app
from scoring.config import load_params
from scoring.io import tracking


@pytest.mark.parametrize(
    ("error", "status"), [(KeyboardInterrupt, "KILLED"), (RuntimeError, "FAILED")]
)
def test_a_stopped_run_ends_its_mlflow_run(tmp_params, monkeypatch, error, status):
    params = load_params(tmp_params)
    monkeypatch.chdir(tmp_params.parent)
    pipeline.ensure_synthetic_data(params)

    def stopped(params, run):
        raise error("stopped here")

    monkeypatch.setattr(stages, "evaluate", stopped)
    with pytest.raises((error, pipeline.StageError)):
        pipeline.run_pipeline(
            params,
            tmp_params,
            [],
            "stopped",
            only=("train", "evaluate"),
            notebooks=False,
            progress=lambda _: None,
        )
    run_id = next((tmp_params.parent / "reports").glob("*-stopped")).name
    client = mlflow.tracking.MlflowClient(params.mlflow.tracking_uri)
    assert client.get_run(tracking.find_run(params, run_id)).info.status == status
    assert not (tmp_params.parent / "reports" / "latest").exists()  # never points at it


def test_sigterm_stops_a_run_through_the_interrupt_path(tmp_params, monkeypatch):
    """A scheduler's SIGTERM becomes SystemExit inside the run (so the MLflow run ends KILLED),
    and the handler is put back afterwards."""

    def terminated(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not stop the run")

    monkeypatch.setattr(pipeline, "run_pipeline", terminated)
    monkeypatch.setattr(pipeline, "ensure_synthetic_data", lambda params: False)
    before = signal.getsignal(signal.SIGTERM)
    result = CliRunner().invoke(app, ["run", "--params", str(tmp_params), "--no-notebooks"])
    assert result.exit_code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before
