"""The compiled trees equal LightGBM: raw scores its predict, contributions its pred_contrib,
with missing values, zero-as-missing and categories."""

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from scoring.runtime import trees
from scoring.runtime.trees import CompiledTrees, leaf_table


def test_leaf_table_is_the_shapley_value_of_a_two_feature_leaf():
    zero = np.array([0.3, 0.6])
    table = leaf_table(2.0, zero)
    for pattern in range(4):
        on = [(pattern >> k) & 1 for k in range(2)]
        assert table[pattern, 0] == pytest.approx(2.0 * (on[0] - 0.3) * (0.6 + on[1]) / 2)
        assert table[pattern].sum() == pytest.approx(2.0 * (on[0] * on[1] - 0.3 * 0.6))


def _model(use_missing: bool, n: int = 6000, levels: int = 7, **options):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "zeros": np.where(rng.random(n) < 0.4, 0.0, rng.exponential(size=n)),
            "gaps": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "kind": pd.Categorical(rng.integers(0, levels, n)),
        }
    )
    frame.loc[rng.random(n) < 0.1, "kind"] = np.nan
    liked = frame["kind"].isin([0, 2, levels - 1, levels - 3])
    logit = frame["x"] + liked - frame["gaps"].fillna(1) * 0.5
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    settings = {"n_estimators": 60, "num_leaves": 15, "min_child_samples": 20, **options}
    model = lgb.LGBMClassifier(
        use_missing=use_missing, zero_as_missing=not use_missing, verbose=-1, **settings
    ).fit(frame, label)
    matrix = frame.assign(kind=frame["kind"].cat.codes.replace(-1, np.nan)).to_numpy(float)
    # Rows LightGBM never saw: codes it does not know, negative codes, values on thresholds.
    extra = matrix[:200].copy()
    extra[:50, 3] = levels + 2
    extra[50:100, 3] = -2
    extra[100:, 1] = 0.0
    return model.booster_, np.vstack([matrix, extra])


@pytest.mark.parametrize(
    ("use_missing", "options"),
    [
        (True, {}),
        (False, {}),
        # Codes past one word's bits, and trees too wide for the bit-mask walk.
        pytest.param(
            True,
            {"levels": 90, "num_leaves": 80, "min_child_samples": 5, "n": 8000},
            marks=pytest.mark.slow,
        ),
    ],
)
def test_compiled_trees_equal_lightgbm(use_missing, options):
    booster, matrix = _model(use_missing, **options)
    compiled = CompiledTrees(booster)
    assert compiled.compiled and compiled.tabled
    assert compiled.arrays.narrow == ("num_leaves" not in options)
    if "levels" in options:
        assert (compiled.arrays.kind == trees.WIDE_CATEGORICAL).any()
    expected_raw = booster.predict(matrix, raw_score=True)
    expected_contributions = booster.predict(matrix, pred_contrib=True)
    for threads in (1, 2):
        assert np.max(np.abs(compiled.raw_score(matrix, threads) - expected_raw)) < 1e-12
        got = compiled.contributions(matrix, threads)
        assert np.max(np.abs(got - expected_contributions)) < 1e-9
    assert compiled.expected_value == pytest.approx(expected_contributions[0, -1], abs=1e-12)


def test_a_model_the_loops_cannot_reproduce_is_scored_by_lightgbm(monkeypatch):
    booster, matrix = _model(True, n=2000)
    monkeypatch.setattr(trees, "MAX_DEPTH", 2)  # paths too deep for tables
    compiled = CompiledTrees(booster)
    assert compiled.compiled and not compiled.tabled
    assert np.allclose(compiled.contributions(matrix), booster.predict(matrix, pred_contrib=True))
    linear, matrix = _model(True, n=2000, linear_tree=True)
    compiled = CompiledTrees(linear)
    assert not compiled.compiled
    assert np.array_equal(compiled.raw_score(matrix), linear.predict(matrix, raw_score=True))
