"""Apache Spark for data that outgrows one machine: the session, and frames moved into it.

pyspark is optional (`pip install '.[spark]'`, which `make setup` does). The session is the
one already active (a notebook's, a Databricks job's), else Spark Connect when SPARK_REMOTE is
set (Databricks shared and serverless compute, `sc://host:port`, or `local[2]` for a local
Connect server), else a classic session on `spark.master` in params or SPARK_MASTER, else
Spark's own default (local). leadscore sets a master only when the user does, and makes no
SparkContext, RDD or JVM calls, so the same code runs on Connect. A local session needs Java
17 or later. Timestamps are read and written in UTC, as the rest of leadscore keeps them.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd


class SparkUnavailable(RuntimeError):
    """Spark was asked for but pyspark or Java is missing."""


def ignore_pyspark_warnings() -> None:
    """pyspark warns on every pandas conversion (and on import, which pandera triggers) that
    it does not yet fully support pandas 3; the conversions leadscore makes (flat columns of
    numbers, text and timestamps) are checked against the DuckDB engine by the tests, so the
    warning is noise to a user. pandas' deprecations hit by pyspark's own code likewise."""
    warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
    warnings.filterwarnings("ignore", module="pyspark.*")
    warnings.filterwarnings("ignore", category=pd.errors.Pandas4Warning)


@contextmanager
def quiet() -> Iterator[None]:
    """ignore_pyspark_warnings() within a block."""
    with warnings.catch_warnings():
        ignore_pyspark_warnings()
        yield


def quiet_worker() -> None:
    """ignore_pyspark_warnings() for the rest of a Spark Python worker's life: the worker
    converts each batch to and from pandas outside any block of leadscore's code."""
    ignore_pyspark_warnings()


def missing() -> str | None:
    """Why Spark cannot run here (None when it can)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed: pip install '.[spark]' (make setup does)"
    remote = os.environ.get("SPARK_REMOTE", "")
    if remote.startswith("sc://"):
        return None  # a Connect server elsewhere: no Java needed here
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return (
            "Spark needs Java 17 or later and none was found "
            "(Debian: apt-get install openjdk-17-jre-headless), or set SPARK_REMOTE to a "
            "Spark Connect server"
        )
    return None


def is_connect(spark) -> bool:
    """Whether a session is a Spark Connect client (no SparkContext behind it)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def session(master: str | None = None):
    """The active Spark session, else Spark Connect (SPARK_REMOTE), else a new local or
    cluster session on `master` (params spark.master, SPARK_MASTER; Spark's default when
    neither is set)."""
    reason = missing()
    if reason:
        raise SparkUnavailable(reason)
    with quiet():
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        remote = os.environ.get("SPARK_REMOTE")
        builder = SparkSession.builder.appName("leadscore")
        # Runtime settings: allowed on any session, Connect included.
        builder = builder.config("spark.sql.session.timeZone", "UTC").config(
            "spark.sql.execution.arrow.pyspark.enabled", "true"
        )
        if remote and remote.startswith("sc://"):
            return builder.remote(remote).getOrCreate()
        master = None if remote else (master or os.environ.get("SPARK_MASTER"))
        if remote or master is None or master.startswith("local"):
            # This machine runs the driver (or a local Connect server): bind to loopback, run
            # Python workers with this interpreter unless the cluster says otherwise.
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        if remote:
            builder = builder.remote(remote)
        elif master:
            builder = builder.master(master)
        return (
            builder.config(
                "spark.sql.shuffle.partitions", os.environ.get("SPARK_SHUFFLE_PARTITIONS", "8")
            )
            .config("spark.ui.enabled", "false")
            # Local mode: the driver is the executor too (Spark's default is 1 GB).
            .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.log.level", "ERROR")
            .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
            .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
            .getOrCreate()
        )


def as_spark(spark, data):
    """A Spark DataFrame of `data`: a Spark DataFrame as it is, a pandas frame copied in, a
    path or URI read as Parquet (CSV when it ends in .csv)."""
    if isinstance(data, pd.DataFrame):
        with quiet():
            return spark.createDataFrame(_spark_ready(data))
    if isinstance(data, str | Path):
        text = str(data)
        if text.lower().endswith(".csv"):
            return spark.read.csv(text, header=True, inferSchema=True)
        return spark.read.parquet(text)
    return data


def _spark_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories as text and nanosecond timestamps as microseconds (Spark's precision)."""
    out = {}
    for name, values in frame.items():
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object).where(values.notna(), None)
        elif pd.api.types.is_datetime64_any_dtype(values):
            values = values.astype("datetime64[us]")
        elif pd.api.types.is_string_dtype(values):
            values = values.astype(object).where(values.notna(), None)
        out[name] = values
    return pd.DataFrame(out, index=frame.index)
