"""The funnel audit a revenue team runs before any model: pure functions over validated tables."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring.audit.money import MoneyAudit, audit_money, money_lines
from scoring.core.business_time import business_hours_between
from scoring.core.config import FunnelParams
from scoring.core.jsonable import json_ready, records
from scoring.data.contract import (
    PLACEHOLDERS,
    PROFILE_FIELDS,
    STAGE_TIMESTAMPS,
    clean_category,
    company_size_band,
)
from scoring.io.files import write_json

STAGE_COLUMNS = STAGE_TIMESTAMPS
KEY_FIELDS = (*PROFILE_FIELDS, "email")
# Pairs of stage timestamps that must not go backwards.
ORDER_CHECKS = (
    ("created_at", "mql_at"),
    ("mql_at", "first_touch_at"),
    ("mql_at", "sql_at"),
    ("sql_at", "opportunity_at"),
    ("opportunity_at", "won_at"),
    ("opportunity_at", "lost_at"),
)


@dataclass(frozen=True)
class FunnelAudit:
    """Every table of the audit; `summary()` is the machine-readable funnel.json."""

    window: dict[str, Any]
    stage_conversion: pd.DataFrame
    mql_volume: pd.DataFrame
    mql_to_sql_by_source: pd.DataFrame
    mql_to_sql_by_segment: dict[str, pd.DataFrame]
    response_time: pd.DataFrame
    response_time_by_rep: pd.DataFrame
    conversion_by_response: pd.DataFrame
    sales_cycle: dict[str, pd.DataFrame]
    win_rate_by_source: pd.DataFrame
    disqualification: pd.DataFrame
    completeness: pd.DataFrame
    duplicates: pd.DataFrame
    timestamp_order: pd.DataFrame
    sla: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    money: MoneyAudit = field(default_factory=MoneyAudit)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready dict of every table."""
        return json_ready(
            {
                "window": self.window,
                "stage_conversion": records(self.stage_conversion),
                "mql_volume_by_source_month": records(self.mql_volume.reset_index()),
                "mql_to_sql_by_source": records(self.mql_to_sql_by_source),
                "mql_to_sql_by_segment": {
                    k: records(v) for k, v in self.mql_to_sql_by_segment.items()
                },
                "response_time": records(self.response_time),
                "response_time_by_rep": records(self.response_time_by_rep),
                "conversion_by_response": records(self.conversion_by_response),
                "sales_cycle": {k: records(v) for k, v in self.sales_cycle.items()},
                "win_rate_by_source": records(self.win_rate_by_source),
                "disqualification": records(self.disqualification),
                "completeness": records(self.completeness),
                "duplicates": records(self.duplicates),
                "timestamp_order": records(self.timestamp_order),
                "sla": records(self.sla),
                **{
                    name: (
                        {k: records(v) for k, v in table.items()}
                        if isinstance(table, dict)
                        else records(table)
                    )
                    for name, table in self.money.tables.items()
                },
                "skipped_sections": self.money.skipped,
                "notes": self.notes,
            },
            digits=6,
        )


def _rate(numerator: pd.Series | float, denominator: pd.Series | float):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            np.asarray(denominator) > 0,
            np.asarray(numerator, float) / np.asarray(denominator, float),
            np.nan,
        )


def segment_columns(leads: pd.DataFrame) -> pd.DataFrame:
    """Cleaned segment columns: size band, region, industry, source (placeholders -> unknown)."""
    return pd.DataFrame(
        {
            "company_size_band": company_size_band(leads["employee_count"]),
            "region": clean_category(leads["region"]),
            "industry": clean_category(leads["industry"]),
            "lead_source": clean_category(leads["lead_source"]),
            "campaign": clean_category(leads["campaign"]),
            "owner_id": leads["owner_id"],
        },
        index=leads.index,
    ).fillna("unknown")


def stage_conversion(leads: pd.DataFrame, stages: list[str]) -> pd.DataFrame:
    """Leads reaching each stage, share of all leads, and conversion from the previous stage."""
    reached = [int(leads[STAGE_COLUMNS[s]].notna().sum()) for s in stages]
    previous = [reached[0], *reached[:-1]]
    return pd.DataFrame(
        {
            "stage": stages,
            "leads": reached,
            "share_of_leads": _rate(np.array(reached), len(leads)),
            "conversion_from_previous": _rate(np.array(reached), np.array(previous)),
        }
    )


