"""Score every open lead in a catalog table with the champion model: a Databricks job task.

Runs on the session Databricks gives the task (shared, serverless or classic compute), or on
Spark Connect when SPARK_REMOTE is set, or on a local Spark: leadscore never sets a master or
touches a SparkContext. The model comes from the MLflow registry (`models:/<name>@champion`;
on Databricks the workspace or Unity Catalog registry) or from an artifact folder; it is
verified, then shipped to the executors by Spark.

    python examples/databricks/score_leads.py --model models:/leadscore@champion \
        --leads-table crm.leads --activities-table crm.activities \
        --output-table crm.lead_scores [--as-of 2026-06-02T06:00:00] [--mode append]

The output table gets one row per lead: lead_id, probability, score, grade, is_mql, the reasons,
error, plus scored_at and model_version (so appended daily runs form a score history).
job.json schedules it every morning.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd


def load_model(uri: str, folder: Path):
    """The leadscore artifact of a registry URI (or an artifact folder), verified."""
    from scoring.runtime import artifact

    if not uri.startswith(("models:/", "runs:/")):
        return artifact.load(uri)
    import mlflow.artifacts

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(folder)))
    manifests = sorted(local.rglob(artifact.MANIFEST))
    if not manifests:
        raise SystemExit(f"{uri}: no leadscore artifact (manifest.json) in this model")
    return artifact.load(manifests[0].parent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--leads-table", required=True)
    parser.add_argument("--activities-table", required=True)
    parser.add_argument("--output-table", required=True)
    parser.add_argument("--as-of", default=None, help="default: now (UTC)")
    parser.add_argument("--mode", choices=["overwrite", "append"], default="overwrite")
    parser.add_argument("--no-reasons", action="store_true")
    args = parser.parse_args(argv)

    from pyspark.sql import functions as F

    from scoring.data import spark_session
    from scoring.spark.score import score_frames

    spark = spark_session.session()  # the task's session, SPARK_REMOTE, or local
    as_of = pd.Timestamp(args.as_of) if args.as_of else pd.Timestamp.now("UTC").tz_localize(None)
    with tempfile.TemporaryDirectory() as tmp:
        loaded = load_model(args.model, Path(tmp))
        scored = score_frames(
            spark,
            loaded,
            args.leads_table,
            args.activities_table,
            as_of=as_of,
            reasons=not args.no_reasons,
        )
        scored = scored.withColumn("scored_at", F.lit(as_of.to_pydatetime())).withColumn(
            "model_version", F.lit(loaded.version)
        )
        scored.write.mode(args.mode).saveAsTable(args.output_table)
    written = spark.table(args.output_table).where(F.col("scored_at") == F.lit(as_of))
    totals = written.agg(
        F.count(F.lit(1)).alias("rows"),
        F.sum(F.col("error").isNotNull().cast("int")).alias("errors"),
        F.sum(F.coalesce(F.col("is_mql").cast("int"), F.lit(0))).alias("mqls"),
    ).first()
    print(
        f"scored {totals['rows']:,} leads as of {as_of} with {args.model} ({loaded.version}): "
        f"{totals['mqls']:,} MQLs, {totals['errors']:,} rows with an error -> {args.output_table}"
    )
    return 1 if totals["rows"] and totals["errors"] == totals["rows"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
