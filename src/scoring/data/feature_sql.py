"""Point-in-time activity features as one SQL query, run by DuckDB or by Spark.

The query is written once, in DuckDB's dialect, and transpiled to Spark SQL with SQLGlot:
one definition, two engines. It reads two tables:
- `lead_moments` (row_id, lead_id, moment): the leads to build features for, each with its
  scoring moment (small: built in Python);
- `activities` (lead_id, occurred_at, activity_type, page_category, form_type): the events,
  however large; DuckDB scans a frame or a Parquet/CSV file out of core, Spark reads anything
  it can read.
Only activities strictly before the lead's moment count. Time is compared in whole
microseconds (Spark's precision; an activity within a microsecond of a window's edge is the
only case that could differ from nanoseconds).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from scoring.data import spark_session as spark_engine
from scoring.data.contract import ACTIVITY_TYPES, FORM_TYPES, PAGE_CATEGORIES

DAY_US = 86_400_000_000
ACTIVE_DAYS_WINDOW = 30
ENGINES = ("duckdb", "spark")
ACTIVITY_SOURCE_COLUMNS = ("lead_id", "occurred_at", "activity_type", "page_category", "form_type")


def items() -> list[tuple[str, str]]:
    """Each counted activity item as (feature name stem, SQL condition on one activity)."""
    out = [
        (f"page_{c}", f"activity_type = 'page_view' AND page_category = '{c}'")
        for c in PAGE_CATEGORIES
    ]
    out += [
        (f"form_{f}", f"activity_type = 'form_submit' AND form_type = '{f}'") for f in FORM_TYPES
    ]
    out += [
        (t, f"activity_type = '{t}'")
        for t in ACTIVITY_TYPES
        if t not in ("page_view", "form_submit")
    ]
    return out


def count_columns(windows: list[int]) -> list[str]:
    """The count columns the query returns, in order: per window each item, then all
    activities; then active days."""
    names = []
    for window in windows:
        names += [f"{name}_{window}d" for name, _ in items()]
        names.append(f"activities_{window}d")
    return [*names, f"active_days_{ACTIVE_DAYS_WINDOW}d"]


@cache
def query(windows: tuple[int, ...], dialect: str = "duckdb") -> str:
    """The feature query for these windows in an engine's SQL dialect."""
    cases = " ".join(f"WHEN {condition} THEN {code}" for code, (_, condition) in enumerate(items()))
    selects = []
    for window in windows:
        edge = window * DAY_US
        # BIGINT: DuckDB counts in HUGEINT, which reaches numpy as floats, slowly.
        selects += [
            f"CAST(COUNT_IF(item = {code} AND age_us <= {edge}) AS BIGINT) AS {name}_{window}d"
            for code, (name, _) in enumerate(items())
        ]
        selects.append(f"CAST(COUNT_IF(age_us <= {edge}) AS BIGINT) AS activities_{window}d")
    active = ACTIVE_DAYS_WINDOW * DAY_US
    selects += [
        "MIN(age_us) AS last_age_us",
        f"COUNT(DISTINCT CASE WHEN age_us <= {active} THEN day END) "
        f"AS active_days_{ACTIVE_DAYS_WINDOW}d",
    ]
    sql = f"""
        WITH timed AS (
            SELECT
                l.row_id,
                DATE_DIFF('microsecond', a.occurred_at, l.moment) AS age_us,
                CAST(a.occurred_at AS DATE) AS day,
                CASE {cases} ELSE -1 END AS item
            FROM activities AS a
            JOIN lead_moments AS l ON a.lead_id = l.lead_id
        )
        SELECT row_id, {", ".join(selects)}
        FROM timed
        WHERE age_us > 0
        GROUP BY row_id
    """
    if dialect == "duckdb":
        return sql
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write=dialect)[0]


def lead_moments(lead_ids: pd.Series, moment: pd.Series) -> pd.DataFrame:
    """The leads table of the query: row position, id, scoring moment. Ids are text, or
    integer keys when the activities' lead_id holds the same keys (scoring's chunks: a join
    on integers is cheaper than on text)."""
    integer = pd.api.types.is_integer_dtype(lead_ids)
    ids = lead_ids.reset_index(drop=True)
    ids = ids.astype(np.int64) if integer else ids.astype("string[pyarrow]")
    if not ids.is_unique:
        raise ValueError("activity features need unique lead ids")
    return pd.DataFrame(
        {
            "row_id": np.arange(len(ids), dtype=np.int64),
            "lead_id": ids,
            "moment": moment.to_numpy("datetime64[ns]"),
        }
    )


def assemble(found, n: int, windows: list[int], index: pd.Index) -> pd.DataFrame:
    """The query's rows (leads with at least one earlier activity; a frame, or columns by
    name) as one row a lead, in the leads' order: counts 0 and no recency for a lead without
    activities."""
    rows = np.asarray(found["row_id"], dtype=np.int64)
    names = count_columns(windows)
    counts = np.zeros((len(names), n), dtype=np.int64)  # one block, each column contiguous
    for position, name in enumerate(names):
        counts[position, rows] = np.asarray(found[name], dtype=np.int64)
    frame = pd.DataFrame(counts.T, columns=names, index=index, copy=False)
    last = np.full(n, np.nan)
    last[rows] = np.asarray(found["last_age_us"], dtype=np.float64) / DAY_US
    frame.insert(len(names) - 1, "days_since_last_activity", last)  # before active days
    return frame


