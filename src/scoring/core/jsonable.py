"""Values made ready for JSON documents: the one conversion every writer uses."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def json_ready(value: Any, digits: int | None = None) -> Any:
    """`value` with numpy and pandas scalars as plain ones, NaN and infinities as null,
    timestamps in ISO 8601, periods as text and keys as text, all the way down; floats
    rounded to `digits` when given. Anything else is left for json to accept or refuse."""
    if isinstance(value, dict):
        return {str(k): json_ready(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v, digits) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist(), digits)
    if isinstance(value, pd.Timestamp | np.datetime64):
        return None if pd.isna(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, pd.Period):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, digits) if digits is not None else value
    return value


def finite(value: float | None) -> float | None:
    """A number for a JSON document: None for NaN, infinities and None."""
    return None if value is None or not math.isfinite(value) else float(value)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as dicts, missing values as None."""
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
