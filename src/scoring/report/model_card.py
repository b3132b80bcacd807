"""The model card: what a published model is for, what it was trained and tested on, how well
it does against today's rules (with intervals), its threshold and its limits."""

from __future__ import annotations

import datetime as dt

from scoring.core.config import Params

INTENDED_USE = (
    "Rank and qualify inbound B2B leads at the scoring moment the model was trained for, "
    "in the same CRM and market as the training data. A lead is an MQL when its calibrated "
    "probability reaches the threshold of the recommended policy."
)
LIMITS = (
    "Not for decisions about individuals beyond routing sales attention; personal data is never "
    "a feature. Scores assume the population of the training window: check the drift section "
    "and retrain when it shifts. Leads scored before their scoring moment see fewer activities "
    "than the model was trained on and score lower. Figures are measured on the newest "
    "out-of-time window and carry the intervals shown."
)


def thresholds_document(thresholds: dict) -> dict:
    """The threshold policy the artifact applies (is_mql) and the score mapping."""
    policies = {p["policy"]: p for p in thresholds["policies"]}
    recommended = policies.get(thresholds["recommended"])
    if recommended is None or recommended.get("threshold") is None:
        raise ValueError(
            f"the recommended threshold policy {thresholds['recommended']!r} has no threshold "
            "in this run; pick another thresholds.recommended"
        )
    return {
        "policy": thresholds["recommended"],
        "mql_probability": float(recommended["threshold"]),
        "mql_score": recommended.get("score"),
        "policies": {
            name: {
                "probability": p.get("threshold"),
                "score": p.get("score"),
                "note": p.get("note", ""),
            }
            for name, p in policies.items()
        },
        "score_mapping": thresholds.get("score_mapping"),
        "grades": {"A": 50, "B": 30, "C": 15, "D": 0},
    }


def model_card(metrics: dict, training: dict, thresholds: dict, params: Params) -> dict:
    """What the model is, how it was trained and measured, what it is (not) for."""
    chosen = training["chosen_model"]
    models = metrics["models"]
    return {
        "model_name": params.export.model_name,
        "run_id": metrics["run_id"],
        "mlflow_run_id": metrics.get("mlflow_run_id"),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "family": chosen,
        "blend_weights": training.get("blend_weights") if chosen == "blend" else None,
        "calibration": training["calibration"].get(chosen),
        "label": training["label"].get("meaning"),
        "training_window": training["split"]["periods"].get("train"),
        # The exported model is refitted on train + validation (training.json `fitted_on`).
        "fitted_on": training.get("fitted_on", {}).get("rows", "train"),
        "fitted_window": _fitted_window(training),
        "validation_window": training["split"]["periods"].get("valid"),
        "test_window": training["split"]["periods"].get("test"),
        "split_method": training["split"]["method"],
        "data_fingerprint": training["data"]["fingerprint"],
        "rows": {k: training["data"][f"n_{k}"] for k in ("train", "valid", "test")},
        "positives": training["data"]["positives"],
        "test_metrics": models.get(chosen, {}).get("test", {}),
        "vs_baseline": models.get(chosen, {}).get("vs_baseline", {}),
        "baseline": training["baseline"],
        "baseline_test_metrics": models.get("baseline", {}).get("test", {}),
        "leakage_excluded": training["leakage"]["excluded"],
        "leakage_flagged": training["leakage"]["flagged"],
        "features": training["features"],
        "threshold": thresholds_document(thresholds),
        # An any-age model's daily queue on test, by lead age (metrics.json daily_queue).
        "calibration_by_age": [
            {k: band[k] for k in ("ages", "conversions", "predicted_over_realized")}
            for band in metrics.get("daily_queue", {}).get("bands", [])
        ],
        "drift_at_training": {k: v for k, v in training.get("drift", {}).items() if k != "table"},
        "intended_use": INTENDED_USE,
        "limits": LIMITS,
    }


def _fitted_window(training: dict) -> list[str] | None:
    """First and last period of the rows the exported model was fitted on."""
    periods = training["split"]["periods"]
    if "train" not in periods:
        return None
    last = (
        periods["valid"] if training.get("fitted_on") and "valid" in periods else periods["train"]
    )
    return [periods["train"][0], last[1]]


def card_markdown(card: dict) -> str:
    """The model card for people."""

    def metric(block: dict, name: str) -> str:
        entry = block.get(name)
        if not entry or entry.get("value") is None:
            return "n/a"
        low, high = entry["ci"]
        return f"{entry['value']:.3f} (95% CI {low:.3f} to {high:.3f})"

    window = " to ".join(card["training_window"] or []) or "random split"
    threshold = card["threshold"]
    lines = [
        f"# Model card: {card['model_name']} ({card['family']}, run {card['run_id']})",
        "",
        f"- Label: {card['label']}",
        f"- Training window: {window}; validation {card['validation_window']}; "
        f"test {card['test_window']} ({card['split_method']})",
        f"- The model is fitted on {card.get('fitted_on', 'train')}"
        + (f" ({' to '.join(card['fitted_window'])})" if card.get("fitted_window") else "")
        + "; settings were chosen on validation; the test window was never used",
        f"- Rows: {card['rows']}; positives: {card['positives']}",
        f"- Data fingerprint: `{card['data_fingerprint']}`",
        f"- Calibration: {card['calibration']}",
        *recalibration_lines(card.get("recalibrated_on_newest")),
        *(
            [f"- Blend of log-odds, weights: {card['blend_weights']}"]
            if card.get("blend_weights")
            else []
        ),
        "",
        "## Test metrics (newest out-of-time window)",
        f"- PR-AUC: {metric(card['test_metrics'], 'pr_auc')}; "
        f"baseline ({card['baseline']}): {metric(card['baseline_test_metrics'], 'pr_auc')}",
        f"- PR-AUC gain over the baseline: {metric(card['vs_baseline'], 'pr_auc_diff')}",
        f"- ROC-AUC: {metric(card['test_metrics'], 'roc_auc')}",
        f"- Expected calibration error: {metric(card['test_metrics'], 'ece')}",
        "",
        "## MQL threshold",
        f"- Policy {threshold['policy']}: MQL when probability >= "
        f"{threshold['mql_probability']:.4f} (score {threshold['mql_score']}).",
        f"- Score: {threshold['score_mapping']}",
        "",
        "## Leakage guard",
        f"- Excluded columns: {', '.join(card['leakage_excluded']) or 'none'}",
        "",
        "## Intended use",
        card["intended_use"],
        "",
        "## Limits",
        card["limits"],
        "",
    ]
    return "\n".join(lines)


def recalibration_lines(newest: dict | None) -> list[str]:
    """How an artifact recalibrated on the newest labelled leads differs from the trained
    model (export.recalibrate_on_newest)."""
    if not newest:
        return []
    return [
        f"- Recalibrated on the newest labelled leads (the test window, {newest['rows']:,} "
        f"leads converting at {newest['conversion']:.1%}): its probabilities averaged "
        f"{newest['mean_probability_as_trained']:.1%} as trained and "
        f"{newest['mean_probability_recalibrated']:.1%} recalibrated. The thresholds below are "
        "mapped through it, so the same leads become MQLs; the test metrics are the model's "
        "as trained (the recalibration was fitted on that window)."
    ]
