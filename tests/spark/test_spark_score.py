"""`leadscore score --engine spark` scores as the default engine does, row for row."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from scoring.cli import app
from scoring.data import spark_session as spark_engine
from tests.conftest import ROOT
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
    missing = CliRunner().invoke(
        app, [*args, str(tmp_path / "new.parquet"), "--input-table", "no_such_table"]
    )
    assert missing.exit_code == 2 and "--input-table no_such_table cannot be read" in (
        missing.output
    )
    nanos = CliRunner().invoke(app, [*args, str(tmp_path / "new.parquet")])
    assert nanos.exit_code == 2, nanos.output
    assert "nanosecond timestamps" in nanos.output and "leads.parquet" in nanos.output
    assert not (tmp_path / "new.parquet").exists()


CONNECT = textwrap.dedent(
    """
    import runpy
    import sys

    from typer.testing import CliRunner

    from scoring.cli import app
    from scoring.data import spark_session

    spark = spark_session.session()
    assert spark_session.is_connect(spark), type(spark)
    # 1. The CLI on the session already active, Spark writing to a file:// URI.
    result = CliRunner().invoke(app, {cli!r})
    assert result.exit_code == 0, result.output
    # 2. The Databricks example: catalog tables in, a catalog table out.
    spark.read.parquet({leads!r}).write.saveAsTable("open_leads")
    spark.read.parquet({activities!r}).write.saveAsTable("activities")
    job = runpy.run_path({job!r})
    code = job["main"](
        ["--model", {model!r}, "--leads-table", "open_leads", "--activities-table",
         "activities", "--output-table", "lead_scores", "--as-of", {as_of!r}]
    )
    assert code == 0
    written = spark.table("lead_scores").toPandas()
    written.attrs = {{}}  # Connect's query metrics, not data
    written.to_parquet({table_out!r})
    """
)


def test_spark_connect_scores_equal_the_default_engine(tables_model, tmp_path):  # noqa: F811
    """SPARK_REMOTE=local[2]: a local Spark Connect server, as Databricks shared and serverless
    compute run leadscore (no SparkContext, the artifact shipped by addArtifacts)."""
    _, artifact_dir, leads, activities = tables_model
    leads.to_parquet(tmp_path / "leads.parquet", **LAKE)
    activities.to_parquet(tmp_path / "activities.parquet", **LAKE)
    as_of = str(leads["created_at"].max().ceil("s"))
    plain = tmp_path / "plain.parquet"
    _score(
        artifact_dir,
        tmp_path / "leads.parquet",
        tmp_path / "activities.parquet",
        plain,
        "--as-of",
        as_of,
    )
    connect_out = tmp_path / "connect.parquet"
    cli = [
        "score", "-m", str(artifact_dir), "-i", str(tmp_path / "leads.parquet"),
        "--activities", str(tmp_path / "activities.parquet"), "--engine", "spark",
        "-o", connect_out.as_uri(), "--as-of", as_of, "--params", str(ROOT / "params.yaml"),
    ]  # fmt: skip
    script = CONNECT.format(
        cli=cli,
        leads=str(tmp_path / "leads.parquet"),
        activities=str(tmp_path / "activities.parquet"),
        job=str(ROOT / "examples" / "databricks" / "score_leads.py"),
        model=str(artifact_dir),
        as_of=as_of,
        table_out=str(tmp_path / "table.parquet"),
    )
    environment = {**os.environ, "SPARK_REMOTE": "local[2]", "SPARK_LOCAL_IP": "127.0.0.1"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    expected = pd.read_parquet(plain)
    for found in (pd.read_parquet(connect_out), pd.read_parquet(tmp_path / "table.parquet")):
        assert found["lead_id"].tolist() == expected["lead_id"].tolist()
        np.testing.assert_allclose(found["probability"], expected["probability"], atol=1e-12)
        assert found["reason_up_1"].fillna("-").tolist() == (
            expected["reason_up_1"].fillna("-").tolist()
        )
