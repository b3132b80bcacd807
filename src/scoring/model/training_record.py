"""What the training stage leaves behind: training.json (the summary every later stage and
the report read), the predictions and models in the run folder, and the tables and Markdown
the train notebook shows."""

from __future__ import annotations

import pandas as pd

from scoring.data.features import Dataset
from scoring.io import runfolder
from scoring.io.files import write_whole
from scoring.io.runfolder import RunFolder
from scoring.model import leakage
from scoring.model.calibration import fitted_pipeline
from scoring.model.splits import SPLITS
from scoring.model.train import CALIBRATION_FOLDS, EARLY_STOPPING_METRIC, TrainingResult
from scoring.runtime import drift


def conversion_by_window(label: pd.Series, assignment: pd.Series) -> dict[str, dict]:
    """Leads, conversions and conversion rate of train, validation and test."""
    out = {}
    for name in SPLITS:
        rows = label[assignment == name]
        out[name] = {
            "leads": len(rows),
            "conversions": int(rows.sum()),
            "rate": float(rows.mean()) if len(rows) else None,
        }
    return out


def training_summary(result: TrainingResult, dataset: Dataset, data_fingerprint: str) -> dict:
    """What the evaluation and metrics.json need to know about training (JSON-ready)."""
    counts = result.split.assignment.value_counts()
    return {
        "data": {
            "fingerprint": data_fingerprint,
            "n_train": int(counts.get("train", 0)),
            "n_valid": int(counts.get("valid", 0)),
            "n_test": int(counts.get("test", 0)),
            "test_period": result.split.periods.get("test"),
            "snapshot": None if pd.isna(dataset.snapshot) else f"{dataset.snapshot:%Y-%m-%d}",
            "positives": {
                s: int(dataset.label[result.split.assignment == s].sum()) for s in SPLITS
            },
            "sampling": dataset.sampling,
        },
        "label": {
            **dataset.description,
            "excluded": dataset.exclusions.to_dict(orient="records"),
        },
        "split": {
            "method": result.split.method,
            "periods": result.split.periods,
            "warning": result.split.warning,
        },
        "baseline": result.baseline_kind,
        "columns": [] if dataset.columns is None else dataset.columns.to_dict(orient="records"),
        "notes": dataset.notes,
        "chosen_model": result.chosen_model,
        "calibration": result.calibration,
        "validation_pr_auc": {k: round(v, 6) for k, v in result.validation_pr_auc.items()},
        "lightgbm": {
            "params": result.lightgbm_params,
            "early_stopping_metric": EARLY_STOPPING_METRIC,
            "best_iteration": result.best_iteration,
            "refit_trees": result.refit_trees,
            "search_trials": result.search_trials,
        },
        "seconds": round(result.seconds, 1),
        "fitted_on": {
            "rows": result.fitted_on,
            "n_rows": int((result.split.assignment != "test").sum()),
            "how": "family, hyperparameters, tree count and calibration method chosen on "
            "validation with models trained on the training rows; the chosen settings refitted "
            "on train + validation (tree count scaled to the rows) and calibrated on "
            f"{CALIBRATION_FOLDS}-fold out-of-fold predictions of the validation rows (each "
            "fold predicted by the same recipe trained on every other row before the test "
            "window). The test window is never used.",
        },
        "conversion_by_window": conversion_by_window(dataset.label, result.split.assignment),
        "warnings": [*([result.split.warning] if result.split.warning else []), *result.warnings],
        "blend_weights": (result.models["blend"].weights if "blend" in result.models else None),
        "features": result.feature_columns,
        "backtest": result.backtest.round(6).to_dict(orient="records"),
        "leakage": {
            "flagged": [f.as_dict() for f in result.leakage],
            "excluded": leakage.excluded_columns(result.leakage),
        },
        "drift": drift.training_drift(
            dataset.features[result.feature_columns],
            result.predictions[result.chosen_model],
            result.split.assignment,
            result.split.periods,
        ),
    }


def save_outputs(result: TrainingResult, summary: dict, run: RunFolder) -> dict[str, str]:
    """Write predictions, the training summary and the models (no pickles) into the run."""
    paths = {"predictions": run.predictions, "training": run.training}
    write_whole(paths["predictions"], lambda p: result.predictions.to_parquet(p, index=False))
    if result.replay is not None:
        paths["replay"] = run.replay
        write_whole(paths["replay"], lambda p: result.replay.to_parquet(p, index=False))
    run.write(runfolder.TRAINING, summary)
    if "lightgbm" in result.models:
        booster = fitted_pipeline(result.models["lightgbm"]).named_steps["model"].booster_
        paths["lightgbm_model"] = run.lightgbm_model
        booster.save_model(paths["lightgbm_model"])
    if "logistic" in result.models:
        pipe = fitted_pipeline(result.models["logistic"])
        names = pipe.named_steps["prep"].get_feature_names_out()
        model = pipe.named_steps["model"]
        paths["logistic_model"] = run.write(
            runfolder.LOGISTIC_MODEL,
            {
                "intercept": float(model.intercept_[0]),
                "coefficients": dict(zip(names, model.coef_[0].round(8).tolist(), strict=True)),
            },
        )
    return {k: str(v) for k, v in paths.items()}


