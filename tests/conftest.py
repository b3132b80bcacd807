"""Shared fixtures: tiny hand-built tables, small generated data, params pointing at tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

# LightGBM trains with 2 threads whatever else runs (its results depend on the thread count),
# so OpenMP's idle threads must sleep rather than spin on a core another worker needs.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Under pytest-xdist the workers share the cores: libraries that start a thread per core
# (BLAS, numba) would oversubscribe them. Each worker gets its share, set before numpy and
# LightGBM are imported (they read it once).
if os.environ.get("PYTEST_XDIST_WORKER"):
    _share = max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    for _name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMBA_NUM_THREADS",
    ):
        os.environ.setdefault(_name, str(_share))

import pandas as pd
import pytest
import yaml

from scoring.core.config import GeneratorParams
from scoring.data import synth
from scoring.data.contract import LEAD_COLUMNS, LEAD_TIMESTAMPS

ROOT = Path(__file__).resolve().parents[1]


def lead_row(lead_id: str, created: str, **values) -> dict:
    """One complete leads row with sensible defaults; timestamps given as strings."""
    row = dict.fromkeys(LEAD_COLUMNS)
    row.update(
        {
            "lead_id": lead_id,
            "created_at": created,
            "employee_count": 300.0,
            "annual_revenue": 5e7,
            "industry": "Software",
            "region": "EMEA",
            "country": "Germany",
            "job_title": "CFO",
            "lead_source": "web",
            "campaign": "seo",
            "email": f"{lead_id.lower()}@example.com",
        }
    )
    row.update(values)
    return row


def leads_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in LEAD_TIMESTAMPS:
        frame[column] = pd.to_datetime(frame[column])
    return frame


@pytest.fixture(scope="session")
def small_crm() -> synth.SyntheticCrm:
    """A generated CRM big enough for base rates, small enough to be quick."""
    return synth.generate(GeneratorParams(n_leads=20_000), seed=7)


@pytest.fixture
def tmp_params(tmp_path: Path) -> Path:
    """A params file in tmp_path: the project's defaults with small data and local folders."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["generator"]["n_leads"] = 2_000
    raw["models"]["bootstrap_samples"] = 50
    raw["data"]["raw_dir"] = "data/raw"
    raw["data"]["reports_dir"] = "reports"
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(autouse=True)
def _no_outside_mlflow(monkeypatch):
    """Tests track into their own folders, never a server from the environment."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="session")
def small_dataset(small_crm):
    """Features and label of the small generated CRM with the project's params."""
    from scoring.core.config import load_params
    from scoring.data import contract as data
    from scoring.data import features

    params = load_params(ROOT / "params.yaml")
    tables = data.Tables(
        data.validate_leads(small_crm.leads), data.validate_activities(small_crm.activities)
    )
    return params, tables, features.build_dataset(tables, params.label, params.features)


@pytest.fixture(scope="session")
def small_training(small_dataset):
    """The small dataset trained once with the project's params (two backtest folds)."""
    from scoring.model import train

    params, _, dataset = small_dataset
    fast = params.models.model_copy(update={"backtest_folds": 2})
    return (
        params,
        dataset,
        train.train_all(dataset, fast, params.features, params.baseline, params.seed),
    )


# The test tiers (README: Development). `make test-fast` leaves out the "slow" tier: tests that
# train on the generated CRM, export or run whole pipelines and notebooks, or start Spark.
# A test is slow when it needs one of these fixtures or lives in one of these modules.
SLOW_FIXTURES = frozenset(
    {
        "small_dataset",
        "small_training",
        "default_crm",
        "lightgbm_export",
        "project",
        "fitted",
        "two_runs",
        "learned",
        "retrains",
        "champion",
        "lean_model",
        "tables_model",
        "flat_model",
        "trained",
        "any_age",
    }
)
SLOW_MODULES = frozenset(
    {
        "test_pipeline",
        "test_pipeline_any_age",
        "test_notebooks",
        "test_stages",
        "test_faults",
        "test_retrain",
        "test_retrain_faults",
        "test_spark_engine",
        "test_spark_score",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.path.stem
        params = getattr(item, "callspec", None)
        spark = params is not None and "spark" in str(params.id)
        if (
            module in SLOW_MODULES
            or SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
            or spark
            or item.get_closest_marker("slow")
        ):
            item.add_marker(pytest.mark.slow)


def flat_project(
    folder: Path,
    model_name: str,
    rows: int = 1500,
    change=None,
) -> Path:
    """A project on a small flat export of the generated CRM (export.csv, params.yaml in
    folder, no rules, MLflow and artifacts inside): the params path. `change` edits the export
    (a frame of text) before it is written."""
    crm = synth.generate(GeneratorParams(n_leads=3000), seed=3)
    export = synth.flat_export(crm.leads, crm.activities, crm.snapshot).head(rows)
    if change is not None:
        export = change(export.astype(str))
    export.to_csv(folder / "export.csv", index=False)
    params = {
        "seed": 7,
        "data": {
            "source": "flat",
            "reports_dir": "reports",
            "flat": {
                "path": "export.csv",
                "id_column": "Prospect ID",
                "target_column": "Converted",
                "date_column": "Created Date",
                "min_positives": 20,
            },
        },
        "baseline": {"rules": []},
        "models": {"bootstrap_samples": 20, "backtest_folds": 0},
        "mlflow": {"tracking_uri": "sqlite:///mlruns/mlflow.db", "artifact_dir": "mlruns/art"},
        "export": {"dir": "artifacts", "model_name": model_name},
    }
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path
