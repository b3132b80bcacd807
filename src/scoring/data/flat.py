"""Bring your own CRM export: one row per lead with a conversion flag, nobody cleaned it.

Read whatever the export is (separator, encoding, line ends, CSV or Parquet), infer a type for
every column, exclude identifiers, free text, near-empty and personal-data columns with the
reason, and hand the rest to the same training and leakage guard as the main pipeline.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.core.config import FlatParams
from scoring.data.contract import MAX_EXAMPLES, DataContractError
from scoring.data.features import Dataset
from scoring.io import tables

log = logging.getLogger(__name__)

PERSONAL_NAME = re.compile(
    r"^(contact |work |personal )?e-?mail( address)?$|phone|mobile|\bfax\b|first ?name|"
    r"last ?name|full ?name|surname|contact ?name|^name$|street|address|postal|zip|linkedin|"
    r"birth|^company( name)?$|^account( name)?$|^organi[sz]ation( name)?$",
    re.IGNORECASE,
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
PHONE = re.compile(r"^\+?[\d\s().-]{7,}$")
TRUE_WORDS = {"yes", "y", "true", "t", "1", "1.0"}
FALSE_WORDS = {"no", "n", "false", "f", "0", "0.0"}
NEARLY_EMPTY = 0.05  # share of filled values below which a column is dropped
TYPE_SHARE = 0.95  # share of values that must parse for a numeric or date type
SEGMENT_NAME = re.compile(r"source|channel|region|country|industry|size|segment", re.IGNORECASE)
ROW_ID = "row"  # the id of an export without an id column: the row's line number in the file
MONTHS = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "january", "february", "march", "april", "june", "july", "august", "september",
    "october", "november", "december",
}  # fmt: skip
WEEKDAYS = {
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
}  # fmt: skip
QUARTER = re.compile(r"^((fy)?\d{2,4}[ -]?)?q[1-4]([ -]?(fy)?\d{2,4})?$", re.IGNORECASE)
# A full date: year, month and day (numeric, ISO or with a month name), optionally a time.
FULL_DATE = re.compile(
    r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ t]|$)"
    r"|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}([ t]|$)"
    r"|^\d{1,2}[ -][a-z]{3,9}\.?[ -,]*\d{4}"
    r"|^([a-z]{3,9},? )?[a-z]{3,9}\.? \d{1,2}(st|nd|rd|th)?,? \d{4}",
    re.IGNORECASE,
)
# Numbers that name things, not amounts: postal codes, industry and area codes.
CODE_NAME = re.compile(r"\bcode\b|_code$|code$|\bzip|postal|\bsic\b|naics|\bfips\b", re.IGNORECASE)


class FlatDataError(DataContractError):
    """The flat export cannot be used as configured; the message says why and where."""


@dataclass(frozen=True)
class ColumnType:
    """What the inference decided about one column."""

    column: str
    kind: str  # numeric | boolean | categorical | datetime | excluded | role
    reason: str
    levels: int
    decimal: str | None = None  # numeric: the decimal mark, "." or ","
    dayfirst: bool | None = None  # datetime: 01/10/2024 is 1 October (True) or 10 January


def read_export(path: Path | str, missing_values: list[str]) -> pd.DataFrame:
    """Read a CSV (separator, encoding and compression detected) or Parquet file; every value
    as text, placeholders in `missing_values` as missing (compared case-insensitively)."""
    frame = tables.read_table(path, text=True, error=FlatDataError)
    return clean_text(frame, missing_values)


def clean_text(frame: pd.DataFrame, missing_values: list[str]) -> pd.DataFrame:
    """Every value as stripped text, placeholders in `missing_values` (any case) as None: how
    training and scoring both see an export's values before typing them."""
    missing = {str(v).strip().lower() for v in missing_values}
    cleaned = {}
    for column in frame.columns:
        values = frame[column].astype("string").str.strip()
        cleaned[column] = values.mask(values.str.lower().isin(missing))
    return pd.DataFrame(cleaned, index=frame.index).astype(object).where(lambda f: f.notna(), None)


