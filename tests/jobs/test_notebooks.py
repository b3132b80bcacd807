"""Notebooks are committed thin: stripped, one parameters cell, no definitions."""

import ast
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
ALLOWED_PARAMETERS = {"params_path", "overrides", "run_id"}


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin_and_stripped(path):
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = {
        t.id
        for node in ast.walk(ast.parse(tagged[0].source))
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assert names == ALLOWED_PARAMETERS
    for cell in code:
        source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
        tree = ast.parse(source)
        assert not any(
            isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Lambda) for n in ast.walk(tree)
        ), f"move definitions into src/scoring: {path.name}"
