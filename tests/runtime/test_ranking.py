"""Each row's k largest values: what a stable full sort puts first, ties included."""

import numpy as np

from scoring.runtime.ranking import top_columns


def test_top_columns_equal_a_stable_sort():
    rng = np.random.default_rng(1)
    values = np.round(rng.normal(size=(500, 12)), 1)  # rounded: many ties
    values[:, 5] = 0.0
    for sign in (1.0, -1.0):
        for k in (1, 3, 12, 20):
            expected = np.argsort(-sign * values, axis=1, kind="stable")[:, :k]
            assert np.array_equal(top_columns(values, k, sign), expected)
    assert top_columns(values[:0], 3).shape == (0, 3)
