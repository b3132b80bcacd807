import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression

from scoring.model.calibration import AGE_OFFSET_PRIOR, CalibratedModel, fit_age_offsets
from scoring.runtime.artifact import calibrate, shift_by_age


def _ages_world(seed: int = 0):
    """Leads at ages 1 and 30 given the same probability, though those aged 30 convert twice
    as often: one calibrator for every age under-predicts them."""
    rng = np.random.default_rng(seed)
    age = np.repeat([1.0, 30.0], 20_000)
    probability = np.full(len(age), 0.05)
    label = (rng.random(len(age)) < np.where(age == 30.0, 0.10, 0.05)).astype(int)
    return probability, label, age


def test_each_training_age_is_shifted_to_its_own_conversion_rate():
    probability, label, age = _ages_world()
    offsets = fit_age_offsets(probability, label, age, [1.0, 30.0], "lead_age_days")
    shifted = shift_by_age(offsets, probability, age)
    for at in (1.0, 30.0):
        rows = age == at
        conversions = label[rows].sum()
        # Shrunk towards no shift by conversions / (conversions + prior): close, not exact.
        assert shifted[rows].mean() == pytest.approx(label[rows].mean(), rel=0.05)
        assert conversions > 20 * AGE_OFFSET_PRIOR
    assert offsets["offsets"][1] > 0.6  # log(0.10/0.90) - log(0.05/0.95), shrunk a little
    # Between training ages the shift is linear in age; beyond the ends it is flat.
    middle = shift_by_age(offsets, [0.05, 0.05, 0.05], [15.5, 60.0, 0.0])
    assert shifted[0] < middle[0] < shifted[-1]
    assert middle[1] == pytest.approx(shifted[-1]) and middle[2] == pytest.approx(shifted[0])


def test_an_age_with_few_conversions_is_barely_shifted():
    age = np.repeat([7.0], 400)
    label = np.zeros(400, dtype=int)
    label[:4] = 1  # 1% against 5% predicted, but on 4 conversions
    offsets = fit_age_offsets(np.full(400, 0.05), label, age, [7.0, 14.0], "lead_age_days")
    exact = np.log(0.01 / 0.99) - np.log(0.05 / 0.95)
    assert offsets["offsets"][0] == pytest.approx(exact * 4 / (4 + AGE_OFFSET_PRIOR), rel=0.02)
    assert offsets["offsets"][1] == 0.0  # no rows at 14 days: no evidence, no shift


def test_the_artifact_applies_the_shift_as_training_did_and_needs_the_age():
    probability, label, age = _ages_world(1)
    raw = np.log(probability / (1 - probability)) + np.random.default_rng(2).normal(0, 1, len(age))
    calibrator = IsotonicRegression(out_of_bounds="clip").fit(raw, label)
    model = CalibratedModel({}, {}, "isotonic", calibrator)
    model.age_offsets = fit_age_offsets(
        calibrator.predict(raw), label, age, [1.0, 30.0], "lead_age_days"
    )
    X = pd.DataFrame({"lead_age_days": age})
    document = model.to_document()
    assert np.allclose(calibrate(document, raw, X), model.calibrate(raw, X))
    with pytest.raises(ValueError, match="lead_age_days"):
        calibrate(document, raw, pd.DataFrame({"other": age}))


def test_probabilities_of_several_models_equal_each_model_s_own(small_training):
    from scoring.model.calibration import probabilities

    _, dataset, result = small_training
    X = dataset.features[result.feature_columns].iloc[:500]
    together = probabilities(result.models, X)
    assert set(together) == set(result.models)
    for name, model in result.models.items():
        assert np.array_equal(together[name], model.predict_proba(X)[:, 1])
