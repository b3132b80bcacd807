"""The report's pieces on small hand-made inputs."""

import pandas as pd

from scoring.report import report


def _reasons() -> pd.DataFrame:
    """Three leads' reasons: industry raises twice and lowers once, visits only raise."""
    words = {
        "up_1": ["Industry: software", "12 activities in the last 90 days", "Seniority: VP"],
        "up_2": ["3 activities in the last 90 days", None, "Industry: fintech"],
        "up_3": [None, None, "Region: EMEA"],
        "down_1": ["About 5 employees", "Industry: retail", None],
        "down_2": [None, None, None],
        "down_3": [None, None, None],
    }
    features = {
        "up_1": ["industry", "activities_90d", "seniority"],
        "up_2": ["activities_90d", None, "industry"],
        "up_3": [None, None, "region"],
        "down_1": ["log_employees", "industry", None],
        "down_2": [None, None, None],
        "down_3": [None, None, None],
    }
    sizes = {"up_1": [0.9, 0.5, 0.4], "up_2": [0.2, None, 0.6], "up_3": [None, None, 0.1]}
    sizes |= {"down_1": [-0.3, -0.2, None], "down_2": [None] * 3, "down_3": [None] * 3}
    frame = pd.DataFrame({"lead_id": ["A", "B", "C"], "label": [1, 0, 1], "fit": [0.3, 0.1, 0.2]})
    for key in words:
        frame[key] = words[key]
        frame[f"{key}_feature"] = features[key]
        frame[f"{key}_contribution"] = sizes[key]
    return frame


def test_reason_tables_with_fewer_reasons_down_than_up():
    """A small model can have few reason families on one side: the table still renders."""
    reasons = _reasons()
    top, examples = report._reason_tables(reasons, 2)
    assert "Raises the score" in top and "Lowers the score" in top
    assert "#" not in top and "Employees (e.g. “About 5 employees”; 1 leads)" in top
    assert examples.count("<tr") == 3  # header and two example leads
    assert "; ;" not in examples and "About 5 employees<" in examples


def test_each_reason_family_once_on_the_side_where_it_mostly_acts():
    families = report._reason_families(_reasons())
    raises, lowers = list(families["raises the score"]), list(families["lowers the score"])
    cells = [c for c in raises + lowers if c]
    # Industry raises 1.5 and lowers 0.2 in all: one cell, on the raising side, in words.
    assert sum("Industry" in c for c in cells) == 1
    assert raises[0].startswith("Industry (e.g.") and "2 leads" in raises[0]
    assert "Activities (90 days) (e.g." in raises[1]
    assert [c for c in lowers if c] == ["Employees (e.g. “About 5 employees”; 1 leads)"]


def _policy(**figures) -> dict:
    base = {
        "policy": "conversion_target",
        "threshold": 0.16,
        "score": 40.0,
        "grade_at_threshold": "B",
        "conversion": 0.533,
        "conversion_low": 0.513,
        "conversion_high": 0.551,
        "mqls_per_month": 2656.0,
        "sqls_per_month": 1416.0,
        "capture": 0.53,
        "lift": 1.36,
        "note": "",
    }
    return base | figures


METRICS = {
    "chosen_model": "logistic",
    "baseline": "plain logistic regression (no rule baseline configured)",
    "models": {m: {"test": {"roc_auc": {"value": 0.64}}} for m in ("logistic", "baseline")},
}


def test_without_rules_the_report_names_the_outcome_and_never_today_s_rules():
    thresholds = {
        "recommended": "conversion_target",
        "outcome": "subscription",
        "per_month": False,
        "rules_threshold_points": None,
        "policies": [_policy()],
    }
    lines = " ".join(report.headline(thresholds, METRICS))
    assert "Conversion of MQLs to subscription 53.3%" in lines
    assert "1,416 reaching subscription" in lines and "SQL" not in lines
    assert "lift 1.36" in lines and "today's rules" not in lines
    assert "(no rule baseline configured))" not in lines
    table = report._policies_table(thresholds)
    assert "today's rules" not in table and "Reaching subscription/window" in table
    words = report._baseline_words(thresholds, METRICS)
    assert words == "the baseline (plain logistic regression)"


