"""MQL thresholds with known consequences: chosen on validation, reported on test with
bootstrap intervals, against today's rules.

The 0-100 score is a fixed function of the calibrated probability, score = 100 * sqrt(p),
so the same score means the same conversion chance after every retrain; grades are fixed
score bands on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scoring.core import stats
from scoring.core.config import ThresholdParams
from scoring.io import runfolder
from scoring.io.files import write_json, write_whole
from scoring.io.runfolder import RunFolder
from scoring.model import threshold_money
from scoring.model.daily import FirstCrossings
from scoring.runtime.grades import grade, score_from_probability

BUSINESS_DAYS_PER_MONTH = 21.7
WEEKS_PER_MONTH = 52 / 12
DAYS_PER_MONTH = 30.44


def months_covered(moment: pd.Series) -> float:
    """Length of a period in months (at least one day); 1 when there are no dates, so that
    "per month" figures are per window (see `is_dated`)."""
    if not is_dated(moment):
        return 1.0
    span = (moment.max() - moment.min()).total_seconds() / 86400 if moment.notna().any() else 0
    return max(span, 1.0) / DAYS_PER_MONTH


def is_dated(moment: pd.Series) -> bool:
    """Whether a period has dates (a flat export split by row order has none)."""
    return bool(moment.notna().any())


# How a threshold's MQLs are counted, as thresholds.json and the report say it.
MQLS_COUNTED = {
    "once": "each lead scored once, at its scoring moment (label.days_after_created)",
    "daily": "the daily job: every open lead re-scored at each age of label.snapshot_days; "
    "a lead is an MQL the first time its score reaches the threshold, and converted when it "
    "reached the outcome within the label window of that moment",
}
MIN_POLICY_MQLS = 30  # validation MQLs a conversion target must be met on
POLICY_ORDER = (
    "volume_matched",
    "conversion_target",
    "sales_capacity",
    "expected_value",
    "top_share",
)
# When the recommended policy has no threshold, or one that does not select, the first of
# these that has a selective threshold is used; top share needs no setting and always selects.
FALLBACK_ORDER = (
    "conversion_target",
    "sales_capacity",
    "expected_value",
    "top_share",
    "volume_matched",
)
# The settings each policy rests on: those left at their default are named in the report.
POLICY_SETTINGS = {
    "volume_matched": (),
    "conversion_target": ("min_conversion",),
    "sales_capacity": ("reps", "mqls_per_rep_per_week"),
    "expected_value": ("deal_value", "cost_per_worked_lead"),
    "top_share": ("top_share",),
}
# A threshold is not recommended when, on validation, it makes MQLs of nearly every lead or
# its MQLs convert hardly better than leads at large: such an MQL tells sales nothing.
MAX_MQL_SHARE = 0.8
MIN_LIFT = 1.2
NOT_RECOMMENDED = "not recommended: "  # how a note says a policy's threshold does not select


def figures_at(
    score: np.ndarray, label: np.ndarray, threshold: float, months: float
) -> dict[str, float]:
    """Volume and quality of the MQLs a threshold makes (score >= threshold)."""
    selected = score >= threshold
    n, hits, total = int(selected.sum()), float(label[selected].sum()), float(label.sum())
    precision = hits / n if n else np.nan
    base = total / len(label) if len(label) else np.nan
    return {
        "mqls": n,
        "share_of_leads": n / len(label),
        "mqls_per_month": n / months,
        "conversion": precision,
        "capture": hits / total if total else np.nan,
        "lift": precision / base if n and base else np.nan,
        "sqls_per_month": hits / months,
    }


def resampled_figures(
    score: np.ndarray, label: np.ndarray, threshold: float, months: float, counts: np.ndarray
) -> dict[str, np.ndarray]:
    """figures_at for every bootstrap resample at once (counts: resamples x rows, see stats)."""
    selected = (score >= threshold).astype(np.float64)
    n = counts @ selected
    hits = counts @ (selected * label)
    total = counts @ label.astype(np.float64)
    size = len(label)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n > 0, hits / n, np.nan)
        base = total / size if size else np.full(len(counts), np.nan)
        return {
            "mqls": n,
            "share_of_leads": n / size,
            "mqls_per_month": n / months,
            "conversion": precision,
            "capture": np.where(total > 0, hits / total, np.nan),
            "lift": np.where((n > 0) & (base > 0), precision / base, np.nan),
            "sqls_per_month": hits / months,
        }


def threshold_table(
    score: np.ndarray, label: np.ndarray, months: float, thresholds: np.ndarray
) -> pd.DataFrame:
    """One row per threshold: MQLs per month, share, conversion, capture, lift, SQLs/month."""
    return pd.DataFrame(
        [{"threshold": t, **figures_at(score, label, t, months)} for t in thresholds]
    )


def candidate_thresholds(score: np.ndarray, points: int = 200) -> np.ndarray:
    """Distinct score values worth trying: every quantile step of the validation scores."""
    values = np.unique(np.quantile(score, np.linspace(0, 1, points + 1)))
    return values if len(values) < len(np.unique(score)) else np.unique(score)


@dataclass(frozen=True)
class AtOneMoment:
    """Leads scored once, at their scoring moment: an MQL is a lead whose score reaches the
    threshold then (the daily job's first crossings are scoring.model.daily.FirstCrossings,
    which answers the same questions)."""

    score: np.ndarray
    label: np.ndarray
    months: float
    lead_ids: np.ndarray | None = None  # the id of each lead, when the rows have them

    @property
    def n(self) -> int:
        return len(self.label)

    def mqls(self, threshold: float) -> np.ndarray:
        """Per lead: whether its score reaches the threshold."""
        return self.score >= threshold

    def figures(self, threshold: float) -> dict[str, float]:
        return figures_at(self.score, self.label, threshold, self.months)

    def resampled(self, threshold: float, counts: np.ndarray) -> dict[str, np.ndarray]:
        return resampled_figures(self.score, self.label, threshold, self.months, counts)

    def table(self) -> pd.DataFrame:
        return threshold_table(
            self.score, self.label, self.months, candidate_thresholds(self.score)
        )


Scorer = AtOneMoment | FirstCrossings


@dataclass(frozen=True)
class Recommendation:
    """Each policy's threshold (chosen on validation) and its figures on test."""

    policies: pd.DataFrame
    model_table: pd.DataFrame  # validation trade-off for the model
    baseline_table: pd.DataFrame  # validation trade-off for the rules
    baseline_threshold: float
    capacity_per_month: float
    recommended: str = "volume_matched"  # the policy the recommendation uses
    requested: str = "volume_matched"  # thresholds.recommended in params
    fallback_reason: str | None = None  # why the requested policy could not be used
    defaulted: list[str] = field(default_factory=list)  # its settings left at their default
    dated: bool = True  # False: "per month" figures are per window (no dates)
    daily: bool = False  # MQLs are the daily job's first crossings (an any-age model)


