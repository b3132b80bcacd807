"""Training on the small generated CRM: split order, determinism, leakage exclusion."""

import numpy as np
import pandas as pd
import pytest

from scoring.core.config import ModelParams
from scoring.data.features import Dataset
from scoring.model import splits, train, training_record


@pytest.fixture(scope="module")
def trained(small_training):
    return small_training


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
    assert set(result.models) == {"logistic", "lightgbm", "blend"}
    assert set(result.calibration.values()) <= {"isotonic", "sigmoid"}
    assert result.chosen_model in result.models
    assert result.validation_pr_auc[result.chosen_model] > result.validation_pr_auc["baseline"]
    predictions = result.predictions
    assert len(predictions) == len(result.split.assignment)
    assert predictions[["logistic", "lightgbm", "blend", "baseline"]].stack().between(0, 1).all()
    assert set(result.validation_pr_auc) == {"logistic", "lightgbm", "blend", "baseline"}


def test_backtest_has_a_row_per_fold_and_scorer(trained):
    _, _, result = trained
    assert sorted(result.backtest["fold"].unique()) == [1, 2]
    assert set(result.backtest["model"]) == {"baseline", "lightgbm"}


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
    assert training_record.leakage_table(result)["action"].tolist() == ["excluded"]


def test_no_usable_date_falls_back_to_a_random_split_with_a_warning():
    label = pd.Series([0, 1] * 50)
    moment = pd.Series(pd.NaT, index=label.index)
    split = splits.split_by_time(moment, label, ModelParams(), seed=1)
    assert split.method == "random stratified" and "NOT out of time" in split.warning
    counts = split.assignment.value_counts()
    assert counts["test"] == 15 and counts["valid"] in (15, 16)  # 15% each by default


def test_too_short_history_is_a_clear_error():
    moment = pd.Series(pd.date_range("2025-01-01", periods=60, freq="D"))
    label = pd.Series([0] * 50 + [1] * 10)
    with pytest.raises(ValueError, match="train part has only one outcome"):
        splits.split_by_time(moment, label, ModelParams(valid_months=3, test_months=3), seed=1)


def test_whole_months_that_leave_too_little_training_fall_back_to_time_ordered_shares():
    # Volume grows fast: the newest six months hold most leads.
    days = np.concatenate(
        [np.arange(0, 365, 3), np.repeat(np.arange(365, 545), 4)]
    )  # 122 old leads, 720 in the last six months
    moment = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"))
    label = pd.Series(np.arange(len(moment)) % 5 == 0).astype(int)
    split = splits.split_by_time(moment, label, ModelParams(), seed=1)
    assert split.method == "out of time (shares)"
    assert "min_train_share" in split.warning
    shares = split.assignment.value_counts(normalize=True)
    assert shares["train"] >= 0.5
    assert moment[split.assignment == "train"].max() <= moment[split.assignment == "valid"].min()
    assert moment[split.assignment == "valid"].max() <= moment[split.assignment == "test"].min()


def test_refit_learns_from_validation_and_never_sees_a_test_row(small_dataset):
    params, _, full = small_dataset
    fast = params.models.model_copy(update={"backtest_folds": 0})
    # Every third lead: the same months, a third of the fitting time (three trainings here).
    rows = full.features.index[::3]
    dataset = Dataset(
        full.features.loc[rows],
        full.label.loc[rows],
        full.moment.loc[rows],
        full.lead_ids.loc[rows],
        full.exclusions,
        full.snapshot,
    )

    def trained_on(label: pd.Series) -> train.TrainingResult:
        changed = Dataset(
            dataset.features,
            label,
            dataset.moment,
            dataset.lead_ids,
            dataset.exclusions,
            dataset.snapshot,
        )
        return train.train_all(changed, fast, params.features, params.baseline, params.seed)

    result = trained_on(dataset.label)
    split = result.split.assignment
    assert result.fitted_on == "train + validation"
    # Test outcomes changed at will: the models are exactly the same (which also shows that
    # the same data and params give identical predictions).
    flipped_test = dataset.label.where(split != "test", 1 - dataset.label)
    same = trained_on(flipped_test)
    pd.testing.assert_frame_equal(
        result.predictions.drop(columns="label"), same.predictions.drop(columns="label")
    )
    # Validation outcomes changed: the refitted models learned from them.
    flipped_valid = dataset.label.where(split != "valid", 1 - dataset.label)
    other = trained_on(flipped_valid)
    is_test = (split == "test").to_numpy()
    for name in ("logistic", "lightgbm"):
        assert not np.allclose(result.predictions[name][is_test], other.predictions[name][is_test])
    # The selection models (training rows only) did not see validation either.
    assert result.refit_trees >= result.best_iteration


