"""Scheduled retraining: champion against challenger on the same newest window, then promote,
keep, or ask a person.

The challenger is the model a fresh pipeline run just trained and exported. The champion is the
artifact the `champion` link points to. Both score the challenger's test window (the newest
leads with a known outcome, which the challenger never trained on) from the raw data, through
their own artifacts. The challenger replaces the champion only when it passes every gate:

- enough conversions in that window for the comparison to mean something;
- no column newly flagged by the leakage guard (a sign the data changed under us);
- calibration within bounds (expected calibration error on the window);
- test PR-AUC not lower than the champion's by more than `retrain.tolerance`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from scoring.core import stats
from scoring.core.config import Params
from scoring.core.errors import EXIT_AWAITING_APPROVAL, EXIT_KEPT, EXIT_OK
from scoring.core.jsonable import finite
from scoring.data import contract as data
from scoring.data import features, flat
from scoring.io import runfolder
from scoring.io.files import write_text_whole
from scoring.io.runfolder import RunFolder
from scoring.jobs import inputs
from scoring.model.evaluate import expected_calibration_error
from scoring.report import report
from scoring.runtime import activities as scoring_activities
from scoring.runtime import artifact
from scoring.runtime import batch as score
from scoring.runtime.drift import drift_against
from scoring.tracking import registry
from scoring.tracking import runs as tracking

log = logging.getLogger(__name__)

# Exit codes for schedulers (documented in README).
DECISION_CODES = {
    "promoted": EXIT_OK,
    "kept": EXIT_KEPT,
    "awaiting approval": EXIT_AWAITING_APPROVAL,
}


@dataclass
class Gate:
    """One check the challenger must pass."""

    name: str
    passed: bool
    detail: str


@dataclass
class Decision:
    """What the retrain decided and why (written to retrain.json)."""

    decision: str
    challenger_version: int
    champion_version: int | None
    gates: list[Gate]
    comparison: dict
    drift: dict
    reasons: list[str] = field(default_factory=list)
    run_id: str = ""
    decided_at: str = ""

    @property
    def exit_code(self) -> int:
        return DECISION_CODES[self.decision]

    def as_dict(self) -> dict:
        out = asdict(self)
        out["exit_code"] = self.exit_code
        return out


def window_leads(run: RunFolder) -> pd.DataFrame:
    """The challenger's test window: lead_id, label and the challenger's probability."""
    predictions = pd.read_parquet(run.predictions)
    training = run.read(runfolder.TRAINING)
    test = predictions[predictions["split"] == "test"]
    return pd.DataFrame(
        {
            "lead_id": test["lead_id"].astype(str).to_numpy(),
            "label": test["label"].to_numpy(),
            "challenger": test[training["chosen_model"]].to_numpy(),
        }
    )


def artifact_features(loaded: artifact.Artifact, params: Params, lead_ids: pd.Series):
    """Features for these leads as the artifact builds them, from the run's raw data."""
    kind = loaded.preprocessing["source"]
    current = inputs.input_kind(params)
    if kind != current:
        raise ValueError(
            f"the champion ({loaded.path}) was trained on {kind} input but this run reads "
            f"{current} input: they cannot be compared on the same leads"
        )
    if kind == "flat":
        settings = loaded.preprocessing["flat"]
        frame = flat.read_export(params.data.flat.path, settings["missing_values"])
        frame, id_column = flat.with_row_ids(frame, settings["id_column"])
        frame = frame.assign(**{id_column: frame[id_column].astype(str)})
        rows = frame.drop_duplicates(id_column).set_index(id_column)
        rows = rows.loc[lead_ids.to_numpy()].reset_index()
        return score.flat_features(rows, loaded.preprocessing, str(params.data.flat.path))
    tables = data.load_tables(params.data.leads_path, params.data.activities_path)
    leads = tables.leads.assign(lead_id=tables.leads["lead_id"].astype(str))
    rows = leads.drop_duplicates("lead_id").set_index("lead_id").loc[lead_ids.to_numpy()]
    rows = rows.reset_index()
    snapshot = features.snapshot_date(tables)  # the same "now" training used
    # Each lead as of its moment in this run's data (what its label counts from); a model
    # that scores any age is asked at that moment too.
    as_of = snapshot
    if params.label.scoring_moment == "created_plus_days":
        moment = rows["created_at"] + pd.Timedelta(days=params.label.days_after_created)
        as_of = moment.where(moment <= snapshot, snapshot)
    return score.leads_features(
        rows,
        scoring_activities.index_activities(data.activity_frame(tables.activities)),
        loaded.preprocessing,
        as_of,
        "leads",
    )


