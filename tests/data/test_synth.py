"""The synthetic CRM: deterministic, plausible, dirty and leaky the way real CRMs are."""

import numpy as np
import pandas as pd
import pytest

from scoring.core.config import GeneratorParams
from scoring.data import synth
from scoring.data.contract import validate_activities, validate_leads


def test_same_seed_same_data_other_seed_other_data():
    params = GeneratorParams(n_leads=1_000)
    a, b = synth.generate(params, seed=3), synth.generate(params, seed=3)
    pd.testing.assert_frame_equal(a.leads, b.leads)
    pd.testing.assert_frame_equal(a.activities, b.activities)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    c = synth.generate(params, seed=4)
    assert not a.truth["true_probability"].equals(c.truth["true_probability"])


def test_generated_tables_meet_the_contract(small_crm):
    leads = validate_leads(small_crm.leads)
    acts = validate_activities(small_crm.activities, leads["lead_id"])
    assert len(leads) == 20_000 and leads["lead_id"].is_unique
    assert len(acts) > 10 * len(leads)


def test_base_rates_are_plausible(small_crm):
    leads = small_crm.leads
    mql = leads["mql_at"].notna()
    sql = leads["sql_at"].notna()
    won, lost = leads["won_at"].notna().sum(), leads["lost_at"].notna().sum()
    assert 0.25 <= mql.mean() <= 0.40
    assert 0.15 <= (sql & mql).sum() / mql.sum() <= 0.30
    assert 0.20 <= won / (won + lost) <= 0.30


def test_window_growth_and_seasonality(small_crm):
    created = small_crm.leads["created_at"]
    assert created.min() >= pd.Timestamp("2024-10-01")
    assert created.max() <= small_crm.snapshot
    per_month = created.dt.to_period("M").value_counts().sort_index()
    assert len(per_month) == 24
    assert per_month.iloc[-6:].mean() > 1.3 * per_month.iloc[:6].mean()  # growth
    august = per_month[per_month.index.month == 8].mean()
    september = per_month[per_month.index.month == 9].mean()
    assert august < september  # the summer dip


def test_true_probability_is_not_reachable_from_the_tables(small_crm):
    truth = small_crm.truth.set_index("lead_id")["true_probability"]
    leads = small_crm.leads.set_index("lead_id")
    assert not {"true_probability", "fit", "intent"} & set(leads.columns)
    assert not {"true_probability", "fit", "intent"} & set(small_crm.activities.columns)
    counts = small_crm.activities.groupby("lead_id", observed=True).size()
    candidates = leads.select_dtypes("number").assign(activities=counts)
    for column in candidates:
        rho = candidates[column].corr(truth.reindex(candidates.index), method="spearman")
        assert abs(rho) < 0.9, f"{column} nearly reveals the true probability ({rho:.2f})"


def test_truth_drives_conversion(small_crm):
    truth = small_crm.truth.set_index("lead_id")["true_probability"]
    converted = small_crm.leads.set_index("lead_id")["sql_at"].notna()
    top = truth >= truth.quantile(0.9)
    assert converted[top].mean() > 4 * converted[truth <= truth.median()].mean()


def test_channel_drop_and_late_campaign(small_crm):
    leads = small_crm.leads
    truth = small_crm.truth["true_probability"]
    last_quarter = leads["created_at"] >= small_crm.snapshot - pd.DateOffset(months=3)
    social = leads["lead_source"] == "paid_social"
    assert truth[social & last_quarter].mean() < 0.6 * truth[social & ~last_quarter].mean()
    late = leads.loc[leads["campaign"] == synth.LATE_CAMPAIGN, "created_at"]
    assert len(late) > 50
    assert late.min() >= small_crm.snapshot - pd.DateOffset(months=5)


def test_fast_response_converts_more(small_crm):
    leads = small_crm.leads
    mql = leads[leads["mql_at"].notna() & leads["first_touch_at"].notna()]
    hours = (mql["first_touch_at"] - mql["mql_at"]).dt.total_seconds() / 3600
    fast = mql.loc[hours.between(0, 1), "sql_at"].notna().mean()
    slow = mql.loc[hours > 24, "sql_at"].notna().mean()
    assert fast > 1.3 * slow


def test_fit_has_interactions():
    """The same seniority is worth different amounts of fit in different industry x size cells."""
    effect = synth.SIZE_EFFECT
    assert np.argmax(effect["digital"]) != np.argmax(effect["regulated"])


def test_dirty_firmographics(small_crm):
    leads = small_crm.leads
    industry = leads["industry"].dropna()
    assert industry.isin(["Select", "", "N/A", "-", "none"]).any()
    assert (industry.str.isupper() & (industry.str.len() > 3)).any()
    assert industry.str.endswith(" ").any()
    assert leads["employee_count"].isna().mean() > 0.03
    email = leads["email"].str.strip().str.lower()
    assert email.duplicated().sum() >= 0.01 * len(leads)
    assert (leads["first_touch_at"] < leads["mql_at"]).sum() > 0