def rules_threshold(baseline_params) -> float | None:
    """Today's MQL threshold in points, or None when no rules are configured."""
    return baseline_params.mql_threshold if baseline_params.rules else None


def scorers(rows: pd.DataFrame, model: str, months: float, daily: bool) -> tuple[Scorer, Scorer]:
    """(model, today's rules) on these rows: predictions at one moment a lead, or the daily
    job's replay rows (`daily`). The model's out-of-fold probabilities where there are some
    (the refitted model has seen the validation rows)."""
    column = f"oof_{model}" if f"oof_{model}" in rows.columns else model
    if daily:
        return (
            FirstCrossings.of(rows, column, months),
            FirstCrossings.of(rows, "baseline_points", months),
        )
    label = rows["label"].to_numpy()
    ids = rows["lead_id"].astype(str).to_numpy() if "lead_id" in rows else None
    return (
        AtOneMoment(rows[column].to_numpy(), label, months, ids),
        AtOneMoment(rows["baseline_points"].to_numpy(), label, months, ids),
    )


def choose_thresholds(
    valid: pd.DataFrame, model: str, params: ThresholdParams, rules_threshold: float | None
) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame, float, dict[str, str]]:
    """The threshold of every policy on validation predictions (probabilities for the
    model), NaN with a note where the data cannot meet it, a note where it holds trivially."""
    model_scorer, rules_scorer = scorers(valid, model, months_covered(valid["moment"]), False)
    return choose_on(model_scorer, rules_scorer, params, rules_threshold, is_dated(valid["moment"]))


