"""The Spark session's preconditions and the frames leadscore hands to Spark (no JVM needed)."""

from __future__ import annotations

import builtins

import pandas as pd
import pytest

from scoring.data import spark_session as spark_engine


def test_missing_java_is_named_with_how_to_install_it(monkeypatch):
    pytest.importorskip("pyspark")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(spark_engine.shutil, "which", lambda name: None)
    reason = spark_engine.missing()
    assert "Java 17" in reason and "openjdk-17-jre-headless" in reason
    with pytest.raises(spark_engine.SparkUnavailable, match="Java 17"):
        spark_engine.session()


def test_missing_pyspark_says_how_to_install_it(monkeypatch):
    real_import = builtins.__import__

    def without_pyspark(name, *args, **kwargs):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_pyspark)
    assert "pip install '.[spark]'" in spark_engine.missing()


def test_frames_reach_spark_as_plain_text_and_microseconds():
    frame = pd.DataFrame(
        {
            "lead_id": pd.Categorical(["a", None, "b"]),
            "occurred_at": pd.to_datetime(
                ["2025-01-01 00:00:00.123456789", None, "2025-01-02"], format="ISO8601"
            ).astype("datetime64[ns]"),
            "activity_type": pd.array(["email_open", None, "page_view"], dtype="string"),
            "count": [1, 2, 3],
        }
    )
    ready = spark_engine._spark_ready(frame)
    assert ready["lead_id"].tolist() == ["a", None, "b"]
    assert ready["activity_type"].tolist() == ["email_open", None, "page_view"]
    assert str(ready["occurred_at"].dtype) == "datetime64[us]"
    assert ready["occurred_at"].iloc[0] == pd.Timestamp("2025-01-01 00:00:00.123456")
    assert ready["count"].tolist() == [1, 2, 3]
