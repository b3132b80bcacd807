"""Scoring where the leads live: `leadscore score --engine spark` and `score_frames`.

Leads and activities are Spark DataFrames (Parquet at any path or URI Spark reads, or catalog
tables); the activity features are built by the same SQL as DuckDB's
(scoring.data.feature_sql); each partition of leads is then scored in a pandas UDF
(mapInPandas) over the exported artifact, by the same code as the CSV path (score.lead_part,
score.score_features). The artifact travels to the executors the Spark way, as an archive added
to the session (`addArtifacts`, Connect and classic alike), never as a driver-local path. The
output has one row per input lead, in input order, with the CSV path's columns.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from scoring.data import feature_sql, features
from scoring.data import spark_session as spark_engine
from scoring.data.contract import ACTIVITY_TYPES
from scoring.io.files import aside
from scoring.runtime import artifact as artifact_module
from scoring.runtime import batch as score
from scoring.runtime import inputs as scoring_inputs
from scoring.runtime import serving
from scoring.runtime.batch import ScoreSummary, ScoringInputError

ROW = "_leadscore_row"  # the input row's position, to keep one output row per input row
ACTIVITY_ERROR = "_leadscore_activity_error"


def _output_schema(loaded: artifact_module.Artifact, reasons: bool, points: bool) -> str:
    """The Spark schema of the scored rows: the CSV path's columns, with their types."""
    spark_types = {"long": "bigint"}
    types = [
        f"{c['name']} {spark_types.get(c['type'], c['type'])}"
        for c in serving.scored_columns(loaded, reasons, points)
    ]
    return ", ".join([f"{ROW} bigint", "lead_id string", *types])


def ship_artifact(spark, loaded: artifact_module.Artifact, folder: Path) -> str:
    """Zip the artifact into `folder` and add it to the session as an archive, which Spark
    unpacks on every executor; returns the archive's name (unique to the artifact's content)."""
    digest = hashlib.sha256((loaded.path / artifact_module.MANIFEST).read_bytes()).hexdigest()
    archive = folder / f"leadscore-artifact-{digest[:20]}.zip"
    if archive.exists():  # added to this session already (an archive name is its content)
        with contextlib.suppress(Exception):
            spark.addArtifacts(str(archive), archive=True)
        return archive.name
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(loaded.path.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(loaded.path).as_posix())
    try:
        spark.addArtifacts(str(archive), archive=True)
    except Exception as err:  # the same archive added before in this session: already there
        if "DUPLICATED_ARTIFACT" not in str(err) and "already exists" not in str(err):
            raise
    return archive.name


_SHIP_FOLDER: list[Path] = []


