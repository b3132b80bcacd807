"""The funnel audit in money and in the later steps of the funnel: SAL accept or reject within
its deadline, pipeline created, deal size, revenue and cost by source, pipeline velocity,
target accounts and leads recycled through nurture.

Every section reads optional columns or tables (data/README.md); where one is absent the
section is skipped with one line saying which field it needs, and the rest of the audit runs.
Pure functions over the validated leads table; files are read at the edge (jobs.inputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scoring.core.errors import DataContractError

DAYS_PER_MONTH = 365.25 / 12
# Velocity is not given for a set of opportunities with more than this share still open.
MAX_OPEN_SHARE = 0.5
SECTIONS = (
    "sal_response",
    "pipeline_created",
    "deal_size",
    "revenue_by_source",
    "pipeline_velocity",
    "cost_per_stage",
    "target_accounts",
    "recycled",
)
# What each section reads, in the words of its skip note.
NEEDS = {
    "sal_response": "the leads table has no sal_rejected_at (when sales rejected an MQL)",
    "pipeline_created": "the leads table has no opportunity_amount",
    "deal_size": "the leads table has no opportunity_amount",
    "revenue_by_source": "the leads table has no opportunity_amount",
    "pipeline_velocity": "the leads table has no opportunity_amount",
    "cost_per_stage": "there is no spend table (data.spend_file: month, lead_source, amount)",
    "target_accounts": "there is no target-account list (data.target_accounts_file: company_name)",
    "recycled": "the leads table has no recycled_at (when a lead went back to nurture)",
}


@dataclass(frozen=True)
class MoneyAudit:
    """The money sections: each a table (or a dict of tables), or skipped with a reason."""

    tables: dict[str, object] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _rate(numerator, denominator) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )


def _months(leads: pd.DataFrame) -> float:
    """Months the leads' creation spans (at least one)."""
    span = leads["created_at"].max() - leads["created_at"].min()
    return max(span / pd.Timedelta(days=DAYS_PER_MONTH), 1.0)


def sal_response(
    leads: pd.DataFrame, hours: pd.Series, deadline: float, source: pd.Series
) -> dict[str, pd.DataFrame]:
    """Sales' decision on each MQL (accepted: sal_at; rejected: sal_rejected_at; whichever came
    first) and the business hours it took from the MQL, against the deadline: overall, by rep
    and by source; and the rejection reasons."""
    mql = leads["mql_at"].notna()
    decided_at = leads[["sal_at", "sal_rejected_at"]].min(axis=1)
    accepted = mql & leads["sal_at"].notna() & (leads["sal_at"] <= decided_at)
    rejected = mql & decided_at.notna() & ~accepted
    frame = pd.DataFrame(
        {
            "rep": leads["owner_id"].fillna("unassigned"),
            "lead_source": source,
            "accepted": accepted,
            "rejected": rejected,
            "hours": hours.where(decided_at.notna()),
        }
    )[mql]
    frame["decided"] = frame["accepted"] | frame["rejected"]
    frame["within"] = frame["decided"] & (frame["hours"] <= deadline)

    def table(by: str | None) -> pd.DataFrame:
        grouped = frame.groupby(by) if by else frame.groupby(lambda _: "all MQLs")
        out = grouped.agg(
            mqls=("decided", "size"),
            accepted=("accepted", "sum"),
            rejected=("rejected", "sum"),
            decided=("decided", "sum"),
            within=("within", "sum"),
            median_hours=("hours", "median"),
        )
        out["undecided"] = out["mqls"] - out["decided"]
        out["share_decided_within_deadline"] = _rate(out["within"], out["decided"])
        out["rejection_rate"] = _rate(out["rejected"], out["decided"])
        columns = [
            "mqls",
            "accepted",
            "rejected",
            "undecided",
            "median_hours",
            "share_decided_within_deadline",
            "rejection_rate",
        ]
        out = out[columns].reset_index(names=by or "group")
        return out.sort_values("mqls", ascending=False, ignore_index=True)

    reasons = (
        leads.loc[rejected, "sal_rejection_reason"].fillna("no reason given")
        if "sal_rejection_reason" in leads
        else pd.Series("no reason given", index=leads.index[rejected])
    )
    reason_table = reasons.value_counts().rename_axis("reason").reset_index(name="rejected")
    reason_table["share"] = _rate(reason_table["rejected"], reason_table["rejected"].sum())
    return {
        "overall": table(None),
        "by_rep": table("rep"),
        "by_source": table("lead_source"),
        "rejection_reasons": reason_table,
    }