def _examples(frame: pd.DataFrame, mask: pd.Series, column: str, id_column: str) -> str:
    rows = frame.loc[mask].head(MAX_EXAMPLES)
    return "; ".join(
        f"row {i + 2} ({id_column}={r.get(id_column)!r}): {r.get(column)!r}"
        for i, r in rows.iterrows()
    )


def _require_column(frame: pd.DataFrame, column: str, role: str, source: str) -> None:
    if column not in frame.columns:
        raise FlatDataError(
            f"{source}: {role} {column!r} not found; columns: {', '.join(frame.columns)}"
        )


# Target values that plainly mean "did not convert" (compared case-insensitively).
NEGATIVE_WORDS = (
    "0",
    "no",
    "n",
    "false",
    "f",
    "not converted",
    "unconverted",
    "lost",
    "closed lost",
    "disqualified",
    "unqualified",
    "rejected",
)
POSITIVE, NEGATIVE, UNLABELLED = "positive", "negative", "unlabelled (left out)"


def target_values(frame: pd.DataFrame, params: FlatParams, source: str) -> pd.DataFrame:
    """Every value of the target column with its rows and how it counts: positive, negative
    or unlabelled (left out). A value that is none of them is an error naming it and the fix."""
    _require_column(frame, params.target_column, "target column", source)
    values = frame[params.target_column]
    missing = values.isna()
    if missing.any():
        raise FlatDataError(
            f"{source}: target column {params.target_column!r} is empty in {int(missing.sum())} "
            f"row(s); e.g. {_examples(frame, missing, params.target_column, params.id_column)}"
        )
    positives = {_canonical(v) for v in params.positive_values}
    negatives = {_canonical(v) for v in (*NEGATIVE_WORDS, *params.negative_values)}
    unlabelled = {_canonical(v) for v in params.unlabelled_values}
    counts = values.astype(str).str.strip().value_counts(sort=True)
    table = pd.DataFrame({"value": counts.index, "rows": counts.to_numpy()})
    canonical = table["value"].map(_canonical)
    table["counted_as"] = np.select(
        [canonical.isin(positives), canonical.isin(unlabelled), canonical.isin(negatives)],
        [POSITIVE, UNLABELLED, NEGATIVE],
        default="",
    )
    unknown = table[table["counted_as"] == ""]
    if len(unknown):
        listed = ", ".join(f"{v!r} ({n:,} rows)" for v, n in unknown[["value", "rows"]].values[:8])
        raise FlatDataError(
            f"{source}: target column {params.target_column!r} holds values that are neither "
            f"positive ({params.positive_values}) nor plainly negative: {listed}. Say what they "
            "mean: data.flat.positive_values (converted), data.flat.negative_values (did not "
            "convert) or data.flat.unlabelled_values (outcome not known yet: rows left out)"
        )
    return table


def target_labels(
    frame: pd.DataFrame, params: FlatParams, source: str
) -> tuple[pd.Series, pd.DataFrame]:
    """The conversion flag as 0/1, NaN for unlabelled rows, and the target_values table (values
    compared case-insensitively as text)."""
    table = target_values(frame, params, source)
    meaning = dict(zip(table["value"], table["counted_as"], strict=True))
    counted = frame[params.target_column].astype(str).str.strip().map(meaning)
    label = counted.map({POSITIVE: 1.0, NEGATIVE: 0.0, UNLABELLED: np.nan})
    known = label.dropna()
    if known.nunique() < 2:
        values = frame[params.target_column]
        seen = ", ".join(map(repr, values.value_counts().index[:5]))
        raise FlatDataError(
            f"{source}: target column {params.target_column!r} has one class only (values: "
            f"{seen}); positive_values are {params.positive_values}"
        )
    if known.sum() < params.min_positives:
        raise FlatDataError(
            f"{source}: only {int(known.sum())} positive rows in {params.target_column!r}; at "
            f"least {params.min_positives} are needed (data.flat.min_positives)"
        )
    return label, table


def _canonical(value) -> str:
    text = str(value).strip().lower()
    try:
        number = float(text)
        return str(int(number)) if number.is_integer() else str(number)
    except ValueError:
        return text


