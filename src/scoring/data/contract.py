"""The data contract: load the leads and activities tables and validate them.

Loading never drops or coerces rows away: a value that does not fit the contract raises
DataContractError naming the file, table, column, check, how many rows fail and examples.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from scoring.core.config import DataParams
from scoring.core.errors import DataContractError
from scoring.data import spark_session as spark_engine
from scoring.io import tables

log = logging.getLogger(__name__)

ACTIVITY_TYPES = (
    "page_view",
    "form_submit",
    "content_download",
    "webinar_registered",
    "webinar_attended",
    "email_open",
    "email_click",
    "event_attended",
    "trial_signup",
    "unsubscribe",
)
PAGE_CATEGORIES = ("pricing", "product", "docs", "blog", "careers", "case_study", "home")
FORM_TYPES = ("demo_request", "contact_sales", "newsletter", "content_gate", "webinar_signup")
PLACEHOLDERS = ("", "select", "n/a", "na", "none", "null", "-", "--", "unknown", "?")

# The funnel's stages and the lead column stamping when a lead reached each: the one map.
STAGE_TIMESTAMPS = {
    "lead": "created_at",
    "mql": "mql_at",
    "sal": "sal_at",
    "sql": "sql_at",
    "opportunity": "opportunity_at",
    "won": "won_at",
}
LEAD_TIMESTAMPS = (*STAGE_TIMESTAMPS.values(), "first_touch_at", "lost_at")
LEAD_NUMBERS = ("employee_count", "annual_revenue")
# What a lead says of itself and its company, and how it came in (the audit's key fields).
PROFILE_FIELDS = (
    "industry",
    "employee_count",
    "annual_revenue",
    "country",
    "region",
    "job_title",
    "lead_source",
    "campaign",
)
LEAD_COLUMNS = (
    "lead_id",
    "created_at",
    "company_name",
    *PROFILE_FIELDS,
    "mql_at",
    "first_touch_at",
    "sal_at",
    "sql_at",
    "opportunity_at",
    "won_at",
    "lost_at",
    "disqualification_reason",
    "owner_id",
    "email",
    "first_name",
    "last_name",
    "lead_status",
    "lead_rating",
)
LEAD_TEXT = tuple(c for c in LEAD_COLUMNS if c not in (*LEAD_TIMESTAMPS, *LEAD_NUMBERS))
# Optional lead columns for the funnel audit's money sections, checked when present: the
# opportunity's amount (won revenue when won), sales rejecting an MQL (when, why), and a lead
# going back to nurture and re-engaging later.
OPTIONAL_TIMESTAMPS = ("sal_rejected_at", "recycled_at", "reengaged_at")
OPTIONAL_NUMBERS = ("opportunity_amount",)
OPTIONAL_TEXT = ("sal_rejection_reason",)
ACTIVITY_COLUMNS = ("lead_id", "occurred_at", "activity_type", "page_category", "form_type")

MAX_EXAMPLES = 5
# The checks a timestamp and a number column fail, as violations name them.
TIMESTAMP = "parseable timestamp"
NUMERIC = "numeric"


@dataclass(frozen=True)
class Tables:
    """The two validated input tables."""

    leads: pd.DataFrame
    activities: pd.DataFrame | ActivityFile


@dataclass(frozen=True)
class Violation:
    """One failed check: where, what, how many, and a few examples."""

    table: str
    column: str
    check: str
    n_failing: int
    examples: list[str]

    def describe(self) -> str:
        return (
            f"table '{self.table}', column '{self.column}': check '{self.check}' failed "
            f"for {self.n_failing} row(s); e.g. {'; '.join(self.examples)}"
        )


def _examples(frame: pd.DataFrame, mask: pd.Series, column: str, id_column: str) -> list[str]:
    rows = frame.loc[mask].head(MAX_EXAMPLES)
    out = []
    for index, row in rows.iterrows():
        ident = row[id_column] if id_column in frame.columns else index
        value = row[column] if column in frame.columns else None
        out.append(f"row {index} ({id_column}={ident!r}): {value!r}")
    return out


def _violation(
    frame: pd.DataFrame, mask: pd.Series, table: str, column: str, check: str, id_column: str
) -> Violation:
    """The rows of `mask` failing `check`, counted, with a few examples."""
    examples = _examples(frame, mask, column, id_column)
    return Violation(table, column, check, int(mask.sum()), examples)


def _raise(violations: list[Violation], source: str) -> None:
    if violations:
        body = "\n".join(f"  - {v.describe()}" for v in violations)
        raise DataContractError(f"{source} breaks the data contract (see data/README.md):\n{body}")


def read_table(path: Path | str) -> pd.DataFrame:
    """Read a CSV or Parquet file as it is (CSV values stay text until validated, blanks
    missing)."""
    frame = tables.read_table(path)
    if tables.is_parquet(path):
        return frame  # typed; an empty string there is a value the checks should see
    return frame.mask(frame.eq(""))


def _timestamps(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Naive UTC timestamps, the values present that do not parse, and none non-finite."""
    nothing = pd.Series(False, index=raw.index)
    if pd.api.types.is_datetime64_any_dtype(raw):
        tz = getattr(raw.dt, "tz", None)
        naive = raw.dt.tz_convert("UTC").dt.tz_localize(None) if tz is not None else raw
        return naive, nothing, nothing
    parsed = pd.to_datetime(raw, errors="coerce", format="mixed", utc=True)
    return parsed.dt.tz_localize(None), raw.notna() & parsed.isna(), nothing


