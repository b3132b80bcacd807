"""A corpus of bad inputs, generated here (never committed data): each case is one command on
one broken file or setting, and must end with its exit code (2: bad input or params) and a
message naming what is wrong, with no Python traceback, and without changing any file of the
project (no run folder, no MLflow record, no output). Add a case for every new way to break.
"""

from __future__ import annotations

import gzip
import io
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from scoring.cli import app
from tests.conftest import flat_project

GOOD_ROWS = 1500


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project on a small flat export, trained and exported once (for the scoring cases)."""
    root = tmp_path_factory.mktemp("corpus")
    flat_project(root, "corpus", GOOD_ROWS)
    trained = CliRunner().invoke(
        app, ["run", "--params", str(root / "params.yaml"), "--no-notebooks"]
    )
    assert trained.exit_code == 0, trained.output
    return root


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and "cases" not in p.relative_to(root).parts
    }


@dataclass(frozen=True)
class Case:
    """A broken input: what to write into the case folder, the command, what it must say."""

    name: str
    write: Callable[[Path, Path], list[str]]  # (case folder, project) -> command arguments
    expect: str  # a piece of the message
    code: int = 2
    also: tuple[str, ...] = field(default_factory=tuple)  # more pieces of the message


def _export(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "export.csv", dtype=str, keep_default_na=False)


def _run_on(case: Path, root: Path, frame_or_bytes, name: str = "bad.csv", *extra: str):
    path = case / name
    if isinstance(frame_or_bytes, bytes):
        path.write_bytes(frame_or_bytes)
    else:
        frame_or_bytes.to_csv(path, index=False)
    return [
        "run",
        "--params",
        str(root / "params.yaml"),
        "--no-notebooks",
        "--set",
        f"data.flat.path={path}",
        *extra,
    ]


def _run_with(root: Path, *settings: str) -> list[str]:
    args = ["run", "--params", str(root / "params.yaml"), "--no-notebooks"]
    for item in settings:
        args += ["--set", item]
    return args


def _edited(root: Path, change: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    return change(_export(root).copy())


def _set_column(column: str, values) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = values(frame) if callable(values) else values
        return frame

    return change


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def _params_file(case: Path, text: str) -> list[str]:
    (case / "params.yaml").write_text(text)
    return ["run", "--params", str(case / "params.yaml"), "--no-notebooks"]


def _artifact(root: Path) -> Path:
    return next((root / "artifacts" / "corpus").glob("v*"))


def _score(case: Path, root: Path, source: Path, output: str = "out.csv", *extra: str):
    return [
        "score",
        "-m",
        str(_artifact(root)),
        "-i",
        str(source),
        "-o",
        str(case / output),
        "--no-progress",
        *extra,
    ]


def _score_on(case: Path, root: Path, content, *extra: str) -> list[str]:
    path = case / "leads.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        content.to_csv(path, index=False)
    return _score(case, root, path, "out.csv", *extra)


def _tampered(case: Path, root: Path) -> list[str]:
    copy = case / "model"
    shutil.copytree(_artifact(root), copy)
    card = copy / "model_card.md"
    card.write_text(card.read_text() + "\nchanged\n")
    return ["score", "-m", str(copy), "-i", str(root / "export.csv"), "-o", str(case / "o.csv")]


def _symlinked(case: Path, root: Path) -> list[str]:
    """A model whose file is a link to an identical copy outside its folder."""
    copy = case / "model"
    shutil.copytree(_artifact(root), copy)
    target = next(p for p in copy.iterdir() if p.suffix == ".json" and p.name != "manifest.json")
    outside = case / f"elsewhere-{target.name}"
    shutil.copy(target, outside)
    target.unlink()
    target.symlink_to(outside)
    return ["score", "-m", str(copy), "-i", str(root / "export.csv"), "-o", str(case / "o.csv")]


CASES = [
    # --- the training input (a flat export) ---------------------------------------------
    Case("empty file", lambda c, r: _run_on(c, r, b""), "is empty (0 bytes)"),
    Case(
        "header only",
        lambda c, r: _run_on(c, r, _export(r).head(0)),
        "has a header but no rows",
    ),
    Case("binary garbage", lambda c, r: _run_on(c, r, bytes(range(256)) * 40), "binary"),
    Case("Excel workbook", lambda c, r: _run_on(c, r, _xlsx(), "leads.xlsx"), "Excel"),
    Case(
        "gzip of garbage",
        lambda c, r: _run_on(c, r, gzip.compress(bytes(range(256)) * 40)),
        "binary",
    ),
    Case(
        "missing file",
        lambda c, r: _run_with(r, f"data.flat.path={c / 'nowhere.csv'}"),
        "nowhere.csv",
    ),
    Case(
        "a folder as the export",
        lambda c, r: _run_with(r, f"data.flat.path={c}"),
        "not a file",
    ),
    Case(
        "target column missing",
        lambda c, r: _run_on(c, r, _export(r).drop(columns=["Converted"])),
        "Converted",
    ),
    Case(
        "target of one class",
        lambda c, r: _run_on(c, r, _edited(r, _set_column("Converted", "0"))),
        "one class",
    ),
    Case(
        "too few positives",
        lambda c, r: _run_on(
            c,
            r,
            _edited(
                r,
                _set_column("Converted", lambda f: ["1" if i < 5 else "0" for i in range(len(f))]),
            ),
        ),
        "positives",
    ),
    Case(
        "unknown target labels",
        lambda c, r: _run_on(
            c,
            r,
            _edited(
                r,
                _set_column(
                    "Converted",
                    lambda f: ["Open" if i % 7 == 0 else v for i, v in enumerate(f["Converted"])],
                ),
            ),
        ),
        "Open",
        also=("negative_values",),
    ),
    Case(
        "duplicate ids",
        lambda c, r: _run_on(c, r, pd.concat([_export(r), _export(r).head(3)], ignore_index=True)),
        "duplicate",
    ),
    Case(
        "id column missing",
        lambda c, r: _run_on(c, r, _export(r).drop(columns=["Prospect ID"])),
        "Prospect ID",
    ),
    Case(
        "unparseable dates",
        lambda c, r: _run_on(
            c,
            r,
            _edited(
                r,
                _set_column(
                    "Created Date",
                    lambda f: ["someday" if i % 3 else v for i, v in enumerate(f["Created Date"])],
                ),
            ),
        ),
        "Created Date",
    ),
    Case(
        "dates in the future",
        lambda c, r: _run_on(
            c,
            r,
            _edited(
                r,
                _set_column(
                    "Created Date",
                    lambda f: (pd.to_datetime(f["Created Date"]) + pd.Timedelta(days=3650)).astype(
                        str
                    ),
                ),
            ),
        ),
        "future",
    ),
    Case(
        "both decimal marks in one column",
        lambda c, r: _run_on(
            c,
            r,
            _edited(
                r,
                _set_column(
                    "Annual Revenue", lambda f: ["1,5" if i % 2 else "2.5" for i in range(len(f))]
                ),
            ),
        ),
        "Annual Revenue",
    ),
    Case(
        "dates of both orders",
        lambda c, r: _run_on(
            c,
            r,
            _edited(
                r,
                _set_column(
                    "Created Date",
                    lambda f: ["13/01/2025" if i % 2 else "01/13/2025" for i in range(len(f))],
                ),
            ),
        ),
        "Created Date",
    ),
    Case(
        "only the id, target and date",
        lambda c, r: _run_on(c, r, _export(r)[["Prospect ID", "Converted", "Created Date"]]),
        "feature",
    ),
    # --- params ---------------------------------------------------------------------------
    Case(
        "unknown key in a section",
        lambda c, r: _params_file(c, (r / "params.yaml").read_text() + "\nfoo: 1\n"),
        "unknown key",
    ),
    Case(
        "YAML that does not parse",
        lambda c, r: _params_file(c, "data: [unclosed\n"),
        "params.yaml",
    ),
    Case("params file missing", lambda c, r: ["run", "--params", str(c / "no.yaml")], "no.yaml"),
    Case("wrong type", lambda c, r: _run_with(r, "models.bootstrap_samples=many"), "bootstrap"),
    Case("out of range", lambda c, r: _run_with(r, "models.valid_months=0"), "valid_months"),
    Case(
        "unknown override",
        lambda c, r: _run_with(r, "models.familes=[lightgbm]"),
        "familes",
    ),
    Case("override without =", lambda c, r: _run_with(r, "seed"), "section.key=value"),
    Case(
        "recommended policy not computed",
        lambda c, r: _run_with(
            r, "thresholds.policies=[volume_matched]", "thresholds.recommended=expected_value"
        ),
        "recommended",
    ),
    Case(
        "reports into /etc through ..",
        lambda c, r: _run_with(r, f"data.reports_dir={r}/../../../../../../etc/leadscore"),
        "system folder",
    ),
    Case(
        "artifacts into /usr",
        lambda c, r: _run_with(r, "export.dir=/usr/local/leadscore"),
        "system folder",
    ),
    Case(
        "baseline rule on a missing field",
        lambda c, r: _run_with(
            r,
            'baseline.rules=[{name: x, kind: fit, field: "No Such Field", op: "==", value: 1, '
            "points: 5}]",
        ),
        "No Such Field",
    ),
    Case(
        "baseline rule comparing text with a number",
        lambda c, r: _run_with(
            r,
            "baseline.rules=[{name: x, kind: fit, field: Industry, op: '>=', value: 5, points: 5}]",
        ),
        "Industry",
    ),
    Case(
        "drop_columns names no column",
        lambda c, r: _run_with(r, "features.drop_columns=[Nothing Here]"),
        "Nothing Here",
    ),
    Case(
        "points.fields names no column",
        lambda c, r: _run_with(r, "points.fields=[Nowhere]"),
        "Nowhere",
    ),
    # --- scoring --------------------------------------------------------------------------
    Case(
        "scoring input missing",
        lambda c, r: _score(c, r, c / "absent.csv"),
        "absent.csv",
    ),
    Case("scoring an empty file", lambda c, r: _score_on(c, r, b""), "is empty (0 bytes)"),
    Case("scoring binary garbage", lambda c, r: _score_on(c, r, bytes(range(256)) * 40), "binary"),
    Case("scoring an Excel workbook", lambda c, r: _score_on(c, r, _xlsx()), "Excel"),
    Case(
        "output over the input",
        lambda c, r: (
            [
                "score",
                "-m",
                str(_artifact(r)),
                "-i",
                str(r / "export.csv"),
                "-o",
                str(r / "export.csv"),
            ]
        ),
        "input",
    ),
    Case(
        "output is a folder",
        lambda c, r: ["score", "-m", str(_artifact(r)), "-i", str(r / "export.csv"), "-o", str(c)],
        "folder",
    ),
    Case(
        "output as a spreadsheet",
        lambda c, r: _score(c, r, r / "export.csv", "out.xlsx"),
        ".xlsx",
    ),
    Case(
        "no rows per chunk",
        lambda c, r: _score(c, r, r / "export.csv", "out.csv", "--chunk-rows", "0"),
        "chunk-rows",
    ),
    Case(
        "as-of that is no date",
        lambda c, r: _score(c, r, r / "export.csv", "out.csv", "--as-of", "yesterday-ish"),
        "--as-of",
    ),
    Case(
        "model folder missing",
        lambda c, r: (
            [
                "score",
                "-m",
                str(c / "no-model"),
                "-i",
                str(r / "export.csv"),
                "-o",
                str(c / "o.csv"),
            ]
        ),
        "no-model",
    ),
    Case("tampered model", _tampered, "model_card.md"),
    Case(
        "registry model that does not exist",
        lambda c, r: (
            [
                "score",
                "-m",
                "models:/nobody@champion",
                "-i",
                str(r / "export.csv"),
                "-o",
                str(c / "o.csv"),
                "--params",
                str(r / "params.yaml"),
            ]
        ),
        "nobody",
    ),
    Case(
        "scoring input without the model's columns",
        lambda c, r: _score_on(c, r, pd.DataFrame({"Prospect ID": ["a"], "Whatever": [1]})),
        "missing",
    ),
    Case(
        "scoring a damaged workbook",
        lambda c, r: _score_on(c, r, b"PK\x03\x04 not really a zip" * 10),
        "cannot be opened as one",
    ),
    Case(
        "scoring a Parquet file cut short",
        lambda c, r: _score(c, r, _write(c / "cut.parquet", b"PAR1" + bytes(200))),
        "footer cannot be read",
    ),
    Case("scoring with a symlinked model file", _symlinked, "a link, not allowed"),
    # --- hostile params ---------------------------------------------------------------------
    Case(
        "YAML alias bomb",
        lambda c, r: _params_file(
            c,
            "\n".join(
                ["a: &a [x, x, x, x, x, x, x, x, x]"]
                + [
                    f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}]"
                    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
                ]
            ),
        ),
        "alias",
    ),
    Case(
        "MLflow database in /etc",
        lambda c, r: _run_with(r, "mlflow.tracking_uri=sqlite:////etc/leadscore.db"),
        "system folder",
    ),
    Case(
        "a damaged workbook as the export",
        lambda c, r: _run_on(c, r, b"PK\x03\x04 not really a zip" * 10, "leads.xlsx"),
        "cannot be opened as one",
    ),
    # --- other commands -------------------------------------------------------------------
    Case(
        "rules on a folder with no run",
        lambda c, r: ["rules", "--params", str(r / "params.yaml"), "--run-dir", str(c)],
        "no trained run",
    ),
    Case(
        "report on a folder with no run",
        lambda c, r: ["report", "--params", str(r / "params.yaml"), "--run-dir", str(c)],
        "leadscore run",
    ),
    Case(
        "check-data on garbage",
        lambda c, r: (
            [
                "check-data",
                "--params",
                str(r / "params.yaml"),
                "--set",
                f"data.flat.path={_write(c / 'bad.csv', bytes(range(256)) * 40)}",
            ]
        ),
        "binary",
    ),
]


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 50
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_a_clear_error_that_changes_nothing(project, case, tmp_path):
    folder = project / "cases" / case.name.replace(" ", "_")
    folder.mkdir(parents=True, exist_ok=True)
    args = case.write(folder, project)
    before = _snapshot(project)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == case.code, (result.exit_code, result.output)
    assert "Traceback" not in result.output, result.output
    for piece in (case.expect, *case.also):
        assert piece.lower() in result.output.lower(), (piece, result.output)
    assert _snapshot(project) == before
    assert not [p for p in folder.iterdir() if p.name.startswith(("out", "o.", ".out"))]
