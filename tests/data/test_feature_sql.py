"""The activity features' one SQL definition, run by DuckDB and by Spark, against the pandas
features leadscore built before (tests/data/reference_features.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.core.config import GeneratorParams, load_params
from scoring.data import contract as data
from scoring.data import feature_sql, features, synth
from scoring.data import spark_session as spark_engine
from tests.conftest import ROOT
from tests.data import reference_features

SPARK_MISSING = spark_engine.missing()
needs_spark = pytest.mark.skipif(
    SPARK_MISSING is not None, reason=f"Spark tests skipped: {SPARK_MISSING}"
)


@pytest.fixture(scope="module")
def default_crm():
    """The synthetic default (params.yaml's generator and seed), validated as a run reads it,
    with each eligible lead's scoring moment."""
    params = load_params(ROOT / "params.yaml")
    crm = synth.generate(GeneratorParams(**params.generator.model_dump()), seed=params.seed)
    tables = data.Tables(data.validate_leads(crm.leads), data.validate_activities(crm.activities))
    snapshot = features.snapshot_date(tables)
    _, moment, reason = features.label_and_exclusions(tables.leads, params.label, snapshot)
    eligible = reason.isna()
    windows = list(params.features.windows_days)
    leads = tables.leads.loc[eligible, "lead_id"]
    expected = reference_features.activity_counts(
        tables.activities, leads, moment[eligible], windows
    )
    return tables, leads, moment[eligible], windows, expected


def assert_same(expected: pd.DataFrame, found: pd.DataFrame) -> None:
    """Every column, every lead, to 1e-9 (counts exactly)."""
    assert list(found.columns) == list(expected.columns)
    assert found.index.equals(expected.index)
    for column in expected.columns:
        want, got = expected[column].to_numpy(float), found[column].to_numpy(float)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9, err_msg=column)


def test_duckdb_features_equal_the_pandas_features_on_the_synthetic_default(default_crm):
    tables, leads, moment, windows, expected = default_crm
    assert len(tables.activities) > 500_000 and len(leads) > 30_000
    found = feature_sql.activity_counts("duckdb", tables.activities, leads, moment, windows)
    assert_same(expected, found)
    assert (expected["activities_90d"] > 0).mean() > 0.5  # the comparison is not all zeros


def test_duckdb_reads_a_parquet_file_out_of_core(default_crm, tmp_path):
    tables, leads, moment, windows, expected = default_crm
    path = tmp_path / "activities.parquet"
    tables.activities.to_parquet(path)
    found = feature_sql.activity_counts(
        "duckdb", path, leads, moment, windows, memory_limit="200MB"
    )
    assert_same(expected, found)


@needs_spark
def test_spark_features_equal_the_pandas_features_on_the_synthetic_default(default_crm, tmp_path):
    tables, leads, moment, windows, expected = default_crm
    path = tmp_path / "activities.parquet"
    # As a lake holds them: microseconds (Spark's precision).
    tables.activities.to_parquet(path, coerce_timestamps="us", allow_truncated_timestamps=True)
    found = feature_sql.activity_counts("spark", str(path), leads, moment, windows)
    assert_same(expected, found)


def _activities(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["lead_id", "occurred_at", "activity_type", "page_category", "form_type"]
    )
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], format="ISO8601")
    return data.validate_activities(frame)


EDGES = [
    ("A", "2025-01-10 12:00:00", "page_view", "pricing", None),  # exactly at the moment: no
    ("A", "2025-01-10 11:59:59.999", "page_view", "pricing", None),  # just before: yes
    ("A", "2025-01-03 12:00:00", "page_view", "pricing", None),  # exactly 7 days: in 7d
    ("A", "2025-01-03 11:59:59", "page_view", "pricing", None),  # just over 7 days: 30d only
    ("A", "2025-01-03 08:00:00", "form_submit", None, "demo_request"),  # same day as above
    ("A", "2025-01-11 09:00:00", "email_open", None, None),  # after the moment: no
    ("B", "2025-01-01 09:00:00", "page_view", "pricing", None),  # B's moment is unknown
    ("Z", "2025-01-01 09:00:00", "email_open", None, None),  # a lead not asked for
]


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=needs_spark)])
def test_edges_of_the_point_in_time_window(engine):
    leads = pd.Series(["A", "B", "C"])
    moment = pd.Series(pd.to_datetime(["2025-01-10 12:00", None, "2025-01-10 12:00"]))
    activities = _activities(EDGES)
    expected = reference_features.activity_counts(activities, leads, moment, [7, 30, 90])
    found = feature_sql.activity_counts(engine, activities, leads, moment, [7, 30, 90])
    assert_same(expected, found)
    a = found.iloc[0]
    assert a["page_pricing_7d"] == 2 and a["page_pricing_30d"] == 3
    assert a["form_demo_request_7d"] == 0 and a["form_demo_request_30d"] == 1
    assert a["activities_30d"] == 4 and a["active_days_30d"] == 2
    assert a["days_since_last_activity"] == pytest.approx(0.001 / 86_400)
    # No moment, or no activity: zero counts and no recency, one row each all the same.
    assert found.iloc[1:]["activities_90d"].tolist() == [0, 0]
    assert found.iloc[1:]["days_since_last_activity"].isna().all()


def test_lead_ids_must_be_unique():
    with pytest.raises(ValueError, match="unique lead ids"):
        feature_sql.activity_counts(
            "duckdb",
            _activities(EDGES),
            pd.Series(["A", "A"]),
            pd.Series(pd.to_datetime(["2025-01-10", "2025-01-10"])),
            [7, 30, 90],
        )


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown feature engine 'polars'"):
        feature_sql.activity_counts(
            "polars",
            _activities(EDGES),
            pd.Series(["A"]),
            pd.Series(pd.to_datetime(["2025-01-10"])),
            [7, 30, 90],
        )


def test_the_spark_query_is_the_duckdb_query_transpiled():
    duck, spark = feature_sql.query((7, 30, 90)), feature_sql.query((7, 30, 90), "spark")
    assert "page_pricing_7d" in duck and "page_pricing_7d" in spark
    assert "COUNT_IF" in spark and "DATEDIFF(MICROSECOND" in spark
