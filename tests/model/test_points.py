"""Learned point rules: budget, readable points, monotone numbers, the CSV applied by hand,
the threshold in points and the test figures."""

import csv
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from scoring.core.config import BaselineParams, PointsParams, Rule
from scoring.io.runfolder import RunFolder
from scoring.model import points, points_page
from scoring.runtime import rules


@pytest.fixture(scope="module")
def learned(small_training):
    params, dataset, result = small_training
    params = params.model_copy(
        update={"models": params.models.model_copy(update={"bootstrap_samples": 200})}
    )
    features = dataset.features.reset_index(drop=True)
    predictions = result.predictions.reset_index(drop=True)
    card, scored, evaluation = points.build(
        features, predictions, result.feature_columns, result.chosen_model, params
    )
    return params, features, predictions, card, scored, evaluation


def test_rules_stay_within_the_budget_and_are_whole_points(learned):
    params, _, _, card, scored, _ = learned
    assert 0 < len(card.rules) <= params.points.max_rules
    assert all(r.points == int(r.points) and r.points != 0 for r in card.rules)
    assert card.threshold == int(card.threshold)
    assert {r.kind for r in card.rules} <= {"fit", "behaviour"}
    # Fit and behaviour are kept apart and add up to the total.
    assert np.array_equal(scored["fit"] + scored["behaviour"], scored["points"])
    assert "email_click_rate" not in card.fields  # excluded in params.yaml


def test_numbers_are_monotone_and_categories_never_negative(learned):
    _, _, _, card, _, _ = learned
    steps: dict[str, set] = {}
    for rule in card.rules:
        if rule.op == ">=":
            steps.setdefault(rule.field, set()).add(np.sign(rule.points))
        else:
            # A field's groups are shifted to be positive; its blanks have their own rule.
            assert rule.op == "==" or (rule.op == "in" and rule.points > 0), rule
    assert all(len(signs) == 1 for signs in steps.values()), steps


def test_a_coarser_scale_and_a_smaller_budget(small_training):
    params, dataset, result = small_training
    settings = params.points.model_copy(update={"max_rules": 5, "rounding": 5})
    rules, selection, _, validation = points.learn(
        dataset.features.reset_index(drop=True),
        result.predictions["label"].reset_index(drop=True),
        result.predictions["split"].reset_index(drop=True),
        result.feature_columns,
        settings,
        7,
    )
    assert 0 < len(rules) <= 5 and len(selection) <= 5
    assert all(r.points % 5 == 0 for r in rules)
    assert len(validation) == (result.predictions["split"] == "valid").sum()
    # Each step of the forward selection improved validation PR-AUC.
    assert selection["valid_pr_auc"].is_monotonic_increasing


def _hand_points(row: dict, rules: list[dict]) -> float:
    """A rule file applied the way a person would read it: a plain loop, no package code."""
    total = 0.0
    for rule in rules:
        value = row[rule["field"]]
        blank = value is None or (isinstance(value, float) and math.isnan(value))
        if rule["op"] == "is empty":  # the features spell a blank "unknown" or "missing"
            hit = blank or str(value).strip().lower() in ("", "unknown", "missing")
            total += float(rule["points"]) if hit else 0.0
            continue
        if blank:
            continue
        if rule["op"] == ">=":
            hit = float(value) >= float(rule["value"])
        elif rule["op"] == "in":
            allowed = [v.strip().lower() for v in rule["value"].split("|")]
            hit = str(value).strip().lower() in allowed
        elif rule["op"] == "==":  # the JSON's spelling of "is empty"
            hit = str(value).strip().lower() == str(rule["value"]).strip().lower()
        else:
            raise AssertionError(f"unexpected op {rule['op']}")
        if hit:
            total += float(rule["points"])
    return total


