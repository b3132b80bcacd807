"""Learned point rules: a scorecard in the form marketing platforms score leads with.

Per field, bins a platform can express (ranges for numbers, lists of values for categories,
"at least N in the last D days" for behaviour) are found with optimal binning (monotone for
numbers) on the training rows; each bin is a candidate rule. A logistic regression adds rules
one at a time while they improve validation PR-AUC, within the rule budget; its coefficients,
at a fixed number of points per doubling of the odds, rounded, are the points. The rules are
`config.Rule`s, scored by the same code as today's rules (`runtime.rules.points`), so the CSV ops
type in is the scorecard itself.
As for the models, the rules are chosen on the training rows and their points learn from every
row before the test window; the MQL threshold in points is chosen on validation leads'
out-of-fold points; every figure is reported on test.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.metrics import average_precision_score

from scoring.core import stats
from scoring.core.config import PointsParams, Rule
from scoring.core.jsonable import json_ready
from scoring.model import thresholds
from scoring.model.explain import feature_families, feature_family
from scoring.model.points_crm import crm_condition
from scoring.model.points_evaluation import choose_threshold, evaluate
from scoring.runtime.reasons import LABELS, VALUE_WORDS, feature_label
from scoring.runtime.rules import normalised_text, rule_matches, scored

MIN_IV = 0.02  # fields whose bins say less than this (information value) are not tried
MAX_FIELDS = 100  # fields binned at most: the most informative ones alone (wide exports)
SHORTLIST = 20  # candidate rules per step, by score test, judged on validation PR-AUC
MIN_GAIN = 0.0005  # validation PR-AUC a rule must add to be kept
FIT_C = 10.0  # light regularisation: rare bins keep finite points
POINTS_POLICIES = ("volume_matched", "conversion_target")  # always reported for the rules
MAX_VALUES = 12  # values one category rule may list: a list a person types into a platform
COUNT_EDGES = 100  # whole-number fields below this are counts (x > 2.5 is x >= 3); above, amounts
# How the features spell a blank category ("missing") and leadscore's own group of rare values
# ("other"): neither is a value a person can type into a platform's rule. Blanks get a rule of
# their own ("is empty"); rare values get none.
EMPTY = "missing"
OWN_GROUP = "other"


def empty_token(field_name: str) -> str:
    """How a field's blanks are spelled in the features: "unknown" for leadscore's own
    engineered fields (seniority, department, size band, ...), "missing" for an export's."""
    return "unknown" if field_name in LABELS else EMPTY


class PointsError(ValueError):
    """The points settings name fields the data does not have, or nothing can be learned."""


@dataclass(frozen=True)
class FieldBins:
    """One field's bins on the training rows: numbers as ascending lower edges (bin 0 is
    everything below the first), categories as groups of values."""

    field: str
    numeric: bool
    edges: list[float]
    groups: list[list[str]]
    iv: float
    binary: bool = False  # a yes/no field read as 1/0: its one rule reads "is yes"
    empty: bool = False  # a category field with blanks: they get a rule of their own

    def conditions(self) -> list[tuple[str, Any]]:
        """The rules the bins allow: `>= edge` for numbers (additive steps), `in group` for
        categories, and `is empty` for a category field's blanks (never lumped with values).
        Missing numbers match none of them."""
        if self.numeric:
            return [(">=", int(e) if float(e).is_integer() else e) for e in self.edges]
        rules = [("in", group) for group in self.groups if len(group) <= MAX_VALUES]
        return rules + ([("==", empty_token(self.field))] if self.empty else [])


@dataclass(frozen=True)
class Scorecard:
    """The learned rules, the MQL threshold in points and how they were found."""

    rules: list[Rule]
    threshold: float
    policy: str
    fields: list[str]
    table: pd.DataFrame  # one row a rule, with its training support and conversion
    selection: pd.DataFrame  # the forward selection, one row a step
    notes: list[str] = field(default_factory=list)
    validation: np.ndarray | None = None  # validation leads' out-of-fold points (thresholds)