def load_outputs(run: RunFolder) -> tuple[pd.DataFrame, dict]:
    """The predictions and training summary a training run wrote."""
    missing = run.missing(runfolder.PREDICTIONS, runfolder.TRAINING)
    if missing:
        raise FileNotFoundError(
            f"{run.path} has no {', '.join(missing)}: run the train stage first "
            "(leadscore run does both)"
        )
    return pd.read_parquet(run.predictions), run.read(runfolder.TRAINING)


def load_replay(run: RunFolder) -> pd.DataFrame | None:
    """An any-age model's daily-job replay (replay.parquet), or None for a one-moment model."""
    return pd.read_parquet(run.replay) if run.replay.is_file() else None


def summary_markdown(summary: dict) -> str:
    """Training in a few sentences: data, exclusions, split, leakage, choice."""
    data, split = summary["data"], summary["split"]
    excluded = ", ".join(f"{e['leads']:,} {e['reason']}" for e in summary["label"]["excluded"])
    periods = "; ".join(f"{name} {p[0]} to {p[1]}" for name, p in split["periods"].items())
    lines = [
        f"**{data['n_train'] + data['n_valid'] + data['n_test']:,} leads; label: "
        f"{summary['label']['meaning']}.** Left out: {excluded or 'none'}.",
        f"**Split ({split['method']}):** {periods or 'random'}.",
        f"Positives: {data['positives']}.",
        f"Chosen on validation PR-AUC: **{summary['chosen_model']}** "
        f"({summary['validation_pr_auc']}); calibration {summary['calibration']}.",
        f"Baseline: {summary['baseline']}.",
        *summary.get("notes", []),
    ]
    windows = summary.get("conversion_by_window", {})
    if windows:
        lines.append(
            "Conversion by window: "
            + "; ".join(
                f"{name} {w['rate']:.1%} ({w['conversions']:,} of {w['leads']:,})"
                for name, w in windows.items()
                if w["rate"] is not None
            )
            + "."
        )
    fitted = summary.get("fitted_on")
    if fitted:
        lines.append(
            f"**The evaluated and exported model is trained on {fitted['rows']}** "
            f"({fitted['n_rows']:,} leads); LightGBM trees: "
            f"{summary['lightgbm'].get('refit_trees', 'n/a')} (early stopping on validation "
            f"{summary['lightgbm'].get('early_stopping_metric', 'PR-AUC')} at "
            f"{summary['lightgbm']['best_iteration']})."
        )
    for warning in summary.get("warnings", []):
        if warning != split.get("warning"):
            lines.append(f"**Warning:** {warning}")
    if split.get("warning"):
        lines.append(f"**Warning:** {split['warning']}")
    excluded_cols = summary["leakage"]["excluded"]
    lines.append(
        "Leakage guard: "
        + (f"excluded {', '.join(excluded_cols)}." if excluded_cols else "no column flagged.")
    )
    return "\n\n".join(lines)


def leakage_table(result: TrainingResult) -> pd.DataFrame:
    """Flagged columns with their evidence and whether they were excluded."""
    rows = [flag.as_dict() for flag in result.leakage]
    columns = ["column", "action", "reason", "evidence", "detail", "params_change"]
    return pd.DataFrame(rows, columns=columns)


def validation_table(result: TrainingResult) -> pd.DataFrame:
    """Validation PR-AUC per scorer, the calibration chosen, and which model was chosen."""
    return pd.DataFrame(
        [
            {
                "scorer": name,
                "validation_pr_auc": value,
                "calibration": result.calibration.get(name, "isotonic (points)"),
                "chosen": name == result.chosen_model,
            }
            for name, value in result.validation_pr_auc.items()
        ]
    )


def columns_table(dataset: Dataset) -> pd.DataFrame:
    """How each input column was typed or why it was excluded (flat exports; else empty)."""
    if dataset.columns is None:
        return pd.DataFrame(
            {
                "note": [
                    "Leads and activities: features are engineered from the "
                    "data contract (see README)."
                ]
            }
        )
    return dataset.columns


def load_metrics(run: RunFolder) -> dict:
    """metrics.json of a run (written by the evaluation stage)."""
    if run.missing(runfolder.METRICS):
        raise FileNotFoundError(f"{run.metrics} is missing: run the evaluate stage first")
    return run.read(runfolder.METRICS)
