"""The report's pieces on small hand-made inputs."""

import pandas as pd

from scoring import report


def test_reason_tables_with_fewer_reasons_down_than_up():
    """A small model can have few reason families on one side: the table still renders."""
    reasons = pd.DataFrame(
        {
            "lead_id": ["A", "B", "C"],
            "label": [1, 0, 1],
            "fit": [0.3, 0.1, 0.2],
            "up_1": ["Industry: software", "12 visits", "Seniority: VP"],
            "up_2": ["3 pricing views", None, "Industry: retail"],
            "up_3": [None, None, "Region: EMEA"],
            "down_1": ["Employees: 5", None, None],
            "down_2": [None, None, None],
            "down_3": [None, None, None],
        }
    )
    top, examples = report._reason_tables(reasons, 2)
    assert "raises the score" in top and "lowers the score" in top
    assert "# visits" in top and "Employees: #" in top
    assert examples.count("<tr") == 3  # header and two example leads
    assert "; ;" not in examples and "Employees: 5<" in examples
