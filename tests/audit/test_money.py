"""The audit's money sections on a hand-built dataset whose answers are worked out by hand."""

import json

import pandas as pd
import pytest

from scoring.audit.funnel import audit_funnel, headline_markdown
from scoring.core.config import FunnelParams
from scoring.core.errors import DataContractError
from scoring.data.contract import validate_leads
from tests.conftest import lead_row, leads_frame


def _money_leads() -> pd.DataFrame:
    rows = [
        # web MQL Monday 10:00, accepted 11:00 (1 business hour); won 20,000 after 30 days
        lead_row(
            "L1",
            "2025-01-06 09:00",
            company_name="Acme",
            mql_at="2025-01-06 10:00",
            first_touch_at="2025-01-06 10:30",
            sal_at="2025-01-06 11:00",
            sql_at="2025-01-08 10:00",
            opportunity_at="2025-01-10 10:00",
            won_at="2025-02-09 10:00",
            opportunity_amount=20000.0,
            owner_id="rep_a",
        ),
        # web MQL Monday 10:00, rejected Tuesday 10:00 (8 business hours): late
        lead_row(
            "L2",
            "2025-01-06 09:00",
            company_name="Other Co",
            mql_at="2025-01-06 10:00",
            first_touch_at="2025-01-06 12:00",
            sal_rejected_at="2025-01-07 10:00",
            sal_rejection_reason="not a fit",
            recycled_at="2025-01-08 10:00",
            reengaged_at="2025-03-09 10:00",
            sql_at="2025-03-12 10:00",
            owner_id="rep_b",
        ),
        # event MQL accepted after 2 business hours; opportunity of 10,000 lost after 50 days
        lead_row(
            "L3",
            "2025-01-06 09:00",
            company_name=" ACME ",
            lead_source="event",
            mql_at="2025-01-07 09:00",
            first_touch_at="2025-01-07 10:00",
            sal_at="2025-01-07 11:00",
            sql_at="2025-01-09 10:00",
            opportunity_at="2025-01-20 10:00",
            lost_at="2025-03-11 10:00",
            opportunity_amount=10000.0,
            owner_id="rep_b",
        ),
        # event lead, never an MQL, back to nurture and quiet since
        lead_row("L4", "2025-02-06 09:00", lead_source="event", recycled_at="2025-03-01 10:00"),
    ]
    frame = leads_frame(rows)
    for column in ("sal_rejected_at", "recycled_at", "reengaged_at"):
        frame[column] = pd.to_datetime(frame[column])
    return validate_leads(frame)


SPEND = pd.DataFrame(
    {
        "month": ["2025-01", "2025-02", "2024-12"],
        "lead_source": ["web", "event", "web"],
        "amount": [3000.0, 1000.0, 999.0],
    }
)
ACCOUNTS = pd.DataFrame({"company_name": ["acme"]})


def test_every_money_section_on_hand_worked_figures():
    audit = audit_funnel(_money_leads(), FunnelParams(), SPEND, ACCOUNTS)
    tables = audit.money.tables
    assert audit.money.skipped == {}

    sal = tables["sal_response"]["overall"].iloc[0]
    assert (sal["mqls"], sal["accepted"], sal["rejected"], sal["undecided"]) == (3, 2, 1, 0)
    assert sal["share_decided_within_deadline"] == pytest.approx(2 / 3)  # 1 h, 8 h, 2 h vs 4 h
    assert tables["sal_response"]["rejection_reasons"].iloc[0]["reason"] == "not a fit"
    sla = audit.sla.set_index("target")
    assert sla["status"].iloc[-1] == "missed" and "within 4 business hours" in sla.index[-1]

    deal = tables["deal_size"].set_index("company_size_band").loc["all"]
    assert (deal["opportunities"], deal["won_deals"]) == (2, 1)
    assert deal["average_opportunity"] == 15000 and deal["average_won_deal"] == 20000

    revenue = tables["revenue_by_source"].set_index("lead_source")
    assert revenue.loc["web", "won_revenue"] == 20000 and revenue.loc["event", "win_rate"] == 0
    assert revenue.loc["web", "share_of_revenue"] == 1.0

    velocity = tables["pipeline_velocity"]["overall"].iloc[0]
    months = (pd.Timestamp("2025-02-06 09:00") - pd.Timestamp("2025-01-06 09:00")) / pd.Timedelta(
        days=365.25 / 12
    )
    per_month = 2 / max(months, 1.0)
    assert velocity["win_rate"] == 0.5 and velocity["sales_cycle_days"] == 30
    assert velocity["velocity_per_day"] == pytest.approx(per_month * 0.5 * 20000 / 30)

    cost = tables["cost_per_stage"].set_index("lead_source")
    # Spend of the months the leads cover (December is outside): web 3,000, event 1,000.
    assert cost.loc["web", "cost_per_mql"] == 1500 and cost.loc["event", "cost_per_lead"] == 500
    assert cost.loc["all sources", "spend"] == 4000
    assert cost.loc["all sources", "cost_per_opportunity"] == 2000

    accounts = tables["target_accounts"].set_index("accounts")
    assert accounts.loc["target accounts", "leads"] == 2  # "Acme" and " ACME "
    assert accounts.loc["target accounts", "lead_to_sql"] == 1.0
    assert accounts.loc["other accounts", "lead_to_sql"] == 0.5

    recycled = tables["recycled"].iloc[0]
    assert (recycled["recycled"], recycled["reengaged"], recycled["sql_after_recycling"]) == (
        2,
        1,
        1,
    )
    assert recycled["median_days_to_reengage"] == 60
    assert recycled["conversion_of_reengaged"] == 1.0

    summary = json.loads(json.dumps(audit.summary()))
    for key in ("sal_response", "pipeline_velocity", "cost_per_stage", "recycled"):
        assert summary[key]
    headline = headline_markdown(audit)
    assert "Pipeline velocity" in headline and "Target accounts: 2 leads" in headline


