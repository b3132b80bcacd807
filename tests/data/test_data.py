import pandas as pd
import pytest

from scoring.core.config import GeneratorParams
from scoring.data import synth
from scoring.data.contract import (
    DataContractError,
    clean_category,
    company_size_band,
    load_tables,
    validate_activities,
    validate_leads,
)
from tests.conftest import lead_row, leads_frame


@pytest.fixture(scope="module")
def tiny_crm():
    return synth.generate(GeneratorParams(n_leads=300), seed=1)


def _write_both(crm, folder, fmt):
    leads_path, acts_path = folder / f"leads.{fmt}", folder / f"activities.{fmt}"
    if fmt == "csv":
        crm.leads.to_csv(leads_path, index=False)
        crm.activities.to_csv(acts_path, index=False)
    else:
        crm.leads.to_parquet(leads_path)
        crm.activities.to_parquet(acts_path)
    return leads_path, acts_path


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_load_every_row_with_the_same_values(tiny_crm, tmp_path, fmt):
    tables = load_tables(*_write_both(tiny_crm, tmp_path, fmt))
    assert len(tables.leads) == len(tiny_crm.leads)
    assert len(tables.activities) == len(tiny_crm.activities)
    assert tables.leads["lead_id"].tolist() == tiny_crm.leads["lead_id"].tolist()
    pd.testing.assert_series_equal(
        tables.leads["mql_at"],
        tiny_crm.leads["mql_at"],
        check_dtype=False,
        check_exact=False,
        atol=pd.Timedelta("1us"),
    )
    assert (
        tables.leads["employee_count"].isna().sum() == tiny_crm.leads["employee_count"].isna().sum()
    )


def test_missing_column_names_table_and_column(tiny_crm):
    with pytest.raises(DataContractError) as err:
        validate_leads(tiny_crm.leads.drop(columns=["mql_at"]), source="leads.csv")
    message = str(err.value)
    assert "leads.csv" in message and "table 'leads'" in message
    assert "column 'mql_at'" in message and "column present" in message


def test_unparseable_timestamp_names_rows_and_values():
    frame = leads_frame([lead_row("L1", "2025-01-06 09:00"), lead_row("L2", "2025-01-06 09:00")])
    frame["created_at"] = frame["created_at"].astype(str)
    frame.loc[1, "created_at"] = "last tuesday"
    with pytest.raises(DataContractError) as err:
        validate_leads(frame)
    message = str(err.value)
    assert "column 'created_at'" in message and "parseable timestamp" in message
    assert "1 row(s)" in message and "'L2'" in message and "last tuesday" in message


def test_duplicate_lead_id_is_refused_with_examples():
    frame = leads_frame(
        [lead_row("L1", "2025-01-06"), lead_row("L1", "2025-01-07"), lead_row("L2", "2025-01-07")]
    )
    with pytest.raises(DataContractError) as err:
        validate_leads(frame)
    message = str(err.value)
    assert "column 'lead_id'" in message and "uniqueness" in message
    assert "2 row(s)" in message and "'L1'" in message


def test_negative_numbers_and_won_and_lost_together_are_refused():
    frame = leads_frame(
        [
            lead_row("L1", "2025-01-06", employee_count=-5.0),
            lead_row(
                "L2",
                "2025-01-06",
                opportunity_at="2025-02-01",
                won_at="2025-03-01",
                lost_at="2025-03-02",
            ),
        ]
    )
    with pytest.raises(DataContractError) as err:
        validate_leads(frame)
    message = str(err.value)
    assert "employee_count" in message and "greater_than_or_equal_to(0)" in message
    assert "not both won_at and lost_at" in message


def test_text_numbers_from_csv_are_parsed_and_bad_ones_reported():
    frame = leads_frame([lead_row("L1", "2025-01-06"), lead_row("L2", "2025-01-06")])
    frame["employee_count"] = ["250", "about 40"]
    with pytest.raises(DataContractError, match=r"employee_count'.*numeric.*'about 40'"):
        validate_leads(frame)


