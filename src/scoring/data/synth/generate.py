"""generate(): the synthetic CRM, section by section, in the order the random draws are made
(the same seed gives the same CRM)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.core.business_time import business_hours_index, timestamp_at_business_hours
from scoring.core.config import GeneratorParams
from scoring.data.synth import draws, revenue
from scoring.data.synth.world import (
    ACTIVITY_RATE,
    BASE_LOGIT,
    CAMPAIGNS,
    COUNTRIES,
    DEMO_SLOPE,
    FADE_DAYS,
    FINANCE_INDUSTRIES,
    FIRST_NAMES,
    FIT_NOISE,
    FIT_WEIGHT,
    FREE_MAIL,
    FUNCTIONS,
    HORIZON_DAYS,
    INDUSTRIES,
    INTENT_RATE_SLOPE,
    INTENT_WEIGHT,
    ITEMS,
    LAST_NAMES,
    LATE_CAMPAIGN,
    LATE_CAMPAIGN_INTENT,
    LATE_CAMPAIGN_SOURCES,
    NS_PER_DAY,
    POST_SQL_ITEMS,
    PRE_VISIT_RATE,
    SENIORITY,
    SIZE_EDGES,
    SIZE_EFFECT,
    SOURCES,
    WORLD_ITEM_POINTS,
    WORLD_MQL_THRESHOLD,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyntheticCrm:
    """Generated tables: leads, activities, the evaluation-only truth, and the money side's
    spend by month and source and target-account list."""

    leads: pd.DataFrame
    activities: pd.DataFrame
    truth: pd.DataFrame
    snapshot: pd.Timestamp
    spend: pd.DataFrame | None = None
    target_accounts: pd.DataFrame | None = None


@dataclass
class People:
    """Leads as people at companies, duplicates (the same person entered again) last."""

    n: int  # distinct people
    n_dup: int
    companies: dict[str, np.ndarray]
    company: np.ndarray
    seniority: np.ndarray
    function: np.ndarray
    first: np.ndarray
    last: np.ndarray
    dup_of: np.ndarray
    person: np.ndarray
    is_dup: np.ndarray
    created_ns: np.ndarray
    months_before_end: np.ndarray
    industry: np.ndarray
    employees: np.ndarray
    size_band: np.ndarray


@dataclass
class Channels:
    """Where each lead came from, and which leads the drift and the late campaign touch."""

    source: np.ndarray
    source_names: list[str]
    source_info: np.ndarray  # per source: share, intent shift, conversion shift
    campaign: np.ndarray
    late: np.ndarray
    dropped: np.ndarray


@dataclass
class Stages:
    """Stage timestamps in ns since the epoch, -1 when a lead never reached the stage."""

    mql: np.ndarray
    touch: np.ndarray
    sal: np.ndarray
    sql: np.ndarray
    opportunity: np.ndarray
    won: np.ndarray
    lost: np.ndarray


@dataclass
class Activity:
    """Activity rows: lead index, time (ns) and item (index into ITEMS)."""

    lead: np.ndarray
    time: np.ndarray
    item: np.ndarray

    def extend(self, more: Activity) -> Activity:
        return Activity(
            np.r_[self.lead, more.lead], np.r_[self.time, more.time], np.r_[self.item, more.item]
        )

    def keep(self, mask: np.ndarray) -> Activity:
        return Activity(self.lead[mask], self.time[mask], self.item[mask])


HOUR_NS = 3600 * 10**9


def people(
    rng: np.random.Generator,
    params: GeneratorParams,
    start: np.datetime64,
    n_days: int,
    end_ns: int,
) -> People:
    """People and companies; duplicates are the same person entered again later."""
    n_total = params.n_leads
    n_dup = round(n_total * params.duplicate_rate)
    n = n_total - n_dup
    n_companies = max(10, n // 3)
    companies = draws.companies(rng, n_companies)
    company = np.minimum((rng.pareto(1.2, n) * n_companies / 20).astype(np.int64), n_companies - 1)
    company = rng.permutation(n_companies)[company]
    seniority = draws.pick(rng, SENIORITY, n)
    function = draws.pick(rng, FUNCTIONS, n)
    first = rng.integers(len(FIRST_NAMES), size=n)
    last = rng.integers(len(LAST_NAMES), size=n)
    dup_of = rng.choice(n, size=n_dup, replace=True)
    person = np.r_[np.arange(n), dup_of]
    company, seniority, function = company[person], seniority[person], function[person]
    first, last = first[person], last[person]

    created = draws.created_at(rng, params, n_total, start, n_days)
    is_dup = np.r_[np.zeros(n, bool), np.ones(n_dup, bool)]
    created[is_dup] = created[dup_of] + (rng.uniform(0.2, 30, n_dup) * NS_PER_DAY).astype(
        "timedelta64[ns]"
    )
    created_ns = np.minimum(created.view("int64"), end_ns - HOUR_NS)
    employees = companies["employees"][company]
    return People(
        n=n,
        n_dup=n_dup,
        companies=companies,
        company=company,
        seniority=seniority,
        function=function,
        first=first,
        last=last,
        dup_of=dup_of,
        person=person,
        is_dup=is_dup,
        created_ns=created_ns,
        months_before_end=(end_ns - created_ns) / (NS_PER_DAY * 30.44),
        industry=companies["industry"][company],
        employees=employees,
        size_band=np.searchsorted(SIZE_EDGES, employees, side="right"),
    )


def channels(rng: np.random.Generator, params: GeneratorParams, who: People) -> Channels:
    """Channel, campaign and drift: a late campaign and a channel losing quality."""
    n_total = len(who.created_ns)
    source = draws.pick(rng, SOURCES, n_total)
    source_names = list(SOURCES)
    campaign_index = (
        rng.random(n_total) * np.array([len(CAMPAIGNS[s]) for s in source_names])[source]
    ).astype(int)
    campaign = draws.campaign_names(source, campaign_index)
    late = (
        (who.months_before_end <= params.late_campaign_months)
        & np.isin(source, [source_names.index(s) for s in LATE_CAMPAIGN_SOURCES])
        & (rng.random(n_total) < 0.5)
    )
    campaign[late] = LATE_CAMPAIGN
    drop = params.channel_drop
    dropped = (
        (who.months_before_end <= drop.last_months)
        & (drop.source in SOURCES)
        & (source == (source_names.index(drop.source) if drop.source in SOURCES else -1))
    )
    return Channels(source, source_names, np.array(list(SOURCES.values())), campaign, late, dropped)


INDUSTRY_NAMES = np.array(list(INDUSTRIES), dtype=object)


def fit_and_intent(
    rng: np.random.Generator, params: GeneratorParams, who: People, where: Channels
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ICP fit (industry x size x seniority x function, with interactions), the intent that
    channel and campaign shift, and the true conversion probability."""
    n_total = len(who.created_ns)
    info = list(INDUSTRIES.values())
    group = np.array([v[2] for v in info], dtype=object)[who.industry]
    size_effect = np.select(
        [group == g for g in SIZE_EFFECT], [SIZE_EFFECT[g][who.size_band] for g in SIZE_EFFECT]
    )
    seniority_w = np.array([v[1] for v in SENIORITY.values()])[who.seniority]
    function_w = np.array([v[1] for v in FUNCTIONS.values()])[who.function]
    finance_buyer = (
        np.isin(INDUSTRY_NAMES[who.industry], FINANCE_INDUSTRIES)
        & (who.function == list(FUNCTIONS).index("finance"))
        & (who.seniority <= 2)
    )
    fit = (
        np.array([v[1] for v in info])[who.industry]
        + size_effect
        + seniority_w * (0.4 + function_w)
        + 0.6 * finance_buyer
        + rng.normal(0, FIT_NOISE, n_total)
    )
    drop = params.channel_drop
    intent = (
        where.source_info[where.source, 1]
        + 0.15 * fit
        + rng.normal(0, 1.0, n_total)
        + np.where(where.late, LATE_CAMPAIGN_INTENT, 0.0)
        + np.where(where.dropped, drop.quality_shift * 0.6, 0.0)
    )
    logit = (
        BASE_LOGIT
        + FIT_WEIGHT * fit
        + INTENT_WEIGHT * intent
        + 0.35 * fit * intent
        + where.source_info[where.source, 2]
        + np.where(where.dropped, drop.quality_shift, 0.0)
        + np.where(where.late, 0.3, 0.0)
    )
    return fit, intent, draws.sigmoid(logit)


