"""Leakage guards: columns that separate the outcome too well to be honest, with evidence.

Two signatures of a field filled in after the fact (a status, a rep's rating, activity counted
after conversion): a single column that alone ranks leads almost perfectly, and categories
that convert almost always, or that almost never convert while covering most leads. In a flat
CRM export, fields the sales process fills in are also known by their names (status, rating,
owner, last activity, ...: `features.after_outcome_patterns`). Fields known when the lead is
created (source, campaign, landing page, ...) are not excluded for near-pure categories alone:
they are kept and listed for review. Every flag says the one-line change to params that flips it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.core import stats
from scoring.core.config import FeatureParams


@dataclass(frozen=True)
class LeakFlag:
    """One flagged column and why."""

    column: str
    reason: str
    evidence: float
    detail: str
    allowed: bool
    review_only: bool = False  # kept, listed for a person to review

    @property
    def excluded(self) -> bool:
        return not self.allowed and not self.review_only

    @property
    def action(self) -> str:
        """excluded | kept, review | kept (allowed)."""
        if self.review_only:
            return "kept, review"
        return "kept (allowed)" if self.allowed else "excluded"

    @property
    def params_change(self) -> str:
        """The one-line change to params that flips this decision."""
        if self.review_only:
            return f"features.drop_columns: add {self.column!r} (to exclude it)"
        if self.allowed:
            return f"features.allow_columns: remove {self.column!r} (to exclude it)"
        return f"features.allow_columns: add {self.column!r} (to keep it)"

    def as_dict(self) -> dict:
        return {
            "column": self.column,
            "reason": self.reason,
            "evidence": round(self.evidence, 4),
            "detail": self.detail,
            "allowed": self.allowed,
            "action": self.action,
            "params_change": self.params_change,
        }


def readable(pattern: str) -> str:
    """A name pattern as a person reads it (no look-behinds, optional separators as spaces)."""
    text = re.sub(r"\(\?<![^)]*\)", "", pattern)
    text = text.replace(" ?_?", " ").replace("\\b", "").replace("?", "")
    return text.strip()


def name_match(column: str, patterns: list[str] | tuple[str, ...]) -> str | None:
    """The first pattern (case-insensitive regular expression) found in a column name."""
    for pattern in patterns:
        if re.search(pattern, column, re.IGNORECASE):
            return pattern
    return None


def single_feature_auc(values: pd.Series, label: pd.Series) -> float:
    """ROC-AUC of one column alone, in its better direction (categories by their rate)."""
    if label.nunique() < 2:
        return float("nan")
    if pd.api.types.is_numeric_dtype(values):
        score = values.astype(float).fillna(values.astype(float).median())
        if score.isna().all():
            return 0.5
    else:
        key = values.astype(str).fillna("missing")
        rate = label.groupby(key).mean()
        score = key.map(rate).astype(float)
    area = stats.auc(label.to_numpy(), score.to_numpy())
    return float(max(area, 1 - area))


# A field filled for fewer than this share of the leads that reached the outcome says little
# by its blanks, however rare it is among the others.
FILL_SHARE_MIN = 0.3
FILLED_ON_OUTCOME = "filled far more often for leads that reached the outcome"


def fill_gap(values: pd.Series, label: pd.Series) -> tuple[float, float] | None:
    """(share filled among leads that reached the outcome, among the others), for a column
    with blanks; None when it is (almost) always or never filled or one side is empty."""
    filled = values.notna().to_numpy()
    positive = label.to_numpy().astype(bool)
    if not positive.any() or positive.all() or not 0.05 <= filled.mean() <= 0.95:
        return None
    return float(filled[positive].mean()), float(filled[~positive].mean())


def pure_categories(
    values: pd.Series, label: pd.Series, rate: float, min_support: int
) -> pd.DataFrame:
    """Categories with enough support whose conversion is near 0 or near 1."""
    key = values.astype(str)
    stats = (
        label.groupby(key)
        .agg(["size", "mean"])
        .rename(columns={"size": "support", "mean": "conversion"})
    )
    stats = stats[stats["support"] >= min_support]
    pure = stats[(stats["conversion"] >= rate) | (stats["conversion"] <= 1 - rate)]
    return pure.reset_index(names="category")


def detect_leakage(
    features: pd.DataFrame, label: pd.Series, params: FeatureParams, by_name: bool = False
) -> list[LeakFlag]:
    """Flag leaky columns on training data (section `features` of params.yaml); with
    `by_name` (raw export columns, not engineered features) also sales-process fields."""
    flags: list[LeakFlag] = []
    allowed = set(params.allow_columns)
    label = label.reset_index(drop=True)
    for column in features.columns:
        values = features[column].reset_index(drop=True)
        pattern = name_match(column, params.after_outcome_patterns) if by_name else None
        if pattern is not None:
            evidence = single_feature_auc(values, label)
            if pd.api.types.is_numeric_dtype(values) and values.isna().any():
                # A date filled only after the fact speaks through its blanks.
                evidence = max(evidence, single_feature_auc(values.isna().astype(float), label))
            flags.append(
                LeakFlag(
                    column,
                    "filled in by the sales process",
                    evidence,
                    f"its name matches '{readable(pattern)}' (features.after_outcome_patterns): "
                    "such fields hold values as of the export, after the scoring moment; "
                    "evidence is its ROC-AUC on its own",
                    column in allowed,
                )
            )
            continue
        auc = single_feature_auc(values, label)
        missing = values.isna()
        if pd.api.types.is_numeric_dtype(values) and missing.any() and not missing.all():
            # A date or count filled only once the lead converted leaks through its blanks.
            blank_auc = single_feature_auc(missing.astype(float), label)
            if blank_auc > params.leakage_auc_max and blank_auc > auc:
                flags.append(
                    LeakFlag(
                        column,
                        "whether it is filled reveals the outcome",
                        blank_auc,
                        f"ROC-AUC {blank_auc:.3f} of 'is missing'",
                        column in allowed,
                    )
                )
                continue
        if auc > params.leakage_auc_max:
            flags.append(
                LeakFlag(
                    column,
                    f"single-feature ROC-AUC above {params.leakage_auc_max:g}",
                    auc,
                    f"ROC-AUC {auc:.3f} on its own",
                    column in allowed,
                )
            )
            continue
        # Checked last: a stronger piece of evidence above excludes the column outright.
        filled = fill_flag(column, values, label, params, column in allowed) if by_name else None
        if pd.api.types.is_numeric_dtype(values):
            flags.extend([filled] if filled else [])
            continue
        pure = pure_categories(
            values, label, params.pure_category_rate, params.pure_category_min_support
        )
        always = pure[pure["conversion"] >= params.pure_category_rate]
        never = pure[pure["conversion"] <= 1 - params.pure_category_rate]
        # Near-zero categories are often real signals (students, competitors); only when
        # they cover most leads do they look like a status field.
        never_share = never["support"].sum() / max(len(values), 1)
        if len(always) or never_share >= 0.5:
            shown = pd.concat([always, never]).head(5)
            detail = "; ".join(
                f"{r.category!r}: {r.conversion:.1%} of {r.support:,}" for r in shown.itertuples()
            )
            evidence = float(always["conversion"].max()) if len(always) else float(never_share)
            reason = (
                "categories that almost always convert"
                if len(always)
                else "categories that almost never convert cover most leads"
            )
            creation = name_match(column, params.creation_time_patterns)
            if creation is not None:
                # A source or campaign is known when the lead is created: a small category
                # that converts well is a finding, not a leak.
                reason += "; a creation-time field (kept, review)"
                detail += f"; name matches '{readable(creation)}' (features.creation_time_patterns)"
            flags.append(
                LeakFlag(column, reason, evidence, detail, column in allowed, creation is not None)
            )
            continue
        flags.extend([filled] if filled else [])
    return flags + proxy_flags(features, flags, params)


def fill_flag(
    column: str, values: pd.Series, label: pd.Series, params: FeatureParams, allowed: bool
) -> LeakFlag | None:
    """A column filled far more often for leads that reached the outcome (at least
    FILL_SHARE_MIN of them, and leakage_fill_ratio times as often as the others): kept for
    review, and left out of the quick model (gain_flags) to measure whether the model leans
    on it."""
    gap = fill_gap(values, label)
    if gap is None:
        return None
    with_outcome, without = gap
    if with_outcome < FILL_SHARE_MIN or with_outcome < params.leakage_fill_ratio * without:
        return None
    return LeakFlag(
        column,
        FILLED_ON_OUTCOME,
        with_outcome - without,
        f"filled for {with_outcome:.0%} of leads that reached the outcome and {without:.0%} of "
        f"the others (at least features.leakage_fill_ratio {params.leakage_fill_ratio:g} times "
        "as often): a field the sales process fills in once it works a lead; left out of a "
        "quick model next",
        allowed,
        review_only=True,
    )


def proxy_flags(
    features: pd.DataFrame, flags: list[LeakFlag], params: FeatureParams
) -> list[LeakFlag]:
    """Columns that carry a flagged column's information under another name: a numeric
    column that moves with a flagged numeric one (a total that includes a leaky count), or
    any column whose values go with a flagged column's (Cramer's V, numbers cut in deciles):
    the binned twin of an excluded score, a category filled in by the same sales step."""
    leaky = [f.column for f in flags if not f.review_only and f.column in features.columns]
    others = [c for c in features.columns if c not in {f.column for f in flags}]
    if not leaky or not others:
        return []
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    correlation = None
    numeric_leaky = [c for c in leaky if c in numeric]
    numeric_others = [c for c in others if c in numeric]
    if numeric_leaky and numeric_others:
        ranks = features[numeric_leaky + numeric_others].rank()
        correlation = ranks.corr().loc[numeric_others, numeric_leaky]
    codes = {c: _codes(features[c]) for c in [*leaky, *others]}
    out = []
    for column in others:
        found: tuple[float, str, str] | None = None
        if correlation is not None and column in correlation.index:
            row = correlation.loc[column]
            if not row.isna().all():
                strongest = row.abs().idxmax()
                rho = float(row[strongest])
                found = (
                    abs(rho),
                    f"moves with leaky column {strongest!r}",
                    f"Spearman correlation {rho:+.2f} with {strongest!r}",
                )
        for other in leaky:
            v = cramers_v(codes[column], codes[other])
            if v >= params.leakage_proxy_corr and (found is None or v > found[0]):
                found = (
                    v,
                    f"goes with leaky column {other!r}",
                    f"Cramer's V {v:.2f} with {other!r} (numbers cut in deciles): the same "
                    "information under another name",
                )
        if found is not None and found[0] >= params.leakage_proxy_corr:
            out.append(
                LeakFlag(column, found[1], found[0], found[2], column in set(params.allow_columns))
            )
    return out


def _codes(values: pd.Series) -> np.ndarray:
    """A column as level codes: numbers in (at most) 10 quantile bins, blanks a level."""
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > 10:
        values = pd.qcut(values.astype(float), 10, duplicates="drop")
    codes, _ = pd.factorize(values, use_na_sentinel=False)
    return codes


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Association of two categorical columns (level codes), 0 to 1, with Bergsma's bias
    correction (many levels on few rows do not read as association)."""
    n = len(a)
    ka, kb = int(a.max()) + 1 if n else 0, int(b.max()) + 1 if n else 0
    if n < 2 or ka < 2 or kb < 2 or ka * kb > 4_000_000:  # no table that size fits a field
        return 0.0
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype(float)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.nansum((table - expected) ** 2 / np.where(expected > 0, expected, np.nan))
    phi2 = max(0.0, chi2 / n - (ka - 1) * (kb - 1) / (n - 1))
    rows = ka - (ka - 1) ** 2 / (n - 1)
    columns = kb - (kb - 1) ** 2 / (n - 1)
    denominator = min(rows - 1, columns - 1)
    return float(np.sqrt(phi2 / denominator)) if denominator > 0 else 0.0