def _is_numeric(values: pd.Series) -> bool:
    # Booleans count as 0/1: a rule `>= 1` matches True.
    return pd.api.types.is_numeric_dtype(values)


def candidate_fields(features: pd.DataFrame, columns: list[str], params: PointsParams) -> list[str]:
    """The fields the rules may use: `points.fields` (or every model feature) without
    `points.exclude_fields` and never a date (an activity timestamp is no platform field)."""
    if params.fields:
        unknown = [f for f in params.fields if f not in features.columns]
        if unknown:
            raise PointsError(
                f"points.fields names {unknown}, which are not features; the features are: "
                + ", ".join(features.columns)
            )
        chosen = list(params.fields)
    else:
        chosen = list(columns)
    excluded = set(params.exclude_fields)
    out = [
        f
        for f in chosen
        if f not in excluded and not pd.api.types.is_datetime64_any_dtype(features[f])
    ]
    if not out:
        raise PointsError("no field is left for the point rules: check points.fields")
    return out


def most_informative(train: pd.DataFrame, label: np.ndarray, keep: int) -> list[str]:
    """The `keep` fields whose values alone best separate converting leads on the training rows
    (single-field ROC-AUC away from 0.5; categories by their smoothed conversion rate), in
    their order: optimal binning of 2,000 columns would take minutes and find the same few."""
    if train.shape[1] <= keep:
        return list(train.columns)
    strength = {}
    base = float(label.mean()) if len(label) else 0.0
    for name in train.columns:
        values = train[name]
        if _is_numeric(values):
            score = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
        else:
            text = normalised_text(values).fillna("(missing)")
            grouped = pd.Series(label).groupby(text.to_numpy())
            rate = (grouped.sum() + 20 * base) / (grouped.count() + 20)
            score = text.map(rate).to_numpy(dtype=float)
        score = np.where(np.isnan(score), np.nanmin(score, initial=0.0) - 1, score)
        strength[name] = abs(stats.auc(label, score) - 0.5)
    chosen = set(sorted(strength, key=lambda n: -strength[n])[:keep])
    return [n for n in train.columns if n in chosen]


def bin_field(values: pd.Series, label: np.ndarray, params: PointsParams) -> FieldBins | None:
    """Optimal bins of one field on training rows, monotone for numbers (None when the field
    has a single bin)."""
    from optbinning import OptimalBinning

    name = str(values.name)
    numeric = _is_numeric(values)
    if numeric:
        data = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    else:
        text = normalised_text(values)
        blank = empty_token(name)
        untypable = text.isin([blank, OWN_GROUP]) | values.isna()
        data = text.astype(object).where(~untypable, np.nan).to_numpy()
        empty = bool((text == blank).mean() >= params.min_bin_share)
    if pd.isna(data).all():
        return None
    binning = OptimalBinning(
        name=name,
        dtype="numerical" if numeric else "categorical",
        max_n_bins=params.max_bins,
        min_bin_size=params.min_bin_share,
        monotonic_trend="auto_asc_desc" if numeric else None,
    )
    # optbinning warns about its own pandas use (dtype changes); nothing a user can act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        binning.fit(data, label)
        if binning.status not in ("OPTIMAL", "FEASIBLE") or len(binning.splits) == 0:
            return None
        iv = float(binning.binning_table.build().loc["Totals", "IV"])
    if numeric:
        edges = _readable_edges(np.asarray(binning.splits, dtype=float), data, name)
        binary = bool(np.isin(data[~np.isnan(data)], (0.0, 1.0)).all())
        return FieldBins(name, True, edges, [], iv, binary) if edges else None
    groups = [sorted(str(v) for v in group) for group in binning.splits]
    return FieldBins(name, False, [], groups, iv, empty=empty)


