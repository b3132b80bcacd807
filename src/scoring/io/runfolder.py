"""The run folder, reports/<run_id>/: the one place that names its files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.io.files import read_json, write_json

PARAMS = "params.yaml"
FUNNEL = "funnel.json"
TRAINING = "training.json"
PREDICTIONS = "predictions.parquet"
FEATURES = "features.parquet"  # every lead's features, in the order of predictions.parquet
INPUTS = "inputs.parquet"  # label, moment, ids (... ) of the input as the run read it
INPUTS_JSON = "inputs.json"  # the rest of it, and the settings it was read with
SNAPSHOTS = "snapshots.parquet"  # an any-age model's training moments (label.snapshot_days)
REPLAY = "replay.parquet"  # an any-age model's daily-job replay of validation and test leads
LIGHTGBM_MODEL = "lightgbm_model.txt"
LOGISTIC_MODEL = "logistic_coefficients.json"
SHAP_CONTRIBUTIONS = "shap_contributions.parquet"
SHAP_VALUES = "shap_values_explained.parquet"
REASONS = "reasons.parquet"
EXPLAIN = "explain.json"
METRICS = "metrics.json"
PLOTS = "plots"
THRESHOLDS = "thresholds.json"
TRADEOFF = "threshold_tradeoff.parquet"
POINTS_CSV = "points_rules.csv"
POINTS_JSON = "points_rules.json"
POINTS_MD = "points_rules.md"
DRAFT = "artifact_draft"
ARTIFACT = "artifact"
EXPORT = "export.json"
RETRAIN = "retrain.json"
RETRAIN_MD = "retrain.md"
REPORT = "report.html"
# running, then finished, failed or killed: the first file of a run and the last written.
STATUS = "run_status.json"

# reports/latest: the link to the newest complete run, beside the run folders.
LATEST = "latest"

# The run's records attached to its MLflow run when it ends (when they exist).
RECORDS = (METRICS, FUNNEL, PARAMS, TRAINING, THRESHOLDS, EXPLAIN, POINTS_JSON, EXPORT)


@dataclass(frozen=True)
class RunFolder:
    """reports/<run_id>/: each file's path, and its JSON documents read and written."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def run_id(self) -> str:
        return self.path.name

    params = property(lambda self: self.path / PARAMS)
    funnel = property(lambda self: self.path / FUNNEL)
    training = property(lambda self: self.path / TRAINING)
    predictions = property(lambda self: self.path / PREDICTIONS)
    features = property(lambda self: self.path / FEATURES)
    inputs = property(lambda self: self.path / INPUTS)
    inputs_json = property(lambda self: self.path / INPUTS_JSON)
    snapshots = property(lambda self: self.path / SNAPSHOTS)
    replay = property(lambda self: self.path / REPLAY)
    lightgbm_model = property(lambda self: self.path / LIGHTGBM_MODEL)
    logistic_model = property(lambda self: self.path / LOGISTIC_MODEL)
    shap_contributions = property(lambda self: self.path / SHAP_CONTRIBUTIONS)
    shap_values = property(lambda self: self.path / SHAP_VALUES)
    reasons = property(lambda self: self.path / REASONS)
    explain = property(lambda self: self.path / EXPLAIN)
    metrics = property(lambda self: self.path / METRICS)
    plots = property(lambda self: self.path / PLOTS)
    thresholds = property(lambda self: self.path / THRESHOLDS)
    tradeoff = property(lambda self: self.path / TRADEOFF)
    points_csv = property(lambda self: self.path / POINTS_CSV)
    points_json = property(lambda self: self.path / POINTS_JSON)
    points_md = property(lambda self: self.path / POINTS_MD)
    draft = property(lambda self: self.path / DRAFT)
    artifact = property(lambda self: self.path / ARTIFACT)
    export = property(lambda self: self.path / EXPORT)
    retrain = property(lambda self: self.path / RETRAIN)
    retrain_md = property(lambda self: self.path / RETRAIN_MD)
    report = property(lambda self: self.path / REPORT)
    status = property(lambda self: self.path / STATUS)

    def plot(self, name: str) -> Path:
        """plots/<name>.png"""
        return self.plots / f"{name}.png"

    def read(self, name: str) -> Any:
        """One of the run's JSON documents, by file name (e.g. METRICS)."""
        return read_json(self.path / name)

    def write(self, name: str, document: Any) -> Path:
        """Write one of the run's JSON documents, by file name."""
        return write_json(self.path / name, document)

    def missing(self, *names: str) -> list[str]:
        """Which of these files the run has not written."""
        return [n for n in names if not (self.path / n).exists()]

    def records(self) -> list[Path]:
        """Executed notebooks, their HTML pages and the run's JSON records, for MLflow."""
        return (
            sorted(self.path.glob("*.ipynb"))
            + sorted(self.path.glob("*.html"))
            + [self.path / n for n in RECORDS if (self.path / n).is_file()]
        )
