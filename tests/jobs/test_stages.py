"""The stages' order and what may run side by side; errors surface in stage order."""

import pytest

from scoring.jobs import pipeline, stages


def test_every_stage_needs_only_earlier_stages():
    for number, stage in enumerate(stages.STAGES):
        assert set(stages.NEEDS[stage]) <= set(stages.STAGES[:number]), stage


def test_a_stage_may_start_once_the_stages_it_reads_are_done():
    assert stages.ready(stages.STAGES, set()) == ["audit", "train"]
    assert stages.ready(stages.STAGES, {"audit", "train"}) == ["evaluate", "explain", "points"]
    assert stages.ready(stages.STAGES, {"audit", "train", "evaluate"}) == [
        "explain",
        "thresholds",
        "points",
    ]
    assert stages.ready(("evaluate", "thresholds"), set()) == ["evaluate"]  # train: done before


def test_a_stage_starts_when_its_needs_end_not_when_every_stage_beside_it_does():
    import threading

    points_may_end, log = threading.Event(), []

    def one(stage: str):
        if stage == "points":  # slow: thresholds must not wait for it
            assert points_may_end.wait(10)
        if stage == "thresholds":
            points_may_end.set()
        log.append(stage)
        return stage

    ended = []
    pipeline._run_as_ready(
        stages.STAGES, one, lambda stage, path: ended.append(path), side_by_side=True
    )
    assert log.index("thresholds") < log.index("points") < log.index("export")
    assert sorted(ended) == sorted(stages.STAGES)


def test_after_a_failure_no_stage_starts_and_the_first_failed_stage_s_error_is_raised():
    started = []

    def one(stage: str):
        started.append(stage)
        if stage in ("audit", "train"):
            raise pipeline.StageError(stage, f"{stage} broke")
        return stage

    with pytest.raises(pipeline.StageError, match="audit broke"):
        pipeline._run_as_ready(stages.STAGES, one, lambda s, p: None, side_by_side=True)
    assert sorted(started) == ["audit", "train"]
    with pytest.raises(pipeline.StageError, match="audit broke"):
        pipeline._run_as_ready(stages.STAGES, one, lambda s, p: None, side_by_side=False)


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
