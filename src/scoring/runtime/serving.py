"""What a served model takes and gives, in the CRM's language (the MLflow pyfunc and its
signature are built from this; MLflow itself stays out of the runtime).

A leads-and-activities model takes one row per lead: the lead's fields as the data contract
names them, plus `activities`, an array of that lead's events, each an object with
`occurred_at` (ISO 8601 text, UTC), `activity_type`, and optionally `page_category` and
`form_type`. A flat-export model takes the export's own columns. Both return one row per input
row: the lead's id, probability, score, grade, is_mql, the reasons and an error.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from scoring.data.contract import ACTIVITY_COLUMNS, FORM_TYPES, PAGE_CATEGORIES
from scoring.data.features import STATUS_FEATURES
from scoring.runtime import api
from scoring.runtime import batch as score_batch
from scoring.runtime.artifact import Artifact, input_schema
from scoring.runtime.inputs import ScoringInputError, no_errors

ACTIVITIES = "activities"
# The fields of one event in the `activities` column (lead_id is the row's own).
EVENT_FIELDS = tuple(c for c in ACTIVITY_COLUMNS if c != "lead_id")
EVENT_REQUIRED = ("occurred_at", "activity_type")
LEAD_TYPES = {
    "created_at": "datetime",
    "mql_at": "datetime",
    **dict.fromkeys(STATUS_FEATURES, "datetime"),
    "employee_count": "double",
    "annual_revenue": "double",
}


def input_columns(loaded: Artifact) -> list[dict]:
    """The served input's columns: name, type (string, double, boolean, datetime or
    activities) and whether it is required."""
    schema = input_schema(loaded.preprocessing)
    if loaded.preprocessing["source"] == "flat":
        # A flat export is read whole: a missing column is an error, as in `leadscore score`.
        return [{**c, "required": True} for c in schema["columns"]]
    required = set(schema["leads_required_values"])
    columns = [
        {"name": name, "type": LEAD_TYPES.get(name, "string"), "required": name in required}
        for name in schema["leads"]
    ]
    columns.append({"name": ACTIVITIES, "type": "activities", "required": False})
    return columns


def scored_columns(loaded: Artifact, reasons: bool = True, points: bool = False) -> list[dict]:
    """The columns scoring adds after the id, with their types (boolean, long, double or
    string), as the file scorer writes them: the served model's and Spark's output schema."""
    empty = pd.DataFrame({name: pd.Series(dtype=float) for name in loaded.features})
    scored = score_batch.score_features(loaded, empty, no_errors(empty.index), reasons, points)
    columns = []
    for name, dtype in scored.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            kind = "boolean"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "long"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "double"
        else:
            kind = "string"
        columns.append({"name": str(name), "type": kind})
    return columns


def output_columns(loaded: Artifact) -> list[dict]:
    """The served output's columns and types (reasons included; empty when not asked for)."""
    return [{"name": _id_column(loaded), "type": "string"}, *scored_columns(loaded)]


def _id_column(loaded: Artifact) -> str:
    if loaded.preprocessing["source"] == "flat":
        from scoring.data import flat

        return loaded.preprocessing["flat"]["id_column"] or flat.ROW_ID
    return "lead_id"


