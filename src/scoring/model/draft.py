"""The draft of the scoring artifact, written by the training stage where the fitted models
live: the model (LightGBM's text model or logistic coefficients as JSON), its calibration, the
preprocessing and a profile of the training window. The export stage completes it
(jobs.export); the runtime loads it (runtime.artifact)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from scoring.core.config import input_kind
from scoring.data import flat
from scoring.data.features import OUTCOME_COLUMNS, STATUS_FEATURES
from scoring.io.files import write_json
from scoring.model.calibration import CalibratedModel
from scoring.model.splits import assign_snapshots
from scoring.runtime import drift
from scoring.runtime.artifact import (
    CALIBRATION_FILE,
    LIGHTGBM_FILE,
    LOGISTIC_FILE,
    PREPROCESSING_FILE,
    PROFILE_FILE,
    SCHEMA_FILE,
    LogisticModel,
    input_schema,
)


def logistic_document(pipeline, columns: list[str]) -> dict:
    """The logistic pipeline (impute, signed log, scale, one-hot, coefficients) as JSON."""
    prep, model = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    weights = dict(zip(prep.get_feature_names_out(), model.coef_[0].tolist(), strict=True))
    numeric_steps = prep.named_transformers_["numeric"]
    numeric_columns = list(prep.transformers_[0][2])
    imputer, scaler = numeric_steps.named_steps["impute"], numeric_steps.named_steps["scale"]
    numeric = [
        {
            "column": column,
            "median": float(imputer.statistics_[i]),
            "mean": float(scaler.mean_[i]),
            "scale": float(scaler.scale_[i]),
            "weight": weights[f"numeric__{column}"],
        }
        for i, column in enumerate(numeric_columns)
    ]
    onehot = prep.named_transformers_["categorical"]
    categorical = []
    for i, column in enumerate(prep.transformers_[1][2]):
        infrequent = onehot.infrequent_categories_[i]
        infrequent = [] if infrequent is None else [str(v) for v in infrequent]
        levels = {
            str(level): weights[f"categorical__{column}_{level}"]
            for level in onehot.categories_[i]
            if str(level) not in infrequent
        }
        categorical.append(
            {
                "column": column,
                "levels": levels,
                "infrequent_levels": infrequent,
                "infrequent_weight": weights.get(f"categorical__{column}_infrequent_sklearn"),
            }
        )
    return {
        "intercept": float(model.intercept_[0]),
        "numeric": numeric,
        "categorical": categorical,
        "columns": columns,
    }


def write_draft(result, dataset, params, folder: Path | str) -> Path:
    """The model, calibration, preprocessing and training profile of the chosen model."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():
        stale.unlink()
    chosen = result.chosen_model
    calibrated: CalibratedModel = result.models[chosen]
    # A blend is its members' log-odds, weighted: both members are written.
    weights, pipelines = calibrated.weights, calibrated.pipelines
    columns = list(result.feature_columns)
    X = dataset.features[columns]
    categorical = [c for c in columns if not pd.api.types.is_numeric_dtype(X[c])]
    preprocessing: dict[str, Any] = {
        "family": chosen,
        "features": columns,
        "categorical": categorical,
        "source": input_kind(params),
    }
    if chosen == "blend":
        preprocessing["weights"] = dict(weights)
    if "lightgbm" in weights:
        encoder = pipelines["lightgbm"].named_steps["prep"]
        preprocessing["levels"] = {c: list(encoder.levels_[c]) for c in encoder.columns_}
        # The booster reads features by position; its names are the ones LightGBM accepts.
        preprocessing["lightgbm_names"] = dict(
            zip(encoder.feature_names_in_.tolist(), encoder.internal_names_, strict=True)
        )
        booster = pipelines["lightgbm"].named_steps["model"].booster_
        booster.save_model(folder / LIGHTGBM_FILE)
    if "logistic" in weights:
        document = logistic_document(pipelines["logistic"], columns)
        train_rows = X[(result.split.assignment == "train").to_numpy()]
        document["reference"] = LogisticModel(document).parts(train_rows).mean(axis=0).tolist()
        write_json(folder / LOGISTIC_FILE, document, canonical=True)
    if preprocessing["source"] == "flat":
        preprocessing["flat"] = flat_preprocessing(dataset, params.data.flat, columns)
    else:
        preprocessing["tables"] = {
            "windows_days": list(params.features.windows_days),
            "scoring_moment": params.label.scoring_moment,
            "days_after_created": params.label.days_after_created,
            # Scoring reads it when the input has it: a lead past its outcome is not routed.
            "outcome_column": OUTCOME_COLUMNS[params.label.outcome],
        }
        if params.label.snapshot_days:  # any-age: scored as of the scoring day, with its age
            preprocessing["tables"]["snapshot_days"] = list(params.label.snapshot_days)
            preprocessing["tables"]["status_columns"] = [
                c for c, name in STATUS_FEATURES.items() if name in columns
            ]
    write_json(folder / PREPROCESSING_FILE, preprocessing, canonical=True)
    write_json(folder / CALIBRATION_FILE, calibrated.to_document(), canonical=True)
    train = (result.split.assignment == "train").to_numpy()
    reference = X[train].assign(score=result.predictions.loc[train, chosen].to_numpy())
    if dataset.snapshots is not None:
        # An any-age model's daily batches hold leads of every age: drift is measured against
        # the training leads at every age, not at one.
        part = assign_snapshots(result.split, dataset.moment, dataset.snapshots)
        rows = dataset.snapshots.features.loc[(part == "train").to_numpy(), columns]
        # The train leads' moments drawn to learn from: a uniform sample of the daily queue
        # at each age (and every train lead at its own moment).
        reference = rows.assign(score=calibrated.predict_proba(rows)[:, 1])
    write_json(folder / PROFILE_FILE, drift.profile(reference), canonical=True)
    write_json(folder / SCHEMA_FILE, input_schema(preprocessing), canonical=True)
    return folder


def flat_preprocessing(dataset, flat_params, columns: list[str]) -> dict:
    """How each raw export column becomes a feature: its type and the levels kept."""
    table = dataset.columns.set_index("column")
    types = table["kind"].to_dict()
    decimals = table["decimal"].to_dict() if "decimal" in table.columns else {}
    dayfirst = table["dayfirst"].to_dict() if "dayfirst" in table.columns else {}
    used = []
    for column, kind in types.items():
        name = flat.feature_name(column, kind)
        if name not in columns:
            continue
        entry = {"column": column, "kind": kind, "feature": name}
        if kind == "numeric" and decimals.get(column) == ",":
            entry["decimal"] = ","
        if kind == "datetime" and dayfirst.get(column) is True:
            entry["dayfirst"] = True
        if kind == "categorical":
            seen = dataset.features[name].unique().tolist()
            entry["kept_levels"] = sorted(v for v in seen if v not in ("other", "missing"))
        used.append(entry)
    return {
        "id_column": flat_params.id_column,
        "date_column": flat_params.date_column,
        "missing_values": list(flat_params.missing_values),
        "columns": used,
        **({"date_dayfirst": True} if dayfirst.get(flat_params.date_column) is True else {}),
    }