def test_points_rules_csv_applied_by_hand_gives_the_package_points(learned, tmp_path):
    params, features, predictions, card, scored, evaluation = learned
    run = RunFolder(tmp_path)
    saved = points.document(card, evaluation, params.points)
    points_page.save(saved, card.table, "became SQL", run)
    with run.points_csv.open(newline="") as handle:
        rules = list(csv.DictReader(handle))
    assert len(rules) == len(card.rules)
    test = np.flatnonzero((predictions["split"] == "test").to_numpy())
    rows = features.iloc[test].astype(object).to_dict(orient="records")
    by_hand = np.array([_hand_points(row, rules) for row in rows])
    assert np.array_equal(by_hand, scored["points"].to_numpy()[test])
    # The markdown page names every rule and the threshold.
    page = run.points_md.read_text()
    assert all(r["rule"] in page for r in rules)
    assert f"**{card.threshold:g}**" in page


def test_threshold_on_validation_out_of_fold_points_matches_todays_volume(learned):
    params, _, predictions, card, scored, _ = learned
    assert card.policy == "volume_matched"
    valid = (predictions["split"] == "valid").to_numpy()
    today = (predictions["baseline_points"] >= params.baseline.mql_threshold).to_numpy()
    # Chosen on points from rules fitted without each validation lead, on the final scale.
    mine = card.validation >= card.threshold
    assert today[valid].sum() <= mine.sum() <= 1.5 * today[valid].sum()
    final = scored["points"].to_numpy()[valid]
    assert np.corrcoef(card.validation, final)[0, 1] > 0.95
    assert abs(np.median(card.validation - final)) <= 5


def test_test_figures_are_the_test_rows_with_paired_intervals(learned):
    _, _, predictions, card, scored, evaluation = learned
    test = (predictions["split"] == "test").to_numpy()
    label = predictions["label"].to_numpy()[test]
    expected = average_precision_score(label, scored["points"].to_numpy()[test])
    pr = evaluation["ranking"]["points"]["pr_auc"]
    assert pr["value"] == pytest.approx(expected, abs=1e-12)
    assert pr["low"] <= pr["value"] <= pr["high"]
    model = evaluation["ranking"]["model"]["pr_auc"]["value"]
    rules = evaluation["ranking"]["rules"]["pr_auc"]["value"]
    gain = evaluation["gain_kept"]["value"]
    assert gain == pytest.approx((pr["value"] - rules) / (model - rules))
    versus = evaluation["versus"]["rules"]["pr_auc"]
    assert versus["value"] == pytest.approx(pr["value"] - rules)
    volume = next(p for p in evaluation["policies"] if p["policy"] == "volume_matched")
    assert volume["threshold_points"] == card.threshold
    assert {"points", "model", "rules", "conversion_vs_rules", "conversion_vs_model"} <= set(volume)


def test_unknown_fields_are_refused_and_dates_never_become_rules():
    frame = pd.DataFrame(
        {
            "visits": [0, 1, 2],
            "seen_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
        }
    )
    settings = PointsParams(fields=["visits", "vists"])
    with pytest.raises(points.PointsError, match=r"\['vists'\]"):
        points.candidate_fields(frame, list(frame.columns), settings)
    allowed = points.candidate_fields(frame, list(frame.columns), PointsParams())
    assert allowed == ["visits"]
    with pytest.raises(points.PointsError, match="no field is left"):
        points.candidate_fields(frame, ["seen_at"], PointsParams())


def test_category_penalties_become_points_for_the_other_values():
    bins = {
        "industry": points.FieldBins(
            "industry", False, [], [["retail"], ["software"], ["fintech", "banking"]], 0.3
        )
    }

    def rule(values, value):
        return Rule(name="x", kind="fit", field="industry", op="in", value=values, points=value)

    shifted, shifts = points._no_negative_groups(
        [rule(["retail"], -30.0), rule(["software"], -10.0)], bins, room=1
    )
    assert {tuple(r.value): r.points for r in shifted} == {
        ("software",): 20.0,
        ("banking", "fintech"): 30.0,
    }
    assert shifts == {"industry": 30.0}
    frame = pd.DataFrame({"industry": ["retail", "software", "fintech", "banking"]})
    before = rules.points(
        frame,
        BaselineParams(rules=[rule(["retail"], -30.0), rule(["software"], -10.0)]),
    )
    after = rules.points(frame, BaselineParams(rules=shifted))
    assert ((after - before) == 30).all()  # same order, every lead moved by the same points


