"""An any-age model's rows (label.snapshot_days): the snapshots it learns from, and the
daily job's replay of validation and test leads that its thresholds and daily-queue metrics
are measured on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.core.config import BaselineParams
from scoring.data.features import Dataset
from scoring.model.splits import Split, assign_snapshots
from scoring.runtime.rules import points as rule_points


@dataclass(frozen=True)
class FitRows:
    """The rows the models are fitted on when they are not the dataset's own: an any-age
    model's snapshots, with their part of the split and their lead (the folds' groups)."""

    X: pd.DataFrame
    label: pd.Series
    assignment: pd.Series
    leads: np.ndarray
    ages: list[float] | None = None  # the training ages (label.snapshot_days), if any-age


def snapshot_fit_rows(dataset: Dataset, split: Split, columns: list[str]) -> FitRows | None:
    """The any-age model's training rows (label.snapshot_days), or None for one moment a lead."""
    snapshots = dataset.snapshots
    if snapshots is None:
        return None
    part = assign_snapshots(split, dataset.moment, snapshots)
    used = ((part != "none") & snapshots.drawn).to_numpy()
    return FitRows(
        snapshots.features.loc[used, columns].reset_index(drop=True),
        snapshots.label[used].reset_index(drop=True),
        part[used].reset_index(drop=True),
        snapshots.lead_ids[used].astype(str).to_numpy(),
        sorted(float(a) for a in snapshots.age_days[~snapshots.comeback].unique()),
    )


@dataclass(frozen=True)
class ReplayRows:
    """Every validation and test lead at each age it is open at (an any-age model's
    snapshots): the features, and lead, part, age, moment and label of each row."""

    X: pd.DataFrame
    rows: pd.DataFrame

    @property
    def is_valid(self) -> np.ndarray:
        return (self.rows["split"] == "valid").to_numpy()


def replay_rows(
    dataset: Dataset, split: Split, columns: list[str], baseline_params: BaselineParams
) -> ReplayRows | None:
    """The rows the daily job is replayed on (label.snapshot_days), with today's points at
    each (the rules score every age the same way; NaN without rules), or None."""
    snapshots = dataset.snapshots
    if snapshots is None:
        return None
    part = assign_snapshots(split, dataset.moment, snapshots)
    keep = part.isin(["valid", "test"]).to_numpy()
    rows = pd.DataFrame(
        {
            "lead_id": snapshots.lead_ids[keep].astype(str).to_numpy(),
            "split": part[keep].to_numpy(),
            "age_days": snapshots.age_days[keep].to_numpy(),
            "moment": snapshots.moment[keep].to_numpy(),
            "label": snapshots.label[keep].to_numpy(),
            "comeback": snapshots.comeback[keep].to_numpy(),
            "baseline_points": (
                rule_points(snapshots.features[keep], baseline_params).to_numpy()
                if baseline_params.rules
                else np.nan
            ),
        }
    )
    return ReplayRows(snapshots.features.loc[keep, columns].reset_index(drop=True), rows)
