"""When a lead is scored, and with what age: one moment a lead, or any age (the daily job)."""

import pandas as pd
import pytest

from scoring.runtime import batch
from scoring.runtime.inputs import ScoringInputError
from tests.conftest import lead_row, leads_frame

ONE_MOMENT = {
    "tables": {"scoring_moment": "created_plus_days", "days_after_created": 7, "windows_days": [7]}
}
ANY_AGE = {"tables": {**ONE_MOMENT["tables"], "snapshot_days": [0, 1, 7, 30]}}


def _leads() -> pd.DataFrame:
    return leads_frame(
        [
            lead_row("OLD", "2025-01-01 10:00"),  # 40 days old on the scoring day
            lead_row("NEW", "2025-02-08 10:00"),  # 2 days old
            lead_row("BAD", None),
        ]
    )


def test_one_moment_models_score_a_lead_as_of_its_moment_whatever_its_age():
    as_of = pd.Timestamp("2025-02-10 10:00")
    moment = batch.scoring_moment(_leads(), ONE_MOMENT, as_of)
    assert moment[0] == pd.Timestamp("2025-01-08 10:00")  # frozen at day 7
    assert moment[1] == as_of and pd.isna(moment[2])


def test_any_age_models_score_every_lead_as_of_the_scoring_day_with_its_age():
    as_of = pd.Timestamp("2025-02-10 10:00")
    frame, moment, errors = batch.lead_part(_leads(), ANY_AGE, as_of, "leads")
    assert moment.iloc[:2].tolist() == [as_of, as_of] and pd.isna(moment[2])
    assert frame["lead_age_days"].iloc[:2].tolist() == [40.0, 2.0]
    assert errors[2] is not None and "created_at" in errors[2]


def test_a_scoring_time_per_row():
    as_of = pd.Series(pd.to_datetime(["2025-01-02 10:00", "2025-02-09 10:00", "2025-03-01 00:00"]))
    frame, moment, _ = batch.lead_part(_leads(), ANY_AGE, as_of, "leads")
    assert moment.iloc[:2].tolist() == as_of.iloc[:2].tolist()
    assert frame["lead_age_days"].iloc[:2].tolist() == [1.0, 1.0]
    one = batch.scoring_moment(_leads(), ONE_MOMENT, as_of)
    assert one[0] == as_of[0]  # before its moment: scored with what is known then


def test_an_any_age_model_reads_status_times_as_of_the_scoring_day():
    settings = {"tables": {**ANY_AGE["tables"], "status_columns": ["recycled_at"]}}
    as_of = pd.Timestamp("2025-02-10 10:00")
    leads = _leads()
    with pytest.raises(ScoringInputError, match="recycled_at"):
        batch.lead_part(leads, settings, as_of, "leads.csv")
    # Back to nurture 10 days ago; not yet (a later time is not known on the scoring day);
    # unreadable: an error on that row, named, never a silent blank.
    leads["recycled_at"] = ["2025-01-31 10:00", "2025-02-11 10:00", "soon"]
    frame, _, errors = batch.lead_part(leads, settings, as_of, "leads.csv")
    assert frame["days_since_nurture"].iloc[0] == 10.0
    assert pd.isna(frame["days_since_nurture"].iloc[1]) and pd.isna(errors[1])
    assert "recycled_at is not a timestamp" in errors[2] and "'soon'" in errors[2]
    # A blank value is no error, nor "NaT" (how pandas and MLflow's examples write a blank).
    leads["recycled_at"] = ["", None, "NaT"]
    frame, _, errors = batch.lead_part(leads, settings, as_of, "leads.csv")
    assert not errors.fillna("").str.contains("recycled_at").any()
    assert frame["days_since_nurture"].isna().all()


def test_leads_past_their_outcome_or_lost_before_the_scoring_time_are_closed():
    leads = _leads().assign(
        sql_at=["2025-01-20 09:00", "not a time", None],
        lost_at=[None, "2025-02-09 12:00", "2025-03-01"],
    )
    settings = {**ANY_AGE["tables"], "outcome_column": "sql_at"}
    closed, read = batch.closed_before(leads, settings, pd.Timestamp("2025-02-10 10:00"))
    # OLD reached SQL, NEW was lost the day before; BAD is lost later (open then).
    assert closed.tolist() == [True, True, False] and read == ["sql_at", "lost_at"]
    # One time a row: the same leads scored before their SQL and loss are open.
    times = pd.Series(pd.to_datetime(["2025-01-19", "2025-02-10", "2025-02-10"]))
    assert batch.closed_before(leads, settings, times)[0].tolist() == [False, True, False]
    # Blank times tell nothing; an artifact from before outcome_column reads lost_at only.
    closed, read = batch.closed_before(_leads(), ONE_MOMENT["tables"], times)
    assert not closed.any() and read == ["lost_at"]
    without = _leads().drop(columns=["sql_at", "lost_at"])
    assert batch.closed_before(without, settings, times)[1] == []