def with_row_ids(frame: pd.DataFrame, id_column: str | None) -> tuple[pd.DataFrame, str]:
    """(frame, id column): without an id column, each row is named by its line number."""
    if id_column is not None:
        return frame, id_column
    if ROW_ID in frame.columns:
        raise FlatDataError(
            f"the export has a column {ROW_ID!r} but no data.flat.id_column: name the id column, "
            f"or rename {ROW_ID!r} (it is the id leadscore gives rows of an export without ids)"
        )
    # Line numbers as a spreadsheet shows them: the header is line 1.
    numbers = pd.Series(np.asarray(frame.index) + 2, index=frame.index).astype(str)
    return frame.assign(**{ROW_ID: numbers}), ROW_ID


def resolve_ids(frame: pd.DataFrame, params: FlatParams) -> tuple[pd.DataFrame, FlatParams]:
    """The frame with its id column, and params naming it (line numbers when there is none)."""
    frame, id_column = with_row_ids(frame, params.id_column)
    return frame, params.model_copy(update={"id_column": id_column})


def check_ids(frame: pd.DataFrame, params: FlatParams, source: str) -> pd.DataFrame:
    """Refuse or resolve duplicate ids, by data.flat.duplicate_ids."""
    _require_column(frame, params.id_column, "id column", source)
    ids = frame[params.id_column]
    if ids.isna().any():
        raise FlatDataError(
            f"{source}: id column {params.id_column!r} is empty in {int(ids.isna().sum())} row(s)"
        )
    duplicated = ids.duplicated(keep=False)
    if not duplicated.any():
        return frame
    extra = int(ids.duplicated().sum())
    examples = _examples(frame, duplicated, params.id_column, params.id_column)
    if params.duplicate_ids == "error":
        raise FlatDataError(
            f"{source}: id column {params.id_column!r} has {extra} duplicate row(s) "
            f"({int(duplicated.sum())} rows share an id); e.g. {examples}. Set "
            "data.flat.duplicate_ids: keep_first to keep the first row of each id"
        )
    log.warning("%s: %d duplicate id rows dropped (keep_first): %s", source, extra, examples)
    return frame.loc[~ids.duplicated()]


