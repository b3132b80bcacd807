"""Apache Spark for data that outgrows one machine: the session, and frames moved into it.

pyspark is optional (`pip install '.[spark]'`, which `make setup` does) and needs Java 17 or
later. The master comes from `spark.master` in params, else SPARK_MASTER, else local[*].
Timestamps are read and written in UTC, as the rest of leadscore keeps them.
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
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return (
            "Spark needs Java 17 or later and none was found "
            "(Debian: apt-get install openjdk-17-jre-headless)"
        )
    return None


def session(master: str | None = None):
    """The active Spark session, or a new one on `master` (SPARK_MASTER, else local[*])."""
    reason = missing()
    if reason:
        raise SparkUnavailable(reason)
    master = master or os.environ.get("SPARK_MASTER") or "local[*]"
    if master.startswith("local"):
        # One machine: bind to loopback rather than whatever the host name resolves to.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers run leadscore's own code (scoring a partition): this interpreter, unless
    # the cluster says otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    with quiet():
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master(master)
            .appName("leadscore")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.shuffle.partitions", os.environ.get("SPARK_SHUFFLE_PARTITIONS", "8"))
            .config("spark.ui.enabled", "false")
            # Local mode: the driver is the executor too (Spark's default is 1 GB).
            .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
            .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
            .getOrCreate()
        )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


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
