"""The table-based TreeSHAP equals LightGBM's pred_contrib, missing values and categories too."""

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from scoring.treeshap import TreeExplainer, leaf_table


def test_leaf_table_is_the_shapley_value_of_a_two_feature_leaf():
    zero = np.array([0.3, 0.6])
    table = leaf_table(2.0, zero)
    for pattern in range(4):
        on = [(pattern >> k) & 1 for k in range(2)]
        assert table[pattern, 0] == pytest.approx(2.0 * (on[0] - 0.3) * (0.6 + on[1]) / 2)
        assert table[pattern].sum() == pytest.approx(2.0 * (on[0] * on[1] - 0.3 * 0.6))


@pytest.mark.parametrize("use_missing", [True, False])
def test_contributions_equal_pred_contrib(use_missing):
    rng = np.random.default_rng(3)
    n = 6000
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "zeros": np.where(rng.random(n) < 0.4, 0.0, rng.exponential(size=n)),
            "gaps": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "kind": pd.Categorical(rng.choice(list("abcdefg"), n)),
        }
    )
    frame.loc[rng.random(n) < 0.1, "kind"] = np.nan
    logit = frame["x"] + (frame["kind"].isin(["a", "c"])) - frame["gaps"].fillna(1) * 0.5
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = lgb.LGBMClassifier(
        n_estimators=60,
        num_leaves=15,
        min_child_samples=20,
        use_missing=use_missing,
        zero_as_missing=not use_missing,
        verbose=-1,
    ).fit(frame, label)
    booster = model.booster_
    matrix = frame.assign(kind=frame["kind"].cat.codes.replace(-1, np.nan)).to_numpy(float)
    expected = booster.predict(matrix, pred_contrib=True)
    explainer = TreeExplainer(booster)
    for threads in (1, 2):
        got = explainer.contributions(matrix, threads=threads)
        assert np.max(np.abs(got - expected)) < 1e-9