def infer_types(frame: pd.DataFrame, params: FlatParams) -> list[ColumnType]:
    """A type, or an exclusion with its reason, for every column."""
    roles = {params.id_column: "id column", params.target_column: "target column"}
    if params.date_column:
        roles[params.date_column] = "date column (drives the split)"
    if params.order_column:
        roles[params.order_column] = "order column (drives the split)"
    if params.amount_column:
        roles[params.amount_column] = "amount column (audit only: known after the outcome)"
    out = []
    n = max(len(frame), 1)
    for column in frame.columns:
        # Each distinct value is looked at once; shares count rows (wide exports stay fast).
        counts = frame[column].dropna().astype(str).value_counts(sort=False)
        values = pd.Series(counts.index, dtype=object)
        rows = counts.to_numpy()
        total = int(rows.sum())
        levels = len(values)

        def share(mask: pd.Series, rows: np.ndarray = rows, total: int = total) -> float:
            return float((mask.to_numpy(dtype=bool) * rows).sum() / total) if total else 0.0

        def mean(numbers: pd.Series, rows: np.ndarray = rows, total: int = total) -> float:
            return float((numbers.to_numpy(dtype=float) * rows).sum() / total) if total else 0.0

        if column in roles:
            # The date column's order travels with the model (scoring reads it the same way).
            dayfirst = date_order(values, params)[0] if column == params.date_column else None
            out.append(ColumnType(column, "role", roles[column], levels, dayfirst=dayfirst))
        elif column in params.drop_columns:
            out.append(ColumnType(column, "excluded", "listed in data.flat.drop_columns", levels))
        elif total / n < NEARLY_EMPTY:
            out.append(
                ColumnType(column, "excluded", f"nearly empty ({total / n:.1%} filled)", levels)
            )
        elif levels <= 1:
            out.append(ColumnType(column, "excluded", "constant", levels))
        elif PERSONAL_NAME.search(column) or share(values.str.match(EMAIL)) > 0.5:
            out.append(ColumnType(column, "excluded", "personal data", levels))
        elif set(values.str.lower()) <= TRUE_WORDS | FALSE_WORDS:
            out.append(ColumnType(column, "boolean", "yes/no values", levels))
        elif (calendar := _calendar_names(values)) is not None:
            out.append(ColumnType(column, "categorical", f"{calendar} (categories)", levels))
        elif (decimal := number_format(column, values, params, share)) is not None:
            if _is_code(column, values, share):
                reason = "numbers that are codes (categories)"
                out.append(ColumnType(column, "categorical", reason, levels))
            elif levels == total and levels > 50:
                reason = "identifier (a different number on every row)"
                out.append(ColumnType(column, "excluded", reason, levels))
            else:
                reason = "numbers" if decimal == "." else "numbers (decimal comma: 1.234,5)"
                out.append(ColumnType(column, "numeric", reason, levels, decimal))
        elif share(_full_dates(values).notna()) >= TYPE_SHARE:
            dayfirst, problem = date_order(values, params)
            if problem:
                reason = f"dates in an unknown order ({problem}; set data.flat.dayfirst)"
                out.append(ColumnType(column, "excluded", reason, levels))
            else:
                reason = "dates: age relative to the date column" + (
                    " (day first)" if dayfirst else ""
                )
                out.append(ColumnType(column, "datetime", reason, levels, dayfirst=dayfirst))
        elif share(values.str.match(PHONE)) > 0.5:
            out.append(ColumnType(column, "excluded", "personal data (phone numbers)", levels))
        elif mean(values.str.len()) > 40 or mean(values.str.count(" ")) >= 4:
            out.append(ColumnType(column, "excluded", "free text", levels))
        elif levels / total > 0.9 and levels > 50:
            out.append(ColumnType(column, "excluded", "identifier (unique per row)", levels))
        elif levels / total > 0.5 and levels > 50:
            out.append(ColumnType(column, "excluded", "free text (mostly distinct values)", levels))
        else:
            reason = (
                "categories"
                if levels <= params.max_categories
                else (f"categories ({levels} levels; top {params.max_categories} kept)")
            )
            out.append(ColumnType(column, "categorical", reason, levels))
    return out


def share_matching(values: pd.Series, pattern: re.Pattern) -> float:
    return float(values.str.match(pattern).mean()) if len(values) else 0.0


# Numbers as exports write them, once currency symbols, percent and per-mille signs and
# spaces are gone ("12.5%" is the number 12.5, in the column's own unit): with a decimal
# point and comma thousands (1,234.5) or a decimal comma and point thousands (1.234,5).
NOT_DIGITS = re.compile(r"[$€£%‰\s]")
POINT_NUMBER = re.compile(r"^(?=.*\d)[-+]?(?:\d{1,3}(?:,\d{3})+|\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$")
COMMA_NUMBER = re.compile(r"^(?=.*\d)[-+]?(?:\d{1,3}(?:\.\d{3})+|\d*)(?:,\d+)?$")


def number_format(
    column: str, values: pd.Series, params: FlatParams, share: Callable[[pd.Series], float]
) -> str | None:
    """The decimal mark of a column of numbers ("." or ","), None when it is not numbers.
    "1,5" can only be a decimal comma and "1.5" or "1,234.5" only a decimal point; "1,234"
    and "1.234" could be either, and count for the point (as most exports write them) unless
    the column shows a decimal comma elsewhere. Both kinds in one column is an error."""
    cleaned = values.str.replace(NOT_DIGITS, "", regex=True)
    point, comma = cleaned.str.match(POINT_NUMBER), cleaned.str.match(COMMA_NUMBER)
    if share(point | comma) < TYPE_SHARE:
        return None
    if params.decimal is not None:
        return params.decimal
    only_point, only_comma = point & ~comma, comma & ~point
    if only_point.any() and only_comma.any():
        raise FlatDataError(
            f"{params.path}: column {column!r} mixes decimal points and decimal commas: e.g. "
            f"{', '.join(map(repr, values[only_point].head(3)))} and "
            f"{', '.join(map(repr, values[only_comma].head(3)))}. Fix the export, or set "
            "data.flat.decimal to '.' or ','"
        )
    return "," if only_comma.any() else "."


