"""Reasons in business words: a feature and its value as people say them, and each row's
strongest contributions up and down, worded once per distinct value."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

LABELS = {
    "seniority": "Seniority",
    "function": "Department",
    "company_size_band": "Company size",
    "revenue_band": "Annual revenue",
    "industry": "Industry",
    "region": "Region",
    "lead_source": "Lead source",
    "campaign": "Campaign",
}


VALUE_WORDS = {
    "c_level": "C-level",
    "vp": "VP",
    "director": "Director",
    "manager": "Manager",
    "individual": "Individual contributor",
    "student": "Student",
    "it": "IT",
    "hr": "HR",
    "other": "Other",
}


ITEM_WORDS = {
    "page_pricing": "pricing page visits",
    "page_product": "product page visits",
    "page_docs": "documentation visits",
    "page_blog": "blog visits",
    "page_careers": "careers page visits",
    "page_case_study": "case study views",
    "page_home": "home page visits",
    "form_demo_request": "demo requests",
    "form_contact_sales": "contact-sales requests",
    "form_newsletter": "newsletter sign-ups",
    "form_content_gate": "gated content forms",
    "form_webinar_signup": "webinar sign-up forms",
    "content_download": "content downloads",
    "webinar_registered": "webinar registrations",
    "webinar_attended": "webinars attended",
    "email_open": "e-mails opened",
    "email_click": "e-mail clicks",
    "event_attended": "events attended",
    "trial_signup": "trial sign-ups",
    "unsubscribe": "unsubscribes",
    "activities": "activities",
}


def feature_label(feature: str) -> str:
    """A feature's name for people: 'Pricing page visits (7 days)', 'Company size'."""
    if feature in LABELS:
        return LABELS[feature]
    counted = re.fullmatch(r"(.+)_(\d+)d", feature)
    if counted and counted.group(1) in ITEM_WORDS:
        return f"{ITEM_WORDS[counted.group(1)].capitalize()} ({counted.group(2)} days)"
    named = {
        "log_employees": "Employees",
        "log_revenue": "Annual revenue",
        "free_mail": "Free e-mail address",
        "days_since_last_activity": "Days since last activity",
        "active_days_30d": "Active days (30 days)",
        "pricing_views_7d": "Pricing page visits (7 days)",
        "email_click_rate": "E-mail click rate",
        "lead_age_days": "Lead age (days)",
        "days_since_sales_rejected": "Days since sales rejected the lead",
        "days_since_nurture": "Days since the lead went back to nurture",
        "days_since_reengaged": "Days since the lead came back from nurture",
    }
    return named.get(feature, feature.replace("_", " ").capitalize())


def days_ago(days: float) -> str:
    """'today', '1 day ago', '12 days ago'."""
    whole = int(days)
    return "today" if whole < 1 else ("1 day ago" if whole == 1 else f"{whole} days ago")


def one_of(items: str) -> str:
    """The singular of an ITEM_WORDS phrase: 'pricing page visit', 'webinar attended'."""
    words = items.split(" ")
    at = len(words) - 2 if words[-1] in ("attended", "opened") and len(words) > 1 else -1
    noun = words[at]
    words[at] = noun[:-3] + "y" if noun.endswith("ies") else noun.removesuffix("s")
    return " ".join(words)


# Where the lead stands (any-age models): the status feature's wording, had and not had.
STATUS_WORDS = {
    "days_since_sales_rejected": ("Rejected by sales {ago}", "Never rejected by sales"),
    "days_since_nurture": ("Went back to nurture {ago}", "Never sent back to nurture"),
    "days_since_reengaged": ("Came back from nurture {ago}", "Has not come back from nurture"),
}


