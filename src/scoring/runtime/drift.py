"""Population stability: has the population the model scores moved away from the one it learned?

The population stability index (PSI) compares the share of leads per bin in a reference
window (training) with the newest window. Numeric columns are binned on the reference's
deciles, categories by level; missing values get a bin of their own, and levels the reference
never saw are pooled as "unseen". Bands: below 0.1 stable, 0.1 to 0.25 moderate, above major.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MODERATE = 0.1
MAJOR = 0.25
BINS = 10
# Empty bins would make the index infinite; a small floor keeps it finite and comparable.
FLOOR = 1e-4
MISSING, UNSEEN = "(missing)", "(unseen)"


def band(psi: float) -> str:
    """stable, moderate or major, by the usual PSI bands."""
    if np.isnan(psi):
        return "n/a"
    if psi >= MAJOR:
        return "major"
    return "moderate" if psi >= MODERATE else "stable"


def _index(expected: np.ndarray, actual: np.ndarray) -> float:
    expected = np.maximum(expected / max(expected.sum(), 1e-12), FLOOR)
    actual = np.maximum(actual / max(actual.sum(), 1e-12), FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def profile(frame: pd.DataFrame, bins: int = BINS) -> dict[str, dict]:
    """Bins and shares per column of a reference window (JSON-ready, kept in the artifact so
    later data can be compared with the training window without the training data)."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            numbers = values.to_numpy(dtype=float)
            known = numbers[~np.isnan(numbers)]
            edges = (
                np.unique(np.quantile(known, np.linspace(0, 1, bins + 1))[1:-1]).tolist()
                if len(known)
                else []
            )
            entry = {"kind": "numeric", "edges": edges}
        else:
            levels = values.astype(object).where(values.notna(), MISSING).astype(str)
            entry = {"kind": "category", "levels": sorted(levels.unique().tolist())}
        entry["shares"] = _counts(values, entry).tolist()
        total = sum(entry["shares"])
        entry["shares"] = [c / total if total else 0.0 for c in entry["shares"]]
        out[str(column)] = entry
    return out


def _counts(values: pd.Series, entry: dict) -> np.ndarray:
    if entry["kind"] == "numeric":
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        missing = np.isnan(numbers)
        edges = np.asarray(entry["edges"], dtype=float)
        counts = np.bincount(
            np.searchsorted(edges, numbers[~missing], side="right"), minlength=len(edges) + 1
        )
        return np.append(counts, missing.sum()).astype(float)
    levels = entry["levels"]
    text = values.astype(object).where(values.notna(), MISSING).astype(str)
    text = text.where(text.isin(levels), UNSEEN)
    return text.value_counts().reindex([*levels, UNSEEN], fill_value=0).to_numpy(float)


def psi(entry: dict, current: pd.Series) -> float:
    """PSI of one column of the current window against its reference profile entry."""
    expected = np.asarray(entry["shares"], dtype=float)  # includes the unseen/missing bin
    return _index(expected, _counts(current, entry))


def population_stability(
    reference: dict[str, dict], current: pd.DataFrame, current_score: pd.Series | None = None
) -> pd.DataFrame:
    """PSI and band per feature of a reference profile (the score's entry is named "score"),
    largest first."""
    rows = []
    for column, entry in reference.items():
        if column == "score":
            if current_score is None:
                continue
            values, kind = current_score, "score"
        elif column in current.columns:
            values, kind = current[column], entry["kind"]
        else:
            continue
        rows.append({"feature": column, "psi": psi(entry, values), "kind": kind})
    table = pd.DataFrame(rows, columns=["feature", "psi", "kind"])
    table["band"] = table["psi"].map(band)
    return table.sort_values("psi", ascending=False, ignore_index=True)


def training_drift(
    features: pd.DataFrame, score: pd.Series, assignment: pd.Series, periods: dict
) -> dict:
    """Drift between the training window and the newest (test) window of one run."""
    train, test = assignment == "train", assignment == "test"
    reference = profile(features[train].assign(score=score[train].to_numpy()))
    table = population_stability(reference, features[test], score[test])
    name = "training window {}".format(" to ".join(periods.get("train", [])) or "(random)")
    newest = "newest window {}".format(" to ".join(periods.get("test", [])) or "(random)")
    return summary(table, name, newest)


def summary(table: pd.DataFrame, reference: str, current: str) -> dict:
    """The drift section of metrics.json and of the retrain summary."""
    score = table.loc[table["feature"] == "score", "psi"]
    major = table.loc[(table["band"] == "major") & (table["kind"] != "score"), "feature"]
    moderate = table.loc[(table["band"] == "moderate") & (table["kind"] != "score"), "feature"]
    score_psi = float(score.iloc[0]) if len(score) else None
    return {
        "reference": reference,
        "current": current,
        "bands": {"moderate": MODERATE, "major": MAJOR},
        "score_psi": score_psi,
        "score_band": None if score_psi is None else band(score_psi),
        "features_major": major.tolist(),
        "features_moderate": moderate.tolist(),
        "drift_found": bool(len(major)) or (score_psi is not None and score_psi >= MAJOR),
        "table": table.round(6).to_dict(orient="records"),
    }


def markdown(document: dict) -> str:
    """Drift in one paragraph for people."""
    if not document:
        return "Drift was not measured for this run."
    score = document.get("score_psi")
    parts = [
        f"Population stability between {document['reference']} and {document['current']}: ",
        (
            f"score PSI {score:.3f} ({document['score_band']}). "
            if score is not None
            else "score PSI not measured. "
        ),
    ]
    if document["features_major"]:
        parts.append(f"Major shift (PSI >= {MAJOR}): {', '.join(document['features_major'])}. ")
    if document["features_moderate"]:
        parts.append(
            f"Moderate shift ({MODERATE}-{MAJOR}): {', '.join(document['features_moderate'])}. "
        )
    if not document["features_major"] and not document["features_moderate"]:
        parts.append("No feature moved beyond the stable band. ")
    parts.append("**Drift found.**" if document["drift_found"] else "No major drift.")
    return "".join(parts)


def drift_against(loaded, features: pd.DataFrame, score: np.ndarray) -> dict:
    """Drift of a batch against the artifact's training window."""
    table = population_stability(loaded.profile, features, pd.Series(score))
    window = " to ".join(loaded.card.get("training_window") or []) or "training rows"
    return summary(table, f"training window {window}", "the newest data")