def choose_on(
    model: Scorer,
    rules_scorer: Scorer,
    params: ThresholdParams,
    rules_threshold: float | None,
    dated: bool,
) -> tuple[dict[str, float], pd.DataFrame, pd.DataFrame, float, dict[str, str]]:
    """choose_thresholds on validation scorers (one moment a lead, or the daily job's first
    crossings): the thresholds, both trade-off tables, the capacity, the notes."""
    model_table = model.table()
    baseline_table = rules_scorer.table()
    capacity = params.reps * params.mqls_per_rep_per_week * WEEKS_PER_MONTH
    chosen: dict[str, float] = {"volume_matched": np.nan}
    notes: dict[str, str] = {}
    if rules_threshold is not None:
        rules = rules_scorer.figures(rules_threshold)
        # The highest threshold whose volume reaches today's: the same MQL load as the rules.
        volume = model_table[model_table["mqls"] >= rules["mqls"]]
        chosen["volume_matched"] = float(volume["threshold"].max()) if len(volume) else np.nan
        if not len(volume):
            notes["volume_matched"] = "the model cannot reach today's MQL volume"
    else:
        notes["volume_matched"] = "no rule baseline is configured: there is no volume to match"
    # A target met by a handful of leads is luck, not a threshold.
    reaching = model_table[
        (model_table["conversion"] >= params.min_conversion)
        & (model_table["mqls"] >= MIN_POLICY_MQLS)
    ]
    chosen["conversion_target"] = float(reaching["threshold"].min()) if len(reaching) else np.nan
    if not len(reaching):
        supported = model_table[model_table["mqls"] >= MIN_POLICY_MQLS]
        best = (supported if len(supported) else model_table).nlargest(1, "conversion").iloc[0]
        notes["conversion_target"] = (
            f"no threshold reaches {params.min_conversion:.0%} conversion on validation with "
            f"at least {MIN_POLICY_MQLS} MQLs (the best is {best['conversion']:.1%}, for the "
            f"top {best['mqls']:,.0f} leads)"
        )
    if not dated:
        chosen["sales_capacity"] = np.nan
        notes["sales_capacity"] = "the export has no dates: MQLs per week cannot be counted"
    else:
        within = model_table[model_table["mqls_per_month"] <= capacity]
        chosen["sales_capacity"] = float(within["threshold"].min()) if len(within) else np.nan
        if not len(within):
            notes["sales_capacity"] = "no threshold keeps MQLs within sales capacity"
        elif len(within) == len(model_table):
            notes["sales_capacity"] = (
                f"capacity ({capacity:,.0f} a month) exceeds the whole lead volume "
                f"({model_table['mqls_per_month'].max():,.0f} a month): every lead fits"
            )
    # With calibrated probabilities a lead is worth working when p * value >= cost.
    chosen["expected_value"] = (
        params.cost_per_worked_lead / params.deal_value if params.deal_value else np.nan
    )
    if not params.deal_value:
        notes["expected_value"] = "thresholds.deal_value is 0"
    # The highest threshold whose MQLs reach the share: ties at the cut are all in.
    top = model_table[model_table["share_of_leads"] >= params.top_share]
    chosen["top_share"] = float(top["threshold"].max()) if len(top) else np.nan
    if not len(top):
        notes["top_share"] = f"no threshold selects {params.top_share:.0%} of validation leads"
    return chosen, model_table, baseline_table, capacity, notes


