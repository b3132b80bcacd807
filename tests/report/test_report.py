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
    assert "raises the score" in top and "lowers the score" in top
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