def gain_candidates(
    features: pd.DataFrame, label: pd.Series, flags: list[LeakFlag], count: int
) -> list[str]:
    """The `count` unflagged columns strongest on their own (single-feature ROC-AUC), then
    every column kept for review because it is filled far more often once the outcome is
    reached (its blanks point at a sales step; whether it carries the outcome is measured)."""
    flagged = {f.column for f in flags}
    label = label.reset_index(drop=True)
    strength = {
        column: single_feature_auc(features[column].reset_index(drop=True), label)
        for column in features.columns
        if column not in flagged
    }
    strongest = sorted(strength, key=lambda c: -strength[c])[:count]
    filled = [
        f.column
        for f in flags
        if f.reason == FILLED_ON_OUTCOME and f.column in features.columns and not f.allowed
    ]
    return strongest + [c for c in filled if c not in strongest]


def gain_flags(
    gains: dict[str, tuple[float, float]],
    params: FeatureParams,
    flags: list[LeakFlag] = (),
) -> list[LeakFlag]:
    """Columns whose absence from a quick model costs more than `leakage_gain_max` of
    validation ROC-AUC ({column: (ROC-AUC with it, without it)}): one field adding more than
    every other field together is how a value recorded after the outcome looks (the length
    of the sales call that made the sale). A column already filled far more often once the
    outcome is reached (`flags`) is excluded when it costs more than `leakage_fill_gain_max`:
    its blanks say when it is filled, the gain that the model leans on it."""
    filled = {f.column for f in flags if f.reason == FILLED_ON_OUTCOME}
    out = []
    for column, (with_it, without) in gains.items():
        gain = with_it - without
        limit, name = (
            (params.leakage_fill_gain_max, "leakage_fill_gain_max")
            if column in filled
            else (params.leakage_gain_max, "leakage_gain_max")
        )
        if gain <= limit:
            continue
        out.append(
            LeakFlag(
                column,
                "the model leans on it"
                if column in filled
                else ("adds more than all other fields together"),
                gain,
                f"a quick LightGBM reaches validation ROC-AUC {with_it:.3f} with it and "
                f"{without:.3f} without it (+{gain:.3f}, above features.{name} {limit:g}): "
                "check that it is known when the lead is scored",
                column in set(params.allow_columns),
            )
        )
    return out