def unselective(
    policy: str, threshold: float, model: Scorer, params: ThresholdParams
) -> str | None:
    """Why a policy's threshold is no MQL definition worth recommending, judged on
    validation (None when it selects): nearly every lead qualifies, or its MQLs convert
    hardly better than all leads do (a conversion target below the base rate is both)."""
    if np.isnan(threshold):
        return None
    figures = model.figures(threshold)
    share, lift = figures["share_of_leads"], figures["lift"]
    base = figures["conversion"] / lift if lift and np.isfinite(lift) else np.nan
    if policy == "conversion_target" and np.isfinite(base) and params.min_conversion <= base:
        return (
            f"its target ({params.min_conversion:.0%} conversion) is at or below the "
            f"conversion of all leads ({base:.1%}), so it qualifies {share:.0%} of leads"
        )
    if share >= MAX_MQL_SHARE:
        return f"it qualifies {share:.0%} of validation leads (lift {lift:.2f})"
    if not np.isfinite(lift) or lift < MIN_LIFT:
        return (
            f"its MQLs convert only {lift:.2f} times as often as all leads on validation "
            f"(at least {MIN_LIFT:g} is needed)"
        )
    return None


def defaulted_settings(policy: str, params: ThresholdParams) -> list[str]:
    """The settings the policy rests on that hold their default value (say so: a default like
    a deal value of 20,000 belongs to our synthetic world, not to the user's). By value, not by
    whether the file names them: a run's saved params name every setting, and `leadscore
    thresholds` re-runs from them."""
    return [
        f"thresholds.{name} = {getattr(params, name):g} (the default)"
        for name in POLICY_SETTINGS[policy]
        if getattr(params, name) == type(params).model_fields[name].default
    ]


def effective_policy(
    chosen: dict[str, float], notes: dict[str, str], params: ThresholdParams
) -> tuple[str, str | None]:
    """(policy used, why the requested one was not): the requested policy when it has a
    threshold that selects (see `unselective`, whose verdicts are in `notes` by then), else
    the first configured, then any, policy in FALLBACK_ORDER that has one."""
    requested = params.recommended
    usable = {
        p
        for p, t in chosen.items()
        if not np.isnan(t) and not notes.get(p, "").startswith(NOT_RECOMMENDED)
    }
    if requested in usable:
        return requested, None
    # Policies configured, on settings the user gave, first; then top share (it needs no
    # setting); those resting on defaults (our synthetic world's figures) last.
    order = sorted(
        dict.fromkeys([p for p in FALLBACK_ORDER if p in params.policies] + list(FALLBACK_ORDER)),
        key=lambda p: p != "top_share" and bool(defaulted_settings(p, params)),
    )
    for policy in order:
        if policy in usable:
            reason = notes.get(requested, "it has no threshold in this run")
            if reason.startswith(NOT_RECOMMENDED):
                reason = reason.removeprefix(NOT_RECOMMENDED)
                return policy, f"the {requested.replace('_', ' ')} policy is not used: {reason}"
            return policy, f"the {requested.replace('_', ' ')} policy has no threshold: {reason}"
    raise ValueError(
        "no threshold policy has a threshold that selects in this run: "
        + "; ".join(f"{k}: {v}" for k, v in notes.items())
        + ". Set thresholds.top_share, thresholds.min_conversion or thresholds.deal_value"
    )


