"""An any-age model's snapshots follow their lead into its part of the split."""

import pandas as pd
import pytest

from scoring.core.config import ModelParams
from scoring.data.features import Snapshots
from scoring.model.splits import Split, assign_snapshots, replay_start, split_by_time


def _snapshots(rows: list[tuple[str, str, str]]) -> Snapshots:
    """(lead, the lead's own moment, this snapshot's moment) per row."""
    frame = pd.DataFrame(rows, columns=["lead", "own", "at"])
    return Snapshots(
        features=pd.DataFrame(index=frame.index),
        label=pd.Series(0, index=frame.index),
        moment=pd.to_datetime(frame["at"]),
        lead_ids=frame["lead"],
        age_days=pd.Series(0.0, index=frame.index),
        lead_moment=pd.to_datetime(frame["own"]),
        drawn=pd.Series(True, index=frame.index),
        comeback=pd.Series(False, index=frame.index),
    )


def test_every_snapshot_of_a_lead_falls_on_its_side_and_none_is_scored_after_its_part():
    moment = pd.to_datetime(pd.Series(["2025-01-10", "2025-03-10", "2025-05-10"]))
    split = Split(pd.Series(["train", "valid", "test"]), "out of time", {})
    snapshots = _snapshots(
        [
            ("A", "2025-01-10", "2025-01-04"),  # train lead, young
            ("A", "2025-01-10", "2025-02-10"),  # train lead, still before validation: kept
            ("A", "2025-01-10", "2025-03-20"),  # train lead scored in validation time: out
            ("B", "2025-03-10", "2025-03-04"),  # validation lead at day 0, before validation
            ("B", "2025-03-10", "2025-05-20"),  # validation lead scored in test time: out
            ("C", "2025-05-10", "2025-07-01"),  # test lead at any age: test
        ]
    )
    assert assign_snapshots(split, moment, snapshots).tolist() == [
        "train",
        "train",
        "none",
        "valid",
        "none",
        "test",
    ]


def test_snapshots_need_an_out_of_time_split():
    moment = pd.to_datetime(pd.Series(["2025-01-10", "2025-03-10"]))
    split = Split(pd.Series(["train", "valid"]), "random stratified", {})
    with pytest.raises(ValueError, match="out-of-time split"):
        assign_snapshots(split, moment, _snapshots([("A", "2025-01-10", "2025-01-10")]))


def test_replay_starts_where_the_out_of_time_validation_starts():
    moment = pd.Series(pd.date_range("2024-01-01", "2025-12-31", freq="D"))
    label = pd.Series([i % 5 == 0 for i in range(len(moment))], dtype=int)
    params = ModelParams()
    split = split_by_time(moment, label, params, seed=0)
    assert replay_start(moment, label, params, seed=0) == moment[split.assignment == "valid"].min()
    # No dates to split by: nothing to replay from (every moment is built).
    undated = pd.Series([pd.NaT] * len(moment))
    assert replay_start(undated, label, params, seed=0) is None
