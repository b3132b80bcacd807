"""The funnel audit as far as a flat export allows: conversion overall and by segment, field
completeness and duplicates, and a note for each part of the funnel the export cannot show."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from scoring.core.config import FlatParams
from scoring.core.errors import DataContractError
from scoring.core.jsonable import json_ready, records
from scoring.data.flat import (
    EMAIL,
    SEGMENT_NAME,
    check_ids,
    date_column_order,
    group_levels,
    infer_types,
    parse_dates,
    read_export,
    resolve_ids,
    share_matching,
    target_labels,
    type_report,
)


@dataclass(frozen=True)
class ExportAudit:
    """What a flat export allows of the funnel audit, and notes for what it does not."""

    overview: pd.DataFrame
    conversion_by_segment: dict[str, pd.DataFrame]
    completeness: pd.DataFrame
    duplicates: pd.DataFrame
    columns: pd.DataFrame
    notes: list[str]
    target_values: pd.DataFrame  # each target value, its rows and how it was counted
    money: dict[str, pd.DataFrame] = field(default_factory=dict)  # data.flat.amount_column

    @property
    def skipped(self) -> dict[str, str]:
        """The funnel audit's money sections this export cannot have, and why."""
        return {k: v for k, v in SKIPPED_SECTIONS.items() if k not in self.money}

    def summary(self) -> dict:
        return json_ready(
            {
                "overview": records(self.overview),
                "conversion_by_segment": {
                    k: records(v) for k, v in self.conversion_by_segment.items()
                },
                "completeness": records(self.completeness),
                "duplicates": records(self.duplicates),
                "columns": records(self.columns),
                "target_values": records(self.target_values),
                **{k: records(v) for k, v in self.money.items()},
                "skipped_sections": self.skipped,
                "notes": self.notes,
            },
            digits=6,
        )


NOT_IN_EXPORTS = (
    "Stage conversion (lead -> MQL -> SQL -> opportunity -> won): the export has a single "
    "conversion flag, not stage timestamps.",
    "MQL volume by month and MQL-to-SQL conversion: no MQL date in the export.",
    "Lead response time and the first-touch SLA: no MQL and first-touch timestamps.",
    "Sales cycle and win rate: no opportunity, won or lost dates.",
)
# The money sections of the funnel audit (tables mode), and why a flat export skips them.
SKIPPED_SECTIONS = {
    "sal_response": "no MQL, SAL-accept or SAL-reject timestamps",
    "pipeline_created": "no opportunity dates or amounts",
    "deal_size": "no amount column (data.flat.amount_column)",
    "revenue_by_source": "no amount column (data.flat.amount_column)",
    "pipeline_velocity": "no opportunities, amounts or sales cycle",
    "cost_per_stage": "no spend table, and no MQL, SQL or opportunity stages",
    "target_accounts": "no target-account list, and no opportunities or revenue",
    "recycled": "no nurture dates",
}


def audit_export(params: FlatParams, min_size: int = 30) -> ExportAudit:
    """The funnel audit as far as a flat export allows (section data.flat of params.yaml)."""
    source = str(params.path)
    raw, params = resolve_ids(read_export(params.path, params.missing_values), params)
    ids = raw[params.id_column] if params.id_column in raw.columns else None
    frame = check_ids(raw, params, source).reset_index(drop=True)
    label, target_table = target_labels(frame, params, source)
    labelled = label.notna()
    frame, label = frame[labelled].reset_index(drop=True), label[labelled].astype(int)
    label = label.reset_index(drop=True)
    types = infer_types(frame, params)
    overview = {
        "rows": len(raw),
        "rows_used": len(frame),
        "unlabelled": int((~labelled).sum()),
        "converted": int(label.sum()),
        "conversion": float(label.mean()),
    }
    if params.date_column and params.date_column in frame.columns:
        dates = parse_dates(frame[params.date_column], date_column_order(frame, params, source))
        overview.update({"first_date": dates.min(), "last_date": dates.max()})
    by_segment = {}
    for info in types:
        if info.kind == "categorical" and (
            SEGMENT_NAME.search(info.column) or "campaign" in info.column.lower()
        ):
            values = group_levels(frame[info.column], params)
            table = (
                pd.DataFrame({info.column: values, "converted": label})
                .groupby(info.column)["converted"]
                .agg(["size", "sum"])
                .rename(columns={"size": "leads", "sum": "conversions"})
                .reset_index()
            )
            table["conversion"] = table["conversions"] / table["leads"]
            table["small_sample"] = table["leads"] < min_size
            by_segment[info.column] = table.sort_values("leads", ascending=False, ignore_index=True)
    completeness = pd.DataFrame(
        {"field": raw.columns, "filled": [float(raw[c].notna().mean()) for c in raw.columns]}
    ).sort_values("filled", ignore_index=True)
    duplicates = [
        {
            "check": f"duplicate {params.id_column}",
            "extra_records": int(ids.duplicated().sum()) if ids is not None else 0,
        }
    ]
    for info in types:
        if (
            info.reason == "personal data"
            and share_matching(frame[info.column].dropna().astype(str), EMAIL) > 0.5
        ):
            email = frame[info.column].astype("string").str.strip().str.lower()
            duplicates.append(
                {
                    "check": f"same {info.column} on several rows",
                    "extra_records": int((email.notna() & email.duplicated()).sum()),
                }
            )
    notes = list(NOT_IN_EXPORTS)
    if not by_segment:
        notes.append(
            "Conversion by source or segment: no column named like source, channel, "
            "campaign, region, country, industry or size."
        )
    sources = [c.column for c in types if c.kind == "categorical" and SOURCE.search(c.column)]
    return ExportAudit(
        overview=pd.DataFrame([overview]),
        conversion_by_segment=by_segment,
        completeness=completeness,
        duplicates=pd.DataFrame(duplicates),
        columns=type_report(types),
        notes=notes,
        target_values=target_table,
        money=export_money(frame, label, params, sources[0] if sources else None, source),
    )


