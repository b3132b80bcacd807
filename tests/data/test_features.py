"""Point-in-time features and labels on hand-built leads."""

import pandas as pd
import pytest

from scoring.core.config import FeatureParams, LabelParams
from scoring.data.contract import Tables, validate_activities, validate_leads
from scoring.data.features import (
    build_dataset,
    label_and_exclusions,
    lead_features,
    normalise_title,
)
from tests.conftest import lead_row, leads_frame

SNAPSHOT_FILLER = "2025-12-31"


def _tables(activity_rows: list[tuple]) -> Tables:
    leads = validate_leads(
        leads_frame(
            [
                lead_row("L1", "2025-01-01 10:00", sql_at="2025-02-01"),
                lead_row("L2", "2025-01-01 10:00", email="x@gmail.com", job_title="VP, Finance"),
                lead_row("L3", "2025-01-01 10:00", sql_at="2025-01-03"),  # converted before day 7
                lead_row("L4", "2025-11-20 10:00"),  # window not over by the snapshot
                lead_row("L5", "2025-12-31 10:00"),  # sets the snapshot
            ]
        )
    )
    activities = pd.DataFrame(
        activity_rows,
        columns=["lead_id", "occurred_at", "activity_type", "page_category", "form_type"],
    )
    activities["occurred_at"] = pd.to_datetime(activities["occurred_at"])
    return Tables(leads, validate_activities(activities, leads["lead_id"]))


BASE_ACTIVITY = [
    ("L1", "2024-12-20 10:00", "page_view", "pricing", None),  # 12 days before the moment
    ("L1", "2025-01-05 10:00", "page_view", "pricing", None),  # 3 days before
    ("L1", "2025-01-06 10:00", "form_submit", None, "demo_request"),
    ("L2", "2025-01-02 10:00", "email_open", None, None),
]


def test_label_and_exclusions():
    tables = _tables(BASE_ACTIVITY)
    label, moment, reason = label_and_exclusions(
        tables.leads, LabelParams(), pd.Timestamp("2025-12-31 10:00")
    )
    assert moment[0] == pd.Timestamp("2025-01-08 10:00")
    assert label.tolist()[:2] == [1, 0]
    assert "before the scoring moment" in reason[2]
    assert "immature" in reason[3]
    assert reason[:2].isna().all()


def test_features_count_only_what_happened_before_the_moment():
    dataset = build_dataset(_tables(BASE_ACTIVITY), LabelParams(), FeatureParams())
    assert dataset.lead_ids.tolist() == ["L1", "L2"]
    row = dataset.features.iloc[0]
    assert row["page_pricing_7d"] == 1 and row["page_pricing_30d"] == 2
    assert row["pricing_views_7d"] == 1 and row["demo_requests"] == 1
    assert row["days_since_last_activity"] == pytest.approx(2.0)
    assert dataset.exclusions["leads"].sum() == 3


def test_activity_after_the_scoring_moment_changes_nothing():
    before = build_dataset(_tables(BASE_ACTIVITY), LabelParams(), FeatureParams())
    later = [
        *BASE_ACTIVITY,
        ("L1", "2025-01-08 10:00", "form_submit", None, "contact_sales"),  # at the moment
        ("L1", "2025-01-20 10:00", "trial_signup", None, None),
        ("L2", "2025-03-01 10:00", "page_view", "pricing", None),
    ]
    after = build_dataset(_tables(later), LabelParams(), FeatureParams())
    pd.testing.assert_frame_equal(before.features, after.features)


def test_no_personal_data_in_features():
    dataset = build_dataset(_tables(BASE_ACTIVITY), LabelParams(), FeatureParams())
    assert not {
        "email",
        "first_name",
        "last_name",
        "company_name",
        "lead_status",
        "lead_rating",
        "disqualification_reason",
    } & set(dataset.features.columns)
    assert dataset.features.loc[1, "free_mail"] == 1