def test_differences_of_rates_are_percentage_points_and_small_segments_are_hidden():
    rules = _policy(policy="today's rules", conversion=0.36, score=None)
    chosen = _policy(
        policy="volume_matched",
        conversion_vs_rules=0.172,
        conversion_vs_rules_low=0.10,
        conversion_vs_rules_high=0.25,
        sqls_per_month_vs_rules_low=5.0,
        sqls_per_month_vs_rules_high=20.0,
        mqls_per_business_day=3.0,
        capacity_per_business_day=50.0,
    )
    thresholds = {
        "recommended": "volume_matched",
        "rules_threshold_points": 85,
        "policies": [chosen, rules],
    }
    lines = " ".join(report.headline(thresholds, METRICS))
    assert "+17.2 pp (95% CI +10.0 pp to +25.0 pp)" in lines and "+17.2%" not in lines
    assert "+17.2 pp" in report._policies_table(thresholds)
    segments = {
        "chosen_model": "logistic",
        "segments": [
            {
                "segment": "source",
                "value": "tiny",
                "leads": 8,
                "conversions": 2,
                "logistic_roc_auc": 0.4,
                "baseline_roc_auc": 0.9,
            },
            {
                "segment": "source",
                "value": "web",
                "leads": 900,
                "conversions": 90,
                "logistic_roc_auc": 0.70,
                "baseline_roc_auc": 0.72,
            },
        ],
    }
    html = report._segments(segments, "today's rules")
    assert "web" in html and "tiny" not in html and "1 segment values with fewer" in html


def test_the_report_explains_every_metric_it_shows():
    import re

    glossary = report.TEMPLATE.split('id="glossary"')[1]
    defined = " ".join(re.findall(r"<dt>(.*?)</dt>", glossary))
    for term in ("ROC-AUC", "PR-AUC", "ECE", "Brier", "SHAP", "PSI", "log-odds", "Lift", "pp"):
        assert term in defined, term


def test_a_flat_value_reads_as_a_person_writes_it():
    from scoring.runtime.reasons import describe

    assert describe("Employees", 178.0, {}) == "Employees: 178"
    assert describe("Annual Revenue", 147228000.0, {}) == "Annual Revenue: 147,228,000"
    assert describe("Industry", "missing", {}) == "Industry: empty"


def test_a_window_without_dates_is_said_as_rows():
    assert report.period_words(["38431", "45212"]) == (
        "rows 38,431 to 45,212 of the export (it has no dates)"
    )
    assert report.period_words(["2026-04-01 00:00:00", "2026-06-30"]) == "2026-04-01 to 2026-06-30"


def test_a_matrix_without_behaviour_fields_says_why_it_has_one_column():
    one = pd.DataFrame({"fit": list("ABCD"), "intent": ["1"] * 4, "leads": 1, "conversion": 0.1})
    assert "one column" in report.matrix_note(one)
    full = pd.DataFrame({"fit": list("AABB"), "intent": list("1212")})
    assert report.matrix_note(full) is None


def test_counts_read_as_whole_numbers_even_after_a_float():
    from scoring.report import plots

    page = plots.styled(pd.DataFrame({"leads": [9240.0, 12.0], "lift": [1.234, 2.0]})).to_html()
    assert ">9,240<" in page and "9,240.0" not in page and ">1.234<" in page


def test_a_yes_no_field_reads_yes_or_no_in_reasons():
    from scoring.runtime.reasons import describe, yes_no_wording

    wording = yes_no_wording(["Do Not Email", "Odd {name}"])
    assert describe("Do Not Email", 1.0, wording) == "Do Not Email: yes"
    assert describe("Do Not Email", 0.0, wording) == "Do Not Email: no"
    assert describe("Do Not Email", float("nan"), wording) == "Do Not Email: unknown"
    assert describe("Odd {name}", 1.0, wording) == "Odd {name}: yes"
