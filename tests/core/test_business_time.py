import numpy as np
import pandas as pd

from scoring.core.business_time import (
    business_hours_between,
    business_hours_index,
    timestamp_at_business_hours,
)


def _between(a: str, b: str) -> float:
    return float(
        business_hours_between(pd.Series([pd.Timestamp(a)]), pd.Series([pd.Timestamp(b)]))[0]
    )


def test_known_intervals():
    assert _between("2025-01-06 10:00", "2025-01-06 11:30") == 1.5  # Monday
    assert _between("2025-01-10 16:00", "2025-01-13 10:00") == 2.0  # Friday -> Monday
    assert _between("2025-01-11 12:00", "2025-01-12 18:00") == 0.0  # all weekend
    assert _between("2025-01-06 07:00", "2025-01-06 20:00") == 8.0  # before and after hours
    assert _between("2025-01-07 10:00", "2025-01-06 10:00") == -8.0  # backwards


def test_missing_values_stay_missing():
    out = business_hours_between(pd.Series([pd.NaT]), pd.Series([pd.Timestamp("2025-01-06")]))
    assert np.isnan(out[0])


def test_inverse_lands_inside_business_hours():
    start = pd.Series(pd.to_datetime(["2025-01-10 16:30", "2025-01-11 09:00"]))
    index = business_hours_index(start) + np.array([1.0, 3.0])
    out = pd.to_datetime(timestamp_at_business_hours(index))
    assert list(out) == [pd.Timestamp("2025-01-13 09:30"), pd.Timestamp("2025-01-13 12:00")]
