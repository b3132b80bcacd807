"""Where a learned rule's field lives in the CRM and the exact condition to type there.

leadscore's engineered fields (seniority and department from the job title, size and revenue
bands, activity counts over a window) have no field of that name in HubSpot, Marketo or
Account Engagement: each rule on one says which raw field to use and how, from the same
definitions the features are built with (data.features, data.feature_sql)."""

from __future__ import annotations

import re

import numpy as np

from scoring.core.config import Rule
from scoring.data.feature_sql import ACTIVE_DAYS_WINDOW, items
from scoring.data.features import FREE_MAIL_DOMAINS, FUNCTION_PATTERNS, SENIORITY_PATTERNS

# Contract fields the rules may use as they are (the CRM field of the same meaning).
RAW_FIELDS = {
    "industry": "Industry",
    "region": "Region (from country)",
    "lead_source": "Lead source",
    "campaign": "Campaign",
}
TITLE_FIELDS = {"seniority": SENIORITY_PATTERNS, "function": FUNCTION_PATTERNS}
BAND_FIELDS = {"company_size_band": "Number of employees", "revenue_band": "Annual revenue"}


def _keywords(pattern: str) -> list[str]:
    """A title pattern's alternatives as words a person types: "c[efiortm]o" as CEO, CFO, ...;
    "account(?:ing|ant)" as accounting, accountant; a stem without a word boundary ("financ")
    with "*" for any ending."""
    expanded = re.sub(
        r"(\w*)\(\?:([^)]*)\)",
        lambda m: "|".join(m.group(1) + alt for alt in m.group(2).split("|")),
        pattern,
    )
    out = []
    for part in expanded.split("|"):
        whole = part.endswith(r"\b")
        word = part.replace(r"\b", "")
        letters = re.fullmatch(r"c\[([a-z]+)\]o", word)
        if letters:
            out += [f"C{c.upper()}O" for c in letters.group(1)]
        elif word:
            out.append(word if whole else f"{word}*")
    return out


def _title_condition(field: str, values: list[str]) -> str:
    patterns = {v: p for p, v in TITLE_FIELDS[field]}
    words = [w for v in values if v in patterns for w in _keywords(patterns[v])]
    note = (
        "; a title that also names a higher level counts at that level"
        if field == "seniority"
        else "; a title that names two departments counts in the first of: finance, IT, "
        "operations, engineering, sales, marketing, HR"
    )
    return f"Job title contains any of (any case; * = any ending): {', '.join(words)}{note}"


def _band(text: str) -> str:
    if text.endswith("+"):
        return f"{text[:-1]} or more"
    if text.startswith("<"):
        return f"below {text[1:]}"
    return text.replace("-", " to ")


def _count_condition(stem: str, days: str, value) -> str:
    if stem == "activities":
        what = "activities of any kind"
    else:
        conditions = dict(items())
        what = f"activities where {conditions[stem]}" if stem in conditions else stem
    return f"Count of {what} in the {days} days before scoring, at least {value}"


def crm_condition(rule: Rule) -> str:
    """The raw CRM field and the condition to type for one rule (for a field of the CRM's
    own, the rule as written)."""
    field, op, value = rule.field, rule.op, rule.value
    empty = op == "==" and value in ("unknown", "missing")
    if field in TITLE_FIELDS:
        if empty:
            return "Job title is empty, or contains none of the keywords of the other rules"
        return _title_condition(field, list(value))
    if field in BAND_FIELDS:
        if empty:
            return f"{BAND_FIELDS[field]} is empty"
        return f"{BAND_FIELDS[field]}: {', '.join(_band(v) for v in value)}"
    if field in RAW_FIELDS:
        if empty:
            return f"{RAW_FIELDS[field]} is empty"
        return f"{RAW_FIELDS[field]} is any of (any case): {', '.join(value)}"
    if field == "log_employees":
        return f"Number of employees at least {float(np.expm1(value)):,.0f}"
    if field == "log_revenue":
        return f"Annual revenue at least {float(np.expm1(value)):,.0f}"
    if field == "free_mail":
        return f"E-mail domain is any of: {', '.join(FREE_MAIL_DOMAINS)}"
    if field.endswith("_missing"):
        return f"{field.removesuffix('_missing').replace('_', ' ').capitalize()} is empty"
    if field == f"active_days_{ACTIVE_DAYS_WINDOW}d":
        return f"Days with any activity in the last {ACTIVE_DAYS_WINDOW}, at least {value}"
    if field == "days_since_last_activity":
        return f"Days since the last activity at least {value}"
    if field == "email_click_rate":
        return f"E-mail clicks divided by e-mails opened at least {value}"
    counted = re.fullmatch(r"(.+)_(\d+)d", field)
    if counted and op == ">=":
        return _count_condition(counted.group(1), counted.group(2), value)
    if field.endswith(" (days before)"):  # a flat export's date: its age at scoring
        return f"Days since {field.removesuffix(' (days before)')} at least {value}"
    return rule.name  # the export's own field, as the rule reads