def activities(rng: np.random.Generator, created_ns: np.ndarray, intent: np.ndarray) -> Activity:
    """Engagement driven by intent and fading after creation, the anonymous visits before the
    form fill, and the creation form itself."""
    n_total = len(created_ns)
    rate = np.minimum(ACTIVITY_RATE * np.exp(INTENT_RATE_SLOPE * intent), 80.0)
    counts = rng.poisson(rate)
    act_lead = np.repeat(np.arange(n_total), counts)
    fade = FADE_DAYS * np.exp(0.2 * intent[act_lead])
    u = rng.random(len(act_lead))
    offset_days = -fade * np.log1p(-u * (1 - np.exp(-HORIZON_DAYS / fade)))
    act_time = created_ns[act_lead] + (offset_days * NS_PER_DAY).astype(np.int64)
    flat, bins = draws.activity_tables(intent[act_lead])
    act_item = draws.sample_items(rng, flat, bins)
    # Anonymous web visits before the form fill, attached to the lead when it converted.
    pre_counts = rng.poisson(np.minimum(PRE_VISIT_RATE * np.exp(INTENT_RATE_SLOPE * intent), 40.0))
    pre_lead = np.repeat(np.arange(n_total), pre_counts)
    pre_time = created_ns[pre_lead] - (rng.uniform(0, 60, len(pre_lead)) * NS_PER_DAY).astype(
        np.int64
    )
    flat, bins = draws.activity_tables(intent[pre_lead])
    pre_item = draws.sample_items(rng, flat, bins)
    is_visit = np.array([i[0] == "page_view" for i in ITEMS])[pre_item]
    pre_lead, pre_time, pre_item = pre_lead[is_visit], pre_time[is_visit], pre_item[is_visit]
    # The lead's creation form: demo requests for the eager, content gates for the rest.
    creation_item = np.where(
        rng.random(n_total) < draws.sigmoid(DEMO_SLOPE * intent - 2.8),
        7,
        np.where(rng.random(n_total) < 0.6, 10, 12),
    )
    return Activity(
        np.r_[pre_lead, np.arange(n_total), act_lead],
        np.r_[pre_time, created_ns, act_time],
        np.r_[pre_item, creation_item, act_item],
    )


