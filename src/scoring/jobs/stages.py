"""The stages of a run, each `(params, run) -> result`: the whole stage in Python, its files
written into the run folder and its records logged to MLflow.

A notebook is one stage call plus display cells, so it runs the same in JupyterLab, under
papermill and in-process (`leadscore run --no-notebooks`, retrain, tests). Order:
audit, train, evaluate, explain, thresholds, points, export (STAGES).

Each stage imports its own modules inside its function: a notebook kernel runs one stage and
loads only what that stage needs (importing every stage's stack costs each kernel about 6 s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring.core.config import Params, outcome_name
from scoring.io import runfolder
from scoring.io.runfolder import RunFolder
from scoring.jobs import inputs
from scoring.tracking import runs as tracking

STAGES = ("audit", "train", "evaluate", "explain", "thresholds", "points", "export")
# What each stage reads that another stage writes (the audit reads only the input).
NEEDS = {
    "audit": (),
    "train": (),
    "evaluate": ("train",),
    "explain": ("train",),
    "thresholds": ("train", "evaluate"),
    "points": ("train",),
    "export": ("train", "evaluate", "thresholds", "points"),
}


def ready(only: tuple[str, ...], done: set[str]) -> list[str]:
    """The stages of `only` not done whose needs are done (stages outside `only` count as
    done): those that may start now."""
    return [s for s in only if s not in done and all(n in done or n not in only for n in NEEDS[s])]


@dataclass
class Run:
    """One run: its folder, and what earlier stages of the same process already loaded (so an
    in-process run reads the inputs once; a notebook starts empty and reads them again)."""

    folder: RunFolder
    loaded: inputs.Inputs | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        return self.folder.run_id

    def inputs(self, params: Params) -> inputs.Inputs:
        """The run's input data: as the run's start read it (inputs.save_cache), else read on
        first use."""
        if self.loaded is None:
            self.loaded = inputs.load_cache(params, self.folder) or inputs.load_inputs(params)
        return self.loaded

    def features(self, params: Params) -> pd.DataFrame:
        """Every lead's features in the order of predictions.parquet."""
        return self.inputs(params).dataset.features.reset_index(drop=True)


def open_run(params: Params, run_id: str) -> Run:
    """The run <data.reports_dir>/<run_id> (its folder created if missing)."""
    path = Path(params.data.reports_dir) / run_id
    path.mkdir(parents=True, exist_ok=True)
    return Run(RunFolder(path))


@dataclass(frozen=True)
class Audited:
    """A funnel audit (leads and activities) or what a flat export allows (see inputs.audit)."""

    audit: Any
    headline: str


def audit(params: Params, run: Run) -> Audited:
    """Audit the funnel or the export; write funnel.json."""
    from scoring.audit import funnel

    result, headline = inputs.audit(params)
    funnel.write_summary(result, run.folder.funnel)
    return Audited(result, headline)


@dataclass(frozen=True)
class Trained:
    """The dataset, the fitted models and their summary (training.json)."""

    dataset: Any
    result: Any
    summary: dict
    paths: dict[str, str]


def train(params: Params, run: Run) -> Trained:
    """Build features, guard against leakage, split out of time, fit and choose the models,
    explain the chosen one on test, write the artifact draft and open the MLflow run."""
    from scoring.model import draft, explain, training_record
    from scoring.model import train as training

    loaded = run.inputs(params)
    dataset = loaded.dataset
    result = training.train_all(
        dataset,
        params.models,
        inputs.feature_params(params),
        params.baseline,
        params.seed,
        loaded.oracle,
    )
    summary = training_record.training_summary(result, dataset, loaded.fingerprint)
    paths = training_record.save_outputs(result, summary, run.folder)
    if not inputs.cache_current(params, run.folder):  # later stages and `leadscore rules`
        inputs.save_cache(loaded, params, run.folder)
    explained = explain.explain_run(result, dataset, params.explain)
    paths.update(explain.save_run(explained, result, dataset, run.folder))
    draft.write_draft(result, dataset, params, run.folder.draft)
    tracking.run_for(params, run.run_id)
    tracking.log_tags(params, run.run_id, {"data_fingerprint": summary["data"]["fingerprint"]})
    model_files = [v for k, v in paths.items() if k.endswith("_model")]
    tracking.log_artifacts(params, run.run_id, model_files, folder="models")
    return Trained(dataset, result, summary, paths)


@dataclass(frozen=True)
class Evaluated:
    """Test metrics with intervals (metrics.json) and the evaluation charts."""

    evaluation: Any
    document: dict
    figures: dict[str, Any]