def paired_difference(
    label: np.ndarray, challenger: np.ndarray, champion: np.ndarray, samples: int, seed: int
) -> dict:
    """PR-AUC and ROC-AUC of both, and the PR-AUC difference with a paired bootstrap interval."""
    counts = stats.resample_counts(
        stats.resample_indices(len(label), samples, np.random.default_rng(seed)), len(label)
    )
    draws = stats.average_precision(*stats.by_score(label, challenger, counts))
    draws = draws - stats.average_precision(*stats.by_score(label, champion, counts))
    low, high = stats.interval(draws)
    pr = {
        "challenger": float(average_precision_score(label, challenger)),
        "champion": float(average_precision_score(label, champion)),
    }
    return {
        "leads": len(label),
        "positives": int(label.sum()),
        "pr_auc": pr,
        "roc_auc": {
            "challenger": float(roc_auc_score(label, challenger)),
            "champion": float(roc_auc_score(label, champion)),
        },
        "pr_auc_diff": {
            "value": pr["challenger"] - pr["champion"],
            "ci": [finite(low), finite(high)],
        },
    }


def gates(
    params: Params,
    window: pd.DataFrame,
    comparison: dict | None,
    challenger_card: dict,
    champion_card: dict | None,
) -> list[Gate]:
    """The checks a challenger must pass (the performance gate only when there is a champion)."""
    settings = params.retrain
    positives = int(window["label"].sum())
    out = [
        Gate(
            "enough positives",
            positives >= settings.min_positives,
            f"{positives} conversions in the newest window (need {settings.min_positives})",
        )
    ]
    flagged = {f["column"] for f in challenger_card.get("leakage_flagged", [])}
    before = {f["column"] for f in (champion_card or {}).get("leakage_flagged", [])}
    new = sorted(flagged - before) if champion_card is not None else []
    out.append(
        Gate(
            "no new leakage flags",
            not new,
            f"newly flagged: {', '.join(new)}" if new else "no column newly flagged",
        )
    )
    ece = expected_calibration_error(window["label"].to_numpy(), window["challenger"].to_numpy())
    out.append(
        Gate(
            "calibration within bounds",
            ece <= settings.max_ece,
            f"expected calibration error {ece:.4f} (bound {settings.max_ece})",
        )
    )
    by_age = [
        band
        for band in challenger_card.get("calibration_by_age", [])
        if band["conversions"] >= settings.min_positives
        and band["predicted_over_realized"] is not None
    ]
    if by_age:  # an any-age model: calibrated at every age the daily job scores
        bound = settings.max_calibration_ratio_by_age
        off = [b for b in by_age if not 1 / bound <= b["predicted_over_realized"] <= bound]
        out.append(
            Gate(
                "calibration by lead age within bounds",
                not off,
                "predicted / realized "
                + ", ".join(f"{b['ages']} {b['predicted_over_realized']:.2f}" for b in by_age)
                + f" (bounds {1 / bound:.2f} to {bound:.2f}, bands with at least "
                f"{settings.min_positives} conversions)",
            )
        )
    if comparison is not None:
        diff = comparison["pr_auc_diff"]["value"]
        out.append(
            Gate(
                "not worse than the champion",
                diff >= -settings.tolerance,
                f"PR-AUC {comparison['pr_auc']['challenger']:.4f} vs champion "
                f"{comparison['pr_auc']['champion']:.4f} (difference {diff:+.4f}, 95% CI "
                f"{_ci(comparison['pr_auc_diff']['ci'])}; tolerance {settings.tolerance})",
            )
        )
    return out


def _ci(ci: list) -> str:
    low, high = ci
    return "n/a" if low is None else f"{low:+.4f} to {high:+.4f}"


@dataclass
class Comparison:
    """What the gates look at: the window, both models' cards and, with a champion, the paired
    comparison on the window."""

    challenger_version: int
    champion_version: int | None
    window: pd.DataFrame
    comparison: dict | None
    drift: dict
    challenger_card: dict
    champion_card: dict | None


