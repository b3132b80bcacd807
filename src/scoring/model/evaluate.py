"""Test-set metrics with bootstrap intervals, paired differences against the baseline, segments,
deciles and the oracle ratio. Pure functions over the predictions table train writes."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from scoring.core import stats

TOP_SHARES = (0.1, 0.2, 0.3)
RANK_METRICS = (
    "roc_auc",
    "pr_auc",
    *(f"lift_at_{int(s * 100)}" for s in TOP_SHARES),
    *(f"capture_at_{int(s * 100)}" for s in TOP_SHARES),
)
PROBABILITY_METRICS = ("brier", "log_loss", "ece")
METRICS = RANK_METRICS + PROBABILITY_METRICS
# Differences against the baseline reported with paired intervals.
PAIRED = ("roc_auc", "pr_auc", "lift_at_10", "capture_at_20")
ECE_BINS = 10


@dataclass(frozen=True)
class Evaluation:
    """Everything measured on test."""

    metrics: pd.DataFrame  # scorer x metric: value, low, high
    versus_baseline: pd.DataFrame  # scorer x metric: difference, low, high
    oracle_ratio: pd.DataFrame  # scorer x metric: value / oracle value
    deciles: pd.DataFrame
    segments: pd.DataFrame
    n_bootstrap: int


def expected_calibration_error(
    label: np.ndarray, probability: np.ndarray, bins: int = ECE_BINS
) -> float:
    """Mean |observed rate - mean probability| over equal-width bins, weighted by bin size."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    observed = np.bincount(which, weights=label, minlength=bins)
    predicted = np.bincount(which, weights=probability, minlength=bins)
    return float(np.abs(observed - predicted).sum() / max(len(label), 1))