def mql_volume_by_source_month(leads: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """MQL counts per calendar month (rows) and source (columns)."""
    mql = leads["mql_at"].notna()
    month = leads.loc[mql, "mql_at"].dt.to_period("M").astype(str).rename("month")
    table = pd.crosstab(month, segments.loc[mql, "lead_source"])
    table.columns.name = None
    return table


def mql_to_sql(leads: pd.DataFrame, by: pd.Series, target: float, min_size: int) -> pd.DataFrame:
    """MQL-to-SQL conversion per group, against the target, with small groups marked."""
    mql = leads["mql_at"].notna()
    frame = pd.DataFrame(
        {"group": by[mql].to_numpy(), "sql": leads.loc[mql, "sql_at"].notna().to_numpy()}
    )
    out = frame.groupby("group", sort=True).agg(mqls=("sql", "size"), sqls=("sql", "sum"))
    out = out.reset_index().rename(columns={"group": by.name or "group"})
    out["conversion"] = _rate(out["sqls"], out["mqls"])
    out["meets_target"] = out["conversion"] >= target
    out["small_sample"] = out["mqls"] < min_size
    return out.sort_values("mqls", ascending=False, ignore_index=True)


def response_hours(leads: pd.DataFrame, params: FunnelParams) -> pd.Series:
    """Business hours from MQL to first touch (NaN where either is missing)."""
    hours = params.business_hours
    return pd.Series(
        business_hours_between(
            leads["mql_at"], leads["first_touch_at"], hours.start_hour, hours.end_hour
        ),
        index=leads.index,
        name="response_business_hours",
    )


def touch_before_mql(leads: pd.DataFrame) -> pd.Series:
    """MQLs whose first touch is stamped before the MQL (a CRM sync's order, not a response):
    by the timestamps themselves, so every table counts the same leads."""
    return leads["mql_at"].notna() & (leads["first_touch_at"] < leads["mql_at"])


def response_time_summary(leads: pd.DataFrame, hours: pd.Series, sla_hours: float) -> pd.DataFrame:
    """One row: MQLs, touched, untouched, touch before MQL, median, p90, share in SLA."""
    mql = leads["mql_at"].notna()
    before = touch_before_mql(leads)
    touched = hours[mql].dropna()
    valid = hours[mql & ~before].dropna().clip(lower=0)
    return pd.DataFrame(
        [
            {
                "mqls": int(mql.sum()),
                "touched": len(touched),
                "untouched": int(mql.sum() - len(touched)),
                "touch_before_mql": int(before.sum()),
                "median_business_hours": float(valid.median()) if len(valid) else np.nan,
                "p90_business_hours": float(valid.quantile(0.9)) if len(valid) else np.nan,
                "share_within_sla": float((valid <= sla_hours).mean()) if len(valid) else np.nan,
            }
        ]
    )


def response_time_by_rep(leads: pd.DataFrame, hours: pd.Series, sla_hours: float) -> pd.DataFrame:
    """Response time and SLA share per rep (owner)."""
    valid = leads["mql_at"].notna() & hours.notna() & ~touch_before_mql(leads)
    frame = pd.DataFrame(
        {
            "owner_id": leads.loc[valid, "owner_id"].fillna("unassigned"),
            "hours": hours[valid].clip(lower=0),
            "in_sla": hours[valid] <= sla_hours,
            "sql": leads.loc[valid, "sql_at"].notna(),
        }
    )
    out = frame.groupby("owner_id").agg(
        touched=("hours", "size"),
        median_business_hours=("hours", "median"),
        p90_business_hours=("hours", lambda h: h.quantile(0.9)),
        share_within_sla=("in_sla", "mean"),
        mql_to_sql=("sql", "mean"),
    )
    return out.reset_index().sort_values("median_business_hours", ignore_index=True)


def conversion_by_response(
    leads: pd.DataFrame, hours: pd.Series, edges: list[float]
) -> pd.DataFrame:
    """MQL-to-SQL conversion by response-time bucket: does speed pay off?"""
    mql = leads["mql_at"].notna()
    bounds = [0.0, *edges, np.inf]
    labels = [f"<= {edges[0]:g}h"] + [f"{a:g}-{b:g}h" for a, b in itertools.pairwise(edges)]
    labels.append(f"> {edges[-1]:g}h")
    bucket = pd.cut(
        hours[mql].clip(lower=0), bins=bounds, labels=labels, include_lowest=True
    ).astype(object)
    bucket = bucket.where(hours[mql].notna(), "not touched")
    bucket = bucket.where(~touch_before_mql(leads)[mql], "touch before MQL")
    frame = pd.DataFrame({"bucket": bucket, "sql": leads.loc[mql, "sql_at"].notna()})
    out = frame.groupby("bucket").agg(mqls=("sql", "size"), sqls=("sql", "sum"))
    order = [*labels, "not touched", "touch before MQL"]
    out = out.reindex([b for b in order if b in out.index]).reset_index()
    out["conversion"] = _rate(out["sqls"], out["mqls"])
    return out


def sales_cycle(leads: pd.DataFrame, by: pd.Series) -> pd.DataFrame:
    """Days from opportunity to close (won or lost) per group."""
    closed_at = leads["won_at"].fillna(leads["lost_at"])
    closed = leads["opportunity_at"].notna() & closed_at.notna()
    days = (closed_at - leads["opportunity_at"])[closed].dt.total_seconds() / 86400
    frame = pd.DataFrame(
        {"group": by[closed], "days": days, "won": leads.loc[closed, "won_at"].notna()}
    )
    out = frame.groupby("group").agg(
        closed=("days", "size"),
        median_days=("days", "median"),
        mean_days=("days", "mean"),
        won=("won", "sum"),
    )
    return (
        out.reset_index()
        .rename(columns={"group": by.name})
        .sort_values("closed", ascending=False, ignore_index=True)
    )


def win_rate_by_source(leads: pd.DataFrame, source: pd.Series) -> pd.DataFrame:
    """Opportunities, won, lost, still open, and win rate (won / closed) per source."""
    opp = leads["opportunity_at"].notna()
    frame = pd.DataFrame(
        {
            "lead_source": source[opp],
            "won": leads.loc[opp, "won_at"].notna(),
            "lost": leads.loc[opp, "lost_at"].notna(),
        }
    )
    out = frame.groupby("lead_source").agg(
        opportunities=("won", "size"), won=("won", "sum"), lost=("lost", "sum")
    )
    out["open"] = out["opportunities"] - out["won"] - out["lost"]
    out["win_rate"] = _rate(out["won"], out["won"] + out["lost"])
    return out.reset_index().sort_values("opportunities", ascending=False, ignore_index=True)


def disqualification(leads: pd.DataFrame) -> pd.DataFrame:
    """Disqualification reasons with counts and shares."""
    reasons = clean_category(leads["disqualification_reason"]).dropna()
    out = reasons.value_counts().rename_axis("reason").reset_index(name="leads")
    out["share"] = _rate(out["leads"], out["leads"].sum())
    return out


def completeness(leads: pd.DataFrame) -> pd.DataFrame:
    """Share of leads with a real value in each key field (placeholders count as missing)."""
    rows = []
    for column in KEY_FIELDS:
        values = leads[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            placeholder = values.astype("string").str.strip().str.lower().isin(PLACEHOLDERS)
            placeholder = placeholder.fillna(False).astype(bool)
        else:
            placeholder = pd.Series(False, index=values.index)
        missing = values.isna()
        rows.append(
            {
                "field": column,
                "filled": float(1 - (missing | placeholder).mean()),
                "missing": int(missing.sum()),
                "placeholder": int(placeholder.sum()),
            }
        )
    return pd.DataFrame(rows).sort_values("filled", ignore_index=True)


def duplicates(leads: pd.DataFrame) -> pd.DataFrame:
    """Duplicate lead ids and duplicate people (same e-mail, case and spaces ignored)."""
    email = leads["email"].astype("string").str.strip().str.lower()
    email_dup = email.notna() & email.duplicated(keep=False)
    return pd.DataFrame(
        [
            {
                "check": "duplicate lead_id",
                "rows": int(leads["lead_id"].duplicated(keep=False).sum()),
                "extra_records": int(leads["lead_id"].duplicated().sum()),
            },
            {
                "check": "same e-mail on several leads",
                "rows": int(email_dup.sum()),
                "extra_records": int((email.notna() & email.duplicated()).sum()),
            },
        ]
    )


def timestamp_order(leads: pd.DataFrame) -> pd.DataFrame:
    """Leads whose stage timestamps go backwards, per pair of stages."""
    rows = []
    for earlier, later in ORDER_CHECKS:
        both = leads[earlier].notna() & leads[later].notna()
        backwards = both & (leads[later] < leads[earlier])
        examples = leads.loc[backwards, "lead_id"].head(5).tolist()
        rows.append(
            {
                "check": f"{later} before {earlier}",
                "leads_checked": int(both.sum()),
                "out_of_order": int(backwards.sum()),
                "examples": ", ".join(examples),
            }
        )
    return pd.DataFrame(rows)


SLA_WORDS = {True: "met", False: "missed", None: "cannot be measured"}


def sla_status(
    leads: pd.DataFrame,
    response: pd.DataFrame,
    params: FunnelParams,
    sal: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each SLA target with the actual figure, whether it is met (None: cannot tell) and the
    verdict in words; the SAL deadline when the data says when sales rejected MQLs."""
    sla = params.sla
    mql = leads["mql_at"].notna()
    mql_to_sql_rate = float(_rate((mql & leads["sql_at"].notna()).sum(), mql.sum()))
    in_sla = float(response["share_within_sla"].iloc[0])

    def met(actual: float, goal: float) -> bool | None:
        return None if math.isnan(actual) else bool(actual >= goal)

    rows = [
        {
            "target": "MQL-to-SQL conversion",
            "goal": f">= {sla.mql_to_sql_min:.0%}",
            "actual": mql_to_sql_rate,
            "met": met(mql_to_sql_rate, sla.mql_to_sql_min),
        },
        {
            "target": (
                f"first touch within {sla.first_touch_max_business_hours:g} business hours of MQL"
            ),
            "goal": f">= {sla.first_touch_share_min:.0%} of touched MQLs",
            "actual": in_sla,
            "met": met(in_sla, sla.first_touch_share_min),
        },
    ]
    if sal is not None:
        decided = float(sal["share_decided_within_deadline"].iloc[0])
        rows.append(
            {
                "target": (
                    f"MQL accepted or rejected by sales within {params.sal_deadline_hours:g} "
                    "business hours"
                ),
                "goal": f">= {sla.sal_decided_share_min:.0%} of decided MQLs",
                "actual": decided,
                "met": met(decided, sla.sal_decided_share_min),
            }
        )
    out = pd.DataFrame(rows)
    out["status"] = [SLA_WORDS[m] for m in out["met"]]
    return out


def audit_funnel(
    leads: pd.DataFrame,
    params: FunnelParams,
    spend: pd.DataFrame | None = None,
    accounts: pd.DataFrame | None = None,
    paths: tuple[str, str] = ("spend", "target accounts"),
) -> FunnelAudit:
    """Run every audit table on a validated leads table (section `funnel` of params.yaml),
    with the money sections the optional columns, spend table and target-account list allow
    (`paths` name those two files in errors)."""
    if leads.empty:
        raise ValueError("the leads table is empty: nothing to audit")
    segments = segment_columns(leads)
    stages = stage_conversion(leads, list(params.stages))
    hours = response_hours(leads, params)
    sla_hours = params.sla.first_touch_max_business_hours
    response = response_time_summary(leads, hours, sla_hours)
    decided_at = (
        leads[["sal_at", "sal_rejected_at"]].min(axis=1) if "sal_rejected_at" in leads else None
    )
    sal_hours = (
        pd.Series(
            business_hours_between(
                leads["mql_at"],
                decided_at,
                params.business_hours.start_hour,
                params.business_hours.end_hour,
            ),
            index=leads.index,
        ).clip(lower=0)
        if decided_at is not None
        else hours
    )
    money = audit_money(
        leads,
        sal_hours,
        params.sal_deadline_hours,
        segments["lead_source"],
        segments["company_size_band"],
        spend,
        accounts,
        paths,
    )
    notes = []
    unknown = [s for s in params.segments if s not in segments.columns]
    if unknown:
        raise ValueError(
            f"funnel.segments names unknown segment(s) {unknown}; allowed: {list(segments.columns)}"
        )
    if not leads["opportunity_at"].notna().any():
        notes.append("No opportunities in the data: sales cycle and win rate are empty.")
    touched = response["touched"].iloc[0]
    if touched == 0:
        notes.append("No MQL has a first touch: response time cannot be measured.")
    window = {
        "first_lead": leads["created_at"].min(),
        "last_lead": leads["created_at"].max(),
        "last_event": leads[[*STAGE_COLUMNS.values(), "lost_at"]].max().max(),
        "leads": len(leads),
    }
    return FunnelAudit(
        window=window,
        stage_conversion=stages,
        mql_volume=mql_volume_by_source_month(leads, segments),
        mql_to_sql_by_source=mql_to_sql(
            leads, segments["lead_source"], params.sla.mql_to_sql_min, params.min_segment_size
        ),
        mql_to_sql_by_segment={
            s: mql_to_sql(leads, segments[s], params.sla.mql_to_sql_min, params.min_segment_size)
            for s in params.segments
        },
        response_time=response,
        response_time_by_rep=response_time_by_rep(leads, hours, sla_hours),
        conversion_by_response=conversion_by_response(
            leads, hours, list(params.response_time_buckets_hours)
        ),
        sales_cycle={
            s: sales_cycle(leads, segments[s])
            for s in ("company_size_band", "industry", "lead_source")
        },
        win_rate_by_source=win_rate_by_source(leads, segments["lead_source"]),
        disqualification=disqualification(leads),
        completeness=completeness(leads),
        duplicates=duplicates(leads),
        timestamp_order=timestamp_order(leads),
        sla=sla_status(
            leads,
            response,
            params,
            money.tables["sal_response"]["overall"] if "sal_response" in money.tables else None,
        ),
        notes=notes,
        money=money,
    )


def write_summary(audit: Any, path: Path | str) -> Path:
    """Write funnel.json from an audit's summary() (funnel or flat-export audit)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_json(path, audit.summary())


def headline_markdown(audit: FunnelAudit) -> str:
    """The audit's key figures in a few plain sentences, for the top of the report."""
    window = audit.window
    stages = audit.stage_conversion.set_index("stage")
    lines = [
        f"**Data window:** {len(audit.mql_volume)} months of MQLs; "
        f"{window['leads']:,} leads created {pd.Timestamp(window['first_lead']):%d %b %Y} to "
        f"{pd.Timestamp(window['last_lead']):%d %b %Y}.",
    ]
    if "mql" in stages.index:
        lines.append(
            f"**{stages.loc['mql', 'share_of_leads']:.0%} of leads became MQLs** "
            f"({stages.loc['mql', 'leads']:,})."
        )
    for _, row in audit.sla.iterrows():
        verdict = {True: "met", False: "**missed**", None: "cannot be measured"}[row["met"]]
        actual = "n/a" if pd.isna(row["actual"]) else f"{row['actual']:.0%}"
        lines.append(f"SLA *{row['target']}* (goal {row['goal']}): {actual}, {verdict}.")
    lines.extend(money_lines(audit.money))
    broken = audit.timestamp_order["out_of_order"].sum()
    dup = audit.duplicates.set_index("check")["extra_records"]
    lines.append(
        f"Data quality: {dup.sum():,} duplicate records, {broken:,} out-of-order stage "
        f"timestamps, least complete field *{audit.completeness['field'].iloc[0]}* "
        f"({audit.completeness['filled'].iloc[0]:.0%} filled)."
    )
    lines.extend(f"Note: {note}" for note in audit.notes)
    return "\n\n".join(lines)
