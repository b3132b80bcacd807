"""The random draws the generator is built from: companies, creation times, titles, activity
items, the moment points first cross a threshold, disqualification reasons, dirty fields."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.core.config import GeneratorParams
from scoring.data.synth.world import (
    C_TITLES,
    CAMPAIGNS,
    COUNTRIES,
    DISQUALIFICATION_REASONS,
    FUNCTION_NAMES,
    FUNCTIONS,
    IC_TITLES,
    INDUSTRIES,
    INTENT_BINS,
    ITEMS,
    NAME_SUFFIXES,
    NAME_WORDS,
    OTHER_TITLES,
    SENIORITY,
    SOURCES,
)


def pick(rng: np.random.Generator, table: dict, n: int) -> np.ndarray:
    shares = np.array([v[0] if isinstance(v, tuple) else v for v in table.values()], float)
    return rng.choice(len(table), size=n, p=shares / shares.sum())


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def month_profile(months: np.ndarray) -> np.ndarray:
    """B2B seasonality: strong Q1 and autumn, summer and December dips (mean about 0)."""
    profile = np.array([0.8, 0.4, 0.8, 0.1, 0.1, -0.3, -1.0, -1.4, 0.4, 0.8, 0.2, -1.6])
    return profile[months - 1]


def created_at(
    rng: np.random.Generator, params: GeneratorParams, n: int, start: np.datetime64, n_days: int
) -> np.ndarray:
    days = start + np.arange(n_days).astype("timedelta64[D]")
    months = days.astype("datetime64[M]").astype(int) % 12 + 1
    weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    weight = (
        (1 + params.monthly_growth) ** (np.arange(n_days) / 30.44)
        * np.clip(1 + params.seasonality * month_profile(months), 0.1, None)
        * np.where(weekday >= 5, 0.25, 1.0)
    )
    day_index = rng.choice(n_days, size=n, p=weight / weight.sum())
    hour = np.where(rng.random(n) < 0.75, rng.normal(13, 3, n), rng.uniform(0, 24, n))
    offset_ns = (np.clip(hour, 0, 23.99) * 3600e9).astype(np.int64)
    return days[day_index].astype("datetime64[ns]") + offset_ns.astype("timedelta64[ns]")


def job_titles(rng: np.random.Generator, seniority: np.ndarray, function: np.ndarray) -> np.ndarray:
    seniorities = list(SENIORITY)
    functions = list(FUNCTIONS)
    # Title templates per (seniority, function): several spellings of the same role.
    templates: list[list[str]] = []
    for s in seniorities:
        for f in functions:
            name = FUNCTION_NAMES[f]
            options = {
                "c_level": [
                    C_TITLES[f],
                    f"Chief {name} Officer" if f != "it" else "Chief Information Officer",
                ],
                "vp": [f"VP {name}", f"Vice President of {name}", f"VP, {name}"],
                "director": [f"{name} Director", f"Director of {name}", f"Director, {name}"],
                "manager": [f"{name} Manager", f"Manager, {name}", f"Senior {name} Manager"],
                "individual": [IC_TITLES[f], f"Senior {IC_TITLES[f]}"],
                "student": ["Student", "MBA Student", "Intern"],
                "other": list(OTHER_TITLES),
            }[s]
            templates.append(options)
    width = max(len(t) for t in templates)
    grid = np.array([t + [t[0]] * (width - len(t)) for t in templates], dtype=object)
    counts = np.array([len(t) for t in templates])
    cell = seniority * len(functions) + function
    choice = (rng.random(len(cell)) * counts[cell]).astype(int)
    return grid[cell, choice]


def companies(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    industry = pick(rng, INDUSTRIES, n)
    info = list(INDUSTRIES.values())
    log_mean = np.array([v[3] for v in info])[industry]
    employees = np.clip(np.round(np.exp(rng.normal(log_mean, 1.5))), 1, 250_000)
    rev_per_emp = np.array([v[4] for v in info])[industry] * np.exp(rng.normal(0, 0.4, n))
    revenue = np.round(employees * rev_per_emp * 1000, -3)
    country = pick(rng, COUNTRIES, n)
    words = np.array(NAME_WORDS, dtype=object)
    suffixes = np.array(NAME_SUFFIXES, dtype=object)
    w1 = rng.integers(len(words), size=n)
    w2 = rng.integers(len(words), size=n)
    sfx = rng.integers(len(suffixes), size=n)
    number = np.arange(n)
    name = words[w1] + " " + words[w2] + " " + suffixes[sfx]
    # Names repeat across companies; the domain carries a number so each is unique.
    domain = (
        pd.Series(words[w1] + words[w2]).str.lower() + pd.Series(number).astype(str) + ".com"
    ).to_numpy(dtype=object)
    return {
        "industry": industry,
        "employees": employees,
        "revenue": revenue,
        "country": country,
        "name": name,
        "domain": domain,
    }


def activity_tables(intent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative item probabilities per intent bin, flattened so one searchsorted samples all."""
    base = np.array([i[3] for i in ITEMS])
    slope = np.array([i[4] for i in ITEMS])
    logits = base[None, :] + slope[None, :] * INTENT_BINS[:, None]
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    cumulative = np.cumsum(probs, axis=1)
    cumulative[:, -1] = 1.0 + 1e-12
    flat = (np.arange(len(INTENT_BINS))[:, None] + cumulative).ravel()
    bins = np.clip(np.searchsorted(INTENT_BINS, intent), 0, len(INTENT_BINS) - 1)
    return flat, bins