def test_title_normalisation():
    titles = pd.Series(
        [
            "CFO",
            "VP, Finance",
            "Director of IT",
            "Senior Marketing Manager",
            "Software Engineer",
            "MBA Student",
            "Select",
            None,
            "Chief Information Officer",
        ]
    )
    out = normalise_title(titles)
    assert out["seniority"].tolist() == [
        "c_level",
        "vp",
        "director",
        "manager",
        "individual",
        "student",
        "unknown",
        "unknown",
        "c_level",
    ]
    assert out["function"].tolist()[:5] == ["finance", "finance", "it", "marketing", "engineering"]
    assert out["function"].iloc[-1] == "it"


def test_lead_features_clean_placeholders_and_bands():
    leads = validate_leads(
        leads_frame(
            [
                lead_row("L1", "2025-01-01", industry=" SOFTWARE"),
                lead_row("L2", "2025-01-01", industry="N/A", employee_count=None),
            ]
        )
    )
    out = lead_features(leads)
    assert out["industry"].tolist() == ["software", "unknown"]
    assert out["industry_missing"].tolist() == [0, 1]
    assert out["company_size_band"].tolist() == ["200-999", "unknown"]


def test_max_leads_trains_on_a_recorded_uniform_sample():
    from scoring.core.config import GeneratorParams
    from scoring.data import contract as data
    from scoring.data import synth

    crm = synth.generate(GeneratorParams(n_leads=3_000), seed=2)
    tables = Tables(data.validate_leads(crm.leads), data.validate_activities(crm.activities))
    everyone = build_dataset(tables, LabelParams(), FeatureParams())
    sample = build_dataset(tables, LabelParams(), FeatureParams(max_leads=1_000), seed=5)
    assert everyone.sampling is None and len(everyone.label) > 1_000
    assert len(sample.label) == len(sample.features) == 1_000
    assert sample.sampling["eligible_leads"] == len(everyone.label)
    assert sample.sampling["kept_leads"] == 1_000 and sample.sampling["seed"] == 5
    assert "random sample of 1,000" in sample.notes[0]
    # The sampled leads keep their own features: the same rows as without sampling.
    rows = everyone.lead_ids.reset_index().set_index("lead_id").loc[sample.lead_ids, "index"]
    pd.testing.assert_frame_equal(
        everyone.features.loc[rows.to_numpy()].reset_index(drop=True), sample.features
    )
    again = build_dataset(tables, LabelParams(), FeatureParams(max_leads=1_000), seed=5)
    assert again.lead_ids.tolist() == sample.lead_ids.tolist()


def _any_age(per_lead: int = 8) -> LabelParams:
    return LabelParams(snapshot_days=[0, 1, 3, 7, 14, 30], snapshots_per_lead=per_lead)


def test_snapshots_hold_each_open_lead_at_each_age_with_its_label_from_that_moment():
    tables = _tables(BASE_ACTIVITY)
    dataset = build_dataset(tables, _any_age(), FeatureParams())
    snaps = dataset.snapshots
    rows = pd.DataFrame(
        {"lead": snaps.lead_ids, "age": snaps.age_days, "label": snaps.label}
    ).set_index(["lead", "age"])
    # The dataset's own rows come first, at their age, unchanged (counts held as 32-bit).
    assert snaps.lead_ids.head(2).tolist() == dataset.lead_ids.tolist() == ["L1", "L2"]
    pd.testing.assert_frame_equal(snaps.features.head(2), dataset.features, check_dtype=False)
    counts = dataset.features.select_dtypes("int64").columns
    assert len(counts) and (snaps.features[counts].dtypes == "int32").all()
    assert dataset.features["lead_age_days"].tolist() == [7.0, 7.0]
    # L1 converts on day 31: open at every age up to 30, converting within 90 days of each.
    assert rows.loc["L1"]["label"].to_dict() == {0: 1, 1: 1, 3: 1, 7: 1, 14: 1, 30: 1}
    # L3 converted on day 2: no dataset row, but it was open, and converting, at ages 0 and 1.
    assert rows.loc["L3"]["label"].to_dict() == {0: 1, 1: 1}
    # L4's windows are not over by the snapshot at any age; L5 is the snapshot.
    assert "L4" not in rows.index.get_level_values(0)
    # Features as of each moment: L1's demo request (day 5) is not seen on day 3, seen on day 7.
    l1 = snaps.features[snaps.lead_ids == "L1"].set_index(snaps.age_days[snaps.lead_ids == "L1"])
    assert l1.loc[3.0, "demo_requests"] == 0 and l1.loc[7.0, "demo_requests"] == 1
    assert l1["lead_age_days"].to_dict() == {a: a for a in (7.0, 0.0, 1.0, 3.0, 14.0, 30.0)}
    # Every lead's snapshots fall on its own moment: created + 7 days.
    assert (snaps.lead_moment[snaps.lead_ids == "L3"] == pd.Timestamp("2025-01-08 10:00")).all()


