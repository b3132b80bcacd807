"""The pandas/numpy activity features leadscore built before the SQL engines, kept as the
oracle the DuckDB and Spark features are tested against (tests/data/test_feature_sql.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.data.contract import ACTIVITY_TYPES, FORM_TYPES, PAGE_CATEGORIES

# Activity items counted per window: (name, column, value).
ITEMS = (
    *((f"page_{c}", "page_category", c) for c in PAGE_CATEGORIES),
    *((f"form_{f}", "form_type", f) for f in FORM_TYPES),
    *((t, "activity_type", t) for t in ACTIVITY_TYPES if t not in ("page_view", "form_submit")),
)


def activity_counts(
    activities: pd.DataFrame, lead_ids: pd.Series, moment: pd.Series, windows: list[int]
) -> pd.DataFrame:
    """Counts per item and window, recency and active days, from activities before `moment`."""
    n = len(lead_ids)
    lead_pos = _lead_positions(activities["lead_id"], pd.Index(lead_ids.astype(str)))
    known = lead_pos >= 0
    lead_pos = lead_pos[known]
    occurred = activities["occurred_at"].to_numpy("datetime64[ns]")[known]
    moments = moment.to_numpy("datetime64[ns]")[lead_pos]
    age_days = (moments - occurred) / np.timedelta64(1, "D")
    # Strictly before the scoring moment; NaT moments compare False and drop out.
    before = age_days > 0
    lead_pos, age_days, occurred = lead_pos[before], age_days[before], occurred[before]
    item_code = item_codes(activities)[known][before]
    columns: dict[str, np.ndarray] = {}
    k = len(ITEMS)
    for window in windows:
        inside = (age_days <= window) & (item_code >= 0)
        counts = np.bincount(lead_pos[inside] * k + item_code[inside], minlength=n * k)
        counts = counts.reshape(n, k)
        for code, (name, _, _) in enumerate(ITEMS):
            columns[f"{name}_{window}d"] = counts[:, code]
        columns[f"activities_{window}d"] = np.bincount(lead_pos[age_days <= window], minlength=n)
    last_age = np.full(n, np.inf)
    np.minimum.at(last_age, lead_pos, age_days)
    columns["days_since_last_activity"] = np.where(np.isinf(last_age), np.nan, last_age)
    day = occurred.astype("datetime64[D]").astype(np.int64)
    recent = age_days <= 30
    # Distinct (lead, day) pairs as one int64 key: a flat sort, far faster than unique(axis=1).
    days = day[recent] - (day[recent].min() if recent.any() else 0)
    span = int(days.max(initial=0)) + 1
    keys = np.unique(lead_pos[recent] * span + days)
    columns["active_days_30d"] = np.bincount(keys // span, minlength=n)
    frame = pd.DataFrame(columns, index=moment.index)
    return frame


def _lead_positions(ids: pd.Series, leads: pd.Index) -> np.ndarray:
    """Row of each activity's lead in `leads` (-1 if absent). Categorical ids are matched per
    category, which is much cheaper than hashing millions of strings."""
    if not leads.is_unique:
        raise ValueError("activity features need unique lead ids")
    if isinstance(ids.dtype, pd.CategoricalDtype):
        by_category = leads.get_indexer(ids.cat.categories.astype(str))
        codes = ids.cat.codes.to_numpy()
        return np.where(codes >= 0, by_category[codes], -1).astype(np.int64)
    return leads.get_indexer(ids.astype(str)).astype(np.int64)


def item_codes(activities: pd.DataFrame) -> np.ndarray:
    """Index into ITEMS for every activity (-1 if it matches none), via category codes so that
    millions of rows never become Python strings."""

    def lookup(column: str) -> tuple[np.ndarray, np.ndarray]:
        values = pd.Categorical(activities[column])
        table = np.full(len(values.categories) + 1, -1, dtype=np.int64)  # last slot: missing
        for code, (_, item_column, value) in enumerate(ITEMS):
            if item_column == column and value in values.categories:
                table[values.categories.get_loc(value)] = code
        return table[values.codes], values.codes

    by_type, type_codes = lookup("activity_type")
    by_page, _ = lookup("page_category")
    by_form, _ = lookup("form_type")
    kinds = pd.Categorical(activities["activity_type"]).categories
    page_view = type_codes == (kinds.get_loc("page_view") if "page_view" in kinds else -2)
    form_submit = type_codes == (kinds.get_loc("form_submit") if "form_submit" in kinds else -2)
    return np.where(page_view, by_page, np.where(form_submit, by_form, by_type))
