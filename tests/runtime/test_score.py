"""Batch scoring: every input row comes back, in order; broken rows carry their error."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from scoring.cli import app
from scoring.runtime import activities as scoring_activities
from scoring.runtime import artifact
from scoring.runtime import batch as score
from scoring.runtime import inputs as scoring_inputs
from scoring.runtime.drift import drift_against
from tests.runtime.test_artifact import exported


@pytest.fixture(scope="module")
def tables_model(tmp_path_factory, small_dataset, small_crm):
    folder = tmp_path_factory.mktemp("score")
    _params, _, _, artifact_dir = exported(folder, small_dataset, ["lightgbm"], with_points=True)
    leads = small_crm.leads.head(2000).copy()
    activities = small_crm.activities[small_crm.activities["lead_id"].isin(leads["lead_id"])]
    return folder, artifact_dir, leads, activities


def score_cli(artifact_dir, leads, activities, output, *extra):
    """`leadscore score` of leads and activities into output, as a user types it."""
    return CliRunner().invoke(
        app,
        [
            "score",
            "-m",
            str(artifact_dir),
            "-i",
            str(leads),
            "--activities",
            str(activities),
            "-o",
            str(output),
            "--no-progress",
            *extra,
        ],
    )


def broken_copy(leads: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, str]]:
    """5% of the rows broken in five different ways; returns the frame and what to expect."""
    broken = leads.astype(object).where(leads.notna(), None).copy()
    expected = {}
    kinds = [
        ("lead_id", None, "lead_id is empty"),
        ("created_at", "not a date", "created_at missing or unparseable"),
        ("employee_count", "-5", "employee_count is not a finite number >= 0"),
        ("annual_revenue", "lots", "annual_revenue is not a finite number >= 0"),
        ("annual_revenue", "1e400", "annual_revenue is not a finite number >= 0"),
        ("created_at", None, "created_at missing or unparseable"),
    ]
    rows = np.random.default_rng(0).choice(len(broken), size=len(broken) // 20, replace=False)
    for i, row in enumerate(sorted(rows)):
        column, value, message = kinds[i % len(kinds)]
        broken.iat[row, broken.columns.get_loc(column)] = value
        expected[row] = message
    return broken, expected


def test_five_percent_broken_rows_come_back_with_their_errors(tables_model, tmp_path):
    _folder, artifact_dir, leads, activities = tables_model
    broken, expected = broken_copy(leads)
    broken.to_csv(tmp_path / "leads.csv", index=False)
    activities.to_csv(tmp_path / "activities.csv", index=False)
    output = tmp_path / "scored.csv"
    result = score_cli(
        artifact_dir,
        tmp_path / "leads.csv",
        tmp_path / "activities.csv",
        output,
        "--chunk-rows",
        "300",
    )
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(output, dtype={"lead_id": str})
    assert len(scored) == len(leads) == 2000
    assert scored["error"].notna().sum() == len(expected) == 100
    for row, message in expected.items():
        assert message in scored.at[row, "error"], (row, scored.at[row, "error"])
        assert np.isnan(scored.at[row, "probability"])
    fine = scored["error"].isna()
    assert scored.loc[fine, "probability"].between(0, 1).all()
    assert scored["lead_id"].fillna("").tolist() == broken["lead_id"].fillna("").tolist()
    assert f"{len(expected)} rows with an error" in result.output


def test_csv_and_parquet_inputs_score_the_same(tables_model, tmp_path):
    _, artifact_dir, leads, activities = tables_model
    loaded = artifact.load(artifact_dir)
    leads.to_parquet(tmp_path / "leads.parquet")
    leads.to_csv(tmp_path / "leads.csv", index=False)
    activities.to_parquet(tmp_path / "acts.parquet")
    as_of = pd.Timestamp(leads["created_at"].max())
    a = score.score_file(
        loaded,
        tmp_path / "leads.parquet",
        tmp_path / "a.parquet",
        tmp_path / "acts.parquet",
        as_of,
        progress=False,
    )
    b = score.score_file(
        loaded,
        tmp_path / "leads.csv",
        tmp_path / "b.csv",
        tmp_path / "acts.parquet",
        as_of,
        reasons=False,
        chunk_rows=700,
        progress=False,
    )
    assert a.rows == b.rows == 2000 and a.errors == b.errors == 0
    first, second = pd.read_parquet(tmp_path / "a.parquet"), pd.read_csv(tmp_path / "b.csv")
    assert np.allclose(first["probability"], second["probability"], atol=1e-12)
    assert "reason_up_1" in first and "reason_up_1" not in second


def test_repeated_ids_unseen_levels_and_bad_activities(tables_model, tmp_path):
    _, artifact_dir, leads, activities = tables_model
    loaded = artifact.load(artifact_dir)
    frame = pd.concat([leads.head(3), leads.head(1)], ignore_index=True)
    frame.loc[1, "industry"] = "Underwater basket weaving"
    bad = activities[activities["lead_id"] == frame.loc[2, "lead_id"]].head(1).copy()
    bad["activity_type"] = "carrier_pigeon"
    stray = activities.head(1).assign(lead_id="nobody")
    acts = pd.concat([activities, bad, stray], ignore_index=True)
    frame.to_parquet(tmp_path / "leads.parquet")
    acts.to_parquet(tmp_path / "acts.parquet")
    summary = score.score_file(
        loaded,
        tmp_path / "leads.parquet",
        tmp_path / "out.parquet",
        tmp_path / "acts.parquet",
        progress=False,
    )
    kept = acts["lead_id"].isin(frame["lead_id"]) & (acts["activity_type"] != "carrier_pigeon")
    assert summary.ignored_activities == int((~kept).sum()) - 1  # the bad one is an error
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert len(out) == 4
    assert out.loc[0, "probability"] == out.loc[3, "probability"]  # same lead twice
    assert pd.isna(out.loc[1, "error"]) and 0 < out.loc[1, "probability"] < 1
    assert "unknown activity_type: 'carrier_pigeon'" in out.loc[2, "error"]


def test_missing_columns_and_a_tampered_model_stop_with_exit_2(tables_model, tmp_path):
    import shutil

    _, artifact_dir, leads, activities = tables_model
    leads.drop(columns=["job_title"]).to_csv(tmp_path / "leads.csv", index=False)
    activities.to_csv(tmp_path / "acts.csv", index=False)
    args = [
        "score",
        "-i",
        str(tmp_path / "leads.csv"),
        "--activities",
        str(tmp_path / "acts.csv"),
        "-o",
        str(tmp_path / "out.csv"),
        "--no-progress",
    ]
    result = CliRunner().invoke(app, [*args, "-m", str(artifact_dir)])
    assert result.exit_code == 2 and "required column(s) missing: job_title" in result.output
    copy = tmp_path / "model"
    shutil.copytree(artifact_dir, copy)
    data = bytearray((copy / "model.txt").read_bytes())
    data[100] ^= 0x20
    (copy / "model.txt").write_bytes(bytes(data))
    result = CliRunner().invoke(app, [*args, "-m", str(copy)])
    assert result.exit_code == 2 and "sha256 differs): model.txt" in result.output
    assert not (tmp_path / "out.csv").exists()


def test_drift_of_a_batch_against_the_training_window(tables_model):
    _, artifact_dir, leads, _ = tables_model
    loaded = artifact.load(artifact_dir)
    frame, _errors = score.leads_features(
        leads, None, loaded.preprocessing, pd.Timestamp("2030-01-01"), "leads"
    )
    document = drift_against(loaded, frame, loaded.predict_proba(frame[loaded.features]))
    # No activities at all: the intent features moved far from training.
    assert document["drift_found"] and "activities_90d" in document["features_major"]


def in_chunks_of_500(loaded, folder):
    """score_file of folder's leads.parquet and acts.parquet into out.parquet, in chunks of
    500 rows (several chunks scored side by side)."""
    return score.score_file(
        loaded,
        folder / "leads.parquet",
        folder / "out.parquet",
        folder / "acts.parquet",
        chunk_rows=500,
        progress=False,
    )


def test_a_batch_drift_is_measured_on_its_first_scored_rows(tables_model, tmp_path, monkeypatch):
    # Chunks of 500 scored side by side, a sample of 700 rows spanning two of them (measured
    # in the background) and an unscorable row among them: the drift of exactly the first 700
    # scored rows, in input order.
    _, artifact_dir, leads, activities = tables_model
    loaded = artifact.load(artifact_dir)
    leads = leads.copy()
    leads.loc[leads.index[3], "created_at"] = None
    leads.to_parquet(tmp_path / "leads.parquet")
    activities.to_parquet(tmp_path / "acts.parquet")
    monkeypatch.setattr(score, "DRIFT_SAMPLE_ROWS", 700)
    summary = in_chunks_of_500(loaded, tmp_path)
    scored = pd.read_parquet(tmp_path / "out.parquet")
    first = scored["error"].isna().to_numpy().nonzero()[0][:700]
    assert summary.errors == 1 and 3 not in first
    read = scoring_activities.read_activities(tmp_path / "acts.parquet")
    as_of = score._latest_timestamp(tmp_path / "leads.parquet", read)
    whole, _ = score.leads_features(leads, read, loaded.preprocessing, as_of, "leads")
    expected = drift_against(
        loaded,
        whole[loaded.features].iloc[first],
        scored["probability"].to_numpy()[first],
    )
    assert summary.drift == expected


@pytest.fixture(scope="module")
def flat_model(tmp_path_factory, small_crm):
    from scoring.core.config import FlatParams
    from scoring.data import flat, synth

    folder = tmp_path_factory.mktemp("flat")
    export_frame = synth.flat_export(small_crm.leads, small_crm.activities, small_crm.snapshot)
    path = folder / "crm_export.csv"
    export_frame.to_csv(path, index=False)
    flat_params = FlatParams(
        path=str(path),
        id_column="Prospect ID",
        target_column="Converted",
        date_column="Created Date",
    )
    from scoring.core.config import load_params
    from tests.conftest import ROOT

    params = load_params(ROOT / "params.yaml")
    params = params.model_copy(
        update={
            "data": params.data.model_copy(update={"source": "flat", "flat": flat_params}),
            "baseline": params.baseline.model_copy(update={"rules": []}),
        }
    )
    dataset = flat.build_dataset(flat_params)
    _, result, _, artifact_dir = exported(folder, (params, None, dataset), ["lightgbm", "logistic"])
    return path, result, artifact_dir


def test_a_flat_export_scores_like_the_trained_model_and_keeps_broken_rows(flat_model, tmp_path):
    path, result, artifact_dir = flat_model
    loaded = artifact.load(artifact_dir)
    assert loaded.preprocessing["source"] == "flat"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    numeric = next(
        c["column"] for c in loaded.preprocessing["flat"]["columns"] if c["kind"] == "numeric"
    )
    broken = frame.copy()
    rows = np.arange(0, len(frame), 20)  # 5%
    broken.loc[rows[::2], numeric] = "lots"
    broken.loc[rows[1::2], "Created Date"] = "someday"
    broken.to_csv(tmp_path / "export.csv", index=False)
    summary = score.score_file(
        loaded, tmp_path / "export.csv", tmp_path / "scored.csv", chunk_rows=5000, progress=False
    )
    scored = pd.read_csv(tmp_path / "scored.csv", dtype={"Prospect ID": str})
    assert len(scored) == len(frame) == summary.rows and summary.errors == len(rows)
    assert scored.loc[rows[::2], "error"].str.contains(f"{numeric} is not a number").all()
    assert scored.loc[rows[1::2], "error"].str.contains("Created Date missing or unparseable").all()
    expected = result.predictions.set_index("lead_id")[result.chosen_model]
    fine = scored[scored["error"].isna()].set_index("Prospect ID")["probability"]
    common = fine.index.intersection(expected.index)
    assert len(common) > 0.9 * len(expected)
    assert np.max(np.abs(fine[common] - expected[common])) <= 1e-9


def test_a_failure_midway_leaves_no_partial_output(tables_model, tmp_path, monkeypatch):
    # Regression: the half-written file used to be moved into place when a later chunk failed.
    _, artifact_dir, leads, activities = tables_model
    loaded = artifact.load(artifact_dir)
    leads.to_parquet(tmp_path / "leads.parquet")
    activities.to_parquet(tmp_path / "acts.parquet")
    real, calls = score.score_features, []

    def failing_on_the_third_chunk(loaded, frame, *args, **kwargs):
        # Chunks are scored side by side: the third is known by its rows, not by call order.
        calls.append(frame.index[0])
        if frame.index[0] == 1000:
            raise MemoryError("simulated")
        return real(loaded, frame, *args, **kwargs)

    monkeypatch.setattr(score, "score_features", failing_on_the_third_chunk)
    written, real_write = [], score._Writer.write
    monkeypatch.setattr(
        score._Writer,
        "write",
        lambda self, frame: (written.append(len(frame)), real_write(self, frame)),
    )
    with pytest.raises(MemoryError):
        in_chunks_of_500(loaded, tmp_path)
    assert {0, 500, 1000} <= set(calls)
    assert written == [500, 500]  # the two chunks before the failing one were written
    assert not (tmp_path / "out.parquet").exists() and not list(tmp_path.glob(".out*"))


def test_an_export_without_ids_is_scored_row_by_row_named_by_line_number(flat_model, tmp_path):
    path, result, artifact_dir = flat_model
    loaded = artifact.load(artifact_dir)
    loaded.preprocessing["flat"]["id_column"] = None  # as if trained on an export without ids
    frame = pd.read_csv(path, dtype=str, keep_default_na=False).head(500)
    frame.drop(columns=["Prospect ID"]).to_csv(tmp_path / "no_ids.csv", index=False)
    score.score_file(
        loaded, tmp_path / "no_ids.csv", tmp_path / "scored.csv", chunk_rows=128, progress=False
    )
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert scored["row"].tolist() == list(range(2, 502))  # line numbers, across chunks
    expected = result.predictions.set_index("lead_id")[result.chosen_model]
    expected = expected.loc[frame["Prospect ID"]].to_numpy()
    assert np.max(np.abs(scored["probability"].to_numpy() - expected)) <= 1e-9


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("leads.csv", "is the input"),
        ("acts.csv", "is the input"),
        ("folder.csv", "is a folder"),
        ("scores.xlsx", "name it .csv or .parquet"),
    ],
)
def test_an_output_that_would_destroy_an_input_or_cannot_be_written_is_refused(
    tables_model, tmp_path, output, message
):
    _, artifact_dir, leads, activities = tables_model
    leads.head(50).to_csv(tmp_path / "leads.csv", index=False)
    activities.to_csv(tmp_path / "acts.csv", index=False)
    (tmp_path / "folder.csv").mkdir()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    args = ["score", "-m", str(artifact_dir), "-i", str(tmp_path / "leads.csv")]
    args += ["--activities", str(tmp_path / "acts.csv"), "-o", str(tmp_path / output)]
    result = CliRunner().invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 2 and message in result.output
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_zero_rows_per_chunk_is_refused(tables_model, tmp_path):
    _, artifact_dir, leads, activities = tables_model
    leads.head(5).to_csv(tmp_path / "leads.csv", index=False)
    activities.to_csv(tmp_path / "acts.csv", index=False)
    with pytest.raises(scoring_inputs.ScoringInputError, match="--chunk-rows must be at least 1"):
        score.score_file(
            artifact.load(artifact_dir),
            tmp_path / "leads.csv",
            tmp_path / "out.csv",
            tmp_path / "acts.csv",
            chunk_rows=0,
        )


def test_a_gzipped_export_named_csv_scores_like_the_plain_one(flat_model, tmp_path):
    import gzip

    path, _, artifact_dir = flat_model
    loaded = artifact.load(artifact_dir)
    head = "".join(path.read_text().splitlines(keepends=True)[:301])
    (tmp_path / "plain.csv").write_text(head)
    (tmp_path / "packed.csv").write_bytes(gzip.compress(head.encode()))
    for name in ("plain", "packed"):
        score.score_file(
            loaded, tmp_path / f"{name}.csv", tmp_path / f"{name}_out.csv", progress=False
        )
    plain = pd.read_csv(tmp_path / "plain_out.csv")
    assert len(plain) == 300
    pd.testing.assert_frame_equal(plain, pd.read_csv(tmp_path / "packed_out.csv"))


def test_an_empty_input_file_is_a_clear_error(flat_model, tmp_path):
    _, _, artifact_dir = flat_model
    (tmp_path / "empty.csv").write_bytes(b"")
    args = ["score", "-m", str(artifact_dir), "-i", str(tmp_path / "empty.csv")]
    result = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "out.csv"), "--no-progress"])
    assert result.exit_code == 2 and "is empty (0 bytes)" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_header_only_input_gives_a_header_only_output(tables_model, tmp_path, suffix):
    _, artifact_dir, leads, activities = tables_model
    empty = tmp_path / f"leads{suffix}"
    if suffix == ".csv":
        leads.head(0).to_csv(empty, index=False)
    else:
        leads.head(0).to_parquet(empty)
    activities.head(0).to_csv(tmp_path / "activities.csv", index=False)
    output = tmp_path / f"scored{suffix}"
    args = ["score", "-m", str(artifact_dir), "-i", str(empty), "-o", str(output)]
    args += ["--activities", str(tmp_path / "activities.csv"), "--no-progress", "--points"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "scored 0 of 0 rows" in result.output
    scored = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    assert len(scored) == 0
    assert {"lead_id", "probability", "is_mql", "reason_up_1", "points", "error"} <= set(
        scored.columns
    )


def test_points_add_the_artifact_rules_to_every_scored_row(tables_model, tmp_path):
    from tests.model.test_points import _hand_points

    _, artifact_dir, leads, activities = tables_model
    loaded = artifact.load(artifact_dir)
    assert loaded.points and loaded.points["rules"]
    leads.to_csv(tmp_path / "leads.csv", index=False)
    activities.to_csv(tmp_path / "activities.csv", index=False)
    args = ["score", "-m", str(artifact_dir), "-i", str(tmp_path / "leads.csv")]
    args += ["--activities", str(tmp_path / "activities.csv"), "--no-progress", "--points"]
    result = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "scored.csv")])
    assert result.exit_code == 0, result.output
    scored = pd.read_csv(tmp_path / "scored.csv", dtype={"lead_id": str})
    assert len(scored) == len(leads)
    assert (scored["points"] == scored["points_fit"] + scored["points_behaviour"]).all()
    threshold = loaded.points["mql_threshold_points"]
    assert (scored["points_mql"] == (scored["points"] >= threshold)).all()
    assert scored["points"].nunique() > 5
    # The same rules typed in by hand give the same points on the features the scorer used.
    events = scoring_activities.read_activities(tmp_path / "activities.csv")
    as_of = score._latest_timestamp(tmp_path / "leads.csv", events)
    chunk = next(scoring_inputs.read_chunks(tmp_path / "leads.csv", 10**6))
    frame, errors = score.leads_features(chunk, events, loaded.preprocessing, as_of, "leads")
    rules = [
        {**r, "value": "|".join(r["value"]) if isinstance(r["value"], list) else r["value"]}
        for r in loaded.points["rules"]
    ]
    rows = frame.astype(object).to_dict(orient="records")
    assert errors.isna().all()
    assert [_hand_points(row, rules) for row in rows] == scored["points"].astype(float).tolist()


def test_points_from_an_artifact_without_rules_is_a_clear_error(flat_model, tmp_path):
    path, _, artifact_dir = flat_model
    result = CliRunner().invoke(
        app,
        [
            "score",
            "-m",
            str(artifact_dir),
            "-i",
            str(path),
            "-o",
            str(tmp_path / "out.csv"),
            "--points",
            "--no-progress",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "carries no learned point rules" in result.output
    assert not (tmp_path / "out.csv").exists()


def test_activities_read_as_arrow_keep_every_row_its_lead_and_its_time(tmp_path):
    """Parquet (several row groups, so several dictionaries, and a time zone) and CSV give the
    same usable activities, keyed to the right leads, and the same unusable rows with reasons."""
    stamps = pd.date_range("2025-01-01 08:00", periods=9, freq="7h", tz="Europe/Paris")
    frame = pd.DataFrame(
        {
            "lead_id": ["a", "b", "a", "c", None, "b", "c", "a", "d"],
            "occurred_at": stamps,
            "activity_type": [
                "page_view",
                "email_open",
                "carrier_pigeon",
                "form_submit",
                "email_open",
                None,
                "email_click",
                "page_view",
                "trial_signup",
            ],
            "page_category": ["pricing", None, None, None, None, None, None, "docs", None],
            "form_type": [None, None, None, "demo_request", None, None, None, None, None],
        }
    )
    frame.loc[6, "occurred_at"] = pd.NaT
    frame.to_parquet(tmp_path / "acts.parquet", row_group_size=3)
    frame.assign(occurred_at=frame["occurred_at"].astype(str).replace("NaT", "")).to_csv(
        tmp_path / "acts.csv", index=False
    )
    for name in ("acts.parquet", "acts.csv"):
        events = scoring_activities.read_activities(tmp_path / name)
        usable = events.table.to_pandas()
        assert len(usable) == 6  # rows 2 (type), 5 (no type) and 6 (no time) are set aside
        leads = [events.lead_ids[k] if k >= 0 else None for k in usable["lead_id"]]
        assert leads == ["a", "b", "c", None, "a", "d"]
        expected = stamps.delete([2, 5, 6]).tz_convert("UTC").tz_localize(None)
        assert list(usable["occurred_at"]) == list(expected)
        assert list(usable["activity_type"].astype(str)) == [
            "page_view",
            "email_open",
            "form_submit",
            "email_open",
            "page_view",
            "trial_signup",
        ]
        assert events.bad["lead_id"].tolist() == ["a", "b", "c"]
        reasons = events.bad["reason"].tolist()
        assert reasons[0] == "activities row 4: unknown activity_type: 'carrier_pigeon'"
        assert reasons[1].startswith("activities row 7: unknown activity_type")
        assert reasons[2].startswith("activities row 8: occurred_at missing or unparseable")
        assert list(events.positions(pd.Series(["a", "zz", "c"]))) == [0, -1, 2]
        assert events.latest == expected.max()


def test_a_lead_without_activities_counts_none_of_those_without_a_lead(tables_model, tmp_path):
    """Activities without a lead id have key -1; no lead may be joined to them."""
    _, artifact_dir, leads, activities = tables_model
    loaded = artifact.load(artifact_dir)
    chunk = leads.head(2).assign(lead_id=["nobody", leads["lead_id"].iloc[1]])
    keyless = activities[activities["lead_id"] == chunk["lead_id"].iloc[1]].assign(lead_id=None)
    pd.concat([activities, keyless]).to_parquet(tmp_path / "acts.parquet")
    events = scoring_activities.read_activities(tmp_path / "acts.parquet")
    # The day the one-moment model scores it: an any-age model reads the 7 days before too.
    as_of = pd.Timestamp(chunk["created_at"].iloc[1]) + pd.Timedelta(days=7)
    frame, errors = score.leads_features(chunk, events, loaded.preprocessing, as_of, "leads")
    counts = [c for c in frame.columns if c.startswith("activities_")]
    assert len(keyless) and errors.isna().all()
    assert (frame.loc[0, counts] == 0).all()
    assert (frame.loc[1, counts] > 0).any()


def test_a_daily_job_with_a_score_history_routes_the_leads_that_just_became_mqls(
    tables_model, tmp_path
):
    _, artifact_dir, leads, activities = tables_model
    leads_path, activities_path = tmp_path / "leads.parquet", tmp_path / "activities.parquet"
    leads.head(500).to_parquet(leads_path)
    activities.to_parquet(activities_path)
    days = {}
    for day in ("2025-03-01", "2025-03-02", "2025-03-02"):
        output = tmp_path / f"{day}.csv"
        result = score_cli(
            artifact_dir,
            leads_path,
            activities_path,
            output,
            "--as-of",
            day,
            "--history",
            str(tmp_path / "history"),
            "--no-reasons",
        )
        assert result.exit_code == 0, result.output
        assert "became MQLs with this scoring" in result.output
        days[day] = pd.read_csv(output)
    first, second = days["2025-03-01"], days["2025-03-02"]
    assert len(second) == 500 and first["previous_score"].isna().all()
    # A lead already past its outcome (SQL) or lost by then is scored, never routed.
    day1 = pd.Timestamp("2025-03-01")
    closed = ((leads.head(500)["sql_at"] < day1) | (leads.head(500)["lost_at"] < day1)).to_numpy()
    assert closed.any() and (first["is_mql"].to_numpy() & closed).any()
    assert first["became_mql"].eq(first["is_mql"] & ~closed).all()
    assert f"warning: {closed.sum():,} row(s) had reached the outcome or were lost" in result.output
    assert "(lost_at, sql_at)" in result.output
    assert second["previous_score"].tolist() == first["score"].tolist()
    assert not (second["became_mql"] & first["is_mql"]).any()
    # Scoring 2 March twice kept it once.
    kept = pd.read_parquet(tmp_path / "history")
    assert kept.groupby("scored_at").size().tolist() == [500, 500]


def test_two_scorings_to_one_output_at_once_leave_one_complete_file(tables_model, tmp_path):
    # Regression: both wrote to one fixed .partial name; the output kept 100 rows, no header.
    from concurrent.futures import ThreadPoolExecutor

    _, artifact_dir, leads, activities = tables_model
    loaded = artifact.load(artifact_dir)
    leads.head(1200).to_csv(tmp_path / "leads.csv", index=False)
    activities.to_parquet(tmp_path / "acts.parquet")
    output = tmp_path / "out.csv"

    def scoring(_):
        return score.score_file(
            loaded,
            tmp_path / "leads.csv",
            output,
            tmp_path / "acts.parquet",
            pd.Timestamp("2025-06-01"),
            reasons=False,
            chunk_rows=100,
            progress=False,
        )

    for _ in range(3):
        with ThreadPoolExecutor(2) as pool:
            summaries = list(pool.map(scoring, range(2)))
        assert [s.rows for s in summaries] == [1200, 1200]
        scored = pd.read_csv(output)
        assert (
            len(scored) == 1200
            and scored["lead_id"].tolist() == leads.head(1200)["lead_id"].astype(str).tolist()
        )
        assert not list(tmp_path.glob(".out.csv*"))


def test_a_scored_csv_never_runs_a_formula_in_a_spreadsheet(tables_model, tmp_path):
    # Regression: an id like =HYPERLINK(...) reached the CSV as it was and ran in Excel.
    _, artifact_dir, leads, activities = tables_model
    hostile = leads.head(20).copy()
    hostile.loc[hostile.index[0], "lead_id"] = '=HYPERLINK("http://x","y")'
    hostile.loc[hostile.index[1], "lead_id"] = "@SUM(A1)"
    hostile.to_parquet(tmp_path / "leads.parquet")
    activities.to_parquet(tmp_path / "acts.parquet")
    safe, raw = tmp_path / "safe.csv", tmp_path / "raw.csv"
    args = (artifact_dir, tmp_path / "leads.parquet", tmp_path / "acts.parquet")
    assert score_cli(*args, safe, "--no-reasons").exit_code == 0
    assert score_cli(*args, raw, "--no-reasons", "--raw-csv").exit_code == 0
    ids = pd.read_csv(safe, dtype=str)["lead_id"]
    assert ids.iloc[0] == '\'=HYPERLINK("http://x","y")' and ids.iloc[1] == "'@SUM(A1)"
    assert pd.read_csv(raw, dtype=str)["lead_id"].iloc[1] == "@SUM(A1)"
    # Numbers stay numbers.
    assert pd.read_csv(safe)["probability"].between(0, 1).all()


def test_one_file_of_leads_scored_at_different_moments(tables_model, tmp_path):
    _, artifact_dir, leads, activities = tables_model
    some = leads.head(30)
    both = pd.concat(
        [some.assign(scored_at="2025-01-10"), some.assign(scored_at="2025-03-01")],
        ignore_index=True,
    )
    both.loc[0, "scored_at"] = "not a date"
    both.to_parquet(tmp_path / "both.parquet")
    activities.to_parquet(tmp_path / "acts.parquet")
    args = (artifact_dir, tmp_path / "both.parquet", tmp_path / "acts.parquet")
    result = score_cli(*args, tmp_path / "both.csv", "--as-of-column", "scored_at", "--no-reasons")
    assert result.exit_code == 0, result.output
    mixed = pd.read_csv(tmp_path / "both.csv")
    assert len(mixed) == 60 and "scored_at missing or unparseable" in mixed["error"].iloc[0]
    for day, rows in (("2025-01-10", slice(1, 30)), ("2025-03-01", slice(30, 60))):
        some.to_parquet(tmp_path / "some.parquet")
        alone = tmp_path / f"{day}.csv"
        args = (artifact_dir, tmp_path / "some.parquet", tmp_path / "acts.parquet")
        assert score_cli(*args, alone, "--as-of", day, "--no-reasons").exit_code == 0
        expected = pd.read_csv(alone)["probability"].to_numpy()
        got = mixed["probability"].iloc[rows].to_numpy()
        assert np.allclose(got, expected[-len(got) :])
    refused = score_cli(
        *args, tmp_path / "x.csv", "--as-of-column", "scored_at", "--history", str(tmp_path / "h")
    )
    assert refused.exit_code == 2 and "--as-of-column" in refused.output


def test_repeated_and_blank_ids_are_said_not_silently_scored(tables_model, tmp_path):
    """A repeated id is scored (one output row per input row) but counted and shown, across
    chunks too; an id of spaces is a row error like an empty one."""
    _, artifact_dir, leads, activities = tables_model
    frame = pd.concat([leads.head(5), leads.iloc[[1]]], ignore_index=True).astype(object)
    frame.loc[3, "lead_id"] = "   "
    frame = frame.where(frame.notna(), None)
    frame.to_csv(tmp_path / "leads.csv", index=False)
    activities.to_parquet(tmp_path / "acts.parquet")
    result = score_cli(
        artifact_dir,
        tmp_path / "leads.csv",
        tmp_path / "acts.parquet",
        tmp_path / "out.csv",
        "--chunk-rows",
        "2",
    )
    assert result.exit_code == 0, result.output
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert len(out) == 6
    assert out.loc[3, "error"] == "lead_id is empty"
    assert "1 row(s) repeat the id of an earlier row" in result.output
    assert f"row 7: lead_id='{leads.loc[1, 'lead_id']}'" in result.output
