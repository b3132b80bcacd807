"""Activities at scoring time: read once into Arrow, checked as the data contract says (rows
that cannot be used are kept aside with their reason), their lead ids turned into integer
keys the feature query joins on."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from scoring.data.contract import ACTIVITY_TYPES
from scoring.io import tables
from scoring.runtime.inputs import add_error, no_errors, read_chunks, require_columns

ACTIVITY_TEXT = ("activity_type", "page_category", "form_type")


@dataclass
class Activities:
    """All usable activities as an Arrow table whose lead_id is an integer key (the lead's
    position in `lead_ids`, -1 without one): the feature query joins leads to them on
    integers."""

    table: pa.Table  # lead_id (key), occurred_at (timestamp[ns]), and ACTIVITY_TEXT
    lead_ids: pd.Index
    bad: pd.DataFrame  # activity rows that cannot be used, with their lead and reason

    @cached_property
    def codes(self) -> np.ndarray:
        """Each activity's lead key."""
        return self.table["lead_id"].to_numpy()

    def positions(self, ids: pd.Series) -> np.ndarray:
        """Each id's key among the activities' leads (-1: no activity)."""
        return self.lead_ids.get_indexer(ids.astype(str))

    def of(self, positions: np.ndarray) -> pa.Table:
        """The activities of the leads with these keys (negative keys have none)."""
        wanted = np.zeros(len(self.lead_ids) + 1, dtype=bool)
        wanted[positions[positions >= 0]] = True
        return self.table.filter(pa.array(wanted[self.codes]))  # key -1: the last, False

    @property
    def latest(self) -> pd.Timestamp:
        """The latest activity (NaT without one)."""
        latest = pc.max(self.table["occurred_at"])
        return pd.NaT if latest.value is None else pd.Timestamp(latest.value, unit="ns")


def read_activities(path: Path | str) -> Activities:
    """Activities as the data contract describes; unusable rows are kept aside with a reason
    (they turn into errors on their leads, never silently dropped). Parquet text columns
    are read as dictionaries straight from the file (no hashing of millions of strings)."""
    path = Path(path)
    if tables.is_parquet(path):
        schema = pq.read_schema(path)
        text = [
            f.name
            for f in schema
            if f.name in ("lead_id", *ACTIVITY_TEXT)
            and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
        ]
        table = pq.read_table(path, read_dictionary=text)
    else:
        frame = pd.concat(list(read_chunks(path, 1_000_000)), ignore_index=True)
        table = pa.Table.from_pandas(frame, preserve_index=False)
    return activities_from_table(table, str(path))


def activities_from_table(table: pa.Table, source: str) -> Activities:
    """Activities of an Arrow table (from `source`), checked as the data contract says:
    unusable rows are kept aside with a reason naming their row."""
    require_columns(table, ["lead_id", "occurred_at", "activity_type"], source)
    occurred = _arrow_timestamps(table["occurred_at"])
    kind = _as_text(table["activity_type"])
    failing = ~_is_known_type(kind) | pc.is_null(occurred).to_numpy(zero_copy_only=False)
    bad = None
    if failing.any():
        # Reasons are worded for the failing rows only (their values quoted).
        rows = np.flatnonzero(failing)
        shown = table.select(["lead_id", "occurred_at", "activity_type"]).take(rows).to_pandas()
        shown.index = rows
        reason = no_errors(shown.index)
        reason = add_error(
            reason,
            pd.Series(pc.is_null(occurred).take(rows).to_numpy(zero_copy_only=False), shown.index),
            "occurred_at missing or unparseable",
            shown["occurred_at"],
        )
        reason = add_error(
            reason,
            ~shown["activity_type"].astype(object).isin(ACTIVITY_TYPES),
            "unknown activity_type",
            shown["activity_type"],
        )
        bad = pd.DataFrame(
            {
                "lead_id": shown["lead_id"].astype(str),
                "reason": "activities row "
                + pd.Series(rows + 2, index=rows).astype("string")
                + ": "
                + reason,
            }
        )
    usable = table.set_column(table.schema.get_field_index("occurred_at"), "occurred_at", occurred)
    if bad is not None:
        usable = usable.filter(pa.array(~failing))
    return _index(usable, bad)


def _is_known_type(column: pa.ChunkedArray) -> np.ndarray:
    """Whether each activity_type is one of the contract's; a dictionary's values are looked
    up once, not once a row."""
    known = pa.array(ACTIVITY_TYPES)
    parts = []
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            in_dictionary = pc.is_in(chunk.dictionary, value_set=known).to_numpy(False)
            codes = chunk.indices.to_numpy(zero_copy_only=False)
            valid = chunk.is_valid().to_numpy(zero_copy_only=False)
            parts.append(valid & in_dictionary[np.where(valid, codes, 0).astype(np.int64)])
        else:
            parts.append(pc.is_in(chunk, value_set=known).to_numpy(zero_copy_only=False))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column as text (strings, or a dictionary of strings)."""
    values = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_string(values) or pa.types.is_large_string(values):
        return column
    return column.cast(pa.string())


def _arrow_timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """UTC timestamps without zone, in nanoseconds (as the data contract stores them); null
    if unparseable."""
    if column.type == pa.timestamp("ns"):
        return column
    if pa.types.is_timestamp(column.type):
        # A zone's timestamps are stored in UTC: dropping the zone keeps UTC.
        return column.cast(pa.timestamp(column.type.unit)).cast(pa.timestamp("ns"))
    parsed = timestamps(column.to_pandas())
    return pa.chunked_array([pa.array(parsed, type=pa.timestamp("ns"))])


def timestamps(values: pd.Series) -> pd.Series:
    """UTC timestamps without zone (as the data contract stores them); NaT if unparseable."""
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return values.astype("datetime64[ns]")
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return parsed.dt.tz_localize(None).astype("datetime64[ns]")


def index_activities(frame: pd.DataFrame, bad: pd.DataFrame | None = None) -> Activities:
    """Usable activities indexed by lead (e.g. the validated activities of training data)."""
    frame = frame.assign(occurred_at=timestamps(frame["occurred_at"]))
    columns = ["lead_id", "occurred_at", *(c for c in ACTIVITY_TEXT if c in frame.columns)]
    return _index(pa.Table.from_pandas(frame[columns], preserve_index=False), bad)


def _index(table: pa.Table, bad: pd.DataFrame | None) -> Activities:
    """Activities with their lead ids replaced by integer keys."""
    ids = table["lead_id"]
    if not pa.types.is_dictionary(ids.type):
        ids = pc.dictionary_encode(ids)
    ids = pa.table({"lead_id": ids}).unify_dictionaries()["lead_id"].combine_chunks()
    keys = ids.indices if ids.null_count == 0 else pc.fill_null(ids.indices, -1)
    lead_ids = pd.Index(ids.dictionary.to_pandas().astype(str))
    columns = {"lead_id": keys, "occurred_at": table["occurred_at"]}
    for name in ACTIVITY_TEXT:
        present = name in table.column_names
        columns[name] = _as_text(table[name]) if present else pa.nulls(len(table), pa.string())
    if bad is None:
        bad = pd.DataFrame({"lead_id": pd.Series(dtype=str), "reason": pd.Series(dtype=str)})
    return Activities(pa.table(columns), lead_ids, bad)