# --- engines -------------------------------------------------------------------------------


def _integer_keys(activities) -> bool:
    """Whether the activities' lead_id holds integer keys (scoring's chunks) rather than ids,
    which the query compares as text."""
    if isinstance(activities, pa.Table):
        return pa.types.is_integer(activities.schema.field("lead_id").type)
    return isinstance(activities, pd.DataFrame) and pd.api.types.is_integer_dtype(
        activities["lead_id"]
    )


def _duckdb_source(activities: pd.DataFrame | pa.Table | str | Path) -> str:
    if isinstance(activities, pd.DataFrame | pa.Table):
        return "activities_frame"
    path = str(activities).replace("'", "''")
    reader = "read_parquet" if str(activities).lower().endswith(".parquet") else "read_csv_auto"
    return f"{reader}('{path}')"


def with_duckdb(
    activities: pd.DataFrame | pa.Table | str | Path,
    leads: pd.DataFrame,
    windows: list[int],
    memory_limit: str | None = None,
    threads: int | None = None,
) -> dict[str, np.ndarray]:
    """Run the query in an in-process DuckDB: a frame is scanned in place, a file out of
    core (memory bounded by `memory_limit`, spilling to a temporary folder beyond it), on
    `threads` (every core by default)."""
    import duckdb

    with duckdb.connect(config={"threads": threads or os.cpu_count() or 1}) as con:
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET preserve_insertion_order = false")
        if isinstance(activities, pd.DataFrame):
            con.register("activities_frame", activities[list(ACTIVITY_SOURCE_COLUMNS)])
        elif isinstance(activities, pa.Table):
            con.register("activities_frame", activities.select(list(ACTIVITY_SOURCE_COLUMNS)))
        con.register("lead_moments", leads)
        key = "lead_id" if _integer_keys(activities) else "CAST(lead_id AS VARCHAR) AS lead_id"
        con.execute(
            f"CREATE TEMP VIEW activities AS SELECT {key}, occurred_at, activity_type, "
            f"page_category, form_type FROM {_duckdb_source(activities)}"
        )
        return con.execute(query(tuple(windows))).fetchnumpy()


def with_spark(
    activities, leads: pd.DataFrame, windows: list[int], master: str | None = None
) -> pd.DataFrame:
    """Run the query in Spark: `activities` is a Spark DataFrame, a pandas frame or a path
    (or URI) of Parquet files; the leads go to Spark as a small frame."""

    spark = spark_engine.session(master)
    with spark_engine.quiet():
        frame = spark_engine.as_spark(spark, activities).select(*ACTIVITY_SOURCE_COLUMNS)
        if not _integer_keys(activities):
            frame = frame.withColumn("lead_id", frame["lead_id"].cast("string"))
        frame.createOrReplaceTempView("activities")
        spark_engine.as_spark(spark, leads).createOrReplaceTempView("lead_moments")
        return spark.sql(query(tuple(windows), "spark")).toPandas()


def activity_counts(
    engine: str,
    activities,
    lead_ids: pd.Series,
    moment: pd.Series,
    windows: list[int],
    memory_limit: str | None = None,
    master: str | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """Counts per item and window, recency and active days for these leads, by `engine`
    (DuckDB within `memory_limit` on `threads`; Spark on `master`)."""
    leads = lead_moments(lead_ids, moment)
    if engine == "duckdb":
        found = with_duckdb(activities, leads, windows, memory_limit, threads)
    elif engine == "spark":
        found = with_spark(activities, leads, windows, master)
    else:
        raise ValueError(f"unknown feature engine {engine!r}: one of {', '.join(ENGINES)}")
    return assemble(found, len(leads), windows, moment.index)


def comebacks(
    activities: pd.DataFrame | pa.Table | str | Path, quiet_days: int, threads: int | None = None
) -> pd.DataFrame:
    """Each lead's first activity after at least `quiet_days` without one (lead_id, at), by an
    in-process DuckDB over a frame or a Parquet/CSV file (out of core): when a quiet lead
    comes back."""
    import duckdb

    with duckdb.connect(config={"threads": threads or os.cpu_count() or 1}) as con:
        if isinstance(activities, pd.DataFrame):
            con.register("activities_frame", activities[["lead_id", "occurred_at"]])
        elif isinstance(activities, pa.Table):
            con.register("activities_frame", activities.select(["lead_id", "occurred_at"]))
        return con.execute(
            f"""
            SELECT CAST(lead_id AS VARCHAR) AS lead_id, MIN(occurred_at) AS at
            FROM (
                SELECT lead_id, occurred_at,
                       occurred_at - LAG(occurred_at) OVER (
                           PARTITION BY lead_id ORDER BY occurred_at) AS gap
                FROM {_duckdb_source(activities)}
            )
            WHERE gap >= INTERVAL {int(quiet_days)} DAY
            GROUP BY 1
            """
        ).df()