def test_a_model_that_learned_nothing_is_a_warning():
    rng = np.random.default_rng(0)
    n = 3000
    # Nothing to learn: the best validation PR-AUC comes with the first tree.
    features = pd.DataFrame({"constant": np.ones(n), "coin": rng.integers(0, 2, n)})
    label = pd.Series((rng.random(n) < 0.1).astype(int))
    moment = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) // 5, unit="D"))
    dataset = Dataset(
        features,
        label,
        moment,
        pd.Series(np.arange(n).astype(str)),
        pd.DataFrame(columns=["reason", "leads"]),
        moment.max(),
    )
    params = ModelParams(backtest_folds=0, families=["lightgbm"])
    from scoring.core.config import BaselineParams, FeatureParams

    result = train.train_all(dataset, params, FeatureParams(), BaselineParams(), seed=1)
    assert result.refit_trees < train.MIN_TREES
    assert any("learned little" in w for w in result.warnings)


def test_backtest_plot_without_folds_says_so():
    # Regression: models.backtest_folds: 0 used to fail the training notebook (KeyError).
    import pandas as pd

    from scoring.report import plots

    figure = plots.backtest(pd.DataFrame())
    assert "No backtest folds" in figure.axes[0].texts[0].get_text()


@pytest.fixture(scope="module")
def any_age(small_crm):
    """The small CRM trained as an any-age model (label.snapshot_days) and as one moment a
    lead, both LightGBM, no backtest."""
    from scoring.core.config import FeatureParams, LabelParams
    from scoring.data import contract, features

    tables = contract.Tables(
        contract.validate_leads(small_crm.leads),
        contract.validate_activities(small_crm.activities),
    )
    params = ModelParams(families=["lightgbm"], backtest_folds=0, bootstrap_samples=20)
    out = {}
    for name, label in {
        "any age": LabelParams(snapshot_days=[0, 1, 3, 7, 14, 30, 60], snapshots_per_lead=2),
        "one moment": LabelParams(),
    }.items():
        dataset = features.build_dataset(tables, label, FeatureParams())
        out[name] = dataset, train.train_all(dataset, params, FeatureParams(), _rules(), 7)
    # Every open lead at every age (the snapshots keep them all; the model learned from some).
    probe = out["any age"][0]
    return out, probe


def _rules():
    from scoring.core.config import load_params
    from tests.conftest import ROOT

    return load_params(ROOT / "params.yaml").baseline


def test_an_any_age_model_learns_from_snapshots_and_is_calibrated_at_every_age(any_age):
    models, probe = any_age
    dataset, result = models["any age"]
    assert "lead_age_days" in result.feature_columns
    # Thresholds are chosen on out-of-fold probabilities of every validation lead.
    valid = result.predictions[result.predictions["split"] == "valid"]
    assert valid[train.out_of_fold_column("lightgbm")].notna().all()
    # The model learned from more rows than leads, and none from the test window.
    assert len(dataset.snapshots.label) > 2 * len(dataset.label)
    # Test leads at every age (features as of each moment): the any-age model's mean
    # probability follows the realized rate from a day to a month; the one-moment model,
    # which sees one age only, does not.
    part = splits.assign_snapshots(result.split, probe.moment, probe.snapshots)
    test = (part == "test").to_numpy()
    ages = probe.snapshots.age_days[test].to_numpy()
    realized = probe.snapshots.label[test].to_numpy()
    ratios = {}
    for name, (_, fitted) in models.items():
        model = fitted.models["lightgbm"]
        rows = probe.snapshots.features.loc[test, fitted.feature_columns]
        predicted = model.predict_proba(rows)[:, 1]
        ratios[name] = {
            age: predicted[ages == age].mean() / realized[ages == age].mean() for age in (1, 30)
        }
    assert 0.6 < ratios["any age"][1] < 1.5 and 0.5 < ratios["any age"][30] < 2.0, ratios
    assert ratios["one moment"][30] > 2 * ratios["any age"][30], ratios


def test_the_daily_job_is_replayed_on_every_validation_and_test_lead_at_each_age(any_age):
    models, _ = any_age
    dataset, result = models["any age"]
    replay = result.replay
    assert set(replay["split"]) == {"valid", "test"}
    assert models["one moment"][1].replay is None
    # Every open age of a lead, not only the moments the model learned from.
    ages = replay[~replay["comeback"]]
    per_lead = ages.groupby("lead_id").size()
    assert per_lead.max() == 7 and per_lead.mean() > 3
    # Quiet leads that came back are replayed the day after, too.
    assert replay["comeback"].any()
    valid = replay["split"] == "valid"
    assert replay.loc[valid, "oof_lightgbm"].notna().all()
    assert replay.loc[~valid, "oof_lightgbm"].isna().all()
    # Validation rows are never scored after validation ends.
    test_start = dataset.moment[result.split.assignment == "test"].min()
    assert (replay.loc[valid, "moment"] < test_start).all()
    # Today's rules score every age (points from each moment's features).
    assert replay["baseline_points"].notna().all() and replay["baseline_points"].nunique() > 5