def recommend(
    predictions: pd.DataFrame,
    model: str,
    params: ThresholdParams,
    rules_threshold: float | None,
    n_bootstrap: int,
    seed: int,
    replay: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
) -> Recommendation:
    """Thresholds by policy on validation, with test figures and intervals against the rules.
    With an any-age model's `replay` (train.replay_predictions), an MQL is counted at its
    first crossing in the daily job, for the model and the rules alike. With a leads table
    holding opportunity amounts (`leads`), each policy also gets the pipeline its MQLs create
    and their pipeline velocity, against the rules (threshold_money)."""
    daily = replay is not None
    rows = replay if daily else predictions
    # Per month over the leads' own moments, whichever rows are replayed.
    months = {
        part: months_covered(predictions.loc[predictions["split"] == part, "moment"])
        for part in ("valid", "test")
    }
    valid = rows[rows["split"] == "valid"]
    test = rows[rows["split"] == "test"].reset_index(drop=True)
    model_scorer, rules_scorer = scorers(valid, model, months["valid"], daily)
    every, model_table, baseline_table, capacity, notes = choose_on(
        model_scorer,
        rules_scorer,
        params,
        rules_threshold,
        is_dated(predictions.loc[predictions["split"] == "valid", "moment"]),
    )
    for policy, threshold in every.items():
        reason = unselective(policy, threshold, model_scorer, params)
        if reason:
            notes[policy] = "; ".join(
                n for n in (NOT_RECOMMENDED + reason, notes.get(policy, "")) if n
            )
    recommended, fallback_reason = effective_policy(every, notes, params)
    shown = [p for p in POLICY_ORDER if p in params.policies or p == recommended]
    chosen = {p: every[p] for p in shown}
    # On test, the refitted model's own probabilities (no out-of-fold column there).
    model_test, rules_test = scorers(
        test.drop(columns=f"oof_{model}", errors="ignore"), model, months["test"], daily
    )
    counts = stats.resample_counts(
        stats.resample_indices(model_test.n, n_bootstrap, np.random.default_rng(seed)),
        model_test.n,
    )
    # Without rules, the comparison is against the baseline at the model's own volume.
    rules_cut = rules_threshold if rules_threshold is not None else np.inf
    rules = rules_test.figures(rules_cut)
    rules_draws = rules_test.resampled(rules_cut, counts)
    # The opportunities of the leads the policy makes MQLs (each lead once, daily or not).
    deals = (
        threshold_money.deals_of(leads, pd.Series(model_test.lead_ids))
        if leads is not None and model_test.lead_ids is not None
        else None
    )
    rows = []
    for policy, threshold in chosen.items():
        if np.isnan(threshold):
            rows.append({"policy": policy, "threshold": np.nan, "note": notes.get(policy, "")})
            continue
        point = model_test.figures(threshold)
        draws = model_test.resampled(threshold, counts)
        row = {
            "policy": policy,
            "threshold": threshold,
            "score": float(score_from_probability(threshold)),
            "grade_at_threshold": str(grade(score_from_probability(threshold))),
            "note": "; ".join(
                n
                for n in (
                    notes.get(policy, ""),
                    "recommended (fallback)" if fallback_reason and policy == recommended else "",
                )
                if n
            ),
        }
        for key in ("mqls_per_month", "conversion", "capture", "sqls_per_month", "lift"):
            row[key] = point[key]
            row[f"{key}_low"], row[f"{key}_high"] = stats.interval(draws[key])
        for key in ("conversion", "capture", "sqls_per_month", "mqls_per_month"):
            if rules_threshold is None:
                row[f"{key}_vs_rules"] = row[f"{key}_vs_rules_low"] = np.nan
                row[f"{key}_vs_rules_high"] = np.nan
                continue
            row[f"{key}_vs_rules"] = point[key] - rules[key]
            diffs = draws[key] - rules_draws[key]
            row[f"{key}_vs_rules_low"], row[f"{key}_vs_rules_high"] = stats.interval(diffs)
        if deals is not None:
            row.update(
                threshold_money.money_row(
                    model_test.mqls(threshold),
                    rules_test.mqls(rules_threshold) if rules_threshold is not None else None,
                    deals,
                    months["test"],
                    counts,
                )
            )
        if "median_days_to_mql" in point:  # the daily job: when leads become MQLs
            row["median_days_to_mql"] = point["median_days_to_mql"]
        row["mqls_per_business_day"] = point["mqls_per_month"] / BUSINESS_DAYS_PER_MONTH
        row["capacity_per_business_day"] = capacity / BUSINESS_DAYS_PER_MONTH
        rows.append(row)
    policies = pd.DataFrame(rows)
    decision = {
        "recommended": recommended,
        "requested": params.recommended,
        "fallback_reason": fallback_reason,
        "defaulted": defaulted_settings(recommended, params),
        "dated": is_dated(predictions.loc[predictions["split"] == "test", "moment"]),
        "daily": daily,
    }
    if rules_threshold is None:
        return Recommendation(
            policies=policies,
            model_table=model_table,
            baseline_table=baseline_table,
            baseline_threshold=np.nan,
            capacity_per_month=capacity,
            **decision,
        )
    rules_row = {
        "policy": "today's rules",
        "threshold": rules_threshold,
        "score": np.nan,
        "note": f"{rules_threshold:g} points",
        **{
            k: rules[k]
            for k in ("mqls_per_month", "conversion", "capture", "sqls_per_month", "lift")
        },
    }
    if deals is not None:
        rules_money = threshold_money.money_row(
            rules_test.mqls(rules_threshold), None, deals, months["test"], counts
        )
        rules_row.update(
            {k: v for k, v in rules_money.items() if not k.endswith(("_low", "_high"))}
        )
    policies = pd.concat([policies, pd.DataFrame([rules_row])], ignore_index=True)
    return Recommendation(
        policies=policies,
        model_table=model_table,
        baseline_table=baseline_table,
        baseline_threshold=rules_threshold,
        capacity_per_month=capacity,
        **decision,
    )