def compare(params: Params, run: RunFolder) -> Comparison:
    """Score the challenger's test window with the champion (read from the stored artifacts)."""
    exported = run.read(runfolder.EXPORT)
    challenger_version = int(exported["version"])
    challenger = artifact.load(exported["stored"])
    champion_version = registry.current(params)
    window = window_leads(run)
    if champion_version is None:
        features_frame, _ = artifact_features(challenger, params, window["lead_id"])
        drift_doc = drift_against(challenger, features_frame, window["challenger"].to_numpy())
        return Comparison(challenger_version, None, window, None, drift_doc, challenger.card, None)
    champion = artifact.load(registry.model_root(params) / f"v{champion_version}")
    features_frame, errors = artifact_features(champion, params, window["lead_id"])
    if errors.notna().any():
        raise ValueError(
            f"the champion cannot score {int(errors.notna().sum())} lead(s) of the window; "
            f"e.g. {errors.dropna().iloc[0]}"
        )
    champion_scores = champion.predict_proba(features_frame[champion.features])
    comparison = paired_difference(
        window["label"].to_numpy(),
        window["challenger"].to_numpy(),
        champion_scores,
        params.models.bootstrap_samples,
        params.seed,
    )
    drift_doc = drift_against(champion, features_frame, champion_scores)
    return Comparison(
        challenger_version,
        champion_version,
        window,
        comparison,
        drift_doc,
        challenger.card,
        champion.card,
    )


def decide(params: Params, compared: Comparison, run_id: str, report_path: Path) -> Decision:
    """Promote, keep or ask a person, from the gates alone (no files, no side effects)."""
    checks = gates(
        params,
        compared.window,
        compared.comparison,
        compared.challenger_card,
        compared.champion_card,
    )
    failed = [g for g in checks if not g.passed]
    version = compared.challenger_version
    if failed:
        outcome = "kept"
        reasons = [f"{g.name}: {g.detail}" for g in failed]
        if compared.champion_version is None:
            reasons.append("there is no champion yet: nothing is published")
    elif params.retrain.require_approval:
        outcome = "awaiting approval"
        reasons = [
            f"all gates passed; version {version} is the candidate. After reading "
            f"{report_path}, run: leadscore promote {version}"
        ]
    else:
        outcome = "promoted"
        reasons = ["all gates passed" + ("" if compared.champion_version else " (first champion)")]
    return Decision(
        decision=outcome,
        challenger_version=version,
        champion_version=compared.champion_version,
        gates=checks,
        comparison=compared.comparison or {},
        drift=compared.drift,
        reasons=reasons,
        run_id=run_id,
        decided_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def record(params: Params, decision: Decision, run: RunFolder) -> None:
    """Write retrain.json/.md, rebuild the report with the decision and log both to MLflow."""
    run.write(runfolder.RETRAIN, decision.as_dict())
    write_text_whole(run.retrain_md, markdown(decision))
    if run.thresholds.is_file():
        report.build(run.path)  # the report now shows the decision, gate by gate
    tracking.log_tags(params, run.run_id, {"leadscore.retrain": decision.decision})
    tracking.log_artifacts(
        params, run.run_id, [run.retrain, run.retrain_md, run.report], folder="retrain"
    )


def retrain_decision(params: Params, run: RunFolder) -> Decision:
    """Compare the run's exported challenger with the champion, decide, act and record."""
    decision = decide(params, compare(params, run), run.run_id, run.report)
    act(params, decision)
    record(params, decision, run)
    return decision


def act(params: Params, decision: Decision) -> None:
    """Move aliases for the decision (the old champion's files are never touched)."""
    version = decision.challenger_version
    if decision.decision == "promoted":
        registry.promote(
            params, version, f"retrain {decision.run_id}: {'; '.join(decision.reasons)}"
        )
    elif decision.decision == "awaiting approval":
        registry.set_registry_alias(params, "candidate", version)
        registry.set_alias(params, "candidate", version, f"retrain {decision.run_id}")


def markdown(decision: Decision) -> str:
    """The retrain summary for people and logs."""
    from scoring.runtime import drift

    lines = [
        f"# Retrain {decision.run_id}: {decision.decision}",
        "",
        f"Challenger: version {decision.challenger_version}; champion: "
        + (f"version {decision.champion_version}" if decision.champion_version else "none"),
        "",
        "## Gates",
        *(f"- [{'x' if g.passed else ' '}] {g.name}: {g.detail}" for g in decision.gates),
        "",
        "## Why",
        *(f"- {r}" for r in decision.reasons),
        "",
        "## Drift",
        drift.markdown(decision.drift),
        "",
    ]
    return "\n".join(lines)
