import math

import pytest

from scoring.runtime.reasons import describe, feature_label


@pytest.mark.parametrize(
    ("feature", "value", "words"),
    [
        ("days_since_sales_rejected", 47.0, "Rejected by sales 47 days ago"),
        ("days_since_sales_rejected", math.nan, "Never rejected by sales"),
        ("days_since_nurture", 0.4, "Went back to nurture today"),
        ("days_since_reengaged", 1.625, "Came back from nurture 1 day ago"),
        ("days_since_reengaged", None, "Has not come back from nurture"),
        ("lead_age_days", 51.0, "Lead created 51 days ago"),
    ],
)
def test_where_an_any_age_lead_stands_is_said_in_words(feature, value, words):
    assert describe(feature, value, {}) == words
    assert "_" not in feature_label(feature)


@pytest.mark.parametrize(
    ("feature", "value", "words"),
    [
        ("activities_90d", 1, "1 activity in the last 90 days"),
        ("activities_90d", 2, "2 activities in the last 90 days"),
        ("webinar_attended_30d", 1, "1 webinar attended in the last 30 days"),
        ("page_pricing_7d", 1, "1 pricing page visit in the last 7 days"),
        ("form_demo_request_7d", 0, "No demo requests in the last 7 days"),
    ],
)
def test_one_of_a_kind_is_counted_in_the_singular(feature, value, words):
    assert describe(feature, value, {}) == words