def _opportunities(leads: pd.DataFrame) -> pd.DataFrame:
    """Every opportunity with its amount, outcome and cycle (days to close)."""
    opp = leads["opportunity_at"].notna()
    closed_at = leads["won_at"].fillna(leads["lost_at"])
    amount = leads.get("opportunity_amount", np.nan)
    return pd.DataFrame(
        {
            "opened": leads.loc[opp, "opportunity_at"],
            "amount": pd.Series(amount, index=leads.index, dtype=float)[opp],
            "won": leads.loc[opp, "won_at"].notna(),
            "lost": leads.loc[opp, "lost_at"].notna(),
            "cycle_days": (closed_at - leads["opportunity_at"])[opp] / pd.Timedelta(days=1),
        }
    )


def pipeline_created(leads: pd.DataFrame, source: pd.Series) -> pd.DataFrame:
    """Opportunities and their amounts (pipeline) created per month and source."""
    opps = _opportunities(leads)
    opps["month"] = opps["opened"].dt.to_period("M").astype(str)
    opps["lead_source"] = source[opps.index]
    out = opps.groupby(["month", "lead_source"]).agg(
        opportunities=("amount", "size"), pipeline=("amount", "sum")
    )
    return out.reset_index()


def band_order(name: str) -> float:
    """Company size bands in size order ('1-49' < '200-999' < '5000+'), others last."""
    head = str(name).split("-")[0].rstrip("+").replace(",", "")
    return float(head) if head.isdigit() else float("inf")


def deal_size(leads: pd.DataFrame, segment: pd.Series) -> pd.DataFrame:
    """Opportunity and won-deal amounts: overall and by company size band."""
    opps = _opportunities(leads)
    opps["segment"] = segment[opps.index]

    def row(group: pd.DataFrame, name: str) -> dict:
        won = group.loc[group["won"], "amount"].dropna()
        amount = group["amount"].dropna()
        return {
            "company_size_band": name,
            "opportunities": len(group),
            "median_opportunity": float(amount.median()) if len(amount) else np.nan,
            "average_opportunity": float(amount.mean()) if len(amount) else np.nan,
            "won_deals": len(won),
            "average_won_deal": float(won.mean()) if len(won) else np.nan,
            "largest_won_deal": float(won.max()) if len(won) else np.nan,
        }

    rows = [row(opps, "all")]
    groups = sorted(opps.groupby("segment"), key=lambda item: band_order(item[0]))
    rows += [row(g, str(name)) for name, g in groups]
    return pd.DataFrame(rows)


def revenue_by_source(leads: pd.DataFrame, source: pd.Series) -> pd.DataFrame:
    """Won revenue, won deals, average won deal, win rate and share of revenue by source."""
    opps = _opportunities(leads)
    opps["lead_source"] = source[opps.index]
    opps["revenue"] = opps["amount"].where(opps["won"], 0.0)
    out = opps.groupby("lead_source").agg(
        opportunities=("won", "size"),
        won_deals=("won", "sum"),
        lost=("lost", "sum"),
        won_revenue=("revenue", "sum"),
    )
    out["win_rate"] = _rate(out["won_deals"], out["won_deals"] + out["lost"])
    out["average_won_deal"] = _rate(out["won_revenue"], out["won_deals"])
    out["share_of_revenue"] = _rate(out["won_revenue"], out["won_revenue"].sum())
    out = out.drop(columns="lost").reset_index()
    return out.sort_values("won_revenue", ascending=False, ignore_index=True)


