"""Training on the small generated CRM: split order, determinism, leakage exclusion."""

import numpy as np
import pandas as pd
import pytest

from scoring import train
from scoring.config import ModelParams
from scoring.features import Dataset


@pytest.fixture(scope="module")
def trained(small_dataset):
    params, _, dataset = small_dataset
    fast = params.models.model_copy(update={"backtest_folds": 2})
    return (
        params,
        dataset,
        train.train_all(dataset, fast, params.features, params.baseline, params.seed),
    )


def test_split_is_out_of_time(trained):
    _, dataset, result = trained
    moment = dataset.moment
    assignment = result.split.assignment
    assert result.split.method == "out of time"
    assert moment[assignment == "train"].max() < moment[assignment == "valid"].min()
    assert moment[assignment == "valid"].max() < moment[assignment == "test"].min()
    assert result.split.periods["test"][1] == f"{moment.max():%Y-%m-%d}"


def test_models_are_calibrated_on_validation_and_beat_the_rules_there(trained):
    _, _, result = trained
    assert set(result.models) == {"logistic", "lightgbm"}
    assert set(result.calibration.values()) <= {"isotonic", "sigmoid"}
    assert result.chosen_model in result.models
    assert result.validation_pr_auc[result.chosen_model] > result.validation_pr_auc["baseline"]
    predictions = result.predictions
    assert len(predictions) == len(result.split.assignment)
    assert predictions[["logistic", "lightgbm", "baseline"]].stack().between(0, 1).all()


def test_backtest_has_a_row_per_fold_and_scorer(trained):
    _, _, result = trained
    assert sorted(result.backtest["fold"].unique()) == [1, 2]
    assert set(result.backtest["model"]) == {"baseline", "lightgbm"}


def test_same_data_and_params_give_identical_predictions(trained):
    params, dataset, result = trained
    fast = params.models.model_copy(update={"backtest_folds": 0})
    again = train.train_all(dataset, fast, params.features, params.baseline, params.seed)
    pd.testing.assert_frame_equal(result.predictions, again.predictions)


def test_planted_leaky_column_is_flagged_and_excluded(small_dataset):
    params, _, dataset = small_dataset
    rng = np.random.default_rng(0)
    leaky = dataset.features.assign(
        emails_opened_to_date=dataset.label * 6 + rng.poisson(1, len(dataset.label))
    )
    planted = Dataset(
        leaky, dataset.label, dataset.moment, dataset.lead_ids, dataset.exclusions, dataset.snapshot
    )
    fast = params.models.model_copy(update={"backtest_folds": 0, "families": ["logistic"]})
    result = train.train_all(planted, fast, params.features, params.baseline, params.seed)
    assert [f.column for f in result.leakage] == ["emails_opened_to_date"]
    assert "emails_opened_to_date" not in result.feature_columns
    assert train.leakage_table(result)["excluded"].tolist() == [True]


def test_no_usable_date_falls_back_to_a_random_split_with_a_warning():
    label = pd.Series([0, 1] * 50)
    moment = pd.Series(pd.NaT, index=label.index)
    split = train.split_by_time(moment, label, ModelParams(), seed=1)
    assert split.method == "random stratified" and "NOT out of time" in split.warning
    counts = split.assignment.value_counts()
    assert counts["test"] == 15 and counts["valid"] in (15, 16)  # 15% each by default


def test_too_short_history_is_a_clear_error():
    moment = pd.Series(pd.date_range("2025-01-01", periods=60, freq="D"))
    label = pd.Series([0, 1] * 30)
    with pytest.raises(ValueError, match="train period has no leads"):
        train.split_by_time(moment, label, ModelParams(valid_months=3, test_months=3), seed=1)


def test_backtest_plot_without_folds_says_so():
    # Regression: models.backtest_folds: 0 used to fail the training notebook (KeyError).
    import pandas as pd

    from scoring import plots

    figure = plots.backtest(pd.DataFrame())
    assert "No backtest folds" in figure.axes[0].texts[0].get_text()
