"""`leadscore thresholds`: a policy change re-runs thresholds, point rules, export and report
on the same trained model, in a new run, so the project never contradicts itself."""

import json

import yaml
from typer.testing import CliRunner

from scoring.cli import app
from tests.conftest import flat_project


def _trained(folder, monkeypatch, model_name: str, rows: int = 1500):
    """A flat project in `folder` (the working folder) with one trained run: (runner, run)."""
    flat_project(folder, model_name, rows=rows)
    monkeypatch.chdir(folder)
    runner = CliRunner()
    first = runner.invoke(app, ["run", "--params", "params.yaml", "--no-notebooks"])
    assert first.exit_code == 0, first.output
    return runner, (folder / "reports" / "latest").resolve()


def test_a_policy_change_is_one_command_and_every_record_agrees(tmp_path, monkeypatch):
    runner, trained = _trained(tmp_path, monkeypatch, "policy")

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


def test_recalibrating_on_the_newest_leads_keeps_the_same_mqls_under_new_probabilities(
    tmp_path, monkeypatch
):
    import pandas as pd

    from scoring.runtime import artifact, batch

    runner, trained = _trained(tmp_path, monkeypatch, "recalibrated", rows=2000)
    changed = runner.invoke(
        app,
        [
            "thresholds",
            "--params",
            "params.yaml",
            "--no-notebooks",
            "--set",
            "export.recalibrate_on_newest=true",
        ],
    )
    assert changed.exit_code == 0, changed.output
    run = (tmp_path / "reports" / "latest").resolve()
    # Regression: re-run from the trained run's saved params (which name every setting),
    # defaulted settings read as given and the recommendation moved to another policy.
    recommended = [
        json.loads(folder.joinpath("thresholds.json").read_text())["recommended"]
        for folder in (trained, run)
    ]
    assert recommended[0] == recommended[1]
    newest = json.loads(run.joinpath("export.json").read_text())["recalibrated_on_newest"]
    assert set(newest) >= {"a", "b", "rows", "mean_probability_recalibrated"}
    assert newest["a"] < 0  # monotone: every lead keeps its rank
    calibration = json.loads(run.joinpath("artifact", "calibration.json").read_text())
    assert calibration["newest"] == {"a": newest["a"], "b": newest["b"]}
    assert json.loads(run.joinpath("export.json").read_text())["max_difference_vs_run"] <= 1e-9

    outputs = {}
    for name, folder in (("trained", trained), ("recalibrated", run)):
        batch.score_file(
            artifact.load(folder / "artifact"),
            tmp_path / "export.csv",
            tmp_path / f"{name}.csv",
            reasons=False,
            progress=False,
        )
        outputs[name] = pd.read_csv(tmp_path / f"{name}.csv")
    before, after = outputs["trained"], outputs["recalibrated"]
    assert len(before) == len(after) == 2000
    assert (before["is_mql"] == after["is_mql"]).all() and before["is_mql"].any()
    assert not before["probability"].equals(after["probability"])
    assert before["probability"].rank().equals(after["probability"].rank())
    page = run.joinpath("report.html").read_text()
    assert "recalibrated" in page and "In your CRM the recommended threshold reads score" in page
    assert (
        "Recalibrated on the newest labelled leads"
        in run.joinpath("artifact", "model_card.md").read_text()
    )