def velocity_parts(opps: pd.DataFrame, months: float) -> dict[str, float]:
    """Pipeline velocity and its four parts for a set of opportunities: opportunities a month
    x win rate (won of closed) x average won deal / sales cycle (days from opportunity to won),
    in revenue per day; NaN where a part cannot be measured."""
    won = opps[opps["won"]]
    closed = int(opps["won"].sum() + opps["lost"].sum())
    rate = float(opps["won"].sum() / closed) if closed else np.nan
    deal = float(won["amount"].mean()) if len(won) else np.nan
    cycle = float(won["cycle_days"].mean()) if len(won) else np.nan
    per_month = len(opps) / months
    velocity = per_month * rate * deal / cycle if cycle and cycle > 0 else np.nan
    still_open = len(opps) - closed
    if still_open > MAX_OPEN_SHARE * len(opps):
        # Only the quick closes are in: their cycle is short and the velocity flattered.
        velocity = np.nan
    return {
        "opportunities": len(opps),
        "still_open": still_open,
        "opportunities_per_month": per_month,
        "win_rate": rate,
        "average_won_deal": deal,
        "sales_cycle_days": cycle,
        "velocity_per_day": velocity,
        "velocity_per_month": velocity * DAYS_PER_MONTH,
    }


def pipeline_velocity(
    leads: pd.DataFrame, source: pd.Series, segment: pd.Series
) -> dict[str, pd.DataFrame]:
    """Pipeline velocity overall, by source, by company size band and by month the
    opportunities opened, each with its four parts."""
    opps = _opportunities(leads)
    months = _months(leads)
    opps["lead_source"] = source[opps.index]
    opps["company_size_band"] = segment[opps.index]
    opps["month"] = opps["opened"].dt.to_period("M").astype(str)

    def by(column: str, span: float | None = None) -> pd.DataFrame:
        groups = list(opps.groupby(column, sort=True))
        if column == "company_size_band":
            groups.sort(key=lambda item: band_order(item[0]))
        rows = [
            {column: str(name), **velocity_parts(group, span or months)} for name, group in groups
        ]
        return pd.DataFrame(rows)

    overall = pd.DataFrame([{"group": "all opportunities", **velocity_parts(opps, months)}])
    return {
        "overall": overall,
        "by_source": by("lead_source"),
        "by_segment": by("company_size_band"),
        "by_month": by("month", 1.0),
    }


def check_spend(spend: pd.DataFrame, path: str) -> pd.DataFrame:
    """The spend table typed (month as 2025-01, amount >= 0), or DataContractError naming the
    file, the column and a few rows."""
    missing = [c for c in ("month", "lead_source", "amount") if c not in spend.columns]
    if missing:
        raise DataContractError(
            f"{path}: the spend table needs columns month, lead_source and amount; missing "
            f"{', '.join(missing)} (found {', '.join(map(str, spend.columns[:10]))})"
        )
    out = spend.copy()
    month = pd.to_datetime(out["month"].astype(str), errors="coerce", format="mixed")
    amount = pd.to_numeric(out["amount"], errors="coerce")
    for column, bad in (("month", month.isna()), ("amount", amount.isna() | (amount < 0))):
        if bad.any():
            rows = "; ".join(f"row {i + 2}: {out.loc[i, column]!r}" for i in out.index[bad][:5])
            raise DataContractError(
                f"{path}: column '{column}' has {int(bad.sum())} value(s) that are not "
                f"{'a month' if column == 'month' else 'an amount >= 0'}; e.g. {rows}"
            )
    out["month"] = month.dt.to_period("M").astype(str)
    out["amount"] = amount.astype(float)
    out["lead_source"] = out["lead_source"].astype(str).str.strip().str.lower()
    return out