def split_activities(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads without their `activities` column, and the events as an activities table (one row
    an event, with the lead's id). An event that is not an object with the required fields is
    an input error naming the lead."""
    leads = frame.drop(columns=[ACTIVITIES], errors="ignore").reset_index(drop=True)
    rows: list[dict] = []
    if ACTIVITIES in frame.columns:
        for lead_id, events in zip(leads["lead_id"], frame[ACTIVITIES], strict=True):
            for event in _events(events):
                if not isinstance(event, dict) or any(
                    event.get(name) is None for name in EVENT_REQUIRED
                ):
                    raise ScoringInputError(
                        f"input frame, column {ACTIVITIES}, lead_id={lead_id!r}: each event "
                        f"needs {' and '.join(EVENT_REQUIRED)} (got {str(event)[:120]!r})"
                    )
                rows.append({"lead_id": lead_id, **{f: event.get(f) for f in EVENT_FIELDS}})
    activities = pd.DataFrame(rows, columns=list(ACTIVITY_COLUMNS)).astype(object)
    activities["lead_id"] = activities["lead_id"].astype("string")
    activities["occurred_at"] = (
        pd.to_datetime(
            activities["occurred_at"].astype("string"), utc=True, errors="coerce", format="ISO8601"
        )
        .dt.tz_localize(None)
        .astype("datetime64[ns]")
    )
    return leads, activities


def with_activities(leads: pd.DataFrame, activities: pd.DataFrame) -> pd.DataFrame:
    """The served form of a leads table and an activities table: each lead with its events
    as a list in `activities` (times as ISO 8601 text), in the leads' order."""
    events = activities.loc[:, [c for c in ACTIVITY_COLUMNS if c in activities.columns]].copy()
    # Full precision (nanoseconds): an event at its lead's creation time must stay there.
    stamps = pd.to_datetime(events["occurred_at"]).astype("datetime64[ns]")
    events["occurred_at"] = stamps.astype("string").str.replace(" ", "T", regex=False)
    events = events.astype(object).where(events.notna(), None)
    for name in EVENT_FIELDS:
        if name not in events.columns:
            events[name] = None
    grouped = {
        lead_id: group[list(EVENT_FIELDS)].to_dict("records")
        for lead_id, group in events.groupby(events["lead_id"].astype(str), sort=False)
    }
    out = leads.reset_index(drop=True).copy()
    out[ACTIVITIES] = [grouped.get(str(lead_id), []) for lead_id in out["lead_id"]]
    return out


def _events(events) -> Iterable:
    """A lead's events as a list: None or NaN is none; arrays (Spark, Arrow) and lists alike."""
    if events is None or (isinstance(events, float) and np.isnan(events)):
        return []
    if isinstance(events, np.ndarray | list | tuple):
        return [e if isinstance(e, dict) else getattr(e, "asDict", lambda e=e: e)() for e in events]
    raise ScoringInputError(
        f"input frame, column {ACTIVITIES}: expected a list of events, got {type(events).__name__}"
    )


def score_request(
    loaded: Artifact, frame: pd.DataFrame, reasons: bool = True, as_of: str | None = None
) -> pd.DataFrame:
    """Score a served request: one output row per input row, reason columns always present
    (empty when `reasons` is off) so the output matches the signature."""
    if loaded.preprocessing["source"] == "flat":
        out = api.score(loaded, frame, as_of=as_of or None, reasons=reasons)
    else:
        leads, activities = split_activities(frame)
        # Optional fields a request leaves out are unknown, as an empty CRM field is.
        for column in input_columns(loaded):
            if column["name"] not in leads.columns and column["name"] != ACTIVITIES:
                leads[column["name"]] = np.nan if column["type"] == "double" else None
        out = api.score(loaded, leads, activities, as_of=as_of or None, reasons=reasons)
    # Reasons not asked for are not computed (they are most of the work), only left empty.
    id_name = out.columns[0]
    names = [id_name, *(c["name"] for c in scored_columns(loaded, reasons=True))]
    for name in names:
        if name not in out.columns:
            out[name] = pd.Series(pd.NA, index=out.index, dtype="string")
    return out[names]


def input_example(loaded: Artifact) -> tuple[pd.DataFrame, dict]:
    """Two made-up leads in the served form (no data from training ever leaves in it), with
    the scoring time as the `as_of` parameter: the end of the model's test window."""
    as_of = _window_end(loaded.card.get("test_window")) + pd.Timedelta(hours=12)
    profile = loaded.profile or {}
    columns = input_columns(loaded)
    if loaded.preprocessing["source"] == "flat":
        id_name = loaded.preprocessing["flat"]["id_column"]
        rows = [
            {
                c["name"]: f"example-{i + 1}"
                if c["name"] == id_name
                else _typical(c, profile, as_of, i)
                for c in columns
            }
            for i in range(2)
        ]
        return pd.DataFrame(rows), {"as_of": as_of.isoformat()}
    levels = {name: _common(profile.get(name)) for name in ("industry", "region", "campaign")}
    levels["lead_source"] = _common(profile.get("lead_source"))
    leads = [
        {
            "lead_id": "example-1",
            "created_at": (as_of - pd.Timedelta(days=6)).isoformat(),
            "email": "jordan@example.com",
            "job_title": "VP of Marketing",
            "employee_count": 800.0,
            "annual_revenue": 120_000_000.0,
            "country": "United States",
            ACTIVITIES: [
                _event(as_of - pd.Timedelta(days=5), "page_view", page_category=PAGE_CATEGORIES[0]),
                _event(as_of - pd.Timedelta(days=4), "email_open"),
                _event(as_of - pd.Timedelta(days=2), "form_submit", form_type=FORM_TYPES[0]),
            ],
        },
        {
            "lead_id": "example-2",
            "created_at": (as_of - pd.Timedelta(days=3)).isoformat(),
            "email": "sam@example.org",
            "job_title": "Student",
            "employee_count": 12.0,
            "annual_revenue": 900_000.0,
            "country": "Germany",
            ACTIVITIES: [
                _event(as_of - pd.Timedelta(days=3), "page_view", page_category="blog"),
            ],
        },
    ]
    frame = pd.DataFrame(
        [{c["name"]: lead.get(c["name"], levels.get(c["name"])) for c in columns} for lead in leads]
    )
    for c in columns:
        if c["type"] == "datetime":
            frame[c["name"]] = pd.to_datetime(frame[c["name"]])
    return frame, {"as_of": as_of.isoformat()}


def _window_end(window) -> pd.Timestamp:
    """The last day of a test window; an export without dates has row numbers for a window
    (e.g. ["0", "45212"]), and then today stands in."""
    end = str((window or [""])[-1])
    if "-" in end:
        try:
            return pd.Timestamp(end)
        except ValueError:
            pass
    return pd.Timestamp.now("UTC").tz_localize(None).normalize()


def _event(at: pd.Timestamp, activity_type: str, **fields) -> dict:
    return {
        "occurred_at": at.isoformat(),
        "activity_type": activity_type,
        "page_category": fields.get("page_category"),
        "form_type": fields.get("form_type"),
    }


def _common(entry: dict | None):
    """The most common level of a categorical profile entry, or None."""
    if not entry or entry.get("kind") != "category" or not entry.get("levels"):
        return None
    shares = entry["shares"][: len(entry["levels"])]
    ranked = [entry["levels"][i] for i in np.argsort(shares)[::-1]]
    # leadscore's own groups for blanks and rare values are not values a CRM sends.
    real = [level for level in ranked if str(level).lower() not in INTERNAL_LEVELS]
    return real[0] if real else None


INTERNAL_LEVELS = {"missing", "other", "unknown", "__missing__", "__other__"}


def _typical(column: dict, profile: dict, as_of: pd.Timestamp, row: int):
    """A typical value of a flat column from the training profile (median or most common)."""
    entry = profile.get(column["name"]) or {}
    if column["type"] == "datetime":
        return as_of - pd.Timedelta(days=row + 1)
    if column["type"] == "double":
        edges = entry.get("edges") or []
        return float(edges[len(edges) // 2]) if edges else 0.0
    if column["type"] == "boolean":
        return bool(row)
    return _common(entry)
