import pandas as pd
import pytest

from scoring.core.config import BaselineParams, Rule
from scoring.runtime.rules import BaselineError, is_mql, points, points_by_kind


def _params(*rules: Rule, threshold: float = 40) -> BaselineParams:
    return BaselineParams(mql_threshold=threshold, rules=list(rules))


FEATURES = pd.DataFrame(
    {
        "seniority": ["vp", "individual", None],
        "demo_requests": [1, 0, 2],
        "pricing_views_7d": [3, 5, 0],
    }
)
TITLE = Rule(
    name="ICP title", kind="fit", field="seniority", op="in", value=["vp", "c_level"], points=20
)
DEMO = Rule(name="Demo", kind="behaviour", field="demo_requests", op=">=", value=1, points=30)
PRICING = Rule(
    name="Pricing", kind="behaviour", field="pricing_views_7d", op=">=", value=3, points=15
)


def test_points_add_up_per_rule():
    assert points(FEATURES, _params(TITLE, DEMO, PRICING)).tolist() == [65, 15, 30]
    kinds = points_by_kind(FEATURES, _params(TITLE, DEMO, PRICING))
    assert kinds["fit"].tolist() == [20, 0, 0] and kinds["behaviour"].tolist() == [45, 15, 30]
    assert is_mql(FEATURES, _params(TITLE, DEMO, PRICING)).tolist() == [True, False, False]


def test_not_in_and_missing_values():
    rule = Rule(
        name="Not IC", kind="fit", field="seniority", op="not_in", value=["individual"], points=5
    )
    assert points(FEATURES, _params(rule)).tolist() == [5, 0, 0]  # missing never matches


def test_unknown_field_names_the_rule_and_the_fields():
    rule = Rule(name="Budget", kind="fit", field="budget", op=">", value=1, points=5)
    with pytest.raises(BaselineError, match=r"'Budget' uses field 'budget'.*available:.*seniority"):
        points(FEATURES, _params(rule))


def test_list_operator_needs_a_list():
    rule = Rule(name="Bad", kind="fit", field="seniority", op="in", value="vp", points=5)
    with pytest.raises(BaselineError, match="needs a list"):
        points(FEATURES, _params(rule))


def test_project_rules_apply_to_generated_features(small_dataset):
    params, _, dataset = small_dataset
    scored = points(dataset.features, params.baseline)
    assert scored.nunique() > 5 and (scored >= params.baseline.mql_threshold).any()