def evaluate(params: Params, run: Run) -> Evaluated:
    """Every scorer on the test window with paired bootstrap intervals; charts saved to plots/."""
    from scoring.model import evaluate as evaluation_module
    from scoring.model import training_record
    from scoring.report import plots

    predictions, summary = training_record.load_outputs(run.folder)
    evaluation = evaluation_module.evaluate(
        predictions, params.models.bootstrap_samples, params.seed
    )
    mlflow_run_id = tracking.run_for(params, run.run_id)
    document = evaluation_module.metrics_document(evaluation, summary, run.run_id, mlflow_run_id)
    document["recalibration"] = evaluation_module.recalibration_check(
        predictions, summary["chosen_model"]
    )
    replay = training_record.load_replay(run.folder)
    if replay is not None:  # an any-age model: the test window as the daily job meets it
        document["daily_queue"] = evaluation_module.daily_queue(
            replay, summary["chosen_model"], params.seed
        )
    metrics_path = run.folder.write(runfolder.METRICS, document)
    tracking.log_metrics(params, run.run_id, evaluation_module.flat_metrics(evaluation))
    chosen = document["chosen_model"]
    figures = {
        "roc": plots.roc_curves(predictions),
        "precision_recall": plots.pr_curves(predictions),
        "calibration": plots.reliability(predictions),
        "gains_lift": plots.gains_and_lift(predictions),
        "score_distributions": plots.score_distributions(predictions, chosen),
    }
    plot_paths = plots.save_figures(figures, run.folder.plots)
    tracking.log_artifacts(params, run.run_id, [*plot_paths, metrics_path], folder="evaluation")
    return Evaluated(evaluation, document, figures)


@dataclass(frozen=True)
class Explained:
    """The chosen model's explanations on test, as the train stage saved them."""

    explanation: Any
    reasons: pd.DataFrame
    info: dict
    importance: pd.DataFrame
    top: list[str]


def explain(params: Params, run: Run) -> Explained:
    """Global importance and the most important features of the saved explanations."""
    from scoring.model import explain as explain_module

    explanation, reasons, info = explain_module.load_run(run.folder)
    importance = explain_module.global_importance(explanation)
    top = list(importance["feature"].head(params.explain.top_features))
    return Explained(explanation, reasons, info, importance, top)


@dataclass(frozen=True)
class Thresholded:
    """Each policy's threshold chosen on validation, with its test figures (thresholds.json)."""

    recommendation: Any
    saved: dict
    headline: list[str]


def thresholds(params: Params, run: Run) -> Thresholded:
    """MQL thresholds by policy against today's rules; thresholds.json and the trade-off."""
    from scoring.model import thresholds as thresholds_module
    from scoring.model import training_record
    from scoring.report import report

    predictions, summary = training_record.load_outputs(run.folder)
    recommendation = thresholds_module.recommend(
        predictions,
        summary["chosen_model"],
        params.thresholds,
        thresholds_module.rules_threshold(params.baseline),
        params.models.bootstrap_samples,
        params.seed,
        training_record.load_replay(run.folder),
        inputs.deal_leads(params),
    )
    paths = thresholds_module.save(
        recommendation, params.thresholds, run.folder, outcome_name(params)
    )
    tracking.log_artifacts(params, run.run_id, list(paths.values()), folder="thresholds")
    saved = thresholds_module.load(run.folder)
    headline = report.headline(saved, training_record.load_metrics(run.folder))
    # The notebook shows it as Markdown, where text between two dollar signs is mathematics.
    headline = [line.replace("$", "\\$") for line in headline]
    return Thresholded(recommendation, saved, headline)


@dataclass(frozen=True)
class Pointed:
    """The learned point rules, their threshold in points and their test figures."""

    scorecard: Any
    saved: dict
    lines: list[str]


def points(params: Params, run: Run) -> Pointed:
    """Learn point rules (chosen on the training rows, points fitted on every row before the
    test window), choose their MQL threshold on validation and measure them on test;
    points_rules.csv, .json and .md."""
    from scoring.model import points as points_module
    from scoring.model import points_page, training_record

    predictions, summary = training_record.load_outputs(run.folder)
    features = run.features(params)
    ids = run.inputs(params).dataset.lead_ids.to_numpy()
    if len(ids) != len(predictions) or not np.array_equal(ids, predictions["lead_id"].to_numpy()):
        from scoring.core.errors import DataContractError

        raise DataContractError(
            f"the input has changed since {run.folder.predictions} was written: train again "
            "(leadscore run) before learning point rules from it"
        )
    card, _, evaluation = points_module.build(
        features,
        predictions,
        summary["features"],
        summary["chosen_model"],
        params,
    )
    saved = points_module.document(card, evaluation, params.points)
    paths = points_page.save(saved, card.table, summary["label"]["meaning"], run.folder)
    tracking.log_artifacts(params, run.run_id, list(paths.values()), folder="points")
    tracking.log_metrics(params, run.run_id, points_page.flat_metrics(saved))
    return Pointed(card, saved, points_page.summary_lines(saved))


def export(params: Params, run: Run) -> dict:
    """Complete the artifact, check it reproduces the run, register and store it (export.json)."""
    from scoring.jobs import export as export_module

    return export_module.export_run(run.folder, params, run.features(params))
