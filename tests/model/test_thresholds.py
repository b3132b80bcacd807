import numpy as np
import pandas as pd
import pytest

from scoring.core.config import ThresholdParams
from scoring.model import thresholds
from scoring.runtime.grades import grade, probability_from_score, score_from_probability


def test_score_scale_is_monotone_fixed_and_invertible():
    p = np.array([0.0, 0.01, 0.09, 0.25, 1.0])
    assert score_from_probability(p).tolist() == [0, 10, 30, 50, 100]
    np.testing.assert_allclose(probability_from_score([10, 50]), [0.01, 0.25])
    assert grade([80, 50, 49.9, 30, 15, 14.9]).tolist() == ["A", "A", "B", "B", "C", "D"]


def test_figures_at_a_threshold_by_hand():
    score = np.array([0.9, 0.8, 0.3, 0.2, 0.1])
    label = np.array([1, 0, 1, 0, 0])
    out = thresholds.figures_at(score, label, 0.5, months=2.0)
    assert out["mqls"] == 2 and out["mqls_per_month"] == 1.0
    assert out["conversion"] == 0.5 and out["capture"] == 0.5
    assert out["lift"] == pytest.approx(0.5 / 0.4) and out["sqls_per_month"] == 0.5


def _predictions(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for split, start in (("valid", "2025-01-01"), ("test", "2025-04-01")):
        n = 3000
        signal = rng.normal(size=n)
        p = 1 / (1 + np.exp(-(2 * signal - 3)))
        rows.append(
            pd.DataFrame(
                {
                    "split": split,
                    "label": (rng.random(n) < p).astype(int),
                    "lightgbm": p,
                    "baseline_points": np.round((signal + rng.normal(0, 1.5, n)) * 20 + 40),
                    "moment": pd.Timestamp(start)
                    + pd.to_timedelta(rng.uniform(0, 90, n), unit="D"),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_policies_are_chosen_on_validation_and_reported_on_test():
    predictions = _predictions()
    params = ThresholdParams(reps=2, mqls_per_rep_per_week=40)
    rec = thresholds.recommend(predictions, "lightgbm", params, 85, n_bootstrap=100, seed=1)
    rows = rec.policies.set_index("policy")
    valid = predictions[predictions["split"] == "valid"]
    rules_volume = (valid["baseline_points"] >= 85).sum()
    matched = rows.loc["volume_matched", "threshold"]
    assert (valid["lightgbm"] >= matched).sum() >= rules_volume
    assert rows.loc["volume_matched", "conversion_vs_rules_low"] > 0  # better at equal volume
    assert rows.loc["conversion_target", "conversion"] == pytest.approx(0.25, abs=0.05)
    capacity = 2 * 40 * 52 / 12
    assert rows.loc["sales_capacity", "mqls_per_month"] <= capacity * 1.2
    assert rows.loc["expected_value", "threshold"] == pytest.approx(150 / 20_000)
    assert rows.loc["today's rules", "threshold"] == 85
    low, high = rows.loc["volume_matched", ["conversion_low", "conversion_high"]]
    assert low <= rows.loc["volume_matched", "conversion"] <= high


def test_without_rules_there_is_no_volume_match_and_no_rules_row():
    from scoring.report import report

    rec = thresholds.recommend(_predictions(), "lightgbm", ThresholdParams(), None, 20, seed=1)
    rows = rec.policies.set_index("policy")
    assert "today's rules" not in rows.index
    assert rows.loc["volume_matched", "note"].startswith("no rule baseline is configured")
    assert np.isnan(rows.loc["conversion_target", "conversion_vs_rules"])
    saved = {
        "recommended": "conversion_target",
        "policies": rec.policies.astype(object)
        .where(rec.policies.notna(), None)
        .to_dict(orient="records"),
    }
    metrics = {
        "chosen_model": "lightgbm",
        "baseline": "plain logistic regression",
        "models": {m: {"test": {"roc_auc": {"value": 0.7}}} for m in ("lightgbm", "baseline")},
    }
    lines = report.headline(saved, metrics)
    assert "no rule baseline" in lines[0]


def _capped(cap: float = 0.5) -> pd.DataFrame:
    """Predictions whose best leads are tied: no threshold isolates a near-certain few."""
    predictions = _predictions()
    return predictions.assign(lightgbm=predictions["lightgbm"].clip(upper=cap))


def test_without_rules_an_unmeetable_policy_says_so_and_the_recommendation_falls_back():
    predictions = _capped()
    params = ThresholdParams(recommended="conversion_target", min_conversion=0.99, reps=500)
    rec = thresholds.recommend(predictions, "lightgbm", params, None, n_bootstrap=50, seed=1)
    rows = rec.policies.set_index("policy")
    assert "no rule baseline" in rows.loc["volume_matched", "note"]
    assert "no threshold reaches 99% conversion" in rows.loc["conversion_target", "note"]
    assert "exceeds the whole lead volume" in rows.loc["sales_capacity", "note"]
    # Every lead fits the capacity: a threshold that selects everyone is no recommendation.
    assert rows.loc["sales_capacity", "note"].startswith("not recommended: it qualifies 100%")
    assert rec.requested == "conversion_target"
    # The expected value rests on default money figures: top share comes first.
    assert rec.recommended == "top_share"
    assert "conversion target policy has no threshold" in rec.fallback_reason
    assert "recommended (fallback)" in rows.loc["top_share", "note"]
    assert rec.defaulted == ["thresholds.top_share = 0.2 (the default)"]
    assert rows.loc["top_share", "lift"] > 1.3


def test_a_target_below_the_base_rate_is_not_recommended_and_says_why():
    """Regression: on an export converting at 38%, a 25% target recommended every lead."""
    predictions = _predictions()
    base = predictions.loc[predictions["split"] == "valid", "label"].mean()
    params = ThresholdParams(
        recommended="conversion_target", min_conversion=round(base * 0.8, 3), deal_value=300
    )
    rec = thresholds.recommend(predictions, "lightgbm", params, None, n_bootstrap=20, seed=1)
    rows = rec.policies.set_index("policy")
    assert "at or below the conversion of all leads" in rows.loc["conversion_target", "note"]
    assert "conversion target policy is not used" in rec.fallback_reason
    # Expected value rests on a default cost (150): top share, which needs none, comes first.
    assert rec.recommended == "top_share"
    assert rows.loc["top_share", "lift"] >= thresholds.MIN_LIFT
    # With both money figures given, the expected value is the user's own and is used.
    params = ThresholdParams(**params.model_dump(exclude_unset=True), cost_per_worked_lead=60)
    rec = thresholds.recommend(predictions, "lightgbm", params, None, n_bootstrap=20, seed=1)
    assert rec.recommended == "expected_value" and rec.defaulted == []


def test_the_recommended_policy_is_kept_when_it_has_a_threshold():
    rec = thresholds.recommend(
        _predictions(), "lightgbm", ThresholdParams(), 85, n_bootstrap=20, seed=1
    )
    assert rec.recommended == "volume_matched" and rec.fallback_reason is None


def test_no_policy_with_a_threshold_is_a_clear_error():
    params = ThresholdParams(
        policies=["volume_matched", "conversion_target"],
        recommended="conversion_target",
        min_conversion=0.99,
        deal_value=0,
        reps=1,
        mqls_per_rep_per_week=0.001,
    )
    # Top share needs no setting: it is recommended even when not configured.
    rec = thresholds.recommend(_capped(), "lightgbm", params, None, n_bootstrap=5, seed=1)
    assert rec.recommended == "top_share"
    with pytest.raises(ValueError, match="no threshold policy has a threshold that selects"):
        thresholds.recommend(_capped(0.0), "lightgbm", params, None, n_bootstrap=5, seed=1)


def test_without_dates_figures_are_per_window_and_capacity_cannot_be_counted():
    predictions = _predictions().assign(moment=pd.NaT)
    rec = thresholds.recommend(
        predictions, "lightgbm", ThresholdParams(), None, n_bootstrap=5, seed=1
    )
    rows = rec.policies.set_index("policy")
    assert not rec.dated
    assert "no dates" in rows.loc["sales_capacity", "note"]
    test = predictions[predictions["split"] == "test"]
    chosen = rows.loc["expected_value"]
    assert chosen["mqls_per_month"] == (test["lightgbm"] >= chosen["threshold"]).sum()


def _daily_replay(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(predictions at one moment a lead, the daily replay of the same leads at 4 ages)."""
    rng = np.random.default_rng(seed)
    rows, primary = [], []
    for part, start in (("valid", "2025-01-01"), ("test", "2025-04-01")):
        for k in range(600):
            lead = f"{part}-{k}"
            created = pd.Timestamp(start) + pd.Timedelta(hours=3 * k)
            hot = rng.random() < 0.2
            for age in (0, 1, 7, 14):
                p = float(np.clip(rng.normal(0.5 if hot else 0.15, 0.15), 0, 1))
                points = 100 if hot and rng.random() < 0.5 else 40
                rows.append(
                    (lead, part, age, created + pd.Timedelta(days=age), int(hot), points, p)
                )
            primary.append(
                (lead, part, created + pd.Timedelta(days=7), int(hot), rows[-2][5], rows[-2][6])
            )
    replay = pd.DataFrame(
        rows, columns=["lead_id", "split", "age_days", "moment", "label", "baseline_points", "m"]
    )
    replay["oof_m"] = replay["m"].where(replay["split"] == "valid")
    predictions = pd.DataFrame(
        primary, columns=["lead_id", "split", "moment", "label", "baseline_points", "m"]
    )
    predictions["oof_m"] = predictions["m"].where(predictions["split"] == "valid")
    return predictions, replay


def test_an_any_age_model_is_judged_on_the_daily_jobs_first_crossings():
    from scoring.model.daily import FirstCrossings

    predictions, replay = _daily_replay()
    params = ThresholdParams()
    daily = thresholds.recommend(predictions, "m", params, 85.0, 200, 1, replay=replay)
    once = thresholds.recommend(predictions, "m", params, 85.0, 200, 1)
    assert daily.daily and not once.daily
    row = daily.policies.set_index("policy").loc["volume_matched"]
    test = replay[replay["split"] == "test"].drop(columns="oof_m")
    months = thresholds.months_covered(predictions.loc[predictions["split"] == "test", "moment"])
    expected = FirstCrossings.of(test, "m", months).figures(row["threshold"])
    assert row["mqls_per_month"] == pytest.approx(expected["mqls_per_month"])
    assert row["conversion"] == pytest.approx(expected["conversion"])
    assert row["conversion_low"] <= row["conversion"] <= row["conversion_high"]
    # Re-scored at four ages, more leads cross the same rules threshold than at one moment:
    # matching the rules' daily volume takes a higher threshold.
    once_row = once.policies.set_index("policy").loc["volume_matched"]
    assert row["threshold"] > once_row["threshold"]
    rules = daily.policies.set_index("policy").loc["today's rules"]
    once_rules = once.policies.set_index("policy").loc["today's rules"]
    assert rules["mqls_per_month"] > once_rules["mqls_per_month"]


def test_a_daily_job_s_mqls_bring_the_pipeline_of_their_leads_each_counted_once():
    from scoring.model.daily import FirstCrossings

    predictions, replay = _daily_replay()
    leads = predictions[["lead_id"]].copy()
    won = predictions["label"].to_numpy() == 1  # the converting leads win a 1,000 deal
    leads["opportunity_at"] = pd.to_datetime(np.where(won, "2025-06-01", None))
    leads["won_at"] = pd.to_datetime(np.where(won, "2025-07-01", None))
    leads["lost_at"] = pd.NaT
    leads["opportunity_amount"] = np.where(won, 1000.0, np.nan)
    rec = thresholds.recommend(
        predictions, "m", ThresholdParams(), 85.0, 200, 1, replay=replay, leads=leads
    )
    row = rec.policies.set_index("policy").loc["volume_matched"]
    test = replay[replay["split"] == "test"].drop(columns="oof_m")
    months = thresholds.months_covered(predictions.loc[predictions["split"] == "test", "moment"])
    crossings = FirstCrossings.of(test, "m", months)
    mqls = crossings.mqls(row["threshold"])
    converting = set(leads.loc[won, "lead_id"])
    deals = sum(lead in converting for lead in crossings.lead_ids[mqls])
    assert row["pipeline_per_month"] == pytest.approx(1000.0 * deals / months)
    assert (
        row["pipeline_per_month_low"] <= row["pipeline_per_month"] <= row["pipeline_per_month_high"]
    )
    assert "pipeline_per_month_vs_rules" in row