def test_leaks_are_planted(small_crm):
    leads = small_crm.leads
    acts = small_crm.activities.merge(
        leads[["lead_id", "sql_at"]].astype({"lead_id": str}),
        left_on=small_crm.activities["lead_id"].astype(str),
        right_on="lead_id",
    )
    after = (acts["occurred_at"] > acts["sql_at"]).sum()
    assert after > 2 * leads["sql_at"].notna().sum()
    status = leads.groupby("lead_status")["sql_at"].apply(lambda s: s.notna().mean())
    assert status["Converted"] == 1.0 and status["Open"] == 0.0


def test_nothing_happens_after_the_snapshot(small_crm):
    stamps = small_crm.leads.select_dtypes("datetime")
    assert (stamps.max() <= small_crm.snapshot).all()
    assert small_crm.activities["occurred_at"].max() <= small_crm.snapshot


def test_flat_export_counts_activity_up_to_export_date(small_crm):
    flat = synth.flat_export(small_crm.leads, small_crm.activities, small_crm.snapshot)
    assert len(flat) == len(small_crm.leads) and flat["Prospect ID"].is_unique
    converted = small_crm.leads["sql_at"].notna().astype(int).to_numpy()
    assert (flat["Converted"].to_numpy() == converted).all()
    # the classic leak: converted leads show far more activity than the rest
    assert (
        flat.loc[flat["Converted"] == 1, "Email Opens"].mean()
        > 2 * flat.loc[flat["Converted"] == 0, "Email Opens"].mean()
    )
    assert {"Lead Status", "Lead Rating"} <= set(flat.columns)


@pytest.mark.parametrize("n_leads", [100, 150])
def test_tiny_runs_work(n_leads):
    crm = synth.generate(GeneratorParams(n_leads=n_leads), seed=1)
    assert len(crm.leads) == n_leads == len(crm.truth)


def test_some_leads_come_back_from_nurture_and_some_of_those_convert(small_crm):
    truth = small_crm.truth.set_index("lead_id")
    leads = small_crm.leads.set_index("lead_id")
    back = truth["recycled_at"].dropna()
    # About 5% of the leads that did not convert first, 30 to 240 days after creation.
    assert 0.02 < len(back) / len(leads) < 0.06
    age = (back - leads.loc[back.index, "created_at"]).dt.days
    assert age.between(30, 240).all()
    # They come back with a burst of engagement opened by a form at that moment ...
    acts = small_crm.activities.merge(back.rename("back"), left_on="lead_id", right_index=True)
    after = acts[acts["occurred_at"] >= acts["back"]]
    assert after["lead_id"].nunique() == len(back)
    opened = after[after["occurred_at"] == after["back"]]
    assert set(opened["form_type"]) <= {"demo_request", "content_gate"}
    # ... a better chance than before, and those that convert do so after coming back.
    assert (
        truth.loc[back.index, "true_probability_after"].mean()
        > 1.5 * truth.loc[back.index, "true_probability"].mean()
    )
    converted = leads.loc[back.index, "sql_at"].dropna()
    assert 0.1 < len(converted) / len(back) < 0.4
    assert (converted > back[converted.index]).all()
    assert truth["true_probability_after"].notna().sum() == len(back)


def test_recycling_draws_apart_from_the_rest_of_the_crm():
    quiet = synth.generate(GeneratorParams(n_leads=3_000, recycle_rate=0.0), seed=3)
    busy = synth.generate(GeneratorParams(n_leads=3_000, recycle_rate=0.2), seed=3)
    assert quiet.truth["recycled_at"].isna().all()
    same = busy.truth["recycled_at"].isna().to_numpy()
    for column in ("lead_id", "created_at", "industry", "job_title", "email"):
        pd.testing.assert_series_equal(quiet.leads[column], busy.leads[column])
    pd.testing.assert_series_equal(quiet.leads.loc[same, "sql_at"], busy.leads.loc[same, "sql_at"])


def test_going_back_to_nurture_does_not_tell_which_leads_will_come_back(small_crm):
    leads = small_crm.leads.set_index("lead_id")
    comes_back = small_crm.truth.set_index("lead_id")["recycled_at"].notna()
    settled = leads["created_at"] < leads["created_at"].max() - pd.Timedelta(days=60)
    stalled = settled & leads["sql_at"].isna() & leads["sal_at"].isna()
    # Marketing puts every stalled lead back to nurture, whether or not it ever comes back.
    in_nurture = leads["recycled_at"].notna()
    assert in_nurture[stalled & ~comes_back].mean() > 0.95
    assert in_nurture[stalled & comes_back].mean() == 1.0
    # A lead that converts later can be back in nurture first (sales found it late).
    late = settled & (leads["sql_at"] - leads["created_at"] > pd.Timedelta(days=28))
    assert in_nurture[late & ~comes_back].mean() > 0.5
