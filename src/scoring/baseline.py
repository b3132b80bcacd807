"""Today's points rules as a scorer: the baseline every model must beat."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd

from scoring.config import BaselineParams, Rule

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
