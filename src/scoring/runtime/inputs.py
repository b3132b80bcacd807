"""Scoring inputs: reading them chunk by chunk, refusing what cannot be scored at all, and
each row's own errors (a row that cannot be scored keeps its place with the reason)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from scoring.data.contract import DataContractError
from scoring.io import tables


class ScoringInputError(DataContractError):
    """The input file cannot be scored at all (unreadable, required columns missing)."""


def read_chunks(
    path: Path | str, chunk_rows: int = 100_000, *, warn: bool = True
) -> Iterator[pd.DataFrame]:
    """The input chunk by chunk (see io.tables; errors as ScoringInputError)."""
    return tables.iter_chunks(path, chunk_rows, ScoringInputError, warn=warn)


def count_rows(path: Path) -> int | None:
    """Rows of a Parquet file (from its footer); None for CSV (not worth a second pass)."""
    if tables.file_kind(Path(path), ScoringInputError) == "parquet":  # a damaged one: clear
        return pq.ParquetFile(path).metadata.num_rows
    return None


def require_columns(frame: pd.DataFrame | pa.Table, columns: list[str], source: str) -> None:
    found = frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)
    missing = [c for c in columns if c not in found]
    if missing:
        raise ScoringInputError(
            f"{source}: required column(s) missing: {', '.join(missing)}; the model's input "
            f"schema is in its input_schema.json. Columns found: {', '.join(map(str, found))}"
        )


def no_errors(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="string")


def add_error(
    errors: pd.Series, mask: pd.Series, message: str, values: pd.Series | None = None
) -> pd.Series:
    """Append "message" (plus the offending value, quoted) to the rows in mask; several
    problems of one row are all listed. Only the failing rows are formatted."""
    rows = mask.fillna(False).to_numpy(dtype=bool)
    if not rows.any():
        return errors
    errors = errors.copy()
    text = pd.Series(message, index=errors.index[rows], dtype="string")
    if values is not None:
        text = text + ": " + values[rows].astype(object).map(repr).astype("string")
    before = errors[rows]
    errors[rows] = (before + "; " + text).fillna(text)
    return errors


def join_errors(errors: pd.Series, rows: np.ndarray, messages: pd.Series) -> pd.Series:
    """`errors` with `messages` added on `rows` ("; " after an error a row already has)."""
    if not rows.any():
        return errors
    errors = errors.copy()
    extra = messages[rows].astype("string")
    errors[rows] = (errors[rows] + "; " + extra).fillna(extra)
    return errors