def mql_by_rules(
    rng: np.random.Generator, who: People, acts: Activity, end_ns: int
) -> tuple[np.ndarray, np.ndarray]:
    """When today's points rules made each lead an MQL (ns, -1 never), and who uses free mail."""
    n_total = len(who.created_ns)
    seniority, size_band = who.seniority, who.size_band
    person_fit_points = (
        np.where(seniority <= 2, 20, np.where(seniority == 3, 10, 0))
        + np.where(np.isin(who.function, [0, 1]), 10, 0)
        + np.where(np.isin(INDUSTRY_NAMES[who.industry], FINANCE_INDUSTRIES), 10, 0)
        + np.where((size_band >= 2) & (size_band <= 3), 10, 0)
        + np.where(seniority == list(SENIORITY).index("student"), -30, 0)
    )
    free_mail = rng.random(who.n)[who.person] < np.where(
        (seniority == 5) | (size_band == 0), 0.5, 0.08
    )
    person_fit_points = person_fit_points - 10 * free_mail
    mql_ns = draws.first_crossing(
        acts.lead,
        acts.time,
        WORLD_ITEM_POINTS[acts.item],
        person_fit_points.astype(float),
        WORLD_MQL_THRESHOLD,
    )
    # Points from visits before the form fill count, but a lead is an MQL only once it exists.
    mql_ns = np.where(
        mql_ns >= 0,
        np.maximum(mql_ns, who.created_ns) + (rng.uniform(1, 30, n_total) * 6e10).astype(np.int64),
        -1,
    )
    return mql_ns, free_mail


