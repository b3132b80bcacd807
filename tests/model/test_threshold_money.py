"""A threshold in money: pipeline and velocity of its MQLs against today's rules'."""

import numpy as np
import pandas as pd
import pytest

from scoring.core import stats
from scoring.model import threshold_money


def _leads() -> pd.DataFrame:
    stamp = pd.Timestamp
    return pd.DataFrame(
        {
            "lead_id": ["a", "b", "c", "d"],
            "opportunity_at": [stamp("2025-01-01"), stamp("2025-01-01"), stamp("2025-01-05"), None],
            "won_at": [stamp("2025-01-31"), None, stamp("2025-01-15"), None],
            "lost_at": [None, stamp("2025-02-01"), None, None],
            "opportunity_amount": [30000.0, 10000.0, 6000.0, np.nan],
        }
    )


def test_pipeline_and_velocity_of_a_set_of_mqls_by_hand():
    deals = threshold_money.deals_of(_leads(), pd.Series(["a", "b", "c", "d"]))
    counts = stats.resample_counts(stats.resample_indices(4, 50, np.random.default_rng(1)), 4)
    model = np.array([True, True, True, False])  # 3 opportunities, 2 won of 3 closed
    rules = np.array([True, True, False, True])  # 2 opportunities, 1 won of 2 closed
    row = threshold_money.money_row(model, rules, deals, 2.0, counts)
    assert row["pipeline_per_month"] == (30000 + 10000 + 6000) / 2
    # 1.5 opportunities a month x 2/3 x (36,000 won over 40 won-days) x 30.44 days
    velocity = 1.5 * (2 / 3) * (36000 / 40) * 365.25 / 12
    assert row["pipeline_velocity"] == pytest.approx(velocity)
    rules_velocity = 1.0 * 0.5 * (30000 / 30) * 365.25 / 12
    assert row["pipeline_velocity_vs_rules"] == pytest.approx(velocity / rules_velocity - 1)
    assert row["pipeline_per_month_vs_rules"] == 46000 / 2 - 40000 / 2
    low, high = row["pipeline_velocity_vs_rules_low"], row["pipeline_velocity_vs_rules_high"]
    assert low <= high
    assert "pipeline_velocity_vs_rules" not in threshold_money.money_row(
        model, None, deals, 2.0, counts
    )


def test_no_amounts_no_money_and_the_claim_in_plain_words():
    assert (
        threshold_money.deals_of(_leads().drop(columns="opportunity_amount"), pd.Series(["a"]))
        is None
    )
    words = threshold_money.claim_words
    row = lambda c, lo, hi: {  # noqa: E731
        "pipeline_velocity_vs_rules": c,
        "pipeline_velocity_vs_rules_low": lo,
        "pipeline_velocity_vs_rules_high": hi,
    }
    assert "more than the 15% to 25%" in words(row(0.5, 0.3, 0.7))
    assert "no gain is shown" in words(row(0.1, -0.05, 0.3))
    assert "a gain is shown" in words(row(0.6, 0.1, 2.0))
    assert "smaller than" in words(row(0.08, 0.02, 0.12))
    assert "a loss" in words(row(-0.3, -0.5, -0.1))
    assert words(row(None, None, None)) is None