SOURCE = re.compile(r"source|channel", re.IGNORECASE)


def export_money(
    frame: pd.DataFrame, label: pd.Series, params: FlatParams, by: str | None, source: str
) -> dict[str, pd.DataFrame]:
    """Deal size and revenue by source from a flat export's amount column (the revenue of the
    rows that converted); nothing without one."""
    column = params.amount_column
    if column is None:
        return {}
    if column not in frame.columns:
        raise DataContractError(
            f"{source}: data.flat.amount_column {column!r} not found; columns: "
            + ", ".join(map(str, frame.columns[:20]))
        )
    text = frame[column].astype("string").str.replace(r"[\s$€£,]", "", regex=True)
    amount = pd.to_numeric(text, errors="coerce")
    bad = frame[column].notna() & (amount.isna() | (amount < 0))
    if bad.any():
        rows = "; ".join(f"row {i + 2}: {frame.loc[i, column]!r}" for i in frame.index[bad][:5])
        raise DataContractError(
            f"{source}: column {column!r} (data.flat.amount_column) has {int(bad.sum())} value(s) "
            f"that are not amounts >= 0; e.g. {rows}"
        )
    won = label.astype(bool).to_numpy() & amount.notna().to_numpy()
    deals = amount[won]
    deal_size = pd.DataFrame(
        [
            {
                "won_deals": int(won.sum()),
                "median_won_deal": float(deals.median()) if len(deals) else float("nan"),
                "average_won_deal": float(deals.mean()) if len(deals) else float("nan"),
                "largest_won_deal": float(deals.max()) if len(deals) else float("nan"),
                "won_revenue": float(deals.sum()),
            }
        ]
    )
    group = (
        frame[by].fillna("unknown").astype(str) if by else pd.Series("all rows", index=frame.index)
    )
    revenue = (
        pd.DataFrame({by or "group": group[won], "revenue": deals})
        .groupby(by or "group")["revenue"]
        .agg(won_deals="size", won_revenue="sum")
        .reset_index()
    )
    revenue["average_won_deal"] = revenue["won_revenue"] / revenue["won_deals"]
    revenue["share_of_revenue"] = revenue["won_revenue"] / max(revenue["won_revenue"].sum(), 1e-12)
    revenue = revenue.sort_values("won_revenue", ascending=False, ignore_index=True)
    return {"deal_size": deal_size, "revenue_by_source": revenue}


def audit_markdown(audit: ExportAudit) -> str:
    """Headline of the export audit, and what it cannot show."""
    row = audit.overview.iloc[0]
    lines = [
        f"**{int(row['rows_used']):,} leads** in the export ({int(row['rows']):,} rows), "
        f"**{int(row['converted']):,} converted ({row['conversion']:.1%})**."
    ]
    lines.append(
        "Target values: "
        + "; ".join(
            f"{r.value!r} {r.rows:,} rows ({r.counted_as})"
            for r in audit.target_values.itertuples()
        )
        + "."
    )
    if "first_date" in audit.overview.columns:
        lines.append(
            f"Created {pd.Timestamp(row['first_date']):%d %b %Y} to "
            f"{pd.Timestamp(row['last_date']):%d %b %Y}."
        )
    lines.append("**Not available from a flat export:**")
    notes = [
        *audit.notes,
        "Money sections skipped: "
        + "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in audit.skipped.items())
        + ". Leads and activities tables with the optional money fields (data/README.md) "
        "allow them.",
    ]
    return "\n\n".join(lines) + "\n\n" + "\n".join(f"- {note}" for note in notes)
