"""A threshold in money: the pipeline its MQLs create and the pipeline velocity they carry,
against today's rules on the same test leads, with bootstrap intervals.

Velocity of a set of MQLs = opportunities a month x win rate (won of closed) x average won
deal / sales cycle (days from opportunity to won), per month: every part is a sum over the
leads, so each bootstrap resample is one matrix product (stats.resample_counts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.core import stats

DAYS_PER_MONTH = 365.25 / 12
DEFINITION = (
    "pipeline velocity a month = opportunities a month x win rate (won of closed) x average won "
    "deal / sales cycle in days (opportunity to won) x 30.4, of the threshold's test MQLs; "
    "pipeline_velocity_vs_rules: its relative change against today's rules' MQLs on the same "
    "leads; pipeline_per_month: their opportunity amounts a month"
)
# What this data can say of the field's claim that scoring and SLAs lift velocity 15-25%.
FIELD_CLAIM = (0.15, 0.25)


@dataclass(frozen=True)
class Deals:
    """Each test lead's deal: opportunity, won, closed (0/1), amount and days to win."""

    opportunity: np.ndarray
    won: np.ndarray
    closed: np.ndarray
    amount: np.ndarray  # the opportunity amount, 0 without one
    won_days: np.ndarray  # days from opportunity to won, 0 unless won

    def sums(self, selected: np.ndarray) -> np.ndarray:
        """(opportunities, won, closed, pipeline, won revenue, won days) of the selected
        leads; `selected` is a row (one set) or a matrix of weights (resamples x leads)."""
        parts = np.stack(
            [
                self.opportunity,
                self.won,
                self.closed,
                self.opportunity * self.amount,
                self.won * self.amount,
                self.won_days,
            ]
        )
        return selected @ parts.T


def deals_of(leads: pd.DataFrame, lead_ids: pd.Series) -> Deals | None:
    """The deals of these leads (in their order) from a leads table with opportunity_amount;
    None when the table has no amounts."""
    if "opportunity_amount" not in leads or not leads["opportunity_amount"].notna().any():
        return None
    table = leads.drop_duplicates("lead_id").set_index("lead_id").reindex(lead_ids.astype(str))
    opportunity = table["opportunity_at"].notna().to_numpy()
    won = opportunity & table["won_at"].notna().to_numpy()
    closed = won | (opportunity & table["lost_at"].notna().to_numpy())
    days = ((table["won_at"] - table["opportunity_at"]) / pd.Timedelta(days=1)).to_numpy()
    return Deals(
        opportunity.astype(float),
        won.astype(float),
        closed.astype(float),
        np.nan_to_num(table["opportunity_amount"].to_numpy(dtype=float)),
        np.where(won, np.nan_to_num(days), 0.0),
    )


def _figures(sums: np.ndarray, months: float) -> dict[str, np.ndarray]:
    """Pipeline a month and velocity a month from the sums (last axis) of `Deals.sums`."""
    opportunities, won, closed, pipeline, revenue, won_days = np.moveaxis(sums, -1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(closed > 0, won / closed, np.nan)
        # average won deal / average cycle = won revenue / total won days
        per_day = np.where(won_days > 0, revenue / won_days, np.nan)
        velocity = opportunities / months * rate * per_day * DAYS_PER_MONTH
    return {"pipeline_per_month": pipeline / months, "pipeline_velocity": velocity}


def money_row(
    model_selected: np.ndarray,
    rules_selected: np.ndarray | None,
    deals: Deals,
    months: float,
    counts: np.ndarray,
) -> dict[str, float]:
    """A policy's pipeline a month and velocity a month with 95% intervals, and, with today's
    rules' MQLs on the same leads, the pipeline's difference and velocity's relative change."""
    selected = model_selected.astype(float)
    point = _figures(deals.sums(selected), months)
    draws = _figures(deals.sums(counts * selected), months)
    row: dict[str, float] = {}
    for key in ("pipeline_per_month", "pipeline_velocity"):
        row[key] = float(point[key])
        row[f"{key}_low"], row[f"{key}_high"] = stats.interval(draws[key])
    if rules_selected is None:
        return row
    rules = rules_selected.astype(float)
    rules_point = _figures(deals.sums(rules), months)
    rules_draws = _figures(deals.sums(counts * rules), months)
    row["pipeline_per_month_vs_rules"] = float(
        point["pipeline_per_month"] - rules_point["pipeline_per_month"]
    )
    row["pipeline_per_month_vs_rules_low"], row["pipeline_per_month_vs_rules_high"] = (
        stats.interval(draws["pipeline_per_month"] - rules_draws["pipeline_per_month"])
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        row["pipeline_velocity_vs_rules"] = float(
            point["pipeline_velocity"] / rules_point["pipeline_velocity"] - 1
        )
        change = draws["pipeline_velocity"] / rules_draws["pipeline_velocity"] - 1
    row["pipeline_velocity_vs_rules_low"], row["pipeline_velocity_vs_rules_high"] = stats.interval(
        change
    )
    return row


def claim_words(row: dict) -> str | None:
    """What the recommended policy's velocity change says of the field's 15-25% claim."""
    change = row.get("pipeline_velocity_vs_rules")
    low, high = (
        row.get("pipeline_velocity_vs_rules_low"),
        row.get("pipeline_velocity_vs_rules_high"),
    )
    if change is None or low is None or high is None or not np.isfinite([change, low, high]).all():
        return None
    claim = f"{FIELD_CLAIM[0]:.0%} to {FIELD_CLAIM[1]:.0%}"
    measured = f"{change:+.0%} (95% CI {low:+.0%} to {high:+.0%})"
    if low > FIELD_CLAIM[1]:
        verdict = f"more than the {claim} gain the field claims for scoring and SLAs"
    elif high < 0:
        verdict = "a loss: this threshold's MQLs move less revenue than today's rules' do"
    elif low > 0 and high < FIELD_CLAIM[0]:
        verdict = f"a gain, smaller than the {claim} the field claims"
    elif low > 0:
        verdict = (
            f"a gain is shown; its interval includes the field's claimed {claim}, so this data "
            "cannot say whether the gain is that, less or more"
        )
    else:
        verdict = (
            f"no gain is shown on these test leads: the interval includes zero as well as the "
            f"field's claimed {claim}"
        )
    return f"Pipeline velocity against today's rules: {measured}: {verdict}."