def _readable_edges(splits: np.ndarray, data: np.ndarray, name: str) -> list[float]:
    """Edges a person types: whole numbers for counts, 2 significant digits for amounts (in
    the field's own units: employees, not their logarithm)."""
    present = data[~np.isnan(data)]
    if name.startswith("log_"):
        edges = [float(np.log1p(_significant(a))) for a in np.expm1(splits)]
    elif np.all(present == np.round(present)):
        # Counts get the next whole number (x > 2.5 is x >= 3); larger whole amounts (revenue,
        # employees) 2 significant digits, as a person would type them.
        edges = [float(math.floor(s) + 1) if s < COUNT_EDGES else _significant(s) for s in splits]
    else:
        edges = [_significant(s) for s in splits]
    # An edge at or below the smallest value (or above the largest) makes an empty bin.
    return [e for e in sorted(set(edges)) if present.min() < e <= present.max()]


def _significant(value: float, digits: int = 2) -> float:
    if value == 0 or not np.isfinite(value):
        return float(value)
    return float(round(value, digits - 1 - math.floor(math.log10(abs(value)))))


def candidate_rules(
    features: pd.DataFrame, bins: list[FieldBins], families: dict[str, str] | None = None
) -> tuple[list[Rule], np.ndarray]:
    """Every rule the bins allow (0 points for now) and which leads each matches (leads x
    rules); a rule matching the same leads as an earlier one is left out. A rule counts to
    the behaviour score when its field is what the lead did or how it came in (`families`,
    read from the training rows), else to the fit score."""
    families = families or {}
    rules, columns, seen = [], [], set()
    for found in bins:
        family = families.get(found.field) or feature_family(found.field)
        kind = "fit" if family == "fit" else "behaviour"
        for op, value in found.conditions():
            rule = Rule(
                name=condition(found.field, op, value, found.binary),
                kind=kind,
                field=found.field,
                op=op,
                value=value,
                points=0.0,
            )
            hit = rule_matches(rule, features).to_numpy()
            key = hit.tobytes()
            if key in seen or not hit.any() or hit.all():
                continue
            seen.add(key)
            rules.append(rule)
            columns.append(hit)
    matrix = (
        np.column_stack(columns).astype(np.float64) if columns else np.empty((len(features), 0))
    )
    return rules, matrix


@dataclass(frozen=True)
class Logistic:
    """A fitted logistic regression on rule indicators: intercept and one weight a rule."""

    intercept: float
    coef: np.ndarray

    def decision(self, matrix: np.ndarray) -> np.ndarray:
        return matrix @ self.coef + self.intercept


def _fit(matrix: np.ndarray, label: np.ndarray, start: np.ndarray | None = None) -> Logistic:
    """L2-penalised logistic regression (scikit-learn's objective at C=FIT_C, intercept not
    penalised) by Newton's method: a few hundred fits of at most max_rules columns run in a
    fraction of lbfgs's time. `start` (intercept then weights) warm-starts it."""
    n, k = matrix.shape
    design = np.column_stack([np.ones(n), matrix])
    penalty = np.r_[0.0, np.full(k, 1.0 / FIT_C)]
    if start is None:
        rate = np.clip(label.mean(), 1e-6, 1 - 1e-6)
        start = np.r_[np.log(rate / (1 - rate)), np.zeros(k)]
    weights = np.asarray(start, dtype=float).copy()

    def objective(w: np.ndarray) -> float:
        z = design @ w
        return float(np.sum(np.logaddexp(0, z) - label * z) + 0.5 * penalty @ (w * w))

    current = objective(weights)
    for _ in range(100):
        probability = expit(design @ weights)
        gradient = design.T @ (probability - label) + penalty * weights
        hessian = (design * (probability * (1 - probability))[:, None]).T @ design
        step = np.linalg.solve(hessian + np.diag(penalty) + 1e-10 * np.eye(k + 1), gradient)
        size = 1.0
        while size > 1e-4:  # halve a step that does not lower the objective
            trial = objective(weights - size * step)
            if trial <= current:
                break
            size /= 2
        weights -= size * step
        improved, current = current - trial, trial
        if np.max(np.abs(size * step)) < 1e-8 or improved < 1e-10 * max(1.0, abs(current)):
            break
    return Logistic(float(weights[0]), weights[1:])