def sample_items(rng: np.random.Generator, flat: np.ndarray, bins: np.ndarray) -> np.ndarray:
    position = np.searchsorted(flat, bins + rng.random(len(bins)), side="right")
    return position - bins * len(ITEMS)


def first_crossing(
    lead: np.ndarray,
    time_ns: np.ndarray,
    points: np.ndarray,
    start_points: np.ndarray,
    threshold: float,
) -> np.ndarray:
    """For each lead, the time its running points first reach the threshold (or -1)."""
    order = np.lexsort((time_ns, lead))
    lead_s, time_s, pts_s = lead[order], time_ns[order], points[order]
    total = np.cumsum(pts_s)
    group_start = np.r_[0, np.flatnonzero(np.diff(lead_s)) + 1]
    offset = np.repeat(
        total[group_start] - pts_s[group_start], np.diff(np.r_[group_start, len(lead_s)])
    )
    running = total - offset + start_points[lead_s]
    crossed = running >= threshold
    result = np.full(len(start_points), -1, dtype=np.int64)
    hit_rows = np.flatnonzero(crossed)
    first_leads, first_index = np.unique(lead_s[hit_rows], return_index=True)
    result[first_leads] = time_s[hit_rows[first_index]]
    return result


def codes(values: np.ndarray, categories: list[str]) -> tuple[np.ndarray, list[str]]:
    lookup = {c: i for i, c in enumerate(categories)}
    return pd.Series(values).map(lookup).to_numpy(np.int64), categories


def campaign_names(source: np.ndarray, campaign_index: np.ndarray) -> np.ndarray:
    names = [c for s in SOURCES for c in CAMPAIGNS[s]]
    first = np.cumsum([0] + [len(CAMPAIGNS[s]) for s in SOURCES])[:-1]
    return np.array(names, dtype=object)[first[source] + campaign_index]


def disqualification_reasons(
    rng: np.random.Generator,
    disqualified: np.ndarray,
    seniority: np.ndarray,
    fit: np.ndarray,
    intent: np.ndarray,
) -> np.ndarray:
    n = len(disqualified)
    weights = np.column_stack(
        [
            np.full(n, 1.0),  # No budget
            np.where(intent < 0, 2.5, 0.8),  # Unresponsive
            np.where(seniority >= 4, 1.5, 0.4),  # Wrong contact
            np.where(fit < 0, 2.0, 0.3),  # Not a fit
            np.full(n, 0.2),  # Competitor
            np.where(seniority == 5, 8.0, 0.0),  # Student
            np.full(n, 0.7),  # Timing
        ]
    )
    cumulative = np.cumsum(weights, axis=1)
    draw = rng.random(n) * cumulative[:, -1]
    index = (cumulative < draw[:, None]).sum(axis=1)
    reasons = np.array(DISQUALIFICATION_REASONS, dtype=object)[index]
    return np.where(disqualified, reasons, None)


def dirty_firmographics(
    rng: np.random.Generator, leads: pd.DataFrame, params: GeneratorParams
) -> pd.DataFrame:
    """Missing values, placeholders and mixed case, as web forms and imports leave them."""
    n = len(leads)
    for column in ("industry", "employee_count", "annual_revenue", "job_title", "country"):
        missing = rng.random(n) < params.missing_rate * (0.6 if column == "country" else 1.0)
        leads.loc[missing, column] = np.nan if leads[column].dtype == float else None
    placeholders = np.array(["Select", "", "N/A", "-", "none"], dtype=object)
    for column in ("industry", "job_title", "country"):
        hit = (rng.random(n) < params.placeholder_rate) & leads[column].notna().to_numpy()
        leads.loc[hit, column] = placeholders[rng.integers(len(placeholders), size=hit.sum())]
    case = rng.random(n)
    industry = leads["industry"].astype(object)
    upper = (case < 0.08) & industry.notna()
    lower = (case > 0.88) & industry.notna()
    leads.loc[upper, "industry"] = industry[upper].str.upper()
    leads.loc[lower, "industry"] = industry[lower].str.lower() + " "
    region_missing = leads["country"].isna().to_numpy() & (rng.random(n) < 0.5)
    leads.loc[region_missing, "region"] = None
    return leads
