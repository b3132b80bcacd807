"""Why leads score as they do: SHAP contributions, fit versus intent, reasons in business words.

For LightGBM the contributions are LightGBM's own TreeSHAP (`pred_contrib`, identical to shap's
TreeExplainer and no slower); for logistic regression they are exact linear SHAP values against
the training mean. Both are in log-odds of the uncalibrated model; calibration is monotone, so
the signs and the ranking of reasons carry over to the calibrated probability.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV

from scoring.io import runfolder
from scoring.io.runfolder import RunFolder
from scoring.model.calibration import CalibratedModel, fitted_pipeline
from scoring.runtime.reasons import top_reasons, yes_no_wording

SOURCE_PATTERN = re.compile(r"source|campaign|channel|medium|utm", re.IGNORECASE)
INTENT_PATTERN = re.compile(
    r"page|visit|view|form|demo|contact_sales|download|webinar|email|click|open|event|trial|"
    r"unsubscribe|activit|active_days|days_since|time (spent|on)|website|session",
    re.IGNORECASE,
)
# A contact preference is who the lead is, not what it did ("Do Not Email", "Opt-out").
PREFERENCE_PATTERN = re.compile(r"\bdo not\b|do_not|opt.?(out|in)|consent", re.IGNORECASE)
FIT_GRADES = ("A", "B", "C", "D")
INTENT_GRADES = ("1", "2", "3", "4")


@dataclass(frozen=True)
class Explanation:
    """Contributions per lead and feature, with the values they explain."""

    contributions: pd.DataFrame  # leads x features, log-odds
    base_value: float
    values: pd.DataFrame  # the features as the model saw them
    families: dict[str, str]  # feature -> fit | intent | source


# A number that is zero for at least this share of leads and never negative counts what
# leads did (visits, minutes on the site, emails opened): most leads did nothing yet.
ACTIVITY_ZERO_SHARE = 0.2


def feature_family(name: str, values: pd.Series | None = None) -> str:
    """fit (who the lead is), intent (what it did) or source (how it came in).

    By the data first: a number never below zero and zero for many leads counts what leads
    did, whatever its name; a number is never a source (a bank's "campaign" counts calls).
    The name decides what data cannot tell: how a lead came in (source, campaign), a contact
    preference ("Do Not Email": fit), and the meaning of categories, flags and timings
    ("Last Activity", "Demo Requested", days since the last visit).
    """
    number = (
        values is not None
        and pd.api.types.is_numeric_dtype(values)
        and not pd.api.types.is_bool_dtype(values)
        and values.dropna().nunique() > 2
    )
    if PREFERENCE_PATTERN.search(name):
        return "fit"
    if number and _counts_behaviour(values):
        return "intent"
    if not number and SOURCE_PATTERN.search(name):
        return "source"
    return "intent" if INTENT_PATTERN.search(name) else "fit"


def _counts_behaviour(values: pd.Series) -> bool:
    present = values.dropna()
    return bool(
        len(present) and present.min() >= 0 and (present == 0).mean() >= ACTIVITY_ZERO_SHARE
    )


def feature_families(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's family (`feature_family`), read from these rows (the training rows)."""
    return {column: feature_family(str(column), frame[column]) for column in frame.columns}


def explain(
    model: CalibratedModel | CalibratedClassifierCV,
    X: pd.DataFrame,
    train_X: pd.DataFrame | None = None,
) -> Explanation:
    """SHAP contributions of a fitted (calibrated) LightGBM or logistic pipeline on X; for a
    log-odds blend, the weighted sum of its members' (SHAP is additive)."""
    if isinstance(model, CalibratedModel) and model.is_blend:
        members = [
            (weight, _explain_pipeline(model.pipelines[name], X, train_X))
            for name, weight in model.weights.items()
        ]
        return Explanation(
            contributions=sum(w * e.contributions for w, e in members),
            base_value=float(sum(w * e.base_value for w, e in members)),
            values=X,
            families=feature_families(train_X if train_X is not None else X),
        )
    return _explain_pipeline(fitted_pipeline(model), X, train_X)


def _explain_pipeline(
    pipeline, X: pd.DataFrame, train_X: pd.DataFrame | None = None
) -> Explanation:
    prep, estimator = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    if hasattr(estimator, "booster_"):
        raw = estimator.booster_.predict(prep.transform(X), pred_contrib=True)
        contributions = pd.DataFrame(raw[:, :-1], columns=list(X.columns), index=X.index)
        base = float(raw[0, -1]) if len(raw) else 0.0
    else:
        design = prep.transform(X)
        reference = prep.transform(train_X if train_X is not None else X).mean(axis=0)
        weights = estimator.coef_[0]
        parts = (design - reference) * weights
        names = prep.get_feature_names_out()
        owner = [_owner(name, list(X.columns)) for name in names]
        contributions = (
            pd.DataFrame(parts, columns=owner, index=X.index)
            .T.groupby(level=0)
            .sum()
            .T.reindex(columns=X.columns, fill_value=0.0)
        )
        base = float(estimator.intercept_[0] + reference @ weights)
    return Explanation(
        contributions=contributions,
        base_value=base,
        values=X,
        families=feature_families(train_X if train_X is not None else X),
    )


def _owner(transformed: str, columns: list[str]) -> str:
    """The input column a transformed column (numeric__x, categorical__x_level) came from."""
    name = transformed.split("__", 1)[-1]
    matches = [c for c in columns if name == c or name.startswith(f"{c}_")]
    return max(matches, key=len) if matches else name


def global_importance(explanation: Explanation) -> pd.DataFrame:
    """Mean |contribution| per feature, with its family, largest first."""
    importance = explanation.contributions.abs().mean().sort_values(ascending=False)
    return pd.DataFrame(
        {
            "feature": importance.index,
            "mean_abs_contribution": importance.values,
            "family": [explanation.families[f] for f in importance.index],
        }
    )


def family_scores(explanation: Explanation) -> pd.DataFrame:
    """Each lead's contributions summed by family (fit, intent, source)."""
    return (
        explanation.contributions.T.groupby(explanation.families)
        .sum()
        .T.reindex(columns=["fit", "intent", "source"], fill_value=0.0)
    )


def grade_edges(scores: pd.Series, grades: int = 4) -> list[float]:
    """Quantile edges (chosen on validation) splitting scores into equal-sized grades."""
    return list(np.quantile(scores, np.linspace(0, 1, grades + 1)[1:-1]))


def fit_intent_matrix(
    scores: pd.DataFrame, label: pd.Series, fit_edges: list[float], intent_edges: list[float]
) -> pd.DataFrame:
    """Leads and conversion per fit grade (A best) x intent grade (1 best)."""
    fit = np.array(FIT_GRADES)[::-1][np.searchsorted(fit_edges, scores["fit"], side="right")]
    intent = np.array(INTENT_GRADES)[::-1][
        np.searchsorted(intent_edges, scores["intent"], side="right")
    ]
    frame = pd.DataFrame({"fit": fit, "intent": intent, "label": label.to_numpy()})
    table = frame.groupby(["fit", "intent"])["label"].agg(leads="size", conversion="mean")
    return table.reset_index()


def reason_codes(explanation: Explanation, wording: dict[str, str], top: int = 3) -> pd.DataFrame:
    """Per lead, the top positive and top negative reasons in words, with their contribution."""
    return top_reasons(
        explanation.contributions.to_numpy(dtype=float),
        explanation.values,
        list(explanation.contributions.columns),
        wording,
        top,
    ).set_axis(explanation.contributions.index.rename("index"))


def _booleans(dataset) -> list[str]:
    """An export's yes/no fields (features read as 1/0), by the types the run found."""
    columns = getattr(dataset, "columns", None)
    if columns is None or "kind" not in columns:
        return []
    return columns.loc[columns["kind"] == "boolean", "column"].tolist()


def explain_run(result, dataset, params) -> dict:
    """Explanations of the chosen model for validation and test leads, ready to save:
    contributions, reasons (test), fit/intent grade edges (validation), importance."""
    split = result.split.assignment.to_numpy()
    X = dataset.features[result.feature_columns]
    rows = np.isin(split, ("valid", "test"))
    explanation = explain(result.models[result.chosen_model], X[rows], X[split == "train"])
    scores = family_scores(explanation)
    in_valid = split[rows] == "valid"
    edges = {
        "fit": grade_edges(scores.loc[in_valid, "fit"]),
        "intent": grade_edges(scores.loc[in_valid, "intent"]),
    }
    test_only = Explanation(
        explanation.contributions[~in_valid],
        explanation.base_value,
        explanation.values[~in_valid],
        explanation.families,
    )
    return {
        "explanation": test_only,
        "reasons": reason_codes(
            test_only, {**yes_no_wording(_booleans(dataset)), **params.wording}
        ),
        "scores": scores[~in_valid],
        "edges": edges,
        "importance": global_importance(test_only),
    }


def save_run(outputs: dict, result, dataset, run: RunFolder) -> dict[str, str]:
    """Write explanations into the run folder (parquet and JSON, no pickles)."""
    explanation = outputs["explanation"]
    index = explanation.contributions.index
    ids = dataset.lead_ids.loc[index].to_numpy()
    label = dataset.label.loc[index].to_numpy()
    paths = {
        "contributions": run.shap_contributions,
        "values": run.shap_values,
        "reasons": run.reasons,
        "explain": run.explain,
    }
    explanation.contributions.assign(lead_id=ids).to_parquet(paths["contributions"])
    explanation.values.assign(lead_id=ids, label=label).to_parquet(paths["values"])
    outputs["reasons"].assign(lead_id=ids, label=label).join(outputs["scores"]).to_parquet(
        paths["reasons"]
    )
    run.write(
        runfolder.EXPLAIN,
        {
            "model": result.chosen_model,
            "base_value": explanation.base_value,
            "families": explanation.families,
            "grade_edges": outputs["edges"],
            "importance": outputs["importance"].to_dict(orient="records"),
        },
    )
    return {k: str(v) for k, v in paths.items()}


def load_run(run: RunFolder) -> tuple[Explanation, pd.DataFrame, dict]:
    """The explanations a run saved: (explanation, reasons, explain.json)."""
    info = run.read(runfolder.EXPLAIN)
    contributions = pd.read_parquet(run.shap_contributions).drop(columns="lead_id")
    values = pd.read_parquet(run.shap_values)
    reasons = pd.read_parquet(run.reasons)
    explanation = Explanation(
        contributions,
        info["base_value"],
        values.drop(columns=["lead_id", "label"]),
        info["families"],
    )
    return explanation, reasons, info


def interactions(explanation: Explanation, features: list[str]) -> pd.DataFrame:
    """For each feature, the other feature that best explains the spread of its contribution
    (shap's approximate_interactions on label-encoded values)."""
    import shap

    encoded = explanation.values.apply(
        lambda c: c if pd.api.types.is_numeric_dtype(c) else c.astype("category").cat.codes
    )
    names = list(explanation.values.columns)
    rows = []
    for feature in features:
        order = shap.utils.approximate_interactions(
            names.index(feature),
            explanation.contributions[names].to_numpy(),
            encoded[names].to_numpy(dtype=float),
        )
        rows.append(
            {
                "feature": feature,
                "strongest_interaction": names[order[0]],
                "second": names[order[1]] if len(order) > 1 else None,
            }
        )
    return pd.DataFrame(rows)
