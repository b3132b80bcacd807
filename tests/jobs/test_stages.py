"""The stages' order and what may run side by side; a group's errors surface in stage order."""

import pytest

from scoring.jobs import pipeline, stages


def test_every_stage_needs_only_earlier_stages():
    for number, stage in enumerate(stages.STAGES):
        assert set(stages.NEEDS[stage]) <= set(stages.STAGES[:number]), stage


def test_waves_pair_the_stages_that_do_not_need_each_other():
    assert stages.waves(stages.STAGES) == [
        ("audit", "train"),
        ("evaluate", "explain", "points"),
        ("thresholds",),
        ("export",),
    ]
    assert stages.waves(("audit",)) == [("audit",)]
    assert stages.waves(("evaluate", "thresholds")) == [("evaluate",), ("thresholds",)]


def test_a_group_raises_the_error_of_its_first_stage():
    def one(stage: str):
        raise pipeline.StageError(stage, f"{stage} broke")

    with pytest.raises(pipeline.StageError, match="audit broke"):
        pipeline._run_group(("audit", "train"), one)
    assert pipeline._run_group(("evaluate", "explain"), lambda s: s) == ["evaluate", "explain"]


def test_point_rules_from_a_run_whose_input_changed_are_refused(tmp_path):
    import pandas as pd

    from scoring.core.config import load_params
    from scoring.core.errors import DataContractError
    from scoring.data import features
    from scoring.io.runfolder import RunFolder
    from scoring.jobs import inputs
    from tests.conftest import ROOT

    run = RunFolder(tmp_path)
    pd.DataFrame({"lead_id": ["a", "b", "c"], "split": ["train", "valid", "test"]}).to_parquet(
        run.predictions
    )
    run.write("training.json", {"features": ["x"], "chosen_model": "logistic"})
    # The input as read now: two leads, where training saw three.
    now = features.Dataset(
        pd.DataFrame({"x": [1.0, 2.0]}),
        pd.Series([0, 1]),
        pd.Series(pd.to_datetime(["2025-01-01", "2025-01-02"])),
        pd.Series(["a", "b"]),
        pd.DataFrame(columns=["reason", "leads"]),
        pd.NaT,
    )
    with pytest.raises(DataContractError, match="input has changed"):
        stages.points(
            load_params(ROOT / "params.yaml"), stages.Run(run, inputs.Inputs(now, "x", None))
        )
