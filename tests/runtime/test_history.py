"""The score history: previous scores, first crossings, no double counting, whole files."""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from scoring.runtime import history


def _scored(scores: dict[str, tuple[float, bool]], error: str | None = None) -> pd.DataFrame:
    """Scored rows as score_features gives them: lead id -> (score, is_mql)."""
    ids = list(scores)
    return pd.DataFrame(
        {
            "lead_id": pd.array(ids, dtype="string"),
            "probability": [scores[i][0] ** 2 / 10_000 for i in ids],
            "score": [scores[i][0] for i in ids],
            "grade": ["A" if scores[i][0] >= 50 else "C" for i in ids],
            "is_mql": [scores[i][1] for i in ids],
            "error": pd.array([error] * len(ids), dtype="string"),
        }
    )


DAY1, DAY2 = pd.Timestamp("2026-06-01"), pd.Timestamp("2026-06-02")


def test_previous_score_change_and_the_first_crossing(tmp_path):
    folder = tmp_path / "history"
    history.record(folder, _scored({"A": (40.0, False), "B": (70.0, True)}), DAY1, "v1")
    today = _scored({"A": (75.3, True), "B": (72.0, True), "C": (80.0, True)})
    out = history.compare(today, today["lead_id"], history.before(folder, DAY2))
    assert out.columns.tolist()[4:8] == ["is_mql", "previous_score", "score_change", "became_mql"]
    assert out["previous_score"].tolist()[:2] == [40.0, 70.0] and pd.isna(out["previous_score"][2])
    assert out["score_change"].tolist()[:2] == [35.3, 2.0]
    # A crosses today; B was an MQL yesterday; C is new and an MQL at once.
    assert out["became_mql"].tolist() == [True, False, True]
    # C past its outcome already (an SQL): scored, but not a new MQL to route.
    closed = history.compare(
        today, today["lead_id"], history.before(folder, DAY2), np.array([False, False, True])
    )
    assert closed["became_mql"].tolist() == [True, False, False]
    assert closed["is_mql"].tolist() == [True, True, True]


def test_the_same_scoring_time_again_replaces_its_file(tmp_path):
    folder = tmp_path / "history"
    history.record(folder, _scored({"A": (40.0, False)}), DAY1, "v1")
    history.record(folder, _scored({"A": (45.0, False)}), DAY1, "v1")
    kept = history.read(folder)
    assert len(kept) == 1 and kept["score"].tolist() == [45.0]
    # Scores of the same moment are not "previous" to it; earlier ones are.
    assert history.before(folder, DAY1).empty
    assert history.before(folder, DAY2)["previous_score"].tolist() == [45.0]


def test_rows_with_an_error_are_not_kept_and_get_no_first_crossing(tmp_path):
    folder = tmp_path / "history"
    broken = _scored({"A": (float("nan"), False)}, error="created_at missing")
    out = history.compare(broken, broken["lead_id"], history.before(folder, DAY1))
    assert pd.isna(out["became_mql"][0])
    history.record(folder, out, DAY1, "v1")
    assert history.read(folder).empty


def test_two_scorings_at_once_each_leave_a_whole_file(tmp_path):
    folder = tmp_path / "history"
    big = _scored({f"L{i}": (float(i % 100), i % 7 == 0) for i in range(20_000)})
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda k: history.record(folder, big, DAY1, "v1"), range(4)))
    kept = history.read(folder)
    assert len(kept) == 20_000 and kept["lead_id"].is_unique
    assert not list(folder.rglob("*.partial"))
    # Readable as any file the user writes (the umask's mode, not a temporary file's 600).
    umask = os.umask(0)
    os.umask(umask)
    (kept_file,) = folder.glob("scored_*.parquet")
    assert kept_file.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_history_that_is_a_file_is_a_clear_error(tmp_path):
    path = tmp_path / "history.parquet"
    path.write_text("not a folder")
    with pytest.raises(history.HistoryError, match="is a file"):
        history.before(path, DAY1)
