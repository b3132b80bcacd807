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

SOURCE_PATTERN = re.compile(r"source|campaign|channel|medium|utm", re.IGNORECASE)
INTENT_PATTERN = re.compile(
    r"page|visit|view|form|demo|contact_sales|download|webinar|email|click|open|event|trial|"
    r"unsubscribe|activit|active_days|days_since",
    re.IGNORECASE,
)
FIT_GRADES = ("A", "B", "C", "D")
INTENT_GRADES = ("1", "2", "3", "4")
LABELS = {
    "seniority": "Seniority",
    "function": "Department",
    "company_size_band": "Company size",
    "revenue_band": "Annual revenue",
    "industry": "Industry",
    "region": "Region",
    "lead_source": "Lead source",
    "campaign": "Campaign",
}
VALUE_WORDS = {
    "c_level": "C-level",
    "vp": "VP",
    "director": "Director",
    "manager": "Manager",
    "individual": "Individual contributor",
    "student": "Student",
    "it": "IT",
    "hr": "HR",
    "other": "Other",
}
ITEM_WORDS = {
    "page_pricing": "pricing page visits",
    "page_product": "product page visits",
    "page_docs": "documentation visits",
    "page_blog": "blog visits",
    "page_careers": "careers page visits",
    "page_case_study": "case study views",
    "page_home": "home page visits",
    "form_demo_request": "demo requests",
    "form_contact_sales": "contact-sales requests",
    "form_newsletter": "newsletter sign-ups",
    "form_content_gate": "gated content forms",
    "form_webinar_signup": "webinar sign-up forms",
    "content_download": "content downloads",
    "webinar_registered": "webinar registrations",
    "webinar_attended": "webinars attended",
    "email_open": "e-mails opened",
    "email_click": "e-mail clicks",
    "event_attended": "events attended",
    "trial_signup": "trial sign-ups",
    "unsubscribe": "unsubscribes",
    "activities": "activities",
}


@dataclass(frozen=True)
class Explanation:
    """Contributions per lead and feature, with the values they explain."""

    contributions: pd.DataFrame  # leads x features, log-odds
    base_value: float
    values: pd.DataFrame  # the features as the model saw them
    families: dict[str, str]  # feature -> fit | intent | source


def feature_family(name: str) -> str:
    """fit (firmographics), intent (behaviour) or source (how the lead came in)."""
    if SOURCE_PATTERN.search(name):
        return "source"
    if INTENT_PATTERN.search(name):
        return "intent"
    return "fit"


def _unwrap(model: CalibratedClassifierCV):
    from scoring.train import fitted_pipeline

    return fitted_pipeline(model)


def explain(
    model: CalibratedClassifierCV, X: pd.DataFrame, train_X: pd.DataFrame | None = None
) -> Explanation:
    """SHAP contributions of a fitted (calibrated) LightGBM or logistic pipeline on X; for a
    log-odds blend, the weighted sum of its members' (SHAP is additive)."""
    weights = getattr(model, "weights", None)
    if weights:
        members = [
            (weight, _explain_pipeline(model.pipelines[name], X, train_X))
            for name, weight in weights.items()
        ]
        return Explanation(
            contributions=sum(w * e.contributions for w, e in members),
            base_value=float(sum(w * e.base_value for w, e in members)),
            values=X,
            families={c: feature_family(c) for c in X.columns},
        )
    return _explain_pipeline(_unwrap(model), X, train_X)


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
        families={c: feature_family(c) for c in X.columns},
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


def feature_label(feature: str) -> str:
    """A feature's name for people: 'Pricing page visits (7 days)', 'Company size'."""
    if feature in LABELS:
        return LABELS[feature]
    counted = re.fullmatch(r"(.+)_(\d+)d", feature)
    if counted and counted.group(1) in ITEM_WORDS:
        return f"{ITEM_WORDS[counted.group(1)].capitalize()} ({counted.group(2)} days)"
    named = {
        "log_employees": "Employees",
        "log_revenue": "Annual revenue",
        "free_mail": "Free e-mail address",
        "days_since_last_activity": "Days since last activity",
        "active_days_30d": "Active days (30 days)",
        "pricing_views_7d": "Pricing page visits (7 days)",
        "email_click_rate": "E-mail click rate",
    }
    return named.get(feature, feature.replace("_", " ").capitalize())