def test_activities_vocabulary_and_orphans():
    leads = validate_leads(leads_frame([lead_row("L1", "2025-01-06")]))
    acts = pd.DataFrame(
        {
            "lead_id": ["L1", "L1", "L9"],
            "occurred_at": pd.to_datetime(["2025-01-06", "2025-01-07", "2025-01-08"]),
            "activity_type": ["page_view", "fax_received", "email_open"],
            "page_category": ["pricing", None, None],
            "form_type": [None, None, None],
        }
    )
    with pytest.raises(DataContractError) as err:
        validate_activities(acts, leads["lead_id"])
    message = str(err.value)
    assert "column 'activity_type'" in message and "fax_received" in message
    assert "lead exists in leads" in message and "'L9'" in message


def test_valid_tables_keep_every_row(tiny_crm):
    leads = validate_leads(tiny_crm.leads)
    acts = validate_activities(tiny_crm.activities, leads["lead_id"])
    assert len(leads) == len(tiny_crm.leads) and len(acts) == len(tiny_crm.activities)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataContractError, match="input file not found"):
        load_tables(tmp_path / "leads.csv", tmp_path / "activities.csv")


def test_clean_category_and_size_bands():
    cleaned = clean_category(pd.Series([" Software", "SOFTWARE", "Select", "", "N/A", None]))
    assert cleaned.tolist() == ["software", "software", None, None, None, None]
    bands = company_size_band(pd.Series([10.0, 50.0, 999.0, 1000.0, 20000.0, None]))
    assert bands.tolist() == ["1-49", "50-199", "200-999", "1000-4999", "5000+", "unknown"]


def test_an_infinite_number_is_read_as_missing_with_a_warning(caplog):
    from scoring.data import contract as data
    from tests.conftest import lead_row, leads_frame

    frame = leads_frame([lead_row("L1", "2025-01-01"), lead_row("L2", "2025-01-02")])
    frame["annual_revenue"] = ["1e400", "5000000"]
    with caplog.at_level("WARNING"):
        checked = data.validate_leads(frame)
    assert checked["annual_revenue"].isna().tolist() == [True, False]
    assert "1 non-finite value(s) read as missing" in caplog.text and "L1" in caplog.text


def test_read_table_keeps_parquet_values_and_reads_csv_blanks_as_missing(tmp_path):
    """A blank in a CSV is missing; a typed Parquet table is read as it is (so the data
    fingerprint of the same file never changes with the reader)."""
    from scoring.data.contract import read_table

    frame = pd.DataFrame({"lead_id": ["L1", "L2"], "industry": ["", "Software"]})
    frame.to_parquet(tmp_path / "leads.parquet")
    frame.to_csv(tmp_path / "leads.csv", index=False)
    assert read_table(tmp_path / "leads.parquet")["industry"].tolist() == ["", "Software"]
    from_csv = read_table(tmp_path / "leads.csv")["industry"]
    assert pd.isna(from_csv[0]) and from_csv[1] == "Software"


def test_parquet_activities_are_validated_in_batches_and_kept_on_disk(tiny_crm, tmp_path):
    from scoring.data.contract import ActivityFile, stream_activities

    leads_path, acts_path = _write_both(tiny_crm, tmp_path, "parquet")
    tables = load_tables(leads_path, acts_path)
    assert isinstance(tables.activities, ActivityFile) and tables.activities.path.exists()
    in_memory = validate_activities(tiny_crm.activities, tables.leads["lead_id"])
    batched = stream_activities(acts_path, tables.leads["lead_id"], "acts", batch_rows=1000)
    assert batched.rows == len(in_memory) and batched.digest == tables.activities.digest
    assert batched.latest == in_memory["occurred_at"].max().floor("us")  # kept in microseconds
    pd.testing.assert_frame_equal(
        batched.frame()[["lead_id", "activity_type"]].astype(str),
        in_memory[["lead_id", "activity_type"]].astype(str),
    )


def test_batched_validation_counts_every_failing_row_with_global_row_numbers(tiny_crm, tmp_path):
    from scoring.data.contract import stream_activities

    acts = tiny_crm.activities.astype({"activity_type": str})
    broken = [10, 2_500, 4_000]
    acts.loc[broken, "activity_type"] = "fax_received"
    acts.to_parquet(tmp_path / "acts.parquet")
    with pytest.raises(DataContractError) as err:
        stream_activities(tmp_path / "acts.parquet", tiny_crm.leads["lead_id"], "acts", 1000)
    message = str(err.value)
    assert "failed for 3 row(s)" in message
    assert "row 10 " in message and "row 2500 " in message and "row 4000 " in message
