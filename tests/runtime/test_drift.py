"""Population stability index: bands, bins, unseen and missing levels."""

import numpy as np
import pandas as pd
import pytest

from scoring.runtime import drift


def test_same_distribution_is_stable_and_a_shift_is_major():
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(list("abc"), 5000)})
    profile = drift.profile(reference)
    same = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(list("abc"), 5000)})
    shifted = pd.DataFrame(
        {"x": rng.normal(loc=1.5, size=5000), "c": rng.choice(list("abc"), 5000, p=[0.8, 0.1, 0.1])}
    )
    stable = drift.population_stability(profile, same).set_index("feature")
    moved = drift.population_stability(profile, shifted).set_index("feature")
    assert (stable["band"] == "stable").all()
    assert (moved["band"] == "major").all() and (moved["psi"] > 0.25).all()


def test_unseen_levels_and_missing_values_count_as_drift():
    reference = pd.DataFrame({"c": ["a", "b"] * 500, "x": [1.0, 2.0, 3.0, 4.0] * 250})
    profile = drift.profile(reference)
    current = pd.DataFrame({"c": ["new"] * 1000, "x": [np.nan] * 1000})
    table = drift.population_stability(profile, current).set_index("feature")
    assert table.loc["c", "band"] == "major" and table.loc["x", "band"] == "major"


def test_profile_is_json_ready_and_the_score_is_reported_separately():
    import json

    reference = pd.DataFrame({"x": np.arange(100.0), "score": np.linspace(0, 1, 100)})
    profile = drift.profile(reference)
    json.dumps(profile)
    table = drift.population_stability(
        profile, pd.DataFrame({"x": np.arange(100.0)}), pd.Series(np.linspace(0, 1, 100))
    )
    document = drift.summary(table, "train", "new")
    assert document["score_psi"] == pytest.approx(0.0, abs=1e-9)
    assert document["drift_found"] is False and "No major drift" in drift.markdown(document)


@pytest.mark.parametrize(("value", "band"), [(0.05, "stable"), (0.1, "moderate"), (0.3, "major")])
def test_bands(value, band):
    assert drift.band(value) == band