def cost_per_stage(leads: pd.DataFrame, source: pd.Series, spend: pd.DataFrame) -> pd.DataFrame:
    """Spend in the months the leads were created, and cost per lead, MQL, SQL, opportunity
    and won deal, by source and in total."""
    months = leads["created_at"].dt.to_period("M").astype(str)
    spent = spend[spend["month"].isin(set(months))].groupby("lead_source")["amount"].sum()
    frame = pd.DataFrame(
        {
            "lead_source": source.astype(str).str.lower(),
            "mql": leads["mql_at"].notna(),
            "sql": leads["sql_at"].notna(),
            "opportunity": leads["opportunity_at"].notna(),
            "won": leads["won_at"].notna(),
        }
    )
    counts = frame.groupby("lead_source").agg(
        leads=("mql", "size"),
        mqls=("mql", "sum"),
        sqls=("sql", "sum"),
        opportunities=("opportunity", "sum"),
        won_deals=("won", "sum"),
    )
    counts.loc["all sources"] = counts.sum()
    spent = spent.reindex(counts.index)
    spent.loc["all sources"] = spend.loc[spend["month"].isin(set(months)), "amount"].sum()
    out = counts.assign(spend=spent)
    for stage, column in (
        ("lead", "leads"),
        ("mql", "mqls"),
        ("sql", "sqls"),
        ("opportunity", "opportunities"),
        ("won_deal", "won_deals"),
    ):
        out[f"cost_per_{stage}"] = _rate(out["spend"], out[column])
    return out.reset_index()


def normalised_names(values: pd.Series) -> pd.Series:
    """Company names compared ignoring case and spaces."""
    return values.astype("string").str.strip().str.lower().str.replace(r"\s+", " ", regex=True)


def target_accounts(leads: pd.DataFrame, accounts: pd.DataFrame, path: str) -> pd.DataFrame:
    """Target accounts against the other leads: conversion, win rate, revenue and velocity."""
    if "company_name" not in accounts.columns:
        raise DataContractError(
            f"{path}: the target-account list needs a company_name column (found "
            f"{', '.join(map(str, accounts.columns[:10]))})"
        )
    target = normalised_names(leads["company_name"]).isin(
        set(normalised_names(accounts["company_name"]).dropna())
    )
    months = _months(leads)
    rows = []
    for name, mask in (("target accounts", target), ("other accounts", ~target)):
        group = leads[mask.fillna(False).to_numpy()]
        opps = _opportunities(group)
        won = opps[opps["won"]]
        parts = velocity_parts(opps, months)
        rows.append(
            {
                "accounts": name,
                "leads": len(group),
                "lead_to_sql": float(_rate(group["sql_at"].notna().sum(), len(group))),
                "mql_to_sql": float(
                    _rate(
                        (group["mql_at"].notna() & group["sql_at"].notna()).sum(),
                        group["mql_at"].notna().sum(),
                    )
                ),
                "opportunities": len(opps),
                "win_rate": parts["win_rate"],
                "won_revenue": float(won["amount"].sum()),
                "average_won_deal": parts["average_won_deal"],
                "velocity_per_month": parts["velocity_per_month"],
            }
        )
    return pd.DataFrame(rows)


def recycled(leads: pd.DataFrame) -> pd.DataFrame:
    """Leads back to nurture: how many, how many re-engaged and how fast, and how many reached
    SQL after going back (of the recycled, and of those that re-engaged)."""
    back = leads["recycled_at"].notna()
    again = (
        back & leads["reengaged_at"].notna() & (leads["reengaged_at"] > leads["recycled_at"])
        if "reengaged_at" in leads
        else pd.Series(False, index=leads.index)
    )
    later = back & leads["sql_at"].notna() & (leads["sql_at"] > leads["recycled_at"])
    days = (
        ((leads["reengaged_at"] - leads["recycled_at"]) / pd.Timedelta(days=1))[again]
        if ("reengaged_at" in leads)
        else pd.Series(dtype=float)
    )
    return pd.DataFrame(
        [
            {
                "recycled": int(back.sum()),
                "reengaged": int(again.sum()),
                "reengagement_rate": float(_rate(again.sum(), back.sum())),
                "median_days_to_reengage": float(days.median()) if len(days) else np.nan,
                "sql_after_recycling": int(later.sum()),
                "conversion_of_recycled": float(_rate(later.sum(), back.sum())),
                "conversion_of_reengaged": float(_rate((later & again).sum(), again.sum())),
            }
        ]
    )