def _numeric(values: pd.Series, decimal: str = ".") -> pd.Series:
    cleaned = values.astype(str).str.replace(NOT_DIGITS, "", regex=True)
    if decimal == ",":
        cleaned = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        cleaned = cleaned.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    # "1e400" parses as infinity: missing in training, an error row in scoring.
    return numbers.mask(np.isinf(numbers.astype(float)))


def _calendar_names(values: pd.Series) -> str | None:
    """'month names', 'weekday names' or 'quarters' when every value is one; else None."""
    lowered = set(values.str.lower().str.strip(". "))
    if lowered <= MONTHS:
        return "month names"
    if lowered <= WEEKDAYS:
        return "weekday names"
    if all(QUARTER.match(v) for v in lowered):
        return "quarters"
    return None


def _is_code(column: str, values: pd.Series, share: Callable[[pd.Series], float]) -> bool:
    """Numbers that are codes: a code-like name with whole numbers, or leading zeros."""
    digits = values.str.fullmatch(r"\d+")
    if not digits.all():
        return False
    if CODE_NAME.search(column):
        return True
    # "01234": a number would never be written with a leading zero.
    return share(values.str.len().gt(1) & values.str.startswith("0")) > 0.05


def _full_dates(values: pd.Series) -> pd.Series:
    """Dates parsed only from values that hold a full date (year, month and day)."""
    full = values.astype(str).str.strip().str.match(FULL_DATE)
    if not full.any():  # most columns: no date at all, nothing to parse
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    return parse_dates(values.where(full))


# A time of day followed by an offset ("10:00+02:00", "10:00:00Z"); "01-10-2024" is not one.
OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s?(?:Z|[+-]\d{2}:?\d{2})$")


# A date written day and month first, in either order: 01/10/2024, 1.10.24, 01-10-2024.
DAY_MONTH = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}(?:\D|$)")


def date_order(values: pd.Series, params: FlatParams) -> tuple[bool, str]:
    """(day first?, problem): whether dates written 01/10/2024 are day first, told from values
    that can only be one way (13/10/2024 or 10/13/2024). Problem is "" when the order is known
    (or irrelevant: year-first and written-out dates), else why it is not."""
    if params.dayfirst is not None:
        return params.dayfirst, ""
    parts = values.astype("string").str.extract(DAY_MONTH).dropna().astype(int)
    if parts.empty:
        return False, ""
    text = values.astype("string").str.strip()
    day_first, month_first = parts[0] > 12, parts[1] > 12
    if day_first.any() and month_first.any():
        a = text.loc[day_first[day_first].index[0]]
        b = text.loc[month_first[month_first].index[0]]
        return False, f"both day-first ({a!r}) and month-first ({b!r}) dates"
    if day_first.any() or month_first.any():
        return bool(day_first.any()), ""
    return False, f"{text.loc[parts.index[0]]!r} could be day or month first"


def parse_dates(values: pd.Series, dayfirst: bool = False) -> pd.Series:
    """Dates of an export column, naive; NaT where unparseable. `dayfirst` reads 01/10/2024 as
    1 October. Values with time-zone offsets are converted to UTC (mixed offsets included)."""
    text = values.astype("string").str.strip()
    if text.str.contains(OFFSET, na=False).any():
        parsed = pd.to_datetime(
            values, errors="coerce", format="mixed", utc=True, dayfirst=dayfirst
        )
        return parsed.dt.tz_localize(None)
    return pd.to_datetime(values, errors="coerce", format="mixed", dayfirst=dayfirst)


def has_offsets(values: pd.Series) -> bool:
    """Whether some values of a date column carry a time-zone offset (read as UTC)."""
    return bool(values.astype("string").str.strip().str.contains(OFFSET, na=False).any())


