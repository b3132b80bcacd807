from scoring.core.config import load_params
from scoring.tracking import runs as tracking


def test_run_is_created_once_and_found_again(tmp_params, monkeypatch):
    params = load_params(tmp_params)
    assert params.mlflow.tracking_uri == f"sqlite:///{tmp_params.parent / 'mlruns' / 'mlflow.db'}"
    assert tracking.find_run(params, "run-a") is None
    first = tracking.run_for(params, "run-a")
    assert tracking.run_for(params, "run-a") == first
    assert tracking.run_for(params, "run-b") != first
    tracking.log_metrics(params, "run-a", {"lightgbm.test.roc_auc": 0.8, "skipped": float("nan")})
    tracking.finish(params, "run-a")
    import mlflow

    run = mlflow.tracking.MlflowClient(params.mlflow.tracking_uri).get_run(first)
    assert run.data.metrics == {"lightgbm.test.roc_auc": 0.8}
    assert run.data.params["generator.n_leads"] == "2000"
    assert run.data.tags["leadscore.run_id"] == "run-a" and run.info.status == "FINISHED"


def test_environment_uri_wins(tmp_params, monkeypatch, tmp_path):
    uri = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert tracking.tracking_uri(load_params(tmp_params).mlflow) == uri


def test_tracking_leaves_the_environment_alone(tmp_params):
    import os

    tracking.run_for(load_params(tmp_params), "run-env")
    assert "MLFLOW_TRACKING_URI" not in os.environ


def test_runs_left_running_by_a_dead_pipeline_are_closed_as_killed(tmp_params, monkeypatch):
    """kill -9 leaves an MLflow run RUNNING; the next run closes it. Runs of a live process,
    and runs started by hand (no pipeline pid), are left alone."""
    import subprocess
    import sys

    import mlflow

    params = load_params(tmp_params)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    monkeypatch.setenv(tracking.PIPELINE_PID_ENV, dead.stdout.strip())
    killed = tracking.run_for(params, "killed-run")
    import os

    monkeypatch.setenv(tracking.PIPELINE_PID_ENV, str(os.getpid()))
    alive = tracking.run_for(params, "live-run")
    monkeypatch.delenv(tracking.PIPELINE_PID_ENV)
    by_hand = tracking.run_for(params, "lab")
    assert tracking.close_orphans(params) == ["killed-run"]
    client = mlflow.tracking.MlflowClient(params.mlflow.tracking_uri)
    status = {r: client.get_run(r).info.status for r in (killed, alive, by_hand)}
    assert status == {killed: "KILLED", alive: "RUNNING", by_hand: "RUNNING"}