def describe(feature: str, value, wording: dict[str, str]) -> str:
    """A feature and its value in business words (params wording first, then defaults)."""
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    if feature in wording:
        yes_no = "unknown" if missing else ("yes" if value else "no")
        return wording[feature].format(value=value, yes_no=yes_no)
    if feature in LABELS:
        shown = (
            "unknown"
            if missing or value == "unknown"
            else VALUE_WORDS.get(str(value), str(value).replace("_", " "))
        )
        return f"{LABELS[feature]}: {shown}"
    if feature.endswith("_missing"):
        subject = feature.removesuffix("_missing").replace("_", " ")
        return f"{subject.capitalize()} unknown" if value else f"{subject.capitalize()} known"
    if feature == "free_mail":
        return "Free e-mail address" if value else "Business e-mail address"
    if feature == "days_since_last_activity":
        return "No activity yet" if missing else f"Last activity {value:.0f} days ago"
    if feature == "lead_age_days":
        return "Lead age unknown" if missing else f"Lead created {days_ago(value)}"
    if feature in STATUS_WORDS:
        had, never = STATUS_WORDS[feature]
        return never if missing else had.format(ago=days_ago(value))
    if feature == "demo_requests":
        return "Requested a demo" if value else "No demo request"
    if feature == "contact_sales_requests":
        return "Asked to talk to sales" if value else "Has not asked to talk to sales"
    if feature == "pricing_views_7d":
        return f"Pricing page visited {value:.0f} times in the last 7 days"
    if feature == "active_days_30d":
        return f"Active on {value:.0f} days in the last 30"
    if feature == "email_click_rate":
        return "No e-mails opened" if missing else f"Clicks {value:.0%} of e-mails opened"
    if feature == "log_employees":
        return "Company size unknown" if missing else f"About {np.expm1(value):,.0f} employees"
    if feature == "log_revenue":
        return "Revenue unknown" if missing else f"About ${np.expm1(value) / 1e6:,.0f}M revenue"
    counted = re.fullmatch(r"(.+)_(\d+)d", feature)
    if counted and counted.group(1) in ITEM_WORDS:
        what = ITEM_WORDS[counted.group(1)]
        amount = 0 if missing else int(value)
        if amount == 0:
            return f"No {what} in the last {counted.group(2)} days"
        counted_what = one_of(what) if amount == 1 else what
        return f"{amount} {counted_what} in the last {counted.group(2)} days"
    if feature in ("trial_signups", "webinars_attended", "content_downloads", "unsubscribes"):
        return f"{ITEM_WORDS.get(feature.rstrip('s'), feature.replace('_', ' '))}: {value}"
    # Flat exports: the column's own name is the business word.
    return f"{feature}: {'unknown' if missing else shown_value(value)}"


def yes_no_wording(features: list[str]) -> dict[str, str]:
    """Wording for an export's yes/no fields, read as 1/0: "Newsletter: yes", not "1"."""
    return {
        feature: f"{feature.replace('{', '{{').replace('}', '}}')}: {{yes_no}}"
        for feature in features
    }


def shown_value(value) -> str:
    """A flat export's value as a person writes it: whole numbers without ".0" and with
    thousands separators, others to 4 significant digits, a blank category as "empty"."""
    if isinstance(value, float | np.floating) and np.isfinite(value):
        if float(value).is_integer() or abs(value) >= 1e4:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    if value == "missing":  # how the features spell a blank category
        return "empty"
    return str(value)


def top_reasons(
    contributions: np.ndarray,
    values: pd.DataFrame,
    features: list[str],
    wording: dict[str, str],
    top: int = 3,
) -> pd.DataFrame:
    """Vectorised reason codes: for every row the `top` strongest contributions up and down,
    as words (up_k, down_k), feature names and contributions. Words are cached per (feature,
    value), so large batches cost little more than their distinct values."""
    # Compiled (numba): imported when reasons are ranked, not by every reader of the words.
    from scoring.runtime.ranking import top_columns

    n = len(contributions)
    columns: dict[str, object] = {}
    cache: dict[tuple[int, object], str] = {}
    value_columns = [values[f].to_numpy(dtype=object) for f in features]
    rows = np.arange(n)
    for kind, sign in (("up", 1.0), ("down", -1.0)):
        order = top_columns(contributions, top, sign)
        for rank in range(top):
            if rank < order.shape[1]:
                index = order[:, rank]
                picked = sign * contributions[rows, index]
            else:
                index, picked = np.zeros(n, dtype=int), np.zeros(n)
            present = picked > 0
            words = np.full(n, None, dtype=object)
            # Worded per feature and distinct value, then spread to every row that has it:
            # the Python work follows the distinct values, not the rows.
            rows_present = np.flatnonzero(present)
            by_feature = np.argsort(index[rows_present], kind="stable")
            ordered = rows_present[by_feature]
            cuts = np.flatnonzero(np.diff(index[ordered])) + 1
            for group in np.split(ordered, cuts) if len(ordered) else []:
                feature = int(index[group[0]])
                codes, uniques = pd.factorize(value_columns[feature][group], use_na_sentinel=True)
                texts = [
                    _worded(cache, features, feature, value, wording)
                    for value in [*uniques, np.nan]  # the last one: missing (code -1)
                ]
                words[group] = np.asarray(texts, dtype=object)[codes]
            names = np.where(present, np.asarray(features, dtype=object)[index], None)
            columns[f"{kind}_{rank + 1}"] = words
            columns[f"{kind}_{rank + 1}_feature"] = names
            columns[f"{kind}_{rank + 1}_contribution"] = np.where(present, picked * sign, np.nan)
    frame = pd.DataFrame(columns, index=values.index)
    ordered = [
        f"{k}_{r + 1}{s}"
        for k in ("up", "down")
        for r in range(top)
        for s in ("", "_feature", "_contribution")
    ]
    return frame[ordered]


def _worded(cache: dict, features: list[str], feature: int, value, wording: dict) -> str:
    """describe(), once per (feature, value)."""
    key = (feature, value if value == value else "nan")
    text = cache.get(key)
    if text is None:
        text = cache[key] = describe(features[feature], value, wording)
    return text