def test_a_lost_lead_has_no_snapshot_after_it_was_lost():
    tables = _tables(BASE_ACTIVITY)
    tables.leads.loc[tables.leads["lead_id"] == "L2", "lost_at"] = pd.Timestamp("2025-01-05")
    snaps = build_dataset(tables, _any_age(), FeatureParams()).snapshots
    # The dataset's own row stays (it is what the reports measure); other ages stop at 3.
    assert sorted(snaps.age_days[snaps.lead_ids == "L2"]) == [0.0, 1.0, 3.0, 7.0]


def test_the_drawn_moments_are_a_uniform_sample_of_every_open_lead_at_each_age():
    tables = _tables(BASE_ACTIVITY)
    snaps = build_dataset(tables, _any_age(per_lead=2), FeatureParams(), seed=3).snapshots
    # Every open moment is kept (the daily job's replay); the model learns from the drawn.
    assert snaps.lead_ids.value_counts().to_dict() == {"L1": 6, "L2": 6, "L3": 2}
    assert snaps.drawn.head(2).all()  # the dataset's own rows
    again = build_dataset(tables, _any_age(per_lead=2), FeatureParams(), seed=3).snapshots
    assert again.drawn.tolist() == snaps.drawn.tolist()  # seeded


def test_a_training_lead_s_moments_are_built_only_where_drawn():
    """Only validation and test leads are replayed at every open age; a training lead's other
    moments are read by nothing but the fit, so only its drawn ones are built: the same rows,
    features and draws, fewer feature queries."""
    tables = _tables(BASE_ACTIVITY)
    full = build_dataset(tables, _any_age(per_lead=2), FeatureParams(), seed=3)
    seen = []

    def everyone_trains(moment: pd.Series, label: pd.Series) -> pd.Timestamp:
        seen.append((moment.tolist(), label.tolist()))
        return pd.Timestamp("2030-01-01")

    lean = build_dataset(
        tables, _any_age(per_lead=2), FeatureParams(), seed=3, replay_from=everyone_trains
    )
    assert seen == [(full.moment.tolist(), full.label.tolist())]
    drawn = full.snapshots.drawn.to_numpy()
    assert lean.snapshots.drawn.all() and len(lean.snapshots.label) == drawn.sum() < len(drawn)
    pd.testing.assert_frame_equal(
        lean.snapshots.features, full.snapshots.features[drawn].reset_index(drop=True)
    )
    assert lean.snapshots.age_days.tolist() == full.snapshots.age_days[drawn].tolist()
    # Leads from the replayed window on keep every open moment.
    replayed = build_dataset(
        tables,
        _any_age(per_lead=2),
        FeatureParams(),
        seed=3,
        replay_from=lambda moment, label: moment.min(),
    )
    assert replayed.snapshots.lead_ids.tolist() == full.snapshots.lead_ids.tolist()


