"""A whole run of an any-age model (label.snapshot_days) on small data: it learns from every
open lead at several ages, its thresholds promise what the daily job makes, and the exported
model scores leads of any age as of the scoring day."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from scoring.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def any_age_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("any-age")
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["generator"]["n_leads"] = 3_000
    raw["models"].update({"bootstrap_samples": 50, "backtest_folds": 0})
    raw["label"].update({"snapshot_days": [0, 1, 3, 7, 14, 30], "snapshots_per_lead": 2})
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(app, ["run", "--params", str(params), "--no-notebooks"])
    assert result.exit_code == 0, result.output
    yield folder, params, (folder / "reports" / "latest").resolve()
    shutil.rmtree(folder, ignore_errors=True)


def test_thresholds_count_mqls_as_the_daily_job_makes_them(any_age_run):
    _, _, run = any_age_run
    saved = json.loads((run / "thresholds.json").read_text())
    assert saved["daily_job"] and saved["mqls_counted"].startswith("the daily job")
    chosen = {p["policy"]: p for p in saved["policies"]}[saved["recommended"]]
    assert chosen["median_days_to_mql"] is not None
    replay = pd.read_parquet(run / "replay.parquet")
    assert set(replay["split"]) == {"valid", "test"}
    training = json.loads((run / "training.json").read_text())
    assert any("any-age model" in note for note in training["notes"])
    html = (run / "report.html").read_text()
    assert "daily scoring job" in html


def test_the_test_window_is_measured_as_the_daily_queue(any_age_run):
    _, _, run = any_age_run
    queue = json.loads((run / "metrics.json").read_text())["daily_queue"]
    assert queue["ages"] == [0.0, 1.0, 3.0, 7.0, 14.0, 30.0]
    assert {b["ages"] for b in queue["bands"]} >= {"0-7 days", "7-14 days"}
    model, rules = queue["queue"]["model_roc_auc"], queue["queue"]["rules_roc_auc"]
    assert model["ci"][0] <= model["value"] <= model["ci"][1]
    assert model["value"] > rules["value"]


def test_the_exported_model_scores_any_age_as_of_the_scoring_day(any_age_run, tmp_path):
    folder, params, run = any_age_run
    preprocessing = json.loads((run / "artifact" / "preprocessing.json").read_text())
    assert preprocessing["tables"]["snapshot_days"] == [0, 1, 3, 7, 14, 30]
    raw = folder / "data" / "raw"
    leads = pd.read_parquet(raw / "leads.parquet")
    # The leads of the ten days before 1 June 2025, scored days and then weeks later.
    recent = leads["created_at"].between("2025-05-22", "2025-06-01")
    leads[recent].to_parquet(tmp_path / "leads.parquet")
    scores = {}
    for as_of in ("2025-06-01", "2025-07-15"):
        out = tmp_path / f"scored-{as_of}.csv"
        result = CliRunner().invoke(
            app,
            [
                "score",
                "--params",
                str(params),
                "--model",
                str(run / "artifact"),
                "--input",
                str(tmp_path / "leads.parquet"),
                "--activities",
                str(raw / "activities.parquet"),
                "--output",
                str(out),
                "--as-of",
                as_of,
                "--no-reasons",
            ],
        )
        assert result.exit_code == 0, result.output
        scores[as_of] = pd.read_csv(out)
        assert len(scores[as_of]) == recent.sum() > 20

    # Six weeks on, the leads still open are older and most have gone quiet: the chance
    # that they convert within the window, and their scores, fall. (A lead that has since
    # converted or been lost is not in the daily queue: its score then says nothing.)
    def open_on(day: str) -> np.ndarray:
        closed = (leads.loc[recent, "sql_at"] < day) | (leads.loc[recent, "lost_at"] < day)
        return (~closed).to_numpy()

    assert open_on("2025-07-15").sum() > 10
    young = scores["2025-06-01"]["probability"][open_on("2025-06-01")]
    old = scores["2025-07-15"]["probability"][open_on("2025-07-15")]
    assert old.mean() < 0.7 * young.mean(), (old.mean(), young.mean())


def test_the_artifact_builds_each_moment_s_features_as_training_did(any_age_run):
    """Leads at other ages than 7 days, scored the way `leadscore score --as-of` builds their
    features from the raw files, get the probabilities of the features training built."""
    import pyarrow as pa

    from scoring.jobs.inputs import read_snapshots
    from scoring.runtime import artifact, batch
    from scoring.runtime.activities import activities_from_table

    folder, _, run = any_age_run
    loaded = artifact.load(run / "artifact")
    snaps = read_snapshots(run / "snapshots.parquet")
    picked = np.flatnonzero((snaps.age_days != 7).to_numpy())[:800]
    ids = snaps.lead_ids.iloc[picked].astype(str)
    raw = folder / "data" / "raw"
    leads = pd.read_parquet(raw / "leads.parquet").set_index("lead_id").loc[ids.to_numpy()]
    leads = leads.reset_index()
    acts = pd.read_parquet(raw / "activities.parquet")
    acts = acts[acts["lead_id"].isin(ids)].reset_index(drop=True)
    indexed = activities_from_table(pa.Table.from_pandas(acts, preserve_index=False), "a")
    as_of = pd.Series(snaps.moment.iloc[picked].to_numpy(), index=leads.index)
    frame, errors = batch.leads_features(leads, indexed, loaded.preprocessing, as_of, "leads")
    assert errors.isna().all()
    trained = snaps.features.iloc[picked][loaded.features].reset_index(drop=True)
    assert np.max(np.abs(loaded.predict_proba(frame) - loaded.predict_proba(trained))) < 1e-9
    assert "lead_age_days" in loaded.features and "lead_age_days" in loaded.profile
