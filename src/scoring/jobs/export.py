"""Export stage: complete a run's artifact draft with its model card and check that it
reproduces the run's probabilities; once the whole run has finished, register and store it
(`publish`, through tracking.registry)."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from scoring.core.config import Params
from scoring.io import runfolder
from scoring.io.files import read_json, write_json
from scoring.io.runfolder import RunFolder
from scoring.model import points, training_record
from scoring.model.evaluate import newest_recalibration
from scoring.report import model_card
from scoring.runtime import artifact
from scoring.runtime.grades import score_from_probability
from scoring.runtime.reasons import yes_no_wording
from scoring.tracking import registry

log = logging.getLogger(__name__)


def complete(run: RunFolder, params: Params, newest: dict | None = None) -> Path:
    """Turn the run's draft into a complete artifact (<run>/artifact) with its manifest;
    `newest`: the sigmoid that recalibrates it on the newest labelled leads."""
    draft = run.draft
    if not (draft / artifact.PREPROCESSING_FILE).is_file():
        raise FileNotFoundError(f"{draft} has no model draft: run the train stage first")
    metrics = run.read(runfolder.METRICS)
    training = run.read(runfolder.TRAINING)
    thresholds = run.read(runfolder.THRESHOLDS)
    target = run.artifact
    staging = target.with_name(f".{target.name}-staging")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(draft, staging)
    card = model_card.model_card(metrics, training, thresholds, params)
    if newest is not None:
        calibration = read_json(staging / artifact.CALIBRATION_FILE)
        write_json(
            staging / artifact.CALIBRATION_FILE,
            {**calibration, "newest": {"a": newest["a"], "b": newest["b"]}},
            canonical=True,
        )
        card["threshold"] = recalibrated_thresholds(card["threshold"], newest)
        card["recalibrated_on_newest"] = newest
    write_json(staging / artifact.THRESHOLDS_FILE, card["threshold"], canonical=True)
    write_json(
        staging / artifact.WORDING_FILE,
        {"wording": wording(staging, params), "top_reasons": 3},
        canonical=True,
    )
    write_json(staging / artifact.CARD_JSON, card, canonical=True)
    if run.points_json.is_file():
        write_json(
            staging / artifact.POINTS_FILE,
            points.artifact_document(run.read(runfolder.POINTS_JSON)),
            canonical=True,
        )
    (staging / artifact.CARD_MD).write_text(model_card.card_markdown(card), "utf-8")
    artifact.write_manifest(staging, {"model_name": params.export.model_name})
    artifact.verify(staging)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    return target


def recalibrated_thresholds(document: dict, newest: dict) -> dict:
    """The artifact's thresholds mapped through the newest leads' sigmoid: the same leads
    qualify (it keeps their order), under the probabilities and scores they now carry."""

    def mapped(probability: float | None) -> tuple[float | None, float | None]:
        if probability is None:
            return None, None
        moved = float(artifact.recalibrate(newest, [probability])[0])
        return moved, float(score_from_probability(moved))

    probability, score = mapped(document["mql_probability"])
    policies = {}
    for name, policy in document["policies"].items():
        moved, moved_score = mapped(policy["probability"])
        policies[name] = {**policy, "probability": moved, "score": moved_score}
    return {**document, "mql_probability": probability, "mql_score": score, "policies": policies}


def wording(artifact_dir: Path, params: Params) -> dict[str, str]:
    """The reasons' wording: params' own, over yes/no wording for an export's boolean fields."""
    preprocessing = read_json(artifact_dir / artifact.PREPROCESSING_FILE)
    booleans = [
        c["feature"]
        for c in preprocessing.get("flat", {}).get("columns", [])
        if c.get("kind") == "boolean"
    ]
    return {**yes_no_wording(booleans), **params.explain.wording}


def check_against_run(folder: Path | str, features: pd.DataFrame, expected: np.ndarray) -> float:
    """Largest absolute difference between the artifact's probabilities and the run's."""
    loaded = artifact.load(folder)
    return float(np.max(np.abs(loaded.predict_proba(features) - expected), initial=0.0))


MAX_DIFFERENCE = 1e-9


def export_run(run: RunFolder, params: Params, features: pd.DataFrame) -> dict:
    """The export stage: complete the artifact and check it reproduces the run's probabilities
    on every lead (to 1e-9). It is registered (`publish`) only once every stage of the run has
    finished: a run that fails or is stopped leaves no model version behind."""

    predictions, summary = training_record.load_outputs(run)
    recalibration = None
    if params.export.recalibrate_on_newest:
        recalibration = newest_recalibration(predictions, summary["chosen_model"])
        if recalibration is None:
            log.warning(
                "export.recalibrate_on_newest: the test window is too small or has one outcome; "
                "the model is exported as trained"
            )
    folder = complete(run, params, recalibration)
    expected = predictions[summary["chosen_model"]].to_numpy()
    if recalibration is not None:
        expected = artifact.recalibrate(recalibration, expected)
    difference = check_against_run(folder, features, expected)
    if not difference <= MAX_DIFFERENCE:
        raise artifact.ArtifactError(
            f"{folder}: the exported model differs from the trained one by up to "
            f"{difference:.3g} (allowed {MAX_DIFFERENCE:g}); not registered"
        )
    document = {
        "model_name": params.export.model_name,
        "version": None,
        "artifact": str(folder),
        "stored": None,
        "max_difference_vs_run": difference,
        "rows_checked": len(expected),
        "pickles_found": artifact.find_pickles(folder),
        "recalibrated_on_newest": recalibration
        if recalibration is not None
        else ("not possible" if params.export.recalibrate_on_newest else None),
    }
    run.write(runfolder.EXPORT, document)
    return document


def publish(run: RunFolder, params: Params) -> dict:
    """Register the run's checked artifact in MLflow as a new version and store it as
    artifacts/<model>/v<N> (once: a published run keeps its version); export.json names it."""
    document = run.read(runfolder.EXPORT)
    if document.get("version") is not None:
        return document
    folder = Path(document["artifact"])
    artifact.verify(folder)  # unchanged since the export stage checked it
    version = registry.register_artifact(params, run.run_id, folder)
    stored = registry.store_version(folder, params, version)
    document = {**document, "version": version, "stored": str(stored)}
    run.write(runfolder.EXPORT, document)
    return document


def manifest_table(folder: Path | str) -> pd.DataFrame:
    """The artifact's files with size and sha256."""
    manifest = artifact.verify(folder)
    return pd.DataFrame(
        [
            {"file": name, "bytes": (Path(folder) / name).stat().st_size, "sha256": digest}
            for name, digest in manifest["files"].items()
        ]
    )
