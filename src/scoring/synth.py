"""The synthetic CRM: leads, activities and each lead's true conversion probability.

The world it simulates is written down here, once:
- Companies have an industry, a size and a country; leads are people at those companies.
- ICP fit depends on industry x company size x seniority x function (interactions, not sums).
- A latent intent, shifted by channel and campaign, drives how much a lead engages and what it
  does; engagement fades after the lead is created.
- Today's points rules (WORLD_RULES) turn fit and activity into an MQL timestamp.
- Conversion to SQL depends on fit, intent and their interaction, the channel, drift over time
  and, for MQLs, how fast sales responded.
- The true probability (fit, intent, channel, time) is written to its own file for evaluation.
- Leaky fields are planted as real CRMs have them: activity after the SQL date and status
  fields filled in by sales.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.business_time import business_hours_index, timestamp_at_business_hours
from scoring.config import GeneratorParams

log = logging.getLogger(__name__)

# --- the world -------------------------------------------------------------------------------

# source: (share, intent shift, conversion shift)
SOURCES = {
    "organic_search": (0.22, 0.3, 0.0),
    "paid_search": (0.18, 0.1, -0.1),
    "paid_social": (0.15, -0.3, -0.2),
    "content_syndication": (0.12, -0.6, -0.5),
    "webinar": (0.10, 0.2, 0.0),
    "event": (0.08, 0.1, 0.1),
    "referral": (0.06, 0.6, 0.5),
    "partner": (0.05, 0.3, 0.3),
    "outbound_list": (0.04, -0.8, -0.4),
}
CAMPAIGNS = {
    "organic_search": ("seo_blog", "seo_product"),
    "paid_search": ("brand_search", "generic_search"),
    "paid_social": ("linkedin_lead_gen", "linkedin_retargeting"),
    "content_syndication": ("ebook_syndication",),
    "webinar": ("monthly_webinar",),
    "event": ("trade_show", "roadshow"),
    "referral": ("customer_referral",),
    "partner": ("partner_co_sell",),
    "outbound_list": ("purchased_list",),
}
LATE_CAMPAIGN = "ai_assistant_launch"
LATE_CAMPAIGN_SOURCES = ("paid_search", "webinar")
LATE_CAMPAIGN_INTENT = 0.6

# industry: (share, fit base, size group, log-employee mean, revenue per employee in k USD)
INDUSTRIES = {
    "Software": (0.22, 0.4, "digital", 4.6, 220),
    "Fintech": (0.08, 0.6, "digital", 4.3, 260),
    "Financial Services": (0.12, 0.5, "regulated", 5.6, 300),
    "Healthcare": (0.10, 0.0, "regulated", 5.4, 140),
    "Manufacturing": (0.12, 0.1, "traditional", 5.5, 180),
    "Retail": (0.10, -0.2, "traditional", 5.2, 120),
    "Education": (0.08, -0.6, "traditional", 5.0, 90),
    "Government": (0.05, -0.8, "regulated", 6.0, 110),
    "Media": (0.06, -0.3, "traditional", 4.5, 160),
    "Other": (0.07, -0.4, "traditional", 4.4, 130),
}
FINANCE_INDUSTRIES = ("Fintech", "Financial Services", "Software")
SIZE_EDGES = np.array([50, 200, 1000, 5000])  # bands 1-49, 50-199, 200-999, 1000-4999, 5000+
SIZE_EFFECT = {
    "digital": np.array([0.2, 0.7, 0.9, 0.3, -0.3]),
    "regulated": np.array([-0.9, -0.2, 0.6, 0.9, 0.5]),
    "traditional": np.array([-0.8, -0.1, 0.5, 0.4, -0.2]),
}
# seniority: (share, weight in fit)
SENIORITY = {
    "c_level": (0.06, 1.0),
    "vp": (0.08, 0.9),
    "director": (0.14, 0.8),
    "manager": (0.25, 0.4),
    "individual": (0.40, 0.0),
    "student": (0.04, -2.0),
    "other": (0.03, -0.6),
}
FUNCTIONS = {  # function: (share, weight in fit)
    "finance": (0.15, 1.0),
    "it": (0.18, 0.8),
    "operations": (0.12, 0.5),
    "engineering": (0.20, 0.3),
    "sales": (0.12, 0.1),
    "marketing": (0.15, 0.1),
    "hr": (0.08, 0.0),
}
FUNCTION_NAMES = {
    "finance": "Finance",
    "it": "IT",
    "operations": "Operations",
    "engineering": "Engineering",
    "sales": "Sales",
    "marketing": "Marketing",
    "hr": "Human Resources",
}
C_TITLES = {
    "finance": "CFO",
    "it": "CIO",
    "operations": "COO",
    "engineering": "CTO",
    "sales": "CRO",
    "marketing": "CMO",
    "hr": "CHRO",
}
IC_TITLES = {
    "finance": "Financial Analyst",
    "it": "Systems Administrator",
    "operations": "Operations Analyst",
    "engineering": "Software Engineer",
    "sales": "Account Executive",
    "marketing": "Marketing Specialist",
    "hr": "HR Generalist",
}
OTHER_TITLES = ("Consultant", "Owner", "Freelancer")
COUNTRIES = {  # country: (share, region)
    "United States": (0.42, "North America"),
    "Canada": (0.06, "North America"),
    "United Kingdom": (0.10, "EMEA"),
    "Germany": (0.08, "EMEA"),
    "France": (0.05, "EMEA"),
    "Netherlands": (0.04, "EMEA"),
    "Sweden": (0.03, "EMEA"),
    "Australia": (0.06, "APAC"),
    "Singapore": (0.04, "APAC"),
    "India": (0.05, "APAC"),
    "Brazil": (0.04, "LATAM"),
    "Mexico": (0.03, "LATAM"),
}
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com")
FIRST_NAMES = (
    "Alex",
    "Sam",
    "Maria",
    "John",
    "Priya",
    "Wei",
    "Fatima",
    "Lucas",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Sofia",
    "Mateo",
    "Aisha",
    "Chen",
    "Hannah",
    "Omar",
    "Elena",
    "David",
    "Yuki",
    "Carlos",
    "Anna",
    "Ravi",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Müller",
    "Chen",
    "Patel",
    "Johnson",
    "Kim",
    "Silva",
    "Nguyen",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Andersson",
    "Tanaka",
    "Brown",
    "Lopez",
    "Singh",
    "Williams",
    "Martin",
    "Khan",
)
NAME_WORDS = (
    "North",
    "Blue",
    "Apex",
    "Bright",
    "Quantum",
    "Harbor",
    "Summit",
    "Cedar",
    "Nova",
    "Atlas",
    "Pioneer",
    "Silver",
    "Vertex",
    "Granite",
    "Orbit",
    "Lumen",
    "Maple",
    "Falcon",
    "Crescent",
    "Evergreen",
    "Iron",
    "Coral",
    "Zenith",
    "Beacon",
)
NAME_SUFFIXES = (
    "Labs",
    "Systems",
    "Group",
    "Holdings",
    "Partners",
    "Technologies",
    "Bank",
    "Health",
    "Industries",
    "Retail",
    "Media",
    "Capital",
    "Solutions",
    "Works",
)

# activity items: (activity_type, page_category, form_type, base logit, intent slope)
ITEMS = (
    ("page_view", "pricing", None, -1.2, 0.8),
    ("page_view", "product", None, 0.3, 0.3),
    ("page_view", "docs", None, -0.8, 0.3),
    ("page_view", "blog", None, 0.8, -0.2),
    ("page_view", "careers", None, -1.6, -0.3),
    ("page_view", "case_study", None, -1.3, 0.5),
    ("page_view", "home", None, 0.4, 0.0),
    ("form_submit", None, "demo_request", -4.0, 1.0),
    ("form_submit", None, "contact_sales", -4.5, 0.9),
    ("form_submit", None, "newsletter", -2.5, 0.0),
    ("form_submit", None, "content_gate", -1.8, 0.0),
    ("content_download", None, None, -1.0, 0.2),
    ("webinar_registered", None, None, -1.8, 0.3),
    ("webinar_attended", None, None, -2.4, 0.5),
    ("email_open", None, None, 1.2, 0.0),
    ("email_click", None, None, -0.4, 0.4),
    ("event_attended", None, None, -3.0, 0.3),
    ("trial_signup", None, None, -3.8, 0.9),
    ("unsubscribe", None, None, -3.5, -0.8),
)
# Sales sequences after a lead became an SQL: e-mail opens and clicks, events (a leak in
# flat exports, which count them).
POST_SQL_ITEMS = (14, 14, 14, 15, 15, 16, 14)

# Today's points rules in the simulated CRM: they decide when a lead became an MQL.
WORLD_MQL_THRESHOLD = 85.0
WORLD_ITEM_POINTS = np.array(
    [10, 5, 3, 2, -5, 5, 1, 30, 30, 2, 10, 10, 5, 15, 1, 3, 15, 25, -15], dtype=float
)

BASE_LOGIT = -3.95
ACTIVITY_RATE = 8.0
PRE_VISIT_RATE = 5.0
INTENT_RATE_SLOPE = 0.8
FIT_NOISE = 0.1
FIT_WEIGHT = 1.3
INTENT_WEIGHT = 0.7
DEMO_SLOPE = 2.0
FADE_DAYS = 8.0
HORIZON_DAYS = 180.0
INTENT_BINS = np.linspace(-4.0, 4.0, 81)
DISQUALIFICATION_REASONS = (
    "No budget",
    "Unresponsive",
    "Wrong contact",
    "Not a fit",
    "Competitor",
    "Student",
    "Timing",
)

_NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class SyntheticCrm:
    """Generated tables: leads, activities, and the evaluation-only truth."""

    leads: pd.DataFrame
    activities: pd.DataFrame
    truth: pd.DataFrame
    snapshot: pd.Timestamp


def _pick(rng: np.random.Generator, table: dict, n: int) -> np.ndarray:
    shares = np.array([v[0] if isinstance(v, tuple) else v for v in table.values()], float)
    return rng.choice(len(table), size=n, p=shares / shares.sum())


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _month_profile(months: np.ndarray) -> np.ndarray:
    """B2B seasonality: strong Q1 and autumn, summer and December dips (mean about 0)."""
    profile = np.array([0.8, 0.4, 0.8, 0.1, 0.1, -0.3, -1.0, -1.4, 0.4, 0.8, 0.2, -1.6])
    return profile[months - 1]


def _created_at(
    rng: np.random.Generator, params: GeneratorParams, n: int, start: np.datetime64, n_days: int
) -> np.ndarray:
    days = start + np.arange(n_days).astype("timedelta64[D]")
    months = days.astype("datetime64[M]").astype(int) % 12 + 1
    weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    weight = (
        (1 + params.monthly_growth) ** (np.arange(n_days) / 30.44)
        * np.clip(1 + params.seasonality * _month_profile(months), 0.1, None)
        * np.where(weekday >= 5, 0.25, 1.0)
    )
    day_index = rng.choice(n_days, size=n, p=weight / weight.sum())
    hour = np.where(rng.random(n) < 0.75, rng.normal(13, 3, n), rng.uniform(0, 24, n))
    offset_ns = (np.clip(hour, 0, 23.99) * 3600e9).astype(np.int64)
    return days[day_index].astype("datetime64[ns]") + offset_ns.astype("timedelta64[ns]")


def _job_titles(
    rng: np.random.Generator, seniority: np.ndarray, function: np.ndarray
) -> np.ndarray:
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


def _companies(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    industry = _pick(rng, INDUSTRIES, n)
    info = list(INDUSTRIES.values())
    log_mean = np.array([v[3] for v in info])[industry]
    employees = np.clip(np.round(np.exp(rng.normal(log_mean, 1.5))), 1, 250_000)
    rev_per_emp = np.array([v[4] for v in info])[industry] * np.exp(rng.normal(0, 0.4, n))
    revenue = np.round(employees * rev_per_emp * 1000, -3)
    country = _pick(rng, COUNTRIES, n)
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


def _activity_tables(intent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _sample_items(rng: np.random.Generator, flat: np.ndarray, bins: np.ndarray) -> np.ndarray:
    position = np.searchsorted(flat, bins + rng.random(len(bins)), side="right")
    return position - bins * len(ITEMS)


def _first_crossing(
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


def generate(params: GeneratorParams, seed: int) -> SyntheticCrm:
    """Simulate the CRM for `params` (section `generator` of params.yaml) and `seed`."""
    rng = np.random.default_rng(seed)
    n_total = params.n_leads
    n_dup = round(n_total * params.duplicate_rate)
    n = n_total - n_dup
    start = np.datetime64(params.start_date, "D")
    end = (pd.Timestamp(params.start_date) + pd.DateOffset(months=params.months)).to_datetime64()
    snapshot = pd.Timestamp(end)
    n_days = int((end.astype("datetime64[D]") - start).astype(int))
    end_ns = end.astype("datetime64[ns]").view("int64")

    # --- people and companies; duplicates are the same person entered again later
    n_companies = max(10, n // 3)
    companies = _companies(rng, n_companies)
    company = np.minimum((rng.pareto(1.2, n) * n_companies / 20).astype(np.int64), n_companies - 1)
    company = rng.permutation(n_companies)[company]
    seniority = _pick(rng, SENIORITY, n)
    function = _pick(rng, FUNCTIONS, n)
    first = rng.integers(len(FIRST_NAMES), size=n)
    last = rng.integers(len(LAST_NAMES), size=n)
    dup_of = rng.choice(n, size=n_dup, replace=True)
    person = np.r_[np.arange(n), dup_of]
    company, seniority, function = company[person], seniority[person], function[person]
    first, last = first[person], last[person]

    created = _created_at(rng, params, n_total, start, n_days)
    is_dup = np.r_[np.zeros(n, bool), np.ones(n_dup, bool)]
    created[is_dup] = created[dup_of] + (rng.uniform(0.2, 30, n_dup) * _NS_PER_DAY).astype(
        "timedelta64[ns]"
    )
    created_ns = np.minimum(created.view("int64"), end_ns - 3600 * 10**9)
    months_before_end = (end_ns - created_ns) / (_NS_PER_DAY * 30.44)

    industry = companies["industry"][company]
    employees = companies["employees"][company]
    size_band = np.searchsorted(SIZE_EDGES, employees, side="right")

    # --- channel, campaign and drift
    source = _pick(rng, SOURCES, n_total)
    source_names = list(SOURCES)
    campaign_index = (
        rng.random(n_total) * np.array([len(CAMPAIGNS[s]) for s in source_names])[source]
    ).astype(int)
    campaign = _campaign_names(source, campaign_index)
    late = (
        (months_before_end <= params.late_campaign_months)
        & np.isin(source, [source_names.index(s) for s in LATE_CAMPAIGN_SOURCES])
        & (rng.random(n_total) < 0.5)
    )
    campaign[late] = LATE_CAMPAIGN
    source_info = np.array(list(SOURCES.values()))
    drop = params.channel_drop
    dropped = (
        (months_before_end <= drop.last_months)
        & (drop.source in SOURCES)
        & (source == (source_names.index(drop.source) if drop.source in SOURCES else -1))
    )

    # --- fit: industry x size x seniority x function, with interactions
    info = list(INDUSTRIES.values())
    group = np.array([v[2] for v in info], dtype=object)[industry]
    size_effect = np.select(
        [group == g for g in SIZE_EFFECT], [SIZE_EFFECT[g][size_band] for g in SIZE_EFFECT]
    )
    seniority_w = np.array([v[1] for v in SENIORITY.values()])[seniority]
    function_w = np.array([v[1] for v in FUNCTIONS.values()])[function]
    industry_names = np.array(list(INDUSTRIES), dtype=object)
    finance_buyer = (
        np.isin(industry_names[industry], FINANCE_INDUSTRIES)
        & (function == list(FUNCTIONS).index("finance"))
        & (seniority <= 2)
    )
    fit = (
        np.array([v[1] for v in info])[industry]
        + size_effect
        + seniority_w * (0.4 + function_w)
        + 0.6 * finance_buyer
        + rng.normal(0, FIT_NOISE, n_total)
    )

    # --- intent: channel and campaign shift it; a dropping channel loses quality
    intent = (
        source_info[source, 1]
        + 0.15 * fit
        + rng.normal(0, 1.0, n_total)
        + np.where(late, LATE_CAMPAIGN_INTENT, 0.0)
        + np.where(dropped, drop.quality_shift * 0.6, 0.0)
    )
    logit = (
        BASE_LOGIT
        + FIT_WEIGHT * fit
        + INTENT_WEIGHT * intent
        + 0.35 * fit * intent
        + source_info[source, 2]
        + np.where(dropped, drop.quality_shift, 0.0)
        + np.where(late, 0.3, 0.0)
    )
    true_p = _sigmoid(logit)

    # --- activities: rate driven by intent, fading after creation
    rate = np.minimum(ACTIVITY_RATE * np.exp(INTENT_RATE_SLOPE * intent), 80.0)
    counts = rng.poisson(rate)
    act_lead = np.repeat(np.arange(n_total), counts)
    fade = FADE_DAYS * np.exp(0.2 * intent[act_lead])
    u = rng.random(len(act_lead))
    offset_days = -fade * np.log1p(-u * (1 - np.exp(-HORIZON_DAYS / fade)))
    act_time = created_ns[act_lead] + (offset_days * _NS_PER_DAY).astype(np.int64)
    flat, bins = _activity_tables(intent[act_lead])
    act_item = _sample_items(rng, flat, bins)
    # Anonymous web visits before the form fill, attached to the lead when it converted.
    pre_counts = rng.poisson(np.minimum(PRE_VISIT_RATE * np.exp(INTENT_RATE_SLOPE * intent), 40.0))
    pre_lead = np.repeat(np.arange(n_total), pre_counts)
    pre_time = created_ns[pre_lead] - (rng.uniform(0, 60, len(pre_lead)) * _NS_PER_DAY).astype(
        np.int64
    )
    flat, bins = _activity_tables(intent[pre_lead])
    pre_item = _sample_items(rng, flat, bins)
    is_visit = np.array([i[0] == "page_view" for i in ITEMS])[pre_item]
    pre_lead, pre_time, pre_item = pre_lead[is_visit], pre_time[is_visit], pre_item[is_visit]
    # The lead's creation form: demo requests for the eager, content gates for the rest.
    creation_item = np.where(
        rng.random(n_total) < _sigmoid(DEMO_SLOPE * intent - 2.8),
        7,
        np.where(rng.random(n_total) < 0.6, 10, 12),
    )
    act_lead = np.r_[pre_lead, np.arange(n_total), act_lead]
    act_time = np.r_[pre_time, created_ns, act_time]
    act_item = np.r_[pre_item, creation_item, act_item]

    # --- MQL by today's rules
    person_fit_points = (
        np.where(seniority <= 2, 20, np.where(seniority == 3, 10, 0))
        + np.where(np.isin(function, [0, 1]), 10, 0)
        + np.where(np.isin(industry_names[industry], FINANCE_INDUSTRIES), 10, 0)
        + np.where((size_band >= 2) & (size_band <= 3), 10, 0)
        + np.where(seniority == list(SENIORITY).index("student"), -30, 0)
    )
    free_mail = rng.random(n)[person] < np.where((seniority == 5) | (size_band == 0), 0.5, 0.08)
    person_fit_points = person_fit_points - 10 * free_mail
    mql_ns = _first_crossing(
        act_lead,
        act_time,
        WORLD_ITEM_POINTS[act_item],
        person_fit_points.astype(float),
        WORLD_MQL_THRESHOLD,
    )
    # Points from visits before the form fill count, but a lead is an MQL only once it exists.
    mql_ns = np.where(
        mql_ns >= 0,
        np.maximum(mql_ns, created_ns) + (rng.uniform(1, 30, n_total) * 6e10).astype(np.int64),
        -1,
    )
    is_mql = (mql_ns >= 0) & (mql_ns < end_ns)

    # --- sales response: reps differ; slow touches convert less
    region = np.array([v[1] for v in COUNTRIES.values()], dtype=object)[
        companies["country"][company]
    ]
    owner = rng.integers(params.n_reps, size=n_total)
    rep_speed = np.exp(rng.normal(np.log(2.5), 0.7, params.n_reps))
    delay_bh = rep_speed[owner] * np.exp(rng.normal(0, 0.9, n_total))
    mql_bh = business_hours_index(np.where(is_mql, mql_ns, created_ns).view("datetime64[ns]"))
    touch_ns = timestamp_at_business_hours(mql_bh + delay_bh).view("int64")
    response_factor = 1.0 / (1.0 + 0.3 * np.log1p(delay_bh))
    response_factor /= response_factor[is_mql].mean() if is_mql.any() else 1.0
    realized_p = np.clip(np.where(is_mql, true_p * response_factor, true_p), 0, 0.995)
    converts = rng.random(n_total) < realized_p
    # Duplicates are worked on their original record.
    converts &= ~is_dup

    # --- stage timestamps
    hours = 3600 * 10**9
    sal_ns = touch_ns + (rng.gamma(2, 4, n_total) * hours).astype(np.int64)
    accepted = is_mql & (converts | (rng.random(n_total) < 0.55))
    sql_from_mql = sal_ns + (rng.gamma(2, 5, n_total) * _NS_PER_DAY).astype(np.int64)
    # Converters that never crossed the rules raised a hand or were found by sales.
    direct_ns = created_ns + ((2 + rng.gamma(2, 15, n_total)) * _NS_PER_DAY).astype(np.int64)
    direct = converts & ~is_mql
    sql_ns = np.where(converts, np.where(is_mql, sql_from_mql, direct_ns), -1)
    mql_ns = np.where(
        direct,
        sql_ns - (rng.uniform(2, 48, n_total) * hours).astype(np.int64),
        np.where(is_mql, mql_ns, -1),
    )
    touch_ns = np.where(
        direct,
        mql_ns + (rng.uniform(0.2, 6, n_total) * hours).astype(np.int64),
        np.where(is_mql, touch_ns, -1),
    )
    sal_ns = np.where(direct, touch_ns + hours, np.where(accepted, sal_ns, -1))
    opp = converts & (rng.random(n_total) < _sigmoid(0.6 + 0.3 * fit))
    opp_ns = np.where(opp, sql_ns + (rng.gamma(2, 3, n_total) * _NS_PER_DAY).astype(np.int64), -1)
    cycle_days = rng.gamma(3, np.array([7, 10, 15, 25, 35])[size_band])
    close_ns = opp_ns + (cycle_days * _NS_PER_DAY).astype(np.int64)
    won = opp & (rng.random(n_total) < _sigmoid(-1.45 + 0.35 * fit + 0.5 * source_info[source, 2]))
    won_ns = np.where(won, close_ns, -1)
    lost_ns = np.where(opp & ~won, close_ns, -1)

    # --- after-the-fact activity: sales works SQLs, which logs more engagement (a leak)
    post_counts = np.where(sql_ns >= 0, rng.poisson(8, n_total), 0)
    post_lead = np.repeat(np.arange(n_total), post_counts)
    post_time = sql_ns[post_lead] + (rng.uniform(0, 45, len(post_lead)) * _NS_PER_DAY).astype(
        np.int64
    )
    post_item = np.array(POST_SQL_ITEMS)[rng.integers(len(POST_SQL_ITEMS), size=len(post_lead))]
    act_lead = np.r_[act_lead, post_lead]
    act_time = np.r_[act_time, post_time]
    act_item = np.r_[act_item, post_item]

    # --- the snapshot: nothing after it is known
    def known(stamp: np.ndarray) -> np.ndarray:
        return np.where((stamp >= 0) & (stamp <= end_ns), stamp, -1)

    mql_ns, touch_ns, sal_ns, sql_ns = known(mql_ns), known(touch_ns), known(sal_ns), known(sql_ns)
    opp_ns, won_ns, lost_ns = known(opp_ns), known(won_ns), known(lost_ns)
    touch_ns = np.where(mql_ns >= 0, touch_ns, -1)
    sal_ns = np.where(touch_ns >= 0, sal_ns, -1)
    sql_ns = np.where(mql_ns >= 0, sql_ns, -1)
    opp_ns = np.where(sql_ns >= 0, opp_ns, -1)
    won_ns = np.where(opp_ns >= 0, won_ns, -1)
    lost_ns = np.where(opp_ns >= 0, lost_ns, -1)
    keep = act_time <= end_ns
    act_lead, act_time, act_item = act_lead[keep], act_time[keep], act_item[keep]

    # --- disqualification and status fields (filled by sales: they encode the outcome)
    decided_ns = touch_ns + (rng.gamma(2, 4, n_total) * _NS_PER_DAY).astype(np.int64)
    disqualified = (touch_ns >= 0) & (sql_ns < 0) & (decided_ns <= end_ns)
    reason = _disqualification_reasons(rng, disqualified, seniority, fit, intent)
    status = np.select(
        [
            is_dup & (rng.random(n_total) < 0.5),
            won_ns >= 0,
            lost_ns >= 0,
            sql_ns >= 0,
            disqualified,
            touch_ns >= 0,
            mql_ns >= 0,
        ],
        ["Duplicate", "Closed Won", "Closed Lost", "Converted", "Disqualified", "Working", "MQL"],
        default="Open",
    )
    rating = np.select(
        [sql_ns >= 0, touch_ns >= 0],
        [
            np.where(rng.random(n_total) < 0.75, "Hot", "Warm"),
            np.where(rng.random(n_total) < 0.15, "Warm", "Cold"),
        ],
        default=None,
    )

    # --- out-of-order timestamps, as CRM syncs produce them
    flip = (touch_ns >= 0) & (rng.random(n_total) < params.out_of_order_rate * 4)
    touch_ns = np.where(
        flip, mql_ns - (rng.uniform(1, 48, n_total) * hours).astype(np.int64), touch_ns
    )

    def stamp(values: np.ndarray) -> pd.Series:
        return pd.Series(
            np.where(values >= 0, values, np.iinfo(np.int64).min).view("datetime64[ns]")
        )

    order = np.argsort(created_ns, kind="stable")
    rank = np.empty(n_total, dtype=np.int64)
    rank[order] = np.arange(n_total)
    lead_ids = pd.Series(rank + 1).map("L{:07d}".format).to_numpy(dtype=object)

    # The person number keeps addresses unique per person; a duplicate lead reuses its original's.
    email_user = (
        pd.Series(np.array(FIRST_NAMES, dtype=object)[first]).str.lower()
        + "."
        + pd.Series(np.array(LAST_NAMES, dtype=object)[last]).str.lower().str.replace("ü", "u")
        + pd.Series(person).astype(str)
    )
    free_domain = np.array(FREE_MAIL, dtype=object)[rng.integers(len(FREE_MAIL), size=n)[person]]
    email = (
        email_user + "@" + pd.Series(np.where(free_mail, free_domain, companies["domain"][company]))
    )
    # Re-entered records are often typed differently.
    shouted = is_dup & (rng.random(n_total) < 0.3)
    email = email.where(~shouted, email.str.upper()).to_numpy()
    titles = _job_titles(rng, seniority, function)
    country_names = np.array(list(COUNTRIES), dtype=object)[companies["country"][company]]

    leads = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "created_at": stamp(created_ns),
            "company_name": companies["name"][company],
            "industry": industry_names[industry],
            "employee_count": employees.astype(float),
            "annual_revenue": companies["revenue"][company].astype(float),
            "country": country_names,
            "region": region,
            "job_title": titles,
            "lead_source": np.array(source_names, dtype=object)[source],
            "campaign": campaign,
            "mql_at": stamp(mql_ns),
            "first_touch_at": stamp(touch_ns),
            "sal_at": stamp(sal_ns),
            "sql_at": stamp(sql_ns),
            "opportunity_at": stamp(opp_ns),
            "won_at": stamp(won_ns),
            "lost_at": stamp(lost_ns),
            "disqualification_reason": reason,
            "owner_id": np.where(mql_ns >= 0, pd.Series(owner + 1).map("rep_{:02d}".format), None),
            "email": email,
            "first_name": np.array(FIRST_NAMES, dtype=object)[first],
            "last_name": np.array(LAST_NAMES, dtype=object)[last],
            "lead_status": status,
            "lead_rating": rating,
        }
    )
    leads = _dirty_firmographics(rng, leads, params)
    truth = pd.DataFrame(
        {"lead_id": lead_ids, "true_probability": true_p, "fit": fit, "intent": intent}
    )

    item_type = np.array([i[0] for i in ITEMS], dtype=object)
    item_page = np.array([i[1] for i in ITEMS], dtype=object)
    item_form = np.array([i[2] for i in ITEMS], dtype=object)
    act_order = np.lexsort((act_time, rank[act_lead]))
    act_lead, act_time, act_item = act_lead[act_order], act_time[act_order], act_item[act_order]
    activities = pd.DataFrame(
        {
            "lead_id": pd.Categorical.from_codes(rank[act_lead], categories=np.sort(lead_ids)),
            "occurred_at": act_time.view("datetime64[ns]"),
            "activity_type": pd.Categorical.from_codes(
                *_codes(item_type[act_item], [a for a in dict.fromkeys(item_type)])
            ),
            "page_category": pd.Categorical(
                item_page[act_item], categories=sorted({p for p in item_page if p})
            ),
            "form_type": pd.Categorical(
                item_form[act_item], categories=sorted({f for f in item_form if f})
            ),
        }
    )
    leads = leads.iloc[order].reset_index(drop=True)
    truth = truth.iloc[order].reset_index(drop=True)
    log.info(
        "generated %d leads (%d duplicates) and %d activities", n_total, n_dup, len(activities)
    )
    return SyntheticCrm(leads=leads, activities=activities, truth=truth, snapshot=snapshot)


def _codes(values: np.ndarray, categories: list[str]) -> tuple[np.ndarray, list[str]]:
    lookup = {c: i for i, c in enumerate(categories)}
    return pd.Series(values).map(lookup).to_numpy(np.int64), categories


def _campaign_names(source: np.ndarray, campaign_index: np.ndarray) -> np.ndarray:
    names = [c for s in SOURCES for c in CAMPAIGNS[s]]
    first = np.cumsum([0] + [len(CAMPAIGNS[s]) for s in SOURCES])[:-1]
    return np.array(names, dtype=object)[first[source] + campaign_index]


def _disqualification_reasons(
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


def _dirty_firmographics(
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
) -> None:
    """Write the generated tables (Parquet) and, optionally, the flat CRM export (CSV)."""
    for path in (leads_path, activities_path, truth_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    crm.leads.to_parquet(leads_path, index=False)
    crm.activities.to_parquet(activities_path, index=False)
    crm.truth.to_parquet(truth_path, index=False)
    if export_path is not None:
        flat_export(crm.leads, crm.activities, crm.snapshot).to_csv(export_path, index=False)
