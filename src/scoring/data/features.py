"""Label and point-in-time features: what was known about each lead at its scoring moment.

Only activities strictly before the scoring moment are read, so a feature computed from later
data is impossible by construction. Personal data never becomes a feature.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scoring.core.config import FeatureParams, LabelParams
from scoring.data import feature_sql
from scoring.data.contract import (
    STAGE_TIMESTAMPS,
    ActivityFile,
    Tables,
    by_distinct,
    clean_category,
    company_size_band,
    latest_activity,
)

log = logging.getLogger(__name__)

# The stages a lead can be labelled by (label.outcome in params).
OUTCOME_COLUMNS = {stage: STAGE_TIMESTAMPS[stage] for stage in ("sql", "opportunity", "won")}
FREE_MAIL_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "aol.com",
    "gmx.de",
    "web.de",
    "proton.me",
    "protonmail.com",
    "live.com",
)
REVENUE_BANDS = ("<1M", "1M-10M", "10M-100M", "100M-1B", "1B+")
REVENUE_EDGES = (0, 1e6, 1e7, 1e8, 1e9, np.inf)
# Title keywords, most specific first: (pattern, value).
SENIORITY_PATTERNS = (
    (r"\bc[efiortm]o\b|\bchief\b|\bfounder\b", "c_level"),
    (r"\bvp\b|\bvice president\b|\bsvp\b|\bevp\b", "vp"),
    (r"\bdirector\b|\bhead of\b", "director"),
    (r"\bmanager\b|\blead\b", "manager"),
    (r"\bstudent\b|\bintern\b", "student"),
    (r"\bconsultant\b|\bowner\b|\bfreelanc", "other"),
)
FUNCTION_PATTERNS = (
    (r"financ|\bcfo\b|account(?:ing|ant)|controller|treasur", "finance"),
    (r"\bit\b|\bcio\b|information|system", "it"),
    (r"operat|\bcoo\b", "operations"),
    (r"engineer|\bcto\b|developer|technolog", "engineering"),
    (r"\bsales\b|\bcro\b|account exec|revenue", "sales"),
    (r"market|\bcmo\b", "marketing"),
    (r"human|\bhr\b|\bchro\b|people|talent", "hr"),
)
SEGMENTS = ("lead_source", "region", "company_size_band")
CATEGORICAL = (
    "seniority",
    "function",
    "company_size_band",
    "revenue_band",
    "industry",
    "region",
    "lead_source",
    "campaign",
)


LEAD_AGE = "lead_age_days"  # days since creation at the scoring moment (any-age models)
# Where a lead stands in the funnel at the scoring moment, from the leads table's optional
# timestamps (data/README.md): days since each, blank if not (yet) so. An any-age model reads
# them: a month-old lead sales rejected, or one marketing put back to nurture, is not the
# month-old lead that just came back from nurture. Stages sales reaches after an MQL (touch,
# SAL) are left out: the MQL is the model's own decision, and once the model routes leads a
# feature set by that routing would feed its own past scores back to it.
STATUS_FEATURES = {
    "sal_rejected_at": "days_since_sales_rejected",
    "recycled_at": "days_since_nurture",
    "reengaged_at": "days_since_reengaged",
}


@dataclass(frozen=True)
class Snapshots:
    """Each lead at every age of label.snapshot_days at which it is still open (no outcome yet,
    not lost) and its outcome window has closed: the rows an any-age model learns from and is
    replayed on (a lead before the replayed window only at its drawn ages, when build_dataset
    is given replay_from). The dataset's own rows (age days_after_created) are among them,
    first and in their order."""

    features: pd.DataFrame
    label: pd.Series
    moment: pd.Series
    lead_ids: pd.Series
    age_days: pd.Series
    lead_moment: pd.Series  # the lead's own moment (created + days_after_created): its split
    # Whether the model learns from the row: a lead's own moment and snapshots_per_lead - 1
    # others on average, drawn at random. Every row replays the daily job.
    drawn: pd.Series
    # The day after a quiet lead came back (label.reengaged_after_quiet_days), not an age.
    comeback: pd.Series


@dataclass(frozen=True)
class Dataset:
    """Eligible leads with their features, label, scoring moment and exclusions."""

    features: pd.DataFrame
    label: pd.Series
    moment: pd.Series
    lead_ids: pd.Series
    exclusions: pd.DataFrame
    snapshot: pd.Timestamp
    order: pd.Series | None = None  # time order when there is no usable date
    segments: pd.DataFrame | None = None  # columns to break metrics down by
    columns: pd.DataFrame | None = None  # inferred column types (flat exports)
    notes: list[str] = field(default_factory=list)
    description: dict = field(default_factory=dict)  # what the label means, for the reports
    sampling: dict | None = None  # how the eligible leads were sampled (features.max_leads)
    snapshots: Snapshots | None = None  # every open lead at each age (label.snapshot_days)


def snapshot_date(tables: Tables) -> pd.Timestamp:
    """The latest moment the data knows about: its latest timestamp anywhere."""
    stamps = tables.leads.select_dtypes("datetime").max()
    latest = latest_activity(tables.activities)
    return stamps.max() if latest is None or pd.isna(latest) else max(stamps.max(), latest)


def scoring_moment(leads: pd.DataFrame, params: LabelParams) -> pd.Series:
    """When each lead would be scored in production (NaT if it never reaches that moment)."""
    if params.scoring_moment == "mql":
        return leads["mql_at"]
    return leads["created_at"] + pd.Timedelta(days=params.days_after_created)


def label_and_exclusions(
    leads: pd.DataFrame, params: LabelParams, snapshot: pd.Timestamp
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(label, moment, reason excluded or None) per lead."""
    moment = scoring_moment(leads, params)
    outcome = leads[OUTCOME_COLUMNS[params.outcome]]
    window = pd.Timedelta(days=params.window_days)
    label = outcome.notna() & (outcome >= moment) & (outcome < moment + window)
    reason = pd.Series(None, index=leads.index, dtype=object)
    reason[moment.isna()] = "never reached the scoring moment (no MQL)"
    reason[reason.isna() & outcome.notna() & (outcome < moment)] = (
        f"reached {params.outcome} before the scoring moment"
    )
    reason[reason.isna() & (moment + window > snapshot)] = (
        f"immature: {params.window_days}-day window not over by the snapshot"
    )
    return label.astype(int), moment, reason


