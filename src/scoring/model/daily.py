"""The daily job's MQLs: a lead is re-scored at every age it is open at (label.snapshot_days)
and becomes an MQL the first time its score reaches the threshold; the MQL converted when the
lead reached the outcome within the label window of that moment.

Thresholds are judged on these first crossings when the model scores any age, so that the
MQLs per month and the MQL conversion the report promises are the ones the daily job makes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FirstCrossings:
    """Each lead's scores in the order the daily job meets them, kept where the lead's best
    score so far rises (only there can a threshold be crossed for the first time)."""

    lead: np.ndarray  # the lead (0..n_leads-1) of each record
    best: np.ndarray  # the lead's best score up to this record
    label: np.ndarray  # converted within the window of this record's moment
    age: np.ndarray  # days since creation at this record
    converts: np.ndarray  # per lead: converted within the window of any of its moments
    months: float
    lead_ids: np.ndarray  # the id of each lead (0..n_leads-1)

    @property
    def n(self) -> int:
        """Leads: the units a bootstrap resamples."""
        return len(self.converts)

    @classmethod
    def of(cls, replay: pd.DataFrame, score: str, months: float) -> FirstCrossings:
        """From replay rows (lead_id, age_days, label and a `score` column; NaN scores count
        as never reaching any threshold)."""
        frame = replay.sort_values(["lead_id", "age_days"], kind="stable")
        lead, lead_ids = pd.factorize(frame["lead_id"])
        values = frame[score].fillna(-np.inf).to_numpy(dtype=float)
        best = pd.Series(values).groupby(lead).cummax().to_numpy()
        first = np.r_[True, lead[1:] != lead[:-1]]
        rises = first | (best > np.r_[-np.inf, best[:-1]])
        converts = np.zeros(lead.max() + 1 if len(lead) else 0, dtype=bool)
        np.logical_or.at(converts, lead, frame["label"].to_numpy() == 1)
        return cls(
            lead=lead[rises],
            best=best[rises],
            label=frame["label"].to_numpy()[rises],
            age=frame["age_days"].to_numpy(dtype=float)[rises],
            converts=converts,
            months=months,
            lead_ids=np.asarray(lead_ids),
        )

    def at(self, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per lead at this threshold: MQL or not, converted from its first crossing, and
        its age at that crossing (NaN if never)."""
        crossing = np.flatnonzero(self.best >= threshold)
        # Records are in lead then age order: a lead's first record at or above the threshold.
        leads, first = np.unique(self.lead[crossing], return_index=True)
        mql = np.zeros(self.n, dtype=bool)
        hit = np.zeros(self.n, dtype=bool)
        age = np.full(self.n, np.nan)
        mql[leads] = True
        hit[leads] = self.label[crossing[first]] == 1
        age[leads] = self.age[crossing[first]]
        return mql, hit, age

    def mqls(self, threshold: float) -> np.ndarray:
        """Per lead (in lead_ids order): whether the daily job makes it an MQL."""
        return self.at(threshold)[0]

    def figures(self, threshold: float) -> dict[str, float]:
        """Volume and quality of the MQLs a threshold makes in the daily job."""
        mql, hit, age = self.at(threshold)
        n, hits, total = int(mql.sum()), float(hit.sum()), float(self.converts.sum())
        precision = hits / n if n else np.nan
        base = total / self.n if self.n else np.nan
        return {
            "mqls": n,
            "share_of_leads": n / self.n if self.n else np.nan,
            "mqls_per_month": n / self.months,
            "conversion": precision,
            "capture": hits / total if total else np.nan,
            "lift": precision / base if n and base else np.nan,
            "sqls_per_month": hits / self.months,
            "median_days_to_mql": float(np.nanmedian(age)) if n else np.nan,
        }

    def resampled(self, threshold: float, counts: np.ndarray) -> dict[str, np.ndarray]:
        """figures for every bootstrap resample of the leads at once (counts: resamples x
        leads)."""
        mql, hit, _ = self.at(threshold)
        n = counts @ mql.astype(np.float64)
        hits = counts @ hit.astype(np.float64)
        total = counts @ self.converts.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(n > 0, hits / n, np.nan)
            base = total / self.n
            return {
                "mqls": n,
                "share_of_leads": n / self.n,
                "mqls_per_month": n / self.months,
                "conversion": precision,
                "capture": np.where(total > 0, hits / total, np.nan),
                "lift": np.where((n > 0) & (base > 0), precision / base, np.nan),
                "sqls_per_month": hits / self.months,
            }

    def candidates(self, points: int = 200) -> np.ndarray:
        """Thresholds worth trying: every quantile step of the leads' best scores."""
        peaks = pd.Series(self.best).groupby(self.lead).max().to_numpy()
        peaks = peaks[np.isfinite(peaks)]
        if not len(peaks):
            return np.array([np.inf])
        values = np.unique(np.quantile(peaks, np.linspace(0, 1, points + 1)))
        return values if len(values) < len(np.unique(peaks)) else np.unique(peaks)

    def table(self) -> pd.DataFrame:
        """One row per candidate threshold with its daily-job figures."""
        return pd.DataFrame([{"threshold": t, **self.figures(t)} for t in self.candidates()])