def merge_flags(flags: list[LeakFlag], more: list[LeakFlag]) -> list[LeakFlag]:
    """Flags with later evidence added: a column kept for review that a later check excludes
    is listed once, with both pieces of evidence."""
    later = {f.column: f for f in more}
    merged = []
    for flag in flags:
        if flag.review_only and flag.column in later:
            new = later.pop(flag.column)
            flag = LeakFlag(
                new.column,
                f"{flag.reason}; {new.reason}",
                new.evidence,
                f"{flag.detail.split('; left out')[0]}; {new.detail}",
                new.allowed,
            )
        merged.append(flag)
    return merged + list(later.values())


def excluded_columns(flags: list[LeakFlag]) -> list[str]:
    """Flagged columns not allowed by name in params and not merely listed for review."""
    return [f.column for f in flags if f.excluded]


def dominance_flags(shares: pd.Series, params: FeatureParams) -> list[LeakFlag]:
    """Columns carrying more than `dominance_share` of the model's total |SHAP| (share per
    column, summing to 1): kept, listed for review: one field deciding alone is how a leak
    that passed the other checks looks."""
    return [
        LeakFlag(
            str(column),
            f"carries {share:.0%} of the model's total |SHAP| on validation",
            float(share),
            f"more than features.dominance_share ({params.dominance_share:.0%}): check that it "
            "is known at the scoring moment",
            False,
            True,
        )
        for column, share in shares.items()
        if share > params.dominance_share
    ]