# What a value that does not parse as its column's type means, per type (scoring's row error).
INVALID = {
    "numeric": "{column} is not a number",
    "boolean": "{column} is not yes/no",
    "datetime": "{column} is not a date",
}


def feature_name(column: str, kind: str) -> str:
    """The model's feature for an export column (a date becomes its age in days)."""
    return f"{column} (days before)" if kind == "datetime" else column


def typed_column(
    kind: str,
    values: pd.Series,
    reference: pd.Series | None,
    decimal: str = ".",
    dayfirst: bool = False,
) -> tuple[pd.Series, pd.Series]:
    """One numeric, boolean or date column as the model reads it, in training and in scoring:
    (typed values, values present that do not parse as that type). A date becomes its age in
    days at `reference` (the row's date column) or, without one, at the latest date given."""
    present = values.notna()
    if kind == "numeric":
        numbers = _numeric(values, decimal)
        return numbers, numbers.isna() & present
    if kind == "boolean":
        lowered = values.astype("string").str.lower()
        flags = lowered.isin(TRUE_WORDS).astype(float).where(lowered.notna().to_numpy())
        return flags, present & ~lowered.isin(TRUE_WORDS | FALSE_WORDS)
    if kind == "datetime":
        stamps = parse_dates(values, dayfirst)
        base = reference if reference is not None else stamps.max()
        return (base - stamps).dt.total_seconds() / 86400, stamps.isna() & present
    raise ValueError(f"not a typed column kind: {kind!r}")


def categories(values: pd.Series, kept: pd.Index | list[str]) -> pd.Series:
    """A categorical column with only the kept levels: others are 'other', blanks 'missing'."""
    text = values.astype("string").str.strip()
    return text.where(text.isin(kept) | text.isna(), "other").fillna("missing").astype(str)


def feature_frame(
    frame: pd.DataFrame, types: list[ColumnType], reference: pd.Series | None, params: FlatParams
) -> pd.DataFrame:
    """Typed features: numbers, 0/1 flags, grouped categories, date ages in days."""
    columns = {}
    for info in types:
        values = frame[info.column]
        name = feature_name(info.column, info.kind)
        if info.kind == "categorical":
            columns[name] = group_levels(values, params)
        elif info.kind in INVALID:
            columns[name], _ = typed_column(
                info.kind, values, reference, info.decimal or ".", bool(info.dayfirst)
            )
    return pd.DataFrame(columns, index=frame.index)


def group_levels(values: pd.Series, params: FlatParams) -> pd.Series:
    counts = values.astype("string").str.strip().value_counts()
    keep = counts[counts >= params.min_category_size].index[: params.max_categories]
    return categories(values, keep)


def type_report(types: list[ColumnType]) -> pd.DataFrame:
    """The inferred types as a table for the report."""
    return pd.DataFrame(
        [vars(t) for t in types],
        columns=["column", "kind", "reason", "levels", "decimal", "dayfirst"],
    )


# Share of dates after today above which the column, not the leads, is wrong.
FUTURE_SHARE = 0.5


def _future_dates(
    frame: pd.DataFrame, moment: pd.Series, params: FlatParams, source: str
) -> list[str]:
    """Leads are not created in the future: mostly-future dates are an error about the dates
    (a misread format, two-digit years); a few are a note."""
    today = pd.Timestamp.now().normalize()
    future = moment > today + pd.Timedelta(days=1)
    if not future.any():
        return []
    examples = _examples(frame, future, params.date_column, params.id_column)
    if future.mean() > FUTURE_SHARE:
        raise FlatDataError(
            f"{source}: {future.mean():.0%} of the dates in {params.date_column!r} lie after "
            f"today ({today:%Y-%m-%d}); e.g. {examples}. Leads are not created in the future: "
            "check that this is the creation date and how it is written (day and month "
            "swapped? two-digit years?)"
        )
    return [
        f"{int(future.sum())} date(s) in {params.date_column!r} lie after today "
        f"({today:%Y-%m-%d}); e.g. {examples}"
    ]