def test_sections_without_their_data_are_skipped_with_the_reason():
    leads = _money_leads().drop(
        columns=["opportunity_amount", "sal_rejected_at", "sal_rejection_reason", "recycled_at"]
    )
    audit = audit_funnel(leads, FunnelParams())
    assert set(audit.money.tables) == set()
    assert "opportunity_amount" in audit.money.skipped["pipeline_velocity"]
    assert "spend" in audit.money.skipped["cost_per_stage"]
    assert len(audit.sla) == 2  # no SAL deadline row without rejections
    assert "Skipped: sal response" in headline_markdown(audit)
    assert audit.summary()["skipped_sections"]["recycled"].startswith("the leads table has no")


def test_a_bad_spend_table_names_the_file_the_column_and_rows():
    bad = SPEND.assign(amount=["3000", "lots", "-5"])
    with pytest.raises(DataContractError, match=r"spend.csv: column 'amount'.*row 3: 'lots'"):
        audit_funnel(_money_leads(), FunnelParams(), bad, None, ("spend.csv", "accounts.csv"))
    with pytest.raises(DataContractError, match="needs columns month, lead_source and amount"):
        audit_funnel(_money_leads(), FunnelParams(), SPEND.drop(columns="amount"), None)
    with pytest.raises(DataContractError, match=r"accounts\.csv: the target-account list needs"):
        audit_funnel(
            _money_leads(),
            FunnelParams(),
            None,
            pd.DataFrame({"name": ["x"]}),
            ("spend.csv", "accounts.csv"),
        )


def test_a_flat_export_with_an_amount_column_gives_deal_size_and_revenue(tmp_path):
    from scoring.audit.flat_export import audit_export, audit_markdown
    from scoring.core.config import FlatParams
    from scoring.data import flat

    n = 120
    export = pd.DataFrame(
        {
            "Id": [f"x{i}" for i in range(n)],
            "Lead Source": ["web", "event", "partner"] * (n // 3),
            "Visits": [i % 7 for i in range(n)],
            "Converted": [1 if i % 4 == 0 else 0 for i in range(n)],
        }
    )
    export["Deal Amount"] = [
        f"${1000 * (i % 3 + 1):,}" if converted else ""
        for i, converted in enumerate(export["Converted"])
    ]
    path = tmp_path / "export.csv"
    export.to_csv(path, index=False)
    params = FlatParams(
        path=str(path),
        id_column="Id",
        target_column="Converted",
        amount_column="Deal Amount",
        min_positives=5,
    )
    audit = audit_export(params)
    deal = audit.money["deal_size"].iloc[0]
    assert deal["won_deals"] == 30 and deal["won_revenue"] == 30 * 2000
    revenue = audit.money["revenue_by_source"].set_index("Lead Source")
    assert revenue["won_revenue"].sum() == 60000
    assert set(audit.skipped) == {
        "sal_response",
        "pipeline_created",
        "pipeline_velocity",
        "cost_per_stage",
        "target_accounts",
        "recycled",
    }
    assert "deal size" not in audit_markdown(audit).split("Money sections skipped:")[1]
    # Known only after the outcome: never a feature.
    assert "Deal Amount" not in flat.build_dataset(params).features.columns

    export.loc[3, "Deal Amount"] = "a lot"
    export.to_csv(path, index=False)
    with pytest.raises(DataContractError, match=r"'Deal Amount'.*row 5: 'a lot'"):
        audit_export(params)
