"""Scheduled retraining end to end: approval, promotion, a planted change kept out, rollback."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from scoring.cli import app
from scoring.runtime import artifact

ROOT = Path(__file__).resolve().parents[2]


def plant_label_noise(raw: Path, planted: Path) -> None:
    """A broken CRM migration: in the oldest year, converted and unconverted leads swap."""
    planted.mkdir(parents=True)
    leads = pd.read_parquet(raw / "leads.parquet")
    shutil.copy(raw / "activities.parquet", planted / "activities.parquet")
    old = leads["created_at"] < leads["created_at"].min() + pd.DateOffset(months=14)
    converted = old & leads["sql_at"].notna()
    rng = np.random.default_rng(1)
    others = leads.index[old & leads["sql_at"].isna()]
    fake = rng.choice(others, size=int(converted.sum()), replace=False)
    leads.loc[converted, "sql_at"] = pd.NaT
    leads.loc[fake, "sql_at"] = leads.loc[fake, "created_at"] + pd.Timedelta(days=10)
    leads.to_parquet(planted / "leads.parquet")


@pytest.fixture(scope="module")
def retrains(tmp_path_factory):
    folder = tmp_path_factory.mktemp("retrain")
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["generator"]["n_leads"] = 3_000
    raw["models"]["bootstrap_samples"] = 50
    raw["models"]["backtest_folds"] = 0
    raw["retrain"].update({"min_positives": 15, "max_ece": 0.1})
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    runner = CliRunner()
    base = ["--params", str(params)]
    steps = {}
    # 1. First model, with approval required: it waits as the candidate.
    steps["approval"] = runner.invoke(
        app, ["retrain", *base, "--set", "retrain.require_approval=true"]
    )
    steps["promote"] = runner.invoke(app, ["promote", "1", *base])
    # 2. Same data, no change: the challenger is as good as the champion and is promoted.
    steps["unchanged"] = runner.invoke(app, ["retrain", *base])
    # 3. A planted change (labels garbled in the oldest year): the champion is kept.
    plant_label_noise(folder / "data" / "raw", folder / "data" / "planted")
    steps["planted"] = runner.invoke(
        app, ["retrain", *base, "--set", "data.source=tables", "--set", "data.raw_dir=data/planted"]
    )
    yield folder, steps
    shutil.rmtree(folder, ignore_errors=True)


def decision(folder: Path, run_name: str) -> dict:
    (run,) = sorted((folder / "reports").glob(f"*-{run_name}"))
    return json.loads((run / "retrain.json").read_text())


def models(folder: Path) -> Path:
    return folder / "artifacts" / "leadscore"


def test_approval_then_manual_promotion(retrains):
    folder, steps = retrains
    assert steps["approval"].exit_code == 4, steps["approval"].output
    assert "leadscore promote 1" in steps["approval"].output
    assert steps["promote"].exit_code == 0, steps["promote"].output
    history = [json.loads(line) for line in (models(folder) / "history.jsonl").open()]
    assert [(h["alias"], h["version"]) for h in history[:2]] == [("candidate", 1), ("champion", 1)]


def test_unchanged_data_promotes_and_the_planted_change_keeps_the_champion(retrains):
    folder, steps = retrains
    assert steps["unchanged"].exit_code == 0, steps["unchanged"].output
    assert steps["planted"].exit_code == 3, steps["planted"].output
    runs = sorted((folder / "reports").glob("*-retrain*"))
    promoted = json.loads((runs[1] / "retrain.json").read_text())
    kept = json.loads((runs[2] / "retrain.json").read_text())
    assert promoted["decision"] == "promoted" and promoted["champion_version"] == 1
    assert all(g["passed"] for g in promoted["gates"])
    assert kept["decision"] == "kept" and kept["champion_version"] == 2
    failed = {g["name"] for g in kept["gates"] if not g["passed"]}
    assert "not worse than the champion" in failed
    assert kept["comparison"]["pr_auc"]["challenger"] < kept["comparison"]["pr_auc"]["champion"]
    # The champion link still points at version 2; version 3 is stored but not published.
    assert artifact.load(models(folder)).path.name == "v2"
    assert (models(folder) / "v3" / "manifest.json").is_file()
    assert "drift_found" in kept["drift"] and (runs[2] / "retrain.md").is_file()
    report = (runs[2] / "report.html").read_text()
    assert "Retrain decision: kept" in report and "Has the population moved?" in report


def test_registry_aliases_follow_the_local_links(retrains):
    import mlflow

    folder, _ = retrains
    client = mlflow.tracking.MlflowClient(f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")
    assert str(client.get_model_version_by_alias("leadscore", "champion").version) == "2"
    versions = client.search_model_versions("name = 'leadscore'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3]


def test_the_champion_scores_through_mlflow_pyfunc(retrains, monkeypatch):
    import mlflow.pyfunc

    from scoring.core.config import load_params
    from scoring.jobs import inputs

    folder, _ = retrains
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/leadscore@champion")
    dataset = inputs.load_inputs(load_params(folder / "params.yaml")).dataset
    scored = model.predict(dataset.features.head(50))
    direct = artifact.load(models(folder)).predict_proba(dataset.features.head(50))
    assert np.allclose(scored["probability"], direct, atol=1e-12)
    local = Path(mlflow.artifacts.download_artifacts("models:/leadscore@champion"))
    assert artifact.find_pickles(local) == []


def test_rollback_restores_the_previous_champion(retrains):
    folder, _ = retrains
    params = ["--params", str(folder / "params.yaml")]
    result = CliRunner().invoke(app, ["rollback", *params])
    assert result.exit_code == 0 and "version 1" in result.output
    assert artifact.load(models(folder)).path.name == "v1"
    again = CliRunner().invoke(app, ["rollback", *params])
    assert again.exit_code == 1 and "no previous champion" in again.output
    unknown = CliRunner().invoke(app, ["promote", "42", *params])
    assert unknown.exit_code == 2 and "not a registered version" in unknown.output


def test_an_any_age_challenger_must_be_calibrated_at_every_lead_age():
    from scoring.core.config import Params
    from scoring.jobs import retrain

    params = Params()
    window = pd.DataFrame({"label": [0, 1] * 50, "challenger": [0.1, 0.9] * 50})

    def gate(bands):
        checks = retrain.gates(params, window, None, {"calibration_by_age": bands}, None)
        return {g.name: g for g in checks}.get("calibration by lead age within bounds")

    good = [
        {"ages": "0-7 days", "conversions": 400, "predicted_over_realized": 1.3},
        {"ages": "30-60 days", "conversions": 40, "predicted_over_realized": 0.7},
        {"ages": "60+ days", "conversions": 3, "predicted_over_realized": 30.0},  # too few
    ]
    assert gate(good).passed and "60+" not in gate(good).detail
    stale = [*good[:1], {"ages": "30-60 days", "conversions": 101, "predicted_over_realized": 4.8}]
    assert not gate(stale).passed and "30-60 days 4.80" in gate(stale).detail
    assert gate([]) is None  # a one-moment model has no daily queue