def sales_response(
    rng: np.random.Generator,
    params: GeneratorParams,
    who: People,
    mql_ns: np.ndarray,
    is_mql: np.ndarray,
    true_p: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reps differ and slow touches convert less: (owner, first touch ns, converts)."""
    n_total = len(who.created_ns)
    owner = rng.integers(params.n_reps, size=n_total)
    rep_speed = np.exp(rng.normal(np.log(2.5), 0.7, params.n_reps))
    delay_bh = rep_speed[owner] * np.exp(rng.normal(0, 0.9, n_total))
    mql_bh = business_hours_index(np.where(is_mql, mql_ns, who.created_ns).view("datetime64[ns]"))
    touch_ns = timestamp_at_business_hours(mql_bh + delay_bh).view("int64")
    response_factor = 1.0 / (1.0 + 0.3 * np.log1p(delay_bh))
    response_factor /= response_factor[is_mql].mean() if is_mql.any() else 1.0
    realized_p = np.clip(np.where(is_mql, true_p * response_factor, true_p), 0, 0.995)
    converts = rng.random(n_total) < realized_p
    # Duplicates are worked on their original record.
    converts &= ~who.is_dup
    return owner, touch_ns, converts


def stage_timestamps(
    rng: np.random.Generator,
    who: People,
    where: Channels,
    fit: np.ndarray,
    mql_ns: np.ndarray,
    is_mql: np.ndarray,
    touch_ns: np.ndarray,
    converts: np.ndarray,
) -> Stages:
    """SAL, SQL, opportunity, won and lost, for MQLs and for converters the rules missed."""
    n_total = len(who.created_ns)
    sal_ns = touch_ns + (rng.gamma(2, 4, n_total) * HOUR_NS).astype(np.int64)
    accepted = is_mql & (converts | (rng.random(n_total) < 0.55))
    sql_from_mql = sal_ns + (rng.gamma(2, 5, n_total) * NS_PER_DAY).astype(np.int64)
    # Converters that never crossed the rules raised a hand or were found by sales.
    direct_ns = who.created_ns + ((2 + rng.gamma(2, 15, n_total)) * NS_PER_DAY).astype(np.int64)
    direct = converts & ~is_mql
    sql_ns = np.where(converts, np.where(is_mql, sql_from_mql, direct_ns), -1)
    mql_ns = np.where(
        direct,
        sql_ns - (rng.uniform(2, 48, n_total) * HOUR_NS).astype(np.int64),
        np.where(is_mql, mql_ns, -1),
    )
    touch_ns = np.where(
        direct,
        mql_ns + (rng.uniform(0.2, 6, n_total) * HOUR_NS).astype(np.int64),
        np.where(is_mql, touch_ns, -1),
    )
    sal_ns = np.where(direct, touch_ns + HOUR_NS, np.where(accepted, sal_ns, -1))
    opp = converts & (rng.random(n_total) < draws.sigmoid(0.6 + 0.3 * fit))
    opp_ns = np.where(opp, sql_ns + (rng.gamma(2, 3, n_total) * NS_PER_DAY).astype(np.int64), -1)
    cycle_days = rng.gamma(3, np.array([7, 10, 15, 25, 35])[who.size_band])
    close_ns = opp_ns + (cycle_days * NS_PER_DAY).astype(np.int64)
    win_p = draws.sigmoid(-1.45 + 0.35 * fit + 0.5 * where.source_info[where.source, 2])
    won = opp & (rng.random(n_total) < win_p)
    return Stages(
        mql=mql_ns,
        touch=touch_ns,
        sal=sal_ns,
        sql=sql_ns,
        opportunity=opp_ns,
        won=np.where(won, close_ns, -1),
        lost=np.where(opp & ~won, close_ns, -1),
    )


@dataclass
class Recycled:
    """Leads back from nurture: when each re-engaged (ns, -1 never) and its true conversion
    probability from then on (NaN if never)."""

    at: np.ndarray
    probability: np.ndarray


RECYCLE_DAYS = (30.0, 240.0)  # re-engagement this long after creation
RECYCLE_INTENT = 1.5  # intent rises this much on average when a lead comes back


def recycle(
    rng: np.random.Generator,
    params: GeneratorParams,
    who: People,
    fit: np.ndarray,
    intent: np.ndarray,
    true_p: np.ndarray,
    converts: np.ndarray,
    stages: Stages,
) -> tuple[Recycled, Activity, Stages, np.ndarray]:
    """Some leads that did not convert come back from nurture weeks or months later: a burst
    of engagement opened by a form (a demo request for the eager), and a new chance to convert
    that follows the new intent. Those that convert reach MQL, SAL and SQL from then on.
    Returns the recycling, its activities, the stages and who converts after coming back."""
    n_total = len(who.created_ns)
    back = ~converts & ~who.is_dup & (rng.random(n_total) < params.recycle_rate)
    at = who.created_ns + (rng.uniform(*RECYCLE_DAYS, n_total) * NS_PER_DAY).astype(np.int64)
    new_intent = intent + rng.normal(RECYCLE_INTENT, 0.7, n_total)
    shift = (INTENT_WEIGHT + 0.35 * fit) * (new_intent - intent)
    p_after = draws.sigmoid(np.log(true_p / (1 - true_p)) + shift)
    converts_now = back & (rng.random(n_total) < p_after)
    # The burst: like a new lead's engagement, from the re-engagement on.
    rate = np.minimum(ACTIVITY_RATE * np.exp(INTENT_RATE_SLOPE * new_intent), 80.0) * 0.6
    counts = np.where(back, rng.poisson(rate), 0)
    lead = np.repeat(np.arange(n_total), counts)
    offset = rng.exponential(FADE_DAYS * np.exp(0.2 * new_intent[lead]))
    flat, bins = draws.activity_tables(new_intent[lead])
    items = draws.sample_items(rng, flat, bins)
    opener = np.flatnonzero(back)
    opener_item = np.where(
        rng.random(len(opener)) < draws.sigmoid(DEMO_SLOPE * new_intent[opener] - 2.8), 7, 10
    )
    burst = Activity(
        np.r_[opener, lead],
        np.r_[at[opener], at[lead] + (offset * NS_PER_DAY).astype(np.int64)],
        np.r_[opener_item, items],
    )
    sql = at + ((1 + rng.gamma(2, 8, n_total)) * NS_PER_DAY).astype(np.int64)
    mql = sql - (rng.uniform(2, 48, n_total) * HOUR_NS).astype(np.int64)
    touch = mql + (rng.uniform(0.2, 6, n_total) * HOUR_NS).astype(np.int64)
    opp = converts_now & (rng.random(n_total) < draws.sigmoid(0.6 + 0.3 * fit))
    opp_at = sql + (rng.gamma(2, 3, n_total) * NS_PER_DAY).astype(np.int64)
    close = opp_at + (rng.gamma(3, 15, n_total) * NS_PER_DAY).astype(np.int64)
    won = opp & (rng.random(n_total) < draws.sigmoid(-1.45 + 0.35 * fit))

    def now(new: np.ndarray, old: np.ndarray, who_: np.ndarray = converts_now) -> np.ndarray:
        return np.where(who_, new, old)

    stages = Stages(
        mql=now(mql, stages.mql),
        touch=now(touch, stages.touch),
        sal=now(touch + HOUR_NS, stages.sal),
        sql=now(sql, stages.sql),
        opportunity=now(opp_at, stages.opportunity, opp),
        won=now(close, stages.won, won),
        lost=now(close, stages.lost, opp & ~won),
    )
    recycled = Recycled(np.where(back, at, -1), np.where(back, p_after, np.nan))
    return recycled, burst, stages, converts_now


def after_the_fact(rng: np.random.Generator, sql_ns: np.ndarray) -> Activity:
    """Sales works SQLs, which logs more engagement after the outcome (a leak)."""
    n_total = len(sql_ns)
    post_counts = np.where(sql_ns >= 0, rng.poisson(8, n_total), 0)
    post_lead = np.repeat(np.arange(n_total), post_counts)
    post_time = sql_ns[post_lead] + (rng.uniform(0, 45, len(post_lead)) * NS_PER_DAY).astype(
        np.int64
    )
    post_item = np.array(POST_SQL_ITEMS)[rng.integers(len(POST_SQL_ITEMS), size=len(post_lead))]
    return Activity(post_lead, post_time, post_item)


def at_snapshot(stages: Stages, end_ns: int) -> Stages:
    """Nothing after the snapshot is known, and no stage without the one before it."""

    def known(stamp: np.ndarray) -> np.ndarray:
        return np.where((stamp >= 0) & (stamp <= end_ns), stamp, -1)

    mql, touch, sal, sql = (
        known(stages.mql),
        known(stages.touch),
        known(stages.sal),
        known(stages.sql),
    )
    opp, won, lost = known(stages.opportunity), known(stages.won), known(stages.lost)
    touch = np.where(mql >= 0, touch, -1)
    sal = np.where(touch >= 0, sal, -1)
    sql = np.where(mql >= 0, sql, -1)
    opp = np.where(sql >= 0, opp, -1)
    return Stages(
        mql=mql,
        touch=touch,
        sal=sal,
        sql=sql,
        opportunity=opp,
        won=np.where(opp >= 0, won, -1),
        lost=np.where(opp >= 0, lost, -1),
    )


def sales_fields(
    rng: np.random.Generator,
    who: People,
    stages: Stages,
    fit: np.ndarray,
    intent: np.ndarray,
    end_ns: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disqualification reason, status and rating: filled by sales, they encode the outcome."""
    n_total = len(who.created_ns)
    touch_ns, sql_ns = stages.touch, stages.sql
    decided_ns = touch_ns + (rng.gamma(2, 4, n_total) * NS_PER_DAY).astype(np.int64)
    disqualified = (touch_ns >= 0) & (sql_ns < 0) & (decided_ns <= end_ns)
    reason = draws.disqualification_reasons(rng, disqualified, who.seniority, fit, intent)
    status = np.select(
        [
            who.is_dup & (rng.random(n_total) < 0.5),
            stages.won >= 0,
            stages.lost >= 0,
            sql_ns >= 0,
            disqualified,
            touch_ns >= 0,
            stages.mql >= 0,
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
    return reason, status, rating


def out_of_order(rng: np.random.Generator, params: GeneratorParams, stages: Stages) -> np.ndarray:
    """First touches stamped before the MQL, as CRM syncs produce them (the new touch ns)."""
    n_total = len(stages.touch)
    flip = (stages.touch >= 0) & (rng.random(n_total) < params.out_of_order_rate * 4)
    return np.where(
        flip, stages.mql - (rng.uniform(1, 48, n_total) * HOUR_NS).astype(np.int64), stages.touch
    )


def _stamp(values: np.ndarray) -> pd.Series:
    return pd.Series(np.where(values >= 0, values, np.iinfo(np.int64).min).view("datetime64[ns]"))


def emails(rng: np.random.Generator, who: People, free_mail: np.ndarray) -> np.ndarray:
    """One address per person (a duplicate lead reuses its original's), some typed in capitals."""
    n_total = len(who.created_ns)
    # The person number keeps addresses unique per person.
    email_user = (
        pd.Series(np.array(FIRST_NAMES, dtype=object)[who.first]).str.lower()
        + "."
        + pd.Series(np.array(LAST_NAMES, dtype=object)[who.last]).str.lower().str.replace("ü", "u")
        + pd.Series(who.person).astype(str)
    )
    free_domain = np.array(FREE_MAIL, dtype=object)[
        rng.integers(len(FREE_MAIL), size=who.n)[who.person]
    ]
    domain = np.where(free_mail, free_domain, who.companies["domain"][who.company])
    email = email_user + "@" + pd.Series(domain)
    # Re-entered records are often typed differently.
    shouted = who.is_dup & (rng.random(n_total) < 0.3)
    return email.where(~shouted, email.str.upper()).to_numpy()


def activity_table(acts: Activity, rank: np.ndarray, lead_ids: np.ndarray) -> pd.DataFrame:
    """The activities table, ordered by lead and time, with categorical columns."""
    item_type = np.array([i[0] for i in ITEMS], dtype=object)
    item_page = np.array([i[1] for i in ITEMS], dtype=object)
    item_form = np.array([i[2] for i in ITEMS], dtype=object)
    order = np.lexsort((acts.time, rank[acts.lead]))
    lead, time, item = acts.lead[order], acts.time[order], acts.item[order]
    return pd.DataFrame(
        {
            "lead_id": pd.Categorical.from_codes(rank[lead], categories=np.sort(lead_ids)),
            "occurred_at": time.view("datetime64[ns]"),
            "activity_type": pd.Categorical.from_codes(
                *draws.codes(item_type[item], [a for a in dict.fromkeys(item_type)])
            ),
            "page_category": pd.Categorical(
                item_page[item], categories=sorted({p for p in item_page if p})
            ),
            "form_type": pd.Categorical(
                item_form[item], categories=sorted({f for f in item_form if f})
            ),
        }
    )


def generate(params: GeneratorParams, seed: int) -> SyntheticCrm:
    """Simulate the CRM for `params` (section `generator` of params.yaml) and `seed`."""
    rng = np.random.default_rng(seed)
    start = np.datetime64(params.start_date, "D")
    end = (pd.Timestamp(params.start_date) + pd.DateOffset(months=params.months)).to_datetime64()
    n_days = int((end.astype("datetime64[D]") - start).astype(int))
    end_ns = end.astype("datetime64[ns]").view("int64")

    who = people(rng, params, start, n_days, end_ns)
    where = channels(rng, params, who)
    fit, intent, true_p = fit_and_intent(rng, params, who, where)
    acts = activities(rng, who.created_ns, intent)
    mql_ns, free_mail = mql_by_rules(rng, who, acts, end_ns)
    is_mql = (mql_ns >= 0) & (mql_ns < end_ns)
    region = np.array([v[1] for v in COUNTRIES.values()], dtype=object)[
        who.companies["country"][who.company]
    ]
    owner, touch_ns, converts = sales_response(rng, params, who, mql_ns, is_mql, true_p)
    stages = stage_timestamps(rng, who, where, fit, mql_ns, is_mql, touch_ns, converts)
    acts = acts.extend(after_the_fact(rng, stages.sql))
    # Recycling draws from its own stream: the rest of the CRM is drawn as without it.
    again = np.random.default_rng([seed, 1])
    recycled, burst, stages, converts_now = recycle(
        again, params, who, fit, intent, true_p, converts, stages
    )
    acts = acts.extend(burst).extend(after_the_fact(again, np.where(converts_now, stages.sql, -1)))
    stages = at_snapshot(stages, end_ns)
    acts = acts.keep(acts.time <= end_ns)
    reason, status, rating = sales_fields(rng, who, stages, fit, intent, end_ns)
    touch_ns = out_of_order(rng, params, stages)
    # The money side draws from a stream of its own too (deals, spend, accounts, SAL, nurture).
    company_names = who.companies["name"][who.company]
    extra = revenue.money(
        np.random.default_rng([seed, 2]),
        created=who.created_ns,
        employees=who.employees.astype(float),
        company_names=company_names,
        source=where.source,
        source_names=list(where.source_names),
        fit=fit,
        stages=stages,
        disqualified=pd.notna(reason),
        reengaged=recycled.at,
        end_ns=end_ns,
    )

    n_total = params.n_leads
    order = np.argsort(who.created_ns, kind="stable")
    rank = np.empty(n_total, dtype=np.int64)
    rank[order] = np.arange(n_total)
    lead_ids = pd.Series(rank + 1).map("L{:07d}".format).to_numpy(dtype=object)
    email = emails(rng, who, free_mail)
    titles = draws.job_titles(rng, who.seniority, who.function)
    country_names = np.array(list(COUNTRIES), dtype=object)[who.companies["country"][who.company]]
    leads = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "created_at": _stamp(who.created_ns),
            "company_name": company_names,
            "industry": INDUSTRY_NAMES[who.industry],
            "employee_count": who.employees.astype(float),
            "annual_revenue": who.companies["revenue"][who.company].astype(float),
            "country": country_names,
            "region": region,
            "job_title": titles,
            "lead_source": np.array(where.source_names, dtype=object)[where.source],
            "campaign": where.campaign,
            "mql_at": _stamp(stages.mql),
            "first_touch_at": _stamp(touch_ns),
            "sal_at": _stamp(stages.sal),
            "sql_at": _stamp(stages.sql),
            "opportunity_at": _stamp(stages.opportunity),
            "won_at": _stamp(stages.won),
            "lost_at": _stamp(stages.lost),
            "disqualification_reason": reason,
            "owner_id": np.where(
                stages.mql >= 0, pd.Series(owner + 1).map("rep_{:02d}".format), None
            ),
            "email": email,
            "first_name": np.array(FIRST_NAMES, dtype=object)[who.first],
            "last_name": np.array(LAST_NAMES, dtype=object)[who.last],
            "lead_status": status,
            "lead_rating": rating,
            "opportunity_amount": extra.columns["opportunity_amount"],
            "sal_rejected_at": _stamp(extra.columns["sal_rejected_at"]),
            "sal_rejection_reason": extra.columns["sal_rejection_reason"],
            "recycled_at": _stamp(extra.columns["recycled_at"]),
            "reengaged_at": _stamp(extra.columns["reengaged_at"]),
        }
    )
    leads = draws.dirty_firmographics(rng, leads, params)
    truth = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "true_probability": true_p,
            "fit": fit,
            "intent": intent,
            # A lead back from nurture: when it re-engaged, and its chance from then on.
            "recycled_at": _stamp(np.where(recycled.at <= end_ns, recycled.at, -1)),
            "true_probability_after": np.where(
                (recycled.at >= 0) & (recycled.at <= end_ns), recycled.probability, np.nan
            ),
        }
    )
    activity = activity_table(acts, rank, lead_ids)
    leads = leads.iloc[order].reset_index(drop=True)
    truth = truth.iloc[order].reset_index(drop=True)
    log.info(
        "generated %d leads (%d duplicates) and %d activities", n_total, who.n_dup, len(activity)
    )
    snapshot = pd.Timestamp(end)
    return SyntheticCrm(
        leads=leads,
        activities=activity,
        truth=truth,
        snapshot=snapshot,
        spend=extra.spend,
        target_accounts=extra.target_accounts,
    )