def _ranked(score: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Row order from best to worst score; ties broken by a fixed random key."""
    return np.lexsort((tiebreak, -score))


def top_share_metrics(
    label: np.ndarray,
    score: np.ndarray,
    tiebreak: np.ndarray,
    shares: tuple[float, ...] = TOP_SHARES,
) -> dict[str, float]:
    """Lift (conversion in the top share / overall) and capture (share of all conversions)."""
    order = _ranked(score, tiebreak)
    sorted_label = label[order]
    total, n = sorted_label.sum(), len(label)
    out = {}
    for share in shares:
        k = max(1, round(share * n))
        hits = sorted_label[:k].sum()
        name = int(share * 100)
        out[f"lift_at_{name}"] = float((hits / k) / (total / n)) if total else np.nan
        out[f"capture_at_{name}"] = float(hits / total) if total else np.nan
    return out


def score_metrics(
    label: np.ndarray, score: np.ndarray, probability: np.ndarray | None, tiebreak: np.ndarray
) -> dict[str, float]:
    """Every metric for one scorer (probability metrics need a probability)."""
    if len(np.unique(label)) < 2:
        return dict.fromkeys(METRICS, np.nan)
    out = {
        "roc_auc": float(roc_auc_score(label, score)),
        "pr_auc": float(average_precision_score(label, score)),
        **top_share_metrics(label, score, tiebreak),
    }
    if probability is None:
        out.update(dict.fromkeys(PROBABILITY_METRICS, np.nan))
    else:
        clipped = np.clip(probability, 1e-6, 1 - 1e-6)
        out.update(
            {
                "brier": float(brier_score_loss(label, probability)),
                "log_loss": float(log_loss(label, clipped, labels=[0, 1])),
                "ece": expected_calibration_error(label, probability),
            }
        )
    return out


def scorers(predictions: pd.DataFrame) -> dict[str, tuple[str, str | None]]:
    """name -> (ranking column, probability column) for every scorer in the predictions."""
    out = {"baseline": ("baseline_points", "baseline")}
    for name in ("logistic", "lightgbm", "blend", "oracle"):
        if name in predictions.columns:
            out[name] = (name, name)
    return out


def bootstrap_metrics(
    label: np.ndarray,
    score: np.ndarray,
    probability: np.ndarray | None,
    tiebreak: np.ndarray,
    counts: np.ndarray,
) -> dict[str, np.ndarray]:
    """Every metric of one scorer for a block of resamples (rows: resamples; see stats)."""
    n = len(label)
    positives = counts @ label.astype(np.float64)
    two_classes = (positives > 0) & (positives < n)
    pos, neg = stats.by_score(label, score, counts)
    out = {"roc_auc": stats.roc_auc(pos, neg), "pr_auc": stats.average_precision(pos, neg)}
    tops = stats.top_share_hits(label, _ranked(score, tiebreak), counts, TOP_SHARES)
    for share, (hits, k) in zip(TOP_SHARES, tops, strict=True):
        name = int(share * 100)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"lift_at_{name}"] = (hits / k) / (positives / n)
            out[f"capture_at_{name}"] = hits / positives
    if probability is None:
        out.update({m: np.full(len(counts), np.nan) for m in PROBABILITY_METRICS})
    else:
        clipped = np.clip(probability, 1e-6, 1 - 1e-6)
        loss = -(label * np.log(clipped) + (1 - label) * np.log(1 - clipped))
        edges = np.linspace(0, 1, ECE_BINS + 1)
        which = np.clip(np.digitize(probability, edges[1:-1]), 0, ECE_BINS - 1)
        in_bin = np.eye(ECE_BINS)[which]
        gap = counts @ (in_bin * label[:, None]) - counts @ (in_bin * probability[:, None])
        out.update(
            {
                "brier": counts @ (probability - label) ** 2 / n,
                "log_loss": counts @ loss / n,
                "ece": np.abs(gap).sum(axis=1) / n,
            }
        )
    return {k: np.where(two_classes, v, np.nan) for k, v in out.items()}


def evaluate(predictions: pd.DataFrame, n_bootstrap: int, seed: int) -> Evaluation:
    """All test metrics; intervals from one paired bootstrap shared by every scorer and metric."""
    test = predictions[predictions["split"] == "test"].reset_index(drop=True)
    label = test["label"].to_numpy()
    tiebreak, indices = stats.test_draws(len(test), n_bootstrap, seed)
    named = scorers(test)
    columns = {
        name: (test[rank].to_numpy(), None if prob is None else test[prob].to_numpy())
        for name, (rank, prob) in named.items()
    }
    point = {
        name: score_metrics(label, score, prob, tiebreak) for name, (score, prob) in columns.items()
    }
    blocks = [
        {
            name: bootstrap_metrics(label, score, prob, tiebreak, counts)
            for name, (score, prob) in columns.items()
        }
        for counts in stats.counts_blocks(indices, len(test))
    ]
    draws = {
        name: {
            metric: np.concatenate([b[name][metric] for b in blocks]) if blocks else np.array([])
            for metric in METRICS
        }
        for name in named
    }
    rows, diffs = [], []
    for name in named:
        for metric in METRICS:
            low, high = stats.interval(draws[name][metric])
            rows.append(
                {
                    "scorer": name,
                    "metric": metric,
                    "value": point[name][metric],
                    "low": low,
                    "high": high,
                }
            )
            if name != "baseline" and metric in PAIRED:
                low, high = stats.interval(draws[name][metric] - draws["baseline"][metric])
                diffs.append(
                    {
                        "scorer": name,
                        "metric": metric,
                        "difference": point[name][metric] - point["baseline"][metric],
                        "low": low,
                        "high": high,
                    }
                )
    metrics = pd.DataFrame(rows)
    ratio = pd.DataFrame()
    if "oracle" in named:
        wide = metrics.pivot(index="scorer", columns="metric", values="value")
        ratio = (
            (wide[list(RANK_METRICS)] / wide.loc["oracle", list(RANK_METRICS)])
            .drop(index="oracle")
            .reset_index()
        )
    return Evaluation(
        metrics=metrics,
        versus_baseline=pd.DataFrame(diffs),
        oracle_ratio=ratio,
        deciles=conversion_by_decile(test, named, tiebreak),
        segments=segment_metrics(test, named),
        n_bootstrap=n_bootstrap,
    )


def conversion_by_decile(test: pd.DataFrame, named: dict, tiebreak: np.ndarray) -> pd.DataFrame:
    """Conversion per score decile (1 = best tenth) for each scorer."""
    rows = []
    label = test["label"].to_numpy()
    for name, (rank, _) in named.items():
        order = _ranked(test[rank].to_numpy(), tiebreak)
        decile = np.empty(len(test), dtype=int)
        decile[order] = np.arange(len(test)) * 10 // len(test) + 1
        for d in range(1, 11):
            in_decile = decile == d
            rows.append(
                {
                    "scorer": name,
                    "decile": d,
                    "leads": int(in_decile.sum()),
                    "conversions": int(label[in_decile].sum()),
                    "conversion": float(label[in_decile].mean()),
                }
            )
    return pd.DataFrame(rows)


def segment_metrics(test: pd.DataFrame, named: dict) -> pd.DataFrame:
    """ROC-AUC and PR-AUC per segment value for each scorer."""
    rows = []
    for column in [c for c in test.columns if c.startswith("segment_")]:
        segment = column.removeprefix("segment_")
        for value, group in test.groupby(column):
            label = group["label"].to_numpy()
            row = {
                "segment": segment,
                "value": value,
                "leads": len(group),
                "conversions": int(label.sum()),
            }
            for name, (rank, _) in named.items():
                two_classes = 0 < label.sum() < len(label)
                row[f"{name}_roc_auc"] = (
                    roc_auc_score(label, group[rank]) if two_classes else np.nan
                )
                row[f"{name}_pr_auc"] = (
                    average_precision_score(label, group[rank]) if two_classes else np.nan
                )
            rows.append(row)
    return pd.DataFrame(rows)


def _value(value: float) -> float | None:
    return None if value is None or np.isnan(value) else round(float(value), 6)


def metrics_document(
    evaluation: Evaluation, training: dict[str, Any], run_id: str, mlflow_run_id: str | None
) -> dict[str, Any]:
    """The metrics.json document (shape documented in the README)."""
    models: dict[str, Any] = {}
    for name, group in evaluation.metrics.groupby("scorer", sort=False):
        entry: dict[str, Any] = {
            "test": {
                r.metric: {"value": _value(r.value), "ci": [_value(r.low), _value(r.high)]}
                for r in group.itertuples()
            }
        }
        vs = evaluation.versus_baseline
        if len(vs) and name in set(vs["scorer"]):
            entry["vs_baseline"] = {
                f"{r.metric}_diff": {
                    "value": _value(r.difference),
                    "ci": [_value(r.low), _value(r.high)],
                }
                for r in vs[vs["scorer"] == name].itertuples()
            }
        if len(evaluation.oracle_ratio) and name in set(evaluation.oracle_ratio["scorer"]):
            ratio = evaluation.oracle_ratio.set_index("scorer").loc[name]
            entry["oracle_ratio"] = {k: _value(v) for k, v in ratio.items()}
        models[name] = entry
    deciles = {
        name: group["conversion"].round(6).tolist()
        for name, group in evaluation.deciles.groupby("scorer", sort=False)
    }
    return {
        "run_id": run_id,
        "mlflow_run_id": mlflow_run_id,
        "data": training["data"],
        "label": training["label"],
        "split": training["split"],
        "baseline": training["baseline"],
        "columns": training["columns"],
        "models": models,
        "chosen_model": training["chosen_model"],
        "calibration": training["calibration"],
        "validation_pr_auc": training["validation_pr_auc"],
        "conversion_by_decile": deciles,
        "segments": json.loads(evaluation.segments.to_json(orient="records")),
        "backtest": training["backtest"],
        "leakage": training["leakage"],
        "fitted_on": training.get("fitted_on", {}),
        "conversion_by_window": training.get("conversion_by_window", {}),
        "lightgbm": training.get("lightgbm", {}),
        "warnings": training.get("warnings", []),
        "drift": training.get("drift", {}),
        "bootstrap_samples": evaluation.n_bootstrap,
    }


def flat_metrics(evaluation: Evaluation) -> dict[str, float]:
    """Metrics as flat MLflow keys: <scorer>.test.<metric>[_low|_high], <scorer>.vs_baseline..."""
    out = {}
    for r in evaluation.metrics.itertuples():
        out[f"{r.scorer}.test.{r.metric}"] = r.value
        out[f"{r.scorer}.test.{r.metric}_low"] = r.low
        out[f"{r.scorer}.test.{r.metric}_high"] = r.high
    for r in evaluation.versus_baseline.itertuples():
        out[f"{r.scorer}.vs_baseline.{r.metric}_diff"] = r.difference
        out[f"{r.scorer}.vs_baseline.{r.metric}_diff_low"] = r.low
        out[f"{r.scorer}.vs_baseline.{r.metric}_diff_high"] = r.high
    return out


def metric_table(evaluation: Evaluation) -> pd.DataFrame:
    """Scorers as columns, metrics as rows, 'value [low, high]' cells, for display."""
    cells = evaluation.metrics.assign(
        cell=[
            f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if v == v else "–"
            for v, lo, hi in zip(
                evaluation.metrics["value"],
                evaluation.metrics["low"],
                evaluation.metrics["high"],
                strict=True,
            )
        ]
    )
    table = cells.pivot(index="metric", columns="scorer", values="cell")
    return table.reindex(list(METRICS)).reset_index()


def headline_markdown(document: dict[str, Any]) -> str:
    """The verdict in plain words: chosen model against today's rules, with intervals."""
    chosen = document["chosen_model"]
    model = document["models"][chosen]
    test, vs = model["test"], model.get("vs_baseline", {})
    base = document["models"]["baseline"]["test"]
    data = document["data"]

    def ci(entry: dict) -> str:
        low, high = entry["ci"]
        return "n/a" if low is None else f"95% CI {low:.3f} to {high:.3f}"

    lines = [
        f"**Test period** {data['test_period'][0]} to {data['test_period'][1]}: "
        f"{data['n_test']:,} leads never seen in training "
        f"({data['n_train']:,} train, {data['n_valid']:,} validation).",
        f"**Chosen model: {chosen}** (best validation PR-AUC).",
        f"PR-AUC {test['pr_auc']['value']:.3f} ({ci(test['pr_auc'])}) against "
        f"{base['pr_auc']['value']:.3f} for today's rules; ROC-AUC "
        f"{test['roc_auc']['value']:.3f} against {base['roc_auc']['value']:.3f}.",
    ]
    if "pr_auc_diff" in vs:
        diff = vs["pr_auc_diff"]
        verdict = (
            "better than the rules"
            if diff["ci"][0] is not None and diff["ci"][0] > 0
            else "not shown to be better than the rules"
        )
        lines.append(
            f"Paired difference in PR-AUC: {diff['value']:+.3f} ({ci(diff)}): **{verdict}**."
        )
    lines.append(
        f"Top 10% of leads by the model convert {test['lift_at_10']['value']:.1f}x the "
        f"average (rules: {base['lift_at_10']['value']:.1f}x). Expected calibration "
        f"error {test['ece']['value']:.3f}."
    )
    if "oracle_ratio" in model:
        lines.append(
            f"Against the true probability (synthetic data only): ROC-AUC at "
            f"{model['oracle_ratio']['roc_auc']:.1%} of the oracle's."
        )
    if document["split"].get("warning"):
        lines.append(f"**Warning:** {document['split']['warning']}")
    flagged = document["leakage"]["excluded"]
    if flagged:
        lines.append(f"Leakage guard excluded: {', '.join(flagged)}.")
    return "\n\n".join(lines)


# --- the daily queue (any-age models) --------------------------------------------------------

AGE_BANDS = (0, 7, 14, 30, 60, np.inf)
QUEUE_TOP = 0.05  # the top of the daily queue a sales team works first
STALE_DAYS = 30
QUEUE_BOOTSTRAP = 200  # resamples of leads for the queue's intervals (rows are leads x ages)


def age_band(age_days: pd.Series) -> pd.Series:
    """Age bands: 0-7, 7-14, 14-30, 30-60 and 60+ days."""
    labels = [
        f"{lo:g}-{hi:g} days" if np.isfinite(hi) else f"{lo:g}+ days"
        for lo, hi in itertools.pairwise(AGE_BANDS)
    ]
    return pd.cut(age_days, list(AGE_BANDS), right=False, labels=labels)


def queue_weights(age_days: pd.Series) -> np.ndarray:
    """Days each scored age stands for in a daily queue: until the next age of the grid (the
    last one as long as the step before it), so that pooled figures weigh each age as the
    daily job meets it."""
    grid = np.sort(age_days.unique())
    if len(grid) < 2:
        return np.ones(len(age_days))
    steps = np.r_[np.diff(grid), grid[-1] - grid[-2]]
    return steps[np.searchsorted(grid, age_days.to_numpy())]


def daily_queue(replay: pd.DataFrame, chosen: str, seed: int) -> dict[str, Any]:
    """The test window as the daily job meets it (train.replay_predictions' test rows: every
    test lead at each age it is open at): by age band, ranking and calibration (mean
    probability over the realized rate) of the chosen model and the rules; for the pooled
    queue (each age weighed by the days it stands for) the same with 95% intervals over
    leads; and how old the leads at the top 5% of the queue are and how they convert."""
    # The ages of the grid; a comeback moment (the day after a quiet lead came back) is one
    # more moment for the thresholds' first crossings, not an age that stands for days.
    comeback = (
        replay["comeback"].astype(bool)
        if "comeback" in replay.columns
        else pd.Series(False, index=replay.index)
    )
    test = replay[(replay["split"] == "test") & ~comeback].reset_index(drop=True)
    label = test["label"].to_numpy()
    prob = test[chosen].to_numpy(dtype=float)
    points = test["baseline_points"].to_numpy(dtype=float)
    bands = []
    for band, rows in test.groupby(age_band(test["age_days"]), observed=True):
        y = rows["label"].to_numpy()
        two = 0 < y.sum() < len(y)
        bands.append(
            {
                "ages": str(band),
                "rows": len(rows),
                "leads": int(rows["lead_id"].nunique()),
                "conversions": int(y.sum()),
                "predicted_over_realized": _value(rows[chosen].mean() / y.mean())
                if y.any()
                else None,
                "roc_auc": _value(roc_auc_score(y, rows[chosen])) if two else None,
                "pr_auc": _value(average_precision_score(y, rows[chosen])) if two else None,
                "rules_roc_auc": _value(roc_auc_score(y, rows["baseline_points"]))
                if two and rows["baseline_points"].notna().all()
                else None,
            }
        )
    weight = queue_weights(test["age_days"])
    leads = pd.factorize(test["lead_id"])[0]
    n_leads = leads.max() + 1
    draws = stats.resample_counts(
        stats.resample_indices(n_leads, QUEUE_BOOTSTRAP, np.random.default_rng(seed)), n_leads
    )
    counts = np.vstack([np.ones(n_leads), draws])[:, leads] * weight  # row 0: the data itself
    queue = {}
    for name, score in (("model", prob), ("rules", points)):
        if np.isnan(score).any():
            continue
        pos, neg = stats.by_score(label, score, counts)
        for metric, values in (
            ("roc_auc", stats.roc_auc(pos, neg)),
            ("pr_auc", stats.average_precision(pos, neg)),
        ):
            low, high = stats.interval(values[1:])
            queue[f"{name}_{metric}"] = {
                "value": _value(values[0]),
                "ci": [_value(low), _value(high)],
            }
    ratio = (counts @ prob) / (counts @ label)
    queue["model_predicted_over_realized"] = {
        "value": _value(ratio[0]),
        "ci": [_value(v) for v in stats.interval(ratio[1:])],
    }
    order = np.argsort(-prob, kind="stable")
    within = np.cumsum(weight[order]) <= QUEUE_TOP * weight.sum()
    top = order[within]
    stale = test["age_days"].to_numpy()[top] >= STALE_DAYS
    top_weight = weight[top]
    return {
        "ages": sorted(float(a) for a in test["age_days"].unique()),
        "weights": "each age weighted by the days until the next",
        "bands": bands,
        "queue": queue,
        "top_of_queue": {
            "share": QUEUE_TOP,
            "stale_days": STALE_DAYS,
            "stale_share": _value(top_weight[stale].sum() / top_weight.sum()),
            "conversion_stale": _value(np.average(label[top][stale], weights=top_weight[stale]))
            if stale.any()
            else None,
            "conversion_young": _value(np.average(label[top][~stale], weights=top_weight[~stale]))
            if (~stale).any()
            else None,
        },
    }


def daily_queue_table(document: dict[str, Any]) -> pd.DataFrame:
    """The daily queue's age bands as a table for people."""
    frame = pd.DataFrame(document["bands"]).rename(
        columns={
            "ages": "lead age",
            "rows": "scorings",
            "predicted_over_realized": "predicted / realized",
            "roc_auc": "ROC-AUC",
            "pr_auc": "PR-AUC",
            "rules_roc_auc": "rules ROC-AUC",
        }
    )
    return frame.set_index("lead age")


def daily_queue_markdown(document: dict[str, Any] | None) -> str:
    """The daily queue in words: ranking and calibration of the pooled queue, and the top of
    it; for a one-moment model, why there is none."""
    if not document:
        return (
            "The model scores each lead once, at its scoring moment (`label.snapshot_days` is "
            "empty), so there is no daily queue to measure; `bench/replay_daily.py` replays "
            "the daily job on any exported model."
        )
    queue, top = document["queue"], document["top_of_queue"]

    def figure(key: str, fmt: str = "{:.3f}") -> str:
        entry = queue.get(key)
        if not entry or entry["value"] is None:
            return "n/a"
        low, high = entry["ci"]
        ci = "" if low is None else f" (95% CI {fmt.format(low)} to {fmt.format(high)})"
        return fmt.format(entry["value"]) + ci

    ages = ", ".join(f"{a:g}" for a in document["ages"])
    lines = [
        f"Every test lead re-scored at each age it is open at ({ages} days) and pooled as "
        f"one daily queue, {document['weights']}:",
        f"- ROC-AUC {figure('model_roc_auc')} against {figure('rules_roc_auc')} for the rules;",
        f"- PR-AUC {figure('model_pr_auc')} against {figure('rules_pr_auc')} for the rules;",
        f"- mean predicted probability over the realized rate "
        f"{figure('model_predicted_over_realized', '{:.2f}')} (1 is calibrated);",
        f"- of the top {top['share']:.0%} of the queue, {top['stale_share']:.1%} are leads "
        f"aged {top['stale_days']} days or more.",
    ]
    return "\n".join(lines)


MIN_RECALIBRATION_ROWS = 200  # per half of the test window, with both outcomes


def recalibration_check(predictions: pd.DataFrame, model: str) -> dict[str, Any] | None:
    """Would calibrating on the newest labelled leads help? The test window in time order is
    cut in two: a sigmoid fitted on the older half's (log-odds of) probabilities and outcomes
    recalibrates the newer half, and both calibrations are measured there. Honest: neither
    half chose anything else. None when a half is too small or has one outcome."""
    from scoring.model.calibration import PlattCalibration
    from scoring.runtime.artifact import logit

    test = predictions[predictions["split"] == "test"]
    if "moment" in test and test["moment"].notna().all():
        test = test.sort_values("moment", kind="stable")
    half = len(test) // 2
    older, newer = test.iloc[:half], test.iloc[half:]
    labels = [part["label"].to_numpy().astype(int) for part in (older, newer)]
    if min(len(older), len(newer)) < MIN_RECALIBRATION_ROWS or any(
        y.min() == y.max() for y in labels
    ):
        return None
    p_old, p_new = (part[model].to_numpy(float) for part in (older, newer))
    sigmoid = PlattCalibration().fit(logit(p_old), labels[0])
    recalibrated = sigmoid.predict(logit(p_new))
    y_new = labels[1]
    return {
        "fitted_on": f"the older half of the test window ({len(older):,} leads)",
        "measured_on": f"the newer half of the test window ({len(newer):,} leads)",
        "conversion_newer": float(y_new.mean()),
        "mean_probability_as_trained": float(p_new.mean()),
        "mean_probability_recalibrated": float(recalibrated.mean()),
        "ece_as_trained": expected_calibration_error(y_new, p_new),
        "ece_recalibrated": expected_calibration_error(y_new, recalibrated),
        "brier_as_trained": float(brier_score_loss(y_new, p_new)),
        "brier_recalibrated": float(brier_score_loss(y_new, recalibrated)),
    }


def newest_recalibration(predictions: pd.DataFrame, model: str) -> dict[str, Any] | None:
    """A sigmoid on the log-odds of the model's probabilities, fitted on the whole test window
    (the newest labelled leads), for an artifact recalibrated on them (export.
    recalibrate_on_newest): its a and b, and the probabilities before and after there. None
    when the window is too small or has one outcome."""
    from scoring.model.calibration import PlattCalibration
    from scoring.runtime.artifact import logit, recalibrate

    test = predictions[predictions["split"] == "test"]
    y = test["label"].to_numpy().astype(int)
    if len(test) < MIN_RECALIBRATION_ROWS or y.min() == y.max():
        return None
    probability = test[model].to_numpy(float)
    sigmoid = PlattCalibration().fit(logit(probability), y)
    document = {"a": sigmoid.a_, "b": sigmoid.b_}
    return {
        **document,
        "rows": len(test),
        "conversion": float(y.mean()),
        "mean_probability_as_trained": float(probability.mean()),
        "mean_probability_recalibrated": float(recalibrate(document, probability).mean()),
        "ece_as_trained": expected_calibration_error(y, probability),
        "ece_recalibrated_in_sample": expected_calibration_error(
            y, recalibrate(document, probability)
        ),
    }