def test_a_penalty_on_a_field_of_many_values_becomes_points_for_every_other_value():
    """Regression: job-title groups kept negative points when more than 12 other values had
    to be listed; every other value now gets the points of one 'is not empty and none of'
    rule naming the penalised group, the other groups keeping theirs on top."""
    titles = [f"title {i}" for i in range(40)]
    good = ["cfo", "ceo", *titles[:14]]  # more than 12 values on either side of the penalty
    bins = {
        "Job Title": points.FieldBins(
            "Job Title", False, [], [["intern", "student"], good, titles[14:]], 0.3, empty=True
        )
    }

    def rule(values, value):
        return Rule(name="x", kind="fit", field="Job Title", op="in", value=values, points=value)

    original = [rule(["intern", "student"], -20.0), rule(good, 15.0)]
    shifted, shifts = points._no_negative_groups(original, bins, room=1)
    kept, _ = points._no_negative_groups(original, bins, room=0)  # no room for a blanks rule
    assert kept == original
    assert shifts == {"Job Title": 20.0}
    assert all(r.points > 0 for r in shifted)
    none_of = next(r for r in shifted if r.op == "not_in")
    assert none_of.points == 20.0 and "missing" in none_of.value
    assert none_of.name == "Job title is not empty and none of: intern, student"
    # Blanks keep their place among the values: a rule of their own moves with them.
    empty = next(r for r in shifted if r.op == "==")
    assert (empty.name, empty.points) == ("Job title is empty", 20.0)
    frame = pd.DataFrame(
        {"Job Title": ["intern", "cfo", "title 3", "title 27", "someone new", "missing"]}
    )
    before = rules.points(frame, BaselineParams(rules=original))
    after = rules.points(frame, BaselineParams(rules=shifted))
    # Every lead but the penalised group's moved by the same points: the same order.
    assert list(after - before) == [20.0, 20.0, 20.0, 20.0, 20.0, 20.0]


def test_conditions_read_as_people_say_them():
    assert points.condition("industry_missing", ">=", 1) == "Industry is empty"
    assert points.condition("housing", ">=", 1, binary=True) == "Housing is yes"
    assert points.condition("seniority", "in", ["c_level", "vp"]) == "Seniority is C-level or VP"
    # An export's own values stay as written.
    assert points.condition("job", "in", ["student", "admin."]) == "Job is student or admin."
    # A value with a comma is quoted, so the list reads one way.
    assert points.condition("Job Title", "in", ["manager, finance", "cfo"]) == (
        'Job title is "manager, finance" or cfo'
    )
    assert points.condition("log_employees", ">=", float(np.log1p(200))) == (
        "Employees at least 200"
    )
    assert points.condition("page_pricing_90d", ">=", 4) == (
        "Pricing page visits (90 days) at least 4"
    )


def test_no_share_of_gain_when_the_model_is_not_clearly_better(learned):
    params, _, _, card, _, evaluation = learned
    saved = points.document(card, evaluation, params.points)
    assert any("keep" in line for line in points_page.summary_lines(saved))
    saved["evaluation"]["model_gain"] = {"value": 0.003, "low": -0.01, "high": 0.015}
    lines = points_page.summary_lines(saved)
    assert not any("They keep" in line for line in lines)
    assert any("not clearly better" in line for line in lines)


def test_a_share_just_under_a_bar_does_not_read_as_meeting_it(learned):
    params, _, _, card, _, evaluation = learned
    saved = points.document(card, evaluation, params.points)
    saved["evaluation"]["model_gain"] = {"value": 0.16, "low": 0.12, "high": 0.2}
    saved["evaluation"]["versus"]["rules"]["pr_auc"] = {"value": 0.13, "low": 0.1, "high": 0.16}
    saved["evaluation"]["gain_kept"] = {"value": 0.7994, "low": 0.6929, "high": 0.9025}
    (line,) = [line for line in points_page.summary_lines(saved) if "They keep" in line]
    assert "**79.9%**" in line and "69.3% to 90.2%" in line