def select_rules(
    matrix: np.ndarray,
    label: np.ndarray,
    is_train: np.ndarray,
    is_valid: np.ndarray,
    names: list[str],
    max_rules: int,
) -> tuple[list[int], pd.DataFrame]:
    """Forward selection of single rules: each step shortlists the SHORTLIST rules whose score
    test on the training rows is largest, and keeps the one that most improves validation
    PR-AUC; it stops at the budget or when no rule adds MIN_GAIN."""
    train, y_train = matrix[is_train], label[is_train]
    valid, y_valid = matrix[is_valid], label[is_valid]
    chosen: list[int] = []
    model: Logistic | None = None
    probability = np.full(len(y_train), y_train.mean())
    best, steps = float(y_valid.mean()), []
    while len(chosen) < max_rules:
        residual, weight = y_train - probability, probability * (1 - probability)
        score = (train.T @ residual) ** 2 / (train.T @ weight + 1e-12)
        score[chosen] = -np.inf
        tried = {}
        for j in np.argsort(-score)[:SHORTLIST]:
            if not np.isfinite(score[j]):
                continue
            columns = [*chosen, int(j)]
            start = None if model is None else np.r_[model.intercept, model.coef, 0.0]
            fitted = _fit(train[:, columns], y_train, start)
            tried[int(j)] = (
                average_precision_score(y_valid, fitted.decision(valid[:, columns])),
                fitted,
            )
        if not tried:
            break
        j = max(tried, key=lambda k: tried[k][0])
        if tried[j][0] < best + MIN_GAIN:
            break
        best, model = tried[j]
        chosen.append(j)
        probability = expit(model.decision(train[:, chosen]))
        steps.append({"step": len(chosen), "rule": names[j], "valid_pr_auc": best})
    return chosen, pd.DataFrame(steps, columns=["step", "rule", "valid_pr_auc"])


def _round(points: np.ndarray, step: int) -> np.ndarray:
    return np.round(points / step) * step


def condition(field_name: str, op: str, value, binary: bool = False) -> str:
    """A rule's condition in words, in the field's own units."""
    label = feature_label(field_name)
    if op == "in":
        # Engineered categories have words (C-level, IT); an export's values stay as written.
        words = [
            VALUE_WORDS.get(v, v.replace("_", " ")) if field_name in LABELS and v != "other" else v
            for v in value
        ]
        return f"{label} is {_or_list(words)}"
    if op == "not_in":  # an export's field: the values no other rule of it names
        named = [v for v in value if v != empty_token(field_name)]
        return f"{label} is not empty and none of: {', '.join(_quoted(named))}"
    if field_name.startswith("log_"):
        amount = float(np.expm1(value))
        shown = f"${amount / 1e6:,.3g}M" if "revenue" in field_name else f"{amount:,.0f}"
        return f"{label} at least {shown}"
    if field_name.endswith("_missing") and value == 1:
        return f"{feature_label(field_name.removesuffix('_missing'))} is empty"
    if op == "==" and value == empty_token(field_name):
        return f"{label} is empty"
    if field_name == "free_mail" and value == 1:
        return "Free e-mail address (gmail, outlook, ...)"
    if binary and value == 1:
        return f"{label} is yes"
    return (
        f"{label} at least {value:,}" if isinstance(value, int) else f"{label} at least {value:g}"
    )


def _quoted(words: list[str]) -> list[str]:
    """A value holding a comma or ' or ' quoted ("manager, finance"), so a list reads one way."""
    return [f'"{w}"' if "," in w or " or " in w else w for w in words]


