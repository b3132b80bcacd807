"""The audit on a hand-built dataset whose answers are worked out by hand."""

import json

import pandas as pd
import pytest

from scoring.audit.funnel import audit_funnel, headline_markdown, write_summary
from scoring.core.config import FunnelParams
from scoring.data.contract import validate_leads
from tests.conftest import lead_row, leads_frame


@pytest.fixture
def known_leads() -> pd.DataFrame:
    rows = [
        # web MQL touched after 1 business hour; SQL, opportunity won after 30 days
        lead_row(
            "L1",
            "2025-01-06 09:00",
            mql_at="2025-01-06 10:00",
            first_touch_at="2025-01-06 11:00",
            sal_at="2025-01-06 12:00",
            sql_at="2025-01-10 10:00",
            opportunity_at="2025-01-15 10:00",
            won_at="2025-02-14 10:00",
            owner_id="rep_a",
        ),
        # web MQL on Friday 16:00, touched Monday 10:00 = 2 business hours; lost after 40 days
        lead_row(
            "L2",
            "2025-01-06 09:00",
            mql_at="2025-01-10 16:00",
            first_touch_at="2025-01-13 10:00",
            sal_at="2025-01-13 11:00",
            sql_at="2025-01-16 10:00",
            opportunity_at="2025-01-20 10:00",
            lost_at="2025-03-01 10:00",
            owner_id="rep_a",
            region="North America",
        ),
        # event MQL touched after 5 business hours, disqualified
        lead_row(
            "L3",
            "2025-01-06 09:00",
            mql_at="2025-01-07 09:00",
            first_touch_at="2025-01-07 14:00",
            lead_source="event",
            owner_id="rep_b",
            disqualification_reason="No budget",
            employee_count=20.0,
        ),
        # event MQL never touched
        lead_row(
            "L4",
            "2025-01-06 09:00",
            mql_at="2025-01-08 09:00",
            lead_source="event",
            owner_id="rep_b",
        ),
        # never MQL
        lead_row("L5", "2025-01-07 09:00", email="sam@example.com"),
        # the same person again, typed differently; a placeholder industry, no size
        lead_row(
            "L6",
            "2025-01-08 09:00",
            email=" SAM@example.com",
            industry="Select",
            employee_count=None,
        ),
    ]
    return validate_leads(leads_frame(rows))


def test_stage_conversion(known_leads):
    audit = audit_funnel(known_leads, FunnelParams())
    table = audit.stage_conversion.set_index("stage")
    assert table["leads"].to_dict() == {
        "lead": 6,
        "mql": 4,
        "sal": 2,
        "sql": 2,
        "opportunity": 2,
        "won": 1,
    }
    assert table.loc["mql", "share_of_leads"] == pytest.approx(4 / 6)
    assert table.loc["sql", "conversion_from_previous"] == pytest.approx(1.0)
    assert table.loc["won", "conversion_from_previous"] == pytest.approx(0.5)


def test_mql_to_sql_by_source_and_segment(known_leads):
    audit = audit_funnel(known_leads, FunnelParams(min_segment_size=2))
    by_source = audit.mql_to_sql_by_source.set_index("lead_source")
    assert by_source.loc["web", ["mqls", "sqls"]].tolist() == [2, 2]
    assert by_source.loc["event", "conversion"] == 0.0
    assert bool(by_source.loc["web", "meets_target"]) and not by_source.loc["event", "meets_target"]
    by_region = audit.mql_to_sql_by_segment["region"].set_index("region")
    assert by_region.loc["north america", "conversion"] == 1.0
    assert bool(by_region.loc["north america", "small_sample"])
    sizes = audit.mql_to_sql_by_segment["company_size_band"].set_index("company_size_band")
    assert sizes.loc["1-49", "mqls"] == 1


def test_response_time_and_sla(known_leads):
    audit = audit_funnel(known_leads, FunnelParams())
    summary = audit.response_time.iloc[0]
    assert (summary["mqls"], summary["touched"], summary["untouched"]) == (4, 3, 1)
    assert summary["median_business_hours"] == pytest.approx(2.0)
    assert summary["share_within_sla"] == pytest.approx(2 / 3)
    by_rep = audit.response_time_by_rep.set_index("owner_id")
    assert by_rep.loc["rep_a", "median_business_hours"] == pytest.approx(1.5)
    assert by_rep.loc["rep_b", "share_within_sla"] == 0.0
    sla = audit.sla.set_index("target")
    assert sla.iloc[0]["actual"] == pytest.approx(0.5)
    assert sla["met"].tolist() == [True, False]  # 50% >= 25%; 67% within SLA < 80%
    buckets = audit.conversion_by_response.set_index("bucket")
    assert buckets.loc["<= 1h", "conversion"] == 1.0
    assert buckets.loc["2-8h", "mqls"] == 1 and buckets.loc["not touched", "mqls"] == 1


def test_cycle_win_rate_reasons_quality(known_leads):
    audit = audit_funnel(known_leads, FunnelParams())
    cycle = audit.sales_cycle["lead_source"].set_index("lead_source")
    assert cycle.loc["web", "median_days"] == pytest.approx(35.0)
    wins = audit.win_rate_by_source.set_index("lead_source")
    assert wins.loc["web", ["won", "lost", "open"]].tolist() == [1, 1, 0]
    assert wins.loc["web", "win_rate"] == 0.5
    assert audit.disqualification.to_dict("records") == [
        {"reason": "no budget", "leads": 1, "share": 1.0}
    ]
    filled = audit.completeness.set_index("field")["filled"]
    assert filled["industry"] == pytest.approx(5 / 6)
    assert filled["employee_count"] == pytest.approx(5 / 6)
    dups = audit.duplicates.set_index("check")
    assert dups.loc["same e-mail on several leads", "extra_records"] == 1
    assert audit.timestamp_order["out_of_order"].sum() == 0


def test_out_of_order_timestamps_are_counted_with_examples(known_leads):
    leads = known_leads.copy()
    leads.loc[0, "first_touch_at"] = pd.Timestamp("2025-01-06 08:00")
    audit = audit_funnel(leads, FunnelParams())
    row = audit.timestamp_order.set_index("check").loc["first_touch_at before mql_at"]
    assert row["out_of_order"] == 1 and row["examples"] == "L1"
    assert audit.response_time.iloc[0]["touch_before_mql"] == 1


def test_summary_is_json_and_headline_reads(known_leads, tmp_path):
    audit = audit_funnel(known_leads, FunnelParams())
    path = write_summary(audit, tmp_path / "funnel.json")
    data = json.loads(path.read_text())
    assert data["stage_conversion"][1] == {
        "stage": "mql",
        "leads": 4,
        "share_of_leads": pytest.approx(4 / 6, abs=1e-6),
        "conversion_from_previous": pytest.approx(4 / 6, abs=1e-6),
    }
    assert data["sla"][1]["met"] is False
    text = headline_markdown(audit)
    assert "67% of leads became MQLs" in text and "**missed**" in text


def test_unknown_segment_and_empty_table_are_refused(known_leads):
    with pytest.raises(ValueError, match="unknown segment"):
        audit_funnel(known_leads, FunnelParams(segments=["shoe_size"]))
    with pytest.raises(ValueError, match="empty"):
        audit_funnel(known_leads.iloc[:0], FunnelParams())
