"""The synthetic CRM as files: Parquet tables and the flat export teams download from a CRM."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.data.synth.generate import SyntheticCrm


def flat_export(
    leads: pd.DataFrame, activities: pd.DataFrame, export_date: pd.Timestamp
) -> pd.DataFrame:
    """A CRM report as teams export it: one row per lead, activity counted up to export date.

    It includes activity after conversion and status fields, so it leaks if used naively.
    """
    acts = activities[activities["occurred_at"] <= export_date]
    lead = acts["lead_id"].astype(str)
    kind = acts["activity_type"].astype(str)
    page = acts["page_category"].astype(str)
    form = acts["form_type"].astype(str)

    def count(mask: pd.Series) -> pd.Series:
        return mask.groupby(lead).sum().reindex(leads["lead_id"]).fillna(0).astype(int).to_numpy()

    last_activity = acts.groupby(lead)["occurred_at"].max().reindex(leads["lead_id"])
    converted = leads["sql_at"].notna() & (leads["sql_at"] <= export_date)
    # Activity logged once sales worked the lead: mostly after conversion, as CRMs count it.
    touched_at = leads.set_index(leads["lead_id"].astype(str))["first_touch_at"]
    after_touch = acts["occurred_at"].to_numpy() >= touched_at.reindex(lead).to_numpy()
    converted_date = leads["sql_at"].where(converted).dt.strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "Lead Number": np.arange(1, len(leads) + 1),
            "Prospect ID": leads["lead_id"].to_numpy(),
            "Created Date": leads["created_at"].dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
            "Lead Source": leads["lead_source"].to_numpy(),
            "Campaign": leads["campaign"].to_numpy(),
            "First Name": leads["first_name"].to_numpy(),
            "Last Name": leads["last_name"].to_numpy(),
            "Email": leads["email"].to_numpy(),
            "Company": leads["company_name"].to_numpy(),
            "Industry": leads["industry"].to_numpy(),
            "Employees": leads["employee_count"].to_numpy(),
            "Annual Revenue": leads["annual_revenue"].to_numpy(),
            "Country": leads["country"].to_numpy(),
            "Region": leads["region"].to_numpy(),
            "Job Title": leads["job_title"].to_numpy(),
            "Total Visits": count(kind == "page_view"),
            "Pricing Page Views": count(page == "pricing"),
            "Demo Requests": count(form == "demo_request"),
            "Form Submissions": count(kind == "form_submit"),
            "Content Downloads": count(kind == "content_download"),
            "Webinars Attended": count(kind == "webinar_attended"),
            "Email Opens": count(kind == "email_open"),
            "Email Clicks": count(kind == "email_click"),
            "Total Activities": count(kind.notna()),
            "Last Activity Date": last_activity.dt.strftime("%Y-%m-%d").to_numpy(),
            "Sales Activities": count(pd.Series(after_touch, index=acts.index)),
            "Converted Date": converted_date.to_numpy(),
            "Lead Status": leads["lead_status"].to_numpy(),
            "Lead Rating": leads["lead_rating"].to_numpy(),
            "Lead Owner": leads["owner_id"].to_numpy(),
            "Converted": converted.astype(int).to_numpy(),
        }
    )


def write(
    crm: SyntheticCrm,
    leads_path: Path,
    activities_path: Path,
    truth_path: Path,
    export_path: Path | None = None,
    spend_path: Path | None = None,
    target_accounts_path: Path | None = None,
) -> None:
    """Write the generated tables (Parquet) and, optionally, the flat CRM export, the spend
    table and the target-account list (CSV, as people keep them); each file appears whole
    (written aside, then renamed), so a reader never sees half a file."""

    for path in (leads_path, activities_path, truth_path):
        path.parent.mkdir(parents=True, exist_ok=True)

    def whole(path: Path, write_to) -> None:
        temporary = path.with_name(f".{path.name}-{os.getpid()}")
        write_to(temporary)
        os.replace(temporary, path)

    # Microsecond timestamps, as a lake holds them: Spark cannot read nanosecond Parquet.
    lake = {"coerce_timestamps": "us", "allow_truncated_timestamps": True}
    whole(leads_path, lambda p: crm.leads.to_parquet(p, index=False, **lake))
    whole(activities_path, lambda p: crm.activities.to_parquet(p, index=False, **lake))
    whole(truth_path, lambda p: crm.truth.to_parquet(p, index=False))
    if export_path is not None:
        export = flat_export(crm.leads, crm.activities, crm.snapshot)
        whole(export_path, lambda p: export.to_csv(p, index=False))
    for path, table in ((spend_path, crm.spend), (target_accounts_path, crm.target_accounts)):
        if path is not None and table is not None:
            whole(path, lambda p, table=table: table.to_csv(p, index=False))