def normalise_title(titles: pd.Series) -> pd.DataFrame:
    """Job title as seniority and function ("unknown" when missing or unrecognised)."""
    return by_distinct(titles, _normalise_distinct)


def _normalise_distinct(titles: pd.Series) -> pd.DataFrame:
    text = clean_category(titles).fillna("")
    seniority = pd.Series("individual", index=titles.index, dtype=object)
    function = pd.Series("other", index=titles.index, dtype=object)
    for pattern, value in reversed(SENIORITY_PATTERNS):
        seniority[text.str.contains(pattern, regex=True)] = value
    for pattern, value in reversed(FUNCTION_PATTERNS):
        function[text.str.contains(pattern, regex=True)] = value
    seniority[text == ""] = "unknown"
    function[text == ""] = "unknown"
    return pd.DataFrame({"seniority": seniority, "function": function})


def lead_features(leads: pd.DataFrame) -> pd.DataFrame:
    """Firmographic and source features from the leads table (no personal data)."""
    title = normalise_title(leads["job_title"])
    revenue = pd.cut(
        leads["annual_revenue"], bins=list(REVENUE_EDGES), right=False, labels=list(REVENUE_BANDS)
    ).astype(object)
    # Regex replace runs vectorised in Arrow; split("@") would build a Python list per row.
    email = leads["email"].astype("string").str.strip().str.lower()
    domain = email.str.replace(r"^.*@", "", regex=True)
    industry = clean_category(leads["industry"])
    country = clean_category(leads["country"])
    frame = pd.DataFrame(
        {
            "seniority": title["seniority"],
            "function": title["function"],
            "company_size_band": company_size_band(leads["employee_count"]),
            "revenue_band": revenue.where(revenue.notna(), "unknown"),
            "industry": industry.fillna("unknown"),
            "region": clean_category(leads["region"]).fillna("unknown"),
            "lead_source": clean_category(leads["lead_source"]).fillna("unknown"),
            "campaign": clean_category(leads["campaign"]).fillna("unknown"),
            "log_employees": np.log1p(leads["employee_count"]),
            "log_revenue": np.log1p(leads["annual_revenue"]),
            "free_mail": domain.isin(FREE_MAIL_DOMAINS).fillna(False).astype(int),
            "industry_missing": industry.isna().astype(int),
            "size_missing": leads["employee_count"].isna().astype(int),
            "title_missing": clean_category(leads["job_title"]).isna().astype(int),
            "country_missing": country.isna().astype(int),
        },
        index=leads.index,
    )
    return frame