def test_lightgbm_gets_names_it_accepts_and_people_keep_theirs():
    assert train.lightgbm_names(['Revenue, USD: "x"', "Revenue_ USD_ _x_", "[a]{b}\\c"]) == [
        "Revenue_ USD_ _x_",
        "Revenue_ USD_ _x__2",
        "_a__b__c",
    ]
    rng = np.random.default_rng(0)
    n = 400
    features = pd.DataFrame(
        {
            'Annual Revenue, USD: "x"': rng.normal(size=n),
            "Industry {segment}": rng.choice(["a", "b"], n),
        }
    )
    label = pd.Series((features.iloc[:, 0] + rng.normal(size=n) > 1).astype(int))
    half = n // 2
    model, _ = train.fit_lightgbm(
        features[:half], label[:half], features[half:], label[half:], {"n_estimators": 20}, 1
    )
    assert model.predict_proba(features).shape == (n, 2)
    from scoring.model import explain

    contributions = explain._explain_pipeline(model, features).contributions
    assert list(contributions.columns) == list(features.columns)


def test_honest_generated_features_pass_the_leave_one_out_check(trained):
    _, _, result = trained
    assert not [f for f in result.leakage if "adds more than all other" in f.reason]


def test_median_imputer_fills_as_scikit_learn_does_and_keeps_an_empty_column():
    from sklearn.impute import SimpleImputer

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    X[X > 1.0] = np.nan
    ours, theirs = train.MedianImputer().fit(X), SimpleImputer(strategy="median").fit(X)
    assert np.array_equal(ours.statistics_, theirs.statistics_)
    assert np.array_equal(ours.transform(X), theirs.transform(X))
    assert list(ours.get_feature_names_out()) == ["a", "b", "c"]
    X["empty"] = np.nan  # scikit-learn would drop it, and the artifact's columns with it
    filled = train.MedianImputer().fit(X).transform(X)
    assert filled.shape == (200, 4) and (filled[:, 3] == 0).all()


def test_fits_side_by_side_return_in_order_and_equal_fits_one_by_one(small_dataset):
    dataset = small_dataset[2]
    X, y = dataset.features.iloc[:3000], dataset.label.iloc[:3000]
    params = {**train.LIGHTGBM_DEFAULTS, "n_estimators": 30}
    models = train.side_by_side(
        [
            lambda s=s: train._lightgbm(params, s, threads=1).fit(X.select_dtypes("number"), y)
            for s in (1, 2)
        ]
    )
    alone = train._lightgbm(params, 2, threads=2).fit(X.select_dtypes("number"), y)
    raw = [m.predict(X.select_dtypes("number"), raw_score=True) for m in (*models, alone)]
    assert np.array_equal(raw[1], raw[2]) and not np.array_equal(raw[0], raw[1])


def test_the_search_keeps_the_defaults_unless_a_candidate_beats_them(monkeypatch):
    # Regression: the search never tried the defaults, so a budget of a few poor candidates
    # gave a model worse on validation than no search (synthetic-crm-export: 0.5104 < 0.5128).
    import itertools
    import types

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(1200, 4)), columns=list("abcd"))
    y = pd.Series((X["a"] + X["b"] + rng.normal(size=1200) > 1.0).astype(int))
    # A candidate that cannot split: a constant model, worse than the defaults.
    monkeypatch.setattr(train, "SEARCH_SPACE", {"min_child_samples": [100_000]})
    clock = itertools.count()
    monkeypatch.setattr(train, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    params, trials = train.search_lightgbm(X[:800], y[:800], X[800:], y[800:], 3, seed=0)
    assert trials == 3 and params == train.LIGHTGBM_DEFAULTS
    # Defaults that cannot split give way to a candidate that can.
    unsplittable = {**train.LIGHTGBM_DEFAULTS, "min_child_samples": 100_000}
    monkeypatch.setattr(train, "LIGHTGBM_DEFAULTS", unsplittable)
    monkeypatch.setattr(train, "SEARCH_SPACE", {"min_child_samples": [20]})
    params, _ = train.search_lightgbm(X[:800], y[:800], X[800:], y[800:], 3, seed=0)
    assert params["min_child_samples"] == 20
