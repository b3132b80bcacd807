"""Hostile names and values through the whole pipeline, notebooks included: nothing from the
data runs as HTML on any page we write, and no cell of a CSV for people runs as a formula."""

import csv

import nbformat
import pandas as pd
import pytest
from typer.testing import CliRunner

from scoring.cli import app
from tests.conftest import flat_project

TAG = "<img src=x onerror=alert(1)>"


@pytest.mark.slow  # a whole run with notebooks
def test_hostile_names_and_values_never_run_on_a_page_we_write(tmp_path):

    def hostile(export: pd.DataFrame) -> pd.DataFrame:
        export = export.rename(columns={"Campaign": f"Campaign {TAG}"})
        export["Industry"] = export["Industry"].where(export.index % 3 != 0, f"Retail {TAG}")
        title = export["Job Title"].where(export.index % 4 != 0, f"=cmd|' /C calc'!A0 {TAG}")
        return export.assign(**{"Job Title": title})

    flat_project(tmp_path, "hostile", change=hostile)
    result = CliRunner().invoke(app, ["run", "--params", str(tmp_path / "params.yaml")])
    assert result.exit_code == 0, result.output
    run = (tmp_path / "reports" / "latest").resolve()
    pages = sorted(run.glob("*.html"))
    assert len(pages) == 8
    # The data reached the pages (escaped), so the check below is not vacuous.
    assert any("&lt;img src=x" in p.read_text() for p in pages)
    for page in [*pages, run / "points_rules.md"]:
        assert "<img src=x" not in page.read_text(), page.name
    for notebook in run.glob("*.ipynb"):  # JupyterLab renders these outputs as HTML
        for cell in nbformat.read(notebook, as_version=4).cells:
            for output in cell.get("outputs", []):
                for kind in ("text/html", "text/markdown"):
                    assert "<img src=x" not in output.get("data", {}).get(kind, ""), notebook
    with open(run / "points_rules.csv", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "@"))]
    scored = tmp_path / "scored.csv"
    result = CliRunner().invoke(
        app,
        [
            "score",
            "-m",
            str(run / "artifact"),
            "-i",
            str(tmp_path / "export.csv"),
            "-o",
            str(scored),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    out = pd.read_csv(scored, dtype=str, keep_default_na=False)
    assert len(out) == 1500  # one output row per input row
    assert not out.map(lambda v: v.startswith(("=", "+", "@"))).any().any()
