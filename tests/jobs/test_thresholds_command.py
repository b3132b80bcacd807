"""`leadscore thresholds`: a policy change re-runs thresholds, point rules, export and report
on the same trained model, in a new run, so the project never contradicts itself."""

import json

import yaml
from typer.testing import CliRunner

from scoring.cli import app
from tests.conftest import flat_project


def test_a_policy_change_is_one_command_and_every_record_agrees(tmp_path, monkeypatch):
    flat_project(tmp_path, "policy")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(app, ["run", "--params", "params.yaml", "--no-notebooks"])
    assert first.exit_code == 0, first.output
    trained = (tmp_path / "reports" / "latest").resolve()

    refused = runner.invoke(
        app, ["thresholds", "--params", "params.yaml", "--set", "models.families=[logistic]"]
    )
    assert refused.exit_code == 2 and "changes the trained model" in refused.output

    args = ["thresholds", "--params", "params.yaml", "--no-notebooks"]
    changed = runner.invoke(
        app,
        [*args, "--set", "thresholds.recommended=top_share", "--set", "points.mql_points=50"],
    )
    assert changed.exit_code == 0, changed.output
    run = (tmp_path / "reports" / "latest").resolve()
    assert run != trained and run.name.endswith("-thresholds")
    read = lambda *p: json.loads(run.joinpath(*p).read_text())  # noqa: E731
    assert read("thresholds.json")["recommended"] == "top_share"
    assert read("points_rules.json")["mql_threshold_points"] == 50
    assert read("artifact", "thresholds.json")["policy"] == "top_share"
    assert read("artifact", "points_rules.json")["mql_threshold_points"] == 50
    assert read("export.json")["version"] == 2
    assert read("run_status.json")["state"] == "finished"
    # The same trained model: its records are the trained run's, untouched.
    assert (
        run.joinpath("training.json").read_bytes() == trained.joinpath("training.json").read_bytes()
    )
    assert "top share" in run.joinpath("report.html").read_text()
    saved = yaml.safe_load(run.joinpath("params.yaml").read_text())
    assert saved["thresholds"]["recommended"] == "top_share"

    empty = tmp_path / "empty"
    empty.mkdir()
    missing = runner.invoke(app, [*args, "--run-dir", str(empty)])
    assert missing.exit_code == 2 and "holds no trained run" in missing.output
