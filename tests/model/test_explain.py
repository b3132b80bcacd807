"""SHAP contributions, fit/intent families and reason codes on the small generated CRM."""

import numpy as np
import pandas as pd
import pytest

from scoring.model import explain
from scoring.model.calibration import fitted_pipeline
from scoring.runtime.reasons import describe


@pytest.fixture(scope="module")
def fitted(small_training):
    _, dataset, result = small_training
    X = dataset.features[result.feature_columns]
    test = (result.split.assignment == "test").to_numpy()
    train_rows = (result.split.assignment == "train").to_numpy()
    return result, X[test].head(300), X[train_rows]


@pytest.mark.parametrize("model", ["lightgbm", "logistic"])
def test_contributions_add_up_to_the_raw_score(fitted, model):
    result, X, X_train = fitted
    explanation = explain.explain(result.models[model], X, X_train)
    pipeline = fitted_pipeline(result.models[model])
    raw = pipeline.named_steps["model"]
    design = pipeline.named_steps["prep"].transform(X)
    margin = (
        raw.booster_.predict(design, raw_score=True)
        if model == "lightgbm"
        else raw.decision_function(design)
    )
    total = explanation.contributions.sum(axis=1).to_numpy() + explanation.base_value
    np.testing.assert_allclose(total, margin, atol=1e-8)


def test_reasons_agree_in_sign_and_are_business_words(fitted):
    result, X, X_train = fitted
    explanation = explain.explain(result.models["lightgbm"], X, X_train)
    reasons = explain.reason_codes(explanation, wording={})
    for index, row in reasons.head(100).iterrows():
        for kind, sign in (("up", 1), ("down", -1)):
            for rank in (1, 2, 3):
                feature = row[f"{kind}_{rank}_feature"]
                if feature is None:
                    continue
                assert np.sign(explanation.contributions.at[index, feature]) == sign
                text = row[f"{kind}_{rank}"]
                assert feature not in text, f"raw column name in {text!r}"
                assert "_" not in text


def test_params_wording_wins():
    assert (
        describe("demo_requests", 2, {"demo_requests": "Asked for a demo ({value}x)"})
        == "Asked for a demo (2x)"
    )
    assert describe("page_pricing_7d", 3, {}) == "3 pricing page visits in the last 7 days"
    assert describe("seniority", "c_level", {}) == "Seniority: C-level"
    assert describe("days_since_last_activity", np.nan, {}) == "No activity yet"


def test_families_and_the_fit_intent_matrix(fitted):
    result, X, X_train = fitted
    explanation = explain.explain(result.models["lightgbm"], X, X_train)
    assert explanation.families["industry"] == "fit"
    assert explanation.families["page_pricing_7d"] == "intent"
    assert explanation.families["lead_source"] == "source"
    scores = explain.family_scores(explanation)
    label = pd.Series(np.zeros(len(scores), dtype=int))
    matrix = explain.fit_intent_matrix(
        scores, label, explain.grade_edges(scores["fit"]), explain.grade_edges(scores["intent"])
    )
    assert matrix["leads"].sum() == len(scores)
    assert set(matrix["fit"]) <= set("ABCD") and set(matrix["intent"]) <= set("1234")


def test_top_reasons_word_every_row_as_describe_does():
    from scoring.runtime.reasons import describe, top_reasons

    rng = np.random.default_rng(3)
    n = 400
    values = pd.DataFrame(
        {
            "pricing_views_7d": rng.integers(0, 4, n).astype(float),
            "days_since_last_activity": np.where(rng.random(n) < 0.2, np.nan, rng.random(n) * 9),
            "industry": rng.choice(["software", "retail", "unknown"], n).astype(object),
        }
    )
    contributions = rng.normal(size=(n, 3))
    features = list(values.columns)
    table = top_reasons(contributions, values, features, {}, top=2)
    for kind, sign in (("up", 1), ("down", -1)):
        for rank in (1, 2):
            for row in range(n):
                order = np.argsort(-sign * contributions[row], kind="stable")
                feature = order[rank - 1]
                if sign * contributions[row, feature] <= 0:
                    assert pd.isna(table.at[row, f"{kind}_{rank}"])
                    continue
                expected = describe(features[feature], values.iat[row, feature], {})
                assert table.at[row, f"{kind}_{rank}"] == expected


def test_families_of_export_fields_read_as_a_marketer_would():
    from scoring.model.explain import feature_family

    assert feature_family("Total Time Spent on Website") == "intent"
    assert feature_family("Page Views Per Visit") == "intent"
    assert feature_family("Do Not Email") == "fit"  # a preference, not an action
    assert feature_family("Lead Source") == "source"
    assert feature_family("Industry") == "fit"


def test_families_are_read_from_the_data_before_the_name():
    """A count of what leads did is behaviour whatever it is called; a number is never a
    source (bank-marketing's 'campaign' counts calls); names decide only categories."""
    from scoring.model.explain import feature_families

    rng = np.random.default_rng(2)
    n = 500
    frame = pd.DataFrame(
        {
            "Touches": np.where(rng.random(n) < 0.6, 0, rng.poisson(3, n) + 1),  # no telling name
            "Employees": rng.integers(5, 5000, n),
            "Balance": rng.normal(0, 100, n),  # negatives: not a count
            "campaign": rng.integers(1, 9, n),
            "Lead Source": rng.choice(["web", "event"], n),
            "Last Activity": rng.choice(["Email Opened", "Page Visited"], n),
            "Do Not Email": rng.integers(0, 2, n),
            "Segment": rng.choice(["smb", "mid", "enterprise"], n),
        }
    )
    assert feature_families(frame) == {
        "Touches": "intent",
        "Employees": "fit",
        "Balance": "fit",
        "campaign": "fit",
        "Lead Source": "source",
        "Last Activity": "intent",
        "Do Not Email": "fit",
        "Segment": "fit",
    }