def test_the_newton_fit_is_scikit_learns_penalised_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    matrix = (rng.random((4000, 6)) < [0.05, 0.2, 0.5, 0.3, 0.01, 0.7]).astype(float)
    logit = matrix @ np.array([2.0, -1.0, 0.5, 0.0, 3.0, -0.3]) - 2.0
    label = (rng.random(4000) < 1 / (1 + np.exp(-logit))).astype(float)
    mine = points._fit(matrix, label)
    theirs = LogisticRegression(C=points.FIT_C, tol=1e-10, max_iter=10_000).fit(matrix, label)
    assert np.allclose(mine.coef, theirs.coef_[0], atol=1e-4)
    assert mine.intercept == pytest.approx(theirs.intercept_[0], abs=1e-4)
    # Warm-started from elsewhere, the same optimum.
    again = points._fit(matrix, label, np.r_[1.0, np.ones(6)])
    assert np.allclose(again.coef, mine.coef, atol=1e-6)


def test_rules_below_the_baseline_say_so_instead_of_a_negative_share(learned):
    params, _, _, card, _, evaluation = learned
    saved = points.document(card, evaluation, params.points)
    saved["evaluation"]["versus"]["rules"]["pr_auc"] = {"value": -0.04, "low": -0.06, "high": -0.02}
    lines = points_page.summary_lines(saved)
    assert not any("They keep" in line for line in lines)
    assert any("rank below today's rules" in line and "-0.040" in line for line in lines)


def test_a_wide_export_bins_only_its_most_informative_fields():
    rng = np.random.default_rng(5)
    label = (rng.random(3000) < 0.2).astype(int)
    frame = pd.DataFrame({f"noise_{i}": rng.normal(size=3000) for i in range(150)})
    frame["visits"] = label * 3 + rng.poisson(1, 3000)
    frame["tier"] = np.where(label & (rng.random(3000) < 0.7), "gold", "basic")
    frame["tier"] = frame["tier"].where(rng.random(3000) < 0.95, "silver")
    kept = points.most_informative(frame, label, 10)
    assert len(kept) == 10 and {"visits", "tier"} <= set(kept)
    assert kept == [c for c in frame.columns if c in kept]  # in the frame's order
    assert points.most_informative(frame[["visits", "tier"]], label, 10) == ["visits", "tier"]


def test_edges_and_value_lists_stay_typeable():
    whole = np.array([0.0, 3.0, 40.0, 5_000_000.0, 90_000_000.0])
    # Counts: the next whole number; whole amounts: 2 significant digits.
    assert points._readable_edges(np.array([2.5, 26_172_000.5]), whole, "revenue") == [
        3.0,
        26_000_000.0,
    ]
    many = [f"title {i}" for i in range(points.MAX_VALUES + 1)]
    bins = points.FieldBins("job", False, [], [["cfo", "cto"], many], 0.2)
    assert bins.conditions() == [("in", ["cfo", "cto"])]


def test_mql_falls_on_the_teams_line_and_rules_list_only_typeable_values(learned):
    """Regression: the learned rules put MQL at 359 points against the team's 85, and a rule
    lumped blanks ("missing") with real values."""
    params, _, _, card, scored, _ = learned
    assert card.threshold == params.baseline.mql_threshold == points.mql_points(params)
    assert any("so that MQL falls at 85 points" in n for n in card.notes)
    for rule in card.rules:
        if rule.op == "in":  # engineered fields spell a blank "unknown", exports "missing"
            assert not {"missing", "other", "unknown"} & {str(v).lower() for v in rule.value}
        if rule.op == "==":
            assert rule.name.endswith("is empty"), rule
    # The scaled rules score the leads the evaluation reports on.
    assert np.array_equal(
        scored["points"].to_numpy(), rules.scored(_features(learned), card.rules)["points"]
    )


def _features(learned) -> pd.DataFrame:
    return learned[1]


