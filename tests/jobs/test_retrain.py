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
    """The registered model is a LoggedModel with a signature and an example in the CRM's
    language: leads with their activities in, the same scores as `leadscore score` out."""
    import mlflow.pyfunc

    from scoring import runtime
    from scoring.runtime import serving

    folder, _ = retrains
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/leadscore@champion")
    info = model.metadata.get_model_info()
    assert info.model_id and info.signature.params is not None
    assert [c.name for c in info.signature.inputs.inputs][:2] == ["lead_id", "created_at"]
    assert "activities" in info.signature.inputs.input_names()
    raw = folder / "data" / "raw"
    leads = pd.read_parquet(raw / "leads.parquet").head(60)
    activities = pd.read_parquet(raw / "activities.parquet")
    activities = activities[activities["lead_id"].isin(leads["lead_id"])]
    as_of = str(leads["created_at"].max() + pd.Timedelta(days=7))
    columns = [c.name for c in info.signature.inputs.inputs if c.name != "activities"]
    served = serving.with_activities(leads[columns], activities)
    scored = model.predict(served, params={"as_of": as_of, "reasons": False})
    direct = runtime.score(models(folder), leads, activities, as_of=as_of)
    assert scored["lead_id"].tolist() == leads["lead_id"].astype(str).tolist()
    assert np.allclose(scored["probability"], direct["probability"], atol=1e-12)
    assert scored["reason_up_1"].isna().all() and direct["reason_up_1"].notna().any()
    local = Path(mlflow.artifacts.download_artifacts("models:/leadscore@champion"))
    assert artifact.find_pickles(local) == []
    example = json.loads((local / "serving_input_example.json").read_text())
    assert example["params"]["as_of"] and example["dataframe_split"]["data"]


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


def test_mlflow_models_serve_answers_as_leadscore_scores(retrains, tmp_path, monkeypatch):
    """The README's serving example: `mlflow models serve` on the champion alias, called with
    the model's own input example, gives the probabilities of `leadscore score`."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    import mlflow.artifacts

    from scoring import runtime
    from scoring.runtime import serving

    folder, _ = retrains
    uri = f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    local = Path(mlflow.artifacts.download_artifacts("models:/leadscore@champion"))
    body = (local / "serving_input_example.json").read_bytes()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bin_dir = Path(sys.executable).parent
    environment = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    server = subprocess.Popen(
        [str(bin_dir / "mlflow"), "models", "serve", "-m", "models:/leadscore@champion",
         "--env-manager", "local", "-p", str(port), "-h", "127.0.0.1"],
        env=environment, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-3000:]
                time.sleep(0.5)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        answer = json.loads(urllib.request.urlopen(request, timeout=60).read())["predictions"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    example = json.loads(body)
    frame = pd.DataFrame(
        example["dataframe_split"]["data"], columns=example["dataframe_split"]["columns"]
    )
    leads, activities = serving.split_activities(frame)
    leads["created_at"] = pd.to_datetime(leads["created_at"])
    direct = runtime.score(models(folder), leads, activities, as_of=example["params"]["as_of"])
    assert [row["lead_id"] for row in answer] == direct["lead_id"].tolist()
    assert np.allclose([row["probability"] for row in answer], direct["probability"], atol=1e-12)
    assert [row["reason_up_1"] for row in answer] == direct["reason_up_1"].tolist()
