"""Point rules applied to leads: today's rules (the baseline every model must beat) and the
learned rules an artifact carries (points columns at scoring time)."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd

from scoring.core.config import BaselineParams, Rule

_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


class BaselineError(ValueError):
    """A rule refers to a field the features do not have, or compares it wrongly."""


def normalised_text(values: pd.Series) -> pd.Series:
    """Text as rules compare it: trimmed and lower case (exports spell one value many ways)."""
    return values.astype("string").str.strip().str.lower()


def rule_matches(rule: Rule, features: pd.DataFrame) -> pd.Series:
    """Which leads a rule gives its points to (missing values never match)."""
    if rule.field not in features.columns:
        raise BaselineError(
            f"baseline rule {rule.name!r} uses field {rule.field!r}, which is not a feature; "
            f"available: {', '.join(sorted(features.columns))}"
        )
    values = features[rule.field]
    if not pd.api.types.is_numeric_dtype(values):
        # Text compares case-insensitively, as exports spell the same value many ways.
        values = normalised_text(values)
        rule = rule.model_copy(update={"value": _lower(rule.value)})
    if rule.op in ("in", "not_in"):
        if not isinstance(rule.value, list):
            raise BaselineError(
                f"baseline rule {rule.name!r}: op {rule.op!r} needs a list value "
                f"(found {rule.value!r})"
            )
        hit = values.isin(rule.value)
        hit = hit if rule.op == "in" else ~hit
    else:
        try:
            hit = _COMPARE[rule.op](values, rule.value)
        except TypeError as err:
            raise BaselineError(
                f"baseline rule {rule.name!r}: cannot compare {rule.field!r} "
                f"with {rule.value!r}: {err}"
            ) from None
    return (hit & values.notna()).astype(bool)


def _lower(value):
    if isinstance(value, list):
        return [_lower(v) for v in value]
    return value.strip().lower() if isinstance(value, str) else value


def points(features: pd.DataFrame, params: BaselineParams) -> pd.Series:
    """Each lead's points under the rules (section `baseline` of params.yaml)."""
    total = pd.Series(0.0, index=features.index)
    for rule in params.rules:
        total += np.where(rule_matches(rule, features), rule.points, 0.0)
    return total.rename("baseline_points")


def points_by_kind(features: pd.DataFrame, params: BaselineParams) -> pd.DataFrame:
    """Fit and behaviour points separately (how ops reads a score)."""
    out = {}
    for kind in ("fit", "behaviour"):
        rules = [r for r in params.rules if r.kind == kind]
        out[kind] = points(
            features, BaselineParams(mql_threshold=params.mql_threshold, rules=rules)
        )
    return pd.DataFrame(out)


def is_mql(features: pd.DataFrame, params: BaselineParams) -> pd.Series:
    """Whether today's rules make the lead an MQL."""
    return points(features, params) >= params.mql_threshold


def scored(features: pd.DataFrame, rules: list[Rule]) -> pd.DataFrame:
    """Each lead's learned points: fit, behaviour and their total."""
    both = points_by_kind(features, BaselineParams(rules=rules))
    both["points"] = both["fit"] + both["behaviour"]
    return both


def points_columns(features: pd.DataFrame, document: dict) -> pd.DataFrame:
    """points_fit, points_behaviour, points and points_mql for scored rows (artifact rules)."""
    both = scored(features, rules_from(document))
    return pd.DataFrame(
        {
            "points_fit": both["fit"].round().astype("Int64"),
            "points_behaviour": both["behaviour"].round().astype("Int64"),
            "points": both["points"].round().astype("Int64"),
            "points_mql": pd.array(
                both["points"] >= document["mql_threshold_points"], dtype="boolean"
            ),
        },
        index=features.index,
    )


def rules_from(saved: dict) -> list[Rule]:
    """The rules of a points_rules.json document."""
    return [
        Rule(
            name=r["rule"],
            kind=r["kind"],
            field=r["field"],
            op=r["op"],
            value=r["value"],
            points=float(r["points"]),
        )
        for r in saved["rules"]
    ]
