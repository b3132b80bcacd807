"""Score history: every scoring of `leadscore score --history FOLDER` kept, so that a daily job
knows each lead's previous score and which leads became MQLs with this scoring.

The history is a folder of Parquet files, one per scoring: `scored_<time>_<model>.parquet`
with lead_id, scored_at, model_version, probability, score, grade and is_mql (rows that could
not be scored are not kept; no `name=value` folders, which readers would take for a partition
column). Scoring the same time with the same model again replaces its file, so a re-run never
counts twice; each file appears whole (written aside, then renamed), so two scorings at once
never mix. Any Parquet reader (pandas, DuckDB, Spark) reads the folder as one table.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from scoring.io.files import aside
from scoring.runtime.inputs import ScoringInputError

COLUMNS = ("lead_id", "scored_at", "model_version", "probability", "score", "grade", "is_mql")
SCHEMA = pa.schema(
    [
        ("lead_id", pa.string()),
        ("scored_at", pa.timestamp("us")),
        ("model_version", pa.string()),
        ("probability", pa.float64()),
        ("score", pa.float64()),
        ("grade", pa.string()),
        ("is_mql", pa.bool_()),
    ]
)
# What the output gains from the history, after is_mql.
ADDED = ("previous_score", "score_change", "became_mql")


class HistoryError(ScoringInputError):
    """A history folder that cannot be read or written."""


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("scored_*.parquet"))


def read(folder: Path | str) -> pd.DataFrame:
    """Every scoring kept in the history folder (empty if there is none yet)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise HistoryError(f"--history {folder} is a file: give a folder for the score history")
    files = _files(folder) if folder.is_dir() else []
    if not files:
        return SCHEMA.empty_table().to_pandas()
    try:
        tables = [pq.read_table(f, schema=SCHEMA) for f in files]
    except (pa.ArrowInvalid, OSError) as err:
        raise HistoryError(f"--history {folder}: a file cannot be read ({err})") from None
    return pa.concat_tables(tables).to_pandas()


def before(folder: Path | str, scored_at: pd.Timestamp) -> pd.DataFrame:
    """Per lead scored before `scored_at`: its latest score and whether it was ever an MQL
    (index lead_id; columns previous_score, was_mql)."""
    history = read(folder)
    earlier = history[history["scored_at"] < scored_at].sort_values("scored_at", kind="stable")
    by_lead = earlier.groupby("lead_id", sort=False)
    return pd.DataFrame(
        {"previous_score": by_lead["score"].last(), "was_mql": by_lead["is_mql"].any()}
    )


def compare(
    result: pd.DataFrame,
    ids: pd.Series,
    earlier: pd.DataFrame,
    closed: np.ndarray | None = None,
) -> pd.DataFrame:
    """The scored rows with the lead's previous score, the change since, and whether this
    scoring made it an MQL for the first time (is_mql now, never before, and not `closed`:
    past its outcome or lost already): the leads a CRM routes to sales within the
    first-touch SLA."""
    key = ids.astype("string").to_numpy()
    previous = earlier["previous_score"].reindex(key).to_numpy()
    was_mql = earlier["was_mql"].reindex(key).fillna(False).to_numpy(dtype=bool)
    is_mql = result["is_mql"].fillna(False).to_numpy(dtype=bool)
    if closed is not None:
        is_mql = is_mql & ~closed
    out = result.copy()
    at = out.columns.get_loc("is_mql") + 1
    out.insert(at, "previous_score", previous)
    # Scores have one decimal: so has their change (no 0.40000000000000213).
    change = np.round(out["score"].to_numpy(dtype=float) - previous, 1)
    out.insert(at + 1, "score_change", change)
    out.insert(at + 2, "became_mql", pd.array(is_mql & ~was_mql, dtype="boolean"))
    out.loc[out["error"].notna(), "became_mql"] = pd.NA
    return out


def record(
    folder: Path | str, scored: pd.DataFrame, scored_at: pd.Timestamp, model_version: str
) -> Path:
    """Keep one scoring (rows with lead_id, probability, score, grade, is_mql; rows with an
    error are left out) as its own file; the same time and model replace their file."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise HistoryError(f"--history {folder} is a file: give a folder for the score history")
    ok = scored["error"].isna() if "error" in scored.columns else slice(None)
    rows = scored.loc[ok, ["lead_id", "probability", "score", "grade", "is_mql"]]
    rows = rows.assign(scored_at=scored_at, model_version=model_version)[list(COLUMNS)]
    table = pa.Table.from_pandas(
        rows.astype({"lead_id": str, "grade": str}), schema=SCHEMA, preserve_index=False
    )
    target = folder / f"scored_{scored_at:%Y%m%dT%H%M%S}_{_safe(model_version)}.parquet"
    folder.mkdir(parents=True, exist_ok=True)
    temporary = aside(target)
    try:
        pq.write_table(table, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def _safe(name: str) -> str:
    """A model version as a file name (v3, or a run id)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "model"
