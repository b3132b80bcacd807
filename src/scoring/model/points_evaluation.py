"""The learned point rules judged as the models are: their MQL threshold chosen on
validation by the same policies, their ranking and conversion on the test window against the
model and today's rules, with paired bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.core import stats
from scoring.core.config import ThresholdParams
from scoring.model import thresholds


def choose_threshold(
    predictions: pd.DataFrame, points: pd.Series, params: ThresholdParams, rules_cut: float | None
) -> tuple[dict[str, float], str, dict[str, str], str | None]:
    """Each policy's MQL threshold in points on validation, and the one the recommended policy
    gives (expected value needs probabilities, so points fall back from it)."""
    valid = predictions.assign(points=points.to_numpy())
    valid = valid[valid["split"] == "valid"]
    chosen, _, _, _, notes = thresholds.choose_thresholds(valid, "points", params, rules_cut)
    # Points are whole: the next whole number selects the same leads and reads better.
    chosen = {k: float(np.ceil(v)) if np.isfinite(v) else v for k, v in chosen.items()}
    chosen["expected_value"] = np.nan
    notes["expected_value"] = "points are not probabilities: value per lead needs the model"
    # The same judgement as the model's thresholds: a line that does not select is not used.
    scorer, _ = thresholds.scorers(
        valid, "points", thresholds.months_covered(valid["moment"]), False
    )
    for name, threshold in chosen.items():
        why = thresholds.unselective(name, threshold, scorer, params)
        if why:
            notes[name] = "; ".join(
                n for n in (thresholds.NOT_RECOMMENDED + why, notes.get(name)) if n
            )
    policy, reason = thresholds.effective_policy(chosen, notes, params)
    return chosen, policy, notes, reason


def _ranking(label: np.ndarray, score: np.ndarray, counts: np.ndarray) -> dict[str, tuple]:
    """(point value, bootstrap draws) of ROC-AUC and PR-AUC for one scorer."""
    every = np.ones((1, len(label)))
    out = {}
    for counted, key in ((every, "point"), (counts, "draws")):
        pos, neg = stats.by_score(label, score, counted)
        out[key] = {"roc_auc": stats.roc_auc(pos, neg), "pr_auc": stats.average_precision(pos, neg)}
    return {m: (float(out["point"][m][0]), out["draws"][m]) for m in ("roc_auc", "pr_auc")}


def _with_interval(point: float, draws: np.ndarray) -> dict[str, float]:
    low, high = stats.interval(draws)
    return {"value": point, "low": low, "high": high}


def evaluate(
    predictions: pd.DataFrame,
    points: pd.Series,
    model: str,
    chosen: dict[str, float],
    model_chosen: dict[str, float],
    rules_cut: float | None,
    n_bootstrap: int,
    seed: int,
) -> dict:
    """The rules on test against today's rules and the model: ranking metrics, and conversion at
    each policy's threshold (each scorer at its own threshold chosen on validation), with 95%
    paired bootstrap intervals drawn on the same resamples as metrics.json."""
    is_test = (predictions["split"] == "test").to_numpy()
    test = predictions[is_test]
    label = test["label"].to_numpy()
    scores = {
        "points": points.to_numpy(dtype=float)[is_test],
        "rules": test["baseline_points"].to_numpy(dtype=float),
        "model": test[model].to_numpy(dtype=float),
    }
    _, indices = stats.test_draws(len(test), n_bootstrap, seed)  # metrics.json's resamples
    counts = stats.resample_counts(indices, len(test))
    ranking = {name: _ranking(label, score, counts) for name, score in scores.items()}
    out: dict = {"model": model, "ranking": {}, "versus": {}, "policies": []}
    for name, metrics in ranking.items():
        out["ranking"][name] = {m: _with_interval(*v) for m, v in metrics.items()}
    for other in ("rules", "model"):
        out["versus"][other] = {
            m: _with_interval(
                ranking["points"][m][0] - ranking[other][m][0],
                ranking["points"][m][1] - ranking[other][m][1],
            )
            for m in ("roc_auc", "pr_auc")
        }
    gain = {
        key: (ranking["points"]["pr_auc"][i] - ranking["rules"]["pr_auc"][i])
        / (ranking["model"]["pr_auc"][i] - ranking["rules"]["pr_auc"][i])
        for i, key in enumerate(("point", "draws"))
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        out["gain_kept"] = _with_interval(float(gain["point"]), np.asarray(gain["draws"]))
    # The share kept means something only when the model's own gain is clearly above zero.
    out["model_gain"] = _with_interval(
        ranking["model"]["pr_auc"][0] - ranking["rules"]["pr_auc"][0],
        ranking["model"]["pr_auc"][1] - ranking["rules"]["pr_auc"][1],
    )
    out["per_month"] = thresholds.is_dated(test["moment"])
    months = thresholds.months_covered(test["moment"])
    figures = {}
    if rules_cut is not None:
        figures["rules"] = (
            thresholds.figures_at(scores["rules"], label, rules_cut, months),
            thresholds.resampled_figures(scores["rules"], label, rules_cut, months, counts),
            rules_cut,
        )
    for policy, cut in chosen.items():
        if np.isnan(cut):
            out["policies"].append({"policy": policy, "threshold_points": None})
            continue
        row: dict = {"policy": policy, "threshold_points": float(cut)}
        own = {
            "points": (
                thresholds.figures_at(scores["points"], label, cut, months),
                thresholds.resampled_figures(scores["points"], label, cut, months, counts),
                cut,
            )
        }
        model_cut = model_chosen.get(policy, np.nan)
        if not np.isnan(model_cut):
            own["model"] = (
                thresholds.figures_at(scores["model"], label, model_cut, months),
                thresholds.resampled_figures(scores["model"], label, model_cut, months, counts),
                model_cut,
            )
        own.update(figures)
        for name, (point, draws, threshold) in own.items():
            row[name] = {"threshold": float(threshold)} | {
                key: _with_interval(float(point[key]), draws[key])
                for key in ("mqls_per_month", "conversion", "capture")
            }
        for other in ("rules", "model"):
            if other in own:
                row[f"conversion_vs_{other}"] = _with_interval(
                    own["points"][0]["conversion"] - own[other][0]["conversion"],
                    own["points"][1]["conversion"] - own[other][1]["conversion"],
                )
        out["policies"].append(row)
    return out