def test_blanks_get_a_rule_of_their_own_and_rare_values_none():
    rng = np.random.default_rng(0)
    n = 4000
    values = rng.choice(["Retail", "Software", "Banking", "missing", "other"], n)
    rate = pd.Series(values).map(
        {"Retail": 0.05, "Software": 0.3, "Banking": 0.3, "missing": 0.02, "other": 0.2}
    )
    label = (rng.random(n) < rate.to_numpy()).astype(int)
    found = points.bin_field(pd.Series(values, name="Industry"), label, PointsParams())
    assert found.empty
    listed = {v for group in found.groups for v in group}
    assert listed <= {"retail", "software", "banking"}
    assert ("==", "missing") in found.conditions()
    assert points.condition("Industry", "==", "missing") == "Industry is empty"
    rule = Rule(
        name="Industry is empty", kind="fit", field="Industry", op="==", value="missing", points=-5
    )
    table = points.rule_table(
        [rule], pd.DataFrame({"Industry": values}), pd.Series(label), np.ones(n, dtype=bool)
    )
    assert table.loc[0, "op"] == "is empty" and table.loc[0, "value"] == ""


def test_the_scale_moves_to_the_line_unless_the_threshold_is_not_positive():
    rule = Rule(name="x", kind="fit", field="f", op=">=", value=1, points=145)
    scaled, chosen, factor, note = points.on_the_team_scale(
        [rule],
        {"volume_matched": 359.0, "conversion_target": 200.0},
        "volume_matched",
        85,
        PointsParams(),
    )
    assert chosen["volume_matched"] == 85 and factor == pytest.approx(85 / 359)
    assert scaled[0].points == round(145 * 85 / 359)
    assert chosen["conversion_target"] == math.ceil(200 * 85 / 359)  # whole points
    kept, same, factor, note = points.on_the_team_scale(
        [rule], {"volume_matched": -10.0}, "volume_matched", 85, PointsParams()
    )
    assert kept == [rule] and same == {"volume_matched": -10.0} and factor == 1.0
    assert "cannot be scaled" in note


def test_every_derived_field_says_which_crm_field_to_use_and_how(learned):
    from scoring.model.points_crm import crm_condition

    _, _, _, card, _, _ = learned
    derived = [
        r
        for r in card.rules
        if r.field in ("seniority", "function") or r.field.endswith(("7d", "30d", "90d"))
    ]
    assert derived
    for rule in derived:
        assert crm_condition(rule) != rule.name
    assert set(card.table["in_your_crm"]) == {crm_condition(r) for r in card.rules}

    def rule(field, op, value):
        return Rule(name="x", kind="fit", field=field, op=op, value=value, points=1)

    senior = crm_condition(rule("seniority", "in", ["c_level"]))
    assert "Job title contains any of" in senior and "CEO" in senior and "chief" in senior
    finance = crm_condition(rule("function", "in", ["finance"]))
    assert "accountant*" in finance and "accounting*" in finance
    assert crm_condition(rule("page_pricing_30d", ">=", 4)) == (
        "Count of activities where activity_type = 'page_view' AND page_category = 'pricing' "
        "in the 30 days before scoring, at least 4"
    )
    assert crm_condition(rule("company_size_band", "in", ["200-999", "5000+"])) == (
        "Number of employees: 200 to 999, 5000 or more"
    )
    assert crm_condition(rule("seniority", "==", "unknown")).startswith("Job title is empty")
    assert crm_condition(rule("Total Visits", ">=", 9)) == "x"  # an export's own field


def test_how_a_lead_came_in_and_what_it_did_count_to_behaviour_its_traits_to_fit():
    """Regression: lead source was filed under the fit score; and a count of what leads did
    went by its name only."""
    frame = pd.DataFrame(
        {
            "Lead Source": ["web", "event", "web", "ads"] * 25,
            "Touches": [0, 0, 3, 5] * 25,
            "Segment": ["smb", "mid", "enterprise", "smb"] * 25,
        }
    )
    bins = [
        points.FieldBins("Lead Source", False, [], [["web"], ["event"]], 0.3),
        points.FieldBins("Touches", True, [3.0], [], 0.3),
        points.FieldBins("Segment", False, [], [["smb"], ["mid"]], 0.3),
    ]
    families = points.feature_families(frame)
    rules, _ = points.candidate_rules(frame, bins, families)
    kinds = {r.field: r.kind for r in rules}
    assert kinds == {"Lead Source": "behaviour", "Touches": "behaviour", "Segment": "fit"}