def date_column_order(frame: pd.DataFrame, params: FlatParams, source: str) -> bool:
    """Whether the date column (it drives the split) is day first; an unknown order is an
    error: a misread date moves leads between windows."""
    dayfirst, problem = date_order(frame[params.date_column], params)
    if problem:
        raise FlatDataError(
            f"{source}: date column {params.date_column!r} has {problem}. Set "
            "data.flat.dayfirst: true (01/10/2024 is 1 October) or false (10 January)"
        )
    return dayfirst


def build_dataset(params: FlatParams) -> Dataset:
    """Read, check, type and split-ready the flat export (section data.flat of params.yaml)."""
    source = str(params.path)
    frame = read_export(params.path, params.missing_values)
    if frame.empty:
        raise FlatDataError(f"{source} has a header but no rows: export the data again")
    frame, params = resolve_ids(frame, params)
    frame = check_ids(frame, params, source).reset_index(drop=True)
    label, values = target_labels(frame, params, source)
    unlabelled = label.isna()
    exclusions = pd.DataFrame(columns=["reason", "leads"])
    if unlabelled.any():
        exclusions = pd.DataFrame(
            [
                {
                    "reason": "outcome not known yet (data.flat.unlabelled_values)",
                    "leads": int(unlabelled.sum()),
                }
            ]
        )
        frame, label = frame[~unlabelled].reset_index(drop=True), label[~unlabelled]
    label = label.reset_index(drop=True).astype(int)
    moment = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    notes = []
    if params.date_column:
        if params.date_column not in frame.columns:
            raise FlatDataError(f"{source}: date column {params.date_column!r} not found")
        dayfirst = date_column_order(frame, params, source)
        moment = parse_dates(frame[params.date_column], dayfirst).astype("datetime64[ns]")
        bad = moment.isna() & frame[params.date_column].notna()
        if bad.any():
            raise FlatDataError(
                f"{source}: date column {params.date_column!r} has {int(bad.sum())} "
                f"unparseable value(s); e.g. "
                f"{_examples(frame, bad, params.date_column, params.id_column)}"
            )
        empty = moment.isna()
        if empty.any():
            raise FlatDataError(
                f"{source}: date column {params.date_column!r} is empty in {int(empty.sum())} "
                f"row(s); e.g. {_examples(frame, empty, params.id_column, params.id_column)}. "
                "Fill it, or use order_column instead"
            )
        notes.extend(_future_dates(frame, moment, params, source))
        if has_offsets(frame[params.date_column]):
            notes.append(
                f"Dates in {params.date_column!r} carry time-zone offsets: all were converted "
                "to UTC before the split."
            )
    order = None
    if params.order_column:
        if params.order_column not in frame.columns:
            raise FlatDataError(f"{source}: order column {params.order_column!r} not found")
        order = _numeric(frame[params.order_column])
        if order.isna().any():
            order = frame[params.order_column].rank(method="first")
    elif params.rows_in_time_order and not params.date_column:
        order = pd.Series(np.arange(len(frame), dtype=float) + 2, index=frame.index)
        notes.append(
            "No date column: the rows are taken to be in time order (data.flat."
            "rows_in_time_order), so the split is by row position, oldest rows first."
        )
    types = infer_types(frame, params)
    features = feature_frame(frame, types, moment if params.date_column else None, params)
    if features.empty:
        raise FlatDataError(
            f"{source}: no usable feature left; column types: "
            + "; ".join(f"{t.column}: {t.reason}" for t in types)
        )
    categorical = [t.column for t in types if t.kind == "categorical"]
    segment_names = [c for c in categorical if SEGMENT_NAME.search(c)][:3] or categorical[:2]
    return Dataset(
        features=features,
        label=label,
        moment=moment,
        lead_ids=frame[params.id_column].astype(str),
        exclusions=exclusions,
        snapshot=moment.max() if moment.notna().any() else pd.NaT,
        order=order,
        segments=features[segment_names],
        columns=type_report(types),
        notes=notes,
        description={
            "target_column": params.target_column,
            "positive_values": params.positive_values,
            "meaning": f"{params.target_column} in {params.positive_values}",
            "target_values": values.to_dict(orient="records"),
        },
    )
