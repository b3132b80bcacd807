"""Business-hours arithmetic (Mon-Fri, a daily window), vectorised for whole columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

_EPOCH = np.datetime64("2000-01-03", "D")  # a Monday


def business_hours_index(
    timestamps: pd.Series | np.ndarray, start_hour: int = 9, end_hour: int = 17
) -> np.ndarray:
    """Business hours elapsed since a fixed Monday, for each timestamp (NaN for missing)."""
    values = pd.to_datetime(pd.Series(timestamps)).to_numpy("datetime64[ns]")
    missing = np.isnat(values)
    safe = np.where(missing, np.datetime64("2000-01-03T00:00", "ns"), values)
    days = safe.astype("datetime64[D]")
    hours_into_day = (safe - days.astype("datetime64[ns]")) / np.timedelta64(1, "h")
    whole_days = np.busday_count(_EPOCH, days).astype(float)
    open_today = np.is_busday(days)
    length = end_hour - start_hour
    partial = np.where(open_today, np.clip(hours_into_day - start_hour, 0, length), 0.0)
    result = whole_days * length + partial
    result[missing] = np.nan
    return result


def business_hours_between(
    start: pd.Series, end: pd.Series, start_hour: int = 9, end_hour: int = 17
) -> np.ndarray:
    """Business hours from start to end (negative when end is earlier; NaN if either missing)."""
    return business_hours_index(end, start_hour, end_hour) - business_hours_index(
        start, start_hour, end_hour
    )


def timestamp_at_business_hours(
    index: np.ndarray, start_hour: int = 9, end_hour: int = 17
) -> np.ndarray:
    """Inverse of business_hours_index: the moment when that many business hours have passed."""
    length = end_hour - start_hour
    index = np.asarray(index, dtype=float)
    whole = np.floor(index / length)
    partial = index - whole * length
    days = np.busday_offset(_EPOCH, whole.astype(np.int64), roll="forward")
    offset_ns = ((start_hour + partial) * 3600e9).astype(np.int64)
    return days.astype("datetime64[ns]") + offset_ns.astype("timedelta64[ns]")