def describe(feature: str, value, wording: dict[str, str]) -> str:
    """A feature and its value in business words (params wording first, then defaults)."""
    if feature in wording:
        return wording[feature].format(value=value)
    missing = value is None or (isinstance(value, float) and np.isnan(value))
    if feature in LABELS:
        shown = (
            "unknown"
            if missing or value == "unknown"
            else VALUE_WORDS.get(str(value), str(value).replace("_", " "))
        )
        return f"{LABELS[feature]}: {shown}"
    if feature.endswith("_missing"):
        subject = feature.removesuffix("_missing").replace("_", " ")
        return f"{subject.capitalize()} unknown" if value else f"{subject.capitalize()} known"
    if feature == "free_mail":
        return "Free e-mail address" if value else "Business e-mail address"
    if feature == "days_since_last_activity":
        return "No activity yet" if missing else f"Last activity {value:.0f} days ago"
    if feature == "demo_requests":
        return "Requested a demo" if value else "No demo request"
    if feature == "contact_sales_requests":
        return "Asked to talk to sales" if value else "Has not asked to talk to sales"
    if feature == "pricing_views_7d":
        return f"Pricing page visited {value:.0f} times in the last 7 days"
    if feature == "active_days_30d":
        return f"Active on {value:.0f} days in the last 30"
    if feature == "email_click_rate":
        return "No e-mails opened" if missing else f"Clicks {value:.0%} of e-mails opened"
    if feature == "log_employees":
        return "Company size unknown" if missing else f"About {np.expm1(value):,.0f} employees"
    if feature == "log_revenue":
        return "Revenue unknown" if missing else f"About ${np.expm1(value) / 1e6:,.0f}M revenue"
    counted = re.fullmatch(r"(.+)_(\d+)d", feature)
    if counted and counted.group(1) in ITEM_WORDS:
        what = ITEM_WORDS[counted.group(1)]
        amount = 0 if missing else int(value)
        return (
            f"No {what} in the last {counted.group(2)} days"
            if amount == 0
            else f"{amount} {what} in the last {counted.group(2)} days"
        )
    if feature in ("trial_signups", "webinars_attended", "content_downloads", "unsubscribes"):
        return f"{ITEM_WORDS.get(feature.rstrip('s'), feature.replace('_', ' '))}: {value}"
    # Flat exports: the column's own name is the business word.
    return f"{feature}: {'unknown' if missing else value}"


def reason_codes(explanation: Explanation, wording: dict[str, str], top: int = 3) -> pd.DataFrame:
    """Per lead, the top positive and top negative reasons in words, with their contribution."""
    return top_reasons(
        explanation.contributions.to_numpy(dtype=float),
        explanation.values,
        list(explanation.contributions.columns),
        wording,
        top,
    ).set_axis(explanation.contributions.index.rename("index"))


def top_reasons(
    contributions: np.ndarray,
    values: pd.DataFrame,
    features: list[str],
    wording: dict[str, str],
    top: int = 3,
) -> pd.DataFrame:
    """Vectorised reason codes: for every row the `top` strongest contributions up and down,
    as words (up_k, down_k), feature names and contributions. Words are cached per (feature,
    value), so large batches cost little more than their distinct values."""
    from scoring.ranking import top_columns  # compiled (numba): imported when needed

    n = len(contributions)
    columns: dict[str, object] = {}
    cache: dict[tuple[int, object], str] = {}
    value_columns = [values[f].to_numpy(dtype=object) for f in features]
    rows = np.arange(n)
    for kind, sign in (("up", 1.0), ("down", -1.0)):
        order = top_columns(contributions, top, sign)
        for rank in range(top):
            if rank < order.shape[1]:
                index = order[:, rank]
                picked = sign * contributions[rows, index]
            else:
                index, picked = np.zeros(n, dtype=int), np.zeros(n)
            present = picked > 0
            words = np.full(n, None, dtype=object)
            # Worded per feature and distinct value, then spread to every row that has it:
            # the Python work follows the distinct values, not the rows.
            rows_present = np.flatnonzero(present)
            by_feature = np.argsort(index[rows_present], kind="stable")
            ordered = rows_present[by_feature]
            cuts = np.flatnonzero(np.diff(index[ordered])) + 1
            for group in np.split(ordered, cuts) if len(ordered) else []:
                feature = int(index[group[0]])
                codes, uniques = pd.factorize(value_columns[feature][group], use_na_sentinel=True)
                texts = [
                    _worded(cache, features, feature, value, wording)
                    for value in [*uniques, np.nan]  # the last one: missing (code -1)
                ]
                words[group] = np.asarray(texts, dtype=object)[codes]
            names = np.where(present, np.asarray(features, dtype=object)[index], None)
            columns[f"{kind}_{rank + 1}"] = words
            columns[f"{kind}_{rank + 1}_feature"] = names
            columns[f"{kind}_{rank + 1}_contribution"] = np.where(present, picked * sign, np.nan)
    frame = pd.DataFrame(columns, index=values.index)
    ordered = [
        f"{k}_{r + 1}{s}"
        for k in ("up", "down")
        for r in range(top)
        for s in ("", "_feature", "_contribution")
    ]
    return frame[ordered]


def _worded(cache: dict, features: list[str], feature: int, value, wording: dict) -> str:
    """describe(), once per (feature, value)."""
    key = (feature, value if value == value else "nan")
    text = cache.get(key)
    if text is None:
        text = cache[key] = describe(features[feature], value, wording)
    return text


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
        "reasons": reason_codes(test_only, dict(params.wording)),
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
