"""The daily job's MQLs on hand-built replays: first crossings, their conversion, intervals."""

import numpy as np
import pandas as pd
import pytest

from scoring.core import stats
from scoring.model.daily import FirstCrossings


def _replay(rows: list[tuple[str, float, float, int]]) -> pd.DataFrame:
    """(lead, age in days, score, converted within the window of that moment)."""
    return pd.DataFrame(rows, columns=["lead_id", "age_days", "score", "label"])


# A: rises from 0.2 to 0.9 on day 3 and converts in every window (a hot lead);
# B: peaks at 0.6 on day 1 while it would convert, then goes cold and stops converting;
# C: never above 0.3, converts anyway from day 0; D: nothing, never converts.
REPLAY = _replay(
    [
        ("A", 3, 0.9, 1),
        ("A", 0, 0.2, 1),
        ("A", 1, 0.5, 1),
        ("B", 0, 0.1, 1),
        ("B", 1, 0.6, 1),
        ("B", 7, 0.3, 0),
        ("B", 14, 0.7, 0),
        ("C", 0, 0.3, 1),
        ("D", 0, 0.05, 0),
        ("D", 30, np.nan, 0),
    ]
)


def test_an_mql_is_a_lead_at_the_first_moment_its_score_reaches_the_threshold():
    crossings = FirstCrossings.of(REPLAY, "score", months=2.0)
    mql, hit, age = crossings.at(0.55)
    # A crosses on day 3 (converting), B on day 1 (converting then), C and D never.
    assert mql.tolist() == [True, True, False, False]
    assert hit.tolist() == [True, True, False, False]
    assert age[:2].tolist() == [3.0, 1.0] and np.isnan(age[2:]).all()
    # At 0.65 B first crosses on day 14, when it no longer converts.
    mql, hit, age = crossings.at(0.65)
    assert mql.tolist() == [True, True, False, False] and hit.tolist() == [
        True,
        False,
        False,
        False,
    ]
    assert age[1] == 14.0


def test_figures_count_leads_not_scorings():
    crossings = FirstCrossings.of(REPLAY, "score", months=2.0)
    figures = crossings.figures(0.65)
    assert figures["mqls"] == 2 and figures["mqls_per_month"] == 1.0
    assert figures["conversion"] == 0.5
    assert figures["capture"] == pytest.approx(1 / 3)  # A, B and C convert at some moment
    assert figures["lift"] == pytest.approx(0.5 / 0.75)
    assert figures["median_days_to_mql"] == 8.5
    assert crossings.figures(np.inf)["mqls"] == 0
    assert crossings.figures(0.0)["mqls"] == 4  # a NaN score reaches nothing, D's day 0 does


def test_resampled_figures_are_the_figures_of_each_resample():
    crossings = FirstCrossings.of(REPLAY, "score", months=2.0)
    indices = stats.resample_indices(crossings.n, 50, np.random.default_rng(3))
    counts = stats.resample_counts(indices, crossings.n)
    fast = crossings.resampled(0.55, counts)
    leads = np.array(["A", "B", "C", "D"])
    for draw, rows in enumerate(indices):
        # The same leads repeated, as their own replays under new names.
        again = pd.concat(
            [
                REPLAY[REPLAY["lead_id"] == leads[r]].assign(lead_id=f"{k}")
                for k, r in enumerate(rows)
            ]
        )
        slow = FirstCrossings.of(again, "score", months=2.0).figures(0.55)
        for key in ("mqls", "conversion", "capture"):
            assert fast[key][draw] == pytest.approx(slow[key], nan_ok=True), key


def test_candidate_thresholds_are_the_leads_best_scores():
    crossings = FirstCrossings.of(REPLAY, "score", months=2.0)
    assert crossings.candidates().tolist() == [0.05, 0.3, 0.7, 0.9]
    table = crossings.table()
    assert table["mqls"].tolist() == [4, 3, 2, 1]
