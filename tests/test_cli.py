"""The command line: fast help, clear errors, generation and data checks."""

import subprocess
import sys

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from scoring.cli import app

runner = CliRunner()


def test_help_lists_commands_without_importing_heavy_libraries():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "audit", "generate", "check-data", "params"):
        assert command in result.output
    code = (
        "import sys, scoring.cli; heavy = {'pandas', 'numpy', 'papermill', 'sklearn', "
        "'lightgbm', 'shap', 'mlflow', 'matplotlib'} & set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_params_command_shows_overrides_and_refuses_bad_ones(tmp_params):
    ok = runner.invoke(app, ["params", "--params", str(tmp_params), "--set", "seed=99"])
    assert ok.exit_code == 0 and yaml.safe_load(ok.output)["seed"] == 99
    bad = runner.invoke(app, ["params", "--params", str(tmp_params), "--set", "sed=1"])
    assert bad.exit_code == 2 and "sed: unknown key" in bad.output
    schema = runner.invoke(app, ["params", "--schema"])
    assert schema.exit_code == 0 and "GeneratorParams" in schema.output


def test_generate_then_check_data(tmp_params):
    result = runner.invoke(
        app, ["generate", "--params", str(tmp_params), "--n-leads", "500", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    raw = tmp_params.parent / "data" / "raw"
    leads = pd.read_parquet(raw / "leads.parquet")
    assert len(leads) == 500
    assert {"truth.parquet", "activities.parquet", "crm_export.csv"} <= {
        p.name for p in raw.iterdir()
    }
    assert "true_probability" not in leads.columns
    checked = runner.invoke(app, ["check-data", "--params", str(tmp_params)])
    assert checked.exit_code == 0 and "meet the contract" in checked.output


def test_check_data_reports_contract_violations(tmp_params):
    runner.invoke(app, ["generate", "--params", str(tmp_params), "--n-leads", "300"])
    path = tmp_params.parent / "data" / "raw" / "leads.parquet"
    leads = pd.read_parquet(path)
    leads.loc[[3, 4], "lead_id"] = leads.loc[2, "lead_id"]
    leads.to_parquet(path)
    result = runner.invoke(app, ["check-data", "--params", str(tmp_params)])
    assert result.exit_code == 2
    assert "column 'lead_id'" in result.output and "3 row(s)" in result.output


@pytest.mark.parametrize("mode", ["--notebooks", "--no-notebooks"])
def test_run_on_bad_data_fails_before_anything_is_written(tmp_params, mode):
    """Exit 2 with the file, column and value, and no run folder, no MLflow database."""
    runner.invoke(app, ["generate", "--params", str(tmp_params), "--n-leads", "2000"])
    path = tmp_params.parent / "data" / "raw" / "leads.parquet"
    leads = pd.read_parquet(path)
    leads["created_at"] = leads["created_at"].astype(str)
    leads.loc[5, "created_at"] = "not a date"
    leads.to_parquet(path)
    result = runner.invoke(app, ["run", "--params", str(tmp_params), mode])
    assert result.exit_code == 2, result.output
    assert "created_at" in result.output and "not a date" in result.output
    assert str(path) in result.output and "Traceback" not in result.output
    assert not (tmp_params.parent / "reports").exists()
    assert not (tmp_params.parent / "mlruns").exists()


def test_a_rule_on_a_missing_field_is_refused_before_anything_is_written(tmp_params):
    runner.invoke(app, ["generate", "--params", str(tmp_params), "--n-leads", "2000"])
    raw = yaml.safe_load(tmp_params.read_text())
    raw["baseline"]["rules"][0]["field"] = "no_such_field"
    tmp_params.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["run", "--params", str(tmp_params), "--no-notebooks"])
    assert result.exit_code == 2, result.output
    assert "'no_such_field', which is not a feature" in result.output
    assert not (tmp_params.parent / "reports").exists()


def test_errors_are_sorted_by_type_in_process_and_by_class_name_from_a_kernel():
    from scoring.cli import _is_bad_input
    from scoring.core.errors import DataContractError
    from scoring.jobs.pipeline import StageError

    assert _is_bad_input(StageError("train", "x", DataContractError("bad file")))
    assert not _is_bad_input(StageError("train", "x", KeyError("bug")))
    assert _is_bad_input(StageError("train", "x", error_name="FlatDataError"))
    assert not _is_bad_input(StageError("train", "x", error_name="KeyError"))


@pytest.mark.slow  # a whole run
def test_run_without_the_notebooks_folder_says_how_to_run_anyway(tmp_params, monkeypatch):
    """An install without the repo's notebooks/ (not editable) points at the two ways out."""
    monkeypatch.setenv("LEADSCORE_NOTEBOOKS", str(tmp_params.parent / "nowhere"))
    result = runner.invoke(app, ["audit", "--params", str(tmp_params)])
    assert result.exit_code == 1, result.output
    assert "notebook not found" in result.output and "--no-notebooks" in result.output
    assert "LEADSCORE_NOTEBOOKS" in result.output


def test_a_command_of_the_workbench_in_a_scoring_only_install_says_what_to_install():
    from scoring.cli import unexpected_message

    err = ModuleNotFoundError("No module named 'sklearn'", name="sklearn.metrics")
    message = unexpected_message(err)
    assert "pip install 'leadscore[workbench]'" in message
    assert "sklearn" in message
    other = unexpected_message(ModuleNotFoundError("No module named 'x'", name="x"))
    assert "workbench" not in other