def _or_list(words: list[str]) -> str:
    """'a, b or c'."""
    words = _quoted(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def learn(
    features: pd.DataFrame,
    label: pd.Series,
    assignment: pd.Series,
    columns: list[str],
    params: PointsParams,
    seed: int,
) -> tuple[list[Rule], pd.DataFrame, list[str], np.ndarray]:
    """The models' recipe for point rules: bins and rules chosen on the training rows (judged
    on validation), points fitted on every row before the test window; with each validation
    lead's out-of-fold points on the same scale, to choose thresholds on.
    (rules, selection steps, notes, validation points in row order)"""
    is_train = (assignment == "train").to_numpy()
    is_valid = (assignment == "valid").to_numpy()
    y = label.to_numpy().astype(int)
    bins = []
    fields = candidate_fields(features, columns, params)
    for name in most_informative(features.loc[is_train, fields], y[is_train], MAX_FIELDS):
        found = bin_field(features.loc[is_train, name], y[is_train], params)
        if found is not None and found.iv >= MIN_IV:
            bins.append(found)
    families = feature_families(features.loc[is_train, [found.field for found in bins]])
    candidates, matrix = candidate_rules(features, bins, families)
    if not candidates:
        raise PointsError("no field separates converting leads on the training rows")
    chosen, selection = select_rules(
        matrix, y, is_train, is_valid, [r.name for r in candidates], params.max_rules
    )
    if not chosen:
        raise PointsError(
            "no rule improves validation PR-AUC: the data holds no point rule worth typing in"
        )
    chosen, _, notes = _monotone(chosen, candidates, matrix[is_train], y[is_train])
    # Like the models: the rules are chosen; their points learn from the newest rows too.
    is_pre = is_train | is_valid
    chosen, model, more = _monotone(chosen, candidates, matrix[is_pre], y[is_pre])
    notes += more
    steps = _whole_points(model.coef, params)
    zero = [candidates[j].name for j, p in zip(chosen, steps, strict=True) if p == 0]
    if zero:
        notes.append(f"rules whose points round to 0 are left out: {'; '.join(zero)}")
    rules = [
        candidates[j].model_copy(update={"points": float(p)})
        for j, p in zip(chosen, steps, strict=True)
        if p != 0
    ]
    by_field = {b.field: b for b in bins}
    before = rules
    rules, shifts = _no_negative_groups(rules, by_field, params.max_rules - len(rules))
    order = {"fit": 0, "behaviour": 1}
    # Numbers by their edge; a field's groups (and its "is empty") by their points.
    rules.sort(key=lambda r: (order[r.kind], r.field, r.value if r.op == ">=" else -r.points - 1e6))
    validation = _out_of_fold(matrix[:, chosen], y, is_train, is_valid, params, seed)
    for name in shifts:
        # What each validation lead gained from the field's shifted rules.
        old, new = (
            scored(features.iloc[np.flatnonzero(is_valid)], [r for r in group if r.field == name])[
                "points"
            ]
            for group in (before, rules)
        )
        validation += (new - old).to_numpy()
    return rules, selection, notes, validation


def _whole_points(coefficients: np.ndarray, params: PointsParams) -> np.ndarray:
    """Log-odds coefficients as points: `points_per_doubling` a doubling, rounded."""
    factor = params.points_per_doubling / math.log(2)
    return _round(np.asarray(coefficients) * factor, params.rounding)


VALIDATION_FOLDS = 5


def _out_of_fold(
    chosen: np.ndarray,
    label: np.ndarray,
    is_train: np.ndarray,
    is_valid: np.ndarray,
    params: PointsParams,
    seed: int,
) -> np.ndarray:
    """Validation leads' points from rules fitted without them (training rows and the other
    validation folds), before the category shift: what thresholds are chosen on, as the
    models' out-of-fold probabilities are."""
    from sklearn.model_selection import KFold

    rows = np.flatnonzero(is_valid)
    out = np.zeros(len(rows))
    folds = KFold(min(VALIDATION_FOLDS, len(rows)), shuffle=True, random_state=seed)
    for kept, held in folds.split(rows):
        fit = is_train.copy()
        fit[rows[kept]] = True
        model = _fit(chosen[fit], label[fit])
        out[held] = chosen[rows[held]] @ _whole_points(model.coef, params)
    return out


def _no_negative_groups(
    rules: list[Rule], bins: dict[str, FieldBins], room: int = 0
) -> tuple[list[Rule], dict[str, float]]:
    """Shift each category field's points so its lowest group gets 0 and none is negative: the
    same order of leads (every lead moves by the same points, blanks too through the field's
    'is empty' rule), but 'Industry is software: -16' would read as a penalty for a good
    industry. The values no rule named get a rule of their own when they end up with points:
    their list when it is short; for an export's field with many values, one rule 'is not
    empty and none of' the one penalised group gives every other value the shift, the other
    groups keeping their points on top. A rule the shift needs beyond the `room` left in the
    budget (points.max_rules) is not added: with a short list the blanks then stay where they
    were, with 'none of' the field keeps its penalty. Returns the rules and the points each
    shifted field gained."""
    out, shifts = [r for r in rules if r.op != "in"], {}
    for name in dict.fromkeys(r.field for r in rules if r.op == "in"):
        groups = [r for r in rules if r.op == "in" and r.field == name]
        lowest = min(0.0, *(r.points for r in groups))
        if lowest == 0:
            out += groups
            continue
        named = {v for r in groups for v in r.value}
        rest = sorted(v for g in bins[name].groups for v in g if v not in named)
        penalised = [r for r in groups if r.points < 0]
        token = empty_token(name)
        has_empty = any(r.field == name and r.op == "==" and r.value == token for r in out)
        # A shift trades the lowest group's rule (now 0 points) for one on the other values,
        # and needs one for the blanks when they have none yet.
        blanks = int(bins[name].empty and not has_empty)
        shifts[name] = -lowest
        if 0 < len(rest) <= MAX_VALUES:
            groups.append(_values_rule(groups[0], "in", rest, 0.0))
            if room >= blanks:  # else the blanks stay where they were
                out = _empty_shifted(out, groups[0], -lowest, bins[name].empty)
                room -= blanks
            out += [
                r.model_copy(update={"points": r.points - lowest})
                for r in groups
                if r.points - lowest != 0
            ]
        elif (
            len(penalised) == 1
            and len(penalised[0].value) <= MAX_VALUES
            and name not in LABELS
            and room >= blanks
        ):
            out += [r for r in groups if r.points > 0]
            out.append(_values_rule(groups[0], "not_in", [*penalised[0].value, token], -lowest))
            out = _empty_shifted(out, groups[0], -lowest, bins[name].empty)
            room -= blanks
        else:  # no rule a person could type for the other values: keep the penalties
            del shifts[name]
            out += groups
    return out, shifts


def _empty_shifted(rules: list[Rule], like: Rule, shift: float, has_blanks: bool) -> list[Rule]:
    """The field's 'is empty' rule moved by the shift too, so blanks keep their place among
    the values (a new one when the field has blanks but no such rule yet)."""
    token = empty_token(like.field)
    empty = [r for r in rules if r.field == like.field and r.op == "==" and r.value == token]
    if empty:
        return [
            r.model_copy(update={"points": r.points + shift}) if r in empty else r for r in rules
        ]
    if not has_blanks:
        return rules
    return [*rules, _values_rule(like, "==", token, shift)]


def _values_rule(like: Rule, op: str, value, points: float) -> Rule:
    """A rule on the same field and score as `like`, for a list of its values (or its
    blanks)."""
    return Rule(
        name=condition(like.field, op, value),
        kind=like.kind,
        field=like.field,
        op=op,
        value=value,
        points=points,
    )


def _monotone(
    chosen: list[int], candidates: list[Rule], train: np.ndarray, label: np.ndarray
) -> tuple[list[int], Logistic, list[str]]:
    """Refit on the chosen rules; while a number's steps point both ways (more visits worth
    fewer points past some count), drop that field's weakest step against the majority."""
    notes = []
    while True:
        model = _fit(train[:, chosen], label)
        coefficients = dict(zip(chosen, model.coef, strict=True))
        by_field: dict[str, list[int]] = {}
        for j in chosen:
            if candidates[j].op == ">=":
                by_field.setdefault(candidates[j].field, []).append(j)
        for steps in by_field.values():
            signs = np.sign([coefficients[j] for j in steps])
            if len(set(signs)) > 1:
                majority = 1.0 if signs.sum() >= 0 else -1.0
                against = [j for j in steps if np.sign(coefficients[j]) != majority]
                weakest = min(against, key=lambda j: abs(coefficients[j]))
                notes.append(f"left out to keep points monotone: {candidates[weakest].name}")
                chosen = [j for j in chosen if j != weakest]
                break
        else:
            return chosen, model, notes


def is_empty_rule(rule: Rule) -> bool:
    """Whether a learned rule is a category field's "is empty"."""
    return rule.op == "==" and rule.value == empty_token(rule.field)


def rule_table(
    rules: list[Rule], features: pd.DataFrame, label: pd.Series, is_train: np.ndarray
) -> pd.DataFrame:
    """One row a rule: its condition, points and the training leads it applies to."""
    rows = []
    for rule in rules:
        hit = rule_matches(rule, features).to_numpy() & is_train
        rows.append(
            {
                "rule": rule.name,
                "field": rule.field,
                "kind": rule.kind,
                "condition": rule.name,
                "op": "is empty" if is_empty_rule(rule) else rule.op,
                "value": (
                    ""
                    if is_empty_rule(rule)
                    else "|".join(rule.value)
                    if isinstance(rule.value, list)
                    else rule.value
                ),
                "points": int(rule.points),
                "in_your_crm": crm_condition(rule),
                "leads_train": int(hit.sum()),
                "conversion_train": float(label.to_numpy()[hit].mean()) if hit.any() else np.nan,
            }
        )
    return pd.DataFrame(rows)


DEFAULT_MQL_POINTS = 100.0  # the MQL line in points when the team has no rules yet


def mql_points(params) -> float:
    """Where the learned rules put MQL, in points: points.mql_points, else the team's own
    line (baseline.mql_threshold) when it has rules, else DEFAULT_MQL_POINTS."""
    if params.points.mql_points is not None:
        return float(params.points.mql_points)
    return float(params.baseline.mql_threshold) if params.baseline.rules else DEFAULT_MQL_POINTS


def on_the_team_scale(
    rules: list[Rule],
    chosen: dict[str, float],
    policy: str,
    target: float,
    params: PointsParams,
) -> tuple[list[Rule], dict[str, float], float, str | None]:
    """The rules and every policy's threshold scaled so the recommended one falls at `target`
    points (the line ops already know), each rule's points rounded again: the same leads in
    the same order, on the team's scale; and the factor. A threshold at or below 0 cannot be
    moved there by scaling: the rules are kept and the note says so."""
    current = chosen.get(policy, np.nan)
    if not np.isfinite(current) or current == target:
        return rules, chosen, 1.0, None
    if current <= 0:
        note = f"MQL stays at {current:g} points: a threshold at or below 0 cannot be scaled"
        return rules, chosen, 1.0, f"{note} to {target:g}"
    factor = target / current
    scaled = [
        r.model_copy(
            update={"points": float(_round(np.array([r.points * factor]), params.rounding)[0])}
        )
        for r in rules
    ]
    dropped = [r.name for r in scaled if r.points == 0]
    scaled = [r for r in scaled if r.points != 0]
    # Points are whole: the next whole number selects the same leads and reads better.
    moved = {k: (target if k == policy else float(np.ceil(v * factor))) for k, v in chosen.items()}
    note = (
        f"points scaled by {factor:.3g} so that MQL falls at {target:g} points, your scale "
        "(points.mql_points, else baseline.mql_threshold, else 100)"
    )
    if dropped:
        note += f"; rules whose points then round to 0 are left out: {'; '.join(dropped)}"
    return scaled, moved, factor, note


def build(
    features: pd.DataFrame,
    predictions: pd.DataFrame,
    columns: list[str],
    model: str,
    params,
) -> tuple[Scorecard, pd.DataFrame, dict]:
    """Learn the rules, choose their threshold on validation and evaluate them on test:
    (scorecard, each lead's points, the test evaluation)."""
    label, assignment = predictions["label"], predictions["split"]
    rules, selection, notes, validation = learn(
        features, label, assignment, columns, params.points, params.seed
    )
    rules_cut = thresholds.rules_threshold(params.baseline)
    out_of_fold = pd.Series(np.nan, index=predictions.index)
    out_of_fold[(assignment == "valid").to_numpy()] = validation
    chosen, policy, policy_notes, reason = choose_threshold(
        predictions, out_of_fold, params.thresholds, rules_cut
    )
    if reason:
        notes.append(reason)
    target = mql_points(params)
    rules, chosen, factor, note = on_the_team_scale(rules, chosen, policy, target, params.points)
    validation = validation * factor  # the validation leads' points on the same scale
    if note:
        notes.append(note)
    points = scored(features, rules)
    valid = predictions[predictions["split"] == "valid"]
    model_chosen = thresholds.choose_thresholds(valid, model, params.thresholds, rules_cut)[0]
    shown = {p: chosen[p] for p in (*POINTS_POLICIES, policy)}
    evaluation = evaluate(
        predictions,
        points["points"],
        model,
        shown,
        model_chosen,
        rules_cut,
        params.models.bootstrap_samples,
        params.seed,
    )
    evaluation["policy_notes"] = {p: policy_notes[p] for p in shown if p in policy_notes}
    evaluation["baseline_name"] = (
        "today's rules" if params.baseline.rules else "the baseline (a plain logistic regression)"
    )
    card = Scorecard(
        rules=rules,
        threshold=float(chosen[policy]),
        policy=policy,
        fields=sorted({r.field for r in rules}),
        table=rule_table(rules, features, label, (assignment == "train").to_numpy()),
        selection=selection,
        notes=notes,
        validation=validation,
    )
    return card, points, evaluation


def document(card: Scorecard, evaluation: dict, params: PointsParams) -> dict:
    """points_rules.json: the rules, their threshold, how they were found and their test
    figures."""
    rules = card.table.drop(columns=["value"]).to_dict(orient="records")
    # The JSON is read back as rules (the artifact, `score --points`): the machine's op and
    # value, where the CSV for people says "is empty".
    for row, rule in zip(rules, card.rules, strict=True):
        row["op"], row["value"] = rule.op, rule.value
    return json_ready(
        {
            "rules": rules,
            "mql_threshold_points": card.threshold,
            "policy": card.policy,
            "fields": card.fields,
            "rules_chosen_on": "training rows (each step judged on validation)",
            "points_fitted_on": "every row before the test window",
            "threshold_chosen_on": "validation (out-of-fold points)",
            "reported_on": "test",
            "settings": params.model_dump(),
            "selection": card.selection.to_dict(orient="records"),
            "evaluation": evaluation,
            "notes": card.notes,
        }
    )


def artifact_document(saved: dict) -> dict:
    """What the scoring artifact carries of points_rules.json: the rules, their threshold and
    their headline test figures."""
    ranking = saved["evaluation"]["ranking"]
    return {
        "rules": [
            {k: r[k] for k in ("rule", "kind", "field", "op", "value", "points")}
            for r in saved["rules"]
        ],
        "mql_threshold_points": saved["mql_threshold_points"],
        "policy": saved["policy"],
        "test_pr_auc": {name: ranking[name]["pr_auc"]["value"] for name in ranking},
        "gain_kept": saved["evaluation"]["gain_kept"]["value"],
    }
