import numpy as np
import pandas as pd
import pytest

from scoring.model import evaluate


def test_top_share_metrics_by_hand():
    label = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    out = evaluate.top_share_metrics(label, score, np.zeros(10))
    assert out["capture_at_10"] == 0.5 and out["lift_at_10"] == pytest.approx(5.0)
    assert out["capture_at_30"] == 1.0 and out["lift_at_30"] == pytest.approx((2 / 3) / 0.2)


def test_expected_calibration_error():
    label = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    assert evaluate.expected_calibration_error(label, np.full(10, 0.7)) == pytest.approx(0.0)
    assert evaluate.expected_calibration_error(label, np.full(10, 0.2)) == pytest.approx(0.5)


def _predictions(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    label = (rng.random(n) < 1 / (1 + np.exp(-(2 * signal - 2)))).astype(int)
    good = 1 / (1 + np.exp(-(2 * signal - 2)))
    return pd.DataFrame(
        {
            "split": "test",
            "label": label,
            "lightgbm": good,
            "baseline_points": np.round(signal + rng.normal(0, 1.5, n)) * 10,
            "baseline": np.full(n, label.mean()),
            "segment_lead_source": rng.choice(["web", "event"], n),
        }
    )


def test_evaluate_intervals_paired_differences_and_document():
    predictions = _predictions()
    result = evaluate.evaluate(predictions, n_bootstrap=100, seed=3)
    metrics = result.metrics.set_index(["scorer", "metric"])
    roc = metrics.loc[("lightgbm", "roc_auc")]
    assert roc["low"] <= roc["value"] <= roc["high"]
    diff = result.versus_baseline.set_index(["scorer", "metric"]).loc[("lightgbm", "pr_auc")]
    assert diff["low"] > 0  # the informative model beats the noisy points
    assert set(result.segments["value"]) == {"web", "event"}
    assert result.deciles.groupby("scorer")["leads"].sum().eq(len(predictions)).all()
    document = evaluate.metrics_document(
        result,
        {
            "data": {"n_test": 600},
            "label": {},
            "split": {"warning": None},
            "baseline": "points rules",
            "columns": [],
            "chosen_model": "lightgbm",
            "calibration": {},
            "validation_pr_auc": {},
            "backtest": [],
            "leakage": {"flagged": [], "excluded": []},
        },
        "run-1",
        "abc",
    )
    entry = document["models"]["lightgbm"]
    assert set(entry["test"]["roc_auc"]) == {"value", "ci"}
    assert entry["vs_baseline"]["pr_auc_diff"]["ci"][0] > 0
    assert document["run_id"] == "run-1" and document["mlflow_run_id"] == "abc"


def test_evaluate_is_deterministic_for_a_seed():
    predictions = _predictions()
    a = evaluate.evaluate(predictions, 30, seed=5).metrics
    b = evaluate.evaluate(predictions, 30, seed=5).metrics
    pd.testing.assert_frame_equal(a, b)


def test_oracle_ratio():
    predictions = _predictions().assign(oracle=lambda d: d["lightgbm"])
    result = evaluate.evaluate(predictions, 10, seed=1)
    ratio = result.oracle_ratio.set_index("scorer")
    assert ratio.loc["lightgbm", "roc_auc"] == pytest.approx(1.0)
    assert ratio.loc["baseline", "roc_auc"] < 1.0


def test_the_daily_queue_weighs_each_age_by_the_days_it_stands_for():
    from scoring.model.evaluate import daily_queue, daily_queue_markdown, queue_weights

    ages = pd.Series([0.0, 1.0, 3.0, 7.0, 30.0, 0.0])
    assert queue_weights(ages).tolist() == [1, 2, 4, 23, 23, 1]
    rng = np.random.default_rng(0)
    rows = []
    for k in range(400):
        hot = k % 5 == 0
        for age in (0.0, 1.0, 7.0, 30.0, 60.0):
            young = age < 30
            rows.append(
                {
                    "lead_id": f"L{k}",
                    "split": "test",
                    "age_days": age,
                    "label": int(hot and young),
                    # The model knows a hot lead and that it cools with age; the rules do not.
                    "m": (0.6 if hot else 0.1) * (1 if young else 0.1) + rng.uniform(0, 0.01),
                    "baseline_points": float(rng.integers(0, 100)),
                }
            )
    document = daily_queue(pd.DataFrame(rows), "m", seed=1)
    queue = document["queue"]
    assert queue["model_roc_auc"]["value"] > 0.99 > 0.6 > queue["rules_roc_auc"]["value"]
    low, high = queue["model_pr_auc"]["ci"]
    assert low <= queue["model_pr_auc"]["value"] <= high
    bands = {b["ages"]: b for b in document["bands"]}
    assert bands["0-7 days"]["rows"] == 800 and bands["0-7 days"]["leads"] == 400
    assert bands["30-60 days"]["conversions"] == 0 and bands["30-60 days"]["roc_auc"] is None
    # Stale leads never reach the top 5%: the model lets them cool.
    assert document["top_of_queue"]["stale_share"] == 0
    assert "PR-AUC" in daily_queue_markdown(document)
    assert "no daily queue" in daily_queue_markdown(None)


def _window(rate_newer: float, n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """A test window whose model says 10-30% while its newer leads convert at rate_newer."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.1, 0.3, n)
    moment = pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(n), unit="h")
    truth = np.where(np.arange(n) < n // 4, p, np.clip(p * rate_newer / 0.2, 0, 1))
    return pd.DataFrame(
        {
            "split": "test",
            "label": (rng.random(n) < truth).astype(int),
            "lightgbm": p,
            "moment": moment,
        }
    )


def test_recalibrating_on_newer_leads_is_measured_on_leads_it_did_not_see():
    from scoring.report import report

    drifted = evaluate.recalibration_check(_window(0.5), "lightgbm")
    assert drifted["ece_recalibrated"] < drifted["ece_as_trained"] - 0.05
    assert "2,000 leads" in drifted["fitted_on"] and "2,000 leads" in drifted["measured_on"]
    assert "retrain" in report.recalibration_note(drifted)
    stable = evaluate.recalibration_check(_window(0.2), "lightgbm")
    assert "holds" in report.recalibration_note(stable)
    assert evaluate.recalibration_check(_window(0.2).head(300), "lightgbm") is None
    assert report.recalibration_note(None) is None