def _numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Floats, the values present that are not numbers, and the non-finite ones ("1e400"
    parses as infinity: no real count or revenue is infinite, so it becomes missing)."""
    parsed = pd.to_numeric(raw, errors="coerce").astype("float64")
    infinite = pd.Series(np.isinf(parsed), index=raw.index)
    # Typed numbers (Parquet) always parse; text that is not a number is a violation.
    typed = pd.api.types.is_numeric_dtype(raw)
    bad = pd.Series(False, index=raw.index) if typed else raw.notna() & parsed.isna() & ~infinite
    return parsed.mask(infinite), bad, infinite


def _coerce(
    frame: pd.DataFrame,
    table: str,
    columns: tuple[str, ...],
    id_column: str,
    violations: list[Violation],
    kind: str,
) -> pd.DataFrame:
    """Parse columns as `kind` (TIMESTAMP or NUMERIC): a violation with example rows for each
    column holding values that do not parse; non-finite numbers missing, with a warning."""
    parse = _numbers if kind == NUMERIC else _timestamps
    for column in columns:
        if column not in frame.columns:
            continue
        parsed, bad, infinite = parse(frame[column])
        if infinite.any():
            log.warning(
                "%s.%s: %d non-finite value(s) read as missing; e.g. %s",
                table,
                column,
                int(infinite.sum()),
                "; ".join(_examples(frame, infinite, column, id_column)),
            )
        if bad.any():
            violations.append(_violation(frame, bad, table, column, kind, id_column))
        frame[column] = parsed
    return frame


def _missing_columns(frame: pd.DataFrame, table: str, required: tuple[str, ...]) -> list[Violation]:
    missing = [c for c in required if c not in frame.columns]
    return [
        Violation(
            table,
            c,
            "column present",
            len(frame),
            [f"columns found: {', '.join(map(str, frame.columns[:12]))}"],
        )
        for c in missing
    ]


def _pandera():
    """pandera's pandas API. pandera imports pyspark.pandas when pyspark is installed (for the
    Spark engine), which warns about pandas 3: imported, and run, quietly."""
    with spark_engine.quiet():
        import pandera.pandas as pa
    return pa


def _pandera_violations(frame: pd.DataFrame, table: str, schema, id_column: str) -> list[Violation]:
    pa = _pandera()
    try:
        with spark_engine.quiet():
            schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        violations = []
        for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
            index = group["index"].dropna()
            mask = frame.index.isin(index)
            examples = (
                _examples(frame, mask, column, id_column)
                if len(index)
                else [str(v) for v in group["failure_case"].head(MAX_EXAMPLES)]
            )
            violations.append(
                Violation(table, str(column), str(check), max(len(index), len(group)), examples)
            )
        return violations
    return []


def _leads_schema():
    pa = _pandera()

    text = {c: pa.Column(None, nullable=True) for c in LEAD_TEXT}
    text["lead_id"] = pa.Column(None, nullable=False, unique=True)
    stamps = {c: pa.Column("datetime64[ns]", nullable=True, coerce=True) for c in LEAD_TIMESTAMPS}
    stamps["created_at"] = pa.Column("datetime64[ns]", nullable=False, coerce=True)
    numbers = {
        c: pa.Column(float, pa.Check.ge(0), nullable=True, required=c in LEAD_NUMBERS)
        for c in (*LEAD_NUMBERS, *OPTIONAL_NUMBERS)
    }
    return pa.DataFrameSchema({**text, **stamps, **numbers}, strict=False)


def _activities_schema():
    pa = _pandera()

    return pa.DataFrameSchema(
        {
            "lead_id": pa.Column(None, nullable=False),
            "occurred_at": pa.Column("datetime64[ns]", nullable=False, coerce=True),
            "activity_type": pa.Column(None, pa.Check.isin(ACTIVITY_TYPES), nullable=False),
            "page_category": pa.Column(None, pa.Check.isin(PAGE_CATEGORIES), nullable=True),
            "form_type": pa.Column(None, pa.Check.isin(FORM_TYPES), nullable=True),
        },
        strict=False,
    )


def _as_text(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    # One text dtype (pandas' str, missing as NaN) whether the file was CSV or Parquet.
    for column in columns:
        if column in frame.columns:
            frame[column] = frame[column].astype("str")
    return frame


def validate_leads(frame: pd.DataFrame, source: str = "leads") -> pd.DataFrame:
    """Validate and type the leads table; raise DataContractError listing every violation."""
    frame = frame.copy()
    violations = _missing_columns(frame, "leads", LEAD_COLUMNS)
    _raise(violations, source)
    frame = _as_text(frame, (*LEAD_TEXT, *OPTIONAL_TEXT))
    stamps = (*LEAD_TIMESTAMPS, *(c for c in OPTIONAL_TIMESTAMPS if c in frame.columns))
    numbers = (*LEAD_NUMBERS, *(c for c in OPTIONAL_NUMBERS if c in frame.columns))
    frame = _coerce(frame, "leads", stamps, "lead_id", violations, TIMESTAMP)
    frame = _coerce(frame, "leads", numbers, "lead_id", violations, NUMERIC)
    _raise(violations, source)
    for column in stamps:
        frame[column] = frame[column].astype("datetime64[ns]")
    violations = _pandera_violations(frame, "leads", _leads_schema(), "lead_id")
    both = frame["won_at"].notna() & frame["lost_at"].notna()
    if both.any():
        check = "not both won_at and lost_at"
        violations.append(_violation(frame, both, "leads", "lost_at", check, "lead_id"))
    _raise(violations, source)
    return frame


def _known_ids(lead_ids: pd.Series):
    """The leads' ids as an Arrow array, to look activities' lead ids up in (fast in C++;
    pandas' isin rebuilds a million-id list on every call)."""
    import pyarrow as pa

    return pa.array(pd.unique(lead_ids.astype(str).to_numpy(dtype=object)), type=pa.string())


def _activity_violations(
    frame: pd.DataFrame, lead_ids, source: str
) -> tuple[pd.DataFrame, list[Violation]]:
    """The activities typed, and the checks they fail (missing columns raise at once)."""
    frame = frame.copy()
    _raise(_missing_columns(frame, "activities", ACTIVITY_COLUMNS), source)
    frame = _as_text(frame, ("lead_id", "activity_type", "page_category", "form_type"))
    violations: list[Violation] = []
    frame = _coerce(frame, "activities", ("occurred_at",), "lead_id", violations, TIMESTAMP)
    if violations:
        return frame, violations
    frame["occurred_at"] = frame["occurred_at"].astype("datetime64[ns]")
    violations = _pandera_violations(frame, "activities", _activities_schema(), "lead_id")
    if lead_ids is not None:
        import pyarrow as pa

        ids = pa.array(frame["lead_id"], type=pa.string())
        found = pc.is_in(ids, value_set=lead_ids).to_numpy(zero_copy_only=False)
        orphan = pd.Series(~found, index=frame.index)
        if orphan.any():
            check = "lead exists in leads"
            violations.append(_violation(frame, orphan, "activities", "lead_id", check, "lead_id"))
    return frame, violations


def validate_activities(
    frame: pd.DataFrame, lead_ids: pd.Series | None = None, source: str = "activities"
) -> pd.DataFrame:
    """Validate and type the activities table (and, given lead ids, that every lead exists)."""
    known = None if lead_ids is None else _known_ids(lead_ids)
    frame, violations = _activity_violations(frame, known, source)
    _raise(violations, source)
    return _categories(frame)


def _categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Validated activities' vocabulary columns as categories (small in memory)."""
    for column in ("activity_type", "page_category", "form_type"):
        frame[column] = frame[column].astype("category")
    return frame


@dataclass(frozen=True)
class ActivityFile:
    """Validated activities kept on disk (Parquet, microsecond timestamps) instead of in
    memory: the feature engines scan it out of core, so memory does not grow with it."""

    path: Path
    rows: int
    latest: pd.Timestamp | None  # the latest occurred_at (the data's "now")
    digest: str  # of the validated contents, as fingerprint() hashes a frame
    folder: Any = field(default=None, repr=False, compare=False)  # keeps the file alive

    def __len__(self) -> int:
        return self.rows

    def frame(self) -> pd.DataFrame:
        """The activities in memory, typed as validate_activities types them."""
        frame = pd.read_parquet(self.path)
        frame["occurred_at"] = frame["occurred_at"].astype("datetime64[ns]")
        return _categories(frame)


STREAM_ROWS = 1_000_000  # activities validated at a time


def stream_activities(
    path: Path | str, lead_ids: pd.Series, source: str, batch_rows: int = STREAM_ROWS
) -> ActivityFile:
    """Validate a Parquet activities file batch by batch into a validated copy on disk; every
    failing check is counted over the whole file, with the first few examples."""

    import pyarrow as pa

    folder = tempfile.TemporaryDirectory(prefix="leadscore-activities-")
    out = Path(folder.name) / "activities.parquet"
    schema = pa.schema(
        [("lead_id", pa.string()), ("occurred_at", pa.timestamp("us"))]
        + [(c, pa.string()) for c in ("activity_type", "page_category", "form_type")]
    )
    known, failed = _known_ids(lead_ids), {}
    digest, rows, latest, offset = hashlib.sha256(), 0, None, 0
    digest.update(",".join(ACTIVITY_COLUMNS).encode())
    batches = _plain_batches(path, batch_rows)
    first = next(batches, None)
    if first is None:
        first = pd.read_parquet(path)  # no rows: still checked for its columns
    with pq.ParquetWriter(out, schema) as writer:
        for batch in itertools.chain([first], batches):
            batch.index = pd.RangeIndex(offset, offset + len(batch))
            offset += len(batch)
            typed, violations = _activity_violations(batch, known, source)
            for found in violations:
                key = (found.table, found.column, found.check)
                if key in failed:
                    seen = failed[key]
                    examples = (seen.examples + found.examples)[:MAX_EXAMPLES]
                    found = Violation(*key, seen.n_failing + found.n_failing, examples)
                failed[key] = found
            if failed:
                continue  # keep counting; nothing more is written
            # Microseconds: Spark's precision, and what the feature query compares in.
            typed = typed[list(ACTIVITY_COLUMNS)].astype({"occurred_at": "datetime64[us]"})
            digest.update(pd.util.hash_pandas_object(typed, index=False).to_numpy().tobytes())
            if len(typed):
                stamp = typed["occurred_at"].max()
                latest = stamp if latest is None else max(latest, stamp)
            writer.write_table(pa.Table.from_pandas(typed, schema=schema, preserve_index=False))
            rows += len(typed)
    _raise(list(failed.values()), source)
    return ActivityFile(out, rows, latest, digest.hexdigest(), folder)


def _plain_batches(path: Path | str, batch_rows: int) -> Iterator[pd.DataFrame]:
    """A Parquet file's batches with dictionary columns decoded to plain values first: a
    batch of a pandas-written file would otherwise become a category of every lead id."""
    import pyarrow as pa

    tables.file_kind(Path(path), DataContractError)  # a clear error for what is not Parquet
    source = pq.ParquetFile(path)
    plain = pa.schema(
        [
            field.with_type(field.type.value_type) if pa.types.is_dictionary(field.type) else field
            for field in source.schema_arrow
        ]
    )
    for batch in source.iter_batches(batch_size=batch_rows):
        yield pa.Table.from_batches([batch]).cast(plain).to_pandas()


def load_tables(leads_path: Path | str, activities_path: Path | str) -> Tables:
    """Load and validate both tables from CSV or Parquet. Parquet activities are validated
    batch by batch and stay on disk (ActivityFile): memory does not grow with them."""
    leads = validate_leads(read_table(leads_path), source=f"{leads_path}")
    if tables.is_parquet(activities_path):
        activities = stream_activities(activities_path, leads["lead_id"], f"{activities_path}")
    else:
        activities = validate_activities(
            read_table(activities_path), leads["lead_id"], source=f"{activities_path}"
        )
    log.info("loaded %d leads and %d activities", len(leads), len(activities))
    return Tables(leads=leads, activities=activities)


def activity_frame(activities: pd.DataFrame | ActivityFile) -> pd.DataFrame:
    """Validated activities in memory, wherever they are kept."""
    return activities.frame() if isinstance(activities, ActivityFile) else activities


def latest_activity(activities: pd.DataFrame | ActivityFile) -> pd.Timestamp | None:
    """The latest occurred_at of validated activities."""
    if isinstance(activities, ActivityFile):
        return activities.latest
    return activities["occurred_at"].max()


def clean_category(values: pd.Series) -> pd.Series:
    """Trim, lower-case and turn placeholders ("Select", "N/A", "") into missing."""
    return by_distinct(values, _clean_distinct)


def _clean_distinct(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.lower()
    return text.mask(text.isin(PLACEHOLDERS)).astype(object).where(lambda s: s.notna(), None)


def by_distinct(values: pd.Series, transform) -> pd.Series | pd.DataFrame:
    """Apply a row-wise text transform to each distinct value once (CRM fields repeat a lot,
    so this is many times faster on large inputs) and spread the results back."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.Series([*uniques, None], dtype=object)  # last slot: missing
    result = transform(distinct)
    positions = np.where(codes < 0, len(uniques), codes)
    return result.iloc[positions].set_axis(values.index)


SIZE_BANDS = ("1-49", "50-199", "200-999", "1000-4999", "5000+")


def company_size_band(employee_count: pd.Series) -> pd.Series:
    """Employee count as the size bands sales uses; missing stays missing ('unknown')."""
    bins = np.array([0, 50, 200, 1000, 5000, np.inf])
    banded = pd.cut(employee_count, bins=bins, right=False, labels=list(SIZE_BANDS))
    return banded.astype(object).where(banded.notna(), "unknown")


def fingerprint(tables: Tables) -> str:
    """A sha256 of both tables' contents: the same data always gives the same fingerprint."""

    digest = hashlib.sha256()
    for frame in (tables.leads, tables.activities):
        if isinstance(frame, ActivityFile):
            digest.update(frame.digest.encode())
            continue
        digest.update(",".join(map(str, frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def load_truth(params: DataParams, lead_ids: pd.Series) -> pd.Series | None:
    """The synthetic true probability for these leads (None when the truth file is missing)."""
    path = params.truth_path
    if not path.is_file():
        return None
    truth = pd.read_parquet(path, columns=["lead_id", "true_probability"])
    return truth.set_index("lead_id")["true_probability"].reindex(lead_ids.astype(str))
