"""Flat CRM exports: reading what real exports look like, typing columns, clear errors."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from scoring.audit import flat_export
from scoring.cli import app
from scoring.core.config import FlatParams, GeneratorParams, load_params
from scoring.data import flat, synth
from scoring.model import splits, train

ROOT = Path(__file__).resolve().parents[2]


def _export(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    converted = rng.random(n) < 0.3
    return pd.DataFrame(
        {
            "Lead ID": [f"X{i:04d}" for i in range(n)],
            "Created": pd.date_range("2025-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "Lead Source": rng.choice(["Web", "Event", "Referral"], n),
            "Industry": rng.choice(["Software", "Retail", "Select", "Banking"], n),
            "Employees": rng.integers(5, 5000, n),
            "Newsletter": rng.choice(["Yes", "No"], n),
            "Email": [f"p{i}@firm{i % 40}.com" for i in range(n)],
            "Phone": [f"+1 555 {1000000 + i}" for i in range(n)],
            "Notes": [
                f"Called on day {i}; asked about pricing tiers and onboarding " * 2
                for i in range(n)
            ],
            "Nothing": [""] * n,
            "Placeholder": ["N/A"] * n,
            "Converted": np.where(converted, "Yes", "No"),
        }
    )


def _params(path: Path, **extra) -> FlatParams:
    values = {
        "path": str(path),
        "id_column": "Lead ID",
        "target_column": "Converted",
        "date_column": "Created",
        "min_positives": 5,
    }
    values.update(extra)
    return FlatParams(**values)


def _write(
    frame: pd.DataFrame, path: Path, sep: str = ",", encoding: str = "utf-8", line_end: str = "\n"
) -> Path:
    text = frame.to_csv(index=False, sep=sep, lineterminator=line_end)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("sep", "encoding", "line_end"),
    [
        (";", "utf-8", "\n"),
        ("\t", "utf-8", "\n"),
        (",", "utf-8-sig", "\n"),
        (",", "latin-1", "\r\n"),
        (";", "cp1252", "\r\n"),
    ],
)
def test_separators_encodings_and_line_ends_read_the_same(tmp_path, sep, encoding, line_end):
    frame = _export()
    frame.loc[0, "Industry"] = "Café Société"  # not ASCII
    frame.loc[1, "Lead Source"] = 'Partner, "EMEA"'  # a quoted field with the separator
    path = _write(frame, tmp_path / "export.csv", sep, encoding, line_end)
    read = flat.read_export(path, FlatParams.model_fields["missing_values"].default)
    assert list(read.columns) == list(frame.columns)
    assert len(read) == len(frame)
    assert read.loc[0, "Industry"] == "Café Société"
    assert read.loc[1, "Lead Source"] == 'Partner, "EMEA"'


def test_parquet_reads_too(tmp_path):
    path = tmp_path / "export.parquet"
    _export().to_parquet(path)
    dataset = flat.build_dataset(_params(path))
    assert len(dataset.label) == 300


def test_column_types_and_exclusions_with_reasons(tmp_path):
    dataset = flat.build_dataset(_params(_write(_export(), tmp_path / "e.csv")))
    kinds = dataset.columns.set_index("column")[["kind", "reason"]]
    assert kinds.loc["Lead Source", "kind"] == "categorical"
    assert kinds.loc["Employees", "kind"] == "numeric"
    assert kinds.loc["Newsletter", "kind"] == "boolean"
    assert kinds.loc["Email", "reason"] == "personal data"
    assert kinds.loc["Phone", "reason"].startswith("personal data")
    assert kinds.loc["Notes", "reason"] == "free text"
    assert kinds.loc["Nothing", "reason"].startswith("nearly empty")
    assert kinds.loc["Placeholder", "reason"].startswith("nearly empty")  # only "N/A"
    assert kinds.loc["Lead ID", "kind"] == "role"
    assert set(dataset.features.columns) == {"Lead Source", "Industry", "Employees", "Newsletter"}
    assert dataset.features["Newsletter"].isin([0.0, 1.0]).all()
    assert dataset.features["Industry"].isin(["Software", "Retail", "Banking", "missing"]).all()


def test_missing_target_column_is_named(tmp_path):
    path = _write(_export().drop(columns="Converted"), tmp_path / "e.csv")
    with pytest.raises(flat.FlatDataError, match=r"target column 'Converted' not found"):
        flat.build_dataset(_params(path))


def test_one_class_target_is_refused(tmp_path):
    path = _write(_export().assign(Converted="No"), tmp_path / "e.csv")
    with pytest.raises(flat.FlatDataError, match="one class only"):
        flat.build_dataset(_params(path))


def test_too_few_positives_is_refused(tmp_path):
    path = _write(_export(), tmp_path / "e.csv")
    with pytest.raises(flat.FlatDataError, match=r"only \d+ positive rows.*at least 500"):
        flat.build_dataset(_params(path, min_positives=500))


def test_duplicate_ids_error_or_keep_first(tmp_path):
    frame = _export()
    frame.loc[[5, 6], "Lead ID"] = "X0004"
    path = _write(frame, tmp_path / "e.csv")
    with pytest.raises(flat.FlatDataError) as err:
        flat.build_dataset(_params(path))
    assert "2 duplicate row(s)" in str(err.value) and "'X0004'" in str(err.value)
    assert "keep_first" in str(err.value)
    kept = flat.build_dataset(_params(path, duplicate_ids="keep_first"))
    assert len(kept.label) == 298


def test_no_usable_feature_is_refused(tmp_path):
    frame = _export()[["Lead ID", "Created", "Email", "Nothing", "Converted"]]
    with pytest.raises(flat.FlatDataError, match="no usable feature left"):
        flat.build_dataset(_params(_write(frame, tmp_path / "e.csv")))


def test_unparseable_date_is_refused_with_examples(tmp_path):
    frame = _export()
    frame.loc[3, "Created"] = "someday"
    with pytest.raises(flat.FlatDataError, match=r"date column 'Created'.*'someday'"):
        flat.build_dataset(_params(_write(frame, tmp_path / "e.csv")))


def test_split_falls_back_to_order_then_random(tmp_path):
    frame = _export().assign(Number=range(300, 0, -1))
    path = _write(frame, tmp_path / "e.csv")
    by_order = flat.build_dataset(_params(path, date_column=None, order_column="Number"))
    split = splits.split_dataset(by_order, load_params(ROOT / "params.yaml").models, 1)
    assert split.method == "by row order"
    assert (
        by_order.order[split.assignment == "test"].min()
        > by_order.order[split.assignment == "train"].max()
    )  # the highest numbers are the newest
    unordered = flat.build_dataset(_params(path, date_column=None))
    random = splits.split_dataset(unordered, load_params(ROOT / "params.yaml").models, 1)
    assert random.method == "random stratified" and "NOT out of time" in random.warning


@pytest.mark.slow  # trains on a 20,000-lead export
def test_synthetic_export_leaks_are_flagged(small_crm, tmp_path):
    export = synth.flat_export(small_crm.leads, small_crm.activities, small_crm.snapshot)
    path = tmp_path / "crm_export.csv"
    export.to_csv(path, index=False)
    dataset = flat.build_dataset(
        FlatParams(
            path=str(path),
            id_column="Prospect ID",
            target_column="Converted",
            date_column="Created Date",
        )
    )
    params = load_params(ROOT / "params.yaml")
    fast = params.models.model_copy(update={"backtest_folds": 0, "families": ["logistic"]})
    result = train.train_all(
        dataset,
        fast,
        params.features,
        params.baseline.model_copy(update={"rules": []}),
        params.seed,
    )
    flagged = {f.column for f in result.leakage}
    assert {
        "Lead Status",
        "Lead Rating",
        "Sales Activities",
        "Email Opens",
        "Converted Date (days before)",
        "Total Activities",
    } <= flagged
    assert not flagged & {"Industry", "Employees", "Lead Source", "Job Title"}
    assert result.baseline_kind.startswith("plain logistic regression")
    kinds = dataset.columns.set_index("column")["reason"]
    assert kinds["Email"] == "personal data" and kinds["First Name"] == "personal data"
    assert kinds["Lead Number"].startswith("identifier")


def _readme_example() -> tuple[str, str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- flat-example -->\n```yaml\n(.*?)```", readme, re.S).group(1)
    command = re.search(r"<!-- flat-command -->\n```\n(.*?)\n```", readme, re.S).group(1)
    return block, command


@pytest.mark.slow  # a whole run
def test_readme_worked_example_runs_as_written(tmp_path, monkeypatch):
    block, command = _readme_example()
    assert block == (ROOT / "examples" / "flat_export.yaml").read_text()
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "flat_export.yaml").write_text(block)
    crm = synth.generate(GeneratorParams(n_leads=4_000), seed=7)
    synth.write(
        crm,
        tmp_path / "data/raw/leads.parquet",
        tmp_path / "data/raw/acts.parquet",
        tmp_path / "data/raw/truth.parquet",
        tmp_path / "data/raw/crm_export.csv",
    )
    monkeypatch.chdir(tmp_path)
    args = command.split()
    assert args[:2] == [".venv/bin/leadscore", "run"]
    # The stages in-process (the notebooks run in the pipeline test and, for a flat export's
    # audit, just below): what the README's params do is the point here.
    result = CliRunner().invoke(app, [*args[1:], "--no-notebooks"])
    assert result.exit_code == 0, result.output
    latest = tmp_path / "reports" / "latest"
    metrics = yaml.safe_load((latest / "metrics.json").read_text())
    assert metrics["baseline"] == "points rules"
    assert "Lead Status" in metrics["leakage"]["excluded"]
    audit = CliRunner().invoke(app, ["audit", *args[2:]])
    assert audit.exit_code == 0, audit.output
    assert (tmp_path / "reports" / "latest" / "00_export_audit.html").is_file()


def test_check_data_reads_and_types_a_flat_export(tmp_path):
    export = _write(_export(), tmp_path / "e.csv")
    params = tmp_path / "flat.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "data": {
                    "source": "flat",
                    "flat": {
                        "path": str(export),
                        "id_column": "Lead ID",
                        "target_column": "Converted",
                        "date_column": "Created",
                        "min_positives": 5,
                    },
                }
            }
        )
    )
    result = CliRunner().invoke(app, ["check-data", "--params", str(params)])
    assert result.exit_code == 0, result.output
    assert "personal data" in result.output and "ok: 300 leads" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "data": {
                    "source": "flat",
                    "flat": {"path": str(export), "id_column": "Lead ID", "target_column": "Won"},
                }
            }
        )
    )
    result = CliRunner().invoke(app, ["check-data", "--params", str(bad)])
    assert result.exit_code == 2 and "target column 'Won' not found" in result.output


def test_calendar_names_and_codes_are_categories_and_only_full_dates_are_dates(tmp_path):
    n = 240
    rng = np.random.default_rng(3)
    frame = _export(n).assign(
        **{
            "Month": rng.choice(["jan", "feb", "may", "jun", "Sep", "dec"], n),
            "Weekday": rng.choice(["Monday", "tue", "Fri"], n),
            "Quarter": rng.choice(["Q1", "Q2", "2024 Q3", "Q4"], n),
            "SIC Code": rng.choice(["5411", "7372", "6022", "8742"], n),
            "Branch": rng.choice(["0042", "0107", "0311"], n),
            "Day": rng.integers(1, 32, n).astype(str),
            "Month Year": rng.choice(["May 2024", "Jun 2024", "Jul 2024"], n),
            "Signed Up": pd.date_range("2023-01-01", periods=n, freq="D").strftime("%d/%m/%Y"),
        }
    )
    dataset = flat.build_dataset(_params(_write(frame, tmp_path / "e.csv")))
    kinds = dataset.columns.set_index("column")
    for column in ("Month", "Weekday", "Quarter", "SIC Code", "Branch", "Month Year"):
        assert kinds.loc[column, "kind"] == "categorical", column
    assert kinds.loc["Month", "reason"] == "month names (categories)"
    assert kinds.loc["Weekday", "reason"] == "weekday names (categories)"
    assert kinds.loc["SIC Code", "reason"] == "numbers that are codes (categories)"
    assert kinds.loc["Branch", "reason"] == "numbers that are codes (categories)"
    assert kinds.loc["Day", "kind"] == "numeric"  # a day of the month is a number
    assert kinds.loc["Signed Up", "kind"] == "datetime"  # full dates
    assert dataset.features["Month"].isin(["jan", "feb", "may", "jun", "Sep", "dec"]).all()


def test_export_without_ids_in_time_order_uses_line_numbers_and_row_order(tmp_path):
    frame = _export(400).drop(columns=["Lead ID", "Created"])
    path = _write(frame, tmp_path / "e.csv")
    params = _params(path, id_column=None, date_column=None, rows_in_time_order=True)
    dataset = flat.build_dataset(params)
    assert dataset.lead_ids.tolist()[:2] == ["2", "3"]  # line numbers; the header is line 1
    split = splits.split_dataset(dataset, load_params(ROOT / "params.yaml").models, 1)
    assert split.method == "by row order"
    lines = dataset.lead_ids.astype(int)
    assert lines[split.assignment == "train"].max() < lines[split.assignment == "test"].min()
    assert any("time order" in note for note in dataset.notes)


@pytest.mark.slow  # a whole run
def test_flat_export_without_rules_runs_end_to_end_and_exports(tmp_path, monkeypatch):
    """No rules and an unreachable conversion target: the recommendation falls back, says
    why, and the run ends with an artifact and reports/latest."""
    crm = synth.generate(GeneratorParams(n_leads=3_000), seed=7)
    export = synth.flat_export(crm.leads, crm.activities, crm.snapshot)
    export.to_csv(tmp_path / "export.csv", index=False)
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump(
            {
                "data": {
                    "source": "flat",
                    "reports_dir": "reports",
                    "flat": {
                        "path": "export.csv",
                        "id_column": "Prospect ID",
                        "target_column": "Converted",
                        "date_column": "Created Date",
                    },
                },
                "models": {"bootstrap_samples": 30, "backtest_folds": 0},
                "thresholds": {"recommended": "conversion_target", "min_conversion": 0.99},
                "mlflow": {"tracking_uri": "sqlite:///mlflow.db", "artifact_dir": "mlartifacts"},
                "export": {"dir": "artifacts"},
            }
        )
    )
    monkeypatch.chdir(tmp_path)
    # In-process: the notebooks of a flat export run in the README example's test.
    result = CliRunner().invoke(app, ["run", "--params", "params.yaml", "--no-notebooks"])
    assert result.exit_code == 0, result.output
    latest = tmp_path / "reports" / "latest"
    saved = yaml.safe_load((latest / "thresholds.json").read_text())
    assert saved["requested"] == "conversion_target"
    # Capacity and expected value would rest on our default figures: top share needs none.
    assert saved["recommended"] == "top_share"
    assert saved["defaulted_settings"] == ["thresholds.top_share = 0.2 (the default)"]
    assert "no threshold reaches 99%" in saved["fallback_reason"]
    policies = {p["policy"]: p for p in saved["policies"]}
    assert "no rule baseline" in policies["volume_matched"]["note"]
    assert policies[saved["recommended"]]["threshold"] is not None
    assert (latest / "artifact" / "manifest.json").is_file()
    assert list((tmp_path / "artifacts" / "leadscore").glob("v*"))
    report = (latest / "report.html").read_text()
    assert "Fallback: the conversion target policy has no threshold" in report
    assert "settings left at their default" in report
    assert "Leakage review" in report and "features.allow_columns: add" in report
    metrics = yaml.safe_load((latest / "metrics.json").read_text())
    assert metrics["baseline"].startswith("plain logistic regression")
    assert {"Lead Status", "Lead Owner", "Lead Rating"} <= set(metrics["leakage"]["excluded"])
    assert metrics["fitted_on"]["rows"] == "train + validation"


def test_readme_bank_example_is_the_example_file():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- bank-example -->\n```yaml\n(.*?)```", readme, re.S).group(1)
    assert block == (ROOT / "examples" / "bank_marketing.yaml").read_text()
    params = load_params(ROOT / "examples" / "bank_marketing.yaml")
    assert params.data.flat.id_column is None and params.data.flat.rows_in_time_order
    assert params.baseline.rules == []


def test_an_infinite_number_in_an_export_is_missing(tmp_path):
    frame = _export(200)
    frame["Employees"] = frame["Employees"].astype(str)
    frame.loc[3, "Employees"] = "1e400"
    dataset = flat.build_dataset(_params(_write(frame, tmp_path / "e.csv")))
    assert np.isnan(dataset.features.loc[3, "Employees"])
    assert np.isfinite(dataset.features["Employees"].dropna()).all()


def test_compressed_utf16_and_misnamed_files_are_read_by_content(tmp_path):
    import bz2
    import gzip
    import zipfile

    frame = _export(120)
    text = frame.to_csv(index=False)
    expected = flat.read_export(_write(frame, tmp_path / "plain.csv"), [])
    files = {
        "gzip.csv": gzip.compress(text.encode()),
        "bz2.csv": bz2.compress(text.encode()),
        "utf16.csv": frame.to_csv(index=False, sep="\t").encode("utf-16"),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    with zipfile.ZipFile(tmp_path / "one.zip", "w") as bundle:
        bundle.writestr("export.csv", text)
    frame.to_parquet(tmp_path / "parquet.csv")  # a Parquet file with the wrong name
    for name in [*files, "one.zip", "parquet.csv"]:
        read = flat.read_export(tmp_path / name, [])
        pd.testing.assert_frame_equal(read.astype(str), expected.astype(str), check_dtype=False)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty (0 bytes)"),
        (b"\x00\x01\x02\x03binary\x00\x00", "holds binary data"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "Excel 97-2003 workbook"),
        ("xlsx", "is an Excel workbook"),
        (b"\n\n", "holds no columns and no rows"),
    ],
)
def test_files_that_are_not_csv_are_refused_clearly(tmp_path, content, message):
    import zipfile

    path = tmp_path / "export.csv"
    if content == "xlsx":
        with zipfile.ZipFile(path, "w") as bundle:
            bundle.writestr("[Content_Types].xml", "<Types/>")
            bundle.writestr("xl/workbook.xml", "<workbook/>")
    else:
        path.write_bytes(content)
    with pytest.raises(flat.FlatDataError, match=re.escape(message)):
        flat.read_export(path, [])


def _stages_export(n: int = 300) -> pd.DataFrame:
    """A CRM status as the target: won, lost and still open."""
    frame = _export(n)
    status = np.where(frame["Converted"] == "Yes", "Closed Won", "Closed Lost")
    status[::7] = "Open"
    return frame.assign(Converted=status)


def test_a_target_value_that_is_neither_positive_nor_negative_is_an_error(tmp_path):
    path = _write(_stages_export(), tmp_path / "e.csv")
    with pytest.raises(flat.FlatDataError) as err:
        flat.build_dataset(_params(path, positive_values=["Closed Won"]))
    message = str(err.value)
    assert "'Open' (43 rows)" in message
    assert "negative_values" in message and "unlabelled_values" in message


def test_unlabelled_values_are_left_out_and_counted(tmp_path):
    path = _write(_stages_export(), tmp_path / "e.csv")
    params = _params(path, positive_values=["Closed Won"], unlabelled_values=["open"])
    dataset = flat.build_dataset(params)
    assert len(dataset.label) == 300 - 43 and set(dataset.label) == {0, 1}
    assert dataset.exclusions.to_dict(orient="records") == [
        {"reason": "outcome not known yet (data.flat.unlabelled_values)", "leads": 43}
    ]
    counted = {v["value"]: v["counted_as"] for v in dataset.description["target_values"]}
    assert counted == {
        "Closed Lost": "negative",
        "Closed Won": "positive",
        "Open": "unlabelled (left out)",
    }
    audit = flat_export.audit_export(params)
    assert audit.overview.iloc[0]["rows_used"] == 257 and audit.overview.iloc[0]["unlabelled"] == 43
    assert "'Open' 43 rows (unlabelled (left out))" in flat_export.audit_markdown(audit)


def test_negative_values_count_an_open_status_as_not_converted(tmp_path):
    path = _write(_stages_export(), tmp_path / "e.csv")
    params = _params(path, positive_values=["Closed Won"], negative_values=["Open"])
    dataset = flat.build_dataset(params)
    assert len(dataset.label) == 300 and dataset.exclusions.empty
    positives = (_stages_export()["Converted"] == "Closed Won").sum()
    assert dataset.label.sum() == positives


def test_dates_that_mostly_lie_in_the_future_are_an_error_about_the_dates(tmp_path):
    frame = _export()
    frame["Created"] = pd.date_range("2099-01-01", periods=len(frame), freq="D").strftime(
        "%Y-%m-%d"
    )
    with pytest.raises(flat.FlatDataError, match=r"100% of the dates in 'Created' lie after"):
        flat.build_dataset(_params(_write(frame, tmp_path / "e.csv")))
    frame = _export()
    frame.loc[:2, "Created"] = "2099-01-01"
    dataset = flat.build_dataset(_params(_write(frame, tmp_path / "few.csv")))
    assert any("3 date(s) in 'Created' lie after today" in note for note in dataset.notes)


def test_mixed_time_zone_offsets_are_read_as_utc_with_a_note(tmp_path):
    frame = _export()
    stamps = pd.date_range("2025-01-01 10:00", periods=len(frame), freq="D")
    frame["Created"] = [
        f"{t:%Y-%m-%dT%H:%M:%S}{'+02:00' if i % 2 else '-05:00'}" for i, t in enumerate(stamps)
    ]
    dataset = flat.build_dataset(_params(_write(frame, tmp_path / "e.csv")))
    assert dataset.moment.iloc[0] == pd.Timestamp("2025-01-01 15:00")  # 10:00 at -05:00
    assert dataset.moment.iloc[1] == pd.Timestamp("2025-01-02 08:00")  # 10:00 at +02:00
    assert any("converted to UTC" in note for note in dataset.notes)


def test_decimal_commas_are_read_as_decimals_not_thousands(tmp_path):
    """'90,0' employees is ninety, not nine hundred; '28.842.000,00' is a revenue, not a
    category."""
    frame = _export()
    frame["Employees"] = [f"{i % 31 * 3},{i % 2 * 5}" for i in range(len(frame))]
    frame["Revenue"] = [
        "28.842.000,00" if i % 3 == 0 else f"{i % 50},50" for i in range(len(frame))
    ]
    dataset = flat.build_dataset(_params(_write(frame, tmp_path / "e.csv")))
    kinds = dataset.columns.set_index("column")
    assert kinds.loc["Employees", "kind"] == "numeric" and kinds.loc["Employees", "decimal"] == ","
    assert kinds.loc["Revenue", "kind"] == "numeric"
    assert dataset.features["Employees"].iloc[30:32].tolist() == [90.0, 0.5]
    assert dataset.features["Revenue"].iloc[12:14].tolist() == [28_842_000.0, 13.5]


def test_a_column_with_both_decimal_marks_is_refused_unless_params_say(tmp_path):
    frame = _export()
    frame["Score"] = ["1,5" if i % 2 else "2.5" for i in range(len(frame))]
    path = _write(frame, tmp_path / "e.csv")
    with pytest.raises(
        flat.FlatDataError, match=r"'Score' mixes decimal points and decimal commas"
    ):
        flat.build_dataset(_params(path))
    dataset = flat.build_dataset(_params(path, decimal=","))
    assert dataset.features["Score"].iloc[:2].tolist() == [25.0, 1.5]  # "2.5" as 25 by order


def test_scoring_reads_numbers_with_the_decimal_mark_training_found(tmp_path):
    from scoring.runtime import batch as score

    preprocessing = {
        "flat": {
            "id_column": "id",
            "date_column": None,
            "missing_values": [],
            "columns": [
                {"column": "Employees", "kind": "numeric", "feature": "Employees", "decimal": ","},
                {"column": "Visits", "kind": "numeric", "feature": "Visits"},
            ],
        }
    }
    chunk = pd.DataFrame(
        {"id": ["a", "b"], "Employees": ["1.200,5", "90,0"], "Visits": ["1,200", "3"]}
    )
    features, errors = score.flat_features(chunk, preprocessing, "input.csv")
    assert features["Employees"].tolist() == [1200.5, 90.0]
    assert features["Visits"].tolist() == [1200.0, 3.0] and errors.isna().all()


def _day_first(dates: pd.DatetimeIndex) -> list[str]:
    return list(dates.strftime("%d/%m/%Y"))


def test_day_first_dates_are_detected_and_read_day_first(tmp_path):
    frame = _export()
    dates = pd.date_range("2025-01-01", periods=len(frame), freq="D")
    frame["Created"] = _day_first(dates)
    dataset = flat.build_dataset(_params(_write(frame, tmp_path / "e.csv")))
    assert (dataset.moment.to_numpy() == dates.to_numpy()).all()  # 01/02/2025 is 1 February
    assert dataset.columns.set_index("column").loc["Created", "dayfirst"] is True


def test_a_date_column_of_unknown_order_is_refused_unless_params_say(tmp_path):
    frame = _export(24)
    dates = pd.date_range("2025-01-01", periods=24, freq="MS")  # always the 1st: 01/02/2025
    frame["Created"] = _day_first(dates)
    path = _write(frame, tmp_path / "e.csv")
    with pytest.raises(flat.FlatDataError, match=r"'01/01/2025' could be day or month first"):
        flat.build_dataset(_params(path))
    dataset = flat.build_dataset(_params(path, dayfirst=True))
    assert (dataset.moment.to_numpy() == dates.to_numpy()).all()


def test_a_date_column_with_both_orders_is_refused(tmp_path):
    frame = _export()
    frame["Created"] = ["13/01/2025" if i % 2 else "01/13/2025" for i in range(len(frame))]
    with pytest.raises(flat.FlatDataError, match=r"both day-first \('13/01/2025'\)"):
        flat.build_dataset(_params(_write(frame, tmp_path / "e.csv")))


def test_scoring_reads_dates_in_the_order_training_found(tmp_path):
    from scoring.runtime import batch as score

    preprocessing = {
        "flat": {
            "id_column": "id",
            "date_column": "Created",
            "date_dayfirst": True,
            "missing_values": [],
            "columns": [
                {
                    "column": "Last Visit",
                    "kind": "datetime",
                    "feature": "Last Visit (days before)",
                    "dayfirst": True,
                }
            ],
        }
    }
    chunk = pd.DataFrame({"id": ["a"], "Created": ["10/02/2025"], "Last Visit": ["01/02/2025"]})
    features, errors = score.flat_features(chunk, preprocessing, "input.csv")
    assert features["Last Visit (days before)"].tolist() == [9.0] and errors.isna().all()


def test_percentages_are_numbers_not_categories(tmp_path):
    # Regression: "12.5%" was typed as a 334-level category, rare levels grouped as "other".
    frame = _export()
    frame["Open Rate"] = [f"{i % 97 / 2:.1f}%" for i in range(len(frame))]
    frame["Share"] = [f"{i % 40},5 ‰" for i in range(len(frame))]
    dataset = flat.build_dataset(_params(_write(frame, tmp_path / "e.csv")))
    kinds = dataset.columns.set_index("column")
    assert kinds.loc["Open Rate", "kind"] == "numeric" and kinds.loc["Share", "kind"] == "numeric"
    assert dataset.features["Open Rate"].iloc[:3].tolist() == [0.0, 0.5, 1.0]
    assert dataset.features["Share"].iloc[1] == 1.5