def activity_features(
    activities,
    lead_ids: pd.Series,
    moment: pd.Series,
    windows: list[int],
    engine: str = "duckdb",
    memory_limit: str | None = None,
    master: str | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """Counts per item and window, recency and active days, from activities strictly before
    each lead's `moment`, built by `engine` (one SQL definition: scoring.data.feature_sql); then the
    named signals the rule baseline and the reason wording refer to. `activities` is a frame,
    a Parquet/CSV path, or for Spark anything Spark reads (DuckDB within `memory_limit` on
    `threads`, every core by default; Spark on `master`)."""

    frame = feature_sql.activity_counts(
        engine, activities, lead_ids, moment, windows, memory_limit, master, threads
    )
    return named_signals(frame, windows)


def named_signals(frame: pd.DataFrame, windows: list[int]) -> pd.DataFrame:
    """The activity counts with the named signals the rule baseline and the reason wording
    refer to (pricing views in 7 days, demo requests, e-mail click rate, ...), added to
    `frame` (a frame of counts its caller just built)."""
    longest = max(windows)
    frame["pricing_views_7d"] = _window_count(frame, "page_pricing", 7, windows)
    frame["demo_requests"] = frame[f"form_demo_request_{longest}d"]
    frame["contact_sales_requests"] = frame[f"form_contact_sales_{longest}d"]
    frame["trial_signups"] = frame[f"trial_signup_{longest}d"]
    frame["webinars_attended"] = frame[f"webinar_attended_{longest}d"]
    frame["content_downloads"] = frame[f"content_download_{longest}d"]
    frame["unsubscribes"] = frame[f"unsubscribe_{longest}d"]
    opens, clicks = frame[f"email_open_{longest}d"], frame[f"email_click_{longest}d"]
    frame["email_click_rate"] = np.where(opens > 0, clicks / np.maximum(opens, 1), np.nan)
    return frame


def _window_count(frame: pd.DataFrame, item: str, days: int, windows: list[int]) -> pd.Series:
    if days not in windows:
        raise ValueError(f"features.windows_days must include {days} (found {windows})")
    return frame[f"{item}_{days}d"]


def activity_source(activities: pd.DataFrame | ActivityFile) -> pd.DataFrame | str:
    """What the feature engines read: a frame in memory, or the validated file on disk."""
    return str(activities.path) if isinstance(activities, ActivityFile) else activities


def build_dataset(
    tables: Tables,
    label_params: LabelParams,
    feature_params: FeatureParams,
    spark_master: str | None = None,
    seed: int = 0,
    replay_from: Callable[[pd.Series, pd.Series], pd.Timestamp | None] | None = None,
) -> Dataset:
    """Eligible leads with point-in-time features and label (sections `label`, `features`;
    `spark_master` when features.engine is spark; `seed` for features.max_leads' sample).
    An any-age model's `replay_from` gives, from the dataset's moments and labels, the first
    lead moment that is replayed (where validation starts): an earlier lead's other moments
    are built only where drawn to learn from. None: every open moment is built."""
    leads = tables.leads
    snapshot = snapshot_date(tables)
    label, moment, reason = label_and_exclusions(leads, label_params, snapshot)
    eligible = reason.isna()
    exclusions = reason[~eligible].value_counts().rename_axis("reason").reset_index(name="leads")
    eligible, sampling = _sample(eligible, feature_params.max_leads, seed)
    kept = leads.loc[eligible]
    features = pd.concat(
        [
            lead_features(kept),
            activity_features(
                activity_source(tables.activities),
                kept["lead_id"],
                moment[eligible],
                list(feature_params.windows_days),
                feature_params.engine,
                feature_params.duckdb_memory_limit,
                spark_master,
            ),
        ],
        axis=1,
    )
    any_age = bool(label_params.snapshot_days)
    if any_age:
        features[LEAD_AGE] = lead_age(kept["created_at"], moment[eligible])
        status = status_columns(leads)
        features = features.join(status_features(kept, moment[eligible], status))
    for column in CATEGORICAL:
        features[column] = features[column].astype(str)
    log.info(
        "dataset: %d eligible leads, %d excluded, %d features",
        int(eligible.sum()),
        int((~eligible).sum()),
        features.shape[1],
    )
    features = features.reset_index(drop=True)
    notes = []
    if sampling:
        notes.append(
            f"trained on a uniform random sample of {sampling['kept_leads']:,} of "
            f"{sampling['eligible_leads']:,} eligible leads (features.max_leads, seed {seed})"
        )
    snapshots = None
    if any_age:
        primary = (features, label[eligible], moment[eligible], kept["lead_id"])
        # With a sample, the other ages are taken of the sampled leads only.
        pool = leads.loc[eligible] if sampling else leads
        first_replayed = (
            None
            if replay_from is None
            else replay_from(
                moment[eligible].reset_index(drop=True), label[eligible].reset_index(drop=True)
            )
        )
        snapshots = snapshot_rows(
            pool,
            primary,
            tables,
            label_params,
            feature_params,
            snapshot,
            spark_master,
            seed,
            first_replayed,
        )
        notes.append(
            f"any-age model: learns from {int(snapshots.drawn.sum()):,} scoring moments of "
            f"{snapshots.lead_ids.nunique():,} leads, each lead at "
            f"{label_params.snapshots_per_lead:g} of the ages on average, of "
            f"{', '.join(map(str, sorted(label_params.snapshot_days)))} days it was open at "
            f"(the {label_params.days_after_created}-day one, others at random, seed {seed})"
        )
    return Dataset(
        features=features,
        label=label[eligible].reset_index(drop=True),
        moment=moment[eligible].reset_index(drop=True),
        lead_ids=kept["lead_id"].reset_index(drop=True),
        exclusions=exclusions,
        snapshot=snapshot,
        segments=features[list(SEGMENTS)],
        notes=notes,
        sampling=sampling,
        snapshots=snapshots,
        description={
            **label_params.model_dump(),
            "meaning": (
                f"reached {label_params.outcome} within {label_params.window_days} days of the "
                + (
                    "MQL"
                    if label_params.scoring_moment == "mql"
                    else f"scoring moment, {label_params.days_after_created} days after creation"
                )
            ),
        },
    )


def lead_age(created: pd.Series, moment: pd.Series) -> pd.Series:
    """Days from creation to the scoring moment (fractional)."""
    return (moment - created).dt.total_seconds() / 86_400


def status_columns(leads: pd.DataFrame) -> list[str]:
    """The status timestamps (STATUS_FEATURES) the leads table holds with at least one value:
    the ones an any-age model learns from, and then needs at scoring."""
    return [c for c in STATUS_FEATURES if c in leads.columns and leads[c].notna().any()]


def status_features(leads: pd.DataFrame, moment: pd.Series, columns: list[str]) -> pd.DataFrame:
    """Days from each status timestamp to the scoring moment, blank when the lead had not
    reached it before the moment (a later time is not known yet)."""
    frame = pd.DataFrame(index=leads.index)
    for column in columns:
        days = (moment - leads[column]).dt.total_seconds() / 86_400
        frame[STATUS_FEATURES[column]] = days.where(days > 0)
    return frame


def snapshot_rows(
    leads: pd.DataFrame,
    primary: tuple[pd.DataFrame, pd.Series, pd.Series, pd.Series],
    tables: Tables,
    label_params: LabelParams,
    feature_params: FeatureParams,
    snapshot: pd.Timestamp,
    spark_master: str | None = None,
    seed: int = 0,
    first_replayed: pd.Timestamp | None = None,
) -> Snapshots:
    """The dataset's rows (`primary`: features, label, moment, lead id) and every lead of
    `leads` at each other age of label.snapshot_days while it is open: no outcome before that
    moment, not lost before it, its outcome window over by the snapshot; a lead whose own
    moment is before `first_replayed` (not replayed: a training lead) only at the ages drawn
    for it, since nothing else reads its other moments. The model learns from a lead's own
    row and snapshots_per_lead - 1 others on average, drawn at random (`drawn`),
    and from the day after a quiet lead comes back (label.reengaged_after_quiet_days).
    Features as of each moment (one feature query per age: a lead appears once in each)."""
    features, label, moment, ids = primary
    outcome = leads[OUTCOME_COLUMNS[label_params.outcome]]
    window = pd.Timedelta(days=label_params.window_days)
    own = pd.Timedelta(days=label_params.days_after_created)
    is_open, drawn = _open_and_drawn(leads, label_params, snapshot, seed)
    status = [c for c, name in STATUS_FEATURES.items() if name in features.columns]
    n = len(label)
    parts = [
        (
            _compact(features),
            label.reset_index(drop=True),
            moment.reset_index(drop=True),
            ids.reset_index(drop=True),
            np.full(n, float(label_params.days_after_created)),
            np.ones(n, dtype=bool),
            np.zeros(n, dtype=bool),
            # Any-age moments are created_plus_days (LabelParams): the lead's own moment.
            moment.to_numpy(dtype="datetime64[ns]"),
        )
    ]

    def rows_at(rows: pd.DataFrame, at: pd.Series, learn: np.ndarray, comeback: bool) -> None:
        """The leads `rows` as of `at` (one moment each) as a part."""
        frame = pd.concat(
            [
                lead_features(rows),
                activity_features(
                    activity_source(tables.activities),
                    rows["lead_id"],
                    at,
                    list(feature_params.windows_days),
                    feature_params.engine,
                    feature_params.duckdb_memory_limit,
                    spark_master,
                ),
            ],
            axis=1,
        )
        frame[LEAD_AGE] = lead_age(rows["created_at"], at)
        frame = frame.join(status_features(rows, at, status))
        for column in CATEGORICAL:
            frame[column] = frame[column].astype(str)
        reached = outcome[rows.index]
        parts.append(
            (
                _compact(frame[features.columns].reset_index(drop=True)),
                (reached.notna() & (reached >= at) & (reached < at + window))
                .astype(int)
                .reset_index(drop=True),
                at.reset_index(drop=True),
                rows["lead_id"].reset_index(drop=True),
                frame[LEAD_AGE].to_numpy(dtype=float),
                learn,
                np.full(len(rows), comeback),
                (rows["created_at"] + own).to_numpy(),
            )
        )

    replayed = (
        pd.Series(True, index=leads.index)
        if first_replayed is None
        else leads["created_at"] + own >= first_replayed
    )
    for age, open_ in is_open.items():
        built = open_ & (drawn[age] | replayed)
        if built.any():
            rows = leads.loc[built]
            rows_at(
                rows,
                rows["created_at"] + pd.Timedelta(days=age),
                drawn[age][built].to_numpy(),
                False,
            )
    back = _comebacks(leads, tables, label_params, feature_params, snapshot)
    if back is not None and len(back):
        rows_at(leads.loc[back.index], back, np.ones(len(back), dtype=bool), True)
    return Snapshots(
        features=pd.concat([p[0] for p in parts], ignore_index=True),
        label=pd.concat([p[1] for p in parts], ignore_index=True),
        moment=pd.concat([p[2] for p in parts], ignore_index=True),
        lead_ids=pd.concat([p[3] for p in parts], ignore_index=True),
        age_days=pd.Series(np.concatenate([p[4] for p in parts])),
        lead_moment=pd.Series(np.concatenate([p[7] for p in parts])),
        drawn=pd.Series(np.concatenate([p[5] for p in parts])),
        comeback=pd.Series(np.concatenate([p[6] for p in parts])),
    )


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole-number columns as 32-bit integers where their values fit: an any-age model holds
    every replayed lead at each age (3M rows of counts at 1M leads, a third less memory)."""
    small = {
        column: np.int32
        for column in frame.select_dtypes("int64").columns
        if frame[column].between(np.iinfo(np.int32).min, np.iinfo(np.int32).max).all()
    }
    return frame.astype(small) if small else frame


def _comebacks(
    leads: pd.DataFrame,
    tables: Tables,
    label_params: LabelParams,
    feature_params: FeatureParams,
    snapshot: pd.Timestamp,
) -> pd.Series | None:
    """The day after each lead's first activity following label.reengaged_after_quiet_days
    without one, after the lead's own moment, while it is open and its window is over by the
    snapshot (index: the lead's row in `leads`), or None when not asked for. Found by DuckDB
    (with the Spark engine too: one pass over lead and time)."""
    quiet = label_params.reengaged_after_quiet_days
    if quiet is None:
        return None
    found = feature_sql.comebacks(activity_source(tables.activities), quiet)
    first = pd.to_datetime(found.set_index("lead_id")["at"])
    at = pd.Series(
        first.reindex(leads["lead_id"].astype(str)).to_numpy(dtype="datetime64[ns]"),
        leads.index,
    ) + pd.Timedelta(days=1)
    outcome = leads[OUTCOME_COLUMNS[label_params.outcome]]
    lost = leads["lost_at"] if "lost_at" in leads.columns else pd.Series(pd.NaT, leads.index)
    keep = (
        at.notna()
        & (at > leads["created_at"] + pd.Timedelta(days=label_params.days_after_created))
        & ~(outcome < at)
        & ~(lost < at)
        & (at + pd.Timedelta(days=label_params.window_days) <= snapshot)
    )
    return at[keep]


def _open_and_drawn(
    leads: pd.DataFrame, label_params: LabelParams, snapshot: pd.Timestamp, seed: int
) -> tuple[dict[int, pd.Series], dict[int, pd.Series]]:
    """Per other age of label.snapshot_days, the leads open then (no outcome yet, not lost,
    the window over by the snapshot), and those drawn for training among them: each open
    (lead, age) with the same chance, snapshots_per_lead - 1 ages a lead on average."""
    outcome = leads[OUTCOME_COLUMNS[label_params.outcome]]
    lost = leads["lost_at"] if "lost_at" in leads.columns else pd.Series(pd.NaT, leads.index)
    window = pd.Timedelta(days=label_params.window_days)
    ages = [a for a in sorted(label_params.snapshot_days) if a != label_params.days_after_created]
    is_open = np.zeros((len(leads), len(ages)), dtype=bool)
    for position, age in enumerate(ages):
        at = leads["created_at"] + pd.Timedelta(days=age)
        is_open[:, position] = (
            at.notna() & ~(outcome < at) & ~(lost < at) & (at + window <= snapshot)
        ).to_numpy()
    # Every open (lead, age) is drawn with the same chance, set so that leads get
    # snapshots_per_lead - 1 of them on average: the drawn rows are then a uniform sample of
    # the daily queue (every open lead at each age), which the model is calibrated for. (One
    # draw per lead among its own open ages would over-represent, at early ages, the leads
    # that convert early and are open at few ages: the queue was over-predicted 1.4 to 1.6
    # times at every age but the 7-day one.)
    leads_open = int(is_open.any(axis=1).sum())
    chance = min(1.0, (label_params.snapshots_per_lead - 1) * leads_open / max(is_open.sum(), 1))
    drawn = is_open & (np.random.default_rng(seed).random(is_open.shape) < chance)
    return (
        {age: pd.Series(is_open[:, i], index=leads.index) for i, age in enumerate(ages)},
        {age: pd.Series(drawn[:, i], index=leads.index) for i, age in enumerate(ages)},
    )


def _sample(eligible: pd.Series, max_leads: int | None, seed: int) -> tuple[pd.Series, dict | None]:
    """At most `max_leads` eligible leads, a uniform random sample (the conversion rate stays
    the data's, so calibration holds): for a feature table that would not fit in memory (or
    on Spark's driver). The sampling, as training.json records it, or None."""
    count = int(eligible.sum())
    if max_leads is None or count <= max_leads:
        return eligible, None
    rng = np.random.default_rng(seed)
    chosen = rng.choice(np.flatnonzero(eligible.to_numpy()), size=max_leads, replace=False)
    sampled = np.zeros(len(eligible), dtype=bool)
    sampled[chosen] = True
    return pd.Series(sampled, index=eligible.index), {
        "method": "uniform random sample of the eligible leads, without replacement",
        "eligible_leads": count,
        "kept_leads": int(max_leads),
        "seed": int(seed),
        "why": "features.max_leads",
    }


def categorical_columns(features: pd.DataFrame) -> list[str]:
    """Columns treated as categories (text columns)."""
    return [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