def audit_money(
    leads: pd.DataFrame,
    hours: pd.Series,
    deadline: float,
    source: pd.Series,
    segment: pd.Series,
    spend: pd.DataFrame | None,
    accounts: pd.DataFrame | None,
    paths: tuple[str, str] = ("spend", "target accounts"),
) -> MoneyAudit:
    """Every money section the data allows; the others skipped with their reason."""
    tables: dict[str, object] = {}
    has_amount = "opportunity_amount" in leads and leads["opportunity_amount"].notna().any()
    if "sal_rejected_at" in leads:
        tables["sal_response"] = sal_response(leads, hours, deadline, source)
    if has_amount:
        tables["pipeline_created"] = pipeline_created(leads, source)
        tables["deal_size"] = deal_size(leads, segment)
        tables["revenue_by_source"] = revenue_by_source(leads, source)
        tables["pipeline_velocity"] = pipeline_velocity(leads, source, segment)
    if spend is not None:
        tables["cost_per_stage"] = cost_per_stage(leads, source, check_spend(spend, paths[0]))
    if accounts is not None:
        tables["target_accounts"] = target_accounts(leads, accounts, paths[1])
    if "recycled_at" in leads:
        tables["recycled"] = recycled(leads)
    skipped = {s: NEEDS[s] for s in SECTIONS if s not in tables}
    return MoneyAudit(tables, skipped)


def money_lines(money: MoneyAudit) -> list[str]:
    """The money sections' headline figures, and which sections were skipped and why."""
    tables, lines = money.tables, []
    if "pipeline_velocity" in tables:
        v = tables["pipeline_velocity"]["overall"].iloc[0]
        lines.append(
            f"**Pipeline velocity: ${v['velocity_per_month']:,.0f} a month** "
            f"({v['opportunities_per_month']:,.0f} opportunities a month x "
            f"{v['win_rate']:.0%} win rate x ${v['average_won_deal']:,.0f} average won deal / "
            f"{v['sales_cycle_days']:.0f}-day cycle = ${v['velocity_per_day']:,.0f} a day)."
        )
    if "cost_per_stage" in tables:
        total = tables["cost_per_stage"].set_index("lead_source").loc["all sources"]
        lines.append(
            f"Spend ${total['spend']:,.0f}: ${total['cost_per_mql']:,.0f} per MQL, "
            f"${total['cost_per_sql']:,.0f} per SQL, ${total['cost_per_opportunity']:,.0f} per "
            "qualified opportunity."
        )
    if "target_accounts" in tables:
        rows = tables["target_accounts"].set_index("accounts")
        target, other = rows.loc["target accounts"], rows.loc["other accounts"]
        lift = target["lead_to_sql"] / other["lead_to_sql"] if other["lead_to_sql"] else np.nan
        lines.append(
            f"Target accounts: {int(target['leads']):,} leads reach SQL at "
            f"{target['lead_to_sql']:.1%} "
            f"against {other['lead_to_sql']:.1%} for the others ({lift:.1f} times as often)."
        )
    if "recycled" in tables:
        r = tables["recycled"].iloc[0]
        lines.append(
            f"Recycled: {int(r['recycled']):,} leads went back to nurture; "
            f"{int(r['reengaged']):,} "
            f"re-engaged (median {r['median_days_to_reengage']:.0f} days later) and "
            f"{int(r['sql_after_recycling']):,} reached SQL afterwards "
            f"({r['conversion_of_reengaged']:.0%} of those that re-engaged)."
        )
    # Jupyter's Markdown reads text between two dollar signs as mathematics.
    lines = [line.replace("$", "\\$") for line in lines]
    if money.skipped:
        lines.append(
            "Skipped: "
            + "; ".join(f"{name.replace('_', ' ')} ({why})" for name, why in money.skipped.items())
            + "."
        )
    return lines
