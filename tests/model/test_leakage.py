import numpy as np
import pandas as pd

from scoring.core.config import FeatureParams
from scoring.model.leakage import (
    detect_leakage,
    dominance_flags,
    excluded_columns,
    single_feature_auc,
)


def _frame(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    label = pd.Series((rng.random(n) < 0.2).astype(int))
    frame = pd.DataFrame(
        {
            "honest": label * 0.5 + rng.normal(0, 1, n),
            "activity_after_conversion": label * 5 + rng.normal(0, 0.5, n),
            "status": np.where(label == 1, "Converted", rng.choice(["Open", "Nurture"], n)),
            "industry": rng.choice(["software", "retail", "education"], n),
        }
    )
    return frame, label


def test_planted_leaks_are_flagged_with_evidence():
    frame, label = _frame()
    flags = {f.column: f for f in detect_leakage(frame, label, FeatureParams())}
    assert set(flags) == {"activity_after_conversion", "status"}
    assert flags["activity_after_conversion"].evidence > 0.9
    assert "ROC-AUC" in flags["activity_after_conversion"].reason
    assert excluded_columns(list(flags.values())) == ["activity_after_conversion", "status"]


def test_allowed_columns_are_reported_but_kept():
    frame, label = _frame()
    flags = detect_leakage(frame, label, FeatureParams(allow_columns=["status"]))
    status = next(f for f in flags if f.column == "status")
    assert status.allowed
    assert "status" not in excluded_columns(flags)


def test_near_pure_category_without_high_auc():
    rng = np.random.default_rng(1)
    n = 3000
    label = pd.Series((rng.random(n) < 0.1).astype(int))
    rating = np.where(rng.random(n) < 0.5, "none", "cold").astype(object)
    hot = (label == 1) & (rng.random(n) < 0.3)
    rating[hot] = "hot"
    frame = pd.DataFrame({"rating": rating})
    params = FeatureParams(leakage_auc_max=0.99)
    flags = detect_leakage(frame, label, params)
    assert [f.column for f in flags] == ["rating"]
    assert "almost always convert" in flags[0].reason and "'hot'" in flags[0].detail


def test_real_signal_with_zero_conversion_category_is_not_flagged():
    rng = np.random.default_rng(2)
    n = 3000
    seniority = rng.choice(["student", "manager", "director"], n, p=[0.05, 0.55, 0.4])
    label = pd.Series(((seniority != "student") & (rng.random(n) < 0.15)).astype(int))
    assert detect_leakage(pd.DataFrame({"seniority": seniority}), label, FeatureParams()) == []


def test_single_feature_auc_takes_the_better_direction():
    label = pd.Series([0, 0, 1, 1])
    assert single_feature_auc(pd.Series([4.0, 3.0, 2.0, 1.0]), label) == 1.0
    assert single_feature_auc(pd.Series(["a", "a", "b", "b"]), label) == 1.0


def test_generated_features_are_not_flagged(small_dataset):
    params, _, dataset = small_dataset
    assert detect_leakage(dataset.features, dataset.label, params.features) == []


def test_blank_when_not_converted_is_flagged():
    rng = np.random.default_rng(3)
    n = 2000
    label = pd.Series((rng.random(n) < 0.2).astype(int))
    days = pd.Series(np.where(label == 1, rng.uniform(1, 90, n), np.nan))
    flags = detect_leakage(pd.DataFrame({"converted_days_ago": days}), label, FeatureParams())
    assert [f.reason for f in flags] == ["whether it is filled reveals the outcome"]


def test_a_total_that_includes_a_leaky_count_is_flagged_as_its_proxy():
    rng = np.random.default_rng(4)
    n = 3000
    label = pd.Series((rng.random(n) < 0.2).astype(int))
    opens = rng.poisson(4, n) + label * rng.poisson(10, n)
    visits = rng.poisson(3, n)
    frame = pd.DataFrame({"opens": opens, "visits": visits, "total": opens + visits})
    # the total ranks leads a little less well than the count it includes
    params = FeatureParams(leakage_auc_max=0.985)
    assert (
        single_feature_auc(frame["total"], label)
        < 0.985
        < single_feature_auc(frame["opens"], label)
    )
    flags = {f.column: f for f in detect_leakage(frame, label, params)}
    assert set(flags) == {"opens", "total"}
    assert flags["total"].reason == "moves with leaky column 'opens'"
    no_proxies = params.model_copy(update={"leakage_proxy_corr": 1.0})
    assert {f.column for f in detect_leakage(frame, label, no_proxies)} == {"opens"}


def test_a_sales_process_field_is_flagged_by_its_name():
    rng = np.random.default_rng(0)
    label = pd.Series(rng.random(2000) < 0.2).astype(int)
    frame = pd.DataFrame(
        {
            # No statistical trace: only the name gives it away.
            "Last Notable Activity": rng.choice(["Email Opened", "Page Visited"], 2000),
            "Lead Quality": rng.choice(["High", "Low", "Might be"], 2000),
            "Marital Status": rng.choice(["single", "married"], 2000),
            "Job": rng.choice(["admin", "retired"], 2000),
        }
    )
    flags = {f.column: f for f in detect_leakage(frame, label, FeatureParams(), by_name=True)}
    assert set(flags) == {"Last Notable Activity", "Lead Quality"}
    assert flags["Lead Quality"].reason == "filled in by the sales process"
    assert "quality" in flags["Lead Quality"].detail
    assert (
        flags["Lead Quality"].params_change
        == "features.allow_columns: add 'Lead Quality' (to keep it)"
    )
    assert excluded_columns(list(flags.values())) == ["Last Notable Activity", "Lead Quality"]
    # Engineered features are named by us, not by a CRM: names are not checked.
    assert detect_leakage(frame, label, FeatureParams()) == []
    # Users extend or replace the vocabulary.
    custom = FeatureParams(after_outcome_patterns=["^job$"])
    assert [f.column for f in detect_leakage(frame, label, custom, by_name=True)] == ["Job"]


def test_a_pure_category_in_a_source_field_is_kept_and_listed_for_review():
    rng = np.random.default_rng(1)
    n = 4000
    source = pd.Series(rng.choice(["web", "event", "partner"], n, p=[0.6, 0.38, 0.02]))
    label = pd.Series((rng.random(n) < np.where(source == "partner", 0.99, 0.1)).astype(int))
    label[source == "partner"] = 1
    frame = pd.DataFrame({"Lead Source": source, "Segment": source.map(str.upper)})
    flags = {
        f.column: f
        for f in detect_leakage(frame, label, FeatureParams(pure_category_min_support=20))
    }
    assert flags["Lead Source"].action == "kept, review"
    assert "creation-time" in flags["Lead Source"].reason
    assert flags["Segment"].action == "excluded"  # the same evidence in a field of unknown origin
    assert excluded_columns(list(flags.values())) == ["Segment"]
    assert "drop_columns" in flags["Lead Source"].params_change


def test_a_dominant_column_is_listed_for_review():
    shares = pd.Series({"a": 0.7, "b": 0.2, "c": 0.1})
    flags = dominance_flags(shares, FeatureParams())
    assert [(f.column, f.action) for f in flags] == [("a", "kept, review")]
    assert dominance_flags(shares, FeatureParams(dominance_share=0.8)) == []


def _call_length(n: int = 6000, seed: int = 1) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Leads with two honest fields and a call length that, like bank-marketing's `duration`,
    is recorded after the call: alone it ranks at ROC-AUC ~0.85 (under leakage_auc_max), but
    it adds far more than the honest fields together."""
    rng = np.random.default_rng(seed)
    fit, intent = rng.normal(size=n), rng.normal(size=n)
    label = pd.Series(
        (rng.random(n) < 1 / (1 + np.exp(-(0.4 * fit + 0.4 * intent - 2)))).astype(int)
    )
    frame = pd.DataFrame(
        {
            "employees": fit,
            "visits": intent,
            "call_seconds": 100 + 140 * label + rng.normal(0, 120, n),
            "region": rng.choice(["north", "south"], n),
        }
    )
    assignment = pd.Series(np.where(np.arange(n) < 0.7 * n, "train", "valid"))
    return frame, label, assignment


def test_a_field_that_adds_more_than_all_others_together_is_excluded_by_evidence():
    from scoring.model import leakage, train

    frame, label, assignment = _call_length()
    params = FeatureParams()
    first = detect_leakage(frame[assignment == "train"], label[assignment == "train"], params)
    assert "call_seconds" not in {f.column for f in first}  # names and AUC alone miss it
    gains = train.leave_one_out_gains(frame, label, assignment, first, params, seed=1)
    assert set(gains) == {"call_seconds", "employees", "visits"}  # the 3 strongest alone
    flags = leakage.gain_flags(gains, params)
    assert [f.column for f in flags] == ["call_seconds"]
    assert flags[0].excluded and "without it" in flags[0].detail
    with_it, without = gains["call_seconds"]
    assert with_it - without > 0.1
    assert max(a - b for c, (a, b) in gains.items() if c != "call_seconds") < 0.06
    kept = leakage.gain_flags(gains, FeatureParams(allow_columns=["call_seconds"]))
    assert kept[0].allowed and not kept[0].excluded
    none = train.leave_one_out_gains(
        frame, label, assignment, first, FeatureParams(leakage_gain_candidates=0), seed=1
    )
    assert none == {}


def test_a_binned_twin_of_an_excluded_score_is_flagged_by_association():
    """Regression: an export's 'Activity Score' was excluded by its name while its binned
    'Activity Index' (High / Medium / Low) stayed; the proxy check read numbers only."""
    from scoring.model.leakage import cramers_v

    rng = np.random.default_rng(5)
    n = 4000
    label = pd.Series((rng.random(n) < 0.3).astype(int))
    score = np.round(10 + 1.5 * label + rng.normal(0, 1.5, n))
    frame = pd.DataFrame(
        {
            "Rep Score": score,
            "Rep Index": pd.cut(
                score, [-np.inf, 10, 13, np.inf], labels=["Low", "Mid", "High"]
            ).astype(str),
            "Industry": rng.choice(["software", "retail", "banking", "other"], n),
            "Visits": rng.poisson(3 + label),
        }
    )
    params = FeatureParams(after_outcome_patterns=["rep score"])
    flags = {f.column: f for f in detect_leakage(frame, label, params, by_name=True)}
    assert flags["Rep Score"].excluded
    assert flags["Rep Index"].excluded and "goes with leaky column 'Rep Score'" in (
        flags["Rep Index"].reason
    )
    assert "Cramer's V" in flags["Rep Index"].detail
    assert "Industry" not in flags and "Visits" not in flags
    # Independent columns of many levels on few rows do not read as associated.
    a, b = rng.integers(0, 50, 300), rng.integers(0, 50, 300)
    assert cramers_v(a, b) < 0.2
    assert cramers_v(a, a) > 0.99


def _profile_export(n: int = 6000, seed: int = 3) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """A flat export whose 'Lead Profile' a rep fills in once a lead is worked: blank for most
    leads that did not convert, filled (with a value that leans to the outcome) for most that
    did; and an honest 'Phone' filled a little more often for converters."""
    rng = np.random.default_rng(seed)
    visits = rng.poisson(2, n)
    label = pd.Series((rng.random(n) < 0.08 + 0.06 * visits).astype(int))
    worked = rng.random(n) < np.where(label == 1, 0.8, 0.12)
    profile = np.where(
        label == 1,
        rng.choice(["Potential Lead", "Other Leads"], n, p=[0.7, 0.3]),
        rng.choice(["Potential Lead", "Other Leads", "Student"], n, p=[0.2, 0.4, 0.4]),
    )
    frame = pd.DataFrame(
        {
            "Visits": visits,
            "Industry": rng.choice(["software", "retail", "banking"], n),
            "Lead Profile": pd.Series(np.where(worked, profile, None), dtype=object),
            "Phone": pd.Series(
                np.where(rng.random(n) < np.where(label == 1, 0.75, 0.6), "yes", None),
                dtype=object,
            ),
        }
    )
    assignment = pd.Series(np.where(np.arange(n) < n * 0.7, "train", "valid"))
    return frame, label, assignment


def test_a_field_filled_once_the_outcome_is_reached_is_excluded_by_its_blanks_and_gain():
    """Regression: an export's rep-filled profile field passed every check (no telling name,
    single-field ROC-AUC below 0.9) and fed the rules +80 points."""
    from scoring.model import leakage, train

    frame, label, assignment = _profile_export()
    train_rows = assignment == "train"
    params = FeatureParams()
    first = detect_leakage(frame[train_rows], label[train_rows], params, by_name=True)
    by_column = {f.column: f for f in first}
    assert by_column["Lead Profile"].review_only and "filled for 7" in (
        by_column["Lead Profile"].detail
    )
    assert "Phone" not in by_column  # filled more often for converters, but not 3 times
    gains = train.leave_one_out_gains(frame, label, assignment, first, params, seed=1)
    assert "Lead Profile" in gains  # a candidate by its blanks, whatever its strength alone
    more = leakage.gain_flags(gains, params, first)
    merged = {f.column: f for f in leakage.merge_flags(first, more)}
    flag = merged["Lead Profile"]
    assert flag.excluded and "filled far more often" in flag.reason
    assert "the model leans on it" in flag.reason and "leakage_fill_gain_max" in flag.detail
    assert len([f for f in leakage.merge_flags(first, more) if f.column == "Lead Profile"]) == 1
    # Engineered (point-in-time) features are not judged by their blanks.
    assert "Lead Profile" not in {
        f.column for f in detect_leakage(frame[train_rows], label[train_rows], params)
    }
    kept = FeatureParams(leakage_fill_ratio=20)
    assert "Lead Profile" not in {
        f.column for f in detect_leakage(frame[train_rows], label[train_rows], kept, by_name=True)
    }
