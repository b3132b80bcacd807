"""The served form of leads: the lead's fields plus an `activities` list of events."""

import numpy as np
import pandas as pd
import pytest

from scoring.runtime import serving
from scoring.runtime.inputs import ScoringInputError


def leads_and_events():
    leads = pd.DataFrame(
        {"lead_id": ["a", "b", "c"], "created_at": pd.to_datetime(["2026-01-01"] * 3)}
    )
    activities = pd.DataFrame(
        {
            "lead_id": ["b", "a", "b"],
            # Nanoseconds survive: an event at its lead's creation time must stay there.
            "occurred_at": pd.to_datetime(
                ["2026-01-02 10:00:00.123456789", "2026-01-01", "2026-01-03"], format="ISO8601"
            ),
            "activity_type": ["page_view", "form_submit", "email_open"],
            "page_category": ["pricing", None, None],
            "form_type": [None, "demo_request", None],
        }
    )
    return leads, activities


def test_the_served_form_round_trips_leads_and_their_activities():
    leads, activities = leads_and_events()
    served = serving.with_activities(leads, activities)
    assert [len(events) for events in served[serving.ACTIVITIES]] == [1, 2, 0]
    back_leads, back = serving.split_activities(served)
    pd.testing.assert_frame_equal(back_leads, leads)
    ordered = back.sort_values(["lead_id", "occurred_at"]).reset_index(drop=True)
    expected = activities.sort_values(["lead_id", "occurred_at"]).reset_index(drop=True)
    assert ordered["occurred_at"].tolist() == expected["occurred_at"].tolist()
    assert ordered["form_type"].fillna("-").tolist() == ["demo_request", "-", "-"]


def test_events_from_spark_arrive_as_arrays_and_none_is_no_events():
    leads, _ = leads_and_events()
    served = leads.assign(
        activities=[
            np.array([{"occurred_at": "2026-01-02T00:00:00", "activity_type": "page_view"}]),
            None,
            [],
        ]
    )
    _, events = serving.split_activities(served)
    assert events["lead_id"].tolist() == ["a"] and events["page_category"].isna().all()


@pytest.mark.parametrize(
    "events, message",
    [
        ([{"activity_type": "page_view"}], "lead_id='b'.*occurred_at and activity_type"),
        (["page_view"], "lead_id='b'.*each event needs"),
        ("page_view", "expected a list of events, got str"),
    ],
)
def test_a_malformed_event_names_its_lead(events, message):
    leads, _ = leads_and_events()
    served = leads.assign(activities=[[], events, []])
    with pytest.raises(ScoringInputError, match=message):
        serving.split_activities(served)


def test_an_export_without_dates_gets_an_example_too():
    """bank-marketing has no date column: its test window is row numbers, not days."""
    from types import SimpleNamespace

    loaded = SimpleNamespace(
        card={"test_window": ["36170", "45212"]},
        profile={"age": {"kind": "numeric", "edges": [30.0, 40.0, 50.0]}},
        preprocessing={
            "source": "flat",
            "flat": {
                "id_column": None,
                "date_column": None,
                "columns": [
                    {"column": "age", "kind": "numeric"},
                    {"column": "job", "kind": "text"},
                ],
            },
        },
    )
    example, params = serving.input_example(loaded)
    assert example["age"].tolist() == [40.0, 40.0] and params["as_of"]
