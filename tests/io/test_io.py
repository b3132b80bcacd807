"""The edges: the run folder names its files, one table reader, JSON, hashes and links."""

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from scoring.core.errors import DataContractError
from scoring.io import files, runfolder, tables
from scoring.io.runfolder import RunFolder


class ExportError(DataContractError):
    """A caller's own error class."""


def test_run_folder_names_every_file_once(tmp_path):
    run = RunFolder(tmp_path / "20260101-000000-x")
    run.path.mkdir()
    assert run.run_id == "20260101-000000-x"
    assert run.metrics.name == runfolder.METRICS and run.plot("roc").name == "roc.png"
    assert run.missing(runfolder.METRICS, runfolder.TRAINING) == ["metrics.json", "training.json"]
    run.write(runfolder.METRICS, {"b": 1, "a": np.float64(0.5)})
    assert run.read(runfolder.METRICS) == {"b": 1, "a": 0.5}
    (run.path / "01_train.ipynb").write_text("{}")
    assert [p.name for p in run.records()] == ["01_train.ipynb", "metrics.json"]


def test_canonical_json_sorts_keys_and_refuses_unknown_types(tmp_path):
    path = files.write_json(tmp_path / "a.json", {"b": np.int64(2), "a": 1}, canonical=True)
    assert path.read_text().index('"a"') < path.read_text().index('"b"')
    with pytest.raises(TypeError, match="not JSON serialisable"):
        files.write_json(tmp_path / "b.json", {"x": object()}, canonical=True)
    loose = files.write_json(tmp_path / "c.json", {"b": 1, "a": pd.Timestamp("2024-01-02")})
    assert json.loads(loose.read_text()) == {"b": 1, "a": "2024-01-02 00:00:00"}


def test_point_link_replaces_the_old_target(tmp_path):
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    link = files.point_link(tmp_path / "champion", "v1")
    files.point_link(link, "v2")
    assert link.resolve() == (tmp_path / "v2").resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["champion", "v1", "v2"]


def test_sha256_of_a_file(tmp_path):
    (tmp_path / "x").write_bytes(b"abc")
    assert files.sha256(tmp_path / "x").startswith("ba7816bf")


def test_one_reader_for_csv_gzip_and_parquet(tmp_path):
    frame = pd.DataFrame({" id ": ["a", "b", "c"], "n": ["1", "", "3"]})
    frame.to_csv(tmp_path / "t.csv", sep=";", index=False)
    with gzip.open(tmp_path / "t.csv.gz", "wt") as handle:
        frame.to_csv(handle, sep=";", index=False)
    pd.DataFrame({"id": ["a", "b", "c"], "n": [1.0, None, 3.0]}).to_parquet(tmp_path / "t.bin")
    whole = tables.read_table(tmp_path / "t.csv")
    assert list(whole.columns) == ["id", "n"] and whole["n"].tolist() == ["1", "", "3"]
    pd.testing.assert_frame_equal(tables.read_table(tmp_path / "t.csv.gz"), whole)
    as_text = tables.read_table(tmp_path / "t.bin", text=True)["n"]
    assert as_text[[0, 2]].tolist() == ["1.0", "3.0"] and pd.isna(as_text[1])
    chunks = list(tables.iter_chunks(tmp_path / "t.csv", 2))
    assert [len(c) for c in chunks] == [2, 1] and chunks[0]["n"].tolist() == ["1", None]
    assert tables.is_parquet(tmp_path / "t.bin") and not tables.is_parquet(tmp_path / "t.csv")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\x00\x01binary\x00", "holds binary data"),
        (b"\xd0\xcf\x11\xe0rest", "Excel 97-2003 workbook"),
    ],
)
def test_unreadable_files_raise_the_callers_error(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(ExportError, match=message):
        tables.read_table(path, error=ExportError)
    with pytest.raises(DataContractError, match=message):
        list(tables.iter_chunks(path, 10))
    with pytest.raises(ExportError, match="input file not found"):
        tables.read_table(tmp_path / "missing.csv", error=ExportError)


def test_cells_a_spreadsheet_would_run_are_neutralised():
    import pandas as pd

    from scoring.io.files import neutralise_formulas

    frame = pd.DataFrame(
        {
            "=cmd": ['=HYPERLINK("x")', "+1", "-x", "@SUM(A1)", "\tx", "plain", None],
            "n": [-1.5, 2, 3, 4, 5, 6, 7],
            "s": pd.array(["-", "a", "b", "c", "d", "e", None], dtype="string"),
        }
    )
    out = neutralise_formulas(frame)
    assert out.columns.tolist() == ["'=cmd", "n", "s"]
    assert out["'=cmd"].tolist()[:6] == [
        '\'=HYPERLINK("x")',
        "'+1",
        "'-x",
        "'@SUM(A1)",
        "'\tx",
        "plain",
    ]
    assert pd.isna(out["'=cmd"].iloc[6])
    assert out["n"].tolist() == frame["n"].tolist()  # a negative number is not a formula
    assert out["s"].iloc[0] == "'-" and pd.isna(out["s"].iloc[6])


def test_a_header_naming_a_column_twice_is_a_warning_naming_both(tmp_path, caplog):
    path = tmp_path / "dup.csv"
    path.write_text("id,Industry,Employees,Industry\n1,a,3,b\n2,c,4,d\n")
    with caplog.at_level("WARNING"):
        frame = tables.read_table(path)
        chunks = list(tables.iter_chunks(path, 1))
    assert list(frame.columns) == ["id", "Industry", "Employees", "Industry.1"]
    assert len(chunks) == 2
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and "'Industry' 2 times (columns 2, 4)" in said[0]
    assert "'Industry.1'" in said[0]


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("book.xlsx", b"PK\x03\x04 not really a zip" * 10, "cannot be opened as one"),
        ("cut.parquet", b"PAR1" + b"\x00" * 100, "footer cannot be read"),
    ],
)
def test_a_damaged_zip_or_parquet_is_said_in_our_words(tmp_path, name, content, expect):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataContractError, match=expect) as raised:
        tables.read_table(path)
    assert name in str(raised.value)
