"""The money side of the synthetic CRM: deal amounts, marketing spend, target accounts, SAL
accept or reject, and leads returned to nurture. Drawn from their own random stream, so the
leads, activities and outcomes are the same with or without them; each is tied to what
already drives conversion (bigger companies buy bigger deals and are the target accounts,
low-fit MQLs are the ones sales rejects).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.core.business_time import business_hours_index, timestamp_at_business_hours

NS_PER_DAY = 86_400 * 10**9
# Cost of one lead by source (USD): paid channels and events cost most, referrals least.
COST_PER_LEAD = {
    "organic_search": 35.0,
    "paid_search": 160.0,
    "paid_social": 110.0,
    "content_syndication": 75.0,
    "webinar": 90.0,
    "event": 420.0,
    "referral": 25.0,
    "partner": 140.0,
    "outbound_list": 60.0,
}
DEAL_MEDIAN = 14_000.0  # USD, a 100-employee company's median opportunity
DEAL_SIZE_SLOPE = 0.32  # amount grows as employees ** slope
SAL_REASONS = ("not a fit", "no budget", "no project", "wrong contact", "already a customer")
TARGET_ACCOUNT_SHARE = 0.08  # of companies, chosen by size
NURTURE_DAYS = (14.0, 28.0)  # a quiet lead goes back to nurture this long after creation


@dataclass(frozen=True)
class Money:
    """New lead columns (in the leads' generation order), the spend table and the target
    account list."""

    columns: dict[str, np.ndarray]
    spend: pd.DataFrame
    target_accounts: pd.DataFrame


def _stamp(values: np.ndarray, end_ns: int) -> np.ndarray:
    return np.where((values >= 0) & (values <= end_ns), values, -1)


def deal_amounts(rng: np.random.Generator, employees: np.ndarray, opportunity: np.ndarray):
    """Opportunity amounts in USD (skewed, larger for bigger companies), NaN without one."""
    scale = DEAL_MEDIAN * (np.maximum(employees, 1) / 100.0) ** DEAL_SIZE_SLOPE
    amount = np.round(scale * np.exp(rng.normal(0, 0.65, len(employees))), -2)
    return np.where(opportunity >= 0, np.maximum(amount, 1_000.0), np.nan)


def sal_decisions(
    rng: np.random.Generator, mql: np.ndarray, touch: np.ndarray, sal: np.ndarray, fit: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rejections by sales of touched MQLs it did not accept: when (ns, -1 none) and why.
    Decided a few business hours after the MQL, later for slow reps' leads (the touch)."""
    n = len(mql)
    rejected = (mql >= 0) & (touch >= 0) & (sal < 0) & (rng.random(n) < 0.8)
    decided_from = np.where(rejected, np.maximum(mql, touch), 0)
    start = business_hours_index(decided_from.view("datetime64[ns]"))
    at = timestamp_at_business_hours(start + rng.gamma(1.5, 2.0, n)).view("int64")
    weights = np.stack(
        [
            np.clip(0.5 - 0.2 * fit, 0.05, None),  # low fit: not a fit
            np.full(n, 0.2),
            np.full(n, 0.2),
            np.full(n, 0.1),
            np.full(n, 0.05),
        ],
        axis=1,
    )
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    pick = (rng.random(n)[:, None] > cumulative).sum(axis=1)
    reason = np.where(rejected, np.array(SAL_REASONS, dtype=object)[pick], None)
    return np.where(rejected, at, -1), reason


def spend_table(
    rng: np.random.Generator, created_ns: np.ndarray, source: np.ndarray, names: list[str]
) -> pd.DataFrame:
    """Marketing spend by month and source: leads bought at the source's cost, +-15% noise."""
    month = pd.Series(created_ns.view("datetime64[ns]")).dt.to_period("M").astype(str)
    counts = pd.crosstab(month, np.array(names, dtype=object)[source]).stack()
    counts = counts[counts > 0]
    cost = counts.index.get_level_values(1).map(COST_PER_LEAD).to_numpy(float)
    amount = np.round(counts.to_numpy() * cost * np.exp(rng.normal(0, 0.15, len(counts))), -1)
    return pd.DataFrame(
        {
            "month": counts.index.get_level_values(0),
            "lead_source": counts.index.get_level_values(1),
            "amount": amount,
        }
    )


def target_accounts(
    rng: np.random.Generator, names: np.ndarray, employees: np.ndarray, fit: np.ndarray
) -> pd.DataFrame:
    """The accounts marketing targets: about 8% of the leads' companies, chosen as an ideal
    customer profile is: bigger companies of a better fit likelier (so the list's leads do
    convert better, by as much as the profile is right)."""
    frame = pd.DataFrame({"employees": employees, "fit": fit}).groupby(names).mean()
    weight = np.log1p(np.maximum(frame["employees"].to_numpy(), 1)) * np.exp(1.5 * frame["fit"])
    chance = np.clip(TARGET_ACCOUNT_SHARE * weight / weight.mean(), 0, 0.9)
    chosen = rng.random(len(frame)) < chance
    return pd.DataFrame({"company_name": frame.index[chosen].astype(str)})


def nurture(
    rng: np.random.Generator,
    created: np.ndarray,
    touch: np.ndarray,
    sal: np.ndarray,
    sql: np.ndarray,
    rejected: np.ndarray,
    disqualified: np.ndarray,
    reengaged: np.ndarray,
    end_ns: int,
) -> np.ndarray:
    """When a lead went back to nurture (ns, -1 never): rejected or disqualified leads after
    the decision; any other lead sales had not accepted by its quiet day (NURTURE_DAYS after
    creation), whether or not it ever comes back or converts (marketing cannot know which);
    and every lead that came back from nurture, before it did."""
    n = len(created)
    decided = np.where(
        rejected >= 0,
        rejected + (rng.uniform(0, 2, n) * NS_PER_DAY).astype(np.int64),
        touch + (rng.gamma(2, 4, n) * NS_PER_DAY).astype(np.int64),
    )
    quiet = created + (rng.uniform(*NURTURE_DAYS, n) * NS_PER_DAY).astype(np.int64)
    returned = ((rejected >= 0) | disqualified) & (sql < 0)
    # Sales had not accepted the lead (nor qualified it) by its quiet day.
    stalled = ~returned & ((sal < 0) | (sal > quiet)) & ((sql < 0) | (sql > quiet))
    at = np.where(returned, decided, np.where(stalled, quiet, -1))
    back = reengaged >= 0
    before_back = np.minimum(quiet, reengaged - NS_PER_DAY)
    at = np.where(back, np.where((at >= 0) & (at < reengaged), at, before_back), at)
    return _stamp(at, end_ns)


def money(
    rng: np.random.Generator,
    *,
    created: np.ndarray,
    employees: np.ndarray,
    company_names: np.ndarray,
    source: np.ndarray,
    source_names: list[str],
    fit: np.ndarray,
    stages,
    disqualified: np.ndarray,
    reengaged: np.ndarray,
    end_ns: int,
) -> Money:
    """Every money-side column and table of the synthetic CRM (see the module)."""
    rejected, reason = sal_decisions(rng, stages.mql, stages.touch, stages.sal, fit)
    rejected = _stamp(rejected, end_ns)
    reason = np.where(rejected >= 0, reason, None)
    recycled = nurture(
        rng,
        created,
        stages.touch,
        stages.sal,
        stages.sql,
        rejected,
        disqualified,
        reengaged,
        end_ns,
    )
    columns = {
        "opportunity_amount": deal_amounts(rng, employees, stages.opportunity),
        "sal_rejected_at": rejected,
        "sal_rejection_reason": reason,
        "recycled_at": recycled,
        "reengaged_at": np.where(recycled >= 0, _stamp(reengaged, end_ns), -1),
    }
    return Money(
        columns,
        spend_table(rng, created, source, source_names),
        target_accounts(rng, company_names, employees, fit),
    )
