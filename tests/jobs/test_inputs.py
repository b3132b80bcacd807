"""The run's input as its start read it: saved into the run folder, read back equal, and
ignored when the settings that shape it differ."""

import numpy as np
import pandas as pd

from scoring.io.runfolder import RunFolder
from scoring.jobs import inputs


def test_the_input_cache_reads_back_equal_and_only_for_its_settings(small_dataset, tmp_path):
    params, _, dataset = small_dataset
    oracle = pd.Series(np.linspace(0, 1, len(dataset.label)), name="truth")
    loaded = inputs.Inputs(dataset, "f" * 64, oracle)
    run = RunFolder(tmp_path)
    assert inputs.save_cache(loaded, params, run)
    back = inputs.load_cache(params, run)
    pd.testing.assert_frame_equal(back.dataset.features, dataset.features)
    for name in ("label", "moment", "lead_ids"):
        pd.testing.assert_series_equal(getattr(back.dataset, name), getattr(dataset, name))
    pd.testing.assert_frame_equal(back.dataset.exclusions, dataset.exclusions)
    assert back.dataset.snapshot == dataset.snapshot
    assert back.dataset.description == dataset.description
    assert back.fingerprint == "f" * 64
    assert np.array_equal(back.oracle.to_numpy(), oracle.to_numpy())
    # Other label settings shape another input: the cache is not used.
    other = params.model_copy(update={"label": params.label.model_copy(update={"window_days": 30})})
    assert inputs.load_cache(other, run) is None
    # Settings that do not shape the input (thresholds) keep it.
    same = params.model_copy(
        update={"thresholds": params.thresholds.model_copy(update={"reps": 3})}
    )
    assert inputs.load_cache(same, run) is not None


def test_no_cache_for_an_input_indexed_otherwise(small_dataset, tmp_path):
    params, _, dataset = small_dataset
    shifted = dataset.features.set_axis(dataset.features.index + 1)
    moved = inputs.Inputs(
        inputs.features.Dataset(
            shifted,
            dataset.label,
            dataset.moment,
            dataset.lead_ids,
            dataset.exclusions,
            dataset.snapshot,
        ),
        "x",
        None,
    )
    assert not inputs.save_cache(moved, params, RunFolder(tmp_path))
    assert inputs.load_cache(params, RunFolder(tmp_path)) is None


def test_an_input_file_changed_since_the_cache_is_read_again(small_dataset, tmp_path):
    from scoring.core.config import FlatParams

    params, _, dataset = small_dataset
    export = tmp_path / "export.csv"
    export.write_text("id,converted\n1,0\n")
    flat = params.model_copy(
        update={
            "data": params.data.model_copy(
                update={
                    "source": "flat",
                    "flat": FlatParams(path=str(export), target_column="converted"),
                }
            )
        }
    )
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    assert inputs.save_cache(inputs.Inputs(dataset, "x", None), flat, run)
    assert inputs.cache_current(flat, run)
    export.write_text("id,converted\n1,0\n2,1\n")  # a new export in the same place
    assert not inputs.cache_current(flat, run)
    assert inputs.load_cache(flat, run) is None


def test_a_sampled_input_keeps_its_sampling_through_the_cache(small_dataset, tmp_path):
    import dataclasses

    params, _, dataset = small_dataset
    sampling = {"method": "uniform", "eligible_leads": 9, "kept_leads": 5, "seed": 7}
    sampled = dataclasses.replace(dataset, sampling=sampling)
    run = RunFolder(tmp_path)
    assert inputs.save_cache(inputs.Inputs(sampled, "f" * 64, None), params, run)
    assert inputs.load_cache(params, run).dataset.sampling == sampling


def test_the_run_seed_draws_the_training_sample(small_dataset, monkeypatch):
    from scoring.data import contract as data

    params, tables, dataset = small_dataset
    monkeypatch.setattr(data, "load_tables", lambda *paths: tables)
    monkeypatch.setattr(data, "load_truth", lambda *args: None)
    sampled = params.model_copy(
        update={
            "seed": 11,
            "features": params.features.model_copy(update={"max_leads": 500}),
        }
    )
    loaded = inputs.load_inputs(sampled)
    assert len(loaded.dataset.label) == 500 < len(dataset.label)
    assert loaded.dataset.sampling["seed"] == 11


def test_an_any_age_input_keeps_its_snapshots_in_the_cache(tmp_path):
    from scoring.core.config import FeatureParams, LabelParams, Params
    from scoring.data.features import build_dataset
    from tests.data.test_features import BASE_ACTIVITY, _tables

    label = LabelParams(snapshot_days=[0, 1, 3, 7, 14, 30])
    params = Params(label=label)
    dataset = build_dataset(_tables(BASE_ACTIVITY), label, FeatureParams())
    run = RunFolder(tmp_path)
    assert inputs.save_cache(inputs.Inputs(dataset, "f" * 64, None), params, run)
    back = inputs.load_cache(params, run).dataset.snapshots
    pd.testing.assert_frame_equal(back.features, dataset.snapshots.features)
    for name in ("label", "moment", "lead_ids", "age_days", "lead_moment", "drawn", "comeback"):
        pd.testing.assert_series_equal(
            getattr(back, name), getattr(dataset.snapshots, name), check_names=False
        )
    # The same folder read again without snapshots keeps none from before.
    plain = build_dataset(_tables(BASE_ACTIVITY), LabelParams(), FeatureParams())
    inputs.save_cache(inputs.Inputs(plain, "f" * 64, None), Params(), run)
    assert inputs.load_cache(Params(), run).dataset.snapshots is None
