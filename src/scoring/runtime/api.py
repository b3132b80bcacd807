"""Scoring in memory, the runtime's front door: an artifact folder and frames of leads (and
their activities) in, one scored row per lead out, in order."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from scoring.data import flat
from scoring.data.contract import ACTIVITY_COLUMNS
from scoring.runtime.activities import activities_from_table, timestamps
from scoring.runtime.artifact import Artifact, load
from scoring.runtime.batch import as_text, flat_features, leads_features, score_features
from scoring.runtime.inputs import ScoringInputError


def score(
    artifact_folder: Path | str | Artifact,
    leads: pd.DataFrame,
    activities: pd.DataFrame | None = None,
    as_of: pd.Timestamp | str | None = None,
    reasons: bool = True,
) -> pd.DataFrame:
    """Score leads with an exported artifact (a folder, a model folder with a champion, or one
    loaded already): one output row per input row, in input order, with the lead's id,
    probability, score, grade, is_mql, the reasons when asked and an error where a row cannot
    be scored.

    Leads-and-activities models take the leads as the data contract has them and their
    activities (none when omitted), scored as of `as_of` (default: the latest activity or
    creation time in the input); flat models take the export's own columns."""
    loaded = artifact_folder if isinstance(artifact_folder, Artifact) else load(artifact_folder)
    leads = leads.reset_index(drop=True)
    settings = loaded.preprocessing
    if settings["source"] == "flat":
        id_column = settings["flat"]["id_column"] or flat.ROW_ID
        text, _ = flat.with_row_ids(as_text(leads), settings["flat"]["id_column"])
        frame, errors = flat_features(text, settings, "leads")
        ids = text[id_column]
    else:
        id_column = "lead_id"
        if activities is None:
            activities = pd.DataFrame({c: pd.Series(dtype=object) for c in ACTIVITY_COLUMNS})
            activities["occurred_at"] = pd.Series(dtype="datetime64[ns]")
        table = pa.Table.from_pandas(activities.reset_index(drop=True), preserve_index=False)
        indexed = activities_from_table(table, "activities")
        moment = _as_of(as_of, leads, indexed.latest)
        frame, errors = leads_features(leads, indexed, settings, moment, "leads")
        ids = leads[id_column]
    out = score_features(loaded, frame, errors, reasons)
    out.insert(0, id_column, pd.array(ids.to_numpy(), dtype="string"))
    return out


def _as_of(as_of, leads: pd.DataFrame, latest_activity: pd.Timestamp) -> pd.Timestamp:
    """The scoring time: as given, else the latest activity or creation time in the input."""
    if as_of is not None:
        moment = pd.Timestamp(as_of)
        # Stored times are UTC without a zone: a zoned time is converted, then its zone dropped.
        return moment.tz_convert("UTC").tz_localize(None) if moment.tz else moment
    stamps = [latest_activity]
    if "created_at" in leads.columns:
        stamps.append(timestamps(leads["created_at"]).max())
    known = [s for s in stamps if pd.notna(s)]
    if not known:
        raise ScoringInputError("leads: no usable created_at to date the scoring by")
    return pd.Timestamp(max(known))
