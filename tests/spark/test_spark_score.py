"""`leadscore score --engine spark` scores as the default engine does, row for row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from scoring.cli import app
from scoring.data import spark_session as spark_engine
from tests.runtime.test_score import score_cli, tables_model  # noqa: F401  (tables_model: the fixture)

pytestmark = pytest.mark.skipif(
    spark_engine.missing() is not None,
    reason=f"Spark tests skipped: {spark_engine.missing()}",
)
LAKE = {"coerce_timestamps": "us", "allow_truncated_timestamps": True}


def _score(artifact_dir, leads, activities, output, *extra):
    result = score_cli(artifact_dir, leads, activities, output, *extra)
    assert result.exit_code == 0, result.output
    return result.output


def test_spark_scores_equal_the_default_engine_row_for_row(tables_model, tmp_path):  # noqa: F811
    _, artifact_dir, leads, activities = tables_model
    leads = leads.copy()
    # A repeated lead, a lead without a creation time, and an unusable activity.
    leads = pd.concat([leads, leads.iloc[[5]]], ignore_index=True)
    leads.loc[7, "created_at"] = pd.NaT
    activities = activities.astype({"activity_type": str})
    activities.iloc[3, activities.columns.get_loc("activity_type")] = "carrier_pigeon"
    leads.to_parquet(tmp_path / "leads.parquet", **LAKE)
    activities.to_parquet(tmp_path / "activities.parquet", **LAKE)
    plain = _score(
        artifact_dir,
        tmp_path / "leads.parquet",
        tmp_path / "activities.parquet",
        tmp_path / "plain.parquet",
        "--points",
    )
    spark = _score(
        artifact_dir,
        tmp_path / "leads.parquet",
        tmp_path / "activities.parquet",
        tmp_path / "spark.parquet",
        "--points",
        "--engine",
        "spark",
    )
    expected = pd.read_parquet(tmp_path / "plain.parquet")
    found = pd.read_parquet(tmp_path / "spark.parquet")  # a folder of parts
    assert (tmp_path / "spark.parquet").is_dir()
    assert list(found.columns) == list(expected.columns)
    assert len(found) == len(expected) == len(leads)
    assert found["lead_id"].tolist() == leads["lead_id"].astype(str).tolist()
    np.testing.assert_allclose(found["probability"], expected["probability"], rtol=0, atol=1e-9)
    for column in ("grade", "is_mql", "reason_up_1", "reason_down_1", "points_mql"):
        assert found[column].astype(object).fillna("-").astype(str).tolist() == (
            expected[column].astype(object).fillna("-").astype(str).tolist()
        ), column
    for column in ("score", "points", "points_fit", "points_behaviour"):
        np.testing.assert_array_equal(
            found[column].astype(float), expected[column].astype(float), err_msg=column
        )
    errors = expected["error"].notna()
    assert errors.sum() >= 2 and found["error"].notna().tolist() == errors.tolist()
    assert "created_at missing" in found.at[7, "error"]
    bad_lead = activities.iloc[3]["lead_id"]
    # The same reason (a lake's files have no row numbers to name).
    message = "unknown activity_type: 'carrier_pigeon'"
    assert found.loc[found["lead_id"] == bad_lead, "error"].str.contains(message).all()
    assert expected.loc[expected["lead_id"] == bad_lead, "error"].str.contains(message).all()
    summary = spark.splitlines()[0]
    assert summary.split(" with ")[0] == plain.splitlines()[0].split(" with ")[0]


def test_spark_refuses_an_output_that_exists_and_nanosecond_parquet(
    tables_model,  # noqa: F811
    tmp_path,
):
    _, artifact_dir, leads, activities = tables_model
    leads.to_parquet(tmp_path / "leads.parquet")  # pandas' default: nanoseconds
    activities.to_parquet(tmp_path / "activities.parquet", **LAKE)
    (tmp_path / "out.parquet").mkdir()
    args = [
        "score",
        "-m",
        str(artifact_dir),
        "-i",
        str(tmp_path / "leads.parquet"),
        "--activities",
        str(tmp_path / "activities.parquet"),
        "--engine",
        "spark",
        "-o",
    ]
    exists = CliRunner().invoke(app, [*args, str(tmp_path / "out.parquet")])
    assert exists.exit_code == 2 and "exists" in exists.output
    nanos = CliRunner().invoke(app, [*args, str(tmp_path / "new.parquet")])
    assert nanos.exit_code == 2, nanos.output
    assert "nanosecond timestamps" in nanos.output and "leads.parquet" in nanos.output
    assert not (tmp_path / "new.parquet").exists()