def save(
    recommendation: Recommendation,
    params: ThresholdParams,
    run: RunFolder,
    outcome: str = "SQL",
) -> dict[str, str]:
    """thresholds.json (policies with intervals, the score mapping, the outcome's name) and the
    trade-off tables."""
    paths = {"thresholds": run.thresholds, "tradeoff": run.tradeoff}
    tables = pd.concat(
        [
            recommendation.model_table.assign(scorer="model"),
            recommendation.baseline_table.assign(scorer="rules"),
        ]
    )
    write_whole(paths["tradeoff"], tables.to_parquet)
    policies = recommendation.policies.astype(object).where(recommendation.policies.notna(), None)
    write_json(
        paths["thresholds"],
        {
            "recommended": recommendation.recommended,
            "outcome": outcome,
            "requested": recommendation.requested,
            "fallback_reason": recommendation.fallback_reason,
            "defaulted_settings": recommendation.defaulted,
            "per_month": recommendation.dated,
            "period_note": None
            if recommendation.dated
            else "the export has no dates: 'per month' figures are per window (validation "
            "or test), not per calendar month",
            "policies": policies.to_dict(orient="records"),
            "rules_threshold_points": (
                None
                if np.isnan(recommendation.baseline_threshold)
                else recommendation.baseline_threshold
            ),
            "capacity_per_month": recommendation.capacity_per_month,
            "score_mapping": "score = 100 * sqrt(calibrated probability); grades A >= 50, "
            "B >= 30, C >= 15, D below",
            "chosen_on": "validation",
            "reported_on": "test",
            "daily_job": recommendation.daily,
            "mqls_counted": MQLS_COUNTED["daily" if recommendation.daily else "once"],
            "velocity": threshold_money.DEFINITION
            if "pipeline_velocity" in recommendation.policies
            else None,
        },
        default=float,
    )
    return {k: str(v) for k, v in paths.items()}


def load(run: RunFolder) -> dict:
    """thresholds.json of a run."""
    return run.read(runfolder.THRESHOLDS)