def test_early_converters_are_not_over_drawn_at_early_ages():
    """Regression: one draw a lead among its own open ages drew a lead that converts on day 2
    at age 0 half the time, a lead open at every age a fifth of the time; the model learned
    early ages from too many converters and over-predicted the daily queue 1.4-1.6 times."""
    from scoring.data.features import _open_and_drawn

    n = 4000
    created = pd.Timestamp("2025-01-01")
    leads = pd.DataFrame(
        {
            "created_at": [created] * n,
            "sql_at": [created + pd.Timedelta(days=2) if i % 2 else pd.NaT for i in range(n)],
            "lost_at": [pd.NaT] * n,
        }
    )
    params = LabelParams(snapshot_days=[0, 1, 3, 7, 14, 30], snapshots_per_lead=2)
    is_open, drawn = _open_and_drawn(leads, params, pd.Timestamp("2026-01-01"), seed=1)
    early, never = leads["sql_at"].notna(), leads["sql_at"].isna()
    assert is_open[0][early].all() and not is_open[3][early].any()
    chance_early, chance_never = drawn[0][early].mean(), drawn[0][never].mean()
    assert abs(chance_early - chance_never) < 0.04  # the same chance at age 0
    per_lead = sum(d.astype(int) for d in drawn.values())
    assert 0.9 < per_lead.mean() < 1.1  # snapshots_per_lead - 1 on average


def test_one_moment_a_lead_without_snapshot_days():
    dataset = build_dataset(_tables(BASE_ACTIVITY), LabelParams(), FeatureParams())
    assert dataset.snapshots is None and "lead_age_days" not in dataset.features


def test_a_quiet_lead_that_comes_back_is_a_moment_to_learn_from():
    comeback = ("L2", "2025-03-01 10:00", "form_submit", None, "demo_request")
    tables = _tables([*BASE_ACTIVITY, comeback])
    snaps = build_dataset(tables, _any_age(per_lead=1), FeatureParams()).snapshots
    l2 = snaps.lead_moment.index[snaps.lead_ids == "L2"]
    at = snaps.moment[l2]
    # 58 quiet days, then a demo request: the day after, with it among the features.
    back = at == pd.Timestamp("2025-03-02 10:00")
    assert back.sum() == 1 and snaps.drawn[l2][back].all()
    row = snaps.features.loc[l2[back.to_numpy()][0]]
    assert row["demo_requests"] == 1 and row["lead_age_days"] == 60.0
    # Without the setting, no such moment.
    plain = build_dataset(
        tables,
        _any_age(per_lead=1).model_copy(update={"reengaged_after_quiet_days": None}),
        FeatureParams(),
    ).snapshots
    assert (plain.moment[plain.lead_ids == "L2"] != pd.Timestamp("2025-03-02 10:00")).all()


def test_an_any_age_model_reads_where_the_lead_stands_only_as_of_each_moment():
    tables = _tables(BASE_ACTIVITY)
    leads = tables.leads
    # L2 goes back to nurture on day 10 and comes back on day 20; nobody is rejected.
    leads["recycled_at"] = pd.NaT
    leads["reengaged_at"] = pd.NaT
    leads["sal_rejected_at"] = pd.NaT
    leads.loc[leads["lead_id"] == "L2", "recycled_at"] = pd.Timestamp("2025-01-11 10:00")
    leads.loc[leads["lead_id"] == "L2", "reengaged_at"] = pd.Timestamp("2025-01-21 10:00")
    dataset = build_dataset(tables, _any_age(), FeatureParams())
    # A column without a single value says nothing: it is no feature.
    assert "days_since_sales_rejected" not in dataset.features
    snaps = dataset.snapshots
    l2 = snaps.features[snaps.lead_ids == "L2"].set_index(snaps.age_days[snaps.lead_ids == "L2"])
    # Not known before it happened; days since it after.
    assert l2.loc[[0.0, 1.0, 3.0, 7.0], "days_since_nurture"].isna().all()
    assert l2.loc[14.0, "days_since_nurture"] == 4.0 and l2.loc[30.0, "days_since_nurture"] == 20
    assert l2.loc[14.0, "days_since_reengaged"] != l2.loc[14.0, "days_since_reengaged"]  # NaN
    assert l2.loc[30.0, "days_since_reengaged"] == 10.0
    # A one-moment model does not read them.
    one_moment = build_dataset(tables, LabelParams(), FeatureParams())
    assert "days_since_nurture" not in one_moment.features