def _ship_folder() -> Path:
    """A folder for archives added to sessions, kept while this process runs: classic Spark
    serves an added file from its path when tasks start, after the DataFrame is returned."""
    if not _SHIP_FOLDER:
        folder = Path(tempfile.mkdtemp(prefix="leadscore-spark-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _SHIP_FOLDER.append(folder)
    return _SHIP_FOLDER[0]


def _shipped(name: str) -> Path:
    """Where the executor finds the shipped artifact: Spark's files folder (classic) or the
    session's artifact folder, the task's working directory (Connect)."""
    from pyspark import SparkFiles

    candidates = [Path.cwd() / name, Path.cwd() / "archives" / name]
    with contextlib.suppress(Exception):  # no SparkFiles root in this worker (Connect)
        candidates.insert(0, Path(SparkFiles.get(name)))
    for candidate in candidates:
        if (candidate / artifact_module.MANIFEST).is_file():
            return candidate
    raise FileNotFoundError(
        f"the scoring artifact {name} did not reach this executor (looked in "
        f"{', '.join(map(str, candidates))})"
    )


def _partition_scorer(archive: str, settings: dict, as_of, reasons: bool, points: bool):
    """The function each Spark task runs on batches of leads joined with their counts: lead
    features, errors, the model's scores (the artifact is loaded once per task, and verified)."""

    def run(batches):

        spark_engine.quiet_worker()
        loaded = artifact_module.load(_shipped(archive))
        windows = list(settings["windows_days"])
        count_names = feature_sql.count_columns(windows)
        for batch in batches:
            batch = batch.reset_index(drop=True)
            frame, _, errors = score.lead_part(batch, {"tables": settings}, as_of, "input")
            # Leads with an earlier activity have a row in the query's result (a minimum age).
            has = batch["last_age_us"].notna().to_numpy()
            found = batch.loc[has, [*count_names, "last_age_us"]].assign(row_id=np.flatnonzero(has))
            counts = feature_sql.assemble(found, len(batch), windows, frame.index)
            frame = pd.concat([frame, features.named_signals(counts, windows)], axis=1)
            for column in features.CATEGORICAL:
                frame[column] = frame[column].astype(str)
            bad = batch[ACTIVITY_ERROR].notna().to_numpy()
            errors = scoring_inputs.join_errors(errors, bad, batch[ACTIVITY_ERROR])
            result = score.score_features(loaded, frame, errors, reasons, points)
            result.insert(0, "lead_id", batch["lead_id"].astype("string").array)
            result.insert(0, ROW, batch[ROW].to_numpy(np.int64))
            yield result

    return run


def _moments(settings: dict, as_of):
    """Each lead's scoring moment, as the CSV path computes it (for the feature query)."""

    def run(batches):

        spark_engine.quiet_worker()
        for batch in batches:
            moment = score.scoring_moment(batch, {"tables": settings}, as_of)
            yield pd.DataFrame(
                {
                    "row_id": batch[ROW].to_numpy(np.int64),
                    "lead_id": batch["lead_id"].astype("string").array,
                    # Spark keeps microseconds: a finer --as-of is cut, never refused.
                    "moment": moment.dt.floor("us").to_numpy("datetime64[ns]"),
                }
            )

    return run


def score_frames(
    spark,
    loaded: artifact_module.Artifact,
    leads,
    activities,
    as_of: pd.Timestamp | None = None,
    reasons: bool = True,
    points: bool = False,
):
    """Score Spark DataFrames (or catalog table names) of leads and their activities: a Spark
    DataFrame of scored rows, one a lead, in input order, with the CSV path's columns. The
    Python API of Spark scoring (a Databricks job calls this); `score_with_spark` writes it."""
    scored, _, _ = _scored(spark, loaded, leads, activities, as_of, reasons, points, "leads")
    return scored.orderBy(ROW).drop(ROW)


def _table_or_frame(spark, data):
    return spark.table(data) if isinstance(data, str) else data


def _scored(spark, loaded, leads, activities, as_of, reasons, points, source):
    """The scored DataFrame (with the input row number), the activities (all of them: the
    summary counts those of no input lead) and the leads."""
    from pyspark.sql import functions as F

    preprocessing = loaded.preprocessing
    if preprocessing["source"] == "flat":
        raise scoring_inputs.ScoringInputError(
            f"{loaded.path} scores a flat export: --engine spark builds activity features, "
            "score flat exports with the default engine"
        )
    if points and loaded.points is None:
        raise scoring_inputs.ScoringInputError(
            f"{loaded.path} carries no learned point rules: export a new run to score with --points"
        )
    settings = preprocessing["tables"]
    leads = _table_or_frame(spark, leads)
    activities = _table_or_frame(spark, activities)
    _require(leads, artifact_module.lead_columns(settings), source)
    _require(activities, ["lead_id", "occurred_at", "activity_type"], "activities")
    for optional in ("page_category", "form_type"):
        if optional not in activities.columns:
            activities = activities.withColumn(optional, F.lit(None).cast("string"))
    activities = activities.withColumn("lead_id", F.col("lead_id").cast("string"))
    leads = leads.withColumn(ROW, F.monotonically_increasing_id())
    if as_of is None:
        latest = [
            activities.agg(F.max("occurred_at")).first()[0],
            leads.agg(F.max(F.col("created_at").cast("timestamp"))).first()[0],
        ]
        known = [pd.Timestamp(t) for t in latest if t is not None]
        if not known:
            raise scoring_inputs.ScoringInputError(
                f"{source}: no usable created_at to date the scoring by"
            )
        as_of = max(known)
    usable = F.col("occurred_at").isNotNull() & F.col("activity_type").isin(list(ACTIVITY_TYPES))
    # Unusable activity rows become errors on their leads, never silently dropped.
    bad = (
        activities.where(~usable | F.col("activity_type").isNull())
        .select(
            "lead_id",
            F.when(F.col("occurred_at").isNull(), "occurred_at missing or unparseable")
            .otherwise(
                F.concat(
                    F.lit("unknown activity_type: '"),
                    F.coalesce(F.col("activity_type"), F.lit("")),
                    F.lit("'"),
                )
            )
            .alias(ACTIVITY_ERROR),
        )
        .groupBy("lead_id")
        .agg(F.first(ACTIVITY_ERROR).alias(ACTIVITY_ERROR))
    )
    activities.where(usable).createOrReplaceTempView("activities")
    moments = leads.mapInPandas(
        _moments(settings, as_of), "row_id bigint, lead_id string, moment timestamp"
    )
    moments.createOrReplaceTempView("lead_moments")
    counts = spark.sql(feature_sql.query(tuple(settings["windows_days"]), "spark"))
    joined = (
        leads.join(counts.withColumnRenamed("row_id", ROW), on=ROW, how="left")
        .withColumn("_lead_text", F.col("lead_id").cast("string"))
        .join(bad.withColumnRenamed("lead_id", "_lead_text"), on="_lead_text", how="left")
        .drop("_lead_text")
    )
    archive = ship_artifact(spark, loaded, _ship_folder())
    scored = joined.mapInPandas(
        _partition_scorer(archive, settings, as_of, reasons, points),
        _output_schema(loaded, reasons, points),
    )
    return scored, activities, leads


def local_path(target: str) -> Path | None:
    """A path on this machine (plain or file://), or None for another scheme (s3a://, abfss://,
    dbfs:/, ...) that Spark alone can write to."""
    parsed = urlparse(target)
    if parsed.scheme == "file":
        return Path(parsed.path)
    if parsed.scheme and len(parsed.scheme) > 1:  # not a Windows drive letter
        return None
    return Path(target)


def score_with_spark(
    loaded: artifact_module.Artifact,
    input_path: str | None,
    output_path: str | None,
    activities_path: str | None,
    as_of: pd.Timestamp | None = None,
    reasons: bool = True,
    points: bool = False,
    master: str | None = None,
    input_table: str | None = None,
    activities_table: str | None = None,
    output_table: str | None = None,
):
    """Score leads and their activities with Spark into Parquet (a new folder at a path or any
    URI) or a catalog table (one row a lead, in input order): `leadscore score --engine spark`."""
    target = output_table or output_path
    if not target:
        raise ScoringInputError("--engine spark needs --output <path or URI> or --output-table")
    local = None if output_table else local_path(str(output_path))
    if output_path and not output_table:
        if Path(urlparse(str(output_path)).path).suffix.lower() not in (".parquet", ".pq"):
            raise scoring_inputs.ScoringInputError(
                f"--output {output_path}: --engine spark writes a folder of Parquet files; "
                "name it .parquet"
            )
        if local is not None and local.exists():
            raise scoring_inputs.ScoringInputError(
                f"--output {output_path} exists: Spark writes a new folder; remove it or name "
                "another"
            )
    spark = spark_engine.session(master)
    with spark_engine.quiet():
        leads = (
            _table(spark, input_table, "--input-table")
            if input_table
            else _read(spark, input_path, "--input")
        )
        activities = (
            _table(spark, activities_table, "--activities-table")
            if activities_table
            else _read(spark, activities_path, "--activities")
        )
        source = input_table or str(input_path)
        scored, activities, leads = _scored(
            spark, loaded, leads, activities, as_of, reasons, points, source
        )
        ordered = scored.orderBy(ROW).drop(ROW)
        if output_table:
            with _exists_as_input_error(f"--output-table {output_table}"):
                ordered.write.mode("errorifexists").saveAsTable(output_table)
            return _summary(spark.table(output_table), activities, leads)
        if local is None or os.environ.get("SPARK_REMOTE", "").startswith("sc://"):
            # Another file system, or a Connect server elsewhere: Spark writes it, and its
            # commit protocol publishes the folder only when every part is written.
            with _exists_as_input_error(f"--output {output_path}"):
                ordered.write.mode("errorifexists").parquet(str(output_path))
            return _summary(spark.read.parquet(str(output_path)), activities, leads)
        # This machine: written aside, in a folder of its own (two jobs never write into each
        # other's), and moved into place whole: a failed job leaves no half output.
        partial = aside(local)
        try:
            ordered.write.parquet(str(partial))
            partial.rename(local)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return _summary(spark.read.parquet(str(local)), activities, leads)


def _table(spark, name: str, option: str):
    """A catalog table, or a clear error naming it."""
    from pyspark.errors import AnalysisException

    try:
        return spark.table(name)
    except AnalysisException as err:
        first = str(err).splitlines()[0][:300]
        raise ScoringInputError(f"{option} {name} cannot be read: {first}") from None


@contextlib.contextmanager
def _exists_as_input_error(target: str):
    """Spark refusing to overwrite an output: the CLI's clear error, not a traceback."""
    from pyspark.errors import AnalysisException

    try:
        yield
    except AnalysisException as err:
        if "ALREADY_EXISTS" not in str(err):
            raise
        raise ScoringInputError(
            f"{target} exists: Spark writes a new one; remove it or name another"
        ) from None


def _read(spark, path: str | None, option: str):
    """A Spark DataFrame of a Parquet (or CSV) input, or a clear error."""
    from pyspark.errors import AnalysisException

    if not path:
        raise ScoringInputError(f"{option} is needed (or {option}-table for a catalog table)")

    try:
        return spark_engine.as_spark(spark, path)
    except AnalysisException as err:
        text = str(err)
        if "PATH_NOT_FOUND" in text:
            message = "not found"
        elif "TIMESTAMP(NANOS" in text:
            message = (
                "stores nanosecond timestamps, which Spark cannot read: write them in "
                "microseconds (pandas: to_parquet(..., coerce_timestamps='us', "
                "allow_truncated_timestamps=True))"
            )
        else:
            message = f"cannot be read by Spark: {text.splitlines()[0]}"

        raise ScoringInputError(f"{option} {path} {message}") from None


def _require(frame, columns: list[str], source) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ScoringInputError(
            f"{source} misses column(s) {', '.join(missing)} (it has: {', '.join(frame.columns)})"
        )


def _summary(scored, activities, leads):
    """What the CSV path reports: rows, scored, errors, MQLs, a few errors, and activities of
    leads not in the input."""
    from pyspark.sql import functions as F

    totals = scored.agg(
        F.count(F.lit(1)).alias("rows"),
        F.sum(F.col("error").isNull().cast("int")).alias("scored"),
        F.sum(F.coalesce(F.col("is_mql").cast("int"), F.lit(0))).alias("mqls"),
    ).first()
    summary = ScoreSummary()
    summary.rows = int(totals["rows"] or 0)
    summary.scored = int(totals["scored"] or 0)
    summary.errors = summary.rows - summary.scored
    summary.mqls = int(totals["mqls"] or 0)
    for row in scored.where(F.col("error").isNotNull()).limit(5).collect():
        summary.error_examples.append(f"lead_id={row['lead_id']!r}: {row['error']}")
    known = leads.select(F.col("lead_id").cast("string").alias("lead_id")).distinct()
    # Millions of ids: a shuffled join (Spark may misjudge them small enough to broadcast).
    unmatched = activities.join(known.hint("shuffle_hash"), on="lead_id", how="left_anti")
    summary.ignored_activities = unmatched.count()
    return summary
