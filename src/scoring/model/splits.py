"""Splits: which leads train, which validate, which test. Out of time when the leads have
dates, by order when an export is in time order without dates, at random (stratified) only
when neither holds; the test window is never seen by anything that chooses."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from scoring.core.config import ModelParams
from scoring.data.features import Dataset, Snapshots

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Split:
    """Which rows are train, valid and test, and how the split was made."""

    assignment: pd.Series
    method: str
    periods: dict[str, list[str]]
    warning: str | None = None


def split_dataset(dataset: Dataset, params: ModelParams, seed: int) -> Split:
    """Out of time when there are dates; else by row order; else random, with a warning."""
    if dataset.moment.notna().all() and dataset.moment.nunique() > 1:
        return split_by_time(dataset.moment, dataset.label, params, seed)
    if dataset.order is not None:
        return split_by_order(dataset.order, dataset.label, params)
    return random_split(dataset.label, params, seed)


def random_split(label: pd.Series, params: ModelParams, seed: int) -> Split:
    """Stratified random split: only when nothing tells the time order."""
    warning = (
        "No usable date or order: the split is random and stratified, so the test set "
        "is NOT out of time; expect optimistic figures."
    )
    log.warning(warning)
    index = np.arange(len(label))
    rest, test = train_test_split(
        index, test_size=params.test_fraction, stratify=label, random_state=seed
    )
    _, valid = train_test_split(
        rest,
        test_size=params.valid_fraction / (1 - params.test_fraction),
        stratify=label.iloc[rest],
        random_state=seed,
    )
    assignment = pd.Series("train", index=label.index, dtype=object)
    assignment.iloc[valid] = "valid"
    assignment.iloc[test] = "test"
    return Split(assignment, "random stratified", {}, warning)


def order_shares(params: ModelParams) -> tuple[float, float]:
    """(valid, test) shares of a split in time or row order; training keeps at least
    models.min_train_share."""
    valid, test = params.valid_fraction, params.test_fraction
    room = 1 - params.min_train_share
    if valid + test > room:
        valid, test = valid / (valid + test) * room, test / (valid + test) * room
    return valid, test


def split_by_order(
    order: pd.Series,
    label: pd.Series,
    params: ModelParams,
    method: str = "by row order",
    warning: str | None = None,
) -> Split:
    """Oldest rows by the order (a number or a date) train, the next validate, the newest
    test, by shares of the rows."""
    valid_share, test_share = order_shares(params)
    rank = order.rank(method="first", pct=True)
    assignment = pd.Series("train", index=order.index, dtype=object)
    assignment[rank > 1 - test_share - valid_share] = "valid"
    assignment[rank > 1 - test_share] = "test"
    dated = pd.api.types.is_datetime64_any_dtype(order)
    periods = {}
    for name in SPLITS:
        rows = order[assignment == name]
        if label[assignment == name].nunique() < 2:
            raise ValueError(
                f"the {name} part has only one outcome; use other "
                "models.valid_fraction / models.test_fraction or more data"
            )
        periods[name] = [
            f"{rows.min():%Y-%m-%d}" if dated else f"{rows.min():g}",
            f"{rows.max():%Y-%m-%d}" if dated else f"{rows.max():g}",
        ]
    return Split(assignment, method, periods, warning)


def replay_start(
    moment: pd.Series, label: pd.Series, params: ModelParams, seed: int
) -> pd.Timestamp | None:
    """Where validation starts in the out-of-time split of these moments (the first lead an
    any-age model replays), or None when there is no such split (the split then says why
    when training asks for it)."""
    try:
        split = split_by_time(moment, label, params, seed)
    except ValueError:
        return None
    valid = moment[split.assignment == "valid"]
    return None if split.method.startswith("random") or valid.empty else valid.min()


def split_by_time(moment: pd.Series, label: pd.Series, params: ModelParams, seed: int) -> Split:
    """Train on the oldest leads, validate on the next months, test on the newest."""
    if not (moment.notna().all() and moment.nunique() > 1):
        return random_split(label, params, seed)
    end = moment.max()
    test_start = end - pd.DateOffset(months=params.test_months)
    valid_start = test_start - pd.DateOffset(months=params.valid_months)
    assignment = pd.Series("train", index=moment.index, dtype=object)
    assignment[moment >= valid_start] = "valid"
    assignment[moment > test_start] = "test"
    train_share = float((assignment == "train").mean())
    if train_share < params.min_train_share:
        # Whole months on a fast-growing export leave too little to learn from.
        valid_share, test_share = order_shares(params)
        note = (
            f"The newest {params.valid_months} + {params.test_months} months hold "
            f"{1 - train_share:.0%} of the labelled leads, which would leave {train_share:.0%} "
            f"for training (below models.min_train_share {params.min_train_share:.0%}): "
            f"the split is by time-ordered shares instead ({valid_share:.0%} validation, "
            f"{test_share:.0%} test, the newest leads)."
        )
        log.warning(note)
        return split_by_order(moment, label, params, "out of time (shares)", note)
    periods = {}
    for name in SPLITS:
        rows = moment[assignment == name]
        if rows.empty or label[assignment == name].nunique() < 2:
            raise ValueError(
                f"the {name} period has no leads or only one outcome; use fewer "
                "models.valid_months / models.test_months or more data"
            )
        periods[name] = [f"{rows.min():%Y-%m-%d}", f"{rows.max():%Y-%m-%d}"]
    return Split(assignment, "out of time", periods)


def assign_snapshots(split: Split, moment: pd.Series, snapshots: Snapshots) -> pd.Series:
    """Each snapshot row's part: its lead's, by the lead's own moment against where the split
    put the dataset's rows (`moment`), so every snapshot of a lead falls on one side. A row
    scored after its part ended is left out ("none"): nothing trained or calibrated on is
    known later than the window it belongs to."""
    starts = {name: moment[split.assignment == name].min() for name in ("valid", "test")}
    if any(pd.isna(start) for start in starts.values()):
        raise ValueError("an any-age model (label.snapshot_days) needs an out-of-time split")
    lead = snapshots.lead_moment
    part = pd.Series("train", index=lead.index, dtype=object)
    part[lead >= starts["valid"]] = "valid"
    part[lead >= starts["test"]] = "test"
    at = snapshots.moment
    part[(part == "train") & (at >= starts["valid"])] = "none"
    part[(part == "valid") & (at >= starts["test"])] = "none"
    return part
