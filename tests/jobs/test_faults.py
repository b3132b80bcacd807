"""Runs that are stopped: the MLflow run ends KILLED (interrupt, SIGTERM) or FAILED (an error),
never RUNNING for good."""

import json
import os
import signal

import mlflow
import pytest
from typer.testing import CliRunner

from scoring.cli import app
from scoring.core.config import load_params
from scoring.jobs import pipeline, stages
from scoring.tracking import runs as tracking


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


def _no_space(*_args, **_kwargs):
    import errno

    raise OSError(errno.ENOSPC, "No space left on device", "scored.csv")


def test_a_full_disk_is_one_line_and_exit_1_and_debug_shows_the_traceback(
    tmp_params, monkeypatch, capsys
):
    from scoring import cli
    from scoring.jobs import pipeline

    monkeypatch.setattr(pipeline, "run_pipeline", _no_space)
    monkeypatch.setattr(cli.app, "debug", False)
    with pytest.raises(SystemExit) as stopped:
        cli.app(["run", "--params", str(tmp_params)], prog_name="leadscore")
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert "no space left on the device writing scored.csv" in err
    assert "Traceback" not in err
    with pytest.raises(OSError, match="No space left"):
        cli.app(["--debug", "run", "--params", str(tmp_params)], prog_name="leadscore")


def test_an_unexpected_error_is_one_line_naming_it(tmp_params, monkeypatch, capsys):
    from scoring import cli
    from scoring.jobs import pipeline

    def broken(*_args, **_kwargs):
        raise RuntimeError("something nobody expected")

    monkeypatch.setattr(pipeline, "run_pipeline", broken)
    monkeypatch.setattr(cli.app, "debug", False)
    with pytest.raises(SystemExit) as stopped:
        cli.app(["run", "--params", str(tmp_params)], prog_name="leadscore")
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert "leadscore failed: RuntimeError: something nobody expected" in err
    assert "--debug" in err and "Traceback" not in err


def test_two_runs_at_once_do_not_collide(tmp_params):
    """A schedule and a person start `leadscore run` at the same moment on a fresh project:
    one generates the data while the other waits, two run folders, two MLflow runs FINISHED,
    reports/latest at a complete run."""
    import subprocess
    import sys
    from pathlib import Path

    from scoring.core.config import load_params
    from scoring.tracking import runs as tracking

    command = [str(Path(sys.executable).parent / "leadscore"), "run", "--no-notebooks"]
    command += ["--params", str(tmp_params), "--set", "models.backtest_folds=0"]
    started = [
        subprocess.Popen(
            command,
            cwd=tmp_params.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in started]
    assert [p.returncode for p in started] == [0, 0], outputs
    reports = tmp_params.parent / "reports"
    folders = sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
    assert len(folders) == 2
    assert all((f / "report.html").is_file() and (f / "export.json").is_file() for f in folders)
    assert (reports / "latest").resolve() in folders
    params = load_params(tmp_params)
    runs = [tracking.find_run(params, f.name) for f in folders]
    assert all(runs) and len(set(runs)) == 2
    client = tracking._client(params.mlflow)
    assert [client.get_run(r).info.status for r in runs] == ["FINISHED", "FINISHED"]
    versions = sorted(p.name for p in (tmp_params.parent / "artifacts" / "leadscore").glob("v*"))
    assert versions == ["v1", "v2"]


def test_a_run_that_fails_after_export_registers_no_version_and_says_so(tmp_params, monkeypatch):
    """Only a run that finished every stage registers a model version; a failed one leaves
    its marker, and `leadscore runs` lists it as failed."""
    params = load_params(tmp_params)
    monkeypatch.chdir(tmp_params.parent)
    pipeline.ensure_synthetic_data(params)

    def broken_report(folder):
        raise pipeline.StageError("report", "building the report failed: disk gone", OSError())

    monkeypatch.setattr(pipeline, "_build_report", broken_report)
    with pytest.raises(pipeline.StageError):
        pipeline.run_pipeline(
            params, tmp_params, [], "late", notebooks=False, progress=lambda _: None
        )
    folder = next((tmp_params.parent / "reports").glob("*-late"))
    assert json.loads((folder / "export.json").read_text())["version"] is None
    assert not list((tmp_params.parent / "artifacts").glob("*/v*"))
    client = mlflow.tracking.MlflowClient(params.mlflow.tracking_uri)
    assert client.search_model_versions() == []
    assert json.loads((folder / "run_status.json").read_text())["state"] == "failed"
    listed = CliRunner().invoke(app, ["runs", "--params", str(tmp_params)])
    assert listed.exit_code == 0, listed.output
    assert folder.name in listed.output and "failed" in listed.output
    assert "disk gone" in listed.output


def test_a_run_killed_outright_is_listed_as_stopped(tmp_path):
    import subprocess
    import sys

    from scoring.io.runfolder import RunFolder

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    folder = RunFolder(tmp_path / "20260101-000000")
    folder.path.mkdir()
    pipeline.write_status(folder, "running")
    document = json.loads(folder.status.read_text())
    folder.write("run_status.json", {**document, "pid": int(gone.stdout)})
    assert pipeline.run_state(folder)["state"] == "stopped"
    pipeline.write_status(folder, "running")  # this process: still going
    assert pipeline.run_state(folder)["state"] == "running"
    assert [r["state"] for r in pipeline.list_runs(tmp_path)] == ["running"]
